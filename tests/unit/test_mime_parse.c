/*
 * test_mime_parse - the streaming MIME parser on malformed and hostile
 * input: every case is parsed whole, one byte at a time and in random
 * chunks, and the three trees must be identical (every field, every
 * string); every tree must be consistent (offsets inside the message,
 * children inside their parent's body, siblings in order); and each
 * case's tree is compared with a dump written out by hand.
 *
 * The corpus messages (test_imap_bodystructure) are checked against
 * Dovecot; these cases are about what no server can be asked: limits,
 * NULs, bare LF counts, RFC 2231 decoding to UTF-8.
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
#include "imap_grammar.h"
#include "mime/mime_parse.h"
#include "util/strbuf.h"

#define S(x) x, sizeof(x) - 1

/* dump_str - s as [text] or - when absent. */
static void
dump_str(const struct mime_tree *t, struct mime_str s, struct strbuf *o)
{
	const char *p = mime_str_ptr(t, s);

	if (p == NULL) {
		strbuf_adds(o, "-");
		return;
	}
	strbuf_add(o, "[", 1);
	strbuf_add(o, p, s.len);
	strbuf_add(o, "]", 1);
}

/* dump - one line per part: depth, type/subtype, header and body
 * offset+length, lines, bare LFs, flags, and the decoded parameters. */
static void
dump(const struct mime_tree *t, struct strbuf *o)
{
	char b[256];

	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *x = &t->parts[i];
		snprintf(b, sizeof(b), "%u ", x->depth);
		strbuf_adds(o, b);
		dump_str(t, x->type, o);
		strbuf_add(o, "/", 1);
		dump_str(t, x->subtype, o);
		snprintf(b, sizeof(b),
			 " h%llu+%llu b%llu+%llu l%llu lf%llu/%llu f%x",
			 (unsigned long long)x->hdr_off,
			 (unsigned long long)x->hdr_len,
			 (unsigned long long)x->body_off,
			 (unsigned long long)x->body_len,
			 (unsigned long long)x->body_lines,
			 (unsigned long long)x->hdr_bare_lf,
			 (unsigned long long)x->body_bare_lf, x->flags);
		strbuf_adds(o, b);
		for (uint32_t k = x->param; k < x->param + x->nparam; k++) {
			strbuf_add(o, " ", 1);
			dump_str(t, t->params[k].name, o);
			strbuf_add(o, "=", 1);
			dump_str(t, t->params[k].value, o);
		}
		for (uint32_t k = x->dparam; k < x->dparam + x->ndparam; k++) {
			strbuf_add(o, " d", 2);
			dump_str(t, t->params[k].name, o);
			strbuf_add(o, "=", 1);
			dump_str(t, t->params[k].value, o);
		}
		strbuf_add(o, "\n", 1);
	}
}

/* full_dump - dump plus everything else in the tree, for comparing two
 * parses of the same input. */
static void
full_dump(const struct mime_tree *t, struct strbuf *o)
{
	char b[128];

	dump(t, o);
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *x = &t->parts[i];
		snprintf(b, sizeof(b), "%u %u %u %u %u ", x->parent, x->child,
			 x->next, x->cte, x->env);
		strbuf_adds(o, b);
		const struct mime_str *s[] = {
		    &x->charset, &x->cte_name, &x->id,	       &x->description,
		    &x->md5,	 &x->location, &x->disposition};
		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
			dump_str(t, *s[k], o);
		for (uint32_t k = x->lang; k < x->lang + x->nlang; k++)
			dump_str(t, t->params[k].name, o);
		for (uint32_t k = x->param; k < x->param + x->nparam; k++) {
			dump_str(t, t->params[k].imap_name, o);
			dump_str(t, t->params[k].imap_value, o);
		}
		strbuf_add(o, "\n", 1);
	}
	for (uint32_t i = 0; i < t->nenvs; i++) {
		const struct mime_envelope *e = &t->envs[i];
		const struct mime_str *s[] = {
		    &e->date,	     &e->subject,   &e->from, &e->sender,
		    &e->reply_to,    &e->to,	    &e->cc,   &e->bcc,
		    &e->in_reply_to, &e->message_id};
		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
			dump_str(t, *s[k], o);
		strbuf_add(o, "\n", 1);
	}
	snprintf(b, sizeof(b), "size %llu flags %x\n",
		 (unsigned long long)t->size, t->flags);
	strbuf_adds(o, b);
}

/* check_consistent - the invariants every tree must hold. */
static void
check_consistent(const struct mime_tree *t, size_t len)
{
	assert_true(t->nparts >= 1);
	assert_int_equal(t->size, len);
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *x = &t->parts[i];
		assert_true(x->hdr_off + x->hdr_len == x->body_off);
		assert_true(x->body_off + x->body_len <= len);
		assert_true(x->hdr_bare_lf <= x->hdr_len);
		assert_true(x->body_bare_lf <= x->body_lines);
		assert_true(x->body_lines <= x->body_len);
		if (i == 0) {
			assert_int_equal(x->parent, MIME_NONE);
			assert_int_equal(x->hdr_off, 0);
			assert_int_equal(x->body_off + x->body_len, len);
		} else {
			const struct mime_part *p = &t->parts[x->parent];
			assert_true(x->parent < i);
			assert_int_equal(x->depth, p->depth + 1);
			assert_true(x->hdr_off >= p->body_off);
			assert_true(x->body_off + x->body_len <=
				    p->body_off + p->body_len);
		}
		if (x->next != MIME_NONE) {
			const struct mime_part *n = &t->parts[x->next];
			assert_int_equal(n->parent, x->parent);
			assert_true(n->hdr_off >= x->body_off + x->body_len);
		}
		if ((x->flags & MIME_PART_IS_MESSAGE) != 0)
			assert_true(x->env < t->nenvs);
		assert_true(x->param + x->nparam <= t->nparams);
		assert_true(x->dparam + x->ndparam <= t->nparams);
	}
	assert_true(t->strings_len <= MIME_DEFAULT_MAX_KEPT + 1);
}

static struct mime_tree *
parse_chunks(const char *in, size_t len, size_t step, unsigned *seed,
	     const struct mime_limits *lim)
{
	struct mime_parser *p = mime_parser_new(lim);
	size_t i = 0;

	while (i < len) {
		size_t n = step ? step : 1 + (size_t)(rand_r(seed) % 200);
		if (n > len - i)
			n = len - i;
		char *c = malloc(n);
		assert_non_null(c);
		memcpy(c, in + i, n);
		mime_parser_feed(p, c, n);
		free(c);
		i += n;
	}
	return mime_parser_finish(&p);
}

/* check_splits - whole, byte by byte and random chunks agree; returns
 * the whole parse's dump (caller frees). */
static char *
check_splits(const char *in, size_t len, const struct mime_limits *lim)
{
	struct strbuf a = {0}, b = {0}, c = {0}, d = {0};
	unsigned seed = (unsigned)len;
	struct mime_tree *t0 = mime_parse(in, len, lim);
	struct mime_tree *t1 = parse_chunks(in, len, 1, &seed, lim);
	struct mime_tree *t2 = parse_chunks(in, len, 0, &seed, lim);

	check_consistent(t0, len);
	full_dump(t0, &a);
	full_dump(t1, &b);
	full_dump(t2, &c);
	assert_string_equal(a.p, b.p);
	assert_string_equal(a.p, c.p);
	dump(t0, &d);
	mime_tree_free(&t0);
	mime_tree_free(&t1);
	mime_tree_free(&t2);
	free(a.p);
	free(b.p);
	free(c.p);
	return d.p;
}

struct parse_case {
	const char *in;
	size_t len;
	const char *dump;
};

static const struct parse_case parse_cases[] = {
    /* Empty input: one empty message. */
    {S(""), "0 [text]/[plain] h0+0 b0+0 l0 lf0/0 f9c\n"},
    /* Bare LF everywhere: counted; sizes stay physical. */
    {S("A: b\nContent-Type: text/plain; charset=utf-8\n\nx\ny\n"),
     "0 [text]/[plain] h0+46 b46+4 l2 lf3/2 fc [charset]=[utf-8]\n"},
    /* NULs in header and body are bytes like others. */
    {S("Subject: a\0b\r\nContent-Type: text/plain\r\n\r\n\0\0\r\n"),
     "0 [text]/[plain] h0+42 b42+4 l1 lf0/0 fc\n"},
    /* A multipart whose boundary never comes: the body is preamble. */
    {S("Content-Type: multipart/mixed; boundary=zz\r\n\r\n--z\r\n"),
     "0 [multipart]/[mixed] h0+46 b46+5 l1 lf0/0 f5 [boundary]=[zz]\n"},
    /* Boundary line split by bare LF and CRLF mix; the part ends before
     * the LF that precedes the delimiter. */
    {S("Content-Type: multipart/mixed; boundary=b\n\n--b\nX: 1\r\n\r\n"
       "one\n--b--\n"),
     "0 [multipart]/[mixed] h0+43 b43+22 l5 lf2/3 f5 [boundary]=[b]\n"
     "1 [text]/[plain] h47+8 b55+3 l0 lf0/0 f18\n"},
    /* RFC 2231: the decoded values are UTF-8 (ISO-8859-1 converted),
     * and an RFC 2047 word in a quoted value is decoded. */
    {S("Content-Type: application/x; name*=iso-8859-1''caf%E9;\r\n"
       " title=\"=?utf-8?q?=C3=A9t=C3=A9?=\"\r\n"
       "Content-Disposition: attachment; filename*0*=UTF-8''%E2%82%AC;\r\n"
       " filename*1=\" rates.txt\"\r\n\r\nx"),
     "0 [application]/[x] h0+184 b184+1 l0 lf0/0 f4 "
     "[title]=[\xc3\xa9t\xc3\xa9] [name]=[caf\xc3\xa9] "
     "d[filename]=[\xe2\x82\xac rates.txt]\n"},
    /* A header without its empty line, then EOF. */
    {S("Content-Type: multipart/mixed; boundary=b"),
     "0 [multipart]/[mixed] h0+41 b41+0 l0 lf0/0 f85 [boundary]=[b]\n"},
    /* Nested message/rfc822 with a multipart inside; the epilogue. */
    {S("Content-Type: message/rfc822\r\n\r\n"
       "Content-Type: multipart/alternative; boundary=\"q\"\r\n\r\n"
       "--q\r\n\r\na\r\n--q--\r\nepilogue"),
     "0 [message]/[rfc822] h0+32 b32+78 l6 lf0/0 f406\n"
     "1 [multipart]/[alternative] h32+53 b85+25 l4 lf0/0 f5 "
     "[boundary]=[q]\n"
     "2 [text]/[plain] h90+2 b92+1 l0 lf0/0 f18\n"},
    /* 8-bit header bytes. */
    {S("Subject: \xe9t\xe9\r\n\r\n"),
     "0 [text]/[plain] h0+16 b16+0 l0 lf0/0 f11c\n"},
};

static void
test_parse_cases(void **state)
{
	int bad = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		char *d = check_splits(c->in, c->len, NULL);
		if (strcmp(d, c->dump) != 0) {
			fprintf(stderr, "case %zu:\n%s\nwant\n%s", i, d,
				c->dump);
			bad++;
		}
		free(d);
	}
	assert_int_equal(bad, 0);
}

/* Nesting far past the depth limit: the innermost parts are opaque. */
static void
test_depth_limit(void **state)
{
	struct strbuf m = {0};
	struct mime_limits lim;

	(void)state;
	for (int i = 0; i < 300; i++) {
		char b[128];
		snprintf(b, sizeof(b),
			 "Content-Type: multipart/mixed; boundary=b%dx\r\n\r\n"
			 "--b%dx\r\n",
			 i, i);
		strbuf_adds(&m, b);
	}
	strbuf_adds(&m, "\r\nleaf\r\n");
	free(check_splits(m.p, m.len, NULL));
	struct mime_tree *t = mime_parse(m.p, m.len, NULL);
	uint32_t maxd = 0, limited = 0;
	for (uint32_t i = 0; i < t->nparts; i++) {
		if (t->parts[i].depth > maxd)
			maxd = t->parts[i].depth;
		if (t->parts[i].flags & MIME_PART_LIMIT)
			limited++;
	}
	assert_int_equal(maxd, MIME_DEFAULT_MAX_DEPTH);
	assert_int_equal(limited, 1);
	assert_true(t->flags & MIME_TREE_LIMIT);
	mime_tree_free(&t);

	/* message/rfc822 nesting, with a small limit */
	m.len = 0;
	for (int i = 0; i < 50; i++)
		strbuf_adds(&m, "Content-Type: message/rfc822\r\n\r\n");
	strbuf_adds(&m, "\r\nleaf\r\n");
	mime_limits_default(&lim);
	lim.max_depth = 10;
	free(check_splits(m.p, m.len, &lim));
	t = mime_parse(m.p, m.len, &lim);
	assert_int_equal(t->nparts, 11);
	assert_true(t->parts[10].flags & MIME_PART_LIMIT);
	mime_tree_free(&t);
	free(m.p);
}

/* More parts than allowed: the rest is body text of the last part. */
static void
test_parts_limit(void **state)
{
	struct strbuf m = {0};
	struct mime_limits lim;

	(void)state;
	strbuf_adds(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int i = 0; i < 30000; i++)
		strbuf_adds(&m, "--b\r\n\r\nx\r\n");
	strbuf_adds(&m, "--b--\r\n");
	struct mime_tree *t = mime_parse(m.p, m.len, NULL);
	check_consistent(t, m.len);
	assert_int_equal(t->nparts, MIME_DEFAULT_MAX_PARTS);
	/* the last part runs to the end */
	const struct mime_part *last = &t->parts[t->nparts - 1];
	assert_int_equal(last->body_off + last->body_len, m.len);
	mime_tree_free(&t);
	mime_limits_default(&lim);
	lim.max_parts = 3;
	free(check_splits(m.p, m.len, &lim));
	/* closing a message part whose header never ended makes its empty
	 * message: that may take the last part (found by fuzz_mime) */
	static const char em[] =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: message/rfc822\r\n--b\r\n\r\nx\r\n--b--\r\n";
	free(check_splits(em, sizeof(em) - 1, &lim));
	t = mime_parse(em, sizeof(em) - 1, &lim);
	assert_int_equal(t->nparts, 3);
	assert_true(t->flags & MIME_TREE_LIMIT);
	mime_tree_free(&t);
	free(m.p);
}

/* A header larger than max_header: the fields after the cut are not
 * looked at, but the offsets stay exact. */
static void
test_header_limit(void **state)
{
	struct strbuf m = {0};
	struct mime_limits lim;

	(void)state;
	strbuf_adds(&m, "Subject: big\r\n");
	for (int i = 0; i < 5000; i++)
		strbuf_adds(&m,
			    "X-Filler: 0123456789012345678901234567890123456789"
			    "0123456789\r\n");
	strbuf_adds(&m, "Content-Type: text/html\r\n\r\nbody\r\n");
	mime_limits_default(&lim);
	lim.max_header = 64 * 1024;
	free(check_splits(m.p, m.len, &lim));
	struct mime_tree *t = mime_parse(m.p, m.len, &lim);
	const struct mime_part *x = &t->parts[0];
	assert_true(x->flags & MIME_PART_HEADER_CUT);
	assert_true(x->flags & MIME_PART_DEFAULT_TYPE); /* Content-Type cut */
	assert_int_equal(x->body_len, 6);
	assert_int_equal(x->hdr_len, m.len - 6);
	assert_true(mime_str_present(t->envs[0].subject));
	mime_tree_free(&t);
	/* one line longer than the limit */
	m.len = 0;
	strbuf_adds(&m, "Subject: ");
	for (int i = 0; i < 100000; i++)
		strbuf_adds(&m, "x");
	strbuf_adds(&m, "\r\nFrom: a@b\r\n\r\nbody");
	free(check_splits(m.p, m.len, &lim));
	free(m.p);
}

/* The kept-strings limit: past it no more structure, nothing lost. */
static void
test_kept_limit(void **state)
{
	struct strbuf m = {0};
	struct mime_limits lim;

	(void)state;
	strbuf_adds(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int i = 0; i < 200; i++)
		strbuf_adds(&m,
			    "--b\r\nContent-Type: text/plain; "
			    "name=\"a-long-file-name-for-the-limit.txt\"\r\n"
			    "\r\nx\r\n");
	strbuf_adds(&m, "--b--\r\n");
	mime_limits_default(&lim);
	lim.max_kept = 2000;
	free(check_splits(m.p, m.len, &lim));
	for (uint32_t kept = 1; kept < 3000; kept += 7) {
		lim.max_kept = kept;
		struct mime_tree *t = mime_parse(m.p, m.len, &lim);
		assert_true(t->flags & MIME_TREE_LIMIT);
		assert_true(t->strings_len <= kept + 1);
		/* whatever was lost, IMAP gets valid syntax */
		struct imap_msg *im = imap_msg_from_tree(t);
		assert_true(imap_grammar_ok(im->envelope, im->envelope_len, 0));
		assert_true(imap_grammar_ok(im->body, im->body_len, 1));
		assert_true(imap_grammar_ok(im->bodystructure,
					    im->bodystructure_len, 2));
		imap_msg_free(&im);
		mime_tree_free(&t);
	}
	free(m.p);
}

/* A 50 MB message fed in 64 KiB chunks: one part, exact counts, and the
 * parser keeps nothing of the body. */
static void
test_big_body(void **state)
{
	size_t n = 50u << 20, done = 0;
	char *chunk = malloc(64 * 1024);
	struct mime_parser *p = mime_parser_new(NULL);
	const char *hdr = "Content-Type: application/octet-stream\r\n"
			  "Content-Transfer-Encoding: base64\r\n\r\n";

	(void)state;
	assert_non_null(chunk);
	for (size_t i = 0; i < 64 * 1024; i++)
		chunk[i] = (i % 77 == 76) ? '\n' : 'A';
	mime_parser_feed(p, hdr, strlen(hdr));
	while (done < n) {
		mime_parser_feed(p, chunk, 64 * 1024);
		done += 64 * 1024;
	}
	struct mime_tree *t = mime_parser_finish(&p);
	assert_int_equal(t->nparts, 1);
	assert_int_equal(t->parts[0].body_len, n);
	assert_int_equal(t->parts[0].body_bare_lf, t->parts[0].body_lines);
	assert_true(t->strings_len < 256);
	mime_tree_free(&t);
	free(chunk);
}

/* Random bytes and "--" storms: consistent trees, same for any split. */
static void
test_garbage(void **state)
{
	unsigned seed = 7;
	char buf[4096];

	(void)state;
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf));
		static const char *const pieces[] = {
		    "--b\r\n",
		    "--b--\r\n",
		    "\r\n",
		    "\n",
		    "Content-Type: multipart/mixed; boundary=b\r\n",
		    "Content-Type: message/rfc822\r\n",
		    "x: y\r\n",
		    "--",
		    "\0",
		    "=?utf-8?q?a?=",
		    "\"",
		    "(",
		    ";"};
		size_t i = 0;
		while (i < n) {
			const char *pc =
			    pieces[rand_r(&seed) %
				   (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = pc[0] ? strlen(pc) : 1;
			if (rand_r(&seed) % 5 == 0) {
				buf[i++] = (char)rand_r(&seed);
				continue;
			}
			if (l > n - i)
				l = n - i;
			memcpy(buf + i, pc, l);
			i += l;
		}
		free(check_splits(buf, n, NULL));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_cases),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_parts_limit),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_kept_limit),
	    cmocka_unit_test(test_big_body),
	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
