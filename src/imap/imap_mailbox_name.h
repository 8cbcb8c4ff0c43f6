/*
 * imap_mailbox_name - mailbox names as IMAP clients send them: modified
 * UTF-7 (RFC 3501 §5.1.3) and the LIST wildcards (§6.3.8). Pure.
 *
 * Names travel and are stored in modified UTF-7, as Dovecot and Courier
 * keep them in Maildir++ folder names, so a folder made by one of them
 * keeps its name here. CREATE and RENAME accept only valid modified
 * UTF-7: "&" followed by base64 (with "," for "/") of UTF-16BE ended by
 * "-", "&-" for "&", printable US-ASCII otherwise; no needless shift
 * (encoded printable ASCII), no "&...-&...-" that should have been one
 * run, no leftover bits, no unpaired surrogate.
 */
#ifndef PETREL_IMAP_IMAP_MAILBOX_NAME_H
#define PETREL_IMAP_IMAP_MAILBOX_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

#define IMAP_MAILBOX_SEP '.' /* the hierarchy delimiter (Maildir++) */

/* imap_mailbox_name_decode - modified UTF-7 to UTF-8, appended to out.
 * 0, or -1 if s is not valid modified UTF-7. */
int imap_mailbox_name_decode(const char *s, size_t len, struct strbuf *out);

/* imap_mailbox_name_encode - UTF-8 to modified UTF-7. 0, or -1 if s is
 * not valid UTF-8. */
int imap_mailbox_name_encode(const char *s, size_t len, struct strbuf *out);

/* imap_mailbox_name_valid - valid modified UTF-7. */
bool imap_mailbox_name_valid(const char *s, size_t len);

/*
 * imap_mailbox_name_match - does name match the LIST pattern? "*" matches
 * anything, "%" anything but the delimiter (RFC 3501 §6.3.8). "INBOX" at
 * the start of both is compared case-blind; the rest exactly.
 */
bool imap_mailbox_name_match(const char *pattern, const char *name);

#endif
