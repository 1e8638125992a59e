// AES-SIV, AES-CMAC, randomness and constant-time comparison on OpenSSL 3 libcrypto. See cfleetcrypto.h.
//
// Performance notes (an NTS server seals and opens on every packet, four AES-SIV operations per response on
// 50-300 byte inputs, two of them under keys made for that one packet):
//  * What costs is not AES but OpenSSL 3's provider layer around it: duplicating contexts (malloc, provider
//    dupctx, cleanse, free), EVP_MAC_init, and the OSSL_PARAM name lookups (strcmp) behind every init. So
//    the default path does its own CMAC (RFC 4493), S2V (RFC 5297 §2.4) and CTR (§2.5) on top of bare
//    AES-CBC and AES-ECB contexts that stay keyed, and asks OpenSSL for nothing but block encryptions:
//      - CMAC is the last block of AES-CBC over the message with a zero IV and the last block xored with the
//        subkey K1 or K2 (padded first when partial). The message is copied into a stack buffer (CBC needs
//        an output buffer anyway), the last block fixed up there, and the buffer encrypted in place in ONE
//        EVP_EncryptUpdate (up to 512 bytes per call; longer messages continue the chain in further calls).
//      - A CBC context keeps chaining from its last output block across updates. Rather than re-initialising
//        its IV to zero for every CMAC (an EVP init with parameter look-ups), we remember that last block
//        ("chain") and xor it into the first block of the next message: E(M1 ^ chain ^ chain) = E(M1 ^ 0).
//        A CMAC thus costs one EVP call, and an S2V over (AD, nonce, plaintext) three.
//      - The CTR keystream is the counter blocks Q, Q+1, ... (RFC 5297 §2.5 clears the top bit of the last
//        two 32-bit words of V) written into a stack buffer and encrypted in place by an ECB context keyed
//        with K2, one call per 512 bytes, then xored with the input. No IV set-up call at all.
//      - Per key, the CMAC subkeys K1/K2 (from L = AES(K, 0)) and D0 = CMAC(K, <zero>) are computed once
//        when the key is first used on a thread, and kept with its contexts.
//      - Re-keying a cached context for a new key passes no IV when OpenSSL is known (checked once per
//        process) to reset CBC to its original zero IV by itself: the IV argument alone costs an IV-length
//        parameter query. Measured on the development machine (OpenSSL 3.0, AES-NI): re-key with IV 136 ns,
//        without 75 ns; IV reset alone 73 ns; one-block update 16 ns; copying a keyed context (what the
//        previous design did per operation and per context) plus free 167 ns.
//  * Thread safety: a key object (cfc_siv, cfc_cmac) is immutable after construction (key bytes, AES size,
//    a unique 64-bit id); operations only read it, so any number of threads may share it. The mutable
//    state (keyed EVP contexts, CBC chaining value, subkeys) lives in a small cache per thread (C11
//    _Thread_local; freed by a pthread key destructor when the thread exits): per AES size, CACHE_WAYS
//    slots tagged with the id of the key object they are keyed for, least recently used evicted. The id
//    comes from a process-wide counter (handed to threads in blocks of 2^16, so making a key does no
//    shared atomic in the common case) and is never reused, so a slot of a freed key never matches a new
//    key object at the same address. A long-lived key (the server's cookie master key) stays keyed in
//    every thread that uses it; a per-packet key takes a free or the least recently used slot and pays
//    one re-key of the CBC context (plus one of the ECB context when it encrypts or decrypts anything) and
//    one or two single-block encryptions for its subkeys. Freeing a key object marks its slot on the
//    freeing thread free again (and wipes the subkeys there) so per-packet keys do not push the master
//    key out. Expanded AES key schedules of freed keys can remain inside a thread's cached OpenSSL
//    contexts until the slot is re-keyed or the thread exits (at most 2 * CACHE_WAYS per AES size and
//    thread); the key objects themselves are wiped on free as before.
//  * The EVP_CIPHER / EVP_MAC algorithm objects are fetched once per process (pthread_once behind an
//    atomic flag) and kept for the life of the process; fetching is a locked lookup in OpenSSL's method
//    store. Making a key object is one small allocation and a copy of the key: no OpenSSL call.
//  * Path choice: every operation (CFC_SIV_AUTO) uses the by-hand path above. OpenSSL 3.0's own AES-*-SIV
//    fails on an empty plaintext, and its key set-up fetches CBC, CTR and CMAC by name for every key. That
//    path stays, selectable (CFC_SIV_OPENSSL), built lazily per key object as a keyed template published
//    with an atomic compare-and-swap and copied per operation (EVP_CIPHER_CTX_copy only reads its source,
//    so concurrent copies of the same template are safe; openssl-threads(7)). The tests check both paths
//    against each other and the RFC 5297 vectors. Likewise cfc_cmac computes by hand by default and keeps
//    OpenSSL's EVP_MAC CMAC selectable (CFC_CMAC_EVP_MAC) for the cross-check.
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

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CFC_AESNI 1
#endif

// MARK: - Algorithms, fetched once

// Index 0, 1, 2 = AES-128, AES-192, AES-256 (the half-key length of an AES-SIV key: 16, 24, 32 bytes).
static const char *const siv_names[3] = {"AES-128-SIV", "AES-192-SIV", "AES-256-SIV"};
static const char *const cbc_names[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
static const char *const ecb_names[3] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"};

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static atomic_int fetched;
static EVP_CIPHER *siv_ciphers[3];
static EVP_CIPHER *cbc_ciphers[3];
static EVP_CIPHER *ecb_ciphers[3];
static EVP_MAC *cmac_mac;
// Whether re-keying a used AES-CBC context without an IV resets its chaining value to the IV it was first
// initialised with (OpenSSL's own providers do, "to keep compatibility with 1.1.1"). Checked once per
// process rather than assumed, since another provider may implement AES-CBC.
static int rekey_restores_iv[3];
// Whether this CPU has the AES instructions (x86-64 AES-NI): AES-128 keys then skip EVP (see "Hardware AES").
static int aes_hw_usable;

static int check_rekey_restores_iv(int idx) {
    static const uint8_t zero[16] = {0};
    uint8_t key_a[32], key_b[32], block[16], via_cbc[16], via_ecb[16];
    memset(key_a, 0x5a, sizeof(key_a));
    memset(key_b, 0xa5, sizeof(key_b));
    memset(block, 0x3c, sizeof(block));
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new(), *e = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0, l3 = 0;
    int ok = c != NULL && e != NULL && EVP_EncryptInit_ex2(c, cbc_ciphers[idx], key_a, zero, NULL) &&
             EVP_EncryptUpdate(c, block, &l1, block, 16) && EVP_EncryptInit_ex2(c, NULL, key_b, NULL, NULL) &&
             EVP_EncryptUpdate(c, via_cbc, &l2, zero, 16) && EVP_EncryptInit_ex2(e, ecb_ciphers[idx], key_b, NULL, NULL) &&
             EVP_EncryptUpdate(e, via_ecb, &l3, zero, 16) && l1 == 16 && l2 == 16 && l3 == 16 &&
             memcmp(via_cbc, via_ecb, 16) == 0;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_CTX_free(e);
    return ok;
}

static void fetch_algorithms(void) {
    for (int i = 0; i < 3; i++) {
        siv_ciphers[i] = EVP_CIPHER_fetch(NULL, siv_names[i], NULL);
        cbc_ciphers[i] = EVP_CIPHER_fetch(NULL, cbc_names[i], NULL);
        ecb_ciphers[i] = EVP_CIPHER_fetch(NULL, ecb_names[i], NULL);
        rekey_restores_iv[i] = cbc_ciphers[i] != NULL && ecb_ciphers[i] != NULL && check_rekey_restores_iv(i);
    }
    cmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
#ifdef CFC_AESNI
    aes_hw_usable = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
#endif
    // A missing algorithm is reported by the constructor or path that needs it, on the caller's thread.
    ERR_clear_error();
    atomic_store_explicit(&fetched, 1, memory_order_release);
}

static void fetch_algorithms_once(void) {
    if (atomic_load_explicit(&fetched, memory_order_acquire)) return;
    (void)pthread_once(&fetch_once, fetch_algorithms);
}

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

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void store64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint64_t load_be64(const uint8_t *p) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(load64(p));
#else
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
           (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | (uint64_t)p[7];
#endif
}

static inline void store_be64(uint8_t *p, uint64_t v) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    store64(p, __builtin_bswap64(v));
#else
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
#endif
}

static inline void xor16(uint8_t *d, const uint8_t *s) {
    store64(d, load64(d) ^ load64(s));
    store64(d + 8, load64(d + 8) ^ load64(s + 8));
}

// out[i] = a[i] ^ b[i]; out may be a (exactly, not partly overlapping).
static inline void xor_bytes(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) store64(out + i, load64(a + i) ^ load64(b + i));
    for (; i < n; i++) out[i] = a[i] ^ b[i];
}

// dbl() of RFC 5297 §2.3 (RFC 4493's subkey doubling): multiplication by x in GF(2^128), without a
// data-dependent branch.
static inline void dbl(uint8_t d[16]) {
    uint64_t hi = load_be64(d), lo = load_be64(d + 8);
    uint64_t carry = hi >> 63;
    hi = hi << 1 | lo >> 63;
    lo = lo << 1 ^ (0x87 & (0 - carry));
    store_be64(d, hi);
    store_be64(d + 8, lo);
}

// MARK: - Per-thread keyed contexts

// A slot holds what one key needs on one thread. `cbc` is keyed with the MAC key (AES-SIV's K1, or the
// AES-CMAC key), `ecb` with the CTR key (AES-SIV's K2; only made and keyed when something is encrypted).
#define CACHE_WAYS 4
// Bytes handed to OpenSSL per EVP_EncryptUpdate (CBC-MAC and CTR keystream), on the stack.
#define CHUNK_BLOCKS 32
#define CHUNK_BYTES (CHUNK_BLOCKS * 16)

struct slot {
    uint64_t id;         // the key object this slot is keyed for; 0 = free
    uint64_t used;       // for least-recently-used eviction
    int hw;              // keyed for hardware AES (round keys below), not the EVP contexts
    EVP_CIPHER_CTX *cbc; // AES-CBC; its chaining value is always `chain`
    EVP_CIPHER_CTX *ecb; // AES-ECB
    int ecb_keyed;       // ecb (or rk_ctr) holds this key object's CTR key
    int d0_ready;
    struct {
        uint8_t chain[16];
        uint8_t k1[16], k2[16]; // CMAC subkeys (RFC 4493 §2.3)
        uint8_t d0[16];         // CMAC(K, <zero>), the start of every S2V (RFC 5297 §2.4)
        uint8_t rk_mac[176];    // hardware path: AES-128 round keys of the MAC key and the CTR key
        uint8_t rk_ctr[176];
    } s;
};

struct thread_cache {
    uint64_t clock;
    struct slot slots[3][CACHE_WAYS];
};

static _Thread_local struct thread_cache *tcache;

static pthread_once_t cache_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static int cache_key_ok;

static void destroy_thread_cache(void *p) {
    struct thread_cache *tc = p;
    if (tc == NULL) return;
    for (int i = 0; i < 3; i++) {
        for (int w = 0; w < CACHE_WAYS; w++) {
            EVP_CIPHER_CTX_free(tc->slots[i][w].cbc); // frees wipe the key schedules
            EVP_CIPHER_CTX_free(tc->slots[i][w].ecb);
        }
    }
    OPENSSL_clear_free(tc, sizeof(*tc));
    if (tcache == tc) tcache = NULL;
}

static void make_cache_key(void) { cache_key_ok = pthread_key_create(&cache_key, destroy_thread_cache) == 0; }

static struct thread_cache *thread_cache(void) {
    struct thread_cache *tc = tcache;
    if (tc != NULL) return tc;
    tc = OPENSSL_zalloc(sizeof(*tc));
    if (tc == NULL) return NULL;
    (void)pthread_once(&cache_key_once, make_cache_key);
    // Without the destructor the cache would only leak when the thread exits.
    if (cache_key_ok) (void)pthread_setspecific(cache_key, tc);
    tcache = tc;
    return tc;
}

// Unique key-object ids: blocks of 2^16 taken from a process-wide counter, then handed out per thread.
static _Atomic uint64_t next_id_block = 1;
static _Thread_local uint64_t id_next, id_end;

static uint64_t new_key_id(void) {
    if (id_next == id_end) {
        uint64_t block = atomic_fetch_add_explicit(&next_id_block, 1, memory_order_relaxed);
        id_next = block << 16;
        id_end = id_next + ((uint64_t)1 << 16);
    }
    return id_next++;
}

// Forgets a key object on this thread (called when it is freed): its slot becomes the first to reuse.
static void forget_key(uint64_t id, int idx) {
    struct thread_cache *tc = tcache;
    if (tc == NULL) return;
    for (int w = 0; w < CACHE_WAYS; w++) {
        struct slot *sl = &tc->slots[idx][w];
        if (sl->id == id) {
            sl->id = 0;
            sl->used = 0;
            sl->ecb_keyed = 0;
            sl->d0_ready = 0;
            OPENSSL_cleanse(&sl->s, sizeof(sl->s));
        }
    }
}

// MARK: - Hardware AES
//
// OpenSSL 3 reaches AES-NI only through EVP, and on the NTS packet path EVP's per-call and per-key costs
// (provider dispatch, parameter look-ups on every re-key) were most of the AES-SIV time: two of the four
// operations per response use keys made for that one packet. No library on this machine offers AES-NI
// block calls without that layer (OpenSSL's low-level AES_encrypt is the table implementation), so for
// AES-128 (AEAD_AES_SIV_CMAC_256, the AEAD every NTS client uses, and 16-byte CMAC keys) on x86-64 CPUs
// with AES-NI the key schedule (FIPS 197 §5.2) and the block encryptions are done here with the AES
// instructions: constant time, like OpenSSL's own AES-NI code. Everything else (CMAC, S2V, CTR above) is
// unchanged; the EVP contexts remain the path for AES-192/256 and for other CPUs (a Raspberry Pi), and
// stay selectable for the cross-checks in the tests (CFC_SIV_BY_HAND_EVP).
#ifdef CFC_AESNI
#define CFC_HW __attribute__((target("aes,sse2")))

CFC_HW static inline __m128i expand_step(__m128i key, __m128i assist) {
    assist = _mm_shuffle_epi32(assist, 0xff);
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
    return _mm_xor_si128(key, assist);
}

CFC_HW static void aes128_expand(const uint8_t key[16], uint8_t rk[176]) {
    __m128i k = _mm_loadu_si128((const __m128i *)key);
    _mm_storeu_si128((__m128i *)rk, k);
#define CFC_ROUND(i, rcon)                                           \
    k = expand_step(k, _mm_aeskeygenassist_si128(k, rcon));         \
    _mm_storeu_si128((__m128i *)(rk + 16 * (i)), k);
    CFC_ROUND(1, 0x01) CFC_ROUND(2, 0x02) CFC_ROUND(3, 0x04) CFC_ROUND(4, 0x08) CFC_ROUND(5, 0x10)
    CFC_ROUND(6, 0x20) CFC_ROUND(7, 0x40) CFC_ROUND(8, 0x80) CFC_ROUND(9, 0x1b) CFC_ROUND(10, 0x36)
#undef CFC_ROUND
    k = _mm_setzero_si128();
}

CFC_HW static inline __m128i aes128_block(const uint8_t rk[176], __m128i b) {
    b = _mm_xor_si128(b, _mm_loadu_si128((const __m128i *)rk));
    for (int r = 1; r < 10; r++) b = _mm_aesenc_si128(b, _mm_loadu_si128((const __m128i *)(rk + 16 * r)));
    return _mm_aesenclast_si128(b, _mm_loadu_si128((const __m128i *)(rk + 160)));
}

// CBC encryption in place from the chaining value `chain` (updated), as the EVP CBC context does.
CFC_HW static void aes128_cbc(const uint8_t rk[176], uint8_t chain[16], uint8_t *buf, size_t blocks) {
    __m128i c = _mm_loadu_si128((const __m128i *)chain);
    for (size_t i = 0; i < blocks; i++) {
        c = aes128_block(rk, _mm_xor_si128(c, _mm_loadu_si128((const __m128i *)(buf + 16 * i))));
        _mm_storeu_si128((__m128i *)(buf + 16 * i), c);
    }
    _mm_storeu_si128((__m128i *)chain, c);
}

// ECB encryption in place, four blocks at a time (independent blocks pipeline in the AES unit).
CFC_HW static void aes128_ecb(const uint8_t rk[176], uint8_t *buf, size_t blocks) {
    size_t i = 0;
    for (; i + 4 <= blocks; i += 4) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(buf + 16 * i));
        __m128i b1 = _mm_loadu_si128((const __m128i *)(buf + 16 * i + 16));
        __m128i b2 = _mm_loadu_si128((const __m128i *)(buf + 16 * i + 32));
        __m128i b3 = _mm_loadu_si128((const __m128i *)(buf + 16 * i + 48));
        __m128i k = _mm_loadu_si128((const __m128i *)rk);
        b0 = _mm_xor_si128(b0, k);
        b1 = _mm_xor_si128(b1, k);
        b2 = _mm_xor_si128(b2, k);
        b3 = _mm_xor_si128(b3, k);
        for (int r = 1; r < 10; r++) {
            k = _mm_loadu_si128((const __m128i *)(rk + 16 * r));
            b0 = _mm_aesenc_si128(b0, k);
            b1 = _mm_aesenc_si128(b1, k);
            b2 = _mm_aesenc_si128(b2, k);
            b3 = _mm_aesenc_si128(b3, k);
        }
        k = _mm_loadu_si128((const __m128i *)(rk + 160));
        _mm_storeu_si128((__m128i *)(buf + 16 * i), _mm_aesenclast_si128(b0, k));
        _mm_storeu_si128((__m128i *)(buf + 16 * i + 16), _mm_aesenclast_si128(b1, k));
        _mm_storeu_si128((__m128i *)(buf + 16 * i + 32), _mm_aesenclast_si128(b2, k));
        _mm_storeu_si128((__m128i *)(buf + 16 * i + 48), _mm_aesenclast_si128(b3, k));
    }
    for (; i < blocks; i++)
        _mm_storeu_si128((__m128i *)(buf + 16 * i), aes128_block(rk, _mm_loadu_si128((const __m128i *)(buf + 16 * i))));
}
#else
static void aes128_expand(const uint8_t key[16], uint8_t rk[176]) { (void)key; (void)rk; }
static void aes128_cbc(const uint8_t rk[176], uint8_t chain[16], uint8_t *buf, size_t blocks) {
    (void)rk; (void)chain; (void)buf; (void)blocks;
}
static void aes128_ecb(const uint8_t rk[176], uint8_t *buf, size_t blocks) { (void)rk; (void)buf; (void)blocks; }
#endif

int cfc_aes_instructions(void) {
    fetch_algorithms_once();
    return aes_hw_usable;
}

// Whether a key of AES size `idx` uses hardware AES when `want_hw` (the caller's path allows it).
static int use_hw(int idx, int want_hw) { return want_hw && idx == 0 && aes_hw_usable; }

// Keys *ctx (made on first use with `cipher` and a zero IV) with `key`. For CBC the chaining value is zero
// afterwards: a re-key passes the zero IV again unless OpenSSL is known to restore the original IV on a
// re-key without one (saves an IV-length parameter query per re-key; see rekey_restores_iv).
// Padding is left on: it never matters, as only whole blocks are encrypted, with EVP_EncryptUpdate, and
// there is no EVP_EncryptFinal (OpenSSL only holds a block back when decrypting with padding). Turning it
// off would cost a parameter call on every re-key (OpenSSL re-applies it in every init).
static int make_or_rekey(EVP_CIPHER_CTX **ctx, const EVP_CIPHER *cipher, const uint8_t *key, int cbc_idx) {
    static const uint8_t zero[16] = {0};
    if (*ctx != NULL)
        return EVP_EncryptInit_ex2(*ctx, NULL, key, cbc_idx >= 0 && !rekey_restores_iv[cbc_idx] ? zero : NULL, NULL);
    EVP_CIPHER_CTX *fresh = EVP_CIPHER_CTX_new();
    if (fresh == NULL || !EVP_EncryptInit_ex2(fresh, cipher, key, cbc_idx >= 0 ? zero : NULL, NULL)) {
        EVP_CIPHER_CTX_free(fresh);
        return 0;
    }
    *ctx = fresh;
    return 1;
}

// Encrypts `blocks` blocks of buf in place with the slot's CBC context and records the new chaining value.
// On failure the slot is dropped (its chaining value is unknown).
static int cbc_in_place(struct slot *sl, uint8_t *buf, size_t blocks) {
    if (sl->hw) {
        aes128_cbc(sl->s.rk_mac, sl->s.chain, buf, blocks);
        return 1;
    }
    int outl = 0;
    if (!EVP_EncryptUpdate(sl->cbc, buf, &outl, buf, (int)(blocks * 16)) || (size_t)outl != blocks * 16) {
        sl->id = 0;
        return 0;
    }
    memcpy(sl->s.chain, buf + (blocks - 1) * 16, 16);
    return 1;
}

// The slot of this thread keyed for key object `id` with MAC key `mac_key` (AES size `idx`): found, or
// taken (free first, else least recently used) and keyed, its CMAC subkeys computed. NULL when OpenSSL fails.
static struct slot *slot_for(uint64_t id, int idx, const uint8_t *mac_key, int want_hw) {
    struct thread_cache *tc = thread_cache();
    if (tc == NULL) return NULL;
    int hw = use_hw(idx, want_hw);
    struct slot *set = tc->slots[idx];
    struct slot *victim = &set[0];
    for (int w = 0; w < CACHE_WAYS; w++) {
        if (set[w].id == id && set[w].hw == hw) {
            set[w].used = ++tc->clock;
            return &set[w];
        }
        if (set[w].used < victim->used) victim = &set[w];
    }
    victim->id = 0;
    victim->ecb_keyed = 0;
    victim->d0_ready = 0;
    victim->hw = hw;
    if (hw) {
        aes128_expand(mac_key, victim->s.rk_mac);
    } else if (!make_or_rekey(&victim->cbc, cbc_ciphers[idx], mac_key, idx)) {
        return NULL;
    }
    // L = AES(K, 0^128) (the chaining value is zero right after keying); K1 = dbl(L), K2 = dbl(K1).
    uint8_t l[16] = {0};
    memset(victim->s.chain, 0, 16);
    victim->id = id; // cbc_in_place drops it again on failure
    if (!cbc_in_place(victim, l, 1)) return NULL;
    memcpy(victim->s.k1, l, 16);
    dbl(victim->s.k1);
    memcpy(victim->s.k2, victim->s.k1, 16);
    dbl(victim->s.k2);
    OPENSSL_cleanse(l, sizeof(l));
    victim->used = ++tc->clock;
    return victim;
}

// AES-CMAC (RFC 4493) with the slot's MAC key of msg[0..len). With `xend` (len >= 16), the 16 bytes of xend
// are first xored into the last 16 bytes of the message (S2V's "Sn xorend D"), without touching msg.
static int slot_cmac(struct slot *sl, const uint8_t *msg, size_t len, const uint8_t *xend, uint8_t out[16]) {
    uint8_t buf[CHUNK_BYTES];
    size_t nblocks = len == 0 ? 1 : (len + 15) / 16;
    size_t xoff = xend != NULL ? len - 16 : 0; // message offset of the xorend part
    size_t done = 0;
    while (done < nblocks) {
        size_t take = nblocks - done < CHUNK_BLOCKS ? nblocks - done : CHUNK_BLOCKS;
        size_t off = done * 16;
        int final = done + take == nblocks;
        size_t bytes = final ? len - off : take * 16; // message bytes in this chunk
        if (bytes > 0) memcpy(buf, msg + off, bytes);
        if (xend != NULL && xoff < off + bytes && xoff + 16 > off) {
            for (size_t j = 0; j < 16; j++) {
                size_t m = xoff + j;
                if (m >= off && m < off + bytes) buf[m - off] ^= xend[j];
            }
        }
        if (final) {
            uint8_t *last = buf + (take - 1) * 16;
            size_t last_len = bytes - (take - 1) * 16; // 0..16
            if (last_len == 16) {
                xor16(last, sl->s.k1);
            } else {
                last[last_len] = 0x80;
                memset(last + last_len + 1, 0, 15 - last_len);
                xor16(last, sl->s.k2);
            }
        }
        if (done == 0) xor16(buf, sl->s.chain); // cancels the context's chaining value: a zero IV
        if (!cbc_in_place(sl, buf, take)) {
            OPENSSL_cleanse(buf, sizeof(buf));
            return 0;
        }
        done += take;
    }
    memcpy(out, sl->s.chain, 16);
    return 1;
}

static int slot_d0(struct slot *sl) {
    if (sl->d0_ready) return 1;
    static const uint8_t zero[16] = {0};
    if (!slot_cmac(sl, zero, 16, NULL, sl->s.d0)) return 0;
    sl->d0_ready = 1;
    return 1;
}

// AES-CTR of RFC 5297 §2.5/§2.6 with the CTR key `key2`: Q = V bitand 1^64 || 0^1 || 1^31 || 0^1 || 1^31,
// keystream AES(K2, Q), AES(K2, Q + 1), ... (128-bit big-endian increments). `in` and `out` may be equal.
static int slot_ctr(struct slot *sl, int idx, const uint8_t *key2, const uint8_t v[16], const uint8_t *in,
                    size_t len, uint8_t *out) {
    if (len == 0) return 1;
    if (!sl->ecb_keyed) {
        if (sl->hw) {
            aes128_expand(key2, sl->s.rk_ctr);
        } else if (!make_or_rekey(&sl->ecb, ecb_ciphers[idx], key2, -1)) {
            return 0;
        }
        sl->ecb_keyed = 1;
    }
    uint64_t hi = load_be64(v), lo = load_be64(v + 8) & UINT64_C(0x7fffffff7fffffff);
    uint8_t ks[CHUNK_BYTES];
    size_t used = 0;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < CHUNK_BYTES ? len - done : CHUNK_BYTES;
        size_t blocks = (n + 15) / 16;
        for (size_t b = 0; b < blocks; b++) {
            store_be64(ks + 16 * b, hi);
            store_be64(ks + 16 * b + 8, lo);
            hi += ++lo == 0;
        }
        int outl = 0;
        if (sl->hw) {
            aes128_ecb(sl->s.rk_ctr, ks, blocks);
        } else if (!EVP_EncryptUpdate(sl->ecb, ks, &outl, ks, (int)(blocks * 16)) || (size_t)outl != blocks * 16) {
            sl->ecb_keyed = 0;
            OPENSSL_cleanse(ks, sizeof(ks));
            return 0;
        }
        xor_bytes(out + done, in + done, ks, n);
        if (blocks * 16 > used) used = blocks * 16;
        done += n;
    }
    OPENSSL_cleanse(ks, used);
    return 1;
}

// S2V(K1, S1..Sn) of RFC 5297 §2.4 with the slot's MAC key; strs[count - 1] is Sn.
static int slot_s2v(struct slot *sl, const struct span *strs, size_t count, uint8_t v[16]) {
    if (count == 0) {
        // "if n = 0 then return V = AES-CMAC(K, <one>)"
        static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        return slot_cmac(sl, one, 16, NULL, v);
    }
    if (!slot_d0(sl)) return 0;
    uint8_t d[16], t[16];
    int ok = 1;
    memcpy(d, sl->s.d0, 16);
    // for i = 1 to n-1: D = dbl(D) xor AES-CMAC(K, Si)
    for (size_t i = 0; ok && i + 1 < count; i++) {
        ok = slot_cmac(sl, strs[i].p, strs[i].n, NULL, t);
        dbl(d);
        xor16(d, t);
    }
    if (ok) {
        const struct span last = strs[count - 1];
        if (last.n >= 16) {
            // T = Sn xorend D
            ok = slot_cmac(sl, last.p, last.n, d, v);
        } else {
            // T = dbl(D) xor pad(Sn), pad = Sn || 0x80 || 0...
            memset(t, 0, 16);
            if (last.n > 0) memcpy(t, last.p, last.n);
            t[last.n] = 0x80;
            dbl(d);
            xor16(t, d);
            ok = slot_cmac(sl, t, 16, NULL, v);
        }
    }
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(t, sizeof(t));
    return ok;
}

// MARK: - AES-SIV

struct cfc_siv {
    uint64_t id; // tags this key's slots in the per-thread caches; never reused
    int idx;     // 0/1/2: AES-128/192/256
    size_t half; // 16/24/32
    uint8_t key[64];
    _Atomic(EVP_CIPHER_CTX *) siv_template; // OpenSSL's AES-*-SIV keyed for encryption (OpenSSL path only)
};

// The AES size index (0/1/2 for AES-128/192/256) of an AES-SIV key length, or -1 when the length is not
// 32, 48 or 64 or OpenSSL lacks the AES-CBC/ECB it needs.
static int siv_index(size_t key_len) {
    if (key_len != 32 && key_len != 48 && key_len != 64) return -1;
    fetch_algorithms_once();
    int idx = (int)(key_len / 2 - 16) / 8;
    return cbc_ciphers[idx] != NULL && ecb_ciphers[idx] != NULL ? idx : -1;
}

// Fills a key object (heap or stack) for key_len bytes of `key`, AES size `idx`, with a fresh id.
static void siv_init(cfc_siv *s, int idx, const uint8_t *key, size_t key_len) {
    s->id = new_key_id();
    s->idx = idx;
    s->half = key_len / 2;
    memcpy(s->key, key, key_len);
    atomic_init(&s->siv_template, NULL);
}

cfc_siv *cfc_siv_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = 0;
    if (key_len != 32 && key_len != 48 && key_len != 64) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-SIV key length %zu (need 32, 48 or 64)", key_len);
        return NULL;
    }
    int idx = siv_index(key_len);
    if (idx < 0) {
        set_error(err, errlen, "OpenSSL does not provide AES-CBC and AES-ECB (OpenSSL 3 default provider needed)");
        return NULL;
    }
    cfc_siv *s = OPENSSL_malloc(sizeof(*s));
    if (s == NULL) {
        set_error(err, errlen, "out of memory");
        return NULL;
    }
    siv_init(s, idx, key, key_len);
    return s;
}

void cfc_siv_free(cfc_siv *s) {
    if (s == NULL) return;
    forget_key(s->id, s->idx);
    EVP_CIPHER_CTX_free(atomic_load(&s->siv_template));
    OPENSSL_clear_free(s, sizeof(*s));
}

static struct slot *siv_slot(cfc_siv *s, int want_hw) { return slot_for(s->id, s->idx, s->key, want_hw); }

static int seal_by_hand(cfc_siv *s, int want_hw, struct span *strs, size_t ad_count, const uint8_t *pt,
                        size_t pt_len, uint8_t *out) {
    struct slot *sl = siv_slot(s, want_hw);
    if (sl == NULL) return 0;
    strs[ad_count].p = pt;
    strs[ad_count].n = pt_len;
    return slot_s2v(sl, strs, ad_count + 1, out) && slot_ctr(sl, s->idx, s->key + s->half, out, pt, pt_len, out + 16);
}

static int open_by_hand(cfc_siv *s, int want_hw, struct span *strs, size_t ad_count, const uint8_t *sealed,
                        size_t sealed_len, uint8_t *out) {
    struct slot *sl = siv_slot(s, want_hw);
    if (sl == NULL) return 0;
    size_t ct_len = sealed_len - 16;
    uint8_t v[16];
    if (!slot_ctr(sl, s->idx, s->key + s->half, sealed, sealed + 16, ct_len, out)) return 0;
    strs[ad_count].p = out;
    strs[ad_count].n = ct_len;
    if (!slot_s2v(sl, strs, ad_count + 1, v)) return 0;
    return CRYPTO_memcmp(v, sealed, 16) == 0;
}

static EVP_CIPHER_CTX *siv_template(cfc_siv *s) {
    EVP_CIPHER_CTX *t = atomic_load_explicit(&s->siv_template, memory_order_acquire);
    if (t != NULL) return t;
    if (siv_ciphers[s->idx] == NULL) return NULL;
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
    if (s == NULL || out == NULL || ad_count > CFC_SIV_MAX_AD_COMPONENTS || (pt_len > 0 && pt == NULL)) return 0;
    if (path == CFC_SIV_AUTO) path = CFC_SIV_BY_HAND; // see "Path choice" above
    if (path == CFC_SIV_OPENSSL) return seal_openssl(s, strs, ad_count, pt, pt_len, out);
    if (path == CFC_SIV_BY_HAND) return seal_by_hand(s, 1, strs, ad_count, pt, pt_len, out);
    if (path == CFC_SIV_BY_HAND_EVP) return seal_by_hand(s, 0, strs, ad_count, pt, pt_len, out);
    return 0;
}

static int open_spans(cfc_siv *s, int path, struct span *strs, size_t ad_count, const uint8_t *sealed,
                      size_t sealed_len, uint8_t *out) {
    if (s == NULL || sealed == NULL || sealed_len < 16 || ad_count > CFC_SIV_MAX_AD_COMPONENTS) return 0;
    size_t ct_len = sealed_len - 16;
    if (ct_len > 0 && out == NULL) return 0;
    if (path == CFC_SIV_AUTO) path = CFC_SIV_BY_HAND; // see "Path choice" above
    int ok = path == CFC_SIV_OPENSSL   ? open_openssl(s, strs, ad_count, sealed, sealed_len, out)
             : path == CFC_SIV_BY_HAND ? open_by_hand(s, 1, strs, ad_count, sealed, sealed_len, out)
             : path == CFC_SIV_BY_HAND_EVP ? open_by_hand(s, 0, strs, ad_count, sealed, sealed_len, out)
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

// A component with a length needs bytes (an empty one may be NULL).
static int valid_component(const uint8_t *p, size_t n) { return n == 0 || p != NULL; }

int cfc_siv_seal_aead(cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *out) {
    if (!valid_component(ad, ad_len) || !valid_component(nonce, nonce_len)) return 0;
    struct span strs[3] = {{ad, ad_len}, {nonce, nonce_len}, {NULL, 0}};
    return seal_spans(s, CFC_SIV_AUTO, strs, 2, pt, pt_len, out);
}

int cfc_siv_open_aead(cfc_siv *s, const uint8_t *ad, size_t ad_len, const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    if (!valid_component(ad, ad_len) || !valid_component(nonce, nonce_len)) return 0;
    struct span strs[3] = {{ad, ad_len}, {nonce, nonce_len}, {NULL, 0}};
    return open_spans(s, CFC_SIV_AUTO, strs, 2, sealed, sealed_len, out);
}

// A key object on the stack for one operation: a fresh id (never matches a cached slot), dropped from this
// thread's cache and wiped afterwards. Saves the allocation and the Swift object of a per-packet key.
static int ephemeral_siv(cfc_siv *s, const uint8_t *key, size_t key_len) {
    int idx = key != NULL ? siv_index(key_len) : -1;
    if (idx < 0) return 0;
    siv_init(s, idx, key, key_len);
    return 1;
}

static void ephemeral_siv_done(cfc_siv *s) {
    forget_key(s->id, s->idx);
    OPENSSL_cleanse(s->key, sizeof(s->key));
}

int cfc_siv_seal_aead_key(const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len,
                          const uint8_t *nonce, size_t nonce_len, const uint8_t *pt, size_t pt_len, uint8_t *out) {
    cfc_siv s;
    if (!ephemeral_siv(&s, key, key_len)) return 0;
    int ok = cfc_siv_seal_aead(&s, ad, ad_len, nonce, nonce_len, pt, pt_len, out);
    ephemeral_siv_done(&s);
    return ok;
}

int cfc_siv_open_aead_key(const uint8_t *key, size_t key_len, const uint8_t *ad, size_t ad_len,
                          const uint8_t *nonce, size_t nonce_len, const uint8_t *sealed, size_t sealed_len,
                          uint8_t *out) {
    cfc_siv s;
    if (!ephemeral_siv(&s, key, key_len)) return 0;
    int ok = cfc_siv_open_aead(&s, ad, ad_len, nonce, nonce_len, sealed, sealed_len, out);
    ephemeral_siv_done(&s);
    return ok;
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
    struct slot *sl = siv_slot(s, 1);
    return sl != NULL && slot_s2v(sl, strs, count, out);
}

// MARK: - AES-CMAC

struct cfc_cmac {
    uint64_t id; // tags this key's slots in the per-thread caches; never reused
    int idx;     // 0/1/2: AES-128/192/256
    size_t key_len;
    uint8_t key[32];
    _Atomic(EVP_MAC_CTX *) template; // OpenSSL's CMAC, keyed (EVP_MAC path only)
};

cfc_cmac *cfc_cmac_new(const uint8_t *key, size_t key_len, char *err, size_t errlen) {
    if (err != NULL && errlen > 0) err[0] = 0;
    if (key_len != 16 && key_len != 24 && key_len != 32) {
        if (err != NULL && errlen > 0) snprintf(err, errlen, "AES-CMAC key length %zu (need 16, 24 or 32)", key_len);
        return NULL;
    }
    fetch_algorithms_once();
    int idx = (int)(key_len - 16) / 8;
    if (cbc_ciphers[idx] == NULL) {
        set_error(err, errlen, "OpenSSL does not provide AES-CBC (OpenSSL 3 default provider needed)");
        return NULL;
    }
    cfc_cmac *c = OPENSSL_malloc(sizeof(*c));
    if (c == NULL) {
        set_error(err, errlen, "out of memory");
        return NULL;
    }
    c->id = new_key_id();
    c->idx = idx;
    c->key_len = key_len;
    memcpy(c->key, key, key_len);
    atomic_init(&c->template, NULL);
    return c;
}

void cfc_cmac_free(cfc_cmac *c) {
    if (c == NULL) return;
    forget_key(c->id, c->idx);
    EVP_MAC_CTX_free(atomic_load(&c->template));
    OPENSSL_clear_free(c, sizeof(*c));
}

// OpenSSL's CMAC keyed with the object's key, built on first use and immutable once published.
static EVP_MAC_CTX *cmac_template(cfc_cmac *c) {
    EVP_MAC_CTX *t = atomic_load_explicit(&c->template, memory_order_acquire);
    if (t != NULL) return t;
    if (cmac_mac == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cbc_names[c->idx], 0);
    params[1] = OSSL_PARAM_construct_end();
    EVP_MAC_CTX *fresh = EVP_MAC_CTX_new(cmac_mac);
    if (fresh == NULL || !EVP_MAC_init(fresh, c->key, c->key_len, params)) {
        EVP_MAC_CTX_free(fresh);
        return NULL;
    }
    EVP_MAC_CTX *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&c->template, &expected, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    EVP_MAC_CTX_free(fresh);
    return expected;
}

static int cmac_evp_mac(cfc_cmac *c, const void *msg, size_t len, uint8_t out[16]) {
    EVP_MAC_CTX *t = cmac_template(c);
    if (t == NULL) return 0;
    EVP_MAC_CTX *m = EVP_MAC_CTX_dup(t);
    size_t outl = 0;
    int ok = m != NULL && (len == 0 || EVP_MAC_update(m, msg, len)) && EVP_MAC_final(m, out, &outl, 16) && outl == 16;
    EVP_MAC_CTX_free(m);
    return ok;
}

int cfc_cmac_compute_path(cfc_cmac *c, int path, const void *msg, size_t len, uint8_t out[16]) {
    if (c == NULL || out == NULL || (len > 0 && msg == NULL)) return 0;
    if (path == CFC_CMAC_AUTO) path = CFC_CMAC_BY_HAND;
    if (path == CFC_CMAC_EVP_MAC) return cmac_evp_mac(c, msg, len, out);
    if (path != CFC_CMAC_BY_HAND && path != CFC_CMAC_BY_HAND_EVP) return 0;
    struct slot *sl = slot_for(c->id, c->idx, c->key, path == CFC_CMAC_BY_HAND);
    return sl != NULL && slot_cmac(sl, msg, len, NULL, out);
}

int cfc_cmac_compute(cfc_cmac *c, const void *msg, size_t len, uint8_t out[16]) {
    return cfc_cmac_compute_path(c, CFC_CMAC_AUTO, msg, len, out);
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
