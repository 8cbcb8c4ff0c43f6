/*
 * auth_results - the Authentication-Results header field (RFC 8601):
 * building ours, and recognising fields that claim to be ours.
 *
 * Only the receiving server may say what it verified: a field arriving
 * with our authserv-id (our host name) was forged or is left over from
 * an earlier hop and must go before ours is added (§5); fields of other
 * servers stay.
 */
#ifndef PETREL_MAILAUTH_AUTH_RESULTS_H
#define PETREL_MAILAUTH_AUTH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;

/*
 * auth_results_authserv_id - the authserv-id at the start of a field's
 * value (after CFWS: a token, or a quoted-string unquoted) into out.
 * false if there is none.
 */
bool auth_results_authserv_id(const char *value, size_t len, char *out,
			      size_t cap);

/*
 * auth_results_claims - is this field (name and value) an
 * Authentication-Results whose authserv-id is host (ASCII ci)?
 */
bool auth_results_claims(const char *name, size_t name_len, const char *value,
			 size_t value_len, const char *host);

/*
 * auth_results_begin - "Authentication-Results: HOST" into out; then
 * auth_results_add for each result, auth_results_end to finish.
 */
void auth_results_begin(struct strbuf *out, const char *host);

/*
 * auth_results_add - one resinfo on its own folded line: method=result,
 * an optional reason (quoted, §2.2), then "ptype.property=value" pairs
 * (props: NULL-terminated list of name, value, name, value...; a NULL or
 * empty value skips the pair). Values that are not tokens are quoted.
 */
void auth_results_add(struct strbuf *out, const char *method,
		      const char *result, const char *reason,
		      const char *const *props);

/* auth_results_end - "; none" if n_added is 0 (§2.2), then CRLF. */
void auth_results_end(struct strbuf *out, size_t n_added);

#endif
