/*
 * test_tls - the server context: a self-signed certificate made in a
 * temporary directory (key 0600, SAN for the host name), loaded from
 * explicit paths and from the data_dir default; refused pairs; and a
 * real handshake in memory over a BIO pair, client (tls_client_ctx_new)
 * against server (tls_server_ctx_new), TLS 1.3 accepted, TLS 1.1 refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conf/config.h"
#include "net/tls.h"

#define HOST "mx.example.org"

struct fixture {
	char dir[64];
	char cert[128];
	char key[128];
};

/* rm_rf - remove a small test tree. */
static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char sub[512];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/petrel-test-tls-XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->cert, sizeof(fx->cert), "%s/cert.pem", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/key.pem", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	rm_rf(fx->dir);
	free(fx);
	return 0;
}

/* cfg_for - a config with only what tls_server_ctx_new reads. */
static void
cfg_for(struct config *cfg, char *data_dir, char *cert, char *key)
{
	static char host[] = HOST;

	memset(cfg, 0, sizeof(*cfg));
	cfg->hostname = host;
	cfg->data_dir = data_dir;
	cfg->tls_cert = cert;
	cfg->tls_key = key;
}

/* has_san - does the certificate carry subjectAltName DNS:name? */
static int
has_san(X509 *x, const char *name)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int found = 0;

	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS &&
		    (size_t)ASN1_STRING_length(g->d.dNSName) == strlen(name) &&
		    memcmp(ASN1_STRING_get0_data(g->d.dNSName), name,
			   strlen(name)) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void
test_self_signed(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	struct stat st;
	X509 *x;
	BASIC_CONSTRAINTS *bc;
	char cn[256];

	assert_int_equal(
	    tls_make_self_signed(HOST, fx->cert, fx->key, err, sizeof(err)), 0);
	assert_int_equal(stat(fx->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fx->cert, &st), 0);
	assert_int_equal(st.st_mode & 0600, 0600);

	x = read_cert(fx->cert);
	assert_true(has_san(x, HOST));
	assert_int_equal(X509_check_host(x, HOST, 0, 0, NULL), 1);
	assert_int_not_equal(X509_check_host(x, "other.example", 0, 0, NULL),
			     1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					      NID_commonName, cn,
					      sizeof(cn)) > 0);
	assert_string_equal(cn, HOST);
	assert_int_equal(
	    X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)),
	    0);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	/* Valid now, and for about ten years. */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	{
		time_t in9y = time(NULL) + 9 * 365 * 86400L;
		assert_true(X509_cmp_time(X509_get0_notAfter(x), &in9y) > 0);
	}
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	X509_free(x);

	/* No temporary file is left behind. */
	{
		char tmp[160];
		snprintf(tmp, sizeof(tmp), "%s.tmp", fx->key);
		assert_int_not_equal(access(tmp, F_OK), 0);
	}
}

static void
test_self_signed_bad_dir(void **state)
{
	struct fixture *fx = *state;
	char cert[160], key[160], err[512] = "";

	snprintf(cert, sizeof(cert), "%s/nope/cert.pem", fx->dir);
	snprintf(key, sizeof(key), "%s/nope/key.pem", fx->dir);
	assert_int_equal(
	    tls_make_self_signed(HOST, cert, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nope/key.pem"));
}

static void
test_explicit_paths(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";
	struct config cfg;
	SSL_CTX *ctx;

	assert_int_equal(
	    tls_make_self_signed(HOST, fx->cert, fx->key, err, sizeof(err)), 0);
	cfg_for(&cfg, fx->dir, fx->cert, fx->key);
	ctx = tls_server_ctx_new(&cfg, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_COMPRESSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_free(ctx);
	/* The default files were not made: explicit paths were given. */
	{
		char def[160];
		snprintf(def, sizeof(def), "%s/tls-cert.pem", fx->dir);
		assert_int_not_equal(access(def, F_OK), 0);
	}
}

static void
test_data_dir_default(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "", cert[160], key[160], empty[] = "";
	struct config cfg;
	SSL_CTX *ctx;
	struct stat st;
	X509 *first, *second;

	snprintf(cert, sizeof(cert), "%s/tls-cert.pem", fx->dir);
	snprintf(key, sizeof(key), "%s/tls-key.pem", fx->dir);
	cfg_for(&cfg, fx->dir, empty, empty);
	ctx = tls_server_ctx_new(&cfg, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	SSL_CTX_free(ctx);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	first = read_cert(cert);
	assert_true(has_san(first, HOST));

	/* The second start reuses the certificate. */
	ctx = tls_server_ctx_new(&cfg, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	SSL_CTX_free(ctx);
	second = read_cert(cert);
	assert_int_equal(X509_cmp(first, second), 0);
	X509_free(first);
	X509_free(second);
}

static void
test_mismatch_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "", cert2[160], key2[160];
	struct config cfg;

	snprintf(cert2, sizeof(cert2), "%s/cert2.pem", fx->dir);
	snprintf(key2, sizeof(key2), "%s/key2.pem", fx->dir);
	assert_int_equal(
	    tls_make_self_signed(HOST, fx->cert, fx->key, err, sizeof(err)), 0);
	assert_int_equal(
	    tls_make_self_signed(HOST, cert2, key2, err, sizeof(err)), 0);
	cfg_for(&cfg, fx->dir, fx->cert, key2);
	err[0] = '\0';
	assert_null(tls_server_ctx_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "key2.pem"));
	assert_non_null(strstr(err, "mismatch"));
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_missing_file_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "", cert[160];
	struct config cfg;

	assert_int_equal(
	    tls_make_self_signed(HOST, fx->cert, fx->key, err, sizeof(err)), 0);
	snprintf(cert, sizeof(cert), "%s/absent.pem", fx->dir);
	cfg_for(&cfg, fx->dir, cert, fx->key);
	err[0] = '\0';
	assert_null(tls_server_ctx_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "absent.pem: "));
}

static void
test_one_of_two_refused(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "", empty[] = "";
	struct config cfg;

	cfg_for(&cfg, fx->dir, fx->cert, empty);
	assert_null(tls_server_ctx_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "tls_cert and tls_key must be set together");
	cfg_for(&cfg, fx->dir, empty, fx->key);
	err[0] = '\0';
	assert_null(tls_server_ctx_new(&cfg, err, sizeof(err)));
	assert_string_equal(err, "tls_cert and tls_key must be set together");
}

/*
 * handshake - drive both ends over a BIO pair until both are done or one
 * fails. 0 when both completed, -1 otherwise.
 */
static int
handshake(SSL *c, SSL *s)
{
	int cdone = 0, sdone = 0;

	for (int i = 0; i < 64 && !(cdone && sdone); i++) {
		if (!cdone) {
			int r = SSL_do_handshake(c);
			int e = SSL_get_error(c, r);

			if (r == 1)
				cdone = 1;
			else if (e != SSL_ERROR_WANT_READ &&
				 e != SSL_ERROR_WANT_WRITE)
				return -1;
		}
		if (!sdone) {
			int r = SSL_do_handshake(s);
			int e = SSL_get_error(s, r);

			if (r == 1)
				sdone = 1;
			else if (e != SSL_ERROR_WANT_READ &&
				 e != SSL_ERROR_WANT_WRITE)
				return -1;
		}
	}
	return cdone && sdone ? 0 : -1;
}

/* pair_new - a client and a server SSL joined by an in-memory BIO pair. */
static void
pair_new(SSL_CTX *cctx, SSL_CTX *sctx, SSL **c_r, SSL **s_r)
{
	BIO *cb, *sb;

	assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
	*c_r = SSL_new(cctx);
	*s_r = SSL_new(sctx);
	assert_non_null(*c_r);
	assert_non_null(*s_r);
	SSL_set_bio(*c_r, cb, cb);
	SSL_set_bio(*s_r, sb, sb);
	SSL_set_connect_state(*c_r);
	SSL_set_accept_state(*s_r);
	assert_int_equal(SSL_set_tlsext_host_name(*c_r, HOST), 1);
}

static SSL_CTX *
server_ctx(struct fixture *fx)
{
	char err[512] = "";
	struct config cfg;
	SSL_CTX *ctx;

	assert_int_equal(
	    tls_make_self_signed(HOST, fx->cert, fx->key, err, sizeof(err)), 0);
	cfg_for(&cfg, fx->dir, fx->cert, fx->key);
	ctx = tls_server_ctx_new(&cfg, err, sizeof(err));
	if (ctx == NULL)
		fail_msg("%s", err);
	return ctx;
}

static void
test_handshake(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx = server_ctx(fx);
	SSL_CTX *cctx = tls_client_ctx_new();
	SSL *c, *s;
	char desc[128], buf[16];

	assert_non_null(cctx);
	pair_new(cctx, sctx, &c, &s);
	assert_int_equal(handshake(c, s), 0);

	tls_describe(c, desc, sizeof(desc));
	assert_non_null(strstr(desc, "TLSv1.3 with cipher TLS_"));
	assert_non_null(strstr(desc, " bits)"));
	tls_describe(s, buf, sizeof(buf)); /* truncates, safely */
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	{
		char sdesc[128];
		tls_describe(s, sdesc, sizeof(sdesc));
		assert_string_equal(sdesc, desc);
	}

	/* Bytes go through, both ways. */
	assert_int_equal(SSL_write(c, "EHLO x\r\n", 8), 8);
	assert_int_equal(SSL_read(s, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "EHLO x\r\n", 8);
	assert_int_equal(SSL_write(s, "250 ok\r\n", 8), 8);
	assert_int_equal(SSL_read(c, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "250 ok\r\n", 8);

	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
test_tls12_handshake(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx = server_ctx(fx);
	SSL_CTX *cctx = tls_client_ctx_new();
	SSL *c, *s;
	char desc[128];

	assert_non_null(cctx);
	assert_int_equal(SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION),
			 1);
	pair_new(cctx, sctx, &c, &s);
	assert_int_equal(handshake(c, s), 0);
	tls_describe(s, desc, sizeof(desc));
	/* Only ECDHE with an AEAD is offered for TLS 1.2. */
	assert_non_null(strstr(desc, "TLSv1.2 with cipher ECDHE-ECDSA-"));
	assert_true(strstr(desc, "GCM") != NULL ||
		    strstr(desc, "CHACHA20") != NULL);
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
test_tls11_refused(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *sctx = server_ctx(fx);
	SSL_CTX *cctx = tls_client_ctx_new();
	SSL *c, *s;

	assert_non_null(cctx);
	/*
	 * Let the client really offer TLS 1.1 (security level 0, old
	 * ciphers allowed), so it is the server that says no.
	 */
	SSL_CTX_set_security_level(cctx, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(cctx, "ALL:@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(cctx, TLS1_1_VERSION),
			 1);
	pair_new(cctx, sctx, &c, &s);
	assert_int_equal(handshake(c, s), -1);
	/* The server got a hello and refused its version. */
	assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()),
			 SSL_R_UNSUPPORTED_PROTOCOL);
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_self_signed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_signed_bad_dir, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_explicit_paths, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_data_dir_default, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_mismatch_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_one_of_two_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tls12_handshake, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_tls11_refused, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
