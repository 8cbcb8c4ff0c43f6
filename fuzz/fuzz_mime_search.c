/*
 * fuzz_mime_search - SEARCH support on any input. The first line is the
 * needle, the rest the message (and, for the decoders, the body):
 *
 *   - HEADER/BODY/TEXT over the parsed message must not crash;
 *   - RFC 2047 decoding of the whole input gives valid UTF-8;
 *   - the body decoder, for a CTE and charset chosen by the input, gives
 *     the same output fed whole and fed in input-chosen chunks, and it
 *     is valid UTF-8 without NULs;
 *   - the streaming matcher agrees with the one-shot match for any
 *     split; the Date: parser on the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_msg.h"
#include "imap/imap_msg_search.h"
#include "mime/mime_decode.h"
#include "mime/mime_fold.h"
#include "mime/rfc5322_date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const charsets[] = {
    NULL,	   "utf-8",	"iso-8859-1",	  "windows-1252",
    "koi8-r",	   "shift_jis", "utf-16",	  "utf-7",
    "iso-2022-jp", "gb18030",	"no-such-charset"};

static void
check_utf8(const struct strbuf *b)
{
	for (size_t i = 0; i < b->len;) {
		uint32_t c;
		size_t l = mime_utf8_char(b->p + i, b->len - i, &c);
		if (l == 0 || c == 0)
			abort();
		i += l;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	struct strbuf a = {0}, b = {0};

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	const char *lf = memchr(in, '\n', size < 200 ? size : 200);
	size_t nl = lf ? (size_t)(lf - in) : 0;
	const char *msg = lf ? lf + 1 : in;
	size_t ml = size - (size_t)(msg - in);

	struct mime_needle *n = mime_needle_new(in, nl);
	struct imap_msg *m = imap_msg_parse(msg, ml);
	imap_msg_search_header(msg, ml, m, "Subject", n);
	imap_msg_search_header(msg, ml, m, NULL, n);
	imap_msg_search_body(msg, ml, m, n);
	imap_msg_search_text(msg, ml, m, n);

	/* one-shot vs streamed match over the raw message */
	bool whole = mime_needle_in(n, msg, ml);
	struct mime_match mt;
	mime_match_init(&mt, n);
	bool f = mt.found;
	for (size_t i = 0, k = 0; i < ml; k++) {
		size_t c = 1 + (size > 0 ? data[k % size] % 7 : 0);
		if (c > ml - i)
			c = ml - i;
		mime_match_feed(&mt, msg + i, c);
		i += c;
	}
	f = mime_match_finish(&mt);
	mime_match_done(&mt);
	if (f != whole)
		abort();

	mime_decode_header(in, size, &a);
	check_utf8(&a);

	int cte = size > 0 ? data[0] % 6 : 0;
	const char *cs =
	    charsets[size > 1 ? data[1] % (sizeof(charsets) / sizeof(*charsets))
			      : 0];
	struct mime_decoder *d = mime_decoder_new(cte, cs);
	a.len = 0;
	mime_decoder_feed(d, msg, ml, &a);
	mime_decoder_finish(d, &a);
	mime_decoder_free(&d);
	d = mime_decoder_new(cte, cs);
	for (size_t i = 0, k = 0; i < ml; k++) {
		size_t c = 1 + data[k % size] % 13;
		if (c > ml - i)
			c = ml - i;
		mime_decoder_feed(d, msg + i, c, &b);
		i += c;
	}
	mime_decoder_finish(d, &b);
	mime_decoder_free(&d);
	strbuf_add(&a, "", 0);
	strbuf_add(&b, "", 0);
	check_utf8(&a);
	/* stateful charsets (UTF-7, ISO-2022-JP) may resynchronise
	 * differently after an error; the others must agree exactly */
	if (cs == NULL ||
	    (strcmp(cs, "utf-7") != 0 && strcmp(cs, "iso-2022-jp") != 0))
		if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
			abort();

	time_t t;
	int tz;
	if (rfc5322_date_parse(in, size, &t, &tz) == 0 &&
	    (tz < -24 * 60 || tz > 24 * 60))
		abort();

	free(a.p);
	free(b.p);
	imap_msg_free(&m);
	mime_needle_free(&n);
	free(in);
	return 0;
}
