/*
 * mime_fold - UTF-8 case folding (simple lower-case mapping) and
 * case-insensitive substring matching.
 *
 * The mapping is computed, not tabled, for the blocks where Unicode's
 * upper/lower pairs follow a pattern (checked against Python's
 * str.lower() for every code point of those blocks in test_mime_search):
 *   U+0041-005A, U+00C0-00DE (not U+00D7)            +32
 *   U+0100-017F even/odd pairs (with the odd stretch U+0139-0148,
 *     U+0179-017E), U+0178 -> U+00FF, U+0130 -> i
 *   U+0180-024F: the regular pairs of Latin Extended-B
 *   U+0386-038F, U+0391-03AB Greek capitals, U+03C2 final sigma -> U+03C3
 *   U+03D8-03EF pairs, U+0400-040F +80, U+0410-042F +32,
 *   U+0460-0481, U+048A-04BF, U+04C1-04CE, U+04D0-052F pairs, U+04C0
 *   U+0531-0556 Armenian +48
 */
#include "mime/mime_fold.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct mime_needle {
	size_t len;
	char s[];
};

size_t
mime_utf8_char(const char *s, size_t n, uint32_t *c_r)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;
	size_t len;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*c_r = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		c = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		c = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		c = u[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (u[i] & 0x3f);
	}
	/* no overlong forms, surrogates or values past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*c_r = c;
	return len;
}

size_t
mime_utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

void
mime_utf8_sanitize(const char *s, size_t n, struct strbuf *out)
{
	size_t run = 0, i = 0;

	strbuf_add(out, "", 0);
	while (i < n) {
		uint32_t c;
		size_t l = mime_utf8_char(s + i, n - i, &c);
		if (l > 0 && c != 0) {
			i += l;
			continue;
		}
		strbuf_add(out, s + run, i - run);
		strbuf_add(out, "\xef\xbf\xbd", 3);
		i++;
		run = i;
	}
	strbuf_add(out, s + run, n - run);
}

/* Latin Extended-B (U+0180-024F): the pairs where the capital is even,
 * or odd, as a bitmap of the capitals' code points. */
static uint32_t
fold_latin_b(uint32_t c)
{
	/* explicit irregular ones first */
	switch (c) {
	case 0x0181:
		return 0x0253;
	case 0x0186:
		return 0x0254;
	case 0x0189:
		return 0x0256;
	case 0x018a:
		return 0x0257;
	case 0x018e:
		return 0x01dd;
	case 0x018f:
		return 0x0259;
	case 0x0190:
		return 0x025b;
	case 0x0193:
		return 0x0260;
	case 0x0194:
		return 0x0263;
	case 0x0196:
		return 0x0269;
	case 0x0197:
		return 0x0268;
	case 0x019c:
		return 0x026f;
	case 0x019d:
		return 0x0272;
	case 0x019f:
		return 0x0275;
	case 0x01a6:
		return 0x0280;
	case 0x01a9:
		return 0x0283;
	case 0x01ae:
		return 0x0288;
	case 0x01b1:
		return 0x028a;
	case 0x01b2:
		return 0x028b;
	case 0x01b7:
		return 0x0292;
	case 0x01c4:
	case 0x01c7:
	case 0x01ca:
	case 0x01f1:
		return c + 2;
	case 0x01c5:
	case 0x01c8:
	case 0x01cb:
	case 0x01f2:
		return c + 1;
	case 0x01f6:
		return 0x0195;
	case 0x01f7:
		return 0x01bf;
	case 0x0220:
		return 0x019e;
	case 0x023a:
		return 0x2c65;
	case 0x023d:
		return 0x019a;
	case 0x023e:
		return 0x2c66;
	case 0x0243:
		return 0x0180;
	case 0x0244:
		return 0x0289;
	case 0x0245:
		return 0x028c;
	default:
		break;
	}
	/* odd capitals, even small letters */
	if (c == 0x0182 || c == 0x0184 || c == 0x01a0 || c == 0x01a2 ||
	    c == 0x01a4 || c == 0x01ac || c == 0x01b8 || c == 0x01bc ||
	    c == 0x01f4 || c == 0x01fa || c == 0x023b || c == 0x0241 ||
	    (c >= 0x01de && c <= 0x01ee && c % 2 == 0) ||
	    (c >= 0x01f8 && c <= 0x021e && c % 2 == 0) ||
	    (c >= 0x0222 && c <= 0x0232 && c % 2 == 0) ||
	    (c >= 0x0246 && c <= 0x024e && c % 2 == 0))
		return c + 1;
	if (c == 0x0187 || c == 0x018b || c == 0x0191 || c == 0x0198 ||
	    c == 0x01a7 || c == 0x01af || c == 0x01b3 || c == 0x01b5 ||
	    (c >= 0x01cd && c <= 0x01db && c % 2 == 1))
		return c + 1;
	return c;
}

uint32_t
mime_fold_char(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c < 0x100)
		return c >= 0xc0 && c <= 0xde && c != 0xd7 ? c + 32 : c;
	if (c < 0x180) {
		if (c == 0x130)
			return 'i';
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return c % 2 == 1 ? c + 1 : c;
		if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f)
			return c;
		return c % 2 == 0 ? c + 1 : c;
	}
	if (c < 0x250)
		return fold_latin_b(c);
	if (c >= 0x370 && c < 0x400) {
		if (c == 0x386)
			return 0x3ac;
		if (c >= 0x388 && c <= 0x38a)
			return c + 37;
		if (c == 0x38c)
			return 0x3cc;
		if (c == 0x38e || c == 0x38f)
			return c + 63;
		if (c >= 0x391 && c <= 0x3ab && c != 0x3a2)
			return c + 32;
		if (c == 0x3c2)
			return 0x3c3; /* final sigma matches sigma */
		if (c == 0x370 || c == 0x372 || c == 0x376)
			return c + 1;
		if (c == 0x37f)
			return 0x3f3;
		if (c == 0x3cf)
			return 0x3d7;
		if (c >= 0x3d8 && c <= 0x3ee && c % 2 == 0)
			return c + 1;
		if (c == 0x3f4)
			return 0x3b8;
		if (c == 0x3f7 || c == 0x3fa)
			return c + 1;
		if (c == 0x3f9)
			return 0x3f2;
		if (c >= 0x3fd && c <= 0x3ff)
			return c - 130;
		return c;
	}
	if (c >= 0x400 && c < 0x530) {
		if (c < 0x410)
			return c + 80;
		if (c < 0x430)
			return c + 32;
		if (c < 0x460)
			return c;
		if (c == 0x4c0)
			return 0x4cf;
		if ((c >= 0x460 && c <= 0x480) || (c >= 0x48a && c <= 0x4be) ||
		    (c >= 0x4d0 && c <= 0x52e))
			return c % 2 == 0 ? c + 1 : c;
		if (c >= 0x4c1 && c <= 0x4cd)
			return c % 2 == 1 ? c + 1 : c;
		return c;
	}
	if (c >= 0x531 && c <= 0x556)
		return c + 48;
	return c;
}

void
mime_fold_utf8(const char *s, size_t len, struct strbuf *out)
{
	size_t i = 0, run = 0;
	char b[4];

	strbuf_add(out, "", 0);
	while (i < len) {
		unsigned char u = (unsigned char)s[i];
		if (u < 0x80) {
			/* ASCII: the common case, in place */
			if (u >= 'A' && u <= 'Z') {
				strbuf_add(out, s + run, i - run);
				b[0] = (char)(u + 32);
				strbuf_add(out, b, 1);
				run = i + 1;
			}
			i++;
			continue;
		}
		uint32_t c;
		size_t l = mime_utf8_char(s + i, len - i, &c);
		strbuf_add(out, s + run, i - run);
		if (l == 0) {
			strbuf_add(out, "\xef\xbf\xbd", 3);
			i++;
		} else {
			strbuf_add(out, b, mime_utf8_put(mime_fold_char(c), b));
			i += l;
		}
		run = i;
	}
	strbuf_add(out, s + run, len - run);
}

struct mime_needle *
mime_needle_new(const char *s, size_t len)
{
	struct strbuf f = {0};
	struct mime_needle *n;

	mime_fold_utf8(s, len, &f);
	n = xmalloc(sizeof(*n) + f.len + 1);
	n->len = f.len;
	memcpy(n->s, f.p, f.len + 1);
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
	struct mime_match m;
	bool r;

	mime_match_init(&m, n);
	mime_match_feed(&m, s, len);
	r = mime_match_finish(&m);
	mime_match_done(&m);
	return r;
}

void
mime_match_init(struct mime_match *m, const struct mime_needle *n)
{
	memset(m, 0, sizeof(*m));
	m->n = n;
	m->found = n->len == 0;
}

/* match_seq_len - the length a UTF-8 sequence with this lead byte
 * claims. */
static size_t
match_seq_len(char lead)
{
	unsigned char u = (unsigned char)lead;

	return u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
}

/* match_search - look for the needle in the tail; keep its end. */
static bool
match_search(struct mime_match *m)
{
	struct strbuf *t = &m->tail;
	size_t nl = m->n->len;

	if (t->len >= nl && memmem(t->p, t->len, m->n->s, nl) != NULL) {
		m->found = true;
		return true;
	}
	if (t->len > nl) {
		memmove(t->p, t->p + t->len - (nl - 1), nl - 1);
		t->len = nl - 1;
	}
	return false;
}

/* mime_match_feed - fold the chunk (completing a UTF-8 sequence cut at
 * the previous chunk's end), search tail + chunk, keep the last
 * needle-length - 1 folded bytes as the next tail. */
bool
mime_match_feed(struct mime_match *m, const char *s, size_t len)
{
	struct strbuf *t = &m->tail;

	if (m->found)
		return true;
	/* complete a sequence cut at the previous chunk's end: folded
	 * once it has all its bytes, or (invalid) at the first byte that
	 * cannot continue it, exactly as the whole text would be */
	while (m->npart > 0 && len > 0) {
		if (((unsigned char)*s & 0xc0) != 0x80) {
			mime_fold_utf8(m->part, m->npart, t);
			m->npart = 0;
			break;
		}
		m->part[m->npart++] = *s++;
		len--;
		if (m->npart == match_seq_len(m->part[0])) {
			mime_fold_utf8(m->part, m->npart, t);
			m->npart = 0;
		}
	}
	if (m->npart > 0)
		return false; /* the chunk ended still inside a sequence */
	/* keep back a sequence cut at the end of this chunk */
	size_t keep = 0;
	for (size_t k = 1; k <= 3 && k <= len; k++) {
		unsigned char u = (unsigned char)s[len - k];
		if ((u & 0xc0) == 0x80)
			continue;
		if (u >= 0xc2 && u <= 0xf4) {
			size_t need = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
			if (need > k)
				keep = k;
		}
		break;
	}
	mime_fold_utf8(s, len - keep, t);
	memcpy(m->part, s + len - keep, keep);
	m->npart = keep;
	return match_search(m);
}

bool
mime_match_finish(struct mime_match *m)
{
	if (!m->found && m->npart > 0) {
		/* a sequence cut by the end of the text: U+FFFDs */
		mime_fold_utf8(m->part, m->npart, &m->tail);
		m->npart = 0;
		match_search(m);
	}
	return m->found;
}

void
mime_match_done(struct mime_match *m)
{
	free(m->tail.p);
	m->tail.p = NULL;
	m->tail.len = m->tail.cap = 0;
}
