#include "cfc_digest.h"
#include <openssl/err.h>
#include <openssl/evp.h>

int cfc_digest(const char *name, const uint8_t *data, size_t length, uint8_t *out, size_t capacity) {
    const EVP_MD *md = EVP_get_digestbyname(name);
    if (md == NULL || (size_t)EVP_MD_get_size(md) > capacity) return -1;
    unsigned int written = 0;
    if (EVP_Digest(data, length, out, &written, md, NULL) != 1) {
        // Leave nothing on this thread's error queue: a later TLS call on the same thread (an event loop)
        // would read it as its own failure (SSL_get_error).
        ERR_clear_error();
        return -1;
    }
    return (int)written;
}
