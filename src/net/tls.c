#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "conf/config.h"
#include "stats/metrics.h"
#include "util/fsutil.h"
#include "util/log.h"

/*
 * tls_info - count handshakes for /metrics: one that finished, or one
 * that ended in a fatal alert (sent or received) before it finished. A
 * peer that just hangs up mid-handshake is not counted.
 */
static void
tls_info(const SSL *ssl, int where, int ret)
{
	if (where & SSL_CB_HANDSHAKE_DONE)
		metrics_tls_handshake(SSL_is_server(ssl), true);
	else if ((where & SSL_CB_ALERT) && (ret >> 8) == SSL3_AL_FATAL &&
		 SSL_in_init(ssl))
		metrics_tls_handshake(SSL_is_server(ssl), false);
}

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
	SSL_CTX_set_info_callback(ctx, tls_info);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Trust anchors for outbound_tls_required, which does verify. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		log_warn("TLS: no system trust anchors loaded");
	return ctx;
}

/*
 * tls_set_err - err = "what: reason", from the earliest error queued (the
 * cause: "no start line", "No such file or directory"; later entries only
 * say which wrapper gave up), then empty the queue.
 */
static void
tls_set_err(char *err, size_t errlen, const char *what)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long e = ERR_peek_error_data(&data, &flags);
	const char *reason = NULL;
	char buf[256];

	if (e != 0 && ERR_SYSTEM_ERROR(e)) {
		reason = strerror(ERR_GET_REASON(e));
		data = NULL; /* "calling fopen(...)": the path is in `what` */
	} else if (e != 0) {
		reason = ERR_reason_error_string(e);
	}
	if (reason == NULL && e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		reason = buf;
	}
	if (!(flags & ERR_TXT_STRING) || data == NULL || *data == '\0')
		snprintf(err, errlen, "%s: %s", what,
			 reason != NULL ? reason : "unknown OpenSSL error");
	else
		snprintf(err, errlen, "%s: %s (%s)", what, reason, data);
	ERR_clear_error();
}

/* tls_make_cert - a self-signed X509 for hostname, signed with pkey. */
static X509 *
tls_make_cert(const char *hostname, EVP_PKEY *pkey)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	ASN1_INTEGER *serial;
	BIGNUM *bn = NULL;
	char san[300];

	if (x == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto fail;

	/* A random 63-bit positive serial (RFC 5280 §4.1.2.2: up to 20 B). */
	bn = BN_new();
	if (bn == NULL ||
	    BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
		goto fail;
	serial = X509_get_serialNumber(x);
	if (BN_to_ASN1_INTEGER(bn, serial) == NULL)
		goto fail;
	BN_free(bn);
	bn = NULL;

	/* An hour back, for clients whose clock runs a little behind. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 3650, 0, NULL) == NULL)
		goto fail;
	if (X509_set_pubkey(x, pkey) != 1)
		goto fail;

	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)hostname, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "DNS:%s", hostname);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL)
		goto fail;
	if (X509_add_ext(x, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
				  "critical,CA:FALSE");
	if (ext == NULL)
		goto fail;
	if (X509_add_ext(x, ext, -1) != 1) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);

	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/*
 * tls_write_pem - write a key or certificate to path via path.tmp (mode
 * 0600 or 0644), fsync, rename, so a crash leaves either nothing or a
 * whole file.
 */
static int
tls_write_pem(const char *path, mode_t mode, EVP_PKEY *pkey, X509 *cert,
	      char *err, size_t errlen)
{
	char tmp[4096];
	int fd, ok;
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	(void)unlink(tmp); /* a leftover of an interrupted earlier run */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (pkey != NULL)
		ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	if (ok != 1) {
		tls_set_err(err, errlen, tmp);
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* tls_fsync_parent - fsync the directory holding path, so the rename lasts. */
static void
tls_fsync_parent(const char *path)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	(void)fsutil_fsync_dir(dir);
}

int
tls_make_self_signed(const char *hostname, const char *cert_path,
		     const char *key_path, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	X509 *cert;
	int rc = -1;

	if (hostname == NULL || *hostname == '\0' || strlen(hostname) > 253) {
		snprintf(err, errlen,
			 "%s: no usable hostname for the "
			 "certificate",
			 cert_path);
		return -1;
	}
	ERR_clear_error();
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (pkey == NULL) {
		tls_set_err(err, errlen, "cannot make an EC P-256 key");
		return -1;
	}
	cert = tls_make_cert(hostname, pkey);
	if (cert == NULL) {
		tls_set_err(err, errlen,
			    "cannot make a self-signed certificate");
		EVP_PKEY_free(pkey);
		return -1;
	}
	/* The key first: a certificate without its key is of no use. */
	if (tls_write_pem(key_path, 0600, pkey, NULL, err, errlen) == 0 &&
	    tls_write_pem(cert_path, 0644, NULL, cert, err, errlen) == 0) {
		tls_fsync_parent(key_path);
		tls_fsync_parent(cert_path);
		rc = 0;
	}
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}

SSL_CTX *
tls_server_ctx_new(const struct config *cfg, char *err, size_t errlen)
{
	static const unsigned char sid_ctx[] = "petrel";
	const char *cert = cfg->tls_cert != NULL ? cfg->tls_cert : "";
	const char *key = cfg->tls_key != NULL ? cfg->tls_key : "";
	char cert_buf[4096], key_buf[4096];
	SSL_CTX *ctx;

	if ((*cert == '\0') != (*key == '\0')) {
		snprintf(err, errlen,
			 "tls_cert and tls_key must be set "
			 "together");
		return NULL;
	}
	if (*cert == '\0') {
		bool have_cert, have_key;

		snprintf(cert_buf, sizeof(cert_buf), "%s/tls-cert.pem",
			 cfg->data_dir);
		snprintf(key_buf, sizeof(key_buf), "%s/tls-key.pem",
			 cfg->data_dir);
		cert = cert_buf;
		key = key_buf;
		have_cert = access(cert, F_OK) == 0;
		have_key = access(key, F_OK) == 0;
		/*
		 * Only when neither exists: half a pair is the admin's to
		 * sort out, and overwriting it could lose a real key.
		 */
		if (!have_cert && !have_key) {
			if (tls_make_self_signed(cfg->hostname, cert, key, err,
						 errlen) != 0)
				return NULL;
			log_info("TLS: made a self-signed certificate for %s "
				 "in %s",
				 cfg->hostname, cert);
		}
	}

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_set_err(err, errlen, "cannot create a server context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_info_callback(ctx, tls_info);
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION |
				     SSL_OP_NO_RENEGOTIATION);
	/* An idle session (IMAP IDLE, thousands of them) keeps no record
	 * buffers: ~16 KiB each, allocated again when data comes. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* TLS 1.2 only; TLS 1.3 keeps OpenSSL's own (all AEAD) suites. */
	if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
		tls_set_err(err, errlen, "cannot set the cipher list");
		goto fail;
	}
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) !=
	    1) {
		tls_set_err(err, errlen, "cannot set the session id context");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_set_err(err, errlen, cert);
		goto fail;
	}
	/*
	 * OpenSSL 3 already refuses a key that does not fit the certificate
	 * here ("key values mismatch"); the explicit check below stays for
	 * a certificate-less or future path.
	 */
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_set_err(err, errlen, key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		char what[8300];
		snprintf(what, sizeof(what), "%s does not match %s", key, cert);
		tls_set_err(err, errlen, what);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_describe(const SSL *ssl, char *out, size_t outlen)
{
	int alg_bits = 0;
	int bits = SSL_get_cipher_bits(ssl, &alg_bits);

	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)",
		 SSL_get_version(ssl), SSL_get_cipher_name(ssl), bits,
		 alg_bits);
}
