/*
 * test_smtp_hdrfilter - Return-Path: removal and 8-bit header detection
 * on a streamed message. Every case is fed whole, split at every byte,
 * and one byte at a time; each feed is an exact-size copy, so ASan sees
 * any overread, and all must give the same output and flags.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_hdrfilter.h"

#define S(x) x, sizeof(x) - 1

struct filter_case {
	const char *in;
	size_t len;
	const char *out;
	size_t out_len;
	unsigned removed;
	bool eight;
};

static const struct filter_case cases[] = {
    /* Nothing to do. */
    {S(""), S(""), 0, false},
    {S("Subject: x\r\n\r\nbody\r\n"), S("Subject: x\r\n\r\nbody\r\n"), 0,
     false},
    /* One Return-Path, any case, anywhere in the header. */
    {S("Return-Path: <a@b>\r\nSubject: x\r\n\r\nb\r\n"),
     S("Subject: x\r\n\r\nb\r\n"), 1, false},
    {S("Subject: x\r\nRETURN-PATH:<a@b>\r\nTo: y\r\n\r\nb\r\n"),
     S("Subject: x\r\nTo: y\r\n\r\nb\r\n"), 1, false},
    {S("return-path: <>\r\n\r\n"), S("\r\n"), 1, false},
    /* Folded continuation lines go with it; the next field stays. */
    {S("Return-Path:\r\n <a@b>\r\n\t(x)\r\nTo: y\r\n\r\n"), S("To: y\r\n\r\n"),
     1, false},
    {S("Return-Path: <a>\r\nReturn-Path: <b>\r\n Return-Path: c\r\nX: 1\r\n"
       "\r\n"),
     S("X: 1\r\n\r\n"), 2, false},
    /* RFC 5322 §4.5.6 obs: WSP before the colon. */
    {S("Return-Path \t : <a@b>\r\nX: 1\r\n\r\n"), S("X: 1\r\n\r\n"), 1, false},
    /* Not the field: longer names, no colon, in the body, too much
     * WSP (more than the filter holds: not a field petrel removes). */
    {S("Return-Paths: x\r\nReturn-Pat: y\r\nReturn-Path x\r\n\r\n"
       "Return-Path: body\r\n"),
     S("Return-Paths: x\r\nReturn-Pat: y\r\nReturn-Path x\r\n\r\n"
       "Return-Path: body\r\n"),
     0, false},
    {S("Return-Path                      : x\r\n\r\n"),
     S("Return-Path                      : x\r\n\r\n"), 0, false},
    {S("X-Return-Path: x\r\n Return-Path: y\r\n\r\n"),
     S("X-Return-Path: x\r\n Return-Path: y\r\n\r\n"), 0, false},
    /* A bare-LF empty line ends the header section too (as smtp_hops). */
    {S("X: 1\n\nReturn-Path: x\n"), S("X: 1\n\nReturn-Path: x\n"), 0, false},
    {S("Return-Path: x\nX: 1\n\n"), S("X: 1\n\n"), 1, false},
    /* A CR that is no line end does not end the header. */
    {S("X: 1\r\n\rReturn-Path: x\r\n\r\n"),
     S("X: 1\r\n\rReturn-Path: x\r\n\r\n"), 0, false},
    /* 8-bit bytes: in the header section, and only there. */
    {S("Subject: caf\xc3\xa9\r\n\r\nb\r\n"),
     S("Subject: caf\xc3\xa9\r\n\r\nb\r\n"), 0, true},
    {S("Subject: x\r\n\r\ncaf\xc3\xa9\r\n"),
     S("Subject: x\r\n\r\ncaf\xc3\xa9\r\n"), 0, false},
    {S("Return-Path: <j\xc3\xb6@b>\r\n\r\n"), S("\r\n"), 1, true},
    /* A message that ends inside a held-back line start (BDAT: no
     * final CRLF needed): finish releases it. */
    {S("X: 1\r\nReturn-Pa"), S("X: 1\r\nReturn-Pa"), 0, false},
    {S("X: 1\r\nReturn-Path  "), S("X: 1\r\nReturn-Path  "), 0, false},
    {S("X: 1\r\nReturn-Path: x"), S("X: 1\r\n"), 1, false},
};

/* run - feed in pieces of step bytes (0: whole), then finish. */
static size_t
run(const struct filter_case *c, size_t step, char *out,
    struct smtp_hdrfilter *f)
{
	size_t pos = 0, o = 0;

	smtp_hdrfilter_init(f);
	while (pos < c->len) {
		size_t n =
		    step == 0 || step > c->len - pos ? c->len - pos : step;
		char *piece = malloc(n);
		assert_non_null(piece);
		memcpy(piece, c->in + pos, n);
		size_t w = smtp_hdrfilter_feed(f, piece, n, out + o);
		assert_true(w <= n + SMTP_HDRFILTER_HOLD);
		o += w;
		free(piece);
		pos += n;
	}
	o += smtp_hdrfilter_finish(f, out + o);
	return o;
}

static void
check(const struct filter_case *c, size_t i, size_t step)
{
	char *out = malloc(c->len + 2 * SMTP_HDRFILTER_HOLD + 1);
	struct smtp_hdrfilter f;

	assert_non_null(out);
	size_t o = run(c, step, out, &f);
	if (o != c->out_len || memcmp(out, c->out, o) != 0)
		fail_msg("case %zu step %zu: got %zu bytes \"%.*s\"", i, step,
			 o, (int)o, out);
	assert_int_equal(f.n_removed, c->removed);
	assert_int_equal(f.header_8bit, c->eight);
	free(out);
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(&cases[i], i, 0);
		check(&cases[i], i, 1);
	}
}

/* Split in two at every byte: the second half starts anywhere. */
static void
test_every_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct filter_case *c = &cases[i];
		for (size_t at = 0; at <= c->len; at++) {
			char *out = malloc(c->len + 2 * SMTP_HDRFILTER_HOLD);
			char *a = malloc(at + 1), *b = malloc(c->len - at + 1);
			struct smtp_hdrfilter f;
			size_t o;

			assert_non_null(out);
			assert_non_null(a);
			assert_non_null(b);
			memcpy(a, c->in, at);
			memcpy(b, c->in + at, c->len - at);
			smtp_hdrfilter_init(&f);
			o = smtp_hdrfilter_feed(&f, a, at, out);
			o += smtp_hdrfilter_feed(&f, b, c->len - at, out + o);
			o += smtp_hdrfilter_finish(&f, out + o);
			if (o != c->out_len || memcmp(out, c->out, o) != 0)
				fail_msg("case %zu split at %zu", i, at);
			free(a);
			free(b);
			free(out);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_every_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
