/*
 * tls - OpenSSL contexts. One client context for outbound STARTTLS:
 * TLS 1.2 or newer, certificates not checked (opportunistic TLS, RFC 7435:
 * encryption against passive listeners is better than plaintext, and a
 * failed check would only make the sender fall back to plaintext).
 */
#ifndef PETREL_NET_TLS_H
#define PETREL_NET_TLS_H

typedef struct ssl_ctx_st SSL_CTX;

/* tls_client_ctx_new - NULL (logged) if OpenSSL cannot make one. */
SSL_CTX *tls_client_ctx_new(void);

#endif
