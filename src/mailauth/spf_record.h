/*
 * spf_record - the SPF record (RFC 7208 §4.5, §12): "v=spf1" and its
 * terms, parsed and checked. Pure: a TXT record's text in (its strings
 * already joined, §3.3), mechanisms and modifiers out as views into it.
 * Any syntax error makes the record a permerror (§4.6), so the parser
 * checks every term, also those the evaluator may never reach.
 */
#ifndef PETREL_MAILAUTH_SPF_RECORD_H
#define PETREL_MAILAUTH_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_MAX_TERMS 96

enum spf_kind {
	SPF_ALL,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS,
};

struct spf_mech {
	char qual; /* '+', '-', '~', '?' */
	enum spf_kind kind;
	const char *spec; /* domain-spec view, NULL = the current domain */
	size_t spec_len;
	unsigned cidr4, cidr6; /* 32 / 128 unless given */
	uint8_t ip[16];	       /* ip4 (4 used) / ip6 network */
	const char *text;      /* the whole term, for logs */
	size_t text_len;
};

struct spf_record {
	size_t n;
	struct spf_mech m[SPF_MAX_TERMS];
	const char *redirect, *exp; /* domain-spec views or NULL */
	size_t redirect_len, exp_len;
};

/*
 * spf_record_is_spf1 - does the TXT text start with "v=spf1" followed by
 * a space or its end (§4.5; the version is matched ignoring case)?
 */
bool spf_record_is_spf1(const char *txt, size_t len);

/*
 * spf_record_parse - parse the whole record. Returns 0, or -1 with
 * *why_r a short reason ("unknown mechanism 'foo'" is not built: the
 * reasons are fixed strings).
 */
int spf_record_parse(const char *txt, size_t len, struct spf_record *r,
		     const char **why_r);

/* spf_kind_name - "all", "include", ... */
const char *spf_kind_name(enum spf_kind k);

#endif
