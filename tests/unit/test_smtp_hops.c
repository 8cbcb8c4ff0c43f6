/*
 * test_smtp_hops - counting Received: header fields.
 *
 * Every case is fed whole, one byte at a time, and split at every
 * position into two chunks (with an empty feed between them); all must
 * give the same count.
 *
 * "Received :" (WSP before the colon) is counted: RFC 5322 §4.5.6 defines
 * obs-received as "Received" *WSP ":", and §4 says obsolete forms MUST be
 * accepted by a receiver. Postfix's is_header() agrees. For loop
 * detection, counting one field too many is harmless; missing a loop is
 * not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_hops.h"

#define S(x) x, sizeof(x) - 1

struct hops_case {
	const char *in;
	size_t len;
	unsigned count;
};

#define R1 "Received: from a by b; Thu, 1 Jan 2024 00:00:00 +0000\r\n"

static const struct hops_case cases[] = {
    {S(""), 0},
    {S("Subject: hi\r\n\r\nbody\r\n"), 0},
    {S(R1 "Subject: hi\r\n\r\nbody\r\n"), 1},
    {S(R1), 1},
    {S("Received:"), 1},
    {S("Received"), 0},
    {S("Received:x\r\n"), 1},
    {S(R1 R1 R1 "From: a@b\r\n" R1 "\r\n"), 4},
    /* Case-insensitive field name (RFC 5322 §1.2.2). */
    {S("RECEIVED: x\r\nreceived: y\r\nReCeIvEd: z\r\n\r\n"), 3},
    /* Obsolete WSP before the colon (§4.5.6): counted. */
    {S("Received : x\r\n\r\n"), 1},
    {S("Received\t: x\r\n\r\n"), 1},
    {S("Received \t  :x\r\n\r\n"), 1},
    /* Not the field: a different name, or WSP inside the name. */
    {S("Received-SPF: pass\r\n\r\n"), 0},
    {S("X-Received: by x\r\n\r\n"), 0},
    {S("Receive d: x\r\n\r\n"), 0},
    {S(" Received: x\r\n\r\n"), 0},
    {S("Receivedx: x\r\n\r\n"), 0},
    {S("Received ; x\r\n\r\n"), 0},
    {S("Subject: Received: x\r\n\r\n"), 0},
    /* In the body: not counted. */
    {S("Subject: a\r\n\r\n" R1 R1), 0},
    {S(R1 "\r\n" R1), 1},
    {S("\r\nReceived: x\r\n"), 0},
    {S("\nReceived: x\r\n"), 0},
    /* Folded continuation lines are part of the previous field. */
    {S("Subject: a\r\n Received: x\r\n\r\n"), 0},
    {S("Subject: a\r\n\tReceived: x\r\n\r\n"), 0},
    {S(R1 " Received: folded\r\n\tReceived: folded\r\n\r\n"), 1},
    /* Bare LF line ends. */
    {S("Received: a\nReceived: b\n\nReceived: c\n"), 2},
    {S("Subject: x\nReceived: a\n Received: b\n"), 1},
    /* The empty line as CRLF CRLF and as LF LF, and mixed. */
    {S("Received: a\r\n\r\nReceived: b\r\n"), 1},
    {S("Received: a\n\nReceived: b\n"), 1},
    {S("Received: a\r\n\nReceived: b\n"), 1},
    {S("Received: a\n\r\nReceived: b\n"), 1},
    /* A lone CR is not a line end, nor an empty line. */
    {S("Subject: a\rReceived: x\r\n\r\n"), 0},
    {S("Subject: a\r\n\rReceived: x\r\n\r\n"), 0},
    {S("Subject: a\r\n\r\rReceived: x\r\nReceived: y\r\n\r\n"), 1},
    {S("\r\rReceived: x\r\n"), 0},
    /* Empty field body, 8-bit and NUL bytes in values. */
    {S("Received:\r\nX: \xff\0\r\nReceived:\xc3\xa9\r\n\r\n"), 2},
    {S("\0Received: x\r\n"), 0},
};

static unsigned
feed_whole(const char *in, size_t len)
{
	struct smtp_hops h;
	char *copy = malloc(len > 0 ? len : 1);

	assert_non_null(copy);
	memcpy(copy, in, len);
	smtp_hops_init(&h);
	smtp_hops_feed(&h, copy, len);
	free(copy);
	return h.count;
}

static unsigned
feed_bytes(const char *in, size_t len)
{
	struct smtp_hops h;

	smtp_hops_init(&h);
	for (size_t i = 0; i < len; i++) {
		char *b = malloc(1);
		assert_non_null(b);
		*b = in[i];
		smtp_hops_feed(&h, b, 1);
		free(b);
	}
	return h.count;
}

static unsigned
feed_split(const char *in, size_t len, size_t at)
{
	struct smtp_hops h;
	char *a = malloc(at > 0 ? at : 1), *b = malloc(len - at + 1);

	assert_non_null(a);
	assert_non_null(b);
	memcpy(a, in, at);
	memcpy(b, in + at, len - at);
	smtp_hops_init(&h);
	smtp_hops_feed(&h, a, at);
	smtp_hops_feed(&h, b, 0);
	smtp_hops_feed(&h, b, len - at);
	free(a);
	free(b);
	return h.count;
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hops_case *c = &cases[i];
		unsigned n = feed_whole(c->in, c->len);
		if (n != c->count)
			fail_msg("case %zu whole: %u, want %u", i, n, c->count);
		n = feed_bytes(c->in, c->len);
		if (n != c->count)
			fail_msg("case %zu bytes: %u, want %u", i, n, c->count);
		for (size_t at = 0; at <= c->len; at++) {
			n = feed_split(c->in, c->len, at);
			if (n != c->count)
				fail_msg("case %zu split %zu: %u, want %u", i,
					 at, n, c->count);
		}
	}
}

static void
test_many(void **state)
{
	struct smtp_hops h;
	(void)state;

	smtp_hops_init(&h);
	for (int i = 0; i < 100; i++)
		smtp_hops_feed(&h, S(R1));
	assert_int_equal(h.count, 100);
	assert_false(h.in_body);
	smtp_hops_feed(&h, S("\r\n"));
	assert_true(h.in_body);
	smtp_hops_feed(&h, S(R1));
	assert_int_equal(h.count, 100);

	/* init resets everything. */
	smtp_hops_init(&h);
	assert_int_equal(h.count, 0);
	assert_false(h.in_body);
	smtp_hops_feed(&h, S(R1));
	assert_int_equal(h.count, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
