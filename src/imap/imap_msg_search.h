/*
 * imap_msg_search - the text keys of IMAP SEARCH (RFC 3501 §6.4.4) over
 * one message: its stored bytes and its imap_msg. One call per key; the
 * needle is UTF-8 (the command's CHARSET converted - US-ASCII and UTF-8
 * need nothing) and folded once with mime_needle_new for all messages.
 *
 *   HEADER f s - the message's header has a field f whose value
 *                (unfolded, RFC 2047 decoded to UTF-8) contains s; an
 *                empty s matches any message with the field.
 *   SUBJECT/FROM/TO/CC/BCC s - HEADER with that field name.
 *   BODY s     - the body of the message: every text part (type text,
 *                parts without Content-Type, and type message other than
 *                an embedded message, e.g. delivery-status), at any
 *                depth, including inside embedded messages, after its
 *                Content-Transfer-Encoding and charset are decoded. No
 *                header is body, not even an embedded message's.
 *   TEXT s     - any field of any header (the message's, the parts'
 *                MIME headers, embedded messages'), decoded, or BODY.
 *
 * These rules were checked against Dovecot 2.3 (without full-text
 * search) on the corpus of tests/mime: the same messages match.
 *
 * Matching is mime_fold.h's case-insensitive substring match. Bodies are
 * decoded in bounded chunks, never whole: a 50 MB attachment costs
 * time, not memory. Non-text parts (images, application/...) are not
 * searched, as in Dovecot without full-text search.
 */
#ifndef PETREL_IMAP_IMAP_MSG_SEARCH_H
#define PETREL_IMAP_IMAP_MSG_SEARCH_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/imap_msg.h"
#include "mime/mime_fold.h"

/* imap_msg_search_header - HEADER field needle (field: a name without
 * colon, case-blind; NULL: any field, its name included in the text).
 * msg[0..len) is the stored message m came from; ranges past len (a
 * file shorter than the one parsed) are cut, never read. */
bool imap_msg_search_header(const char *msg, size_t len,
			    const struct imap_msg *m, const char *field,
			    const struct mime_needle *needle);

/* imap_msg_search_body - BODY needle. */
bool imap_msg_search_body(const char *msg, size_t len, const struct imap_msg *m,
			  const struct mime_needle *needle);

/* imap_msg_search_text - TEXT needle. */
bool imap_msg_search_text(const char *msg, size_t len, const struct imap_msg *m,
			  const struct mime_needle *needle);

#endif
