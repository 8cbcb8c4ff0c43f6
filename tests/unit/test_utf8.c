/*
 * test_utf8 - the strict RFC 3629 checks: every boundary of the table
 * in §4, fed as exact-size copies so ASan sees any overread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

#define S(x) x, sizeof(x) - 1

static const struct {
	const char *s;
	size_t len;
	size_t seq; /* utf8_seq_len of the first byte */
	bool valid; /* utf8_valid of the whole */
} cases[] = {
    {S(""), 0, true},
    {S("a"), 0, true},
    {S("\x7f"), 0, true},
    {S("\xc2\x80"), 2, true},	      /* U+0080 */
    {S("\xdf\xbf"), 2, true},	      /* U+07FF */
    {S("\xe0\xa0\x80"), 3, true},     /* U+0800 */
    {S("\xed\x9f\xbf"), 3, true},     /* U+D7FF */
    {S("\xee\x80\x80"), 3, true},     /* U+E000 */
    {S("\xef\xbf\xbf"), 3, true},     /* U+FFFF */
    {S("\xf0\x90\x80\x80"), 4, true}, /* U+10000 */
    {S("\xf4\x8f\xbf\xbf"), 4, true}, /* U+10FFFF */
    {S("j\xc3\xb6rg"), 0, true},
    /* Ill-formed. */
    {S("\x80"), 0, false}, /* a lone continuation */
    {S("\xbf"), 0, false},
    {S("\xc0\x80"), 0, false},	       /* overlong NUL */
    {S("\xc1\xbf"), 0, false},	       /* overlong */
    {S("\xe0\x9f\xbf"), 0, false},     /* overlong */
    {S("\xed\xa0\x80"), 0, false},     /* U+D800 */
    {S("\xed\xbf\xbf"), 0, false},     /* U+DFFF */
    {S("\xf0\x8f\xbf\xbf"), 0, false}, /* overlong */
    {S("\xf4\x90\x80\x80"), 0, false}, /* U+110000 */
    {S("\xf5\x80\x80\x80"), 0, false},
    {S("\xff"), 0, false},
    {S("\xc3"), 0, false}, /* cut short */
    {S("\xe4\xb8"), 0, false},
    {S("\xf0\x9f\x98"), 0, false},
    {S("\xc3\x28"), 0, false}, /* a bad continuation */
    {S("\xe4\x28\xad"), 0, false},
    {S("\xf0\x9f\x28\x80"), 0, false},
    {S("ok\xc3\xb6\x80"), 0, false}, /* bad after good */
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = malloc(cases[i].len + 1);
		assert_non_null(s);
		memcpy(s, cases[i].s, cases[i].len);
		if (utf8_seq_len(s, cases[i].len) != cases[i].seq ||
		    utf8_valid(s, cases[i].len) != cases[i].valid)
			fail_msg("case %zu", i);
		/* Every cut of a valid string but the whole is either
		 * valid or ill-formed, never read past its end. */
		for (size_t n = 0; n < cases[i].len; n++)
			(void)utf8_valid(s, n);
		free(s);
	}
	assert_true(utf8_is_ascii(""));
	assert_true(utf8_is_ascii("plain ascii\x7f"));
	assert_false(utf8_is_ascii("j\xc3\xb6rg"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
