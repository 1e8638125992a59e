// The project's cryptography behind one header ("crypto behind one header", as chrony keeps its
// siv_*/cmac_* interfaces): AES-SIV (RFC 5297) as the NTS AEAD (RFC 8915), AES-CMAC (RFC 4493; RFC 8573
// NTP MACs), the CSPRNG and a constant-time compare, all on OpenSSL 3 libcrypto.
//
// This header includes no OpenSSL header: OpenSSL's function-like macros, EVP contexts and OSSL_PARAM
// arrays stay in crypto.c. Every symbol is prefixed `cfc_` (the CNIOLinux convention, like CFleetShim's
// `cfs_`).
//
// Threading: a cfc_siv or cfc_cmac may be used by any number of threads at once: the object is immutable
// after construction, and each thread computes with its own keyed OpenSSL contexts, kept in a small
// per-thread cache (see crypto.c). cfc_*_free must of course not race with a use of the same object.
//
// Errors: functions that report a failure the caller should surface take an `err` buffer (constructors),
// or leave OpenSSL's per-thread error queue for cfc_take_error (seal and CMAC failures, which only happen
// when OpenSSL itself fails, e.g. out of memory). Authentication failures clear the thread's queue, so a
// forged packet never leaves stale errors behind for the TLS code running on the same thread.
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

/// RFC 5297 §2.6/§7: S2V takes at most 127 strings, so at most 126 associated-data components come
/// before the plaintext.
#define CFC_SIV_MAX_AD_COMPONENTS 126

// MARK: AES-SIV (RFC 5297)

/// An AES-SIV key: 32, 48 or 64 bytes (AEAD_AES_SIV_CMAC_256/384/512: AES-128/192/256 for both halves).
typedef struct cfc_siv cfc_siv;

/// Makes a key object. Returns NULL for a key length other than 32/48/64 or when OpenSSL lacks the
/// algorithms, with a message in `err` (always NUL-terminated when errlen > 0).
cfc_siv *cfc_siv_new(const uint8_t *key, size_t key_len, char *err, size_t errlen);

/// Frees a key object and wipes its key material. NULL is allowed.
void cfc_siv_free(cfc_siv *siv);

/// The RFC 5116 AEAD of RFC 5297 §6: S2V over (associated data, nonce, plaintext), each always one
/// component even when empty. Writes SIV(16) || ciphertext (16 + pt_len bytes) to `out`.
/// Returns 1, or 0 when OpenSSL fails (error left on the queue for cfc_take_error).
int cfc_siv_seal_aead(cfc_siv *siv,
                      const uint8_t *ad, size_t ad_len,
                      const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *pt, size_t pt_len,
                      uint8_t *out);

/// Opens what cfc_siv_seal_aead produced. Writes sealed_len - 16 bytes of plaintext to `out`.
/// Returns 1 when authentic, 0 when not (or sealed_len < 16, or OpenSSL failed); on 0 `out` is wiped.
int cfc_siv_open_aead(cfc_siv *siv,
                      const uint8_t *ad, size_t ad_len,
                      const uint8_t *nonce, size_t nonce_len,
                      const uint8_t *sealed, size_t sealed_len,
                      uint8_t *out);

/// 1 when AES-128 blocks of the by-hand paths use the CPU's AES instructions (x86-64 with AES-NI), else 0.
int cfc_aes_instructions(void);

/// One-shot cfc_siv_seal_aead / cfc_siv_open_aead under `key` (32, 48 or 64 bytes) without making a key
/// object: for keys used once, as an NTS server uses each request's C2S and S2C keys. The key is used in
/// this thread's scratch slot, which is freed again afterwards (the master key stays keyed). For the seal,
/// `pt` may equal `out + 16` (sealing in place). Returns 0 on a bad key length too.
int cfc_siv_seal_aead_key(const uint8_t *key, size_t key_len,
                          const uint8_t *ad, size_t ad_len,
                          const uint8_t *nonce, size_t nonce_len,
                          const uint8_t *pt, size_t pt_len,
                          uint8_t *out);
int cfc_siv_open_aead_key(const uint8_t *key, size_t key_len,
                          const uint8_t *ad, size_t ad_len,
                          const uint8_t *nonce, size_t nonce_len,
                          const uint8_t *sealed, size_t sealed_len,
                          uint8_t *out);

/// RFC 5297 with an explicit list of associated-data components (for test vectors and deterministic
/// use). The components are given concatenated in `ad_concat`, component i being `ad_lens[i]` bytes;
/// `ad_count` may be 0 and must not exceed CFC_SIV_MAX_AD_COMPONENTS. A nonce, if any, is just the last
/// component (RFC 5297 §3). Same results as the _aead functions.
int cfc_siv_seal(cfc_siv *siv,
                 const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                 const uint8_t *pt, size_t pt_len,
                 uint8_t *out);
int cfc_siv_open(cfc_siv *siv,
                 const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                 const uint8_t *sealed, size_t sealed_len,
                 uint8_t *out);

/// Which implementation seals or opens. CFC_SIV_AUTO is what the functions above use: the by-hand
/// path (OpenSSL 3.0's SIV cannot produce a tag for an empty plaintext, and its per-key set-up is slow).
/// The forced choices exist so tests can compare the two.
enum cfc_siv_path {
    CFC_SIV_AUTO = 0,
    CFC_SIV_OPENSSL = 1, // OpenSSL's AES-*-SIV cipher; fails (returns 0) for an empty plaintext
    CFC_SIV_BY_HAND = 2, // CMAC, S2V and CTR computed here over keyed AES-CBC/AES-ECB (never OpenSSL's SIV);
                         // AES-128 blocks with the CPU's AES instructions where it has them (x86-64 AES-NI)
    CFC_SIV_BY_HAND_EVP = 3 // the same, every AES block through OpenSSL's EVP (the path of other CPUs)
};

/// cfc_siv_seal and cfc_siv_open with a forced path (for tests).
int cfc_siv_seal_path(cfc_siv *siv, int path,
                      const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                      const uint8_t *pt, size_t pt_len,
                      uint8_t *out);
int cfc_siv_open_path(cfc_siv *siv, int path,
                      const uint8_t *ad_concat, const size_t *ad_lens, size_t ad_count,
                      const uint8_t *sealed, size_t sealed_len,
                      uint8_t *out);

/// S2V(K1, S1, ..., Sn) of RFC 5297 §2.4 over `count` strings given like the components above (the last
/// one is Sn, the plaintext position). count == 0 gives CMAC(K1, <one>). Writes 16 bytes. Returns 1 or 0.
int cfc_siv_s2v(cfc_siv *siv,
                const uint8_t *concat, const size_t *lens, size_t count,
                uint8_t out[CFC_TAG_LEN]);

// MARK: AES-CMAC (RFC 4493; NIST SP 800-38B with AES-192/256)

/// An AES-CMAC key: 16, 24 or 32 bytes (AES-128/192/256).
typedef struct cfc_cmac cfc_cmac;

/// Makes a key object; NULL with a message in `err` for a bad key length or an OpenSSL failure.
cfc_cmac *cfc_cmac_new(const uint8_t *key, size_t key_len, char *err, size_t errlen);

/// Frees a key object. NULL is allowed.
void cfc_cmac_free(cfc_cmac *cmac);

/// Writes the 16-byte tag of `msg` to `out`. Returns 1, or 0 when OpenSSL fails (see cfc_take_error).
int cfc_cmac_compute(cfc_cmac *cmac, const void *msg, size_t len, uint8_t out[CFC_TAG_LEN]);

/// Which implementation computes a CMAC. CFC_CMAC_AUTO is what cfc_cmac_compute uses (by hand, over
/// keyed AES-CBC); OpenSSL's EVP_MAC CMAC stays selectable so tests can compare the two.
enum cfc_cmac_path {
    CFC_CMAC_AUTO = 0,
    CFC_CMAC_EVP_MAC = 1, // OpenSSL's EVP_MAC "CMAC"
    CFC_CMAC_BY_HAND = 2, // RFC 4493 computed here over keyed AES-CBC (the one AES-SIV's S2V uses)
    CFC_CMAC_BY_HAND_EVP = 3 // the same with every AES block through EVP (no AES instructions)
};

/// cfc_cmac_compute with a forced path (for tests).
int cfc_cmac_compute_path(cfc_cmac *cmac, int path, const void *msg, size_t len, uint8_t out[CFC_TAG_LEN]);

// MARK: Randomness, comparison, errors

/// Fills `buf` from OpenSSL's CSPRNG (RAND_bytes). Returns 1, or 0 when the CSPRNG failed.
int cfc_random_bytes(uint8_t *buf, size_t len);

/// 1 when the `len` bytes at `a` and `b` are equal, else 0, in time independent of the contents
/// (CRYPTO_memcmp).
int cfc_equal(const void *a, const void *b, size_t len);

/// Formats the oldest error on this thread's OpenSSL error queue into `buf` (NUL-terminated) and clears
/// the queue. Returns the number of characters written; 0 (and an empty string) when the queue was empty.
size_t cfc_take_error(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
