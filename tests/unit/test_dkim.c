/*
 * test_dkim - DKIM: the tag-list parser, canonicalization (RFC 6376
 * §3.4.5's own example), signature and key record parsing, and
 * verification of RFC 8463's example message (Appendix A: the
 * football.example.com message signed with the RFC 8032 §7.1 Ed25519
 * test key "brisbane" and the RSA key "test"; the signed copy as
 * distributed in dkimpy's test data), plus sign-then-verify round trips
 * with fresh RSA-2048 and Ed25519 keys.
 *
 * Canonicalization is streaming: every body case is fed whole, one byte
 * at a time and split at every position, and must give the same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "auth/sasl.h"
#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_hash.h"
#include "mailauth/dkim_keys.h"
#include "mailauth/dkim_sig.h"
#include "mailauth/dkim_sign.h"
#include "mailauth/dkim_tags.h"
#include "mailauth/dkim_verify.h"
#include "util/strbuf.h"

#define S(x) x, sizeof(x) - 1

/* exact - a heap copy of exactly len bytes, so ASan sees any over-read. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	memcpy(p, s, len);
	return p;
}

/* ---- tag lists -------------------------------------------------------- */

struct tag_case {
	const char *in;
	size_t len;
	enum dkim_tags_error err;
	size_t n;
	const char *first_name, *first_value, *last_value;
};

static const struct tag_case tag_cases[] = {
    {S(""), DKIM_TAGS_OK, 0, NULL, NULL, NULL},
    {S("   "), DKIM_TAGS_OK, 0, NULL, NULL, NULL},
    {S("v=1"), DKIM_TAGS_OK, 1, "v", "1", "1"},
    {S("v=1;"), DKIM_TAGS_OK, 1, "v", "1", "1"},
    {S("v=1; "), DKIM_TAGS_OK, 1, "v", "1", "1"},
    {S(" v = 1 ; a=b "), DKIM_TAGS_OK, 2, "v", "1", "b"},
    {S("v=; a="), DKIM_TAGS_OK, 2, "v", "", ""},
    /* Folded white space inside a value is kept, at its ends dropped. */
    {S("b=abc\r\n def \r\n\t; x=1"), DKIM_TAGS_OK, 2, "b", "abc\r\n def", "1"},
    {S("b=a\n b"), DKIM_TAGS_OK, 1, "b", "a\n b", "a\n b"},
    {S("h=from : to;s=sel_1"), DKIM_TAGS_OK, 2, "h", "from : to", "sel_1"},
    {S("a_1=x"), DKIM_TAGS_OK, 1, "a_1", "x", "x"},
    /* Case-sensitive names: "v" and "V" are two tags. */
    {S("v=1;V=2"), DKIM_TAGS_OK, 2, "v", "1", "2"},
    {S("v=1;v=2"), DKIM_TAGS_DUPLICATE, 0, NULL, NULL, NULL},
    {S("v=1;;a=2"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S(";"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("=1"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("1v=1"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v 1=2"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v-x=1"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    /* A line break that is not a fold; CR alone; NUL; 8-bit. */
    {S("v=1\r\na=2"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v=1\r\n"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v=1\ra"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v=1\0"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v=\xc3\xa9"), DKIM_TAGS_SYNTAX, 0, NULL, NULL, NULL},
    {S("v=a b"), DKIM_TAGS_OK, 1, "v", "a b", "a b"},
};

static void
test_tags(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct tag_case *c = &tag_cases[i];
		char *in = exact(c->in, c->len);
		struct dkim_tags t;
		enum dkim_tags_error e = dkim_tags_parse(in, c->len, &t);
		if (e != c->err)
			fail_msg("case %zu '%s': error %d, want %d", i, c->in,
				 e, c->err);
		if (e == DKIM_TAGS_OK) {
			assert_int_equal(t.n, c->n);
			if (c->n > 0) {
				assert_int_equal(t.tag[0].name_len,
						 strlen(c->first_name));
				assert_memory_equal(t.tag[0].name,
						    c->first_name,
						    t.tag[0].name_len);
				assert_int_equal(t.tag[0].value_len,
						 strlen(c->first_value));
				assert_memory_equal(t.tag[0].value,
						    c->first_value,
						    t.tag[0].value_len);
				const struct dkim_tag *l = &t.tag[t.n - 1];
				assert_int_equal(l->value_len,
						 strlen(c->last_value));
				assert_memory_equal(l->value, c->last_value,
						    l->value_len);
			}
		}
		free(in);
	}
}

static void
test_tags_too_many(void **state)
{
	struct strbuf sb = {0};
	struct dkim_tags t;
	char tmp[32];

	(void)state;
	for (int i = 0; i <= DKIM_TAGS_MAX; i++) {
		snprintf(tmp, sizeof(tmp), "t%d=%d;", i, i);
		strbuf_adds(&sb, tmp);
	}
	assert_int_equal(dkim_tags_parse(sb.p, sb.len, &t), DKIM_TAGS_TOO_MANY);
	free(sb.p);
}

/* ---- canonicalization: RFC 6376 §3.4.5 -------------------------------- */

#define EX_HEAD "A: X\r\nB : Y\t\r\n\tZ  \r\n"
#define EX_BODY " C \r\nD \t E\r\n\r\n\r\n"

static void
test_canon_header_example(void **state)
{
	struct strbuf sb = {0};
	struct dkim_head *h = malloc(sizeof(*h));

	(void)state;
	assert_int_equal(dkim_head_parse(S(EX_HEAD "\r\n" EX_BODY), h), 0);
	assert_int_equal(h->n, 2);
	for (size_t i = 0; i < h->n; i++) {
		const struct rfc5322_field *f = &h->f[i];
		dkim_canon_header(DKIM_CANON_RELAXED, f->name,
				  (size_t)(f->value - f->name) + f->value_len,
				  true, &sb);
	}
	assert_string_equal(sb.p, "a:X\r\nb:Y Z\r\n");
	sb.len = 0;
	for (size_t i = 0; i < h->n; i++) {
		const struct rfc5322_field *f = &h->f[i];
		dkim_canon_header(DKIM_CANON_SIMPLE, f->name,
				  (size_t)(f->value - f->name) + f->value_len,
				  true, &sb);
	}
	sb.p[sb.len] = '\0';
	assert_string_equal(sb.p, EX_HEAD);
	free(sb.p);
	free(h);
}

struct body_case {
	const char *in;
	size_t len;
	const char *simple, *relaxed;
};

static const struct body_case body_cases[] = {
    /* RFC 6376 §3.4.5. */
    {S(EX_BODY), " C \r\nD \t E\r\n", " C\r\nD E\r\n"},
    /* Empty bodies (§3.4.3, and errata 3797 for relaxed). */
    {S(""), "\r\n", ""},
    {S("\r\n"), "\r\n", ""},
    {S("\r\n\r\n\r\n"), "\r\n", ""},
    {S("  \r\n\t\r\n"), "  \r\n\t\r\n", ""},
    /* A last line without CRLF gets one. */
    {S("abc"), "abc\r\n", "abc\r\n"},
    {S("abc  "), "abc  \r\n", "abc\r\n"},
    /* Empty lines inside stay. */
    {S("a\r\n\r\nb\r\n\r\n"), "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"},
    {S("a\r\n \r\nb\r\n"), "a\r\n \r\nb\r\n", "a\r\n\r\nb\r\n"},
    /* Bare LF is a line end; bare CR is data. */
    {S("a\nb\n\n"), "a\r\nb\r\n", "a\r\nb\r\n"},
    {S("a\rb\r\n"), "a\rb\r\n", "a\rb\r\n"},
    {S("a\r"), "a\r\r\n", "a\r\r\n"},
    {S("a \r\r\n"), "a \r\r\n", "a \r\r\n"},
    {S("\r\r\n"), "\r\r\n", "\r\r\n"},
    {S("x\t \t y \r\n"), "x\t \t y \r\n", "x y\r\n"},
    {S(" \tlead\r\n"), " \tlead\r\n", " lead\r\n"},
};

static void
test_canon_body(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]);
	     i++) {
		const struct body_case *c = &body_cases[i];
		for (int k = 0; k < 2; k++) {
			enum dkim_canon cn =
			    k == 0 ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
			const char *want = k == 0 ? c->simple : c->relaxed;
			struct strbuf sb = {0};
			char *in = exact(c->in, c->len);
			dkim_canon_body(cn, in, c->len, &sb);
			if (sb.len != strlen(want) ||
			    memcmp(sb.p ? sb.p : "", want, sb.len) != 0)
				fail_msg("case %zu %s: got '%.*s'", i,
					 k == 0 ? "simple" : "relaxed",
					 (int)sb.len, sb.p ? sb.p : "");
			free(sb.p);

			/* The hash, fed whole, byte by byte, and split. */
			uint8_t want_h[32], got[32];
			unsigned int hn;
			EVP_Digest(want, strlen(want), want_h, &hn,
				   EVP_sha256(), NULL);
			for (size_t cut = 0; cut <= c->len + 1; cut++) {
				struct dkim_body *b =
				    dkim_body_new(cn, UINT64_MAX);
				uint64_t total;
				if (cut == c->len + 1) {
					for (size_t j = 0; j < c->len; j++)
						dkim_body_feed(b, in + j, 1);
				} else {
					dkim_body_feed(b, in, cut);
					dkim_body_feed(b, in + cut, 0);
					dkim_body_feed(b, in + cut,
						       c->len - cut);
				}
				dkim_body_final(b, got, &total);
				dkim_body_free(&b);
				assert_memory_equal(got, want_h, 32);
				assert_int_equal(total, strlen(want));
			}
			free(in);
		}
	}
}

/* l=: only the first l canonical octets are hashed. */
static void
test_body_limit(void **state)
{
	uint8_t got[32], want[32];
	unsigned int hn;
	uint64_t total;

	(void)state;
	struct dkim_body *b = dkim_body_new(DKIM_CANON_RELAXED, 5);
	dkim_body_feed(b, S("abc  def\r\nmore\r\n"));
	dkim_body_final(b, got, &total);
	dkim_body_free(&b);
	EVP_Digest("abc d", 5, want, &hn, EVP_sha256(), NULL);
	assert_memory_equal(got, want, 32);
	assert_int_equal(total, strlen("abc def\r\nmore\r\n"));
}

/* ---- signature and key records ---------------------------------------- */

#define BH "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;"

struct sig_case {
	const char *in;
	int ok;
	const char *why; /* substring of the reason */
};

static const struct sig_case sig_cases[] = {
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=From:To; " BH " b=AAAA", 1,
     NULL},
    {"v=1; a=ed25519-sha256; c=relaxed/relaxed; d=Example.ORG.; s=a.b; "
     "h=to : from; " BH " b=AA\r\n AA; i=joe@sub.example.org; t=5; x=6; "
     "l=10; q=dns/txt; z=whatever",
     1, NULL},
    {"v=1; a=rsa-sha1; d=example.org; s=sel; h=from; " BH " b=AAAA", 0,
     "rsa-sha1"},
    {"v=2; a=rsa-sha256; d=example.org; s=sel; h=from; " BH " b=AAAA", 0,
     "version"},
    {"a=rsa-sha256; d=example.org; s=sel; h=from; " BH " b=AAAA", 0,
     "missing v="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; b=AAAA", 0,
     "missing bh="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; " BH " b=AAAA", 0,
     "From"},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from::to; " BH " b=AAAA", 0,
     "h="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH
     " b=AAAA; i=a@example.com",
     0, "i="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH
     " b=AAAA; i=a@badexample.org",
     0, "i="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH
     " b=AAAA; t=10; x=10",
     0, "x="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH
     " b=AAAA; q=http/foo",
     0, "q="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH " b=AAAA; c=fancy",
     0, "c="},
    {"v=1; a=rsa-sha256; d=exa mple.org; s=sel; h=from; " BH " b=AAAA", 0,
     "d="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA", 0,
     "bh="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH " b=A", 0, "b="},
    {"v=1; a=rsa-sha256; d=example.org; s=sel; h=from; " BH " b=AAAA; l=x", 0,
     "l="},
    {"v=1; v=1; a=rsa-sha256", 0, "syntax"},
};

static void
test_sig_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		const struct sig_case *c = &sig_cases[i];
		struct dkim_sig *sig = malloc(sizeof(*sig));
		const char *why = "";
		size_t len = strlen(c->in);
		char *in = exact(c->in, len);
		int r = dkim_sig_parse(in, len, sig, &why);
		if ((r == 0) != c->ok)
			fail_msg("case %zu: r=%d (%s)", i, r, why);
		if (!c->ok && !strstr(why, c->why))
			fail_msg("case %zu: reason '%s', want '%s'", i, why,
				 c->why);
		if (i == 1) {
			assert_string_equal(sig->d, "example.org");
			assert_string_equal(sig->i_domain, "sub.example.org");
			assert_int_equal(sig->n_h, 2);
			assert_string_equal(sig->h[0], "to");
			assert_string_equal(sig->h[1], "from");
			assert_int_equal(sig->hcanon, DKIM_CANON_RELAXED);
			assert_int_equal(sig->b_len, 3);
			assert_true(sig->has_l && sig->l == 10);
		}
		if (i == 0) {
			assert_string_equal(sig->i, "@example.org");
			assert_int_equal(sig->bcanon, DKIM_CANON_SIMPLE);
		}
		free(in);
		free(sig);
	}
}

#define ED_PUB "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_PUB                                                                \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08" \
	"a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR" \
	"+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l" \
	"/K4w3QIDAQAB"

static void
test_key_parse(void **state)
{
	struct dkim_key_rec k;
	const char *why;

	(void)state;
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; k=ed25519; p=" ED_PUB), &k, &why), 0);
	assert_int_equal(k.type, DKIM_KEY_ED25519);
	assert_int_equal(k.key_len, 32);
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; g=*; k=rsa; p=" RSA_PUB), &k, &why), 0);
	assert_int_equal(k.type, DKIM_KEY_RSA);
	assert_int_equal(dkim_key_parse(S("p=" RSA_PUB "; t=y:s"), &k, &why),
			 0);
	assert_true(k.testing && k.strict);
	assert_int_equal(dkim_key_parse(S("v=DKIM1; p="), &k, &why), -1);
	assert_true(k.revoked);
	assert_int_equal(
	    dkim_key_parse(S("k=rsa; v=DKIM1; p=" RSA_PUB), &k, &why),
	    -1); /* v= not first */
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; h=sha1; p=" RSA_PUB), &k, &why), -1);
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; k=dsa; p=" RSA_PUB), &k, &why), -1);
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; k=ed25519; p=" RSA_PUB), &k, &why), -1);
	assert_int_equal(
	    dkim_key_parse(S("v=DKIM1; s=tlsrpt; p=" RSA_PUB), &k, &why), -1);
	assert_int_equal(dkim_key_parse(S("v=DKIM1"), &k, &why), -1);
}

/* ---- RFC 8463 Appendix A ---------------------------------------------- */

static const char rfc8463_signed[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=brisbane; t=1518460054; h=from : to : \r\n"
    " subject : date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45nXlTCGb8l0YB\r\n"
    " o0wBLR++X5LqmsxXaOYLLJe46l10AQ==\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; \r\n"
    " d=football.example.com; i=@football.example.com; \r\n"
    " q=dns/txt; s=test; t=1527915362; h=from : to : subject : \r\n"
    " date : message-id : from : subject : date; \r\n"
    " bh=4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=; \r\n"
    " b=icKcLSEZYXJ95flvWE8FT6hl5iqd8MC/LEKYH0QjsqYy6MO/4pgVNCZH\r\n"
    " l/RAXAuADxE/40Fg7uTlxwwD1hjN2Ple6J//cJfslBdDOq6zTVbne1dqtl\r\n"
    " NOat7iamJ1AfRqyG+ja7a2AZsrpUuJ7VA6O+0zRYPqpwMEkEFIzI9i/Xk=\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* RFC 8032 §7.1 TEST 1 secret key, RFC 8463 A.2's Ed25519 key. */
#define ED_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="

struct key_table {
	const char *name, *txt;
};

/* run_verify - verify msg against a table of key records. */
static struct dkim_verify *
run_verify(const char *msg, size_t len, const struct key_table *keys,
	   size_t n_keys, time_t now)
{
	struct dkim_verify *v = dkim_verify_new(msg, len, now);
	struct dkim_head *h = malloc(sizeof(*h));

	assert_int_equal(dkim_head_parse(msg, len, h), 0);
	/* The body, in uneven pieces. */
	for (size_t off = h->body; off < len; off += 7)
		dkim_verify_body(v, msg + off, len - off < 7 ? len - off : 7);
	dkim_verify_body_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		if (!name)
			continue;
		bool found = false;
		for (size_t k = 0; k < n_keys; k++) {
			if (strcmp(keys[k].name, name) != 0)
				continue;
			size_t tl = strlen(keys[k].txt);
			const char *txt = keys[k].txt;
			dkim_verify_key(v, i, DKIM_DNS_OK, &txt, &tl, 1);
			found = true;
		}
		if (!found)
			dkim_verify_key(v, i, DKIM_DNS_NONE, NULL, NULL, 0);
	}
	free(h);
	return v;
}

static const struct key_table rfc_keys[] = {
    {"brisbane._domainkey.football.example.com",
     "v=DKIM1; k=ed25519; p=" ED_PUB},
    {"test._domainkey.football.example.com", "v=DKIM1; g=*; k=rsa; p=" RSA_PUB},
};

static void
test_rfc8463_verify(void **state)
{
	struct dkim_verify *v;

	(void)state;
	v = run_verify(S(rfc8463_signed), rfc_keys, 2, 1600000000);
	assert_int_equal(dkim_verify_count(v), 2);
	const struct dkim_verdict *e = dkim_verify_verdict(v, 0);
	const struct dkim_verdict *r = dkim_verify_verdict(v, 1);
	assert_int_equal(e->result, DKIM_PASS);
	assert_string_equal(e->a, "ed25519-sha256");
	assert_string_equal(e->d, "football.example.com");
	assert_string_equal(e->b, "9/dsDChY");
	assert_int_equal(r->result, DKIM_PASS);
	assert_string_equal(r->a, "rsa-sha256");
	dkim_verify_free(&v);

	/* One changed body byte: both fail on the body hash. */
	char *m = strdup(rfc8463_signed);
	*strstr(m, "hungry") = 'H';
	v = run_verify(m, strlen(m), rfc_keys, 2, 1600000000);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_FAIL);
	assert_non_null(strstr(dkim_verify_verdict(v, 0)->why, "body"));
	assert_int_equal(dkim_verify_verdict(v, 1)->result, DKIM_FAIL);
	dkim_verify_free(&v);
	free(m);

	/* A changed signed header: the signature fails. */
	m = strdup(rfc8463_signed);
	*strstr(m, "dinner") = 'D';
	v = run_verify(m, strlen(m), rfc_keys, 2, 1600000000);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_FAIL);
	assert_non_null(strstr(dkim_verify_verdict(v, 0)->why, "signature"));
	dkim_verify_free(&v);
	free(m);

	/* A second From: added on top — the oversigned from catches it. */
	struct strbuf sb = {0};
	strbuf_adds(&sb, "From: Eve <eve@example.com>\r\n");
	strbuf_adds(&sb, rfc8463_signed);
	v = run_verify(sb.p, sb.len, rfc_keys, 2, 1600000000);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_FAIL);
	dkim_verify_free(&v);
	free(sb.p);

	/* No key in DNS; a temporary failure; the wrong key type. */
	v = run_verify(S(rfc8463_signed), rfc_keys + 1, 1, 1600000000);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_PERMERROR);
	dkim_verify_free(&v);
	v = dkim_verify_new(S(rfc8463_signed), 1600000000);
	dkim_verify_body_end(v);
	dkim_verify_key(v, 0, DKIM_DNS_TEMP, NULL, NULL, 0);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_TEMPERROR);
	const char *txt = "v=DKIM1; k=rsa; p=" RSA_PUB;
	size_t tl = strlen(txt);
	dkim_verify_key(v, 1, DKIM_DNS_OK, &txt, &tl, 1);
	/* (the body was never fed: the hash is wrong, not a crash) */
	assert_int_equal(dkim_verify_verdict(v, 1)->result, DKIM_FAIL);
	dkim_verify_free(&v);
	static const struct key_table swapped[] = {
	    {"brisbane._domainkey.football.example.com",
	     "v=DKIM1; k=rsa; p=" RSA_PUB},
	};
	v = run_verify(S(rfc8463_signed), swapped, 1, 1600000000);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_PERMERROR);
	dkim_verify_free(&v);
}

/*
 * Ed25519 is deterministic: the RFC 8032 key over the hash of the
 * vector's own signature input gives exactly its b=.
 */
static void
test_rfc8463_sign_vector(void **state)
{
	unsigned char seed[32];
	uint8_t hash[32], sig[64];
	char b64[128];
	struct dkim_head *h = malloc(sizeof(*h));
	static const char *const names[] = {"from",    "to",	     "subject",
					    "date",    "message-id", "from",
					    "subject", "date"};

	(void)state;
	assert_int_equal(sasl_base64_decode(S(ED_SEED), seed, sizeof(seed)),
			 32);
	EVP_PKEY *key =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(key);
	assert_int_equal(dkim_head_parse(S(rfc8463_signed), h), 0);
	const struct rfc5322_field *f = &h->f[0];
	dkim_hash_headers(h, names, 8, DKIM_CANON_SIMPLE, f->name,
			  (size_t)(f->value - f->name) + f->value_len, 0, hash);
	assert_int_equal(dkim_hash_sign(key, hash, sig, sizeof(sig)), 64);
	sasl_base64_encode(sig, 64, b64, sizeof(b64));
	assert_string_equal(b64,
			    "9/dsDChY0YMTtD5Eyw3wx7x22BlSJP7M5ECbJ7GWrR45"
			    "nXlTCGb8l0YBo0wBLR++X5LqmsxXaOYLLJe46l10AQ==");
	EVP_PKEY_free(key);
	free(h);
}

/* ---- sign, then verify ------------------------------------------------ */

static const char plain_msg[] = "From: Alice <alice@example.org>\r\n"
				"To: bob@example.net\r\n"
				"Subject:   folded\r\n"
				"\tsubject  line \r\n"
				"Date: Thu, 3 Dec 2026 10:00:00 +0000\r\n"
				"Message-ID: <1@example.org>\r\n"
				"X-Unsigned: anything\r\n"
				"\r\n"
				"Hello  Bob, \r\n"
				"\r\n"
				"trailing lines follow\r\n"
				"\r\n"
				"\r\n";

static void
test_sign_verify(void **state)
{
	EVP_PKEY *rsa = dkim_keys_generate(DKIM_ALG_RSA_SHA256);
	EVP_PKEY *ed = dkim_keys_generate(DKIM_ALG_ED25519_SHA256);
	struct dkim_sign_key keys[2] = {
	    {.domain = "example.org",
	     .selector = "r1",
	     .alg = DKIM_ALG_RSA_SHA256,
	     .pkey = rsa},
	    {.domain = "example.org",
	     .selector = "e1",
	     .alg = DKIM_ALG_ED25519_SHA256,
	     .pkey = ed},
	};
	struct strbuf sb = {0};
	char *rsa_rec = dkim_keys_record(rsa), *ed_rec = dkim_keys_record(ed);
	struct key_table table[] = {
	    {"r1._domainkey.example.org", rsa_rec},
	    {"e1._domainkey.example.org", ed_rec},
	};

	(void)state;
	assert_int_equal(
	    dkim_sign_message(keys, 2, S(plain_msg), 1700000000, &sb), 0);
	assert_non_null(strstr(sb.p, "a=rsa-sha256"));
	assert_non_null(strstr(sb.p, "a=ed25519-sha256"));
	assert_non_null(strstr(sb.p, "c=relaxed/relaxed"));
	assert_null(strstr(sb.p, "x-unsigned"));
	/* Every line of the fields within 78 columns. */
	for (const char *l = sb.p; *l;) {
		const char *e = strstr(l, "\r\n");
		assert_true(e - l <= 78);
		l = e + 2;
	}
	strbuf_adds(&sb, plain_msg);
	struct dkim_verify *v = run_verify(sb.p, sb.len, table, 2, 1700000001);
	assert_int_equal(dkim_verify_count(v), 2);
	for (size_t i = 0; i < 2; i++)
		if (dkim_verify_verdict(v, i)->result != DKIM_PASS)
			fail_msg("sig %zu: %s", i,
				 dkim_verify_verdict(v, i)->why);
	dkim_verify_free(&v);

	/* Relaxed survives re-folding and WSP changes in transit ... */
	struct strbuf t = {0};
	const char *at = strstr(sb.p, "Subject:   folded");
	strbuf_add(&t, sb.p, (size_t)(at - sb.p));
	strbuf_adds(&t, "Subject: folded subject line\r\n");
	strbuf_adds(&t, strstr(at, "Date:"));
	char *body = strstr(t.p, "Hello  Bob");
	memcpy(body, "Hello \tBob", 10);
	v = run_verify(t.p, t.len, table, 2, 1700000001);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_PASS);
	assert_int_equal(dkim_verify_verdict(v, 1)->result, DKIM_PASS);
	dkim_verify_free(&v);
	/* ... but not a changed word. */
	memcpy(body, "Hallo", 5);
	v = run_verify(t.p, t.len, table, 2, 1700000001);
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_FAIL);
	assert_int_equal(dkim_verify_verdict(v, 1)->result, DKIM_FAIL);
	dkim_verify_free(&v);

	free(t.p);
	free(sb.p);
	free(rsa_rec);
	free(ed_rec);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* x= in the past: policy, and no key look-up. */
static void
test_expired(void **state)
{
	struct dkim_verify *v;
	struct strbuf sb = {0};

	(void)state;
	strbuf_adds(&sb, "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; "
			 "s=s; h=from; " BH " b=AAAA; t=100; x=200\r\n");
	strbuf_adds(&sb, plain_msg);
	v = dkim_verify_new(sb.p, sb.len, 201);
	assert_int_equal(dkim_verify_count(v), 1);
	assert_null(dkim_verify_key_name(v, 0));
	assert_int_equal(dkim_verify_verdict(v, 0)->result, DKIM_POLICY);
	dkim_verify_free(&v);
	v = dkim_verify_new(sb.p, sb.len, 150);
	assert_string_equal(dkim_verify_key_name(v, 0),
			    "s._domainkey.example.org");
	dkim_verify_free(&v);
	free(sb.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_tags_too_many),
	    cmocka_unit_test(test_canon_header_example),
	    cmocka_unit_test(test_canon_body),
	    cmocka_unit_test(test_body_limit),
	    cmocka_unit_test(test_sig_parse),
	    cmocka_unit_test(test_key_parse),
	    cmocka_unit_test(test_rfc8463_verify),
	    cmocka_unit_test(test_rfc8463_sign_vector),
	    cmocka_unit_test(test_sign_verify),
	    cmocka_unit_test(test_expired),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
