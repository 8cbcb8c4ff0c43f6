/*
 * rfc5322 - a pure, incremental parser for the header section of an
 * Internet message (RFC 5322 §2.2, §3.6), and the address-list parser
 * (§3.4) used by the pickup folder and `petrel sendmail -t` to find the
 * envelope in From:/Sender:/To:/Cc:/Bcc: and X-Sender:/X-Receiver:.
 *
 * Header fields are returned whole (unfolded views are the caller's
 * business), with the byte offsets of each field, so a caller can drop
 * one (Bcc:) while copying the rest verbatim. Bare LF line ends are
 * accepted as well as CRLF (files written by local programs use LF).
 */
#ifndef PETREL_MIME_RFC5322_H
#define PETREL_MIME_RFC5322_H

#include <stdbool.h>
#include <stddef.h>

#define RFC5322_MAX_FIELD (64 * 1024) /* one field, folded lines included */

struct rfc5322_field {
	const char *name; /* view: field name, no colon */
	size_t name_len;
	const char *value; /* view: after the colon, through the last line
			      of the field, without the final line end */
	size_t value_len;
	size_t start; /* offset of the field in the input */
	size_t end;   /* offset just past its final line end */
};

enum rfc5322_status {
	RFC5322_FIELD = 1, /* one field parsed; call again at *end */
	RFC5322_END = 0,   /* the empty line (or end of input): header done;
			      body starts at *body_r */
	RFC5322_ERROR = -1 /* malformed: no colon, bad name, field too long,
			      NUL byte */
};

/*
 * rfc5322_next_field - parse the field starting at offset pos of buf
 * (len bytes, the whole message or at least the whole header section).
 * On RFC5322_END *body_r is the offset of the body (after the empty
 * line), or len when the input ends inside the header section.
 */
enum rfc5322_status rfc5322_next_field(const char *buf, size_t len, size_t pos,
				       struct rfc5322_field *f, size_t *body_r);

/* rfc5322_name_is - case-insensitive compare of a field's name. */
bool rfc5322_name_is(const struct rfc5322_field *f, const char *name);

typedef void rfc5322_address_cb(const char *addr, size_t len, void *arg);

/*
 * rfc5322_parse_addresses - call cb with each addr-spec ("local@domain",
 * as written, without angle brackets or display names) in an address
 * list value: "Alice <a@x>, b@y (Bob), Group: c@z, d@w;". Comments and
 * quoted display names are skipped; folding whitespace is allowed.
 * Returns the number of addresses, or -1 on a syntax error (addresses
 * seen before the error have been reported).
 */
int rfc5322_parse_addresses(const char *value, size_t len,
			    rfc5322_address_cb *cb, void *arg);

/*
 * rfc5322_skip_cfws - past the CFWS (§3.2.2: white space, folding line
 * ends, and (nested (comments)) with quoted-pairs) at p; an unterminated
 * comment runs to end. For the structured fields MIME adds (RFC 2045
 * §5.1) and dates (§3.3), where a comment never matters.
 */
const char *rfc5322_skip_cfws(const char *p, const char *end);

#endif
