/*
 * mime_fold - UTF-8 case folding and substring matching (first
 * version: ASCII only; the Unicode tables follow).
 */
#include "mime/mime_fold.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct mime_needle {
	size_t len;
	char s[];
};

uint32_t
mime_fold_char(uint32_t c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

void
mime_fold_utf8(const char *s, size_t len, struct strbuf *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = (char)mime_fold_char((unsigned char)s[i]);
		strbuf_add(out, &c, 1);
	}
}

struct mime_needle *
mime_needle_new(const char *s, size_t len)
{
	struct strbuf f = {0};
	struct mime_needle *n;

	mime_fold_utf8(s, len, &f);
	n = xmalloc(sizeof(*n) + f.len + 1);
	n->len = f.len;
	if (f.len > 0)
		memcpy(n->s, f.p, f.len);
	n->s[f.len] = '\0';
	free(f.p);
	return n;
}

void
mime_needle_free(struct mime_needle **np)
{
	free(*np);
	*np = NULL;
}

bool
mime_needle_empty(const struct mime_needle *n)
{
	return n->len == 0;
}

bool
mime_needle_in(const struct mime_needle *n, const char *s, size_t len)
{
	struct strbuf f = {0};
	bool r;

	mime_fold_utf8(s, len, &f);
	r = n->len == 0 || (f.len > 0 && memmem(f.p, f.len, n->s, n->len));
	free(f.p);
	return r;
}

void
mime_match_init(struct mime_match *m, const struct mime_needle *n)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->found = n->len == 0;
}

bool
mime_match_feed(struct mime_match *m, const char *s, size_t len)
{
	if (!m->found)
		m->found = mime_needle_in(m->n, s, len);
	return m->found;
}

void
mime_match_done(struct mime_match *m)
{
	free(m->tail.p);
	m->tail.p = NULL;
}
