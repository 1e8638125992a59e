#include "cfc_digest.h"
#include <openssl/evp.h>

int cfc_digest(const char *name, const uint8_t *data, size_t length, uint8_t *out, size_t capacity) {
    const EVP_MD *md = EVP_get_digestbyname(name);
    if (md == NULL || (size_t)EVP_MD_get_size(md) > capacity) return -1;
    unsigned int written = 0;
    if (EVP_Digest(data, length, out, &written, md, NULL) != 1) return -1;
    return (int)written;
}
