// Reproduces, outside the node, the LeakSanitizer report one soak `fleetnode` gave at exit (5,913 bytes in
// 22 OpenSSL allocations: CRYPTO_zalloc and ERR_add_error_vdata's error text), and shows that initialising
// OpenSSL without its exit cleanup (what fleetnode and fleetctl now do first, OpenSSLExitCleanup) closes it.
// Run by openssl-exit-race.sh.
//
// What happens in the node: OpenSSL registers OPENSSL_cleanup with atexit at its first use. At exit it
// unregisters every thread's thread-exit handler (and deletes the thread-exit key) while other threads still
// run. A thread that finishes after that point (on Linux the Dispatch workers running Swift tasks exit when
// idle for 5 s) never frees its per-thread state: its error queue, with the text buffers its failed
// decodings left (cleared errors keep their buffers for reuse), and its DRBGs. LeakSanitizer, checking after
// every other atexit handler, finds them unreachable.
//
// Here one worker thread uses OpenSSL (an error with text, then cleared, and RAND_bytes) and is told to
// finish by an atexit handler registered before OpenSSL's, so it finishes after OPENSSL_cleanup, every time.
//   openssl-exit-race                   the leak (LeakSanitizer reports it and the exit status is 1)
//   openssl-exit-race no-exit-cleanup   OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT) first: no report
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int used, finish;
static pthread_t worker;

static void *work(void *arg) {
    (void)arg;
    // As OpenSSL's key decoders do on a failed attempt (Field=..., Type=...), then cleared as our shims do.
    ERR_raise(ERR_LIB_USER, ERR_R_PASSED_INVALID_ARGUMENT);
    ERR_add_error_data(4, "Field=", "privateKey", ", Type=", "PKCS8_PRIV_KEY_INFO");
    ERR_clear_error();
    unsigned char bytes[16];
    RAND_bytes(bytes, sizeof bytes);
    pthread_mutex_lock(&lock);
    used = 1;
    pthread_cond_broadcast(&changed);
    while (!finish) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

// Registered before OpenSSL's own handler, so it runs after OPENSSL_cleanup (atexit handlers run last first).
static void finish_worker(void) {
    pthread_mutex_lock(&lock);
    finish = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    pthread_join(worker, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "no-exit-cleanup") == 0) OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
    atexit(finish_worker);
    if (pthread_create(&worker, NULL, work, NULL) != 0) return 2;
    pthread_mutex_lock(&lock);
    while (!used) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return 0;
}
