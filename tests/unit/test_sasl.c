/*
 * test_sasl - strict base64 (RFC 4648) and SASL PLAIN (RFC 4616).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/sasl.h"

/* RFC 4648 §10 test vectors. */
static const struct {
	const char *plain, *b64;
} vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

/* decode - on an exact-length heap copy, so overreads are caught. */
static long
decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	char *copy = malloc(len + 1);
	long n;

	assert_non_null(copy);
	memcpy(copy, in, len);
	n = sasl_base64_decode(copy, len, out, outlen);
	free(copy);
	return n;
}

static void
test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *p = vectors[i].plain, *b = vectors[i].b64;
		unsigned char out[16];
		char enc[16];

		assert_int_equal(decode(b, strlen(b), out, sizeof(out)),
				 strlen(p));
		assert_memory_equal(out, p, strlen(p));
		/* Exactly the needed room is enough. */
		assert_int_equal(decode(b, strlen(b), out, strlen(p)),
				 strlen(p));
		if (strlen(p) > 0)
			assert_int_equal(
			    decode(b, strlen(b), out, strlen(p) - 1), -1);
		assert_int_equal(sasl_base64_encode((const unsigned char *)p,
						    strlen(p), enc,
						    sizeof(enc)),
				 strlen(b));
		assert_string_equal(enc, b);
		/* Room for the NUL is required. */
		assert_int_equal(sasl_base64_encode((const unsigned char *)p,
						    strlen(p), enc, strlen(b)),
				 -1);
	}
}

static void
test_binary(void **state)
{
	unsigned char all[256], back[256];
	char enc[400];

	(void)state;
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t len = 0; len <= 256; len++) {
		long n = sasl_base64_encode(all, len, enc, sizeof(enc));
		assert_true(n >= 0);
		assert_int_equal(decode(enc, (size_t)n, back, sizeof(back)),
				 len);
		assert_memory_equal(back, all, len);
	}
	assert_int_equal(decode("+/+/", 4, back, sizeof(back)), 3);
	assert_memory_equal(back, "\xfb\xff\xbf", 3);
}

static const char *const malformed[] = {
    "Zg",		 /* no padding */
    "Zg=",		 /* short padding */
    "Zm9",		 /* length not a multiple of 4 */
    "Z===",		 /* three pads */
    "====",		 /* only pads */
    "=Zg=",		 /* pad first */
    "Zg==Zg==",		 /* pad in the middle */
    "Zm=v",		 /* pad inside a quantum */
    "Zh==",		 /* non-zero bits before the padding (RFC 4648 §3.5) */
    "Zm9=",		 /* likewise with one pad: "fo" is "Zm8=" */
    "Zm9v\r\n",		 /* whitespace */
    "Zm 9v",		 /* space */
    "Zm9v Zm9v", "Zm-_", /* base64url alphabet */
    "Zm9\x80",	 "=",
};

static void
test_malformed(void **state)
{
	unsigned char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const char *m = malformed[i];
		if (decode(m, strlen(m), out, sizeof(out)) != -1)
			fail_msg("malformed %zu \"%s\" accepted", i, m);
	}
	/* An embedded NUL in an otherwise valid quantum. */
	assert_int_equal(decode("Zm9\0", 4, out, sizeof(out)), -1);
}

struct plain_case {
	const char *msg; /* decoded message */
	size_t len;
	int ret;
	const char *user, *pass;
};

#define P(m) m, sizeof(m) - 1

static const struct plain_case plain_cases[] = {
    {P("\0alice\0secret"), 0, "alice", "secret"},
    {P("alice\0alice\0secret"), 0, "alice", "secret"},
    /* Addresses are case-insensitive in petrel: the same user. */
    {P("Alice@Example.org\0alice@example.org\0pw"), 0, "alice@example.org",
     "pw"},
    {P("\0a\0pass with spaces"), 0, "a", "pass with spaces"},
    {P("\0a\0\xc3\xa9t\xc3\xa9"), 0, "a", "\xc3\xa9t\xc3\xa9"},
    /* Acting as someone else is refused. */
    {P("bob\0alice\0secret"), -1, NULL, NULL},
    {P("alicex\0alice\0secret"), -1, NULL, NULL},
    {P("alic\0alice\0secret"), -1, NULL, NULL},
    /* Missing or extra NULs, empty fields. */
    {P("alice secret"), -1, NULL, NULL},
    {P("\0alicesecret"), -1, NULL, NULL},
    {P("alice\0secret"), -1, NULL, NULL},
    {P("\0alice\0"), -1, NULL, NULL},
    {P("\0\0secret"), -1, NULL, NULL},
    {P("\0\0"), -1, NULL, NULL},
    {P("\0alice\0sec\0ret"), -1, NULL, NULL},
    {P("\0alice\0secret\0"), -1, NULL, NULL},
    {P(""), -1, NULL, NULL},
};

static int
plain(const unsigned char *msg, size_t len, char *user, size_t ulen, char *pass,
      size_t plen)
{
	char b64[2048];
	long n = sasl_base64_encode(msg, len, b64, sizeof(b64));
	char *copy;
	int r;

	assert_true(n >= 0);
	copy = malloc((size_t)n + 1);
	assert_non_null(copy);
	memcpy(copy, b64, (size_t)n);
	r = sasl_plain_decode(copy, (size_t)n, user, ulen, pass, plen);
	free(copy);
	return r;
}

static void
test_plain(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]);
	     i++) {
		const struct plain_case *c = &plain_cases[i];
		char user[256], pass[256];
		int r = plain((const unsigned char *)c->msg, c->len, user,
			      sizeof(user), pass, sizeof(pass));

		if (r != c->ret)
			fail_msg("plain case %zu: %d", i, r);
		if (r == 0) {
			assert_string_equal(user, c->user);
			assert_string_equal(pass, c->pass);
		} else {
			/* Nothing half-decoded is left behind. */
			assert_string_equal(user, "");
			assert_string_equal(pass, "");
		}
	}
}

static void
test_plain_limits(void **state)
{
	unsigned char msg[1024];
	char user[300], pass[300];

	(void)state;
	/* RFC 4616 example. */
	assert_int_equal(sasl_plain_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", 28,
					   user, sizeof(user), pass,
					   sizeof(pass)),
			 0);
	assert_string_equal(user, "tim");
	assert_string_equal(pass, "tanstaaftanstaaf");
	/* Not base64. */
	assert_int_equal(sasl_plain_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWF", 27,
					   user, sizeof(user), pass,
					   sizeof(pass)),
			 -1);
	assert_int_equal(
	    sasl_plain_decode("=", 1, user, sizeof(user), pass, sizeof(pass)),
	    -1);

	/* 255-octet fields are accepted (RFC 4616 §2), 256 are not. */
	msg[0] = '\0';
	memset(msg + 1, 'u', 255);
	msg[256] = '\0';
	memset(msg + 257, 'p', 255);
	assert_int_equal(
	    plain(msg, 512, user, sizeof(user), pass, sizeof(pass)), 0);
	assert_int_equal(strlen(user), 255);
	assert_int_equal(strlen(pass), 255);
	memset(msg + 257, 'p', 256);
	assert_int_equal(
	    plain(msg, 513, user, sizeof(user), pass, sizeof(pass)), -1);
	memset(msg + 1, 'u', 256);
	msg[257] = '\0';
	memset(msg + 258, 'p', 3);
	assert_int_equal(
	    plain(msg, 261, user, sizeof(user), pass, sizeof(pass)), -1);
	/* An authzid over 255 is refused even when it matches. */
	memset(msg, 'u', 256);
	msg[256] = '\0';
	memset(msg + 257, 'u', 256);
	msg[513] = '\0';
	msg[514] = 'p';
	assert_int_equal(
	    plain(msg, 515, user, sizeof(user), pass, sizeof(pass)), -1);
	/* The caller's buffers bound the fields too. */
	memcpy(msg, "\0alice\0secret", 13);
	assert_int_equal(plain(msg, 13, user, 5, pass, sizeof(pass)), -1);
	assert_int_equal(plain(msg, 13, user, 6, pass, 7), 0);
	assert_int_equal(plain(msg, 13, user, 6, pass, 6), -1);
	/* A response far too long is refused before decoding. */
	char *big = malloc(4096);
	assert_non_null(big);
	memset(big, 'A', 4096);
	assert_int_equal(
	    sasl_plain_decode(big, 4096, user, sizeof(user), pass, 300), -1);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),	 cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_malformed),	 cmocka_unit_test(test_plain),
	    cmocka_unit_test(test_plain_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
