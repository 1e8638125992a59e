// AES-SIV, AES-CMAC, randomness and constant-time comparison on OpenSSL 3 libcrypto. See cfleetcrypto.h.
//
// Performance notes (an NTS server seals and opens on every packet):
//  * The EVP_CIPHER / EVP_MAC algorithm objects are fetched once per process (pthread_once) and kept
//    for the life of the process; fetching is a locked lookup in OpenSSL's method store.
//  * Each key object lazily builds keyed "template" contexts the first time a path needs them and
//    publishes them with an atomic compare-and-swap; every operation copies the template into its own
//    context (EVP_CIPHER_CTX_copy / EVP_MAC_CTX_dup) and frees that afterwards. Initialising an
//    AES-SIV context with a key costs more than copying one (OpenSSL's SIV init fetches its CBC, CTR and
//    CMAC implementations and computes CMAC(K1, 0)), so a long-lived key (the server's cookie key) pays
//    for the key set-up once, and a key used once (a per-packet S2C key) pays no more than a direct init.
//  * Templates are never modified after they are published: the copy functions take their source as
//    const and only read it (plus atomic reference-count increments on the shared algorithm objects), so
//    any number of threads may copy the same template at once (openssl-threads(7): objects are safe to
//    share as long as the functions used do not modify them, which is what const marks).
//  * Path choice: every operation uses S2V by hand (EVP_MAC CMAC) plus AES-CTR (EVP, fetched once). OpenSSL
//    3.0's own AES-*-SIV fails on an empty plaintext, and its key set-up fetches CBC, CTR and CMAC by name
//    for every key, which made it the top cost of an NTS server (a new S2C/C2S key per packet). The
//    OpenSSL path stays, selectable, and the tests check both paths against each other and the RFC 5297
//    vectors.
#include "cfleetcrypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

// MARK: - Algorithms, fetched once

// Index 0, 1, 2 = AES-128, AES-192, AES-256 (the half-key length of an AES-SIV key: 16, 24, 32 bytes).
static const char *const siv_names[3] = {"AES-128-SIV", "AES-192-SIV", "AES-256-SIV"};
static const char *const ctr_names[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
static const char *const cbc_names[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *siv_ciphers[3];
static EVP_CIPHER *ctr_ciphers[3];
static EVP_MAC *cmac_mac;

static void fetch_algorithms(void) {
    for (int i = 0; i < 3; i++) {
        siv_ciphers[i] = EVP_CIPHER_fetch(NULL, siv_names[i], NULL);
        ctr_ciphers[i] = EVP_CIPHER_fetch(NULL, ctr_names[i], NULL);
    }
    cmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
    // A missing algorithm is reported by the constructor that needs it, on the caller's thread.
    ERR_clear_error();
}

static void fetch_algorithms_once(void) { (void)pthread_once(&fetch_once, fetch_algorithms); }

// MARK: - Small helpers

struct span {
    const uint8_t *p;
    size_t n;
};

static void set_error(char *err, size_t errlen, const char *what) {
    if (err == NULL || errlen == 0) {
        ERR_clear_error();
        return;
    }
    unsigned long code = ERR_get_error();
    if (code != 0) {
        char detail[256];
        ERR_error_string_n(code, detail, sizeof(detail));
        snprintf(err, errlen, "%s: %s", what, detail);
    } else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

static int fits_int(size_t n) { return n <= (size_t)INT_MAX; }

// OpenSSL's EVP_EncryptUpdate/EVP_DecryptUpdate reject (in == NULL, inl == 0) but take an empty AAD
// component given as (valid pointer, 0), and S2V then counts it as a component, as RFC 5297 requires.
static const uint8_t empty_component[1];
static const uint8_t *nonnull(const uint8_t *p) { return p != NULL ? p : empty_component; }

static void xor16(uint8_t *restrict d, const uint8_t *restrict s) {
    for (int i = 0; i < 16; i++) d[i] ^= s[i];
}

// dbl() of RFC 5297 §2.3: multiplication by x in GF(2^128), without a data-dependent branch.
static void dbl(uint8_t d[16]) {
    uint8_t carry = (uint8_t)(d[0] >> 7);
    for (int i = 0; i < 15; i++) d[i] = (uint8_t)((d[i] << 1) | (d[i + 1] >> 7));
    d[15] = (uint8_t)((d[15] << 1) ^ (0x87 & (0u - carry)));
}

// A CMAC context keyed with `key` for the AES-CBC cipher of index `idx`.
static EVP_MAC_CTX *new_cmac_ctx(const uint8_t *key, size_t key_len, int idx) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cbc_names[idx], 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC_CTX *m = EVP_MAC_CTX_new(cmac_mac);
    if (m == NULL || !EVP_MAC_init(m, key, key_len, params)) {
        EVP_MAC_CTX_free(m);
        return NULL;
    }
    return m;
}

// One CMAC over a || b with a working context. `restart` re-initialises it with the same key (needed
// for every use after the first one of a context).
static int cmac_run(EVP_MAC_CTX *m, int restart, const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen, uint8_t out[16]) {
    size_t outl = 0;
    if (restart && !EVP_MAC_init(m, NULL, 0, NULL)) return 0;
    if (alen > 0 && !EVP_MAC_update(m, a, alen)) return 0;
    if (blen > 0 && !EVP_MAC_update(m, b, blen)) return 0;
    return EVP_MAC_final(m, out, &outl, 16) && outl == 16;
}

// MARK: - AES-SIV

// What the by-hand path needs, built on first use and immutable once published.
struct s2v_state {
    EVP_MAC_CTX *cmac; // keyed with K1 (the first half of the SIV key)
    uint8_t d0[16];    // CMAC(K1, <zero>), the start of every S2V
};

struct cfc_siv {
    int idx;     // 0/1/2: AES-128/192/256
    size_t half; // 16/24/32
    uint8_t key[64];
    _Atomic(EVP_CIPHER_CTX *) siv_template; // OpenSSL's AES-*-SIV keyed for encryption
    _Atomic(struct s2v_state *) s2v;
};

cfc_siv *cfc_siv_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = 0;
    if (key_len != 32 && key_len != 48 && key_len != 64) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-SIV key length %zu (need 32, 48 or 64)", key_len);
        return NULL;
    }
    fetch_algorithms_once();
    int idx = (int)(key_len / 2 - 16) / 8;
    if (siv_ciphers[idx] == NULL || ctr_ciphers[idx] == NULL || cmac_mac == NULL) {
        set_error(err, errlen, "OpenSSL does not provide AES-SIV, AES-CTR or CMAC (OpenSSL 3 default provider needed)");
        return NULL;
    }
    cfc_siv *s = OPENSSL_zalloc(sizeof(*s));
    if (s == NULL) {
        set_error(err, errlen, "out of memory");
        return NULL;
    }
    s->idx = idx;
    s->half = key_len / 2;
    memcpy(s->key, key, key_len);
    atomic_init(&s->siv_template, NULL);
    atomic_init(&s->s2v, NULL);
    return s;
}

static void free_s2v_state(struct s2v_state *st) {
    if (st == NULL) return;
    EVP_MAC_CTX_free(st->cmac);
    OPENSSL_clear_free(st, sizeof(*st));
}

void cfc_siv_free(cfc_siv *s) {
    if (s == NULL) return;
    EVP_CIPHER_CTX_free(atomic_load(&s->siv_template));
    free_s2v_state(atomic_load(&s->s2v));
    OPENSSL_clear_free(s, sizeof(*s));
}

static EVP_CIPHER_CTX *siv_template(cfc_siv *s) {
    EVP_CIPHER_CTX *t = atomic_load_explicit(&s->siv_template, memory_order_acquire);
    if (t != NULL) return t;
    EVP_CIPHER_CTX *fresh = EVP_CIPHER_CTX_new();
    if (fresh == NULL || !EVP_EncryptInit_ex2(fresh, siv_ciphers[s->idx], s->key, NULL, NULL)) {
        EVP_CIPHER_CTX_free(fresh);
        return NULL;
    }
    EVP_CIPHER_CTX *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&s->siv_template, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    EVP_CIPHER_CTX_free(fresh); // another thread published first; use its template
    return expected;
}

static struct s2v_state *s2v_state(cfc_siv *s) {
    struct s2v_state *st = atomic_load_explicit(&s->s2v, memory_order_acquire);
    if (st != NULL) return st;
    struct s2v_state *fresh = OPENSSL_zalloc(sizeof(*fresh));
    if (fresh == NULL) return NULL;
    static const uint8_t zero[16] = {0};
    fresh->cmac = new_cmac_ctx(s->key, s->half, s->idx);
    EVP_MAC_CTX *work = fresh->cmac != NULL ? EVP_MAC_CTX_dup(fresh->cmac) : NULL;
    int ok = work != NULL && cmac_run(work, 0, zero, 16, NULL, 0, fresh->d0);
    EVP_MAC_CTX_free(work);
    if (!ok) {
        free_s2v_state(fresh);
        return NULL;
    }
    struct s2v_state *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&s->s2v, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    free_s2v_state(fresh);
    return expected;
}

// S2V(K1, S1..Sn) of RFC 5297 §2.4; strs[count - 1] is Sn.
static int s2v(cfc_siv *s, const struct span *strs, size_t count, uint8_t v[16]) {
    struct s2v_state *st = s2v_state(s);
    if (st == NULL) return 0;
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(st->cmac);
    if (m == NULL) return 0;
    uint8_t d[16], t[16];
    int ok = 1, used = 0;
    if (count == 0) {
        // "if n = 0 then return V = AES-CMAC(K, <one>)"
        uint8_t one[16] = {0};
        one[15] = 1;
        ok = cmac_run(m, used++, one, 16, NULL, 0, v);
        EVP_MAC_CTX_free(m);
        return ok;
    }
    memcpy(d, st->d0, 16);
    // for i = 1 to n-1: D = dbl(D) xor AES-CMAC(K, Si)
    for (size_t i = 0; ok && i + 1 < count; i++) {
        ok = cmac_run(m, used++, strs[i].p, strs[i].n, NULL, 0, t);
        dbl(d);
        xor16(d, t);
    }
    if (ok) {
        const struct span last = strs[count - 1];
        if (last.n >= 16) {
            // T = Sn xorend D: only the last 16 bytes change, so MAC the head as it is.
            memcpy(t, last.p + last.n - 16, 16);
            xor16(t, d);
            ok = cmac_run(m, used++, last.p, last.n - 16, t, 16, v);
        } else {
            // T = dbl(D) xor pad(Sn), pad = Sn || 0x80 || 0...
            memset(t, 0, 16);
            if (last.n > 0) memcpy(t, last.p, last.n);
            t[last.n] = 0x80;
            dbl(d);
            xor16(t, d);
            ok = cmac_run(m, used++, t, 16, NULL, 0, v);
        }
    }
    EVP_MAC_CTX_free(m);
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(t, sizeof(t));
    return ok;
}

// AES-CTR with K2 from the synthetic IV V (RFC 5297 §2.6: Q = V bitand 1^64 || 0^1 || 1^31 || 0^1 || 1^31).
static int siv_ctr(cfc_siv *s, const uint8_t v[16], const uint8_t *in, size_t len, uint8_t *out) {
    if (len == 0) return 1;
    if (!fits_int(len)) return 0;
    uint8_t q[16];
    memcpy(q, v, 16);
    q[8] &= 0x7f;
    q[12] &= 0x7f;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0;
    int ok = c != NULL && EVP_EncryptInit_ex2(c, ctr_ciphers[s->idx], s->key + s->half, q, NULL) &&
             EVP_EncryptUpdate(c, out, &outl, in, (int)len) && (size_t)outl == len;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static int seal_by_hand(cfc_siv *s, struct span *strs, size_t ad_count, const uint8_t *pt, size_t pt_len,
                        uint8_t *out) {
    strs[ad_count].p = pt;
    strs[ad_count].n = pt_len;
    return s2v(s, strs, ad_count + 1, out) && siv_ctr(s, out, pt, pt_len, out + 16);
}

static int open_by_hand(cfc_siv *s, struct span *strs, size_t ad_count, const uint8_t *sealed,
                        size_t sealed_len, uint8_t *out) {
    size_t ct_len = sealed_len - 16;
    uint8_t v[16];
    if (!siv_ctr(s, sealed, sealed + 16, ct_len, out)) return 0;
    strs[ad_count].p = out;
    strs[ad_count].n = ct_len;
    if (!s2v(s, strs, ad_count + 1, v)) return 0;
    return CRYPTO_memcmp(v, sealed, 16) == 0;
}

// OpenSSL's AES-*-SIV: each AAD update is one S2V component, the plaintext the last one, and the tag
// (EVP_CTRL_AEAD_GET_TAG) is the synthetic IV. Needs pt_len > 0 (OpenSSL 3.0 produces no tag otherwise).
static int seal_openssl(cfc_siv *s, const struct span *ad, size_t ad_count, const uint8_t *pt, size_t pt_len,
                        uint8_t *out) {
    if (pt_len == 0 || !fits_int(pt_len)) return 0;
    EVP_CIPHER_CTX *t = siv_template(s);
    if (t == NULL) return 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    int ok = c != NULL && EVP_CIPHER_CTX_copy(c, t);
    for (size_t i = 0; ok && i < ad_count; i++)
        ok = fits_int(ad[i].n) && EVP_EncryptUpdate(c, NULL, &outl, nonnull(ad[i].p), (int)ad[i].n);
    ok = ok && EVP_EncryptUpdate(c, out + 16, &outl, pt, (int)pt_len) && (size_t)outl == pt_len;
    ok = ok && EVP_EncryptFinal_ex(c, out + 16 + outl, &finl) && finl == 0;
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out) > 0;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static int open_openssl(cfc_siv *s, const struct span *ad, size_t ad_count, const uint8_t *sealed,
                        size_t sealed_len, uint8_t *out) {
    size_t ct_len = sealed_len - 16;
    if (ct_len == 0 || !fits_int(ct_len)) return 0;
    EVP_CIPHER_CTX *t = siv_template(s);
    if (t == NULL) return 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    // The template is keyed for encryption; re-initialising with no key only switches the direction.
    int ok = c != NULL && EVP_CIPHER_CTX_copy(c, t) && EVP_DecryptInit_ex2(c, NULL, NULL, NULL, NULL) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, (void *)sealed) > 0;
    for (size_t i = 0; ok && i < ad_count; i++)
        ok = fits_int(ad[i].n) && EVP_DecryptUpdate(c, NULL, &outl, nonnull(ad[i].p), (int)ad[i].n);
    // The tag is checked inside the update (SIV must decrypt before it can authenticate) and again by
    // the final call; either failing means "not authentic".
    ok = ok && EVP_DecryptUpdate(c, out, &outl, sealed + 16, (int)ct_len) && (size_t)outl == ct_len;
    ok = ok && EVP_DecryptFinal_ex(c, out + outl, &finl) && finl == 0;
    EVP_CIPHER_CTX_free(c);
    return ok;
}

static int seal_spans(cfc_siv *s, int path, struct span *strs, size_t ad_count, const uint8_t *pt,
                      size_t pt_len, uint8_t *out) {
    if (s == NULL || out == NULL || ad_count > CFC_SIV_MAX_AD_COMPONENTS) return 0;
    if (path == CFC_SIV_AUTO) path = CFC_SIV_BY_HAND;  // see "Path choice" above
    if (path == CFC_SIV_OPENSSL) return seal_openssl(s, strs, ad_count, pt, pt_len, out);
    if (path == CFC_SIV_BY_HAND) return seal_by_hand(s, strs, ad_count, pt, pt_len, out);
    return 0;
}

static int open_spans(cfc_siv *s, int path, struct span *strs, size_t ad_count, const uint8_t *sealed,
                      size_t sealed_len, uint8_t *out) {
    if (s == NULL || sealed == NULL || sealed_len < 16 || ad_count > CFC_SIV_MAX_AD_COMPONENTS) return 0;
    size_t ct_len = sealed_len - 16;
    if (ct_len > 0 && out == NULL) return 0;
    if (path == CFC_SIV_AUTO) path = CFC_SIV_BY_HAND;  // see "Path choice" above
    int ok = path == CFC_SIV_OPENSSL   ? open_openssl(s, strs, ad_count, sealed, sealed_len, out)
             : path == CFC_SIV_BY_HAND ? open_by_hand(s, strs, ad_count, sealed, sealed_len, out)
                                       : 0;
    if (!ok) {
        if (ct_len > 0) OPENSSL_cleanse(out, ct_len);
        ERR_clear_error(); // a forged packet leaves nothing on this thread's error queue
    }
    return ok;
}

// Splits a concatenation into spans; strs must have room for count + 1 (the plaintext goes last).
static int split(const uint8_t *concat, const size_t *lens, size_t count, struct span *strs) {
    if (count > CFC_SIV_MAX_AD_COMPONENTS + 1 || (count > 0 && lens == NULL)) return 0;
    size_t off = 0;
    for (size_t i = 0; i < count; i++) {
        if (lens[i] > 0 && concat == NULL) return 0;
        strs[i].p = lens[i] > 0 ? concat + off : NULL;
        strs[i].n = lens[i];
        off += lens[i];
    }
    return 1;
}

int cfc_siv_seal_aead(cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *out) {
    struct span strs[3] = {{ad, ad_len}, {nonce, nonce_len}, {NULL, 0}};
    return seal_spans(s, CFC_SIV_AUTO, strs, 2, pt, pt_len, out);
}

int cfc_siv_open_aead(cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    struct span strs[3] = {{ad, ad_len}, {nonce, nonce_len}, {NULL, 0}};
    return open_spans(s, CFC_SIV_AUTO, strs, 2, sealed, sealed_len, out);
}

int cfc_siv_seal_path(cfc_siv *s, int path, const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                      const uint8_t *pt, size_t pt_len, uint8_t *out) {
    struct span strs[CFC_SIV_MAX_AD_COMPONENTS + 1];
    if (ad_count > CFC_SIV_MAX_AD_COMPONENTS || !split(ad_concat, ad_lens, ad_count, strs)) return 0;
    return seal_spans(s, path, strs, ad_count, pt, pt_len, out);
}

int cfc_siv_seal(cfc_siv *s, const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count, const uint8_t *pt,
                 size_t pt_len, uint8_t *out) {
    return cfc_siv_seal_path(s, CFC_SIV_AUTO, ad_concat, ad_lens, ad_count, pt, pt_len, out);
}

int cfc_siv_open_path(cfc_siv *s, int path, const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    struct span strs[CFC_SIV_MAX_AD_COMPONENTS + 1];
    if (ad_count > CFC_SIV_MAX_AD_COMPONENTS || !split(ad_concat, ad_lens, ad_count, strs)) return 0;
    return open_spans(s, path, strs, ad_count, sealed, sealed_len, out);
}

int cfc_siv_open(cfc_siv *s, const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                 const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    return cfc_siv_open_path(s, CFC_SIV_AUTO, ad_concat, ad_lens, ad_count, sealed, sealed_len, out);
}

int cfc_siv_s2v(cfc_siv *s, const uint8_t *concat, const size_t *lens, size_t count, uint8_t out[16]) {
    struct span strs[CFC_SIV_MAX_AD_COMPONENTS + 1];
    if (s == NULL || out == NULL || !split(concat, lens, count, strs)) return 0;
    return s2v(s, strs, count, out);
}

// MARK: - AES-CMAC

struct cfc_cmac {
    EVP_MAC_CTX *template; // keyed; never modified after cfc_cmac_new
};

cfc_cmac *cfc_cmac_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = 0;
    if (key_len != 16 && key_len != 24 && key_len != 32) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-CMAC key length %zu (need 16, 24 or 32)", key_len);
        return NULL;
    }
    fetch_algorithms_once();
    if (cmac_mac == NULL) {
        set_error(err, errlen, "OpenSSL does not provide CMAC");
        return NULL;
    }
    cfc_cmac *c = OPENSSL_zalloc(sizeof(*c));
    if (c == NULL) {
        set_error(err, errlen, "out of memory");
        return NULL;
    }
    c->template = new_cmac_ctx(key, key_len, (int)(key_len - 16) / 8);
    if (c->template == NULL) {
        set_error(err, errlen, "CMAC key set-up failed");
        OPENSSL_free(c);
        return NULL;
    }
    return c;
}

void cfc_cmac_free(cfc_cmac *c) {
    if (c == NULL) return;
    EVP_MAC_CTX_free(c->template);
    OPENSSL_free(c);
}

int cfc_cmac_compute(cfc_cmac *c, const void *msg, size_t len, uint8_t out[16]) {
    if (c == NULL || out == NULL || (len > 0 && msg == NULL)) return 0;
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(c->template);
    int ok = m != NULL && cmac_run(m, 0, msg, len, NULL, 0, out);
    EVP_MAC_CTX_free(m);
    return ok;
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
