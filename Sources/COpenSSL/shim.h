// OpenSSL 3 (Debian's libssl-dev): TLS 1.3 and the keying-material exporter for NTS-KE, message digests, the CSPRNG.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#endif
