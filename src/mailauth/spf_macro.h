/*
 * spf_macro - SPF macro strings (RFC 7208 §7): checking their syntax and
 * expanding them. Pure: the values the letters stand for come in a
 * context; %{p} (the validated host name of the client, §7.3) needs DNS,
 * so the expander asks for it instead of looking it up.
 */
#ifndef PETREL_MAILAUTH_SPF_MACRO_H
#define PETREL_MAILAUTH_SPF_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spf_macro_ctx {
	const char *sender;	   /* s: "local@domain" */
	const char *local;	   /* l */
	const char *sender_domain; /* o */
	const char *domain;	   /* d: the domain being checked */
	const char *ip;		   /* i: "192.0.2.1" or dotted nibbles */
	const char *ip_text;	   /* c: "192.0.2.1", "2001:db8::1" */
	const char *v;		   /* "in-addr" or "ip6" */
	const char *helo;	   /* h */
	const char *receiver;	   /* r */
	const char *p;		   /* validated name; NULL = not known yet */
	uint64_t t;		   /* t: seconds since the epoch */
};

enum spf_macro_status {
	SPF_MACRO_OK = 0,
	SPF_MACRO_SYNTAX = -1, /* not a macro-string: permerror */
	SPF_MACRO_NEED_P = 1,  /* uses %{p} and ctx->p is NULL */
};

/*
 * spf_macro_check - is s (len bytes) a macro-string (§7.1)? exp: in an
 * explanation, where c, r and t are allowed and any printable text is.
 */
bool spf_macro_check(const char *s, size_t len, bool exp);

/*
 * spf_macro_expand - expand into out (cap bytes, NUL-terminated; longer
 * results are cut). Returns a status.
 */
enum spf_macro_status spf_macro_expand(const char *s, size_t len,
				       const struct spf_macro_ctx *ctx,
				       bool exp, char *out, size_t cap);

/*
 * spf_macro_domain - expand a domain-spec and, if longer than 253
 * octets, drop labels from the left until it fits (§7.3). A final dot
 * is removed.
 */
enum spf_macro_status spf_macro_domain(const char *s, size_t len,
				       const struct spf_macro_ctx *ctx,
				       char out[256]);

#endif
