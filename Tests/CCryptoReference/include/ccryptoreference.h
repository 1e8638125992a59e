// TEST ONLY: OpenSSL 3's own AES-SIV (EVP "AES-*-SIV") and CMAC (EVP_MAC "CMAC"), the independent
// implementation FleetCrypto's Nettle-based AES-SIV and AES-CMAC are cross-checked against. Not part of any
// product. Prefixed `ref_`.
#ifndef CCRYPTOREFERENCE_H
#define CCRYPTOREFERENCE_H

#include <stddef.h>
#include <stdint.h>

/// OpenSSL's AES-SIV under `key` (32, 48 or 64 bytes) with `count` associated-data components given
/// concatenated in `concat` (component i is `lens[i]` bytes; each is one S2V string, RFC 5297 §3, so
/// the AEAD form (A, N) is the two components A then N). Writes SIV(16) || ciphertext to `out`.
/// Returns 1, or 0 when OpenSSL fails, which OpenSSL 3.0 does for an empty plaintext.
int ref_siv_seal(const uint8_t *key, size_t key_len,
                 const uint8_t *concat, const size_t *lens, size_t count,
                 const uint8_t *pt, size_t pt_len, uint8_t *out);

/// Opens what ref_siv_seal produced (a non-empty ciphertext); 1 when authentic.
int ref_siv_open(const uint8_t *key, size_t key_len,
                 const uint8_t *concat, const size_t *lens, size_t count,
                 const uint8_t *sealed, size_t sealed_len, uint8_t *out);

/// OpenSSL's EVP_MAC CMAC of `msg` under an AES key of 16, 24 or 32 bytes; writes 16 bytes. 1 or 0.
int ref_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len, uint8_t out[16]);

#endif
