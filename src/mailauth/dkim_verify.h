/*
 * dkim_verify - check every DKIM-Signature of a message (RFC 6376 §6),
 * as a pure state machine: the caller feeds the header section, the
 * body, and the key records it fetched from DNS; the module does no I/O
 * and so runs under the session's asynchronous resolver, in tests from
 * a table, and in the fuzzer alike.
 *
 *     v = dkim_verify_new(head)           signatures parsed, headers hashed
 *     dkim_verify_body(v, ...)...         body hashed once per (c=, l=)
 *     dkim_verify_body_end(v)
 *     for each i: dkim_verify_key_name(v, i) -> look up TXT, then
 *         dkim_verify_key(v, i, status, records)
 *     dkim_verify_verdict(v, i)           pass / fail / ... with a reason
 *
 * Results use RFC 8601's words (§2.7.1). At most DKIM_VERIFY_MAX
 * signatures are checked, the topmost first; more are ignored (each
 * costs a DNS look-up and a public-key operation, and a sender has no
 * honest use for dozens).
 */
#ifndef PETREL_MAILAUTH_DKIM_VERIFY_H
#define PETREL_MAILAUTH_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailauth/dkim_sig.h"

#define DKIM_VERIFY_MAX 8

enum dkim_result {
	DKIM_NONE,
	DKIM_PASS,
	DKIM_FAIL,
	DKIM_POLICY, /* valid but not acceptable: expired, key too short */
	DKIM_NEUTRAL,
	DKIM_TEMPERROR,
	DKIM_PERMERROR,
};

struct dkim_verdict {
	enum dkim_result result;
	char why[80];		     /* "" on pass */
	char d[MAUTH_NAME_MAX + 1];  /* header.d ("" if unparsed) */
	char s[MAUTH_NAME_MAX + 1];  /* header.s */
	char i[MAUTH_NAME_MAX + 66]; /* header.i */
	char a[16];		     /* header.a */
	char b[9];		     /* header.b: first 8 of b= (RFC 6008) */
	bool testing;		     /* the key says t=y */
};

enum dkim_dns { DKIM_DNS_OK, DKIM_DNS_NONE, DKIM_DNS_TEMP };

struct dkim_verify;

/*
 * dkim_verify_new - take the header section (copied; the whole message
 * may be passed, the body is not looked at), parse its signatures and
 * hash the headers each one covers. now: for x= (expiry).
 */
struct dkim_verify *dkim_verify_new(const char *head, size_t len, time_t now);

void dkim_verify_body(struct dkim_verify *v, const char *p, size_t len);
void dkim_verify_body_end(struct dkim_verify *v);

/* dkim_verify_count - the signatures being checked (0..DKIM_VERIFY_MAX). */
size_t dkim_verify_count(const struct dkim_verify *v);

/*
 * dkim_verify_key_name - "SELECTOR._domainkey.DOMAIN" whose TXT record
 * signature i needs, or NULL if its verdict is already final (it could
 * not be parsed, it expired...).
 */
const char *dkim_verify_key_name(const struct dkim_verify *v, size_t i);

/*
 * dkim_verify_key - the answer for signature i: its TXT records (each
 * with its strings already joined, RFC 6376 §3.6.2.2). The body must be
 * complete. DKIM_DNS_NONE = NXDOMAIN or no TXT (permerror, "no key");
 * DKIM_DNS_TEMP = time-out or SERVFAIL (temperror).
 */
void dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_dns status,
		     const char *const *txt, const size_t *txt_len, size_t n);

const struct dkim_verdict *dkim_verify_verdict(const struct dkim_verify *v,
					       size_t i);

void dkim_verify_free(struct dkim_verify **vp);

/* dkim_result_name - "pass", "fail", ... (RFC 8601 §2.7.1). */
const char *dkim_result_name(enum dkim_result r);

#endif
