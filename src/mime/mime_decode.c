/*
 * mime_decode - transfer encodings, charsets and RFC 2047 encoded-words
 * to UTF-8, streaming, for searching.
 *
 * base64 and quoted-printable are decoded here rather than with
 * OpenSSL's EVP_Decode*: a reader must skip bytes outside the base64
 * alphabet and keep malformed QP escapes (RFC 2045 §6.7, §6.8), where
 * OpenSSL fails the whole input; and OpenSSL has no QP at all.
 * Charsets go through glibc's iconv.
 */
#include "mime/mime_decode.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_fold.h"
#include "util/xalloc.h"

#define DEC_CHUNK 4096
#define DEC_PEND  16 /* bytes of a multibyte character cut by a chunk */

static const char dec_fffd[3] = {'\xef', '\xbf', '\xbd'};

/* dec_is_utf8_name - charsets that need no iconv: they are read as
 * UTF-8, with the ISO-8859-1 fallback for other bytes. */
static bool
dec_is_utf8_name(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	       strcasecmp(cs, "ascii") == 0;
}

/* dec_open - an iconv descriptor for charset -> UTF-8, or (iconv_t)-1
 * for the UTF-8 reading (also when iconv does not know charset). */
static iconv_t
dec_open(const char *cs)
{
	char name[64];
	size_t n;

	if (dec_is_utf8_name(cs))
		return (iconv_t)-1;
	/* RFC 2231 §5: "charset*language" in encoded-words */
	n = strcspn(cs, "*");
	if (n >= sizeof(name))
		return (iconv_t)-1;
	memcpy(name, cs, n);
	name[n] = '\0';
	if (dec_is_utf8_name(name))
		return (iconv_t)-1;
	return iconv_open("UTF-8", name);
}

/*
 * dec_utf8_run - append s[0..n) read as UTF-8 to out: valid sequences
 * as they are, NUL as U+FFFD, any other byte as the ISO-8859-1
 * character it would be. With pend (streaming), an incomplete sequence
 * at the end is left in pend/npend instead.
 */
static void
dec_utf8_run(const char *s, size_t n, struct strbuf *out, char *pend,
	     size_t *npend)
{
	size_t i = 0, run = 0;

	while (i < n) {
		unsigned char u = (unsigned char)s[i];
		uint32_t c;
		size_t l;
		if (u >= 0x01 && u < 0x80) {
			i++;
			continue;
		}
		l = u == 0 ? 0 : mime_utf8_char(s + i, n - i, &c);
		if (l > 0) {
			i += l;
			continue;
		}
		if (pend != NULL && u >= 0xc2 && u <= 0xf4) {
			/* maybe cut by the chunk: keep for the next one */
			size_t need = u >= 0xf0 ? 4 : u >= 0xe0 ? 3 : 2;
			size_t have = n - i, k = 1;
			while (k < have &&
			       ((unsigned char)s[i + k] & 0xc0) == 0x80)
				k++;
			if (have < need && k == have) {
				strbuf_add(out, s + run, i - run);
				memcpy(pend, s + i, have);
				*npend = have;
				return;
			}
		}
		strbuf_add(out, s + run, i - run);
		if (u == 0) {
			strbuf_add(out, dec_fffd, 3);
		} else {
			char b[2] = {(char)(0xc0 | u >> 6),
				     (char)(0x80 | (u & 0x3f))};
			strbuf_add(out, b, 2);
		}
		i++;
		run = i;
	}
	strbuf_add(out, s + run, n - run);
	if (npend != NULL)
		*npend = 0;
}

/* dec_add_clean - append iconv output, NULs as U+FFFD. */
static void
dec_add_clean(const char *s, size_t n, struct strbuf *out)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\0')
			continue;
		strbuf_add(out, s + run, i - run);
		strbuf_add(out, dec_fffd, 3);
		run = i + 1;
	}
	strbuf_add(out, s + run, n - run);
}

/*
 * dec_iconv - convert s[0..n) with cd, appending to out. Bytes not valid
 * in the charset become U+FFFD. With pend, an incomplete character at
 * the end is kept for the next call; without, it is U+FFFD too.
 */
static void
dec_iconv(iconv_t cd, const char *s, size_t n, struct strbuf *out, char *pend,
	  size_t *npend)
{
	char buf[DEC_CHUNK];
	char *in = (char *)(uintptr_t)s;
	size_t left = n;

	while (left > 0) {
		char *o = buf;
		size_t room = sizeof(buf);
		size_t r = iconv(cd, &in, &left, &o, &room);
		dec_add_clean(buf, (size_t)(o - buf), out);
		if (r != (size_t)-1)
			break;
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && pend != NULL && left <= DEC_PEND) {
			memcpy(pend, in, left);
			*npend = left;
			return;
		}
		/* EILSEQ, or EINVAL at the very end */
		strbuf_add(out, dec_fffd, 3);
		in++;
		left--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	if (npend != NULL)
		*npend = 0;
}

void
mime_decode_utf8(const char *charset, const char *s, size_t len,
		 struct strbuf *out)
{
	iconv_t cd = dec_open(charset);

	strbuf_add(out, "", 0);
	if (cd == (iconv_t)-1) {
		dec_utf8_run(s, len, out, NULL, NULL);
		return;
	}
	dec_iconv(cd, s, len, out, NULL, NULL);
	iconv_close(cd);
}

/* ---- base64 and quoted-printable ---- */

static int
dec_b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
mime_decode_hex(char h)
{
	unsigned char c = (unsigned char)h;

	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Streaming state of the transfer decoding. */
struct dec_cte {
	int cte;
	uint32_t acc; /* base64: bits collected */
	unsigned nbits;
	unsigned qp;  /* QP: 0 normal, 1 after "=", 2 after "=X", 3 "=\r" */
	char qp_hex;  /* the X of "=X" */
	bool qp_in_q; /* RFC 2047 "Q": '_' is a space */
};

/* dec_cte_run - decode in[0..n) into out (at most 3n/4 + 4 or n + 3
 * bytes for QP); returns the length. */
static size_t
dec_cte_run(struct dec_cte *st, const char *in, size_t n, char *out)
{
	size_t o = 0;

	if (st->cte == MIME_CTE_BASE64) {
		for (size_t i = 0; i < n; i++) {
			int v = dec_b64val((unsigned char)in[i]);
			if (v < 0)
				continue; /* RFC 2045 §6.8: ignore */
			st->acc = st->acc << 6 | (uint32_t)v;
			st->nbits += 6;
			if (st->nbits >= 8) {
				st->nbits -= 8;
				out[o++] = (char)(st->acc >> st->nbits);
			}
		}
		return o;
	}
	if (st->cte != MIME_CTE_QP) {
		memcpy(out, in, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		switch (st->qp) {
		case 0:
			if (c == '=')
				st->qp = 1;
			else
				out[o++] = st->qp_in_q && c == '_' ? ' ' : c;
			break;
		case 1:
			if (c == '\n') {
				st->qp = 0; /* soft line break (bare LF) */
			} else if (c == '\r') {
				st->qp = 3;
			} else if (mime_decode_hex(c) >= 0) {
				st->qp_hex = c;
				st->qp = 2;
			} else {
				out[o++] = '='; /* malformed: kept */
				st->qp = 0;
				i--;
			}
			break;
		case 2: {
			int h = mime_decode_hex(st->qp_hex);
			int l = mime_decode_hex(c);
			if (l >= 0) {
				out[o++] = (char)(h * 16 + l);
			} else {
				out[o++] = '=';
				out[o++] = st->qp_hex;
				i--;
			}
			st->qp = 0;
			break;
		}
		case 3:
			st->qp = 0;
			if (c != '\n') {
				out[o++] = '=';
				out[o++] = '\r';
				i--;
			}
			break;
		}
	}
	return o;
}

/* dec_cte_end - what a QP escape cut by the end of input leaves. */
static size_t
dec_cte_end(struct dec_cte *st, char *out)
{
	size_t o = 0;

	if (st->cte == MIME_CTE_QP && st->qp != 0) {
		out[o++] = '=';
		if (st->qp == 2)
			out[o++] = st->qp_hex;
		else if (st->qp == 3)
			out[o++] = '\r';
	}
	st->qp = 0;
	return o;
}

/* ---- RFC 2047 ---- */

/* dec_word - an encoded-word "=?cs?e?text?=" at s[0..n): its length and
 * the parts, or 0. */
static size_t
dec_word(const char *s, size_t n, const char **cs, size_t *csl, char *enc,
	 const char **txt, size_t *txtl)
{
	size_t i = 2, j;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (j = i; j < n && s[j] != '?'; j++)
		if (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n')
			return 0;
	if (j == n || j == i || j + 3 >= n || s[j + 2] != '?')
		return 0;
	*cs = s + i;
	*csl = j - i;
	*enc = s[j + 1];
	if (*enc != 'B' && *enc != 'b' && *enc != 'Q' && *enc != 'q')
		return 0;
	i = j + 3;
	for (j = i; j + 1 < n; j++) {
		if (s[j] == '?' && s[j + 1] == '=')
			break;
		if (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n')
			return 0;
	}
	if (j + 1 >= n)
		return 0;
	*txt = s + i;
	*txtl = j - i;
	return j + 2;
}

void
mime_decode_header(const char *v, size_t len, struct strbuf *out)
{
	struct strbuf raw = {0}, bytes = {0};
	size_t i = 0, text = 0;
	bool after_word = false;

	strbuf_add(out, "", 0);
	/* Unfold first (RFC 5322 §2.2.3): drop CR and LF. */
	strbuf_add(&raw, "", 0);
	for (size_t k = 0; k < len; k++)
		if (v[k] != '\r' && v[k] != '\n')
			strbuf_add(&raw, v + k, 1);
	v = raw.p;
	len = raw.len;
	while (i < len) {
		const char *cs, *txt;
		size_t csl, txtl, wl;
		char enc;
		if (v[i] != '=' || (wl = dec_word(v + i, len - i, &cs, &csl,
						  &enc, &txt, &txtl)) == 0) {
			i++;
			continue;
		}
		/* the text before; white space between two words dropped
		 * (RFC 2047 §6.2) */
		bool blank = true;
		for (size_t k = text; k < i; k++)
			if (v[k] != ' ' && v[k] != '\t')
				blank = false;
		if (!(after_word && blank))
			dec_utf8_run(v + text, i - text, out, NULL, NULL);
		/* the word: decoded bytes, then the charset */
		struct dec_cte st = {0};
		st.cte =
		    enc == 'B' || enc == 'b' ? MIME_CTE_BASE64 : MIME_CTE_QP;
		st.qp_in_q = st.cte == MIME_CTE_QP;
		bytes.len = 0;
		strbuf_add(&bytes, "", 0);
		char buf[256];
		for (size_t k = 0; k < txtl; k += 128) {
			size_t m = txtl - k < 128 ? txtl - k : 128;
			strbuf_add(&bytes, buf,
				   dec_cte_run(&st, txt + k, m, buf));
		}
		strbuf_add(&bytes, buf, dec_cte_end(&st, buf));
		char name[64];
		if (csl >= sizeof(name))
			csl = sizeof(name) - 1;
		memcpy(name, cs, csl);
		name[csl] = '\0';
		mime_decode_utf8(name, bytes.p, bytes.len, out);
		i += wl;
		text = i;
		after_word = true;
	}
	dec_utf8_run(v + text, len - text, out, NULL, NULL);
	free(raw.p);
	free(bytes.p);
}

/* ---- the body decoder ---- */

struct mime_decoder {
	struct dec_cte cte;
	iconv_t cd; /* (iconv_t)-1: read as UTF-8 */
	char pend[DEC_PEND];
	size_t npend;
};

struct mime_decoder *
mime_decoder_new(int cte, const char *charset)
{
	struct mime_decoder *d = xcalloc(1, sizeof(*d));

	d->cte.cte = cte;
	d->cd = dec_open(charset);
	return d;
}

/* dec_charset - decoded bytes b[0..n) through the charset stage. */
static void
dec_charset(struct mime_decoder *d, const char *b, size_t n, struct strbuf *out)
{
	char tmp[DEC_PEND + DEC_CHUNK];
	size_t k = d->npend;

	/* put a character cut at the previous chunk in front */
	memcpy(tmp, d->pend, k);
	while (n > 0) {
		size_t m = n < DEC_CHUNK ? n : DEC_CHUNK;
		memcpy(tmp + k, b, m);
		b += m;
		n -= m;
		if (d->cd == (iconv_t)-1)
			dec_utf8_run(tmp, k + m, out, d->pend, &d->npend);
		else
			dec_iconv(d->cd, tmp, k + m, out, d->pend, &d->npend);
		k = d->npend;
		memcpy(tmp, d->pend, k);
	}
}

void
mime_decoder_feed(struct mime_decoder *d, const char *in, size_t len,
		  struct strbuf *out)
{
	char buf[DEC_CHUNK + 4];

	strbuf_add(out, "", 0);
	while (len > 0) {
		size_t m = len < DEC_CHUNK ? len : DEC_CHUNK;
		size_t o = dec_cte_run(&d->cte, in, m, buf);
		dec_charset(d, buf, o, out);
		in += m;
		len -= m;
	}
}

void
mime_decoder_finish(struct mime_decoder *d, struct strbuf *out)
{
	char buf[4];
	size_t o = dec_cte_end(&d->cte, buf);

	strbuf_add(out, "", 0);
	dec_charset(d, buf, o, out);
	if (d->npend > 0) {
		/* a character cut by the end of the body */
		if (d->cd == (iconv_t)-1)
			dec_utf8_run(d->pend, d->npend, out, NULL, NULL);
		else
			dec_iconv(d->cd, d->pend, d->npend, out, NULL, NULL);
		d->npend = 0;
	}
}

void
mime_decoder_free(struct mime_decoder **dp)
{
	struct mime_decoder *d = *dp;

	if (d == NULL)
		return;
	if (d->cd != (iconv_t)-1)
		iconv_close(d->cd);
	free(d);
	*dp = NULL;
}
