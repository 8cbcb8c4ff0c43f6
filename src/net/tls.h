/*
 * tls - OpenSSL contexts. One client context for outbound STARTTLS:
 * TLS 1.2 or newer, certificates not checked (opportunistic TLS, RFC 7435:
 * encryption against passive listeners is better than plaintext, and a
 * failed check would only make the sender fall back to plaintext).
 */
#ifndef PETREL_NET_TLS_H
#define PETREL_NET_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

struct config;

/* tls_client_ctx_new - NULL (logged) if OpenSSL cannot make one. */
SSL_CTX *tls_client_ctx_new(void);

/*
 * tls_server_ctx_new - the server context for STARTTLS and implicit TLS:
 * TLS 1.2 or newer, a modern cipher list (ECDHE with AES-GCM or
 * ChaCha20-Poly1305 for 1.2; OpenSSL's TLS 1.3 suites), server cipher
 * preference, no compression, no renegotiation, session tickets on.
 * Certificate and key from cfg->tls_cert / cfg->tls_key; when both are
 * empty, data_dir/tls-cert.pem and data_dir/tls-key.pem, made on first
 * start as a self-signed certificate for cfg->hostname (key 0600).
 * A key that does not match the certificate is an error. Returns NULL
 * with err set.
 */
SSL_CTX *tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen);

/*
 * tls_make_self_signed - write a new self-signed certificate for hostname
 * (CN and subjectAltName DNS) valid ten years, EC P-256 key, to the two
 * paths (key mode 0600, written via a temporary file and rename).
 * 0 or -1 with err.
 */
int tls_make_self_signed(const char *hostname, const char *cert_path,
			 const char *key_path, char *err, size_t errlen);

/*
 * tls_describe - "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256
 * bits)", as Postfix writes it in Received: lines, for an SSL *.
 */
typedef struct ssl_st SSL;
void tls_describe(const SSL *ssl, char *out, size_t outlen);

#endif
