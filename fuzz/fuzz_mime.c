/*
 * fuzz_mime - the MIME parser and everything built on it, on any input:
 *
 *   - parsed whole and in chunks whose sizes come from the input: the
 *     two imap_msg must be equal (any split gives the same tree);
 *   - the tree stays within its limits (parts, depth, kept strings) and
 *     every offset inside the message;
 *   - ENVELOPE/BODY/BODYSTRUCTURE of every message node; every part's
 *     section (N, N.MIME, N.HEADER, N.TEXT, HEADER.FIELDS[.NOT]) is
 *     resolved and its bytes produced (ASan checks the ranges);
 *   - ENVELOPE, BODY and BODYSTRUCTURE parse by the RFC 3501 grammar;
 *   - decode(encode(m)) == m, and the raw input decoded as a cache entry
 *     must fail cleanly or give a consistent entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_msg.h"
#include "imap/imap_msg_section.h"
#include "mime/mime_parse.h"

#include "../tests/unit/imap_grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_tree(const struct mime_tree *t, const struct mime_limits *lim,
	   size_t size)
{
	if (t->nparts < 1 || t->nparts > lim->max_parts ||
	    t->strings_len > lim->max_kept + 1 || t->size != size)
		abort();
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *x = &t->parts[i];
		if (x->depth > lim->max_depth ||
		    x->hdr_off + x->hdr_len != x->body_off ||
		    x->body_off + x->body_len > size ||
		    (i > 0 && x->parent >= i))
			abort();
	}
}

static void
sections(const char *msg, size_t len, const struct imap_msg *m)
{
	static const char *const texts[] = {"",
					    ".MIME",
					    ".HEADER",
					    ".TEXT",
					    ".HEADER.FIELDS (Subject From)",
					    ".HEADER.FIELDS.NOT (To)"};
	struct strbuf out = {0};
	char sec[64];

	/* for every part, its number path */
	for (uint32_t i = 0; i < m->nparts && i < 64; i++) {
		uint32_t path[16];
		size_t n = 0;
		for (uint32_t x = i; x != 0 && n < 16;) {
			uint32_t p = m->parts[x].parent, k = 1;
			for (uint32_t c = m->parts[p].child;
			     c != x && c != MIME_NONE; c = m->parts[c].next)
				k++;
			path[n++] = k;
			x = p;
		}
		for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
			struct strbuf sb = {0};
			strbuf_add(&sb, "", 0);
			for (size_t k = n; k > 0; k--) {
				snprintf(sec, sizeof(sec),
					 k == n ? "%u" : ".%u", path[k - 1]);
				strbuf_adds(&sb, sec);
			}
			strbuf_adds(&sb, n == 0 && t > 0 ? texts[t] + 1
					 : n > 0	 ? texts[t]
							 : "");
			struct imap_section s;
			struct imap_section_range r;
			int bad = imap_section_parse(sb.p, sb.len, &s);
			if (bad < 0) {
				free(sb.p);
				continue;
			}
			imap_section_resolve(m, &s, &r);
			if (r.kind == IMAP_SECTION_EMPTY) {
				free(sb.p);
				continue;
			}
			if (r.off + r.len > len || r.vlen < r.len)
				abort();
			out.len = 0;
			if (r.kind == IMAP_SECTION_FILTER) {
				imap_section_filter(msg + r.off, r.len, &s,
						    &out);
			} else {
				imap_section_copy_crlf(msg + r.off, r.len, 0,
						       UINT64_MAX, &out);
				if (out.len != r.vlen)
					abort();
			}
			free(sb.p);
		}
	}
	free(out.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim;
	char *msg = malloc(size ? size : 1);
	struct strbuf e1 = {0}, e2 = {0};

	if (msg == NULL)
		abort();
	memcpy(msg, data, size);
	mime_limits_default(&lim);
	/* small limits too, so that they are reached */
	if (size > 0 && (data[0] & 1)) {
		lim.max_depth = 1 + data[0] % 8;
		lim.max_parts = 2 + data[0] % 16;
		lim.max_header = 64 + data[0];
		lim.max_kept = 128 + data[0] * 4u;
	}
	struct mime_tree *t = mime_parse(msg, size, &lim);
	check_tree(t, &lim, size);
	struct imap_msg *m = imap_msg_from_tree(t);
	/* what IMAP sends parses as RFC 3501 says */
	if (!imap_grammar_ok(m->envelope, m->envelope_len, 0) ||
	    !imap_grammar_ok(m->body, m->body_len, 1) ||
	    !imap_grammar_ok(m->bodystructure, m->bodystructure_len, 2))
		abort();

	/* the same in chunks of sizes taken from the input */
	struct mime_parser *p = mime_parser_new(&lim);
	for (size_t i = 0, k = 0; i < size; k++) {
		size_t n = 1 + data[k % size] % 61;
		if (n > size - i)
			n = size - i;
		mime_parser_feed(p, msg + i, n);
		i += n;
	}
	struct mime_tree *t2 = mime_parser_finish(&p);
	struct imap_msg *m2 = imap_msg_from_tree(t2);
	if (!imap_msg_equal(m, m2))
		abort();

	/* every message node's envelope */
	struct strbuf out = {0};
	for (uint32_t i = 0; i < t->nparts; i++)
		if (t->parts[i].flags & MIME_PART_IS_MESSAGE)
			imap_bodystructure_envelope(t, i, &out);
	free(out.p);

	sections(msg, size, m);

	imap_msg_encode(m, &e1);
	struct imap_msg *d = imap_msg_decode(e1.p, e1.len);
	if (d == NULL || !imap_msg_equal(m, d))
		abort();
	imap_msg_encode(d, &e2);
	if (e1.len != e2.len || memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	imap_msg_free(&d);

	/* the input itself as a cache entry */
	d = imap_msg_decode(msg, size);
	if (d != NULL) {
		for (uint32_t i = 0; i < d->nparts; i++)
			if (d->parts[i].body_off + d->parts[i].body_len >
			    d->size)
				abort();
		imap_msg_free(&d);
	}

	free(e1.p);
	free(e2.p);
	imap_msg_free(&m);
	imap_msg_free(&m2);
	mime_tree_free(&t);
	mime_tree_free(&t2);
	free(msg);
	return 0;
}
