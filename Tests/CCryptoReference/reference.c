// TEST ONLY: see ccryptoreference.h.
#include "ccryptoreference.h"

#include <limits.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

static const char *siv_name(size_t key_len) {
    switch (key_len) {
    case 32: return "AES-128-SIV";
    case 48: return "AES-192-SIV";
    case 64: return "AES-256-SIV";
    default: return NULL;
    }
}

// EVP_*Update rejects (NULL, 0); an empty component given as (valid pointer, 0) still counts as one.
static const unsigned char empty[1];

static int siv(int enc, const uint8_t *key, size_t key_len, const uint8_t *concat, const size_t *lens,
               size_t count, const uint8_t *in, size_t in_len, const uint8_t *tag, uint8_t *out, uint8_t *tag_out) {
    const char *name = siv_name(key_len);
    if (name == NULL || in_len == 0 || in_len > INT_MAX) return 0;
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    int ok = cipher != NULL && c != NULL && EVP_CipherInit_ex2(c, cipher, key, NULL, enc, NULL);
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16, (void *)tag) > 0;
    size_t off = 0;
    for (size_t i = 0; ok && i < count; i++) {
        if (lens[i] > INT_MAX) ok = 0;
        else ok = EVP_CipherUpdate(c, NULL, &outl, lens[i] > 0 ? concat + off : empty, (int)lens[i]);
        off += lens[i];
    }
    ok = ok && EVP_CipherUpdate(c, out, &outl, in, (int)in_len) && (size_t)outl == in_len;
    ok = ok && EVP_CipherFinal_ex(c, out + outl, &finl) && finl == 0;
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, tag_out) > 0;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(cipher);
    ERR_clear_error();
    return ok;
}

int ref_siv_seal(const uint8_t *key, size_t key_len, const uint8_t *concat, const size_t *lens, size_t count,
                 const uint8_t *pt, size_t pt_len, uint8_t *out) {
    return siv(1, key, key_len, concat, lens, count, pt, pt_len, NULL, out + 16, out);
}

int ref_siv_open(const uint8_t *key, size_t key_len, const uint8_t *concat, const size_t *lens, size_t count,
                 const uint8_t *sealed, size_t sealed_len, uint8_t *out) {
    if (sealed_len <= 16) return 0;
    return siv(0, key, key_len, concat, lens, count, sealed + 16, sealed_len - 16, sealed, out, NULL);
}

int ref_cmac(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t len, uint8_t out[16]) {
    const char *cbc = key_len == 16 ? "AES-128-CBC" : key_len == 24 ? "AES-192-CBC" : key_len == 32 ? "AES-256-CBC" : NULL;
    if (cbc == NULL) return 0;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_CMAC, NULL);
    EVP_MAC_CTX *m = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)cbc, 0);
    params[1] = OSSL_PARAM_construct_end();
    size_t outl = 0;
    int ok = m != NULL && EVP_MAC_init(m, key, key_len, params) && (len == 0 || EVP_MAC_update(m, msg, len)) &&
             EVP_MAC_final(m, out, &outl, 16) && outl == 16;
    EVP_MAC_CTX_free(m);
    EVP_MAC_free(mac);
    ERR_clear_error();
    return ok;
}
