/*
 * dmarc_eval - DMARC (RFC 7489): find the policy of the RFC5322.From
 * domain (§6.6.3: _dmarc.FROM, else _dmarc.ORGDOMAIN), check whether a
 * passing SPF or DKIM identity aligns with it (§3.1), and say what the
 * policy asks for a failure (p= or sp=, softened by pct=, §6.6.4).
 *
 * The organizational domain comes from the Public Suffix List (libpsl
 * with Debian's publicsuffix data). Pure like the SPF evaluator: the
 * caller looks up the TXT names dmarc_eval_query() gives.
 */
#ifndef PETREL_MAILAUTH_DMARC_EVAL_H
#define PETREL_MAILAUTH_DMARC_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dkim_hash.h"
#include "mailauth/dmarc_record.h"
#include "mailauth/mauth_name.h"
#include "mailauth/spf_eval.h"

enum dmarc_result {
	DMARC_NONE, /* no policy published (or no usable From) */
	DMARC_PASS,
	DMARC_FAIL,
	DMARC_TEMPERROR,
	DMARC_PERMERROR, /* several From addresses, a broken record */
};

enum dmarc_dns { DMARC_DNS_OK, DMARC_DNS_NONE, DMARC_DNS_TEMP };

struct dmarc_outcome {
	enum dmarc_result result;
	enum dmarc_policy policy;  /* what the record asks for a failure */
	enum dmarc_policy applied; /* after pct=: what to do now */
	bool spf_aligned, dkim_aligned;
	char from[MAUTH_NAME_MAX + 1]; /* header.from */
	char why[96];
};

/* What SPF and DKIM said. */
struct dmarc_auth {
	enum spf_result spf;
	const char *spf_domain; /* the MAIL FROM domain (or HELO for <>) */
	size_t n_dkim;
	const char *const *dkim_domains; /* d= of each passing signature */
};

/*
 * dmarc_org_domain - the organizational domain of name (§3.2): its
 * registrable domain by the Public Suffix List; name itself when it is
 * a public suffix or unknown to the list.
 */
void dmarc_org_domain(const char *name, char out[MAUTH_NAME_MAX + 1]);

/*
 * dmarc_from_domain - the domain of the one address in the one From
 * field (§6.6.1). Returns 0, 1 if there is none, -1 if there are
 * several (or it cannot be parsed).
 */
int dmarc_from_domain(const struct dkim_head *h, char out[MAUTH_NAME_MAX + 1]);

struct dmarc_eval;

struct dmarc_eval *dmarc_eval_new(const char *from_domain);

/* dmarc_eval_query - the TXT name to look up next, or NULL. */
const char *dmarc_eval_query(const struct dmarc_eval *e);

void dmarc_eval_answer(struct dmarc_eval *e, enum dmarc_dns status,
		       const char *const *txt, const size_t *len, size_t n);

/*
 * dmarc_eval_finish - the outcome, with roll a number in 0..99 drawn by
 * the caller for pct= (roll >= pct: the policy is not applied and the
 * next milder one is, §6.6.4).
 */
void dmarc_eval_finish(const struct dmarc_eval *e, const struct dmarc_auth *a,
		       unsigned roll, struct dmarc_outcome *out);

void dmarc_eval_free(struct dmarc_eval **ep);

const char *dmarc_result_name(enum dmarc_result r);

#endif
