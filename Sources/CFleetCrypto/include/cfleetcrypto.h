// The project's cryptography behind one header ("crypto behind one header", as chrony keeps its
// siv_*/cmac_* interfaces), every symbol prefixed `cfc_` (like CFleetShim's `cfs_`):
//  * AES-SIV-CMAC (RFC 5297) as the NTS AEAD (RFC 8915) and AES-CMAC (RFC 4493; the RFC 8573 NTP MACs):
//    thin wrappers over GNU Nettle's siv_cmac_* and cmac128_* (nettle-dev), which chrony uses too. Nettle
//    computes an empty plaintext like any other (OpenSSL 3.0's AES-SIV cannot) and reaches the CPU's AES
//    instructions through its fat build. No AES, CMAC or S2V code of our own.
//  * The CSPRNG, a constant-time compare and OpenSSL's error queue (OpenSSL 3 libcrypto), and message
//    digests by name (cfc_digest.h, OpenSSL) for the RFC 5905 MACs.
//
// This header includes neither Nettle's nor OpenSSL's headers: the key objects are opaque.
//
// Threading: a cfc_siv or cfc_cmac is immutable after construction (the keyed AES contexts and CMAC
// subkeys); every operation keeps its running state on its own stack, so any number of threads may use one
// object at once. cfc_*_free must of course not race with a use of the same object.
//
// Failures: the AES functions fail only on arguments they refuse (a bad key length, an empty nonce, a
// missing buffer); they allocate nothing but the key objects themselves and never touch OpenSSL's error
// queue.
#ifndef CFLEETCRYPTO_H
#define CFLEETCRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "cfc_digest.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Length of the synthetic IV (the SIV tag) and of a CMAC tag.
#define CFC_TAG_LEN 16

// MARK: AES-SIV-CMAC (RFC 5297 §6: the RFC 5116 AEAD)

/// An AES-SIV key: 32, 48 or 64 bytes (AEAD_AES_SIV_CMAC_256/384/512: AES-128/192/256 for both halves,
/// K1 for S2V, K2 for CTR).
typedef struct cfc_siv cfc_siv;

/// Makes a key object. Returns NULL for a key length other than 32/48/64 or when out of memory, with a
/// message in `err` (always NUL-terminated when errlen > 0).
cfc_siv *cfc_siv_new(const uint8_t *key, size_t key_len, char *err, size_t errlen);

/// Frees a key object and wipes its key material. NULL is allowed.
void cfc_siv_free(cfc_siv *siv);

/// The AEAD of RFC 5297 §6: S2V over (associated data, nonce, plaintext), the associated data one
/// component even when empty. The nonce must not be empty (N_MIN is 1 octet, RFC 5297 §6.1). Writes
/// SIV(16) || ciphertext (16 + pt_len bytes) to `out`; `pt` may equal `out + 16` (sealing in place).
/// Returns 1, or 0 for an empty nonce or a missing buffer.
int cfc_siv_seal(const cfc_siv *siv,
                 const uint8_t *ad, size_t ad_len,
                 const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *pt, size_t pt_len,
                 uint8_t *out);

/// Opens what cfc_siv_seal produced. Writes sealed_len - 16 bytes of plaintext to `out`, which must not
/// overlap the inputs. Returns 1 when authentic, 0 when not (or sealed_len < 16, or an empty nonce); on 0
/// `out` is wiped.
int cfc_siv_open(const cfc_siv *siv,
                 const uint8_t *ad, size_t ad_len,
                 const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *sealed, size_t sealed_len,
                 uint8_t *out);

/// One-shot cfc_siv_seal / cfc_siv_open under `key` (32, 48 or 64 bytes) without a key object: for keys
/// used once, as an NTS server uses each request's C2S and S2C keys. The keyed context lives on the stack
/// and is wiped afterwards; nothing is allocated. Returns 0 on a bad key length too.
int cfc_siv_seal_key(const uint8_t *key, size_t key_len,
                     const uint8_t *ad, size_t ad_len,
                     const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *pt, size_t pt_len,
                     uint8_t *out);
int cfc_siv_open_key(const uint8_t *key, size_t key_len,
                     const uint8_t *ad, size_t ad_len,
                     const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *sealed, size_t sealed_len,
                     uint8_t *out);

// MARK: AES-CMAC (RFC 4493; NIST SP 800-38B with AES-192/256)

/// An AES-CMAC key: 16, 24 or 32 bytes (AES-128/192/256).
typedef struct cfc_cmac cfc_cmac;

/// Makes a key object; NULL with a message in `err` for a bad key length or when out of memory.
cfc_cmac *cfc_cmac_new(const uint8_t *key, size_t key_len, char *err, size_t errlen);

/// Frees a key object and wipes its key material. NULL is allowed.
void cfc_cmac_free(cfc_cmac *cmac);

/// Writes the 16-byte tag of `msg` to `out`. Returns 1, or 0 for a missing buffer.
int cfc_cmac_compute(const cfc_cmac *cmac, const void *msg, size_t len, uint8_t out[CFC_TAG_LEN]);

// MARK: Randomness, comparison, errors (OpenSSL)

/// Fills `buf` from OpenSSL's CSPRNG (RAND_bytes). Returns 1, or 0 when the CSPRNG failed.
int cfc_random_bytes(uint8_t *buf, size_t len);

/// 1 when the `len` bytes at `a` and `b` are equal, else 0, in time independent of the contents
/// (CRYPTO_memcmp).
int cfc_equal(const void *a, const void *b, size_t len);

/// Formats the oldest error on this thread's OpenSSL error queue into `buf` (NUL-terminated) and clears
/// the queue. Returns the number of characters written; 0 (and an empty string) when the queue was empty.
size_t cfc_take_error(char *buf, size_t len);

/// Frees this thread's OpenSSL state (its error queue, its RAND_bytes DRBGs: OPENSSL_thread_stop). For a
/// thread the process started that used libcrypto and is about to exit while the process goes on or shuts
/// down: OpenSSL would otherwise free that state from a thread-exit destructor, which can run concurrently
/// with OPENSSL_cleanup at process exit (AddressSanitizer saw a double free at node shutdown). Harmless when
/// the thread has no OpenSSL state; the thread may use libcrypto again afterwards (the state is remade).
void cfc_thread_stop(void);

/// Initialises OpenSSL without its atexit cleanup (OPENSSL_init_crypto with OPENSSL_INIT_NO_ATEXIT). To be
/// called first in main, before any other OpenSSL use (only the first initialisation decides). At exit,
/// OPENSSL_cleanup unregisters every thread's exit handler while other threads still run: a thread that
/// then finishes (an idle Dispatch worker, which exits after 5 s) skips its destructor and its state is
/// lost (LeakSanitizer saw 22 allocations, the error queue and its texts, in one node), and one finishing
/// during the cleanup frees state the cleanup frees too (the double free seen at node shutdown). Without
/// the cleanup, each thread's destructor frees its state whenever it finishes and the global state stays
/// reachable until the process is gone. Returns 1, or 0 when OpenSSL could not initialise.
int cfc_init_without_exit_cleanup(void);

/// The linked Nettle's version (for `fleetnode version`).
void cfc_nettle_version(int *major, int *minor);

#ifdef __cplusplus
}
#endif

#endif
