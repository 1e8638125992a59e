// Message digests by OpenSSL name ("MD5", "SHA1", "SHA256", ...) for NTP reference ids and the symmetric
// keys of RFC 5905 / chrony key files.
#ifndef CFC_DIGEST_H
#define CFC_DIGEST_H
#include <stddef.h>
#include <stdint.h>

/// Writes the digest of `data` under algorithm `name` to `out` (at least 64 bytes) and returns its length,
/// or -1 when the algorithm is unknown or OpenSSL fails.
int cfc_digest(const char *name, const uint8_t *data, size_t length, uint8_t *out, size_t capacity);

#endif
