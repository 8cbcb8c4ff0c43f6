/*
 * imap_msg - what IMAP needs to know about one message, computed once
 * from its MIME parse and kept in the store's index: the ENVELOPE, BODY
 * and BODYSTRUCTURE strings (RFC 3501 §7.4.2, ready to send), the part
 * offset table for BODY[section] (imap_msg_section.h) and SEARCH
 * (imap_msg_search.h), the sizes, and the parsed Date: for SENTBEFORE/
 * SENTON/SENTSINCE.
 *
 * Life cycle: at delivery/APPEND/first FETCH the store parses the
 * message once (imap_msg_parse, or feed a mime_parser chunk by chunk and
 * call imap_msg_from_tree), keeps imap_msg_encode's bytes in its index,
 * and later gets the same struct back with imap_msg_decode, which costs
 * one pass over the encoded bytes (a checksum and bounds checks) and one
 * allocation, and never looks at the message.
 *
 * Encoding (version 2, little-endian varints, see imap_msg.c): magic
 * "PMc", version byte, sizes, date, the three strings, the part table,
 * and a CRC-32C of everything before it. A version this code does not
 * know, a bad checksum, a truncated or inconsistent table: decode returns
 * NULL, and the store simply parses the message again.
 *
 * Ownership: an imap_msg is one heap block holding everything it points
 * to; free it with imap_msg_free. It is never modified after creation,
 * so it may be shared read-only.
 */
#ifndef PETREL_IMAP_IMAP_MSG_H
#define PETREL_IMAP_IMAP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mime/mime_parse.h"
#include "util/strbuf.h"

#define IMAP_MSG_CHARSET_MAX 63 /* longer charset names are dropped */
#define IMAP_MSG_VERSION     2

/* One node of the part tree (same indices and pre-order as the
 * mime_tree it came from; 0 is the message itself). */
struct imap_msg_part {
	uint32_t parent, child, next; /* MIME_NONE when absent */
	uint32_t flags; /* MIME_PART_MULTIPART, _MESSAGE, _IS_MESSAGE,
			   _TEXT, _TYPE_MESSAGE, _DEFAULT_TYPE, _LIMIT...
			   (mime_parse.h) */
	uint8_t cte;	/* enum mime_cte */
	uint64_t hdr_off, hdr_len;	    /* header incl. its empty line */
	uint64_t body_off, body_len;	    /* body */
	uint64_t hdr_bare_lf, body_bare_lf; /* LFs without CR in each */
	char charset[IMAP_MSG_CHARSET_MAX + 1]; /* "" when none given */
};

struct imap_msg {
	uint64_t size;	      /* octets of the message as parsed */
	uint64_t vsize;	      /* octets with every bare LF sent as CRLF: the
				 RFC822.SIZE to report (== size for CRLF mail) */
	time_t sent;	      /* Date: as UTC seconds; valid if has_sent */
	int sent_tz;	      /* Date:'s zone, minutes east of UTC */
	bool has_sent;	      /* the message has a parsable Date: */
	const char *envelope; /* "(date subject from ...)", no NUL inside */
	size_t envelope_len;
	const char *body; /* BODY: "(...)" without extension data */
	size_t body_len;
	const char *bodystructure; /* BODYSTRUCTURE: "(...)" */
	size_t bodystructure_len;
	const struct imap_msg_part *parts;
	uint32_t nparts; /* >= 1 */
};

/* imap_msg_from_tree - build from a finished parse (tree is not kept). */
struct imap_msg *imap_msg_from_tree(const struct mime_tree *t);

/* imap_msg_parse - parse msg (default limits) and build. */
struct imap_msg *imap_msg_parse(const void *msg, size_t len);

/* imap_msg_encode - append the cache encoding of m to out. */
void imap_msg_encode(const struct imap_msg *m, struct strbuf *out);

/*
 * imap_msg_decode - the imap_msg encoded in buf[0..len), or NULL if buf
 * is not a complete, consistent encoding of this version (garbage,
 * truncation, another version). O(len), one allocation.
 */
struct imap_msg *imap_msg_decode(const void *buf, size_t len);

/* imap_msg_equal - same contents (for tests: decode(encode(m)) == m). */
bool imap_msg_equal(const struct imap_msg *a, const struct imap_msg *b);

/* imap_msg_free - free m and set *mp to NULL (NULL is fine). */
void imap_msg_free(struct imap_msg **mp);

#endif
