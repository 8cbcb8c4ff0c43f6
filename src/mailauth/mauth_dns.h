/*
 * mauth_dns - the DNS look-ups of mail authentication (TXT for SPF,
 * DKIM keys and DMARC policies; A, AAAA, MX, PTR for SPF mechanisms and
 * reverse DNS) on petrel's resolver: asynchronous on the event loop
 * (dns_query_raw), answers decoded by dns_wire into records.
 *
 * And the asynchronous driver of the pure SPF evaluator: it makes each
 * batch of queries spf_eval asks for, all at once, and reruns it when
 * the last answer is in.
 */
#ifndef PETREL_MAILAUTH_MAUTH_DNS_H
#define PETREL_MAILAUTH_MAUTH_DNS_H

#include <stddef.h>

#include "deliver/dns_wire.h"
#include "mailauth/dkim_verify.h"
#include "mailauth/dmarc_eval.h"
#include "mailauth/spf_eval.h"

struct dns;

enum mauth_dns_status {
	MAUTH_DNS_OK,	    /* records (maybe none of the type: NODATA) */
	MAUTH_DNS_NXDOMAIN, /* the name does not exist */
	MAUTH_DNS_TEMP,	    /* time-out, SERVFAIL, a malformed answer */
};

typedef void mauth_dns_cb(enum mauth_dns_status status,
			  const struct dns_wire_rr *rrs, size_t n, void *arg);

struct mauth_lookup;

#define MAUTH_DNS_MAX_RRS 64

/*
 * mauth_dns_lookup - look up (name, type); cb runs later on the loop
 * with the decoded records (valid during the call only). timeout in
 * seconds (0 = the resolver's). NULL if it could not start.
 */
struct mauth_lookup *mauth_dns_lookup(struct dns *dns, const char *name,
				      int type, unsigned timeout,
				      mauth_dns_cb *cb, void *arg);

void mauth_dns_cancel(struct mauth_lookup *l);

struct mauth_spf;

typedef void mauth_spf_cb(const struct spf_outcome *o, void *arg);

/*
 * mauth_spf_start - evaluate SPF for p on dns; cb gets the outcome later
 * on the loop (a look-up that times out counts as a temporary failure,
 * so the outcome is then temperror, never a silent pass). When no DNS is
 * needed (a malformed domain: none) it returns NULL with *now_r filled
 * and cb is never called.
 */
struct mauth_spf *mauth_spf_start(struct dns *dns,
				  const struct spf_eval_params *p,
				  unsigned timeout, mauth_spf_cb *cb, void *arg,
				  struct spf_outcome *now_r);

/* mauth_spf_cancel - cb will not be called. */
void mauth_spf_cancel(struct mauth_spf *s);

struct mauth_dkim;

typedef void mauth_done_cb(void *arg);

/*
 * mauth_dkim_start - fetch the key record of every signature of v that
 * needs one, all at once, and feed them to v (whose body must be
 * complete); done(arg) runs on the loop when the last is in. NULL when
 * no key is needed (done is then not called).
 */
struct mauth_dkim *mauth_dkim_start(struct dns *dns, struct dkim_verify *v,
				    unsigned timeout, mauth_done_cb *done,
				    void *arg);

void mauth_dkim_cancel(struct mauth_dkim *d);

struct mauth_dmarc;

/*
 * mauth_dmarc_start - the policy look-ups of e (one, or two when the
 * From domain has no record and its organizational domain differs);
 * done(arg) runs when e has no more to ask. NULL if e asks nothing.
 */
struct mauth_dmarc *mauth_dmarc_start(struct dns *dns, struct dmarc_eval *e,
				      unsigned timeout, mauth_done_cb *done,
				      void *arg);

void mauth_dmarc_cancel(struct mauth_dmarc *d);

#endif
