/*
 * test_smtp_addr - RFC 5321 §4.1.2 path and mailbox parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_addr.h"

#define NUL  SMTP_ADDR_ALLOW_NULL
#define PM   SMTP_ADDR_ALLOW_POSTMASTER
#define BARE SMTP_ADDR_ALLOW_NO_BRACKETS

/* Expected path flags, as a bit set. */
enum {
	F_NULL = 1 << 0,
	F_PM = 1 << 1,
	F_ROUTE = 1 << 2,
	F_QUOTED = 1 << 3,
	F_LITERAL = 1 << 4,
};

struct path_case {
	const char *in;
	unsigned flags;
	int ret;
	size_t consumed;
	const char *local;
	const char *domain;
	unsigned pflags;
	const char *formatted;
};

/* A rejected path: nothing else to compare. */
#define BAD(s, f)                                                              \
	{                                                                      \
		s, f, -1, 0, NULL, NULL, 0, NULL                               \
	}

#define L64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define D63 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
/* 4 * 63 + 3 dots = 255 */
#define D255 D63 "." D63 "." D63 "." D63

static const struct path_case path_cases[] = {
    {"<a@b>", 0, 0, 5, "a", "b", 0, "a@b"},
    {"<User.Name+tag@Example.COM>", 0, 0, 27, "User.Name+tag", "example.com", 0,
     "User.Name+tag@example.com"},
    {"<a@b> SIZE=1", 0, 0, 5, "a", "b", 0, "a@b"},
    {"<a@b>x", 0, 0, 5, "a", "b", 0, "a@b"},
    {"<!#$%&'*+-/=?^_`{|}~@x.y>", 0, 0, 25, "!#$%&'*+-/=?^_`{|}~", "x.y", 0,
     "!#$%&'*+-/=?^_`{|}~@x.y"},
    {"<a@b-c.d9>", 0, 0, 10, "a", "b-c.d9", 0, "a@b-c.d9"},
    {"<a@1.2.3.4>", 0, 0, 11, "a", "1.2.3.4", 0, "a@1.2.3.4"},
    /* Null path and postmaster. */
    {"<>", NUL, 0, 2, "", "", F_NULL, ""},
    BAD("<>", 0),
    {"<> BODY=8BITMIME", NUL, 0, 2, "", "", F_NULL, ""},
    {"<postmaster>", PM, 0, 12, "postmaster", "", F_PM, "postmaster"},
    {"<PostMaster>", PM, 0, 12, "postmaster", "", F_PM, "postmaster"},
    BAD("<postmaster>", 0),
    {"<postmaster@Example.org>", 0, 0, 24, "postmaster", "example.org", 0,
     "postmaster@example.org"},
    BAD("<postmaster", PM),
    /* Quoted local parts: '@', '%', '!' and spaces stay local. */
    {"<\"a@b\"@c>", 0, 0, 9, "a@b", "c", F_QUOTED, "\"a@b\"@c"},
    {"<\"a%b!c d\"@e.f>", 0, 0, 15, "a%b!c d", "e.f", F_QUOTED,
     "\"a%b!c d\"@e.f"},
    {"<\"a\\\"b\\\\c\"@d>", 0, 0, 13, "a\"b\\c", "d", F_QUOTED,
     "\"a\\\"b\\\\c\"@d"},
    {"<\"\\x\"@d>", 0, 0, 8, "x", "d", F_QUOTED, "x@d"},
    {"<\"plain\"@d>", 0, 0, 11, "plain", "d", F_QUOTED, "plain@d"},
    {"<\"\"@d>", 0, 0, 6, "", "d", F_QUOTED, "\"\"@d"},
    {"<\".a\"@d>", 0, 0, 8, ".a", "d", F_QUOTED, "\".a\"@d"},
    {"<\"a..b\"@d>", 0, 0, 10, "a..b", "d", F_QUOTED, "\"a..b\"@d"},
    BAD("<\"a\"b@d>", 0),
    BAD("<\"a@d>", 0),
    BAD("<\"a\tb\"@d>", 0),
    BAD("<\"a\\\tb\"@d>", 0),
    BAD("<\"a\\", 0),
    /* Source routes: accepted, ignored (§4.1.1.3). */
    {"<@a.example,@b.example:user@c.example>", 0, 0, 38, "user", "c.example",
     F_ROUTE, "user@c.example"},
    {"<@a:u@b>", 0, 0, 8, "u", "b", F_ROUTE, "u@b"},
    BAD("<@a,b:u@b>", 0),
    BAD("<@a,@:u@b>", 0),
    BAD("<@a u@b>", 0),
    BAD("<@[1.2.3.4]:u@b>", 0),
    BAD("<@a:>", NUL),
    /* Address literals. */
    {"<a@[127.0.0.1]>", 0, 0, 15, "a", "[127.0.0.1]", F_LITERAL,
     "a@[127.0.0.1]"},
    {"<a@[IPv6:::1]>", 0, 0, 14, "a", "[IPv6:::1]", F_LITERAL, "a@[IPv6:::1]"},
    {"<a@[ipv6:2001:DB8::1]>", 0, 0, 22, "a", "[IPv6:2001:db8::1]", F_LITERAL,
     "a@[IPv6:2001:db8::1]"},
    {"<a@[IPv6:::ffff:1.2.3.4]>", 0, 0, 25, "a", "[IPv6:::ffff:1.2.3.4]",
     F_LITERAL, "a@[IPv6:::ffff:1.2.3.4]"},
    BAD("<a@[300.1.1.1]>", 0),
    BAD("<a@[1.2.3]>", 0),
    BAD("<a@[1.2.3.4.5]>", 0),
    BAD("<a@[1.2.3.4 ]>", 0),
    BAD("<a@[1.2.3.0004]>", 0),
    BAD("<a@[]>", 0),
    BAD("<a@[IPv6:]>", 0),
    BAD("<a@[IPv6:1:2:3]>", 0),
    BAD("<a@[IPv6:1.2.3.4]>", 0),
    BAD("<a@[x-tag:foo]>", 0),
    BAD("<a@[127.0.0.1>", 0),
    BAD("<a@[127.0.0.1]", 0),
    /* Malformed. */
    BAD("", 0),
    BAD("<", 0),
    BAD("<a@b", 0),
    BAD("a@b>", 0),
    BAD("<a@@b>", 0),
    BAD("<.a@b>", 0),
    BAD("<a.@b>", 0),
    BAD("<a..b@c>", 0),
    BAD("<a@-b.com>", 0),
    BAD("<a@b-.com>", 0),
    BAD("<a@b..com>", 0),
    BAD("<a@.b>", 0),
    BAD("<a@b.>", 0),
    BAD("<a@b_c>", 0),
    BAD("<a@>", 0),
    BAD("<@b>", 0),
    BAD("<a>", 0),
    BAD("<a b@c>", 0),
    BAD("<a@b c>", 0),
    BAD("< a@b>", 0),
    BAD("<a@b >", 0),
    BAD("<a(c)@b>", 0),
    BAD("<\xc3\xa9@b>", 0),
    BAD("<a@\xc3\xa9>", 0),
    /* Limits: 64 local, 63 label, 255 domain. */
    {"<" L64 "@b>", 0, 0, 68, L64, "b", 0, L64 "@b"},
    BAD("<" L64 "a@b>", 0),
    BAD("<\"" L64 "\"@b>", 0),
    {"<a@" D63 ".c>", 0, 0, 69, "a", D63 ".c", 0, "a@" D63 ".c"},
    BAD("<a@" D63 "b.c>", 0),
    {"<a@" D255 ">", 0, 0, 259, "a", D255, 0, "a@" D255},
    BAD("<a@" D255 "b>", 0),
    BAD("<a@" D255 ".b>", 0),
    /* Bare mailbox, for the CLI. */
    {"a@b", BARE, 0, 3, "a", "b", 0, "a@b"},
    {"a@b rest", BARE, 0, 3, "a", "b", 0, "a@b"},
    {"<a@b>", BARE, 0, 5, "a", "b", 0, "a@b"},
    BAD("a@b", 0),
    BAD("a", BARE),
};

static void
check_flags(const struct smtp_path *p, unsigned want)
{
	assert_int_equal(p->null_path, !!(want & F_NULL));
	assert_int_equal(p->postmaster_only, !!(want & F_PM));
	assert_int_equal(p->had_source_route, !!(want & F_ROUTE));
	assert_int_equal(p->quoted, !!(want & F_QUOTED));
	assert_int_equal(p->address_literal, !!(want & F_LITERAL));
}

static void
test_path_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = strlen(c->in), consumed = 999;
		/* Exact-size copy: ASan catches any read past len. */
		char *in = malloc(len + 1);
		struct smtp_path p;
		char out[600];
		int ret;

		assert_non_null(in);
		memcpy(in, c->in, len);
		ret = smtp_addr_parse_path(in, len, c->flags, &p, &consumed);
		if (ret != c->ret)
			fail_msg("case %zu \"%s\": ret %d, want %d", i, c->in,
				 ret, c->ret);
		if (ret == 0) {
			assert_int_equal(consumed, c->consumed);
			assert_string_equal(p.local, c->local);
			assert_string_equal(p.domain, c->domain);
			check_flags(&p, c->pflags);
			assert_int_equal(smtp_addr_format(&p, out, sizeof(out)),
					 strlen(c->formatted));
			assert_string_equal(out, c->formatted);
		}
		free(in);
	}
}

/* Every truncation of every case must parse or fail without overreading. */
static void
test_path_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		size_t len = strlen(path_cases[i].in);

		for (size_t n = 0; n < len; n++) {
			char *in = malloc(n + 1);
			struct smtp_path p;
			size_t consumed = 0;

			assert_non_null(in);
			memcpy(in, path_cases[i].in, n);
			if (smtp_addr_parse_path(in, n,
						 path_cases[i].flags | NUL | PM,
						 &p, &consumed) == 0)
				assert_true(consumed <= n);
			free(in);
		}
	}
}

/*
 * A NUL anywhere inside a path that otherwise parses makes it invalid:
 * no NUL can hide part of an address from C string code later on.
 */
static void
test_path_nul(void **state)
{
	/* fuzz_smtp_addr: a NUL cut the literal short for inet_pton. */
	static const char crash[] = "<a@[IPv6:2001:db8:200::1\00018bd]>";
	struct smtp_path p;
	size_t consumed;

	(void)state;
	assert_int_equal(
	    smtp_addr_parse_path(crash, sizeof(crash) - 1, 0, &p, &consumed),
	    -1);
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = strlen(c->in);
		char *in;

		if (c->ret != 0 || c->consumed <= 2)
			continue;
		in = malloc(len);
		assert_non_null(in);
		for (size_t at = 0; at < c->consumed; at++) {
			memcpy(in, c->in, len);
			in[at] = '\0';
			if (smtp_addr_parse_path(in, len, c->flags, &p,
						 &consumed) == 0)
				fail_msg("case %zu NUL at %zu parsed", i, at);
		}
		free(in);
	}
}

/*
 * Formatting then parsing gives the same mailbox: the re-quoting is
 * exactly as much as needed.
 */
static void
test_format_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		struct smtp_path p, q;
		size_t consumed;
		char out[600], br[604];
		int n;

		if (c->ret != 0 || c->pflags & (F_NULL | F_PM))
			continue;
		assert_int_equal(smtp_addr_parse_path(c->in, strlen(c->in),
						      c->flags, &p, &consumed),
				 0);
		n = smtp_addr_format(&p, out, sizeof(out));
		assert_true(n > 0);
		snprintf(br, sizeof(br), "<%s>", out);
		assert_int_equal(
		    smtp_addr_parse_path(br, strlen(br), 0, &q, &consumed), 0);
		assert_string_equal(p.local, q.local);
		assert_string_equal(p.domain, q.domain);
		assert_int_equal(smtp_addr_parse_mailbox(out, (size_t)n, &q),
				 0);
		assert_string_equal(p.local, q.local);
		assert_string_equal(p.domain, q.domain);
	}
}

static void
test_format_short(void **state)
{
	struct smtp_path p;
	size_t consumed;
	char out[8];

	(void)state;
	assert_int_equal(
	    smtp_addr_parse_path("<\"a b\"@cd>", 10, 0, &p, &consumed), 0);
	/* "\"a b\"@cd" is 8 bytes: needs 9 with the NUL. */
	assert_int_equal(smtp_addr_format(&p, out, 8), -1);
	assert_int_equal(smtp_addr_format(&p, out, 0), -1);
	{
		char big[9];

		assert_int_equal(smtp_addr_format(&p, big, 9), 8);
		assert_string_equal(big, "\"a b\"@cd");
	}
}

static const struct {
	const char *in;
	int ret;
	const char *local;
	const char *domain;
} mailbox_cases[] = {
    {"a@b", 0, "a", "b"},
    {"First.Last@Sub.Example.ORG", 0, "First.Last", "sub.example.org"},
    {"\"x y\"@b", 0, "x y", "b"},
    {"a@[10.0.0.1]", 0, "a", "[10.0.0.1]"},
    {"<a@b>", -1, NULL, NULL},
    {"a@b ", -1, NULL, NULL},
    {"a@b>", -1, NULL, NULL},
    {"a@b.", -1, NULL, NULL},
    {"a", -1, NULL, NULL},
    {"@b", -1, NULL, NULL},
    {"", -1, NULL, NULL},
};

static void
test_mailbox(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mailbox_cases) / sizeof(mailbox_cases[0]);
	     i++) {
		struct smtp_path p;
		int ret = smtp_addr_parse_mailbox(
		    mailbox_cases[i].in, strlen(mailbox_cases[i].in), &p);

		if (ret != mailbox_cases[i].ret)
			fail_msg("mailbox \"%s\": %d", mailbox_cases[i].in,
				 ret);
		if (ret == 0) {
			assert_string_equal(p.local, mailbox_cases[i].local);
			assert_string_equal(p.domain, mailbox_cases[i].domain);
		}
	}
}

static const struct {
	const char *in;
	bool ok;
} domain_cases[] = {
    {"example.com", true},
    {"a", true},
    {"a-b.c", true},
    {"1.2.3.4", true},
    {"xn--bcher-kva.ch", true},
    {D255, true},
    {D255 "x", false},
    {D63 "x", false},
    {"", false},
    {".", false},
    {"a.", false},
    {".a", false},
    {"a..b", false},
    {"-a", false},
    {"a-", false},
    {"a_b", false},
    {"a b", false},
    {"[1.2.3.4]", false},
};

static void
test_valid_domain(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]);
	     i++) {
		if (smtp_addr_valid_domain(domain_cases[i].in,
					   strlen(domain_cases[i].in)) !=
		    domain_cases[i].ok)
			fail_msg("domain \"%s\"", domain_cases[i].in);
	}
	/* Length, not NUL, bounds the domain. */
	assert_true(smtp_addr_valid_domain("ab.c\0junk", 4));
	assert_false(smtp_addr_valid_domain("ab.c\0junk", 5));
}

/* --- RFC 6531 §3.3: UTF-8 addresses (SMTP_ADDR_ALLOW_UTF8) --- */

#define U8 SMTP_ADDR_ALLOW_UTF8

static const struct path_case utf8_cases[] = {
    /* A UTF-8 local part (ö = C3 B6, 中 = E4 B8 AD, 😀 = F0 9F 98 80). */
    {"<j\xc3\xb6rg@b>", U8, 0, 9, "j\xc3\xb6rg", "b", 0, "j\xc3\xb6rg@b"},
    {"<\xe4\xb8\xad\xf0\x9f\x98\x80@b>", U8, 0, 11,
     "\xe4\xb8\xad\xf0\x9f\x98\x80", "b", 0, "\xe4\xb8\xad\xf0\x9f\x98\x80@b"},
    {"<\"j\xc3\xb6 rg\"@b>", U8, 0, 12, "j\xc3\xb6 rg", "b", F_QUOTED,
     "\"j\xc3\xb6 rg\"@b"},
    /* U-labels: as written, ASCII lower-cased (the A-label form is
     * smtp_addr_domain_ascii's). */
    {"<a@B\xc3\xbc"
     "cher.Example>",
     U8, 0, 19, "a",
     "b\xc3\xbc"
     "cher.example",
     0,
     "a@b\xc3\xbc"
     "cher.example"},
    {"<a@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95>", U8, 0, 17, "a",
     "\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95", 0,
     "a@\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95"},
    {"<\xc3\xa9@\xc3\xa9.fr> SMTPUTF8", U8, 0, 10, "\xc3\xa9", "\xc3\xa9.fr", 0,
     "\xc3\xa9@\xc3\xa9.fr"},
    /* ASCII addresses are unchanged by the flag. */
    {"<a@b>", U8, 0, 5, "a", "b", 0, "a@b"},
    /* Malformed UTF-8 anywhere: overlong, surrogate, above U+10FFFF,
     * a lone continuation byte, a cut sequence. */
    BAD("<\xc0\xaf@b>", U8),
    BAD("<\xe0\x80\xaf@b>", U8),
    BAD("<\xed\xa0\x80@b>", U8),
    BAD("<\xf4\x90\x80\x80@b>", U8),
    BAD("<\x80@b>", U8),
    BAD("<a\xc3@b>", U8),
    BAD("<\"\xc3\"@b>", U8),
    BAD("<a@b\xc3>", U8),
    BAD("<a@\xff.b>", U8),
    /* Not an IDNA2008 label (U+2764 is DISALLOWED; a label may not
     * start with a combining mark U+0301), nor a name whose dots come
     * from the mapping (U+3002 IDEOGRAPHIC FULL STOP). */
    BAD("<a@\xe2\x9d\xa4.b>", U8),
    BAD("<a@\xcc\x81x.b>", U8),
    BAD("<a@x\xe3\x80\x82y>", U8),
    /* Still never a route: '%' and '@' inside quotes stay local. */
    {"<\"\xc3\xa9@x%y\"@b>", U8, 0, 12, "\xc3\xa9@x%y", "b", F_QUOTED,
     "\"\xc3\xa9@x%y\"@b"},
    /* The 64-octet limit counts octets, not characters. */
    {"<" L64 "@b>", U8, 0, 68, L64, "b", 0, L64 "@b"},
    BAD("<\xc3\xa9"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b>",
	U8),
};

static void
test_utf8_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(utf8_cases) / sizeof(utf8_cases[0]);
	     i++) {
		const struct path_case *c = &utf8_cases[i];
		size_t len = strlen(c->in), consumed = 999;
		char *in = malloc(len + 1);
		struct smtp_path p, q;
		char out[600];
		int ret;

		assert_non_null(in);
		memcpy(in, c->in, len);
		ret = smtp_addr_parse_path(in, len, c->flags, &p, &consumed);
		if (ret != c->ret)
			fail_msg("utf8 case %zu \"%s\": ret %d, want %d", i,
				 c->in, ret, c->ret);
		if (ret == 0) {
			bool wide = false;
			for (const char *x = c->in; *x; x++)
				wide = wide || (unsigned char)*x >= 0x80;
			assert_int_equal(consumed, c->consumed);
			assert_string_equal(p.local, c->local);
			assert_string_equal(p.domain, c->domain);
			check_flags(&p, c->pflags);
			assert_int_equal(p.utf8, wide);
			assert_int_equal(smtp_addr_format(&p, out, sizeof(out)),
					 strlen(c->formatted));
			assert_string_equal(out, c->formatted);
			/* Without the flag a UTF-8 address is refused. */
			assert_int_equal(
			    smtp_addr_parse_path(in, len, 0, &q, &consumed),
			    wide ? -1 : 0);
			/* The formatted form parses back to the same. */
			assert_int_equal(
			    smtp_addr_parse_mailbox_utf8(out, strlen(out), &q),
			    0);
			assert_string_equal(p.local, q.local);
			assert_string_equal(p.domain, q.domain);
		}
		/* Every truncation parses or fails inside its bytes. */
		for (size_t n = 0; n < len; n++) {
			char *t = malloc(n + 1);
			assert_non_null(t);
			memcpy(t, c->in, n);
			if (smtp_addr_parse_path(t, n, c->flags, &q,
						 &consumed) == 0)
				assert_true(consumed <= n);
			free(t);
		}
		free(in);
	}
}

static const struct {
	const char *in;
	const char *ascii; /* NULL: refused */
} ascii_cases[] = {
    {"example.org", "example.org"},
    {"Example.ORG", "example.org"},
    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
    {"XN--BCHER-KVA.Example", "xn--bcher-kva.example"},
    /* The U-label and A-label spellings of one domain are one string. */
    {"b\xc3\xbc"
     "cher.example",
     "xn--bcher-kva.example"},
    {"B\xc3\x9c"
     "CHER.example",
     "xn--bcher-kva.example"},
    {"\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b\xe8\xaf\x95",
     "xn--fsqu00a.xn--0zwm56d"},
    {"[127.0.0.1]", "[127.0.0.1]"},
    {"[IPv6:::1]", "[ipv6:::1]"},
    {"", NULL},
    {"a..b", NULL},
    {"a_b.example", NULL},
    {"\xe2\x9d\xa4.example", NULL},
    {"b\xc3.example", NULL},
};

static void
test_domain_ascii(void **state)
{
	char out[SMTP_DOMAIN_MAX + 1], small[8];
	(void)state;

	for (size_t i = 0; i < sizeof(ascii_cases) / sizeof(ascii_cases[0]);
	     i++) {
		int ret =
		    smtp_addr_domain_ascii(ascii_cases[i].in, out, sizeof(out));
		if ((ret == 0) != (ascii_cases[i].ascii != NULL))
			fail_msg("domain_ascii \"%s\": %d", ascii_cases[i].in,
				 ret);
		if (ret == 0)
			assert_string_equal(out, ascii_cases[i].ascii);
	}
	/* No room, no overrun. */
	assert_int_equal(
	    smtp_addr_domain_ascii("example.org", small, sizeof(small)), -1);
	assert_int_equal(smtp_addr_domain_ascii("b\xc3\xbc"
						"cher.ex",
						small, sizeof(small)),
			 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_cases),
	    cmocka_unit_test(test_path_truncated),
	    cmocka_unit_test(test_path_nul),
	    cmocka_unit_test(test_format_roundtrip),
	    cmocka_unit_test(test_format_short),
	    cmocka_unit_test(test_mailbox),
	    cmocka_unit_test(test_valid_domain),
	    cmocka_unit_test(test_utf8_paths),
	    cmocka_unit_test(test_domain_ascii),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
