/*
 * mailbox - a Maildir folder with stable UIDs, shared by POP3 and IMAP.
 *
 * Beside each folder's cur/ new/ tmp/ lives an index, "petrel-uidlist",
 * in the manner of Dovecot's dovecot-uidlist:
 *
 *   petrel-uidlist 1 UIDVALIDITY UIDNEXT
 *   UID BASENAME
 *   ...
 *
 * BASENAME is the Maildir file name without its ":2,FLAGS" info suffix,
 * so a message keeps its UID when it moves from new/ to cur/ or changes
 * flags. Syncing (mailbox_open) takes an exclusive flock on
 * "petrel-uidlist.lock", reads the index, scans new/ and cur/, gives every
 * file not yet listed the next UID (in name order, which is arrival
 * order), forgets entries whose file is gone, and if anything changed
 * writes the index to a temporary file, fsyncs it and renames it over the
 * old one. UIDs are never reused; UIDVALIDITY is set once, when the index
 * is created. A file that is being delivered is never seen half-written:
 * delivery links complete files into new/.
 *
 * The size comes from ",S=SIZE" in the name when present (petrel always
 * writes it), else from stat. Flags are the Maildir info letters
 * (D draft, F flagged, P passed, R replied, S seen, T trashed).
 */
#ifndef PETREL_STORE_MAILBOX_H
#define PETREL_STORE_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mailbox_msg {
	uint32_t uid;
	uint64_t size;	/* octets of the file */
	char *basename; /* name without ":2,..." */
	char *path;	/* current full path (new/ or cur/) */
	char flags[16]; /* info letters, sorted, e.g. "RS" */
};

struct mailbox {
	char *path; /* the Maildir folder */
	uint32_t uidvalidity;
	uint32_t uidnext;
	size_t n; /* messages, ascending UID */
	struct mailbox_msg *msgs;
};

/*
 * mailbox_open - sync the folder at path (creating the Maildir and its
 * index when missing) and return a snapshot of its messages in UID
 * order. Returns NULL with err on failure.
 */
struct mailbox *mailbox_open(const char *path, char *err, size_t errlen);

/* mailbox_free - free the snapshot and set *mbp to NULL. */
void mailbox_free(struct mailbox **mbp);

/*
 * mailbox_delete - unlink message i of the snapshot. Returns 0, or -1
 * (a file already gone counts as deleted: 0).
 */
int mailbox_delete(struct mailbox *mb, size_t i);

/*
 * mailbox_set_flags - rename message i to cur/BASENAME:2,FLAGS (sorted,
 * deduplicated). Updates path and flags. 0 or -1.
 */
int mailbox_set_flags(struct mailbox *mb, size_t i, const char *flags);

/*
 * mailbox_sync_lock - take the lock that serializes syncs and renames on
 * the folder at path (an exclusive flock on "petrel-uidlist.lock",
 * waiting for it). Returns its fd (close it to release) or -1. Hold it
 * while renaming message files, so that no sync sees a message between
 * two names.
 */
int mailbox_sync_lock(const char *path);

/*
 * mailbox_find_file - the current path of the message with this base
 * name (the file name before ":"), in cur/ or new/, into out. For a
 * message another session renamed since it was listed; call with the
 * sync lock held so that it cannot move again. 0, or -1 (ENOENT).
 */
int mailbox_find_file(const char *path, const char *base, char *out,
		      size_t outlen);

/*
 * mailbox_lock_exclusive - take the POP3 maildrop lock on path (a flock
 * on "petrel-pop3.lock", not blocking). Returns the lock fd (close it to
 * release), -1 if another session holds it (errno EWOULDBLOCK), or -1 on
 * error. The kernel drops a flock when its holder dies, so a crashed
 * session never blocks the mailbox.
 */
int mailbox_lock_exclusive(const char *path);

#endif
