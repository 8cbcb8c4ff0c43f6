/*
 * imap_msg_section - FETCH BODY[section]<partial> addressing (RFC 3501
 * §6.4.5) over the part table of an imap_msg.
 *
 *   section  = [part-number *("." part-number)] ["." text] | text
 *   text     = "HEADER" | "HEADER.FIELDS" fields | "HEADER.FIELDS.NOT"
 *              fields | "TEXT" | "MIME" (MIME only after a part number)
 *
 * Resolution follows the RFC and Dovecot: part numbers walk multipart
 * children; a non-multipart message (or part) has only part 1, itself;
 * in a message/rfc822 part, the following numbers address the parts of
 * the embedded message, and HEADER/TEXT its header and body. "" is the
 * whole message, "N" the body of part N (for message/rfc822 the whole
 * embedded message), "N.MIME" its MIME header. A part that does not
 * exist resolves to IMAP_SECTION_EMPTY (send ""), not an error.
 *
 * The result is a byte range of the stored message, or (HEADER.FIELDS
 * [.NOT]) the header range to pass through imap_section_filter, which
 * generates the selected fields followed by the empty line. Every
 * header range includes its empty line, as IMAP sends it.
 *
 * <partial> applies to the octets as sent: for CRLF messages (all mail
 * petrel stores) vlen == len and the range can be sent (and sliced)
 * directly; when vlen > len the range holds bare LFs and
 * imap_section_copy_crlf produces the CRLF bytes (and slices them).
 */
#ifndef PETREL_IMAP_IMAP_MSG_SECTION_H
#define PETREL_IMAP_IMAP_MSG_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_msg.h"
#include "util/strbuf.h"

#define IMAP_SECTION_MAX_PARTS	128 /* numbers in one section */
#define IMAP_SECTION_MAX_FIELDS 128 /* names in HEADER.FIELDS (...) */
#define IMAP_SECTION_MAX_NAME	256 /* octets of one field name */

enum imap_section_text {
	IMAP_SECTION_BODY = 0,		/* "" or "N..." alone */
	IMAP_SECTION_HEADER,		/* HEADER */
	IMAP_SECTION_HEADER_FIELDS,	/* HEADER.FIELDS (...) */
	IMAP_SECTION_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
	IMAP_SECTION_TEXT,		/* TEXT */
	IMAP_SECTION_MIME,		/* N.MIME */
};

struct imap_section_name {
	const char *p; /* a view: the caller's (or parsed string's) bytes */
	size_t len;
};

struct imap_section {
	uint32_t part[IMAP_SECTION_MAX_PARTS]; /* numbers, each >= 1 */
	size_t nparts;			       /* 0: the message itself */
	enum imap_section_text text;
	struct imap_section_name field[IMAP_SECTION_MAX_FIELDS];
	size_t nfields; /* HEADER.FIELDS[.NOT]: >= 1 */
};

/*
 * imap_section_parse - parse the text between "[" and "]" (e.g.
 * "1.2.HEADER.FIELDS (From \"To\")"): case-blind keywords, field names
 * as atoms or quoted strings (views into s; quoted names with a
 * backslash escape are rejected - pass such names via a struct filled
 * by the command parser instead). Numbers are 1..2^32-1. Returns 0, or
 * -1 on a syntax error (the command is BAD).
 */
int imap_section_parse(const char *s, size_t len, struct imap_section *r);

enum imap_section_kind {
	IMAP_SECTION_EMPTY = 0, /* no such part: send "" */
	IMAP_SECTION_RANGE,	/* send bytes [off, off+len) */
	IMAP_SECTION_FILTER,	/* header at [off, off+len): send
				   imap_section_filter's output */
};

struct imap_section_range {
	enum imap_section_kind kind;
	uint64_t off, len; /* in the stored message */
	uint64_t vlen;	   /* RANGE: octets as sent (len + bare LFs) */
};

/* imap_section_resolve - where section s of message m is. Never fails:
 * a nonexistent part gives IMAP_SECTION_EMPTY. */
void imap_section_resolve(const struct imap_msg *m,
			  const struct imap_section *s,
			  struct imap_section_range *r);

/*
 * imap_section_filter - append to out the fields of the header block
 * hdr[0..len) whose names are (HEADER_FIELDS) or are not
 * (HEADER_FIELDS_NOT) in s->field (case-blind), in message order, each
 * with its folded lines, line ends as CRLF, then the empty line "\r\n".
 * A header cut short by the end of the message (no empty line) is
 * treated as Dovecot does: FIELDS ends its output with a line end and,
 * if the header's last line was whole, the empty line; FIELDS.NOT sends
 * the lines as they are.
 */
void imap_section_filter(const char *hdr, size_t len,
			 const struct imap_section *s, struct strbuf *out);

/*
 * imap_section_copy_crlf - append to out at most max octets of src
 * [0..len) as sent with CRLF line ends (each bare LF becomes CRLF),
 * skipping the first skip of those octets (the <partial> origin).
 */
void imap_section_copy_crlf(const char *src, size_t len, uint64_t skip,
			    uint64_t max, struct strbuf *out);

#endif
