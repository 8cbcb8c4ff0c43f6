/*
 * test_imap_bodystructure - ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE
 * and BODY[section] of every corpus message (tests/mime/corpus.py)
 * against what Dovecot 2.3 answers for it (imap_fixtures.inc, made by
 * tests/mime/make_fixtures.py), each message parsed whole, one byte at a
 * time and in random chunks (all three must give the same imap_msg), and
 * through the cache encoding (decode(encode(m)) == m); and SEARCH
 * BODY/TEXT/HEADER over the whole corpus, which must find the messages
 * Dovecot finds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_msg.h"
#include "imap/imap_msg_search.h"
#include "imap/imap_msg_section.h"
#include "mime/mime_parse.h"

struct imap_fixture {
	const char *name;
	const char *msg;
	size_t len;
	size_t size; /* RFC822.SIZE */
	const char *envelope, *body, *bodystructure;
};

struct imap_fixture_section {
	size_t fixture;
	const char *section;
	const char *data;
	size_t len;
};

struct imap_fixture_search {
	const char *key, *field, *needle;
	const char *found; /* fixture indices, space-separated */
};

#include "imap_fixtures.inc"
#include "imap_grammar.h"

#define NFIX (sizeof(imap_fixtures) / sizeof(imap_fixtures[0]))

/* parse_split - parse msg fed in chunks: step 0 = random sizes. */
static struct imap_msg *
parse_split(const char *msg, size_t len, size_t step, unsigned *seed)
{
	struct mime_parser *p = mime_parser_new(NULL);
	struct mime_tree *t;
	struct imap_msg *m;
	size_t i = 0;

	while (i < len) {
		size_t n = step ? step : 1 + (size_t)(rand_r(seed) % 97);
		if (n > len - i)
			n = len - i;
		/* an exact-size heap copy: ASan sees any overread */
		char *c = malloc(n);
		assert_non_null(c);
		memcpy(c, msg + i, n);
		mime_parser_feed(p, c, n);
		free(c);
		i += n;
	}
	t = mime_parser_finish(&p);
	assert_null(p);
	m = imap_msg_from_tree(t);
	mime_tree_free(&t);
	return m;
}

static int failures;

static void
print_esc(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 32 && c < 127 && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
}

static void
check_str(const char *fix, const char *what, const char *got, size_t gl,
	  const char *want, size_t wl)
{
	if (gl == wl && memcmp(got, want, gl) == 0)
		return;
	failures++;
	fprintf(stderr, "%s %s:\n  got  ", fix, what);
	print_esc(got, gl);
	fprintf(stderr, "\n  want ");
	print_esc(want, wl);
	fprintf(stderr, "\n");
}

static void
section_bytes(const struct imap_fixture *f, const struct imap_msg *m,
	      const char *sec, struct strbuf *out)
{
	struct imap_section s;
	struct imap_section_range r;

	out->len = 0;
	strbuf_add(out, "", 0);
	assert_int_equal(imap_section_parse(sec, strlen(sec), &s), 0);
	imap_section_resolve(m, &s, &r);
	if (r.kind == IMAP_SECTION_EMPTY)
		return;
	assert_true(r.off + r.len <= f->len);
	if (r.kind == IMAP_SECTION_RANGE) {
		imap_section_copy_crlf(f->msg + r.off, r.len, 0, UINT64_MAX,
				       out);
		assert_int_equal(out->len, r.vlen);
	} else {
		imap_section_filter(f->msg + r.off, r.len, &s, out);
	}
}

static void
test_fixtures(void **state)
{
	unsigned seed = 42;

	(void)state;
	failures = 0;
	for (size_t i = 0; i < NFIX; i++) {
		const struct imap_fixture *f = &imap_fixtures[i];
		struct imap_msg *m = imap_msg_parse(f->msg, f->len);
		struct imap_msg *m1 = parse_split(f->msg, f->len, 1, &seed);
		struct imap_msg *mr = parse_split(f->msg, f->len, 0, &seed);
		struct strbuf enc = {0};
		struct imap_msg *md;

		if (!imap_msg_equal(m, m1) || !imap_msg_equal(m, mr)) {
			failures++;
			fprintf(stderr, "%s: split parse differs\n", f->name);
		}
		imap_msg_encode(m, &enc);
		md = imap_msg_decode(enc.p, enc.len);
		if (md == NULL || !imap_msg_equal(m, md)) {
			failures++;
			fprintf(stderr, "%s: cache round trip differs\n",
				f->name);
		}
		if (!imap_grammar_ok(m->envelope, m->envelope_len, 0) ||
		    !imap_grammar_ok(m->body, m->body_len, 1) ||
		    !imap_grammar_ok(m->bodystructure, m->bodystructure_len,
				     2)) {
			failures++;
			fprintf(stderr, "%s: not RFC 3501 grammar\n", f->name);
		}
		check_str(f->name, "ENVELOPE", m->envelope, m->envelope_len,
			  f->envelope, strlen(f->envelope));
		check_str(f->name, "BODY", m->body, m->body_len, f->body,
			  strlen(f->body));
		check_str(f->name, "BODYSTRUCTURE", m->bodystructure,
			  m->bodystructure_len, f->bodystructure,
			  strlen(f->bodystructure));
		if (m->vsize != f->size) {
			failures++;
			fprintf(stderr, "%s: RFC822.SIZE %llu, want %zu\n",
				f->name, (unsigned long long)m->vsize, f->size);
		}
		free(enc.p);
		imap_msg_free(&md);
		imap_msg_free(&m1);
		imap_msg_free(&mr);
		imap_msg_free(&m);
	}
	assert_int_equal(failures, 0);
}

static void
test_fixture_sections(void **state)
{
	struct strbuf out = {0};
	size_t n =
	    sizeof(imap_fixture_sections) / sizeof(imap_fixture_sections[0]);

	(void)state;
	failures = 0;
	for (size_t i = 0; i < n; i++) {
		const struct imap_fixture_section *s =
		    &imap_fixture_sections[i];
		const struct imap_fixture *f = &imap_fixtures[s->fixture];
		struct imap_msg *m = imap_msg_parse(f->msg, f->len);
		char what[128];
		section_bytes(f, m, s->section, &out);
		snprintf(what, sizeof(what), "BODY[%s]", s->section);
		check_str(f->name, what, out.p, out.len, s->data, s->len);
		imap_msg_free(&m);
	}
	free(out.p);
	assert_int_equal(failures, 0);
}

static void
test_fixture_searches(void **state)
{
	size_t n =
	    sizeof(imap_fixture_searches) / sizeof(imap_fixture_searches[0]);
	struct imap_msg *m[NFIX];

	(void)state;
	failures = 0;
	for (size_t i = 0; i < NFIX; i++)
		m[i] =
		    imap_msg_parse(imap_fixtures[i].msg, imap_fixtures[i].len);
	for (size_t q = 0; q < n; q++) {
		const struct imap_fixture_search *s = &imap_fixture_searches[q];
		struct mime_needle *nd =
		    mime_needle_new(s->needle, strlen(s->needle));
		struct strbuf got = {0};
		strbuf_add(&got, "", 0);
		for (size_t i = 0; i < NFIX; i++) {
			const struct imap_fixture *f = &imap_fixtures[i];
			bool hit;
			if (strcmp(s->key, "BODY") == 0)
				hit = imap_msg_search_body(f->msg, f->len, m[i],
							   nd);
			else if (strcmp(s->key, "TEXT") == 0)
				hit = imap_msg_search_text(f->msg, f->len, m[i],
							   nd);
			else
				hit = imap_msg_search_header(
				    f->msg, f->len, m[i], s->field, nd);
			if (hit) {
				char b[16];
				snprintf(b, sizeof(b), got.len ? " %zu" : "%zu",
					 i);
				strbuf_adds(&got, b);
			}
		}
		if (strcmp(got.p, s->found) != 0) {
			failures++;
			fprintf(stderr,
				"SEARCH %s %s \"%s\": got [%s] want [%s]\n",
				s->key, s->field ? s->field : "", s->needle,
				got.p, s->found);
		}
		free(got.p);
		mime_needle_free(&nd);
	}
	for (size_t i = 0; i < NFIX; i++)
		imap_msg_free(&m[i]);
	assert_int_equal(failures, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixtures),
	    cmocka_unit_test(test_fixture_sections),
	    cmocka_unit_test(test_fixture_searches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
