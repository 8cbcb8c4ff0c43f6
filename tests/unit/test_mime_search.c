/*
 * test_mime_search - decoding for SEARCH (RFC 2047 words, base64, QP,
 * charsets via iconv), UTF-8 case folding (against Python's str.lower,
 * fold_table.inc), the streaming matcher, the Date: parser, and the
 * SEARCH HEADER/BODY/TEXT keys over whole messages. Streaming pieces are
 * fed whole, split at every byte and in random chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_msg.h"
#include "imap/imap_msg_search.h"
#include "mime/mime_decode.h"
#include "mime/mime_fold.h"
#include "mime/rfc5322_date.h"

#include "fold_table.inc"

#define S(x) x, sizeof(x) - 1

static void
test_fold_table(void **state)
{
	size_t k = 0, n = sizeof(fold_table) / sizeof(fold_table[0]);

	(void)state;
	for (uint32_t c = 0x80; c < 0x580; c++) {
		uint32_t want = c;
		if (k < n && fold_table[k][0] == c)
			want = fold_table[k++][1];
		if (mime_fold_char(c) != want)
			fail_msg("U+%04X folds to U+%04X, want U+%04X", c,
				 mime_fold_char(c), want);
	}
	for (uint32_t c = 0; c < 0x80; c++)
		assert_int_equal(mime_fold_char(c),
				 c >= 'A' && c <= 'Z' ? c + 32 : c);
}

struct str_case {
	const char *in;
	size_t len;
	const char *out;
};

static const struct str_case fold_cases[] = {
    {S("Hello WORLD"), "hello world"},
    {S("\xc3\x89T\xc3\x89"), "\xc3\xa9t\xc3\xa9"},  /* ÉTÉ */
    {S("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91"), /* ΣΟΦΙΑ */
     "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1"},
    {S("\xcf\x82"), "\xcf\x83"},			    /* ς -> σ */
    {S("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2"), /* ПРИВЕТ */
     "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {S("\xd0\x81\xd0\x84"), "\xd1\x91\xd1\x94"}, /* ЁЄ */
    {S("\xc3\x9f"), "\xc3\x9f"},		 /* ß stays */
    {S("a\xff"
       "b\xc3"),
     "a\xef\xbf\xbd"
     "b\xef\xbf\xbd"},						 /* invalid */
    {S("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
};

static void
test_fold_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fold_cases) / sizeof(fold_cases[0]);
	     i++) {
		struct strbuf o = {0};
		mime_fold_utf8(fold_cases[i].in, fold_cases[i].len, &o);
		if (strcmp(o.p, fold_cases[i].out) != 0)
			fail_msg("fold case %zu: %s", i, o.p);
		free(o.p);
	}
}

struct match_case {
	const char *needle, *text;
	size_t text_len;
	bool found;
};

static const struct match_case match_cases[] = {
    {"world", S("Hello WORLD"), true},
    {"WORLD", S("hello world"), true},
    {"wor ld", S("hello world"), false},
    {"", S(""), true},
    {"x", S(""), false},
    {"\xc3\xa9t\xc3\xa9", S("Un \xc3\x89T\xc3\x89 chaud"), true},
    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
     S("\xd0\xbf\xd0\xa0\xd0\x98\xd0\xb2\xd0\xb5\xd1\x82!"), true},
    {"\xcf\x83\xce\xbf\xcf\x86", S("\xce\xa3\xce\x9f\xce\xa6"), true},
    {"abcabd", S("abcabcabd"), true},
    {"\xef\xbf\xbd", S("a\xff"), true},	  /* invalid bytes are U+FFFD */
    {"a\xef\xbf\xbd", S("xa\xc3"), true}, /* cut at the very end */
    {"caf\xc3\xdc\xa9", S("un caf\xc3\xdc\xa9"), true}, /* fuzz find */
    {"\xef\xbf\xbd\xdc\xa9", S("\xc3\xdc\xa9"), true},
    {"ab", S("xa"), false},
};

static void
test_match(void **state)
{
	unsigned seed = 3;

	(void)state;
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
	     i++) {
		const struct match_case *c = &match_cases[i];
		struct mime_needle *n =
		    mime_needle_new(c->needle, strlen(c->needle));
		if (mime_needle_in(n, c->text, c->text_len) != c->found)
			fail_msg("match case %zu", i);
		/* every split into two, one byte at a time, random */
		for (size_t cut = 0; cut <= c->text_len; cut++) {
			struct mime_match m;
			mime_match_init(&m, n);
			mime_match_feed(&m, c->text, cut);
			mime_match_feed(&m, c->text + cut, c->text_len - cut);
			bool f = mime_match_finish(&m);
			mime_match_done(&m);
			if (f != c->found)
				fail_msg("match case %zu cut %zu", i, cut);
		}
		for (int mode = 0; mode < 2; mode++) {
			struct mime_match m;
			bool f = false;
			mime_match_init(&m, n);
			f = m.found;
			for (size_t j = 0; j < c->text_len;) {
				size_t k =
				    mode == 0 ? 1
					      : 1 + (size_t)(rand_r(&seed) % 4);
				if (k > c->text_len - j)
					k = c->text_len - j;
				mime_match_feed(&m, c->text + j, k);
				j += k;
			}
			f = mime_match_finish(&m);
			mime_match_done(&m);
			if (f != c->found)
				fail_msg("match case %zu mode %d", i, mode);
		}
		mime_needle_free(&n);
	}
}

static const struct str_case header_cases[] = {
    {S("plain text"), "plain text"},
    {S("=?UTF-8?Q?Caf=C3=A9_meeting?="), "Caf\xc3\xa9 meeting"},
    {S("=?iso-8859-1?q?caf=E9?= =?utf-8?b?w6l0w6k=?="),
     "caf\xc3\xa9\xc3\xa9t\xc3\xa9"}, /* space between words dropped */
    {S("a =?utf-8?q?b?= c"), "a b c"},
    {S("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "Andr\xc3\xa9 Pirard"},
    {S("=?koi8-r?b?8NLJ18XU?="),
     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {S("=?utf-8*en?q?x?="), "x"},		  /* RFC 2231 lang */
    {S("=?x-unknown?q?caf=E9?="), "caf\xc3\xa9"}, /* unknown: latin-1 */
    {S("=?utf-8?q?broken"), "=?utf-8?q?broken"},
    {S("=?utf-8?x?y?="), "=?utf-8?x?y?="},
    {S("folded\r\n line"), "folded line"},
    {S("raw \xc3\xa9 and \xe9"), "raw \xc3\xa9 and \xc3\xa9"}, /* 8-bit */
    {S("nul\0byte"), "nul\xef\xbf\xbd"
		     "byte"},
    {S("=?utf-8?b?AA==?="), "\xef\xbf\xbd"}, /* encoded NUL */
    {S("=?shift_jis?b?k/qWe4zq?="), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
};

static void
test_decode_header(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	     i++) {
		struct strbuf o = {0};
		mime_decode_header(header_cases[i].in, header_cases[i].len, &o);
		if (o.len != strlen(header_cases[i].out) ||
		    memcmp(o.p, header_cases[i].out, o.len) != 0)
			fail_msg("header case %zu: [%s]", i, o.p);
		free(o.p);
	}
}

struct body_case {
	int cte;
	const char *charset;
	const char *in;
	size_t len;
	const char *out;
};

static const struct body_case body_cases[] = {
    {MIME_CTE_BASE64, NULL, S("aGVsbG8g\r\nd29ybGQ=\r\n"), "hello world"},
    {MIME_CTE_BASE64, NULL, S("aGVs!bG8*\n"), "hello"}, /* junk skipped */
    {MIME_CTE_QP, "utf-8", S("caf=C3=A9 =\r\nsoft=3D=\nx=ZZ=4"),
     "caf\xc3\xa9 soft=x=ZZ=4"},
    {MIME_CTE_QP, "iso-8859-1", S("Gr=FC=DFe"),
     "Gr\xc3\xbc\xc3\x9f"
     "e"},
    {MIME_CTE_8BIT, "windows-1252", S("\x93quoted\x94 \x80"),
     "\xe2\x80\x9cquoted\xe2\x80\x9d \xe2\x82\xac"},
    {MIME_CTE_8BIT, "koi8-r", S("\xf0\xd2\xc9\xd7\xc5\xd4"),
     "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
    {MIME_CTE_BASE64, "utf-16le", S("aABpAA=="), "hi"},
    {MIME_CTE_7BIT, "us-ascii", S("plain \xe9"), "plain \xc3\xa9"},
    {MIME_CTE_8BIT, "utf-8", S("\xe2\x82\xac \xe2\x82"),
     "\xe2\x82\xac \xc3\xa2\xc2\x82"}, /* cut sequence: latin-1 */
    {MIME_CTE_8BIT, "shift_jis", S("\x93\xfa\x96\x7b\x8c\xea"),
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
    {MIME_CTE_8BIT, "utf-8", S("a\0b"),
     "a\xef\xbf\xbd"
     "b"},
    {MIME_CTE_OTHER, "no-such-charset", S("x\xe9"), "x\xc3\xa9"},
};

static char *
decode_split(const struct body_case *c, size_t step, size_t cut, unsigned *seed)
{
	struct mime_decoder *d = mime_decoder_new(c->cte, c->charset);
	struct strbuf o = {0};

	if (cut != (size_t)-1) {
		mime_decoder_feed(d, c->in, cut, &o);
		mime_decoder_feed(d, c->in + cut, c->len - cut, &o);
	} else {
		for (size_t i = 0; i < c->len;) {
			size_t k = step ? step : 1 + (size_t)(rand_r(seed) % 5);
			if (k > c->len - i)
				k = c->len - i;
			mime_decoder_feed(d, c->in + i, k, &o);
			i += k;
		}
	}
	mime_decoder_finish(d, &o);
	mime_decoder_free(&d);
	strbuf_add(&o, "", 0);
	return o.p;
}

static void
test_decode_body(void **state)
{
	unsigned seed = 11;

	(void)state;
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]);
	     i++) {
		const struct body_case *c = &body_cases[i];
		for (size_t cut = 0; cut <= c->len; cut++) {
			char *o = decode_split(c, 0, cut, &seed);
			if (strcmp(o, c->out) != 0)
				fail_msg("body case %zu cut %zu: [%s]", i, cut,
					 o);
			free(o);
		}
		char *o1 = decode_split(c, 1, (size_t)-1, &seed);
		char *o2 = decode_split(c, 0, (size_t)-1, &seed);
		assert_string_equal(o1, c->out);
		assert_string_equal(o2, c->out);
		free(o1);
		free(o2);
		/* the whole-buffer charset form agrees for 8-bit input */
		if (c->cte == MIME_CTE_8BIT) {
			struct strbuf w = {0};
			mime_decode_utf8(c->charset, c->in, c->len, &w);
			assert_string_equal(w.p, c->out);
			free(w.p);
		}
	}
}

struct date_case {
	const char *in;
	int ok;
	long long t; /* UTC seconds */
	int tz;
};

static const struct date_case date_cases[] = {
    {"Mon, 1 Jan 2024 10:00:00 +0100", 0, 1704099600LL, 60},
    {"1 Jan 2024 10:00:00 +0100", 0, 1704099600LL, 60},
    {"Mon,  1 Jan 2024 10:00 +0100 (CET)", 0, 1704099600LL, 60},
    {"Tue, 29 Feb 2000 23:59:60 -0000", 0, 951868800LL, 0},
    {"1 jan 24 10:00 EST", 0, 1704121200LL, -300},
    {"1 Jan 99 00:00:00 GMT", 0, 915148800LL, 0},
    {"1 Jan 124 00:00:00 UT", 0, 1704067200LL, 0}, /* 3-digit year */
    {"Sun, 31 Dec 1899 23:59:59 +0000", 0, -2208988801LL, 0},
    {"Monday, 1 January 2024 10:00:00 -0830", 0, 1704133800LL, -510},
    {"(c) 1 (c) Jan (c) 2024 (c) 10 : 00 (c) +0000", 0, 1704103200LL, 0},
    {"1 Jan 2024 10:00:00 Z", 0, 1704103200LL, 0},
    {"1 Jan 2024 10:00:00", 0, 1704103200LL, 0}, /* no zone */
    {"1 Jan 2024 10:00:00 +0100 CET", 0, 1704099600LL, 60},
    {"31 Apr 2024 10:00:00 +0000", -1, 0, 0},
    {"29 Feb 2023 10:00:00 +0000", -1, 0, 0},
    {"1 Foo 2024 10:00:00 +0000", -1, 0, 0},
    {"2024-01-01 10:00:00", -1, 0, 0},
    {"1 Jan 2024 24:00:00 +0000", -1, 0, 0},
    {"1 Jan 2024 10:60:00 +0000", -1, 0, 0},
    {"1 Jan 2024 10:00:00 +01", -1, 0, 0},
    {"1 Jan 2024 10:00:00 +0160", -1, 0, 0},
    {"1 Jan 2024 10:00:00 XYZ", -1, 0, 0},
    {"", -1, 0, 0},
    {"garbage", -1, 0, 0},
};

static void
test_date(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]);
	     i++) {
		const struct date_case *c = &date_cases[i];
		time_t t;
		int tz;
		int r = rfc5322_date_parse(c->in, strlen(c->in), &t, &tz);
		if (r != c->ok ||
		    (r == 0 && ((long long)t != c->t || tz != c->tz)))
			fail_msg("date case %zu: %d %lld %d", i, r,
				 (long long)t, tz);
	}
	/* SENTON's day is the sender's own date */
	time_t t;
	int tz;
	assert_int_equal(
	    rfc5322_date_parse(S("1 Jan 2024 23:30:00 -0500"), &t, &tz), 0);
	assert_int_equal(rfc5322_date_day(t, tz), 19723); /* 2024-01-01 */
	assert_int_equal(rfc5322_date_day(t, 0), 19724);
	assert_int_equal(rfc5322_date_day(-1, 0), -1);
}

static const char search_msg[] =
    "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\n"
    "To: Team <team@example.org>\r\n"
    "Subject: =?iso-8859-1?q?R=E9union?= du lundi\r\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
    "X-Empty:\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "0J/RgNC40LLQtdGCLCDQvNC40YAh\r\n" /* Привет, мир! */
    "--b\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Caf=E9 cr=E8me</p>\r\n"
    "--b\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "secret-binary-words\r\n"
    "--b\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner subject\r\n"
    "\r\n"
    "inner body text\r\n"
    "--b--\r\n";

struct search_case {
	int key; /* 0 header, 1 body, 2 text */
	const char *field, *needle;
	bool found;
};

static const struct search_case search_cases[] = {
    {0, "Subject", "réunion", true},
    {0, "SUBJECT", "RÉUNION DU", true},
    {0, "Subject", "reunion", false},
    {0, "From", "jörg", true},
    {0, "From", "joerg@example", true},
    {0, "To", "jörg", false},
    {0, "Cc", "", false},
    {0, "X-Empty", "", true},
    {0, "X-Empty", "a", false},
    {0, "Subject", "inner", false}, /* only the message's own header */
    {1, NULL, "привет, МИР", true},
    {1, NULL, "café crème", true},
    {1, NULL, "secret-binary", false}, /* not a text part */
    {1, NULL, "inner body", true},
    {1, NULL, "inner subject", false}, /* no header is body */
    {2, NULL, "inner subject", true},  /* but text */
    {2, NULL, "octet-stream", true},   /* a MIME header is text too */
    {1, NULL, "réunion", false},       /* the top header is not body */
    {1, NULL, "0J/RgNC4", false},      /* decoded, not raw */
    {2, NULL, "réunion", true},
    {2, NULL, "мир", true},
    {2, NULL, "team@", true},
    {2, NULL, "nowhere", false},
};

static void
test_search(void **state)
{
	size_t len = sizeof(search_msg) - 1;
	struct imap_msg *m = imap_msg_parse(search_msg, len);

	(void)state;
	assert_true(m->has_sent);
	assert_int_equal((long long)m->sent, 1704099600LL);
	for (size_t i = 0; i < sizeof(search_cases) / sizeof(search_cases[0]);
	     i++) {
		const struct search_case *c = &search_cases[i];
		struct mime_needle *n =
		    mime_needle_new(c->needle, strlen(c->needle));
		bool f = c->key == 0 ? imap_msg_search_header(search_msg, len,
							      m, c->field, n)
			 : c->key == 1
			     ? imap_msg_search_body(search_msg, len, m, n)
			     : imap_msg_search_text(search_msg, len, m, n);
		if (f != c->found)
			fail_msg("search case %zu (%s)", i, c->needle);
		/* a message shorter than the one parsed is cut, not read */
		f = imap_msg_search_text(search_msg, 10, m, n);
		(void)f;
		mime_needle_free(&n);
	}
	imap_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_table),
	    cmocka_unit_test(test_fold_cases),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_decode_header),
	    cmocka_unit_test(test_decode_body),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
