// OpenSSL 3 (Debian's libssl-dev) for NTS-KE: TLS 1.3, the keying-material exporter, AES-SIV and CMAC.
#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#endif
