/*
 * test_imap_msg - the cache encoding (round trip; garbage, truncation,
 * bit flips and well-checksummed lies refused), BODY[section] parsing
 * (table of good and bad sections), the header filter, and the CRLF
 * copy with <partial> slicing against a reference.
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
#include "imap/imap_msg_section.h"
#include "util/crc32c.h"

#define S(x) x, sizeof(x) - 1

static const char msg1[] = "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
			   "From: a@b\r\n"
			   "Subject: x\r\n"
			   "Content-Type: multipart/mixed; boundary=b\r\n"
			   "\r\n"
			   "--b\r\n"
			   "Content-Type: text/plain; charset=koi8-r\r\n"
			   "\r\n"
			   "one\r\n"
			   "--b\r\n"
			   "Content-Type: message/rfc822\r\n"
			   "\r\n"
			   "Subject: in\r\n"
			   "\r\n"
			   "two\r\n"
			   "--b--\r\n";

static void
test_roundtrip(void **state)
{
	struct imap_msg *m = imap_msg_parse(msg1, sizeof(msg1) - 1), *d;
	struct strbuf e = {0};

	(void)state;
	imap_msg_encode(m, &e);
	d = imap_msg_decode(e.p, e.len);
	assert_non_null(d);
	assert_true(imap_msg_equal(m, d));
	assert_string_equal(d->parts[1].charset, "koi8-r");
	assert_int_equal(d->nparts, 4);
	assert_true(d->has_sent);
	/* the strings are NUL-terminated copies */
	assert_int_equal(strlen(d->bodystructure), d->bodystructure_len);
	imap_msg_free(&d);
	assert_null(d);

	/* every truncation, every single bit flip: refused (the CRC-32
	 * catches all one-bit errors) */
	for (size_t n = 0; n < e.len; n++)
		assert_null(imap_msg_decode(e.p, n));
	for (size_t i = 0; i < e.len; i++)
		for (int b = 0; b < 8; b++) {
			e.p[i] ^= (char)(1 << b);
			assert_null(imap_msg_decode(e.p, e.len));
			e.p[i] ^= (char)(1 << b);
		}
	/* another version */
	e.p[3] = 1;
	assert_null(imap_msg_decode(e.p, e.len));
	free(e.p);
	imap_msg_free(&m);
}

/* reseal - recompute the trailing CRC after tampering. */
static void
reseal(struct strbuf *e)
{
	uint32_t c = crc32c(0, e->p, e->len - 4);

	for (int i = 0; i < 4; i++)
		e->p[e->len - 4 + i] = (char)(c >> (8 * i));
}

/* An encoding with a good checksum but lying contents is refused by the
 * structure checks: bytes changed one at a time, resealed, must either
 * be refused or decode to something self-consistent. */
static void
test_lies(void **state)
{
	struct imap_msg *m = imap_msg_parse(msg1, sizeof(msg1) - 1);
	struct strbuf e = {0};
	size_t refused = 0;

	(void)state;
	imap_msg_encode(m, &e);
	for (size_t i = 4; i < e.len - 4; i++) {
		static const unsigned char vals[] = {0x00, 0x01, 0x7f,
						     0x80, 0xff, 0x40};
		for (size_t v = 0; v < sizeof(vals); v++) {
			char save = e.p[i];
			e.p[i] = (char)vals[v];
			reseal(&e);
			struct imap_msg *d = imap_msg_decode(e.p, e.len);
			if (d == NULL) {
				refused++;
			} else {
				/* whatever it says stays inside the message */
				for (uint32_t k = 0; k < d->nparts; k++) {
					const struct imap_msg_part *p =
					    &d->parts[k];
					assert_true(p->hdr_off + p->hdr_len <=
						    d->size);
					assert_true(p->body_off + p->body_len <=
						    d->size);
					assert_true(k == 0 || p->parent < k);
				}
				assert_true(d->vsize >= d->size);
				imap_msg_free(&d);
			}
			e.p[i] = save;
		}
	}
	assert_true(refused > 0);
	free(e.p);
	imap_msg_free(&m);
}

static void
test_garbage(void **state)
{
	unsigned seed = 5;
	char buf[512];

	(void)state;
	assert_null(imap_msg_decode("", 0));
	assert_null(imap_msg_decode("PMc\2", 4));
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)rand_r(&seed);
		if (n >= 4)
			memcpy(buf, "PMc\2", 4);
		assert_null(imap_msg_decode(buf, n));
	}
}

struct sec_case {
	const char *in;
	int ok;
	size_t nparts;
	int text;
	size_t nfields;
};

static const struct sec_case sec_cases[] = {
    {"", 0, 0, IMAP_SECTION_BODY, 0},
    {"1", 0, 1, IMAP_SECTION_BODY, 0},
    {"1.2.3", 0, 3, IMAP_SECTION_BODY, 0},
    {"HEADER", 0, 0, IMAP_SECTION_HEADER, 0},
    {"header", 0, 0, IMAP_SECTION_HEADER, 0},
    {"TEXT", 0, 0, IMAP_SECTION_TEXT, 0},
    {"1.MIME", 0, 1, IMAP_SECTION_MIME, 0},
    {"2.HEADER", 0, 1, IMAP_SECTION_HEADER, 0},
    {"HEADER.FIELDS (From To)", 0, 0, IMAP_SECTION_HEADER_FIELDS, 2},
    {"HEADER.FIELDS.NOT (\"Subject\")", 0, 0, IMAP_SECTION_HEADER_FIELDS_NOT,
     1},
    {"1.2.header.fields (a b c)", 0, 2, IMAP_SECTION_HEADER_FIELDS, 3},
    {"4294967295", 0, 1, IMAP_SECTION_BODY, 0},
    {"4294967296", -1, 0, 0, 0},
    {"0", -1, 0, 0, 0},
    {"01", -1, 0, 0, 0},
    {"1.", -1, 0, 0, 0},
    {".1", -1, 0, 0, 0},
    {"1..2", -1, 0, 0, 0},
    {"MIME", -1, 0, 0, 0},
    {"HEADER.FIELDS", -1, 0, 0, 0},
    {"HEADER.FIELDS ()", -1, 0, 0, 0},
    {"HEADER.FIELDS (a", -1, 0, 0, 0},
    {"HEADER.FIELDS (a) ", -1, 0, 0, 0},
    {"HEADER.FIELDS  (a)", -1, 0, 0, 0},
    {"HEADER.FIELDS (a  b)", -1, 0, 0, 0},
    {"HEADER.FIELDS (\"a\\\"b\")", -1, 0, 0, 0},
    {"HEADERX", -1, 0, 0, 0},
    {"TEXT.MIME", -1, 0, 0, 0},
    {"1.TEXTX", -1, 0, 0, 0},
};

static void
test_section_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(sec_cases) / sizeof(sec_cases[0]); i++) {
		const struct sec_case *c = &sec_cases[i];
		struct imap_section s;
		/* an exact-size copy */
		size_t n = strlen(c->in);
		char *cp = malloc(n + 1);
		memcpy(cp, c->in, n);
		int r = imap_section_parse(cp, n, &s);
		if (r != c->ok)
			fail_msg("section case %zu (%s): %d", i, c->in, r);
		if (r == 0 &&
		    (s.nparts != c->nparts || (int)s.text != c->text ||
		     s.nfields != c->nfields))
			fail_msg("section case %zu (%s) parsed wrong", i,
				 c->in);
		free(cp);
	}
	/* too many numbers, too many fields */
	struct strbuf b = {0};
	struct imap_section s;
	for (int i = 0; i <= IMAP_SECTION_MAX_PARTS; i++)
		strbuf_adds(&b, i ? ".1" : "1");
	assert_int_equal(imap_section_parse(b.p, b.len, &s), -1);
	b.len = 0;
	strbuf_adds(&b, "HEADER.FIELDS (");
	for (int i = 0; i <= IMAP_SECTION_MAX_FIELDS; i++)
		strbuf_adds(&b, i ? " X" : "X");
	strbuf_adds(&b, ")");
	assert_int_equal(imap_section_parse(b.p, b.len, &s), -1);
	free(b.p);
}

static void
test_filter(void **state)
{
	static const char hdr[] = "From: a@b\nSubject: one\n two\r\n"
				  "X-A: 1\r\nfrom : c@d\r\nnocolon\r\n\r\n";
	struct imap_section s;
	struct strbuf o = {0};

	(void)state;
	assert_int_equal(
	    imap_section_parse(S("HEADER.FIELDS (FROM subject)"), &s), 0);
	imap_section_filter(hdr, sizeof(hdr) - 1, &s, &o);
	assert_string_equal(o.p, "From: a@b\r\nSubject: one\r\n two\r\n"
				 "from : c@d\r\n\r\n");
	o.len = 0;
	assert_int_equal(imap_section_parse(S("HEADER.FIELDS.NOT (From)"), &s),
			 0);
	imap_section_filter(hdr, sizeof(hdr) - 1, &s, &o);
	assert_string_equal(o.p, "Subject: one\r\n two\r\nX-A: 1\r\n"
				 "nocolon\r\n\r\n");
	free(o.p);
}

/* reference: convert, then slice */
static void
test_copy_crlf(void **state)
{
	static const char src[] = "a\nb\r\n\nc\rd\n";
	const char *want = "a\r\nb\r\n\r\nc\rd\r\n";
	size_t wl = strlen(want);

	(void)state;
	for (uint64_t skip = 0; skip <= wl + 1; skip++)
		for (uint64_t max = 0; max <= wl + 1; max++) {
			struct strbuf o = {0};
			imap_section_copy_crlf(src, sizeof(src) - 1, skip, max,
					       &o);
			size_t from = skip < wl ? (size_t)skip : wl;
			size_t n = wl - from < max ? wl - from : (size_t)max;
			assert_int_equal(o.len, n);
			assert_memory_equal(o.p, want + from, n);
			free(o.p);
		}
}

/* Sections of a message with bare LFs: vlen counts the CRs to come. */
static void
test_resolve_lf(void **state)
{
	static const char m[] = "Subject: x\n\nline\nline\n";
	struct imap_msg *im = imap_msg_parse(m, sizeof(m) - 1);
	struct imap_section s;
	struct imap_section_range r;

	(void)state;
	assert_int_equal(im->vsize, sizeof(m) - 1 + 4);
	assert_int_equal(imap_section_parse(S("TEXT"), &s), 0);
	imap_section_resolve(im, &s, &r);
	assert_int_equal(r.kind, IMAP_SECTION_RANGE);
	assert_int_equal(r.off, 12);
	assert_int_equal(r.len, 10);
	assert_int_equal(r.vlen, 12);
	assert_int_equal(imap_section_parse(S("2"), &s), 0);
	imap_section_resolve(im, &s, &r);
	assert_int_equal(r.kind, IMAP_SECTION_EMPTY);
	imap_msg_free(&im);
}

/* CRC-32C: the RFC 3720 test vectors; the instruction and the portable
 * code agree on every length and alignment. */
static void
test_crc32c(void **state)
{
	unsigned char b[300];

	(void)state;
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	memset(b, 0, 32);
	assert_int_equal(crc32c(0, b, 32), 0x8a9136aa);
	memset(b, 0xff, 32);
	assert_int_equal(crc32c(0, b, 32), 0x62a8ab43);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 131 + 7);
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(b); n++)
			assert_int_equal(crc32c(0, b + off, n),
					 crc32c_portable(0, b + off, n));
	/* continuing equals one pass */
	assert_int_equal(crc32c(crc32c(0, b, 100), b + 100, 200),
			 crc32c(0, b, 300));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_lies),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_section_parse),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_copy_crlf),
	    cmocka_unit_test(test_resolve_lf),
	    cmocka_unit_test(test_crc32c),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
