/*
 * test_rfc5322 - header fields and address lists.
 *
 * Every input is an exact-length malloc'd copy, so ASan catches a read
 * one byte past the end. Field cases list the expected fields as
 * "name|value" strings; the parser is run to END or ERROR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime/rfc5322.h"

#define S(x) x, sizeof(x) - 1

static char *
copy(const char *in, size_t len)
{
	char *c = malloc(len > 0 ? len : 1);
	assert_non_null(c);
	memcpy(c, in, len);
	return c;
}

struct field_case {
	const char *in;
	size_t len;
	int status;	  /* the last status: END or ERROR */
	size_t body;	  /* on END */
	const char *f[4]; /* "name|value" */
};

static const struct field_case field_cases[] = {
    {S("Subject: hi\r\n\r\nbody"), RFC5322_END, 15, {"Subject| hi"}},
    {S("From: a@b\r\nTo: c@d\r\n\r\n"),
     RFC5322_END,
     22,
     {"From| a@b", "To| c@d"}},
    /* Folded: the value keeps its line breaks. */
    {S("Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\nB"),
     RFC5322_END,
     28,
     {"Subject| a\r\n b\r\n\tc", "X| y"}},
    /* Bare LF line ends, and mixed. */
    {S("A: 1\nB: 2\n continued\n\nbody\n"),
     RFC5322_END,
     22,
     {"A| 1", "B| 2\n continued"}},
    {S("A: 1\r\nB: 2\n\r\nbody"), RFC5322_END, 13, {"A| 1", "B| 2"}},
    /* Empty header section. */
    {S(""), RFC5322_END, 0, {NULL}},
    {S("\r\nbody"), RFC5322_END, 2, {NULL}},
    {S("\nbody"), RFC5322_END, 1, {NULL}},
    /* Input ends inside the header section: body = len. */
    {S("A: 1\r\nB: 2"), RFC5322_END, 10, {"A| 1", "B| 2"}},
    {S("A: 1\r\nB: 2\r"), RFC5322_END, 11, {"A| 1", "B| 2"}},
    {S("A: 1\r\n\r"), RFC5322_END, 7, {"A| 1"}},
    /* Empty value, no space, obsolete WSP before the colon. */
    {S("A:\r\nB:x\r\nC \t: y\r\n\r\n"), RFC5322_END, 19, {"A|", "B|x", "C| y"}},
    /* Lone CR and 8-bit bytes are value content. */
    {S("A: x\ry\r\nB: \xc3\xa9\r\n\r\n"),
     RFC5322_END,
     17,
     {"A| x\ry", "B| \xc3\xa9"}},
    /* Errors. */
    {S("no colon here\r\n\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("A: 1\r\nno colon\r\n\r\n"), RFC5322_ERROR, 0, {"A| 1"}},
    {S(" continued: first\r\n\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("\tx: y\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S(": empty name\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("Bad Name: x\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("A: x\0y\r\n\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("A: x\r\n \0\r\n\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("A\0: x\r\n"), RFC5322_ERROR, 0, {NULL}},
    {S("Subject"), RFC5322_ERROR, 0, {NULL}},
    {S("\rA: x\r\n"), RFC5322_ERROR, 0, {NULL}},
};

static void
check_field_case(size_t i, const struct field_case *c)
{
	char *buf = copy(c->in, c->len);
	struct rfc5322_field f;
	size_t pos = 0, body = (size_t)-1, n = 0;
	int st;

	for (;;) {
		st = rfc5322_next_field(buf, c->len, pos, &f, &body);
		if (st != RFC5322_FIELD)
			break;
		if (n >= 4 || c->f[n] == NULL)
			fail_msg("case %zu: extra field", i);
		const char *bar = strchr(c->f[n], '|');
		size_t nl = (size_t)(bar - c->f[n]);
		if (f.name_len != nl || memcmp(f.name, c->f[n], nl) != 0 ||
		    f.value_len != strlen(bar + 1) ||
		    memcmp(f.value, bar + 1, f.value_len) != 0)
			fail_msg("case %zu field %zu: %.*s|%.*s", i, n,
				 (int)f.name_len, f.name, (int)f.value_len,
				 f.value);
		if (f.start != pos || f.end <= pos || f.end > c->len)
			fail_msg("case %zu field %zu: offsets", i, n);
		pos = f.end;
		n++;
	}
	if (st != c->status)
		fail_msg("case %zu: status %d, want %d", i, st, c->status);
	if (n < 4 && c->f[n] != NULL)
		fail_msg("case %zu: %zu fields only", i, n);
	if (st == RFC5322_END && body != c->body)
		fail_msg("case %zu: body %zu, want %zu", i, body, c->body);
	free(buf);
}

static void
test_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]);
	     i++)
		check_field_case(i, &field_cases[i]);
}

/* A field of exactly RFC5322_MAX_FIELD bytes (line end included) is
 * accepted; one byte more is not. Folded, so no line is absurd. */
static char *
long_field(size_t total, size_t *len_r)
{
	const char *tail = "\r\n\r\n";
	size_t fl = total, i = 0;
	char *b = malloc(fl + 2);

	assert_non_null(b);
	memcpy(b, "X:", 2);
	i = 2;
	while (i < fl - 2) {
		if (i % 70 == 0 && i + 3 < fl - 2) {
			memcpy(b + i, "\r\n ", 3);
			i += 3;
		} else {
			b[i++] = 'a';
		}
	}
	memcpy(b + i, tail, 4);
	*len_r = fl + 2;
	return b;
}

static void
test_max_field(void **state)
{
	struct rfc5322_field f;
	size_t len, body;
	char *b;
	(void)state;

	b = long_field(RFC5322_MAX_FIELD, &len);
	assert_int_equal(rfc5322_next_field(b, len, 0, &f, &body),
			 RFC5322_FIELD);
	assert_int_equal(f.end, RFC5322_MAX_FIELD);
	assert_int_equal(rfc5322_next_field(b, len, f.end, &f, &body),
			 RFC5322_END);
	assert_int_equal(body, len);
	free(b);

	b = long_field(RFC5322_MAX_FIELD + 1, &len);
	assert_int_equal(rfc5322_next_field(b, len, 0, &f, &body),
			 RFC5322_ERROR);
	free(b);
}

static void
test_name_is(void **state)
{
	struct rfc5322_field f;
	size_t body;
	char *b = copy(S("cC: x\r\n"));
	(void)state;

	assert_int_equal(rfc5322_next_field(b, 7, 0, &f, &body), RFC5322_FIELD);
	assert_true(rfc5322_name_is(&f, "Cc"));
	assert_false(rfc5322_name_is(&f, "C"));
	assert_false(rfc5322_name_is(&f, "Ccc"));
	free(b);
}

/* Address lists. */

struct addr_case {
	const char *in;
	size_t len;
	int count;
	const char *addrs; /* the addresses joined by "|" */
};

static const struct addr_case addr_cases[] = {
    {S("a@b"), 1, "a@b"},
    {S(" a@b "), 1, "a@b"},
    {S("Alice <a@b>"), 1, "a@b"},
    {S("<a@b>"), 1, "a@b"},
    {S("\"Doe, John\" <j@d>, k@l"), 2, "j@d|k@l"},
    {S("Group: a@b, c@d;"), 2, "a@b|c@d"},
    {S("Group: a@b, c@d; , e@f"), 3, "a@b|c@d|e@f"},
    {S("undisclosed-recipients:;"), 0, ""},
    {S("undisclosed-recipients: ;"), 0, ""},
    {S("(x) a@b (y)"), 1, "a@b"},
    {S("a@b (Comment)"), 1, "a@b"},
    {S("a@b (outer (inner) \\) still) , c@d"), 2, "a@b|c@d"},
    {S("\"a b\"@c"), 1, "\"a b\"@c"},
    {S("\"a\\\"b\"@c"), 1, "\"a\\\"b\"@c"},
    {S("a@b,"), 1, "a@b"},
    {S("a@b,,c@d, ,"), 2, "a@b|c@d"},
    {S(","), 0, ""},
    {S(""), 0, ""},
    {S("   "), 0, ""},
    {S("a@b; c@d"), 2, "a@b|c@d"},
    {S("Alice\r\n <a@b>,\r\n\tBob <c@d>"), 2, "a@b|c@d"},
    {S("x@y <a@b>"), 1, "a@b"},
    {S("\"Q\" (c) <a@b> (d)"), 1, "a@b"},
    {S("<@r1,@r2:a@b>"), 1, "a@b"},
    {S("a@[127.0.0.1]"), 1, "a@[127.0.0.1]"},
    {S("a@[IPv6:::1], b@c"), 2, "a@[IPv6:::1]|b@c"},
    {S("first.last@sub.example.org"), 1, "first.last@sub.example.org"},
    /* obs-local-part / obs-domain: CFWS inside, reported compacted. */
    {S("a . b @ c . d"), 1, "a.b@c.d"},
    {S("a(x)@b"), 1, "a@b"},
    {S("root"), 1, "root"},
    {S("<>"), 0, ""},
    {S("G: a@b"), 1, "a@b"},
    {S("\xc3\xa9@\xc3\xa9.example"), 1, "\xc3\xa9@\xc3\xa9.example"},
    /* Garbage. */
    {S("<a@b"), -1, ""},
    {S("a@b>"), -1, ""},
    {S("Alice <a@b"), -1, ""},
    {S("Alice <a@b> x"), -1, ""},
    {S("\"unterminated <a@b>"), -1, ""},
    {S("(unterminated a@b"), -1, ""},
    {S("((a) a@b"), -1, ""},
    {S("a@b)"), -1, ""},
    {S("a@[1.2.3.4"), -1, ""},
    {S("a@"), -1, ""},
    {S("@b"), -1, ""},
    {S("Alice Smith"), -1, ""},
    {S("a@b c@d"), -1, ""},
    {S("G: H: a@b;;"), -1, ""},
    {S("<a@b c>"), -1, ""},
    {S("a@b (\\"), -1, ""},
    {S("\"a\\"), -1, ""},
    /* Reported before the error stays reported. */
    {S("a@b, <c@d"), -1, "a@b"},
};

struct collect {
	char out[256];
	size_t len;
	const char *value;
	size_t value_len;
};

static void
collect_cb(const char *addr, size_t len, void *arg)
{
	struct collect *c = arg;

	assert_true(len > 0);
	assert_true(len <= c->value_len);
	if (c->len > 0)
		c->out[c->len++] = '|';
	assert_true(c->len + len < sizeof(c->out));
	memcpy(c->out + c->len, addr, len);
	c->len += len;
	c->out[c->len] = '\0';
}

static void
test_addresses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]);
	     i++) {
		const struct addr_case *ac = &addr_cases[i];
		struct collect c = {.len = 0};
		char *v = copy(ac->in, ac->len);
		int n;

		c.out[0] = '\0';
		c.value = v;
		c.value_len = ac->len;
		n = rfc5322_parse_addresses(v, ac->len, collect_cb, &c);
		if (n != ac->count)
			fail_msg("case %zu (%s): %d, want %d", i, ac->in, n,
				 ac->count);
		if (strcmp(c.out, ac->addrs) != 0)
			fail_msg("case %zu (%s): got \"%s\"", i, ac->in, c.out);
		free(v);
	}
}

/* A long list of addresses, and a compacted address too long to copy. */
static void
test_address_limits(void **state)
{
	struct collect c = {.len = 0};
	char *v = malloc(3000);
	int n;
	(void)state;

	assert_non_null(v);
	memset(v, 'a', 3000);
	v[0] = ' ';
	v[1] = '.';
	v[2] = ' ';
	v[2000] = '@';
	c.value = v;
	c.value_len = 3000;
	n = rfc5322_parse_addresses(v, 3000, collect_cb, &c);
	assert_int_equal(n, -1);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_max_field),
	    cmocka_unit_test(test_name_is),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_address_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
