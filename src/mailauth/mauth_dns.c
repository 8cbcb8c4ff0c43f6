#include "mailauth/mauth_dns.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "deliver/dns.h"
#include "util/xalloc.h"

struct mauth_lookup {
	struct dns_raw *raw;
	int type;
	mauth_dns_cb *cb;
	void *arg;
};

static void
lookup_done(enum dns_status status, int rcode, const uint8_t *pkt, size_t len,
	    void *arg)
{
	struct mauth_lookup *l = arg;
	struct dns_wire_rr rrs[MAUTH_DNS_MAX_RRS];
	int n = 0;
	char *buf = NULL;

	(void)rcode;
	if (status == DNS_OK) {
		/* Names may expand from 2-octet pointers to 255 octets. */
		size_t cap = len + MAUTH_DNS_MAX_RRS * 256 + 1;
		buf = xmalloc(cap);
		n = dns_wire_records(pkt, len, l->type, rrs, MAUTH_DNS_MAX_RRS,
				     buf, cap);
	}
	mauth_dns_cb *cb = l->cb;
	void *cb_arg = l->arg;
	free(l);
	if (status == DNS_PERMFAIL)
		cb(MAUTH_DNS_NXDOMAIN, NULL, 0, cb_arg);
	else if (status != DNS_OK || n < 0)
		cb(MAUTH_DNS_TEMP, NULL, 0, cb_arg);
	else
		cb(MAUTH_DNS_OK, rrs, (size_t)n, cb_arg);
	free(buf);
}

struct mauth_lookup *
mauth_dns_lookup(struct dns *dns, const char *name, int type, unsigned timeout,
		 mauth_dns_cb *cb, void *arg)
{
	struct mauth_lookup *l = xcalloc(1, sizeof(*l));

	l->type = type;
	l->cb = cb;
	l->arg = arg;
	l->raw = dns_query_raw(dns, name, type, timeout, lookup_done, l);
	if (!l->raw) {
		free(l);
		return NULL;
	}
	return l;
}

void
mauth_dns_cancel(struct mauth_lookup *l)
{
	if (!l)
		return;
	dns_raw_cancel(l->raw);
	free(l);
}

/* ---- the SPF driver --------------------------------------------------- */

#define SPF_BATCH 64

struct spf_pending {
	struct mauth_spf *s;
	struct mauth_lookup *l; /* NULL once answered */
	struct spf_query q;
};

struct mauth_spf {
	struct dns *dns;
	struct spf_eval *e;
	unsigned timeout;
	mauth_spf_cb *cb;
	void *arg;
	bool starting, finished; /* finished while mauth_spf_start ran */
	struct spf_outcome now;
	size_t n, left;
	struct spf_pending p[SPF_BATCH];
};

static void spf_step(struct mauth_spf *s);

static void
spf_answered(enum mauth_dns_status status, const struct dns_wire_rr *rrs,
	     size_t n, void *arg)
{
	struct spf_pending *p = arg;
	struct mauth_spf *s = p->s;
	struct spf_rr srr[MAUTH_DNS_MAX_RRS];

	p->l = NULL;
	for (size_t i = 0; i < n; i++) {
		srr[i].data = rrs[i].data;
		srr[i].len = rrs[i].len;
	}
	spf_eval_answer(s->e, p->q.name, p->q.type,
			status == MAUTH_DNS_OK	       ? SPF_DNS_OK
			: status == MAUTH_DNS_NXDOMAIN ? SPF_DNS_NXDOMAIN
						       : SPF_DNS_TEMP,
			srr, n);
	if (--s->left == 0)
		spf_step(s);
}

/* spf_step - run the evaluator; send the next batch or report. */
static void
spf_step(struct mauth_spf *s)
{
	if (spf_eval_run(s->e)) {
		if (s->starting) {
			s->now = *spf_eval_outcome(s->e);
			s->finished = true;
			return;
		}
		mauth_spf_cb *cb = s->cb;
		void *arg = s->arg;
		struct spf_eval *e = s->e;
		s->e = NULL;
		free(s);
		cb(spf_eval_outcome(e), arg);
		spf_eval_free(&e);
		return;
	}
	s->n = spf_eval_n_queries(s->e);
	if (s->n > SPF_BATCH)
		s->n = SPF_BATCH;
	s->left = s->n;
	for (size_t i = 0; i < s->n; i++) {
		s->p[i].s = s;
		s->p[i].q = *spf_eval_query(s->e, i);
		s->p[i].l = NULL;
	}
	/* Started after the copies: a look-up may not answer inside
	 * mauth_dns_lookup, but a failure to start is answered here. */
	for (size_t i = 0; i < s->n; i++) {
		struct spf_pending *p = &s->p[i];
		p->l = mauth_dns_lookup(s->dns, p->q.name, p->q.type,
					s->timeout, spf_answered, p);
		if (!p->l) {
			/* Not a name unbound takes: as if NXDOMAIN. */
			spf_eval_answer(s->e, p->q.name, p->q.type,
					SPF_DNS_NXDOMAIN, NULL, 0);
			if (--s->left == 0) {
				spf_step(s);
				return;
			}
		}
	}
}

struct mauth_spf *
mauth_spf_start(struct dns *dns, const struct spf_eval_params *p,
		unsigned timeout, mauth_spf_cb *cb, void *arg,
		struct spf_outcome *now_r)
{
	struct mauth_spf *s = xcalloc(1, sizeof(*s));

	s->dns = dns;
	s->timeout = timeout;
	s->cb = cb;
	s->arg = arg;
	s->e = spf_eval_new(p);
	s->starting = true;
	spf_step(s);
	s->starting = false;
	if (s->finished) {
		*now_r = s->now;
		spf_eval_free(&s->e);
		free(s);
		return NULL;
	}
	return s;
}

void
mauth_spf_cancel(struct mauth_spf *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		mauth_dns_cancel(s->p[i].l);
	spf_eval_free(&s->e);
	free(s);
}

/* ---- the DKIM key fetcher --------------------------------------------- */

struct dkim_pending {
	struct mauth_dkim *d;
	struct mauth_lookup *l;
	size_t sig;
};

struct mauth_dkim {
	struct dkim_verify *v;
	mauth_done_cb *done;
	void *arg;
	size_t n, left;
	struct dkim_pending p[DKIM_VERIFY_MAX];
};

static void
dkim_answered(enum mauth_dns_status status, const struct dns_wire_rr *rrs,
	      size_t n, void *arg)
{
	struct dkim_pending *p = arg;
	struct mauth_dkim *d = p->d;
	const char *txt[MAUTH_DNS_MAX_RRS];
	size_t len[MAUTH_DNS_MAX_RRS];

	p->l = NULL;
	for (size_t i = 0; i < n; i++) {
		txt[i] = rrs[i].data;
		len[i] = rrs[i].len;
	}
	dkim_verify_key(d->v, p->sig,
			status == MAUTH_DNS_OK	       ? DKIM_DNS_OK
			: status == MAUTH_DNS_NXDOMAIN ? DKIM_DNS_NONE
						       : DKIM_DNS_TEMP,
			txt, len, n);
	if (--d->left == 0) {
		mauth_done_cb *done = d->done;
		void *done_arg = d->arg;
		free(d);
		done(done_arg);
	}
}

struct mauth_dkim *
mauth_dkim_start(struct dns *dns, struct dkim_verify *v, unsigned timeout,
		 mauth_done_cb *done, void *arg)
{
	struct mauth_dkim *d = xcalloc(1, sizeof(*d));

	d->v = v;
	d->done = done;
	d->arg = arg;
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		if (!name)
			continue;
		struct dkim_pending *p = &d->p[d->n];
		p->d = d;
		p->sig = i;
		p->l = mauth_dns_lookup(dns, name, DNS_T_TXT, timeout,
					dkim_answered, p);
		if (p->l)
			d->n++;
		else
			dkim_verify_key(v, i, DKIM_DNS_NONE, NULL, NULL, 0);
	}
	d->left = d->n;
	if (d->n == 0) {
		free(d);
		return NULL;
	}
	return d;
}

void
mauth_dkim_cancel(struct mauth_dkim *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		mauth_dns_cancel(d->p[i].l);
	free(d);
}

/* ---- the DMARC policy fetcher ----------------------------------------- */

struct mauth_dmarc {
	struct dns *dns;
	struct dmarc_eval *e;
	unsigned timeout;
	mauth_done_cb *done;
	void *arg;
	struct mauth_lookup *l;
};

static void
dmarc_answered(enum mauth_dns_status status, const struct dns_wire_rr *rrs,
	       size_t n, void *arg)
{
	struct mauth_dmarc *d = arg;
	const char *txt[MAUTH_DNS_MAX_RRS];
	size_t len[MAUTH_DNS_MAX_RRS];
	const char *next;

	d->l = NULL;
	for (size_t i = 0; i < n; i++) {
		txt[i] = rrs[i].data;
		len[i] = rrs[i].len;
	}
	dmarc_eval_answer(d->e,
			  status == MAUTH_DNS_OK	 ? DMARC_DNS_OK
			  : status == MAUTH_DNS_NXDOMAIN ? DMARC_DNS_NONE
							 : DMARC_DNS_TEMP,
			  txt, len, n);
	while ((next = dmarc_eval_query(d->e))) {
		d->l = mauth_dns_lookup(d->dns, next, DNS_T_TXT, d->timeout,
					dmarc_answered, d);
		if (d->l)
			return;
		dmarc_eval_answer(d->e, DMARC_DNS_NONE, NULL, NULL, 0);
	}
	mauth_done_cb *done = d->done;
	void *done_arg = d->arg;
	free(d);
	done(done_arg);
}

struct mauth_dmarc *
mauth_dmarc_start(struct dns *dns, struct dmarc_eval *e, unsigned timeout,
		  mauth_done_cb *done, void *arg)
{
	struct mauth_dmarc *d;
	const char *q;

	while ((q = dmarc_eval_query(e))) {
		d = xcalloc(1, sizeof(*d));
		d->dns = dns;
		d->e = e;
		d->timeout = timeout;
		d->done = done;
		d->arg = arg;
		d->l = mauth_dns_lookup(dns, q, DNS_T_TXT, timeout,
					dmarc_answered, d);
		if (d->l)
			return d;
		free(d);
		dmarc_eval_answer(e, DMARC_DNS_NONE, NULL, NULL, 0);
	}
	return NULL;
}

void
mauth_dmarc_cancel(struct mauth_dmarc *d)
{
	if (!d)
		return;
	mauth_dns_cancel(d->l);
	free(d);
}
