// See include/cfleettls.h for why this file exists.
#include "cfleettls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <pthread.h>

static int inet_pton_like(const char *text, unsigned char *buffer16) {
    return inet_pton(AF_INET, text, buffer16) == 1 || inet_pton(AF_INET6, text, buffer16) == 1;
}

struct cft_ctx {
    SSL_CTX *ssl_ctx;
    unsigned char alpn_wire[64];  // ALPN in wire format: length-prefixed
    unsigned int alpn_wire_len;
};

struct cft_conn {
    SSL *ssl;
    BIO *in;   // bytes from the peer, read by OpenSSL
    BIO *out;  // bytes for the peer, written by OpenSSL
};

static void take_error(char *err, size_t errlen, const char *what) {
    if (!err || !errlen) { ERR_clear_error(); return; }
    unsigned long code = ERR_get_error();
    if (code) {
        char text[256];
        ERR_error_string_n(code, text, sizeof text);
        snprintf(err, errlen, "%s: %s", what, text);
    } else {
        snprintf(err, errlen, "%s", what);
    }
    ERR_clear_error();
}

static int set_alpn(cft_ctx *ctx, const char *alpn) {
    size_t len = strlen(alpn);
    if (len == 0 || len > 60) return 0;
    ctx->alpn_wire[0] = (unsigned char)len;
    memcpy(ctx->alpn_wire + 1, alpn, len);
    ctx->alpn_wire_len = (unsigned int)len + 1;
    return 1;
}

// The server's ALPN list hangs off its SSL_CTX as ex_data, freed with the SSL_CTX. It must not live in
// cft_ctx: a certificate swap frees the old cft_ctx while connections still in progress hold the old SSL_CTX
// (OpenSSL reference-counts it) and still run this callback.
static int alpn_index = -1;
static pthread_once_t alpn_index_once = PTHREAD_ONCE_INIT;

static void free_alpn(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    free(ptr);
}

static void make_alpn_index(void) { alpn_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_alpn); }

// Server: pick our protocol if the client offered it; otherwise abort with no_application_protocol
// (RFC 8915 §4: NTS-KE requires ALPN "ntske/1").
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)arg;
    const unsigned char *wire = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), alpn_index);
    if (!wire) return SSL_TLSEXT_ERR_ALERT_FATAL;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, wire, (unsigned int)wire[0] + 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Server: a ClientHello without the ALPN extension never reaches select_alpn, so refuse it here with the
// same no_application_protocol alert (RFC 8915 §4 makes ALPN mandatory for NTS-KE).
static int require_alpn(SSL *ssl, int *alert, void *arg) {
    (void)arg;
    const unsigned char *ext = NULL;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &ext, &len) == 1 && len > 0)
        return SSL_CLIENT_HELLO_SUCCESS;
    *alert = SSL_AD_NO_APPLICATION_PROTOCOL;
    return SSL_CLIENT_HELLO_ERROR;
}

static cft_ctx *ctx_alloc(const SSL_METHOD *method, const char *alpn, char *err, size_t errlen) {
    cft_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) { snprintf(err, errlen, "out of memory"); return NULL; }
    ctx->ssl_ctx = SSL_CTX_new(method);
    if (!ctx->ssl_ctx) { take_error(err, errlen, "SSL_CTX_new"); free(ctx); return NULL; }
    if (!set_alpn(ctx, alpn)) { snprintf(err, errlen, "bad ALPN protocol name"); cft_ctx_free(ctx); return NULL; }
    return ctx;
}

cft_ctx *cft_server_ctx_new(const char *chain_file, const char *key_file, const char *alpn, char *err, size_t errlen) {
    cft_ctx *ctx = ctx_alloc(TLS_server_method(), alpn, err, errlen);
    if (!ctx) return NULL;
    SSL_CTX *c = ctx->ssl_ctx;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
    // NTS-KE sessions are one request and one response: resumption buys nothing, tickets cost CPU.
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    // Send the chain exactly as the file has it (leaf first, as certbot's fullchain.pem). Without this,
    // OpenSSL tries to complete a chain-less certificate (a self-signed one, or a file holding only the
    // leaf) from the trust store with X509_verify_cert on every handshake.
    SSL_CTX_set_mode(c, SSL_MODE_NO_AUTO_CHAIN);
    if (SSL_CTX_use_certificate_chain_file(c, chain_file) != 1) {
        take_error(err, errlen, "cannot load the certificate chain");
        cft_ctx_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(c, key_file, SSL_FILETYPE_PEM) != 1) {
        take_error(err, errlen, "cannot load the private key");
        cft_ctx_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        take_error(err, errlen, "the private key does not match the certificate");
        cft_ctx_free(ctx);
        return NULL;
    }
    pthread_once(&alpn_index_once, make_alpn_index);
    unsigned char *wire = malloc(ctx->alpn_wire_len);
    if (alpn_index < 0 || !wire || SSL_CTX_set_ex_data(c, alpn_index, wire) != 1) {
        free(wire);
        snprintf(err, errlen, "cannot attach the ALPN list");
        cft_ctx_free(ctx);
        return NULL;
    }
    memcpy(wire, ctx->alpn_wire, ctx->alpn_wire_len);
    SSL_CTX_set_alpn_select_cb(c, select_alpn, NULL);
    SSL_CTX_set_client_hello_cb(c, require_alpn, NULL);
    return ctx;
}

cft_ctx *cft_client_ctx_new(const char *ca_file, const char *alpn, char *err, size_t errlen) {
    cft_ctx *ctx = ctx_alloc(TLS_client_method(), alpn, err, errlen);
    if (!ctx) return NULL;
    SSL_CTX *c = ctx->ssl_ctx;
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
    int loaded = ca_file ? SSL_CTX_load_verify_locations(c, ca_file, NULL) : SSL_CTX_set_default_verify_paths(c);
    if (loaded != 1) {
        take_error(err, errlen, "cannot load trusted certificates");
        cft_ctx_free(ctx);
        return NULL;
    }
    if (SSL_CTX_set_alpn_protos(c, ctx->alpn_wire, ctx->alpn_wire_len) != 0) {
        take_error(err, errlen, "cannot set ALPN");
        cft_ctx_free(ctx);
        return NULL;
    }
    return ctx;
}

void cft_ctx_free(cft_ctx *ctx) {
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

int cft_ctx_certificate_der(const cft_ctx *ctx, uint8_t *out, size_t capacity) {
    X509 *cert = SSL_CTX_get0_certificate(ctx->ssl_ctx);
    if (!cert) return -1;
    int length = i2d_X509(cert, NULL);
    if (length <= 0) return -1;
    if (!out || (size_t)length > capacity) return length;
    unsigned char *cursor = out;
    return i2d_X509(cert, &cursor);
}

cft_conn *cft_conn_new(cft_ctx *ctx, int is_server, const char *server_name, char *err, size_t errlen) {
    cft_conn *conn = calloc(1, sizeof *conn);
    if (!conn) { snprintf(err, errlen, "out of memory"); return NULL; }
    conn->ssl = SSL_new(ctx->ssl_ctx);  // holds its own reference to the SSL_CTX
    conn->in = BIO_new(BIO_s_mem());
    conn->out = BIO_new(BIO_s_mem());
    if (!conn->ssl || !conn->in || !conn->out) {
        take_error(err, errlen, "SSL_new");
        SSL_free(conn->ssl);
        BIO_free(conn->in);
        BIO_free(conn->out);
        free(conn);
        return NULL;
    }
    BIO_set_mem_eof_return(conn->in, -1);  // an empty input BIO means "wait for more", not end of stream
    SSL_set_bio(conn->ssl, conn->in, conn->out);  // the SSL now owns both BIOs
    if (is_server) {
        SSL_set_accept_state(conn->ssl);
    } else {
        SSL_set_connect_state(conn->ssl);
        if (server_name && *server_name) {
            // SNI only for names (RFC 6066 §3 forbids IP literals there); verification for both.
            unsigned char probe[16];
            int is_ip = inet_pton_like(server_name, probe);
            if (!is_ip) SSL_set_tlsext_host_name(conn->ssl, server_name);
            X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
            int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name) : SSL_set1_host(conn->ssl, server_name);
            if (ok != 1) {
                take_error(err, errlen, "cannot set the name to verify");
                cft_conn_free(conn);
                return NULL;
            }
        }
    }
    return conn;
}

void cft_conn_free(cft_conn *conn) {
    if (!conn) return;
    SSL_free(conn->ssl);
    free(conn);
}

int cft_conn_feed(cft_conn *conn, const uint8_t *data, size_t length) {
    if (length == 0) return 0;
    return BIO_write(conn->in, data, (int)length);
}

size_t cft_conn_pending(cft_conn *conn) { return BIO_ctrl_pending(conn->out); }

int cft_conn_take(cft_conn *conn, uint8_t *out, size_t capacity) {
    if (capacity == 0) return 0;
    int n = BIO_read(conn->out, out, (int)capacity);
    return n < 0 ? 0 : n;
}

int cft_conn_handshake(cft_conn *conn, char *err, size_t errlen) {
    int rc = SSL_do_handshake(conn->ssl);
    if (rc == 1) return 1;
    int code = SSL_get_error(conn->ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    take_error(err, errlen, "TLS handshake failed");
    return -1;
}

int cft_conn_read(cft_conn *conn, uint8_t *out, size_t capacity, char *err, size_t errlen) {
    int n = SSL_read(conn->ssl, out, (int)capacity);
    if (n > 0) return n;
    int code = SSL_get_error(conn->ssl, n);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    if (code == SSL_ERROR_ZERO_RETURN) { ERR_clear_error(); return -1; }
    take_error(err, errlen, "TLS read failed");
    return -1;
}

int cft_conn_write(cft_conn *conn, const uint8_t *data, size_t length, char *err, size_t errlen) {
    if (length == 0) return 0;
    int n = SSL_write(conn->ssl, data, (int)length);
    if (n > 0) return n;
    take_error(err, errlen, "TLS write failed");
    return -1;
}

void cft_conn_shutdown(cft_conn *conn) {
    SSL_shutdown(conn->ssl);
    ERR_clear_error();
}

const char *cft_conn_version(const cft_conn *conn) { return SSL_get_version(conn->ssl); }

int cft_conn_alpn(const cft_conn *conn, char *out, size_t capacity) {
    const unsigned char *proto = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(conn->ssl, &proto, &len);
    if (!proto || len + 1 > capacity) { if (capacity) out[0] = 0; return 0; }
    memcpy(out, proto, len);
    out[len] = 0;
    return (int)len;
}

int cft_conn_export(cft_conn *conn, const char *label, const uint8_t *context, size_t context_length, uint8_t *out, size_t out_length) {
    int rc = SSL_export_keying_material(conn->ssl, out, out_length, label, strlen(label), context, context_length, 1);
    ERR_clear_error();
    return rc == 1;
}

const char *cft_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

int cft_conn_peer_certificate_der(const cft_conn *conn, int index, uint8_t *out, size_t capacity) {
    // SSL_get_peer_cert_chain: on the client side the whole chain the server sent, leaf first.
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(conn->ssl);
    if (!chain || index < 0 || index >= sk_X509_num(chain)) return -1;
    X509 *certificate = sk_X509_value(chain, index);
    int length = i2d_X509(certificate, NULL);
    if (length <= 0) return -1;
    if (!out || (size_t)length > capacity) return length;
    unsigned char *cursor = out;
    return i2d_X509(certificate, &cursor);
}
