#include "mailauth/mauth_msg.h"

#include <stdlib.h>
#include <string.h>

#include "mailauth/auth_results.h"
#include "mailauth/dkim_keycache.h"
#include "mailauth/dkim_keys.h"
#include "mailauth/dkim_sign.h"
#include "mailauth/dmarc_eval.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct mauth_msg {
	bool want_verify, want_sign;
	char *host; /* strip A-R fields claiming it; NULL = none */
	unsigned removed;
	time_t now;
	struct strbuf head;
	bool in_body, head_bad, ended;
	bool too_big;	     /* the header section passed MAUTH_HEAD_MAX */
	struct dkim_head *h; /* parsed head once it is complete */
	struct dkim_verify *v;
	struct dkim_body *sign_body;
	uint8_t bh[DKIM_HASH_LEN];
};

struct mauth_msg *
mauth_msg_new(bool verify, bool sign, const char *host, time_t now)
{
	struct mauth_msg *m = xcalloc(1, sizeof(*m));

	m->host = host ? xstrdup(host) : NULL;
	m->want_verify = verify;
	m->want_sign = sign;
	m->now = now;
	return m;
}

/* head_end - the offset of the body in the collected bytes, or 0. */
static size_t
head_end(const struct strbuf *sb, size_t from)
{
	const char *p = sb->p;

	if (sb->len >= 1 && p[0] == '\n')
		return 1;
	if (sb->len >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (size_t i = from > 0 ? from - 1 : 0; i < sb->len; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < sb->len && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < sb->len && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* start_body - the header section is in: set up the hashers. */
static void
start_body(struct mauth_msg *m, size_t body)
{
	m->in_body = true;
	m->h = xmalloc(sizeof(*m->h));
	if (dkim_head_parse(m->head.p, body, m->h) < 0) {
		m->head_bad = true;
		return;
	}
	if (m->want_verify)
		m->v = dkim_verify_new(m->head.p, body, m->now);
	if (m->want_sign)
		m->sign_body = dkim_body_new(DKIM_CANON_RELAXED, UINT64_MAX);
}

/*
 * emit_head - the held header section (len bytes), less the
 * Authentication-Results fields that claim our name. A section that
 * does not parse is passed on as it is.
 */
static void
emit_head(struct mauth_msg *m, size_t len, mauth_emit_fn *emit, void *arg)
{
	size_t from = 0;

	if (m->host && m->h && !m->head_bad) {
		for (size_t i = 0; i < m->h->n; i++) {
			const struct rfc5322_field *f = &m->h->f[i];
			if (!auth_results_claims(f->name, f->name_len, f->value,
						 f->value_len, m->host))
				continue;
			emit(arg, m->head.p + from, f->start - from);
			from = f->end;
			m->removed++;
		}
	}
	emit(arg, m->head.p + from, len - from);
}

static void
body_feed(struct mauth_msg *m, const char *p, size_t len)
{
	if (m->v)
		dkim_verify_body(m->v, p, len);
	if (m->sign_body)
		dkim_body_feed(m->sign_body, p, len);
}

void
mauth_msg_feed(struct mauth_msg *m, const char *p, size_t len,
	       mauth_emit_fn *emit, void *arg)
{
	if (m->ended || len == 0)
		return;
	if (m->in_body || m->head_bad) {
		/* head_bad here: a header section past the limit, passed on
		 * unfiltered and unverified. */
		if (m->in_body)
			body_feed(m, p, len);
		emit(arg, p, len);
		return;
	}
	size_t from = m->head.len > 2 ? m->head.len - 2 : 0;
	size_t room = MAUTH_HEAD_MAX - m->head.len;
	size_t take = len < room ? len : room;
	strbuf_add(&m->head, p, take);
	size_t body = head_end(&m->head, from);
	if (body == 0) {
		if (take < len) {
			m->head_bad = true; /* no end within the limit */
			m->too_big = true;
			emit(arg, m->head.p, m->head.len);
			emit(arg, p + take, len - take);
		}
		return;
	}
	/* The collected bytes past the blank line are body already. */
	size_t extra = m->head.len - body;
	start_body(m, body);
	emit_head(m, body, emit, arg);
	emit(arg, m->head.p + body, extra);
	if (!m->head_bad)
		body_feed(m, m->head.p + body, extra);
	if (take < len) {
		emit(arg, p + take, len - take);
		if (!m->head_bad)
			body_feed(m, p + take, len - take);
	}
	m->head.len = body;
}

bool
mauth_msg_head_too_big(const struct mauth_msg *m)
{
	return m->too_big;
}

unsigned
mauth_msg_removed(const struct mauth_msg *m)
{
	return m->removed;
}

void
mauth_msg_end(struct mauth_msg *m, mauth_emit_fn *emit, void *arg)
{
	if (m->ended)
		return;
	m->ended = true;
	/* No blank line at all: the whole message is header (RFC 5322 §3.5
	 * allows no body). */
	if (!m->in_body && !m->head_bad && m->head.len > 0) {
		start_body(m, m->head.len);
		emit_head(m, m->head.len, emit, arg);
	}
	if (m->v)
		dkim_verify_body_end(m->v);
	if (m->sign_body) {
		dkim_body_final(m->sign_body, m->bh, NULL);
		dkim_body_free(&m->sign_body);
	}
}

struct dkim_verify *
mauth_msg_verify(struct mauth_msg *m)
{
	return m->head_bad ? NULL : m->v;
}

int
mauth_msg_from_domain(const struct mauth_msg *m, char out[MAUTH_NAME_MAX + 1])
{
	if (!m->h || m->head_bad)
		return -1;
	return dmarc_from_domain(m->h, out);
}

size_t
mauth_msg_sign(struct mauth_msg *m, const char *data_dir,
	       const char *fallback_domain, struct strbuf *out,
	       char domain_r[MAUTH_NAME_MAX + 1])
{
	struct dkim_sign_key keys[2];
	char from[MAUTH_NAME_MAX + 1];
	size_t n = 0;

	domain_r[0] = '\0';
	if (!m->ended || m->head_bad || !m->h || !m->want_sign)
		return 0;
	/* The From domain first: only its signature aligns for DMARC. */
	if (dmarc_from_domain(m->h, from) == 0 &&
	    (n = dkim_keycache_get(data_dir, from, keys)) > 0)
		memcpy(domain_r, from, strlen(from) + 1);
	else if (fallback_domain && fallback_domain[0] &&
		 (n = dkim_keycache_get(data_dir, fallback_domain, keys)) > 0)
		mauth_name_copy(fallback_domain, strlen(fallback_domain),
				domain_r);
	if (n == 0)
		return 0;
	int r = dkim_sign_fields(keys, n, m->h, m->bh, m->now, out);
	dkim_keys_unload(keys, n);
	return r == 0 ? n : 0;
}

void
mauth_msg_free(struct mauth_msg **mp)
{
	struct mauth_msg *m = *mp;

	if (!m)
		return;
	*mp = NULL;
	dkim_verify_free(&m->v);
	dkim_body_free(&m->sign_body);
	free(m->h);
	free(m->head.p);
	free(m->host);
	free(m);
}
