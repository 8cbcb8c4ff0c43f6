/*
 * imap_msg - build, encode, decode (first version: build only; the
 * encoding follows).
 */
#include "imap/imap_msg.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "util/xalloc.h"

struct imap_msg *
imap_msg_from_tree(const struct mime_tree *t)
{
	struct strbuf env = {0}, body = {0}, bs = {0};
	struct imap_msg *m;
	struct imap_msg_part *parts;
	char *p;
	size_t n;

	imap_bodystructure_envelope(t, 0, &env);
	imap_bodystructure_write(t, 0, false, &body);
	imap_bodystructure_write(t, 0, true, &bs);
	n = sizeof(*m) + t->nparts * sizeof(*parts) + env.len + body.len +
	    bs.len;
	m = xcalloc(1, n);
	parts = (struct imap_msg_part *)(m + 1);
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
		m->vsize += i == 0 ? s->hdr_bare_lf + s->body_bare_lf : 0;
	}
	m->size = t->size;
	m->vsize += t->size;
	p = (char *)(parts + t->nparts);
	memcpy(p, env.p, env.len);
	m->envelope = p;
	m->envelope_len = env.len;
	p += env.len;
	memcpy(p, body.p, body.len);
	m->body = p;
	m->body_len = body.len;
	p += body.len;
	memcpy(p, bs.p, bs.len);
	m->bodystructure = p;
	m->bodystructure_len = bs.len;
	m->parts = parts;
	m->nparts = t->nparts;
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

void
imap_msg_encode(const struct imap_msg *m, struct strbuf *out)
{
	(void)m;
	(void)out;
}

struct imap_msg *
imap_msg_decode(const void *buf, size_t len)
{
	(void)buf;
	(void)len;
	return NULL;
}

bool
imap_msg_equal(const struct imap_msg *a, const struct imap_msg *b)
{
	return a->size == b->size && a->nparts == b->nparts;
}

void
imap_msg_free(struct imap_msg **mp)
{
	free(*mp);
	*mp = NULL;
}
