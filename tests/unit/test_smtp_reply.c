/*
 * test_smtp_reply - the pure SMTP reply parser (RFC 5321 §4.2).
 *
 * Each case is a reply as lines; every line is fed from an exact-length
 * heap copy (so an overread is caught) and must give the expected status,
 * and the finished reply its code, joined text and line count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_client.h"

#define MAX_LINES 4

struct reply_case {
	const char *lines[MAX_LINES]; /* NULL-terminated */
	enum smtp_reply_status status[MAX_LINES];
	int code; /* checked when the last status is DONE */
	const char *text;
	size_t n_lines;
};

static const struct reply_case cases[] = {
    /* Single lines. */
    {{"250 Ok"}, {SMTP_REPLY_DONE}, 250, "Ok", 1},
    {{"220 mx.example.net ESMTP"},
     {SMTP_REPLY_DONE},
     220,
     "mx.example.net ESMTP",
     1},
    {{"550 5.1.1 <x@y>: no such user"},
     {SMTP_REPLY_DONE},
     550,
     "5.1.1 <x@y>: no such user",
     1},
    /* No text at all, and an empty text (RFC 5321 §4.2: text optional). */
    {{"250"}, {SMTP_REPLY_DONE}, 250, "", 1},
    {{"354 "}, {SMTP_REPLY_DONE}, 354, "", 1},
    {{"100 x"}, {SMTP_REPLY_DONE}, 100, "x", 1},
    {{"599 x"}, {SMTP_REPLY_DONE}, 599, "x", 1},
    /* Multi-line: same code, "-" until the last. */
    {{"250-mx.example.net", "250-PIPELINING", "250 SIZE 1000"},
     {SMTP_REPLY_MORE, SMTP_REPLY_MORE, SMTP_REPLY_DONE},
     250,
     "mx.example.net PIPELINING SIZE 1000",
     3},
    {{"250-", "250 x"}, {SMTP_REPLY_MORE, SMTP_REPLY_DONE}, 250, "x", 2},
    {{"421-a", "421"}, {SMTP_REPLY_MORE, SMTP_REPLY_DONE}, 421, "a", 2},
    /* Codes differ between lines. */
    {{"250-a", "251 b"}, {SMTP_REPLY_MORE, SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"250-a", "550 b"}, {SMTP_REPLY_MORE, SMTP_REPLY_ERROR}, 0, NULL, 0},
    /* Short and malformed lines. */
    {{""}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"2"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"25"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"2500 x"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"250x"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"250\tOk"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"25a Ok"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{" 250 Ok"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"abc def"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"099 x"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"600 x"}, {SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"250-a", "250x b"}, {SMTP_REPLY_MORE, SMTP_REPLY_ERROR}, 0, NULL, 0},
    {{"250-a", "25"}, {SMTP_REPLY_MORE, SMTP_REPLY_ERROR}, 0, NULL, 0},
};

static enum smtp_reply_status
feed(struct smtp_reply *r, const char *line)
{
	size_t len = strlen(line);
	char *copy = malloc(len + 1);
	enum smtp_reply_status st;

	assert_non_null(copy);
	memcpy(copy, line, len);
	st = smtp_reply_feed(r, copy, len);
	free(copy);
	return st;
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reply_case *tc = &cases[i];
		struct smtp_reply r;
		enum smtp_reply_status st = SMTP_REPLY_MORE;

		memset(&r, 0, sizeof(r));
		for (size_t l = 0; l < MAX_LINES && tc->lines[l] != NULL; l++) {
			st = feed(&r, tc->lines[l]);
			if (st != tc->status[l])
				fail_msg("case %zu line %zu \"%s\": status %d, "
					 "want %d",
					 i, l, tc->lines[l], st, tc->status[l]);
		}
		if (st != SMTP_REPLY_DONE)
			continue;
		assert_int_equal(r.code, tc->code);
		assert_string_equal(r.text, tc->text);
		assert_int_equal(r.n_lines, tc->n_lines);
	}
}

/* A long reply is truncated to the buffer, always terminated. */
static void
test_truncation(void **state)
{
	struct smtp_reply r;
	char line[1100];
	(void)state;

	memset(&r, 0, sizeof(r));
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "250-", 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(feed(&r, line), SMTP_REPLY_MORE);
	line[3] = ' ';
	assert_int_equal(feed(&r, line), SMTP_REPLY_DONE);
	assert_int_equal(r.code, 250);
	assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
	assert_int_equal(r.n_lines, 4);
}

/* A NUL byte in the text does not cut the text short silently. */
static void
test_nul(void **state)
{
	struct smtp_reply r;
	(void)state;

	memset(&r, 0, sizeof(r));
	assert_int_equal(smtp_reply_feed(&r, "250 a\0b", 7), SMTP_REPLY_DONE);
	assert_string_equal(r.text, "a b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
