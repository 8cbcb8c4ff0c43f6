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

#endif
