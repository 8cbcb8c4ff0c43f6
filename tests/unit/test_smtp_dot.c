/*
 * test_smtp_dot - DATA decoder and dot-stuffing encoder.
 *
 * Every decoder case is fed whole, one byte at a time, and split at every
 * position into two chunks; all three must give the same output, status
 * and consumed count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_dot.h"

#define S(x) x, sizeof(x) - 1

struct dot_case {
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
	enum smtp_dot_status status;
	size_t consumed;
};

static const struct dot_case dot_cases[] = {
    /* Empty message straight after 354. */
    {S(".\r\n"), S(""), SMTP_DOT_DONE, 3},
    {S("hello\r\n.\r\n"), S("hello\r\n"), SMTP_DOT_DONE, 10},
    {S("\r\n.\r\n"), S("\r\n"), SMTP_DOT_DONE, 5},
    /* Pipelined command after the mark is not consumed. */
    {S("x\r\n.\r\nQUIT\r\n"), S("x\r\n"), SMTP_DOT_DONE, 6},
    {S(".\r\n.\r\n"), S(""), SMTP_DOT_DONE, 3},
    /* Transparency (§4.5.2). */
    {S("..foo\r\n.\r\n"), S(".foo\r\n"), SMTP_DOT_DONE, 10},
    {S(".foo\r\n.\r\n"), S("foo\r\n"), SMTP_DOT_DONE, 9},
    {S("a\r\n..\r\n.\r\n"), S("a\r\n.\r\n"), SMTP_DOT_DONE, 10},
    {S("a\r\n...\r\n.\r\n"), S("a\r\n..\r\n"), SMTP_DOT_DONE, 11},
    {S(". \r\n.\r\n"), S(" \r\n"), SMTP_DOT_DONE, 7},
    {S("a.b\r\n.\r\n"), S("a.b\r\n"), SMTP_DOT_DONE, 8},
    /* Smuggling: bare LF / bare CR never end a line. */
    {S("a\n.\nb\r\n.\r\n"), S("a\n.\nb\r\n"), SMTP_DOT_DONE, 10},
    {S("a\n.\r\nb\r\n.\r\n"), S("a\n.\r\nb\r\n"), SMTP_DOT_DONE, 11},
    {S("a\r.\rb\r\n.\r\n"), S("a\r.\rb\r\n"), SMTP_DOT_DONE, 10},
    {S("a\r.\r\nb\r\n.\r\n"), S("a\r.\r\nb\r\n"), SMTP_DOT_DONE, 11},
    {S("a\r\n.\nb\r\n.\r\n"), S("a\r\n\nb\r\n"), SMTP_DOT_DONE, 11},
    {S("a\r\n.\n.\r\n"), S("a\r\n\n.\r\n"), SMTP_DOT_MORE, 8},
    {S("a\r\n.\r.\r\n.\r\n"), S("a\r\n\r.\r\n"), SMTP_DOT_DONE, 11},
    {S(".\r\r\n.\r\n"), S("\r\r\n"), SMTP_DOT_DONE, 7},
    {S(".\r.\r\n"), S("\r.\r\n"), SMTP_DOT_MORE, 5},
    {S(".\rx\r\n.\r\n"), S("\rx\r\n"), SMTP_DOT_DONE, 8},
    {S("\r\r\n.\r\n"), S("\r\r\n"), SMTP_DOT_DONE, 6},
    {S("\n.\n"), S("\n.\n"), SMTP_DOT_MORE, 3},
    {S("\r.\r"), S("\r.\r"), SMTP_DOT_MORE, 3},
    {S("\r\n.\n"), S("\r\n\n"), SMTP_DOT_MORE, 4},
    {S("\n.\r\n"), S("\n.\r\n"), SMTP_DOT_MORE, 4},
    {S("\n\r\n.\r\n"), S("\n\r\n"), SMTP_DOT_DONE, 6},
    {S("\n.\r\n.\r\n"), S("\n.\r\n"), SMTP_DOT_DONE, 7},
    /* Incomplete: the withheld ".\r" is not output yet. */
    {S("abc\r\n."), S("abc\r\n"), SMTP_DOT_MORE, 6},
    {S("abc\r\n.\r"), S("abc\r\n"), SMTP_DOT_MORE, 7},
    {S("abc\r"), S("abc\r"), SMTP_DOT_MORE, 4},
    {S(""), S(""), SMTP_DOT_MORE, 0},
    /* 8-bit bytes and NULs pass through. */
    {S("a\0b\xff\x80\r\n.\r\n"), S("a\0b\xff\x80\r\n"), SMTP_DOT_DONE, 10},
    {S("\0\r\n.\0\r\n.\r\n"), S("\0\r\n\0\r\n"), SMTP_DOT_DONE, 10},
    {S(".\0\r\n.\r\n"), S("\0\r\n"), SMTP_DOT_DONE, 7},
};

struct run {
	char *out;
	size_t outlen;
	size_t consumed;
	enum smtp_dot_status status;
};

/*
 * feed - decode in[0..len) in chunks: the first `first` bytes, then
 * pieces of `step` bytes. Checks the per-call contracts as it goes.
 */
static struct run
feed(const char *in, size_t len, size_t first, size_t step)
{
	struct smtp_dot dot;
	struct run r = {malloc(len + 5), 0, 0, SMTP_DOT_MORE};
	size_t pos = 0;
	bool started = false;

	assert_non_null(r.out);
	smtp_dot_init(&dot);
	while (pos < len || !started) {
		size_t n = started ? step : first;
		size_t outlen = 0, consumed = 0;
		/* Exact-size buffers so ASan sees any overrun. */
		char *chunk, *out;

		if (n > len - pos)
			n = len - pos;
		chunk = malloc(n + 1);
		out = malloc(n + 4);
		assert_non_null(chunk);
		assert_non_null(out);
		if (n > 0)
			memcpy(chunk, in + pos, n);
		r.status =
		    smtp_dot_decode(&dot, chunk, n, out, &outlen, &consumed);
		assert_true(outlen <= n + 4);
		assert_true(consumed <= n);
		if (r.status == SMTP_DOT_MORE)
			assert_int_equal(consumed, n);
		memcpy(r.out + r.outlen, out, outlen);
		r.outlen += outlen;
		r.consumed += consumed;
		pos += n;
		started = true;
		free(chunk);
		free(out);
		if (r.status == SMTP_DOT_DONE)
			break;
	}
	return r;
}

static void
check_run(const struct dot_case *c, struct run r, const char *how, size_t at)
{
	if (r.outlen != c->outlen || memcmp(r.out, c->out, c->outlen) != 0 ||
	    r.status != c->status || r.consumed != c->consumed)
		fail_msg("%zu-byte input, %s %zu: outlen %zu (want %zu) "
			 "status %d (want %d) consumed %zu (want %zu)",
			 c->inlen, how, at, r.outlen, c->outlen, r.status,
			 c->status, r.consumed, c->consumed);
	free(r.out);
}

static void
test_dot_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dot_cases) / sizeof(dot_cases[0]); i++) {
		const struct dot_case *c = &dot_cases[i];
		size_t len = c->inlen;

		check_run(c, feed(c->in, len, len, len + 1), "whole", i);
		check_run(c, feed(c->in, len, 1, 1), "bytewise", i);
		for (size_t at = 0; at <= len; at++)
			check_run(c, feed(c->in, len, at, len + 1), "split",
				  at);
		for (size_t step = 2; step < len; step++)
			check_run(c, feed(c->in, len, step, step), "step",
				  step);
	}
}

static void
test_dot_after_done(void **state)
{
	struct smtp_dot dot;
	char out[16];
	size_t outlen, consumed;

	(void)state;
	smtp_dot_init(&dot);
	assert_int_equal(
	    smtp_dot_decode(&dot, S(".\r\nX"), out, &outlen, &consumed),
	    SMTP_DOT_DONE);
	assert_int_equal(consumed, 3);
	assert_int_equal(
	    smtp_dot_decode(&dot, S("more"), out, &outlen, &consumed),
	    SMTP_DOT_DONE);
	assert_int_equal(consumed, 0);
	assert_int_equal(outlen, 0);
}

/* A 100 KB line costs the decoder nothing: no line buffer. */
static void
test_dot_long_line(void **state)
{
	const size_t n = 100 * 1024;
	char *in = malloc(n + 8), *want = malloc(n + 2);
	struct dot_case c;

	(void)state;
	assert_non_null(in);
	assert_non_null(want);
	in[0] = '.';
	in[1] = '.';
	for (size_t i = 2; i < n; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + n, "\r\n.\r\nQ", 6);
	memcpy(want, in + 1, n - 1);
	memcpy(want + n - 1, "\r\n", 2);
	c = (struct dot_case){in, n + 6, want, n + 1, SMTP_DOT_DONE, n + 5};
	check_run(&c, feed(in, c.inlen, c.inlen, c.inlen + 1), "whole", 0);
	check_run(&c, feed(in, c.inlen, 1, 1), "bytewise", 0);
	check_run(&c, feed(in, c.inlen, 4096, 4096), "step", 4096);
	free(in);
	free(want);
}

static const struct {
	const char *in;
	size_t inlen;
	const char *out;
	size_t outlen;
} enc_cases[] = {
    {S(""), S("")},
    {S("."), S("..")},
    {S("a.b\r\n"), S("a.b\r\n")},
    {S(".a\r\n.\r\n..\r\n"), S("..a\r\n..\r\n...\r\n")},
    /* Liberal line start: after any LF. */
    {S("a\n.b"), S("a\n..b")},
    {S("a\r.b"), S("a\r.b")},
};

static void
test_encode_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		char out[64];
		bool bol = true;
		size_t n = smtp_dot_encode(enc_cases[i].in, enc_cases[i].inlen,
					   out, &bol);

		assert_int_equal(n, enc_cases[i].outlen);
		assert_memory_equal(out, enc_cases[i].out, n);
	}
}

/*
 * roundtrip - encode x (in two calls, split at `at`), add the terminator
 * as a sender would, decode, and compare with x. Only a dot after a bare
 * LF comes back doubled: the encoder stuffs it (liberal), the strict
 * decoder does not see a line start there.
 */
static void
roundtrip(const char *x, size_t len, size_t at)
{
	char *enc = malloc(2 * len + 5), *want = malloc(2 * len + 2);
	bool bol = true;
	size_t n, wn = 0;
	struct run r;

	assert_non_null(enc);
	assert_non_null(want);
	n = smtp_dot_encode(x, at, enc, &bol);
	n += smtp_dot_encode(x + at, len - at, enc + n, &bol);
	for (size_t i = 0; i < len; i++) {
		if (x[i] == '.' && i > 0 && x[i - 1] == '\n' &&
		    (i < 2 || x[i - 2] != '\r'))
			want[wn++] = '.';
		want[wn++] = x[i];
	}
	if (len < 2 || x[len - 2] != '\r' || x[len - 1] != '\n') {
		memcpy(enc + n, "\r\n", 2);
		n += 2;
		memcpy(want + wn, "\r\n", 2);
		wn += 2;
	}
	memcpy(enc + n, ".\r\n", 3);
	n += 3;
	r = feed(enc, n, n, n + 1);
	assert_int_equal(r.status, SMTP_DOT_DONE);
	assert_int_equal(r.consumed, n);
	assert_int_equal(r.outlen, wn);
	assert_memory_equal(r.out, want, wn);
	free(r.out);
	free(enc);
	free(want);
}

static void
test_roundtrip(void **state)
{
	static const struct {
		const char *x;
		size_t len;
	} fixed[] = {
	    {S("")},
	    {S("\r\n")},
	    {S(".\r\n")},
	    {S("..\r\n")},
	    {S("a\r\n.\r\n")},
	    {S(".\r\n.\r\n.\r\n")},
	    {S("Subject: x\r\n\r\n.hidden\r\n..\r\n")},
	    {S("a\r\n.\r")},
	    {S("no newline")},
	};
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		for (size_t at = 0; at <= fixed[i].len; at++)
			roundtrip(fixed[i].x, fixed[i].len, at);
	/* Random strings over the interesting alphabet. */
	for (int iter = 0; iter < 2000; iter++) {
		static const char alpha[5] = {'.', '\r', '\n', 'a', '\0'};
		char x[40];
		size_t len;

		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(x);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			x[i] = alpha[(seed >> 16) % sizeof(alpha)];
		}
		roundtrip(x, len, len / 2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dot_cases),
	    cmocka_unit_test(test_dot_after_done),
	    cmocka_unit_test(test_dot_long_line),
	    cmocka_unit_test(test_encode_cases),
	    cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
