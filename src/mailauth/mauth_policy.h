/*
 * mauth_policy - what petrel does with a message once SPF, DKIM, DMARC
 * and the reverse DNS are known: the one Authentication-Results field
 * (RFC 8601) it adds, and whether it refuses the message. Pure, so the
 * policy table of the README is tested case by case.
 *
 *   spf_policy = enforce:   SPF "fail" for MAIL FROM -> 550 5.7.23,
 *                           unless DMARC passes (an aligned DKIM
 *                           signature vouches for the message, as for
 *                           forwarded mail); SPF temperror -> 451 4.7.24
 *                           unless DMARC passes.
 *   dmarc_policy = enforce: DMARC fail where the domain's policy, after
 *                           pct=, is p=reject -> 550 5.7.1; when such a
 *                           failure may be temporary (the policy, SPF, or
 *                           a DKIM key look-up failed for now) -> 451
 *                           4.7.5 instead. p=quarantine: accepted, the
 *                           header says so (petrel has no spam folder).
 *   none (both defaults):   never refused; the header tells.
 */
#ifndef PETREL_MAILAUTH_MAUTH_POLICY_H
#define PETREL_MAILAUTH_MAUTH_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/dkim_verify.h"
#include "mailauth/dmarc_eval.h"
#include "mailauth/iprev.h"
#include "mailauth/spf_eval.h"

struct strbuf;

struct mauth_results {
	const char *authserv_id; /* our host name */
	const char *ip;		 /* the client's address, text */
	struct iprev_outcome iprev;
	const char *mailfrom; /* the MAIL FROM address, "" for <> */
	const char *helo;
	struct spf_outcome spf; /* for MAIL FROM (or postmaster@HELO) */
	bool helo_checked;
	struct spf_outcome spf_helo;
	size_t n_dkim;
	const struct dkim_verdict *dkim; /* n_dkim of them */
	bool dmarc_checked;
	struct dmarc_outcome dmarc;
	bool spf_enforce, dmarc_enforce;
};

struct mauth_action {
	int code;	      /* 0: accept; else 451 or 550 */
	const char *enhanced; /* "5.7.1" ... */
	char text[256];
};

void mauth_policy_decide(const struct mauth_results *r, struct mauth_action *a);

/* mauth_policy_header - the Authentication-Results field, with CRLF. */
void mauth_policy_header(const struct mauth_results *r, struct strbuf *out);

#endif
