#include "mailauth/dkim_canon.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256)
		fatal("OpenSSL has no SHA-256");
}

const EVP_MD *
dkim_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * relaxed_header - §3.4.2: name lower-cased, WSP before the colon gone;
 * the value unfolded (CR and LF removed), WSP runs as one SP, WSP at
 * both ends removed.
 */
static void
relaxed_header(const char *f, size_t len, struct strbuf *out)
{
	const char *colon = memchr(f, ':', len);
	size_t name_end = colon ? (size_t)(colon - f) : len;
	size_t i;

	while (name_end > 0 && is_wsp(f[name_end - 1]))
		name_end--;
	for (i = 0; i < name_end; i++) {
		char c = lower(f[i]);
		strbuf_add(out, &c, 1);
	}
	strbuf_add(out, ":", 1);

	bool wsp = false, seen = false;
	for (i = colon ? (size_t)(colon - f) + 1 : len; i < len; i++) {
		char c = f[i];
		if (c == '\r' || c == '\n')
			continue; /* unfold */
		if (is_wsp(c)) {
			wsp = true;
			continue;
		}
		if (wsp && seen)
			strbuf_add(out, " ", 1);
		strbuf_add(out, &c, 1);
		wsp = false;
		seen = true;
	}
}

void
dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
		  bool with_crlf, struct strbuf *out)
{
	if (c == DKIM_CANON_SIMPLE)
		strbuf_add(out, field, len);
	else
		relaxed_header(field, len, out);
	if (with_crlf)
		strbuf_add(out, "\r\n", 2);
}

/* ---- body ------------------------------------------------------------- */

struct dkim_body {
	enum dkim_canon canon;
	EVP_MD_CTX *md;	     /* NULL: collect into sink instead */
	struct strbuf *sink; /* dkim_canon_body */
	uint64_t limit, total, hashed;
	uint64_t blank_lines; /* empty lines not yet known to be inside */
	bool cr;	      /* a CR seen, not yet known to start a CRLF */
	bool wsp;	      /* relaxed: WSP run not yet written */
	bool line_open;	      /* the current line has content */
	size_t n;
	char buf[4096];
};

static void
flush(struct dkim_body *b)
{
	if (b->n == 0)
		return;
	if (b->md) {
		uint64_t room = b->limit - b->hashed;
		size_t take = b->n < room ? b->n : (size_t)room;
		if (take > 0 && EVP_DigestUpdate(b->md, b->buf, take) != 1)
			fatal("SHA-256 update failed");
		b->hashed += take;
	} else {
		strbuf_add(b->sink, b->buf, b->n);
	}
	b->n = 0;
}

static void
emit(struct dkim_body *b, const char *p, size_t len)
{
	b->total += len;
	for (size_t i = 0; i < len; i++) {
		if (b->n == sizeof(b->buf))
			flush(b);
		b->buf[b->n++] = p[i];
	}
}

/* content - a byte that makes the current line non-empty. */
static void
content(struct dkim_body *b, char c)
{
	if (!b->line_open) {
		for (; b->blank_lines > 0; b->blank_lines--)
			emit(b, "\r\n", 2);
		b->line_open = true;
	}
	if (b->wsp) {
		emit(b, " ", 1);
		b->wsp = false;
	}
	emit(b, &c, 1);
}

static void
line_end(struct dkim_body *b)
{
	b->wsp = false; /* relaxed: WSP at the end of a line is dropped */
	if (b->line_open)
		emit(b, "\r\n", 2);
	else
		b->blank_lines++;
	b->line_open = false;
}

static void
byte(struct dkim_body *b, char c)
{
	if (b->cr) {
		b->cr = false;
		if (c == '\n') {
			line_end(b);
			return;
		}
		content(b, '\r');
	}
	if (c == '\r')
		b->cr = true;
	else if (c == '\n')
		line_end(b);
	else if (b->canon == DKIM_CANON_RELAXED && is_wsp(c))
		b->wsp = true;
	else
		content(b, c);
}

static struct dkim_body *
body_new(enum dkim_canon c, uint64_t limit)
{
	struct dkim_body *b = xcalloc(1, sizeof(*b));

	b->canon = c;
	b->limit = limit;
	return b;
}

struct dkim_body *
dkim_body_new(enum dkim_canon c, uint64_t limit)
{
	struct dkim_body *b = body_new(c, limit);

	b->md = EVP_MD_CTX_new();
	if (!b->md || EVP_DigestInit_ex(b->md, dkim_sha256(), NULL) != 1)
		fatal("SHA-256 init failed");
	return b;
}

/*
 * plain - the length of the run at p that the machine would copy as it
 * is: no CR or LF, and (relaxed) no WSP.
 */
static size_t
plain(const struct dkim_body *b, const char *p, size_t len)
{
	size_t n = 0;

	if (b->canon == DKIM_CANON_RELAXED) {
		/* A lone SP between words is its own canonical form too:
		 * only runs, tabs and SP before a line end change. */
		while (n < len && p[n] != '\r' && p[n] != '\n' &&
		       p[n] != '\t') {
			if (p[n] == ' ' &&
			    (n + 1 >= len || p[n + 1] == ' ' ||
			     p[n + 1] == '\t' || p[n + 1] == '\r' ||
			     p[n + 1] == '\n'))
				break;
			n++;
		}
	} else {
		while (n < len && p[n] != '\r' && p[n] != '\n')
			n++;
	}
	return n;
}

void
dkim_body_feed(struct dkim_body *b, const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		/* Inside a line with nothing pending, copy whole runs. */
		if (b->line_open && !b->cr && !b->wsp) {
			size_t n = plain(b, p + i, len - i);
			while (n > 0) {
				if (b->n == sizeof(b->buf))
					flush(b);
				size_t take = sizeof(b->buf) - b->n;
				if (take > n)
					take = n;
				memcpy(b->buf + b->n, p + i, take);
				b->n += take;
				b->total += take;
				i += take;
				n -= take;
			}
			if (i == len)
				break;
		}
		byte(b, p[i++]);
	}
}

/* body_end - a last partial line gets its CRLF (§3.4.4). */
static void
body_end(struct dkim_body *b)
{
	if (b->cr) {
		b->cr = false;
		content(b, '\r');
	}
	if (b->line_open)
		line_end(b);
	/* §3.4.3: the simple canonical form of an empty body is one CRLF. */
	if (b->canon == DKIM_CANON_SIMPLE && b->total == 0)
		emit(b, "\r\n", 2);
	flush(b);
}

void
dkim_body_final(struct dkim_body *b, uint8_t hash_r[DKIM_HASH_LEN],
		uint64_t *total_r)
{
	unsigned int n = 0;

	body_end(b);
	if (EVP_DigestFinal_ex(b->md, hash_r, &n) != 1 || n != DKIM_HASH_LEN)
		fatal("SHA-256 final failed");
	if (total_r)
		*total_r = b->total;
}

void
dkim_body_free(struct dkim_body **bp)
{
	struct dkim_body *b = *bp;

	if (!b)
		return;
	*bp = NULL;
	EVP_MD_CTX_free(b->md);
	free(b);
}

void
dkim_canon_body(enum dkim_canon c, const char *p, size_t len,
		struct strbuf *out)
{
	struct dkim_body *b = body_new(c, UINT64_MAX);

	b->sink = out;
	dkim_body_feed(b, p, len);
	body_end(b);
	free(b);
}
