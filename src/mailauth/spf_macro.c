/*
 * spf_macro - RFC 7208 §7.1:
 *
 *     macro-string = *( macro-expand / macro-literal )
 *     macro-expand = ( "%{" macro-letter transformers *delimiter "}" )
 *                    / "%%" / "%_" / "%-"
 *     macro-literal = %x21-24 / %x26-7E
 *     macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" /
 *                    "c" / "r" / "t" / "v"
 *     transformers = *DIGIT [ "r" ]
 *     delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
 */
#include "mailauth/spf_macro.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool
is_delim(char c)
{
	return strchr(".-+,/_=", c) != NULL && c != '\0';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * parse_expand - the "%{...}" at s[i] (s[i] == '%', s[i+1] == '{'):
 * letter, digits, reverse flag, delimiters, and the index past '}'.
 */
struct expand {
	char letter; /* as written (upper case = URL-escape) */
	unsigned keep;
	bool has_keep, reverse;
	char delims[8];
	size_t n_delims;
};

static bool
parse_expand(const char *s, size_t len, size_t *i, bool exp, struct expand *e)
{
	size_t k = *i + 2;

	memset(e, 0, sizeof(*e));
	if (k >= len)
		return false;
	e->letter = s[k++];
	switch (lower(e->letter)) {
	case 's':
	case 'l':
	case 'o':
	case 'd':
	case 'i':
	case 'p':
	case 'h':
	case 'v':
		break;
	case 'c':
	case 'r':
	case 't':
		if (!exp)
			return false; /* §7.1: only in "exp" text */
		break;
	default:
		return false;
	}
	while (k < len && s[k] >= '0' && s[k] <= '9') {
		e->has_keep = true;
		if (e->keep < 1000)
			e->keep = e->keep * 10 + (unsigned)(s[k] - '0');
		k++;
	}
	if (e->has_keep && e->keep == 0)
		return false; /* §7.3: zero parts is not allowed */
	if (k < len && (s[k] == 'r' || s[k] == 'R')) {
		e->reverse = true;
		k++;
	}
	while (k < len && is_delim(s[k])) {
		if (e->n_delims < sizeof(e->delims) &&
		    !memchr(e->delims, s[k], e->n_delims))
			e->delims[e->n_delims++] = s[k];
		k++;
	}
	if (k >= len || s[k] != '}')
		return false;
	*i = k + 1;
	return true;
}

/* walk - check (out == NULL) or expand s. */
static enum spf_macro_status
walk(const char *s, size_t len, const struct spf_macro_ctx *ctx, bool exp,
     char *out, size_t cap)
{
	size_t w = 0, i = 0;

#define PUT(c)                                                                 \
	do {                                                                   \
		if (out && w + 1 < cap)                                        \
			out[w++] = (c);                                        \
	} while (0)

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c != '%') {
			/* macro-literal; exp text may hold spaces too. */
			if (c < 0x21 || c > 0x7e) {
				if (!(exp && c == ' '))
					return SPF_MACRO_SYNTAX;
			}
			PUT((char)c);
			i++;
			continue;
		}
		if (i + 1 >= len)
			return SPF_MACRO_SYNTAX;
		char n = s[i + 1];
		if (n == '%' || n == '_' || n == '-') {
			const char *rep = n == '%'   ? "%"
					  : n == '_' ? " "
						     : "%20";
			for (; *rep; rep++)
				PUT(*rep);
			i += 2;
			continue;
		}
		if (n != '{')
			return SPF_MACRO_SYNTAX;
		struct expand e;
		if (!parse_expand(s, len, &i, exp, &e))
			return SPF_MACRO_SYNTAX;
		if (!out)
			continue;

		const char *val = "";
		char tbuf[32];
		switch (lower(e.letter)) {
		case 's':
			val = ctx->sender;
			break;
		case 'l':
			val = ctx->local;
			break;
		case 'o':
			val = ctx->sender_domain;
			break;
		case 'd':
			val = ctx->domain;
			break;
		case 'i':
			val = ctx->ip;
			break;
		case 'p':
			if (!ctx->p)
				return SPF_MACRO_NEED_P;
			val = ctx->p;
			break;
		case 'h':
			val = ctx->helo;
			break;
		case 'v':
			val = ctx->v;
			break;
		case 'c':
			val = ctx->ip_text;
			break;
		case 'r':
			val = ctx->receiver;
			break;
		case 't':
			snprintf(tbuf, sizeof(tbuf), "%" PRIu64, ctx->t);
			val = tbuf;
			break;
		}
		if (!val)
			val = "";

		/* Split on the delimiters (default "."), §7.3. */
		const char *parts[128];
		size_t plen[128], np = 0;
		const char *delims = e.n_delims ? e.delims : ".";
		size_t nd = e.n_delims ? e.n_delims : 1;
		const char *p = val;
		for (;;) {
			const char *q = p;
			while (*q && !memchr(delims, *q, nd))
				q++;
			if (np < 128) {
				parts[np] = p;
				plen[np++] = (size_t)(q - p);
			}
			if (!*q)
				break;
			p = q + 1;
		}
		if (e.reverse)
			for (size_t a = 0, b = np - 1; a < b; a++, b--) {
				const char *tp = parts[a];
				size_t tl = plen[a];
				parts[a] = parts[b];
				plen[a] = plen[b];
				parts[b] = tp;
				plen[b] = tl;
			}
		size_t first = e.has_keep && e.keep < np ? np - e.keep : 0;
		bool escape = e.letter >= 'A' && e.letter <= 'Z';
		for (size_t k = first; k < np; k++) {
			if (k > first)
				PUT('.');
			for (size_t m = 0; m < plen[k]; m++) {
				unsigned char ch = (unsigned char)parts[k][m];
				bool unreserved = (ch >= 'a' && ch <= 'z') ||
						  (ch >= 'A' && ch <= 'Z') ||
						  (ch >= '0' && ch <= '9') ||
						  ch == '-' || ch == '.' ||
						  ch == '_' || ch == '~';
				if (escape && !unreserved) {
					static const char hex[] =
					    "0123456789ABCDEF";
					PUT('%');
					PUT(hex[ch >> 4]);
					PUT(hex[ch & 15]);
				} else {
					PUT((char)ch);
				}
			}
		}
	}
	if (out)
		out[w < cap ? w : cap - 1] = '\0';
	return SPF_MACRO_OK;
#undef PUT
}

bool
spf_macro_check(const char *s, size_t len, bool exp)
{
	return walk(s, len, NULL, exp, NULL, 0) == SPF_MACRO_OK;
}

enum spf_macro_status
spf_macro_expand(const char *s, size_t len, const struct spf_macro_ctx *ctx,
		 bool exp, char *out, size_t cap)
{
	return walk(s, len, ctx, exp, out, cap);
}

enum spf_macro_status
spf_macro_domain(const char *s, size_t len, const struct spf_macro_ctx *ctx,
		 char out[256])
{
	char buf[2048];
	enum spf_macro_status st = walk(s, len, ctx, false, buf, sizeof(buf));
	size_t n;

	if (st != SPF_MACRO_OK)
		return st;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	const char *p = buf;
	while (n > 253) {
		const char *dot = strchr(p, '.');
		if (!dot) {
			p = "";
			break;
		}
		n -= (size_t)(dot + 1 - p);
		p = dot + 1;
	}
	snprintf(out, 256, "%s", p);
	return SPF_MACRO_OK;
}
