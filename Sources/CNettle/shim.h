// GNU Nettle (Debian's nettle-dev), for AES-SIV-CMAC (RFC 5297) and AES-CMAC (RFC 4493). CFleetCrypto wraps
// it behind cfleetcrypto.h; Swift code does not call it directly.
#ifndef CNETTLE_SHIM_H
#define CNETTLE_SHIM_H
#include <nettle/aes.h>
#include <nettle/cmac.h>
#include <nettle/nettle-meta.h>
#include <nettle/siv-cmac.h>
#include <nettle/version.h>
#endif
