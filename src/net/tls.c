#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "util/log.h"

SSL_CTX *
tls_client_ctx_new(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		log_err("TLS: cannot create a client context: %s",
			ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Trust anchors for outbound_tls_required, which does verify. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warn("TLS: no system trust anchors loaded");
	return ctx;
}
