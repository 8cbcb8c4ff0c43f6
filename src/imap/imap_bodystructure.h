/*
 * imap_bodystructure - the IMAP4rev1 ENVELOPE, BODY and BODYSTRUCTURE
 * strings of a parsed message (RFC 3501 §7.4.2, grammar in §9), as
 * Dovecot writes them where the RFC leaves a choice (checked against
 * Dovecot 2.3 on the fixtures in tests/unit/test_imap_bodystructure.c).
 *
 * ENVELOPE: (date subject from sender reply-to to cc bcc in-reply-to
 * message-id). Date, subject, in-reply-to and message-id are the raw
 * field values with the line breaks of folding removed; addresses are
 * lists of (name adl mailbox host), with RFC 822 group syntax as
 * (NIL NIL "group" NIL) ... (NIL NIL NIL NIL); a missing field is NIL,
 * and sender and reply-to default to from (§7.4.2). Display names keep
 * their RFC 2047 encoded-words (clients decode them).
 *
 * Strings are written as quoted strings when they can be (7-bit, no
 * CR/LF/NUL; '"' and '\' escaped), else as literals {n}\r\n... (8-bit
 * UTF-8 per RFC 6532 headers); NUL bytes, which no IMAP string can
 * hold, become 0x80 first. Texts for people (Subject, display and group
 * names) are sent as Dovecot sends them: white space runs collapsed to
 * one space and trimmed, bytes that are not UTF-8 as U+FFFD.
 *
 * Deliberate differences from Dovecot (tests/mime/make_fixtures.py
 * lists the cases, tests/mime/dovecot_diff.py checks random messages):
 * Dovecot sends some strings as literals that could be quoted (the same
 * string to a client); RFC 2231 "name*" with no section stays "name*"
 * (Dovecot may write "name*1*", or each section twice, when parameters
 * repeat or mix); and a message/rfc822 part whose embedded message ends
 * inside its header is 2 octets shorter than in Dovecot, which leaves
 * the line end before the boundary in the part while taking it out of
 * the embedded header (RFC 2046 §5.1.1 gives it to the boundary).
 *
 * BODYSTRUCTURE adds the extension data: for a single part md5,
 * disposition, language, location; for multipart the parameters,
 * disposition, language, location. Types and subtypes are sent as
 * written in the message (RFC 3501 compares them case-blind).
 */
#ifndef PETREL_IMAP_IMAP_BODYSTRUCTURE_H
#define PETREL_IMAP_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/mime_parse.h"
#include "util/strbuf.h"

/* imap_bodystructure_envelope - append the ENVELOPE of message node
 * part (MIME_PART_IS_MESSAGE; 0 for the message itself) to out. */
void imap_bodystructure_envelope(const struct mime_tree *t, uint32_t part,
				 struct strbuf *out);

/* imap_bodystructure_write - append BODY (extended false) or
 * BODYSTRUCTURE (extended true) of part (0: the message) to out. */
void imap_bodystructure_write(const struct mime_tree *t, uint32_t part,
			      bool extended, struct strbuf *out);

/* imap_bodystructure_nstring - append s[0..len) as an IMAP string:
 * quoted if possible, else a literal; NIL when s is NULL. Useful to any
 * IMAP response writer. */
void imap_bodystructure_nstring(const char *s, size_t len, struct strbuf *out);

#endif
