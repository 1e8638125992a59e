// TLS 1.3 for NTS-KE through OpenSSL 3, for what Swift cannot call directly (function-like macros such as
// SSL_CTX_set_min_proto_version and SSL_set_tlsext_host_name, callbacks) and what swift-nio-ssl lacks (the
// RFC 5705 keying-material exporter that RFC 8915 §5.1 needs). A connection is an SSL object over two memory
// BIOs: the caller moves bytes between them and its own socket (a SwiftNIO channel), so OpenSSL never
// touches a file descriptor and never blocks. Every symbol is prefixed `cft_`.
#ifndef CFLEETTLS_H
#define CFLEETTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cft_ctx cft_ctx;
typedef struct cft_conn cft_conn;

/// A server context: TLS 1.3 only, certificate chain and key from PEM files (key checked against the
/// certificate), ALPN required to include `alpn` (a client without it gets the no_application_protocol
/// alert), no session tickets. NULL with a message in `err` on failure.
cft_ctx *cft_server_ctx_new(const char *chain_file, const char *key_file, const char *alpn, char *err, size_t errlen);
/// A client context: TLS 1.3 only, peers verified against the CA certificates in `ca_file` (or the system
/// store when NULL), ALPN `alpn` offered.
cft_ctx *cft_client_ctx_new(const char *ca_file, const char *alpn, char *err, size_t errlen);
void cft_ctx_free(cft_ctx *ctx);
/// The DER encoding of the leaf certificate a server context presents: its length, copied into `out` when
/// `capacity` suffices (call with NULL first); -1 without one. Read with swift-certificates, the one
/// certificate reader of the project.
int cft_ctx_certificate_der(const cft_ctx *ctx, uint8_t *out, size_t capacity);

/// A connection on `ctx`. For a client, `server_name` is sent as SNI and verified against the certificate
/// (DNS name or IP address). The connection keeps `ctx` alive, so a context can be swapped under it.
cft_conn *cft_conn_new(cft_ctx *ctx, int is_server, const char *server_name, char *err, size_t errlen);
void cft_conn_free(cft_conn *conn);

/// Bytes received from the peer: hand them to OpenSSL.
int cft_conn_feed(cft_conn *conn, const uint8_t *data, size_t length);
/// Bytes OpenSSL wants sent to the peer: how many are waiting, and take up to `capacity` of them.
size_t cft_conn_pending(cft_conn *conn);
int cft_conn_take(cft_conn *conn, uint8_t *out, size_t capacity);

/// Drives the handshake: 1 done, 0 needs more bytes from the peer, -1 failed (message in `err`).
int cft_conn_handshake(cft_conn *conn, char *err, size_t errlen);
/// Application data: > 0 bytes read, 0 none available yet, -1 the peer closed or an error occurred.
int cft_conn_read(cft_conn *conn, uint8_t *out, size_t capacity, char *err, size_t errlen);
/// Writes application data (queued as TLS records for cft_conn_take). Returns bytes written or -1.
int cft_conn_write(cft_conn *conn, const uint8_t *data, size_t length, char *err, size_t errlen);
/// Queues a close_notify alert.
void cft_conn_shutdown(cft_conn *conn);

/// The negotiated protocol version ("TLSv1.3") and ALPN protocol (empty when none).
const char *cft_conn_version(const cft_conn *conn);
int cft_conn_alpn(const cft_conn *conn, char *out, size_t capacity);
/// The DER encoding of certificate `index` (0 = leaf) of the chain the peer sent: its length, copied into `out`
/// when `capacity` suffices (call with NULL first to learn the length); -1 when there is no such certificate.
int cft_conn_peer_certificate_der(const cft_conn *conn, int index, uint8_t *out, size_t capacity);
/// RFC 5705 / RFC 8446 §7.5 exporter with a context (as RFC 8915 §5.1 requires). Returns 1 on success.
int cft_conn_export(cft_conn *conn, const char *label, const uint8_t *context, size_t context_length, uint8_t *out, size_t out_length);

/// OpenSSL's version text.
const char *cft_openssl_version(void);

#ifdef __cplusplus
}
#endif

#endif
