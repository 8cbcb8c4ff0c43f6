/*
 * imap_grammar - a strict checker of the RFC 3501 §9 grammar of
 * ENVELOPE and BODY / BODYSTRUCTURE (quoted strings, literals, NIL,
 * address lists, body-type-1part/-mpart with extension data), for tests
 * and fuzz targets: everything the serializers write must parse here.
 * Header-only (static functions) so that both can include it.
 */
#ifndef PETREL_TESTS_IMAP_GRAMMAR_H
#define PETREL_TESTS_IMAP_GRAMMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

struct g {
	const char *p, *e;
};

static bool
g_ch(struct g *g, char c)
{
	if (g->p < g->e && *g->p == c) {
		g->p++;
		return true;
	}
	return false;
}

static bool
g_sp(struct g *g)
{
	return g_ch(g, ' ');
}

static bool
g_nil(struct g *g)
{
	if (g->e - g->p >= 3 && memcmp(g->p, "NIL", 3) == 0) {
		g->p += 3;
		return true;
	}
	return false;
}

/* string = quoted / literal; *s, *n the content (escapes kept) */
static bool
g_string(struct g *g, const char **s, size_t *n)
{
	if (g_ch(g, '"')) {
		*s = g->p;
		while (g->p < g->e && *g->p != '"') {
			unsigned char c = (unsigned char)*g->p;
			if (c == '\r' || c == '\n' || c == 0 || c >= 0x80)
				return false;
			if (c == '\\') {
				g->p++;
				if (g->p == g->e ||
				    (*g->p != '"' && *g->p != '\\'))
					return false;
			}
			g->p++;
		}
		*n = (size_t)(g->p - *s);
		return g_ch(g, '"');
	}
	if (g_ch(g, '{')) {
		size_t len = 0;
		if (g->p == g->e || *g->p < '0' || *g->p > '9')
			return false;
		while (g->p < g->e && *g->p >= '0' && *g->p <= '9')
			len = len * 10 + (size_t)(*g->p++ - '0');
		if (!g_ch(g, '}') || !g_ch(g, '\r') || !g_ch(g, '\n') ||
		    (size_t)(g->e - g->p) < len || memchr(g->p, 0, len))
			return false;
		*s = g->p;
		*n = len;
		g->p += len;
		return true;
	}
	return false;
}

static bool
g_str(struct g *g)
{
	const char *s;
	size_t n;
	return g_string(g, &s, &n);
}

static bool
g_nstring(struct g *g)
{
	return g_nil(g) || g_str(g);
}

static bool
g_number(struct g *g)
{
	const char *s = g->p;
	while (g->p < g->e && *g->p >= '0' && *g->p <= '9')
		g->p++;
	return g->p > s && g->p - s <= 20;
}

static bool
g_addresses(struct g *g)
{
	if (g_nil(g))
		return true;
	if (!g_ch(g, '('))
		return false;
	do {
		if (!g_ch(g, '(') || !g_nstring(g) || !g_sp(g) ||
		    !g_nstring(g) || !g_sp(g) || !g_nstring(g) || !g_sp(g) ||
		    !g_nstring(g) || !g_ch(g, ')'))
			return false;
	} while (g->p < g->e && *g->p == '(');
	return g_ch(g, ')');
}

static bool
g_envelope(struct g *g)
{
	if (!g_ch(g, '(') || !g_nstring(g) || !g_sp(g) || !g_nstring(g))
		return false;
	for (int i = 0; i < 6; i++)
		if (!g_sp(g) || !g_addresses(g))
			return false;
	return g_sp(g) && g_nstring(g) && g_sp(g) && g_nstring(g) &&
	       g_ch(g, ')');
}

static bool
g_params(struct g *g)
{
	if (g_nil(g))
		return true;
	if (!g_ch(g, '(') || !g_str(g) || !g_sp(g) || !g_str(g))
		return false;
	while (g_sp(g))
		if (!g_str(g) || !g_sp(g) || !g_str(g))
			return false;
	return g_ch(g, ')');
}

/* [SP dsp [SP lang [SP loc]]] - our writer always writes all three */
static bool
g_ext_tail(struct g *g)
{
	if (!g_sp(g))
		return false;
	if (!g_nil(g)) {
		if (!g_ch(g, '(') || !g_str(g) || !g_sp(g) || !g_params(g) ||
		    !g_ch(g, ')'))
			return false;
	}
	if (!g_sp(g))
		return false;
	if (g_ch(g, '(')) {
		if (!g_str(g))
			return false;
		while (g_sp(g))
			if (!g_str(g))
				return false;
		if (!g_ch(g, ')'))
			return false;
	} else if (!g_nstring(g)) {
		return false;
	}
	return g_sp(g) && g_nstring(g);
}

static bool
g_is(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(s, w, n) == 0;
}

static bool
g_body(struct g *g, bool ext, int depth)
{
	if (depth > 300 || !g_ch(g, '('))
		return false;
	if (g->p < g->e && *g->p == '(') {
		/* body-type-mpart = 1*body SP media-subtype [SP ext] */
		while (g->p < g->e && *g->p == '(')
			if (!g_body(g, ext, depth + 1))
				return false;
		if (!g_sp(g) || !g_str(g))
			return false;
		if (ext && (!g_sp(g) || !g_params(g) || !g_ext_tail(g)))
			return false;
		return g_ch(g, ')');
	}
	const char *t, *st;
	size_t tn, stn;
	if (!g_string(g, &t, &tn) || !g_sp(g) || !g_string(g, &st, &stn) ||
	    !g_sp(g) || !g_params(g) || !g_sp(g) || !g_nstring(g) || !g_sp(g) ||
	    !g_nstring(g) || !g_sp(g) || !g_str(g) || !g_sp(g) || !g_number(g))
		return false;
	if (g_is(t, tn, "text")) {
		if (!g_sp(g) || !g_number(g))
			return false;
	} else if (g_is(t, tn, "message") && g_is(st, stn, "rfc822")) {
		if (!g_sp(g) || !g_envelope(g) || !g_sp(g) ||
		    !g_body(g, ext, depth + 1) || !g_sp(g) || !g_number(g))
			return false;
	}
	if (ext && (!g_sp(g) || !g_nstring(g) || !g_ext_tail(g)))
		return false;
	return g_ch(g, ')');
}

/* imap_grammar_ok - s is a whole ENVELOPE (what 0), BODY (1) or
 * BODYSTRUCTURE (2). */
static inline bool
imap_grammar_ok(const char *s, size_t n, int what)
{
	struct g g = {s, s + n};
	bool ok = what == 0 ? g_envelope(&g) : g_body(&g, what == 2, 0);
	return ok && g.p == g.e;
}

#endif
