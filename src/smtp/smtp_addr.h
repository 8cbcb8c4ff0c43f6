/*
 * smtp_addr - the pure RFC 5321 §4.1.2 path and mailbox parser.
 *
 *   Path = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *
 * Source routes (A-d-l, "@a,@b:") are accepted and ignored, as §4.1.1.3
 * says. The result is only ever the final mailbox: a '%', '!' or '@'
 * inside a (quoted) local part stays part of the local part and is never
 * interpreted as routing, so none of them can make petrel relay.
 */
#ifndef PETREL_SMTP_SMTP_ADDR_H
#define PETREL_SMTP_SMTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_LOCAL_MAX	64  /* RFC 5321 §4.5.3.1.1 */
#define SMTP_DOMAIN_MAX 255 /* RFC 5321 §4.5.3.1.2 */

struct smtp_path {
	bool null_path;	      /* "<>" */
	bool postmaster_only; /* "<postmaster>" without a domain (RCPT) */
	bool had_source_route;
	bool quoted;	      /* the local part was a Quoted-string */
	bool address_literal; /* domain is "[1.2.3.4]" / "[IPv6:...]" */
	/* Local part with quoting removed (quoted-pairs unescaped). */
	char local[SMTP_LOCAL_MAX + 1];
	/* Domain as written, lower-cased; literals keep their brackets. */
	char domain[SMTP_DOMAIN_MAX + 1];
};

enum smtp_addr_flags {
	SMTP_ADDR_ALLOW_NULL = 1 << 0,	     /* "<>" permitted (MAIL FROM) */
	SMTP_ADDR_ALLOW_POSTMASTER = 1 << 1, /* "<postmaster>" (RCPT TO) */
	SMTP_ADDR_ALLOW_NO_BRACKETS = 1 << 2 /* bare mailbox, for the CLI */
};

/*
 * smtp_addr_parse_path - parse a path at the start of s (len bytes).
 * On success returns 0 and sets *consumed_r to the bytes used (through
 * '>'). Returns -1 on any syntax error or over-long part.
 */
int smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
			 struct smtp_path *path_r, size_t *consumed_r);

/*
 * smtp_addr_parse_mailbox - parse a whole string as "local@domain" with
 * no brackets (admin CLI, alias targets, header addresses after
 * extraction). Returns 0 or -1.
 */
int smtp_addr_parse_mailbox(const char *s, size_t len,
			    struct smtp_path *path_r);

/*
 * smtp_addr_format - write the mailbox as "local@domain" into out,
 * re-quoting the local part when it needs it (RFC 5321 §4.1.2). An empty
 * string for the null path. Returns the length, or -1 if out is short.
 */
int smtp_addr_format(const struct smtp_path *path, char *out, size_t outlen);

/* smtp_addr_valid_domain - RFC 5321 Domain (sub-domain *("." sub-domain)). */
bool smtp_addr_valid_domain(const char *s, size_t len);

#endif
