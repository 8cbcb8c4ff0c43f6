#include "imap/imap_mailbox_name.h"

#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value(int c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

static void
put_utf8(struct strbuf *out, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	strbuf_add(out, b, n);
}

/* shifted - decode one "&...-" run (i at the first base64 char); i ends
 * after the '-'. */
static int
shifted(const char *s, size_t len, size_t *i, struct strbuf *out)
{
	uint32_t bits = 0, hi = 0;
	int nbits = 0;
	size_t units = 0;
	while (*i < len && s[*i] != '-') {
		int v = b64_value((unsigned char)s[*i]);
		if (v < 0)
			return -1;
		(*i)++;
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = bits >> nbits & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (hi != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return -1;
			put_utf8(out, 0x10000 + ((hi - 0xd800) << 10) +
					  (u - 0xdc00));
			hi = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			hi = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return -1;
		} else if (u >= 0x20 && u <= 0x7e) {
			/* Printable ASCII must represent itself. */
			return -1;
		} else {
			put_utf8(out, u);
		}
	}
	if (*i == len || units == 0 || hi != 0 || nbits >= 6 || bits != 0)
		return -1;
	(*i)++; /* '-' */
	return 0;
}

int
imap_mailbox_name_decode(const char *s, size_t len, struct strbuf *out)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return -1;
		if (c != '&') {
			strbuf_add(out, (const char *)&c, 1);
			i++;
			continue;
		}
		i++;
		if (i < len && s[i] == '-') {
			strbuf_add(out, "&", 1);
			i++;
			continue;
		}
		if (shifted(s, len, &i, out) < 0)
			return -1;
		/* "&AAA-&BBB-" should have been one run. */
		if (i < len && s[i] == '&' && (i + 1 >= len || s[i + 1] != '-'))
			return -1;
	}
	return 0;
}

bool
imap_mailbox_name_valid(const char *s, size_t len)
{
	struct strbuf sb = {0};
	int r = imap_mailbox_name_decode(s, len, &sb);
	free(sb.p);
	return r == 0;
}

/* next_utf8 - one code point, or -1. */
static long
next_utf8(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	size_t n;
	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		cp = c & 0x1f;
		n = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		cp = c & 0x0f;
		n = 2;
	} else if (c >= 0xf0 && c <= 0xf4) {
		cp = c & 0x07;
		n = 3;
	} else {
		return -1;
	}
	for (size_t k = 1; k <= n; k++) {
		if (*i + k >= len || (s[*i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*i += n + 1;
	return (long)cp;
}

int
imap_mailbox_name_encode(const char *s, size_t len, struct strbuf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		if (u[i] >= 0x20 && u[i] <= 0x7e) {
			if (u[i] == '&')
				strbuf_add(out, "&-", 2);
			else
				strbuf_add(out, s + i, 1);
			i++;
			continue;
		}
		/* A run of characters outside printable ASCII. */
		uint32_t bits = 0;
		int nbits = 0;
		strbuf_add(out, "&", 1);
		while (i < len && !(u[i] >= 0x20 && u[i] <= 0x7e)) {
			long cp = next_utf8(u, len, &i);
			if (cp < 0)
				return -1;
			uint32_t units[2];
			size_t nu = 1;
			if (cp >= 0x10000) {
				cp -= 0x10000;
				units[0] = 0xd800 + ((uint32_t)cp >> 10);
				units[1] = 0xdc00 + ((uint32_t)cp & 0x3ff);
				nu = 2;
			} else {
				units[0] = (uint32_t)cp;
			}
			for (size_t k = 0; k < nu; k++) {
				bits = bits << 16 | units[k];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					strbuf_add(
					    out, &b64[bits >> nbits & 0x3f], 1);
				}
				bits &= (1u << nbits) - 1;
			}
		}
		if (nbits > 0)
			strbuf_add(out, &b64[(bits << (6 - nbits)) & 0x3f], 1);
		strbuf_add(out, "-", 1);
	}
	return 0;
}

/*
 * match - pattern p against name n: dynamic programming over the name,
 * O(|p| * |n|) whatever the wildcards (a backtracking matcher would be
 * exponential in a pattern like "*a*a*a*a*b").
 */
static bool
match(const char *p, const char *n)
{
	size_t nl = strlen(n);
	if (nl > 4096)
		return false;
	bool a[4097], b[4097], *cur = a, *next = b;
	memset(cur, 0, (nl + 1) * sizeof(bool));
	cur[0] = true;
	for (; *p != '\0'; p++) {
		if (*p == '*') {
			bool any = false;
			for (size_t j = 0; j <= nl; j++)
				next[j] = any = any || cur[j];
		} else if (*p == '%') {
			next[0] = cur[0];
			for (size_t j = 1; j <= nl; j++)
				next[j] =
				    cur[j] || (next[j - 1] &&
					       n[j - 1] != IMAP_MAILBOX_SEP);
		} else {
			next[0] = false;
			for (size_t j = 1; j <= nl; j++)
				next[j] = cur[j - 1] && n[j - 1] == *p;
		}
		bool *t = cur;
		cur = next;
		next = t;
	}
	return cur[nl];
}

bool
imap_mailbox_name_match(const char *pattern, const char *name)
{
	/* INBOX is case-blind (RFC 3501 §5.1): compare that prefix of the
	 * pattern without case when the name starts with it. */
	if (strncmp(name, "INBOX", 5) == 0 &&
	    strncasecmp(pattern, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == IMAP_MAILBOX_SEP))
		return match(pattern + 5, name + 5);
	return match(pattern, name);
}
