/*
 * dmarc_record - the DMARC policy record (RFC 7489 §6.3) at
 * _dmarc.DOMAIN: "v=DMARC1; p=reject; ...". Pure: a TXT record's text
 * in, the policy out. Tags are the DKIM tag-list shape (§6.4), matched
 * ignoring case; unknown tags are ignored (§6.3).
 */
#ifndef PETREL_MAILAUTH_DMARC_RECORD_H
#define PETREL_MAILAUTH_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT
};

struct dmarc_record {
	enum dmarc_policy p, sp; /* sp defaults to p */
	bool adkim_strict, aspf_strict;
	unsigned pct; /* 0-100, default 100 */
	bool has_rua;
};

/* dmarc_record_is_dmarc1 - does the text start with "v=DMARC1" (§6.6.3)? */
bool dmarc_record_is_dmarc1(const char *txt, size_t len);

/*
 * dmarc_record_parse - 0, or -1 with *why_r. A record without a valid
 * p= but with rua= is taken as p=none (§6.6.3 step 6).
 */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r,
		       const char **why_r);

const char *dmarc_policy_name(enum dmarc_policy p);

#endif
