/*
 * dkim_tags - the tag=value list of RFC 6376 §3.2, shared by the
 * DKIM-Signature header field, DKIM key records (§3.6.1) and DMARC
 * records (RFC 7489 §6.4, the same shape).
 *
 * Pure: bytes in, views out (into the input), no allocation. Tag names
 * are case-sensitive (§3.2); a name given twice makes the whole list
 * invalid. Values are returned with the folding white space around them
 * removed but inside them kept (b= and p= drop it when decoded).
 */
#ifndef PETREL_MAILAUTH_DKIM_TAGS_H
#define PETREL_MAILAUTH_DKIM_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_TAGS_MAX 64 /* more tags than that: not a record we take */

struct dkim_tag {
	const char *name; /* view, ALPHA *(ALPHA / DIGIT / "_") */
	size_t name_len;
	const char *value; /* view, FWS trimmed at both ends; may be empty */
	size_t value_len;
};

struct dkim_tags {
	size_t n;
	struct dkim_tag tag[DKIM_TAGS_MAX];
};

enum dkim_tags_error {
	DKIM_TAGS_OK = 0,
	DKIM_TAGS_SYNTAX,    /* not tag=value; bad name or value byte */
	DKIM_TAGS_DUPLICATE, /* a name twice (§3.2) */
	DKIM_TAGS_TOO_MANY,  /* more than DKIM_TAGS_MAX */
};

/*
 * dkim_tags_parse - parse the list in s (len bytes; NULs are errors).
 * FWS is WSP with CRLF (or a bare LF) followed by WSP; an empty list, or
 * one of only white space, is valid and has no tags. A final ";" is
 * allowed (§3.2). Returns DKIM_TAGS_OK and fills *out, else the error.
 */
enum dkim_tags_error dkim_tags_parse(const char *s, size_t len,
				     struct dkim_tags *out);

/* dkim_tags_get - the tag named name, or NULL. */
const struct dkim_tag *dkim_tags_get(const struct dkim_tags *t,
				     const char *name);

/* dkim_tags_get_ci - the same, the name matched ignoring ASCII case (DMARC
 * records: RFC 7489 §6.4's ABNF literals are case-insensitive). */
const struct dkim_tag *dkim_tags_get_ci(const struct dkim_tags *t,
					const char *name);

/* dkim_tag_is - does the value equal word exactly (case-sensitive)? */
bool dkim_tag_is(const struct dkim_tag *tag, const char *word);

/* dkim_tag_is_ci - the same, ASCII case-insensitive. */
bool dkim_tag_is_ci(const struct dkim_tag *tag, const char *word);

#endif
