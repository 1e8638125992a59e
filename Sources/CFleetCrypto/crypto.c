// AES-SIV-CMAC and AES-CMAC over GNU Nettle; randomness, comparison and errors over OpenSSL 3 libcrypto.
// See cfleetcrypto.h.
//
// Nettle's generic siv_cmac_* and cmac128_* functions take the block cipher as a `struct nettle_cipher`
// (nettle_aes128/192/256), which covers all three AES-SIV and AES-CMAC key sizes with one code path
// (Nettle 3.8 has typed siv_cmac_aes128/256 helpers but none for AES-192; they call the same functions).
// The keyed contexts are only read while computing (the running CMAC state is a local), so one key object
// serves any number of threads.
#include "cfleetcrypto.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/cmac.h>
#include <nettle/nettle-meta.h>
#include <nettle/siv-cmac.h>
#include <nettle/version.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

// MARK: - Helpers

// Room for the key schedule of any AES key size.
union cfc_any_aes {
    struct aes128_ctx aes128;
    struct aes192_ctx aes192;
    struct aes256_ctx aes256;
};

// The AES of a key half (AES-SIV) or key (AES-CMAC) of `len` bytes; NULL for other lengths.
static const struct nettle_cipher *aes_for(size_t len) {
    switch (len) {
    case 16: return &nettle_aes128;
    case 24: return &nettle_aes192;
    case 32: return &nettle_aes256;
    default: return NULL;
    }
}

// Nettle copies from its inputs with memcpy even for zero lengths, and memcpy from NULL is undefined:
// empty inputs given as NULL point here instead.
static const uint8_t empty_input[1];
static const uint8_t *nonnull(const uint8_t *p) { return p != NULL ? p : empty_input; }

// A buffer with a length needs bytes (an empty one may be NULL).
static int valid(const void *p, size_t n) { return n == 0 || p != NULL; }

// Wipes key material (not optimised away).
static void wipe(void *p, size_t n) { explicit_bzero(p, n); }

static void set_message(char *err, size_t errlen, const char *text) {
    if (err != NULL && errlen > 0) snprintf(err, errlen, "%s", text);
}

// MARK: - AES-SIV-CMAC

struct cfc_siv {
    const struct nettle_cipher *aes; // of each half: AES-128, -192 or -256
    struct cmac128_key cmac_key;     // CMAC subkeys of K1
    union cfc_any_aes cmac_cipher;       // K1, for S2V
    union cfc_any_aes ctr_cipher;        // K2, for CTR
};

// Keys `s` (the form of siv_cmac_aes128_set_key for any AES size); 0 for a bad key length.
static int siv_set_key(struct cfc_siv *s, const uint8_t *key, size_t key_len) {
    const struct nettle_cipher *aes = key != NULL ? aes_for(key_len / 2) : NULL;
    if (aes == NULL || key_len % 2 != 0) return 0;
    s->aes = aes;
    siv_cmac_set_key(&s->cmac_key, &s->cmac_cipher, &s->ctr_cipher, aes, key);
    return 1;
}

cfc_siv *cfc_siv_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    set_message(err, errlen, "");
    if (key_len != 32 && key_len != 48 && key_len != 64) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-SIV key length %zu (need 32, 48 or 64)", key_len);
        return NULL;
    }
    if (key == NULL) {
        set_message(err, errlen, "no key");
        return NULL;
    }
    cfc_siv *s = malloc(sizeof(*s));
    if (s == NULL) {
        set_message(err, errlen, "out of memory");
        return NULL;
    }
    (void)siv_set_key(s, key, key_len);
    return s;
}

void cfc_siv_free(cfc_siv *s) {
    if (s == NULL) return;
    wipe(s, sizeof(*s));
    free(s);
}

int cfc_siv_seal(const cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *pt, size_t pt_len, uint8_t *out) {
    if (s == NULL || out == NULL || nonce == NULL || nonce_len < SIV_MIN_NONCE_SIZE || !valid(ad, ad_len) ||
        !valid(pt, pt_len) || pt_len > SIZE_MAX - SIV_DIGEST_SIZE)
        return 0;
    siv_cmac_encrypt_message(&s->cmac_key, &s->cmac_cipher, s->aes, &s->ctr_cipher, nonce_len, nonce, ad_len,
                             nonnull(ad), SIV_DIGEST_SIZE + pt_len, out, nonnull(pt));
    return 1;
}

int cfc_siv_open(const cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                 const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    if (s == NULL || sealed == NULL || sealed_len < SIV_DIGEST_SIZE) return 0;
    size_t pt_len = sealed_len - SIV_DIGEST_SIZE;
    if (!valid(out, pt_len)) return 0;
    if (nonce == NULL || nonce_len < SIV_MIN_NONCE_SIZE || !valid(ad, ad_len)) {
        if (pt_len > 0) wipe(out, pt_len);
        return 0;
    }
    uint8_t none[1]; // where an empty plaintext goes when `out` is NULL (nothing is written)
    // Nettle decrypts into `out` before it can authenticate: a forgery's plaintext is wiped.
    int ok = siv_cmac_decrypt_message(&s->cmac_key, &s->cmac_cipher, s->aes, &s->ctr_cipher, nonce_len, nonce,
                                      ad_len, nonnull(ad), pt_len, out != NULL ? out : none, sealed);
    if (!ok && pt_len > 0) wipe(out, pt_len);
    return ok ? 1 : 0;
}

int cfc_siv_seal_key(const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len, const uint8_t *nonce,
                     size_t nonce_len, const uint8_t *pt, size_t pt_len, uint8_t *out) {
    struct cfc_siv s;
    if (!siv_set_key(&s, key, key_len)) return 0;
    int ok = cfc_siv_seal(&s, ad, ad_len, nonce, nonce_len, pt, pt_len, out);
    wipe(&s, sizeof(s));
    return ok;
}

int cfc_siv_open_key(const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len, const uint8_t *nonce,
                     size_t nonce_len, const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    struct cfc_siv s;
    if (!siv_set_key(&s, key, key_len)) return 0;
    int ok = cfc_siv_open(&s, ad, ad_len, nonce, nonce_len, sealed, sealed_len, out);
    wipe(&s, sizeof(s));
    return ok;
}

// MARK: - AES-CMAC

struct cfc_cmac {
    const struct nettle_cipher *aes;
    struct cmac128_key key; // subkeys K1, K2
    union cfc_any_aes cipher;
};

cfc_cmac *cfc_cmac_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    set_message(err, errlen, "");
    const struct nettle_cipher *aes = aes_for(key_len);
    if (aes == NULL) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-CMAC key length %zu (need 16, 24 or 32)", key_len);
        return NULL;
    }
    if (key == NULL) {
        set_message(err, errlen, "no key");
        return NULL;
    }
    cfc_cmac *c = malloc(sizeof(*c));
    if (c == NULL) {
        set_message(err, errlen, "out of memory");
        return NULL;
    }
    c->aes = aes;
    aes->set_encrypt_key(&c->cipher, key);
    cmac128_set_key(&c->key, &c->cipher, aes->encrypt);
    return c;
}

void cfc_cmac_free(cfc_cmac *c) {
    if (c == NULL) return;
    wipe(c, sizeof(*c));
    free(c);
}

int cfc_cmac_compute(const cfc_cmac *c, const void *msg, size_t len, uint8_t out[CFC_TAG_LEN]) {
    if (c == NULL || out == NULL || !valid(msg, len)) return 0;
    struct cmac128_ctx state; // the running state is this call's: the key object stays shared
    cmac128_init(&state);
    cmac128_update(&state, &c->cipher, c->aes->encrypt, len, nonnull(msg));
    cmac128_digest(&state, &c->key, &c->cipher, c->aes->encrypt, CFC_TAG_LEN, out);
    return 1;
}

// MARK: - Randomness, comparison, errors

int cfc_random_bytes(uint8_t *buf, size_t len) {
    while (len > 0) {
        int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(buf, chunk) != 1) return 0;
        buf += chunk;
        len -= (size_t)chunk;
    }
    return 1;
}

int cfc_equal(const void *a, const void *b, size_t len) {
    if (len == 0) return 1;
    return CRYPTO_memcmp(a, b, len) == 0;
}

size_t cfc_take_error(char *buf, size_t len) {
    if (buf == NULL || len == 0) {
        ERR_clear_error();
        return 0;
    }
    buf[0] = 0;
    unsigned long code = ERR_get_error();
    if (code != 0) ERR_error_string_n(code, buf, len);
    ERR_clear_error();
    return strlen(buf);
}

void cfc_thread_stop(void) {
    OPENSSL_thread_stop();
}

int cfc_init_without_exit_cleanup(void) {
    return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}

void cfc_nettle_version(int *major, int *minor) {
    if (major != NULL) *major = nettle_version_major();
    if (minor != NULL) *minor = nettle_version_minor();
}
