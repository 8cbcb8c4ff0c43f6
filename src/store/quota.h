/*
 * quota - how much a user's mailbox holds, across all its folders, and
 * the limit from the directory (users.quota, `petrel user quota`).
 *
 * Usage is kept the Maildir++ way, in "maildirsize" at the top of the
 * user's Maildir: a first line with the limit ("1048576S"; "0S" for
 * none), then lines "BYTES COUNT" whose sums are the usage. Whoever adds
 * or removes a message appends a line (delivery, APPEND, COPY, EXPUNGE,
 * POP3's delete); when the file is missing or grown past 5120 bytes it
 * is recalculated from the files. Appends take a shared flock and the
 * recalculation an exclusive one (on "maildirsize.lock"), so no delta
 * is lost to a concurrent rewrite.
 *
 * Enforcement, as users of other servers expect: a message that arrives
 * while the mailbox is under its limit is delivered (a limit is not a
 * reason to lose mail half-way through a transaction); once the mailbox
 * is full, RCPT is refused with 452 4.2.2 (temporary: the sender's
 * server retries, and the user may make room), and a message whose
 * declared SIZE would not fit with 552 5.2.2. IMAP APPEND and COPY get
 * NO [OVERQUOTA] (RFC 9208 §7).
 */
#ifndef PETREL_STORE_QUOTA_H
#define PETREL_STORE_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;
struct directory_targets;

#define QUOTA_FILE "maildirsize"

/*
 * quota_usage - the octets and messages in the mailbox at root (its
 * Maildir): read from maildirsize, recalculated first when needed.
 * 0 or -1.
 */
int quota_usage(const char *root, uint64_t *bytes_r, uint64_t *count_r);

/* quota_add - record a change of the usage (negative: removed). */
void quota_add(const char *root, int64_t bytes, int64_t count);

/* quota_recalc - count the files again and rewrite maildirsize. */
int quota_recalc(const char *root, uint64_t *bytes_r, uint64_t *count_r);

/* quota_limit - the user's limit in octets (0: none) for the mailbox of
 * address. 0, or -1 on a directory error. */
int quota_limit(struct directory *dir, const char *address, uint64_t *limit_r);

/*
 * quota_would_exceed - would size more octets in the folder at path
 * (any folder of the user address) go past the user's limit? For IMAP
 * APPEND and COPY; on a worker thread (the directory and maildirsize
 * are read).
 */
bool quota_would_exceed(const char *data_dir, const char *address,
			const char *path, uint64_t size);

struct quota_reply {
	int code;	  /* 0: accept; 452 or 552 */
	const char *enh;  /* "4.2.2" / "5.2.2" */
	const char *text; /* "Mailbox full" ... */
};

/*
 * quota_rcpt - the SMTP verdict for a recipient that resolved to the
 * targets t, declaring size octets (0: not declared). A recipient is
 * refused only when every one of its targets is a local mailbox that is
 * full (an alias with other members still delivers to them).
 */
void quota_rcpt(struct directory *dir, const char *data_dir,
		const struct directory_targets *t, uint64_t size,
		struct quota_reply *r);

#endif
