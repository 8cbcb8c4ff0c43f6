/*
 * imap_msg - one message's IMAP facts: built from a MIME parse, kept as
 * bytes in the store's index.
 *
 * Encoding, version 2 (all integers LEB128 varints, at most 10 bytes):
 *
 *   "PMc" 0x01
 *   size vsize
 *   has_sent [sent (zigzag) tz (zigzag)]
 *   envelope_len envelope  body_len body  bodystructure_len bodystructure
 *   nparts, then per part:
 *     parent+1 (0 for the root) flags cte hdr_off hdr_len body_off
 *     body_len hdr_bare_lf body_bare_lf charset_len charset
 *   CRC-32C (util/crc32c) of all the above, 4 bytes little-endian
 *
 * Child and sibling links are not stored: parts are in pre-order, so
 * they follow from the parents. Decoding checks every length against
 * what is left, every parent against the pre-order, every range against
 * the message size, and the checksum, so a damaged or foreign entry is
 * refused and never yields offsets outside the message.
 */
#include "imap/imap_msg.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "mime/rfc5322_date.h"
#include "util/crc32c.h"
#include "util/xalloc.h"

static const char imap_msg_magic[4] = {'P', 'M', 'c', IMAP_MSG_VERSION};

/* imap_msg_alloc - one block for the struct, parts and strings; only
 * the struct is zeroed (callers set every part field). */
static struct imap_msg *
imap_msg_alloc(uint32_t nparts, size_t env, size_t body, size_t bs,
	       struct imap_msg_part **parts_r, char **strings_r)
{
	size_t n = sizeof(struct imap_msg) +
		   (size_t)nparts * sizeof(struct imap_msg_part) + env + body +
		   bs + 3;
	struct imap_msg *m = xmalloc(n);

	memset(m, 0, sizeof(*m));
	*parts_r = (struct imap_msg_part *)(m + 1);
	*strings_r = (char *)(*parts_r + nparts);
	m->parts = *parts_r;
	m->nparts = nparts;
	return m;
}

/* imap_msg_set_strings - copy the three strings after the parts. */
static void
imap_msg_set_strings(struct imap_msg *m, char *p, const char *env, size_t envl,
		     const char *body, size_t bodyl, const char *bs, size_t bsl)
{
	memcpy(p, env, envl);
	p[envl] = '\0';
	m->envelope = p;
	m->envelope_len = envl;
	p += envl + 1;
	memcpy(p, body, bodyl);
	p[bodyl] = '\0';
	m->body = p;
	m->body_len = bodyl;
	p += bodyl + 1;
	memcpy(p, bs, bsl);
	p[bsl] = '\0';
	m->bodystructure = p;
	m->bodystructure_len = bsl;
}

struct imap_msg *
imap_msg_from_tree(const struct mime_tree *t)
{
	struct strbuf env = {0}, body = {0}, bs = {0};
	struct imap_msg_part *parts;
	struct imap_msg *m;
	char *strings;

	strbuf_add(&env, "", 0);
	strbuf_add(&body, "", 0);
	strbuf_add(&bs, "", 0);
	imap_bodystructure_envelope(t, 0, &env);
	imap_bodystructure_write(t, 0, false, &body);
	imap_bodystructure_write(t, 0, true, &bs);
	m = imap_msg_alloc(t->nparts, env.len, body.len, bs.len, &parts,
			   &strings);
	for (uint32_t i = 0; i < t->nparts; i++) {
		const struct mime_part *s = &t->parts[i];
		struct imap_msg_part *d = &parts[i];
		d->parent = s->parent;
		d->child = s->child;
		d->next = s->next;
		d->flags = s->flags;
		d->cte = s->cte;
		d->hdr_off = s->hdr_off;
		d->hdr_len = s->hdr_len;
		d->body_off = s->body_off;
		d->body_len = s->body_len;
		d->hdr_bare_lf = s->hdr_bare_lf;
		d->body_bare_lf = s->body_bare_lf;
		const char *cs = mime_str_ptr(t, s->charset);
		memset(d->charset, 0, sizeof(d->charset));
		if (cs != NULL && s->charset.len <= IMAP_MSG_CHARSET_MAX &&
		    memchr(cs, '\0', s->charset.len) == NULL)
			memcpy(d->charset, cs, s->charset.len);
	}
	m->size = t->size;
	m->vsize = t->size + parts[0].hdr_bare_lf + parts[0].body_bare_lf;
	imap_msg_set_strings(m, strings, env.p, env.len, body.p, body.len, bs.p,
			     bs.len);
	if (t->nenvs > 0 && t->parts[0].env < t->nenvs) {
		struct mime_str d = t->envs[t->parts[0].env].date;
		const char *p = mime_str_ptr(t, d);
		if (p != NULL &&
		    rfc5322_date_parse(p, d.len, &m->sent, &m->sent_tz) == 0)
			m->has_sent = true;
	}
	free(env.p);
	free(body.p);
	free(bs.p);
	return m;
}

struct imap_msg *
imap_msg_parse(const void *msg, size_t len)
{
	struct mime_tree *t = mime_parse(msg, len, NULL);
	struct imap_msg *m = imap_msg_from_tree(t);

	mime_tree_free(&t);
	return m;
}

/* ---- encoding ---- */

static void
enc_u64(struct strbuf *out, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	strbuf_add(out, (const char *)b, n);
}

static void
enc_bytes(struct strbuf *out, const char *s, size_t n)
{
	enc_u64(out, n);
	strbuf_add(out, s, n);
}

static uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void
imap_msg_encode(const struct imap_msg *m, struct strbuf *out)
{
	size_t start = out->len;
	unsigned char crc[4];
	uint32_t c;

	strbuf_add(out, imap_msg_magic, sizeof(imap_msg_magic));
	enc_u64(out, m->size);
	enc_u64(out, m->vsize);
	enc_u64(out, m->has_sent);
	if (m->has_sent) {
		enc_u64(out, zigzag((int64_t)m->sent));
		enc_u64(out, zigzag(m->sent_tz));
	}
	enc_bytes(out, m->envelope, m->envelope_len);
	enc_bytes(out, m->body, m->body_len);
	enc_bytes(out, m->bodystructure, m->bodystructure_len);
	enc_u64(out, m->nparts);
	for (uint32_t i = 0; i < m->nparts; i++) {
		const struct imap_msg_part *p = &m->parts[i];
		enc_u64(out,
			p->parent == MIME_NONE ? 0 : (uint64_t)p->parent + 1);
		enc_u64(out, p->flags);
		enc_u64(out, p->cte);
		enc_u64(out, p->hdr_off);
		enc_u64(out, p->hdr_len);
		enc_u64(out, p->body_off);
		enc_u64(out, p->body_len);
		enc_u64(out, p->hdr_bare_lf);
		enc_u64(out, p->body_bare_lf);
		enc_bytes(out, p->charset, strlen(p->charset));
	}
	c = crc32c(0, out->p + start, out->len - start);
	for (int i = 0; i < 4; i++)
		crc[i] = (unsigned char)(c >> (8 * i));
	strbuf_add(out, (const char *)crc, 4);
}

/* ---- decoding ---- */

struct dec {
	const unsigned char *p, *e;
	bool bad;
};

static uint64_t
dec_u64(struct dec *d)
{
	uint64_t v = 0;

	/* most numbers are one or two bytes */
	if (d->e - d->p >= 2) {
		if (d->p[0] < 0x80)
			return *d->p++;
		if (d->p[1] < 0x80) {
			v = (uint64_t)(d->p[0] & 0x7f) | (uint64_t)d->p[1] << 7;
			d->p += 2;
			return v;
		}
	}

	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (d->p == d->e) {
			d->bad = true;
			return 0;
		}
		unsigned char b = *d->p++;
		if (shift == 63 && (b & 0x7e) != 0) {
			d->bad = true; /* more than 64 bits */
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return v;
	}
	d->bad = true;
	return 0;
}

static const char *
dec_bytes(struct dec *d, size_t *len_r)
{
	uint64_t n = dec_u64(d);

	if (d->bad || n > (uint64_t)(d->e - d->p)) {
		d->bad = true;
		*len_r = 0;
		return NULL;
	}
	const char *s = (const char *)d->p;
	d->p += n;
	*len_r = (size_t)n;
	return s;
}

static int64_t
unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* dec_range_ok - off + len within size, without overflow. */
static bool
dec_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

struct imap_msg *
imap_msg_decode(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	struct dec d;
	struct imap_msg hdr = {0}, *m;
	struct imap_msg_part *parts;
	const char *env, *body, *bs;
	size_t envl, bodyl, bsl;
	uint32_t *last = NULL;
	char *strings;
	uint32_t c;

	if (len < sizeof(imap_msg_magic) + 4 ||
	    memcmp(b, imap_msg_magic, sizeof(imap_msg_magic)) != 0)
		return NULL;
	c = crc32c(0, b, len - 4);
	if (c != ((uint32_t)b[len - 4] | (uint32_t)b[len - 3] << 8 |
		  (uint32_t)b[len - 2] << 16 | (uint32_t)b[len - 1] << 24))
		return NULL;
	d.p = b + sizeof(imap_msg_magic);
	d.e = b + len - 4;
	d.bad = false;
	hdr.size = dec_u64(&d);
	hdr.vsize = dec_u64(&d);
	uint64_t has_sent = dec_u64(&d);
	if (has_sent > 1)
		return NULL;
	if (has_sent) {
		hdr.has_sent = true;
		hdr.sent = (time_t)unzigzag(dec_u64(&d));
		int64_t tz = unzigzag(dec_u64(&d));
		if (tz < -24 * 60 || tz > 24 * 60)
			return NULL;
		hdr.sent_tz = (int)tz;
	}
	env = dec_bytes(&d, &envl);
	body = dec_bytes(&d, &bodyl);
	bs = dec_bytes(&d, &bsl);
	uint64_t nparts = dec_u64(&d);
	/* Each part takes at least 10 bytes: no allocation larger than
	 * the input can justify. */
	if (d.bad || hdr.vsize < hdr.size || nparts == 0 ||
	    nparts > (uint64_t)(d.e - d.p) / 10 || nparts >= MIME_NONE)
		return NULL;
	if (memchr(env, '\0', envl) || memchr(body, '\0', bodyl) ||
	    memchr(bs, '\0', bsl))
		return NULL;
	m = imap_msg_alloc((uint32_t)nparts, envl, bodyl, bsl, &parts,
			   &strings);
	/* the last child of each part so far, to link siblings */
	uint32_t last_small[64];
	last =
	    nparts <= 64 ? last_small : xmalloc((size_t)nparts * sizeof(*last));
	for (uint32_t i = 0; i < nparts && !d.bad; i++) {
		struct imap_msg_part *p = &parts[i];
		uint64_t parent = dec_u64(&d);
		uint64_t flags = dec_u64(&d), cte = dec_u64(&d);
		p->hdr_off = dec_u64(&d);
		p->hdr_len = dec_u64(&d);
		p->body_off = dec_u64(&d);
		p->body_len = dec_u64(&d);
		p->hdr_bare_lf = dec_u64(&d);
		p->body_bare_lf = dec_u64(&d);
		size_t csl;
		const char *cs = dec_bytes(&d, &csl);
		if (d.bad || (i == 0) != (parent == 0) || parent > i ||
		    flags > UINT32_MAX || cte > MIME_CTE_OTHER ||
		    csl > IMAP_MSG_CHARSET_MAX || memchr(cs, '\0', csl) ||
		    !dec_range_ok(p->hdr_off, p->hdr_len, hdr.size) ||
		    !dec_range_ok(p->body_off, p->body_len, hdr.size) ||
		    p->hdr_bare_lf > p->hdr_len ||
		    p->body_bare_lf > p->body_len) {
			d.bad = true;
			break;
		}
		p->flags = (uint32_t)flags;
		p->cte = (uint8_t)cte;
		memcpy(p->charset, cs, csl);
		p->charset[csl] = '\0';
		p->child = p->next = MIME_NONE;
		last[i] = MIME_NONE;
		p->parent = parent == 0 ? MIME_NONE : (uint32_t)(parent - 1);
		if (i > 0) {
			struct imap_msg_part *q = &parts[p->parent];
			if (q->child == MIME_NONE)
				q->child = i;
			else
				parts[last[p->parent]].next = i;
			last[p->parent] = i;
		}
	}
	if (last != last_small)
		free(last);
	if (d.bad || d.p != d.e) {
		free(m);
		return NULL;
	}
	m->size = hdr.size;
	m->vsize = hdr.vsize;
	m->has_sent = hdr.has_sent;
	m->sent = hdr.sent;
	m->sent_tz = hdr.sent_tz;
	imap_msg_set_strings(m, strings, env, envl, body, bodyl, bs, bsl);
	return m;
}

bool
imap_msg_equal(const struct imap_msg *a, const struct imap_msg *b)
{
	if (a->size != b->size || a->vsize != b->vsize ||
	    a->has_sent != b->has_sent || a->nparts != b->nparts ||
	    a->envelope_len != b->envelope_len || a->body_len != b->body_len ||
	    a->bodystructure_len != b->bodystructure_len)
		return false;
	if (a->has_sent && (a->sent != b->sent || a->sent_tz != b->sent_tz))
		return false;
	if (memcmp(a->envelope, b->envelope, a->envelope_len) != 0 ||
	    memcmp(a->body, b->body, a->body_len) != 0 ||
	    memcmp(a->bodystructure, b->bodystructure, a->bodystructure_len))
		return false;
	for (uint32_t i = 0; i < a->nparts; i++) {
		const struct imap_msg_part *x = &a->parts[i], *y = &b->parts[i];
		if (x->parent != y->parent || x->child != y->child ||
		    x->next != y->next || x->flags != y->flags ||
		    x->cte != y->cte || x->hdr_off != y->hdr_off ||
		    x->hdr_len != y->hdr_len || x->body_off != y->body_off ||
		    x->body_len != y->body_len ||
		    x->hdr_bare_lf != y->hdr_bare_lf ||
		    x->body_bare_lf != y->body_bare_lf ||
		    strcmp(x->charset, y->charset) != 0)
			return false;
	}
	return true;
}

void
imap_msg_free(struct imap_msg **mp)
{
	free(*mp);
	*mp = NULL;
}
