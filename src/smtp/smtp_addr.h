/*
 * smtp_addr - the pure RFC 5321 §4.1.2 path and mailbox parser.
 *
 *   Path = "<" [ A-d-l ":" ] Mailbox ">"
 *   Mailbox = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *
 * Source routes (A-d-l, "@a,@b:") are accepted and ignored, as §4.1.1.3
 * says. With SMTP_ADDR_ALLOW_UTF8 (RFC 6531 §3.3) atext and qtext also
 * take well-formed UTF-8, and a sub-domain may be a U-label (checked
 * with libidn2, IDNA2008 with the UTS #46 mapping). The result is only ever the
 * final mailbox: a '%', '!' or '@' inside a (quoted) local part stays part of
 * the local part and is never interpreted as routing, so none of them can make
 * petrel relay.
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
	bool utf8;	      /* a byte >= 0x80 in the local part or domain */
	/* Local part with quoting removed (quoted-pairs unescaped). */
	char local[SMTP_LOCAL_MAX + 1];
	/* Domain as written, lower-cased; literals keep their brackets. */
	char domain[SMTP_DOMAIN_MAX + 1];
};

enum smtp_addr_flags {
	SMTP_ADDR_ALLOW_NULL = 1 << 0,	      /* "<>" permitted (MAIL FROM) */
	SMTP_ADDR_ALLOW_POSTMASTER = 1 << 1,  /* "<postmaster>" (RCPT TO) */
	SMTP_ADDR_ALLOW_NO_BRACKETS = 1 << 2, /* bare mailbox, for the CLI */
	SMTP_ADDR_ALLOW_UTF8 = 1 << 3	      /* RFC 6531 addresses */
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
 * smtp_addr_parse_mailbox_utf8 - the same, accepting RFC 6531 UTF-8 local
 * parts and U-label domains (the directory, pickup, sendmail).
 */
int smtp_addr_parse_mailbox_utf8(const char *s, size_t len,
				 struct smtp_path *path_r);

/*
 * smtp_addr_format - write the mailbox as "local@domain" into out,
 * re-quoting the local part when it needs it (RFC 5321 §4.1.2). An empty
 * string for the null path. Returns the length, or -1 if out is short.
 */
int smtp_addr_format(const struct smtp_path *path, char *out, size_t outlen);

/* smtp_addr_valid_domain - RFC 5321 Domain (sub-domain *("." sub-domain)). */
bool smtp_addr_valid_domain(const char *s, size_t len);

/*
 * smtp_addr_domain_ascii - the canonical form of a domain for comparing
 * and looking up (RFC 5890 §2.3.2.1): ASCII lower-case, every U-label
 * as its A-label ("Bücher.Example" -> "xn--bcher-kva.example"), so the
 * two spellings of one domain are one string. Address literals and
 * ASCII domains are only lower-cased. Returns 0, or -1 when the domain
 * is malformed or out does not have room.
 */
int smtp_addr_domain_ascii(const char *domain, char *out, size_t outlen);

#endif
