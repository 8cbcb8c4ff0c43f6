/*
 * maildir - the on-disk mailbox: one Maildir per mailbox at
 * data_dir/mail/DOMAIN/LOCALPART/ (cur/ new/ tmp/), IMAP folders later as
 * Maildir++ sub-folders (".Sent").
 *
 * A message is stored byte for byte as it arrived over SMTP (CRLF line
 * ends, our Received: line on top), so POP3 RETR and IMAP FETCH send it
 * unchanged and the size in its name (",S=1234") is exactly the octets a
 * reader will count. Names follow the Maildir convention
 * "TIME.MUSEC_PPID_NSEQ.HOST,S=SIZE", flags later in ":2,FRS".
 *
 * Delivery is a hard link of the already-written queue file into new/:
 * atomic (a reader never sees half a message) and free of copying; the
 * caller makes it durable (syncfs or fsync of new/) before saying 250.
 */
#ifndef PETREL_STORE_MAILDIR_H
#define PETREL_STORE_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

/*
 * maildir_mailbox_path - data_dir/mail/DOMAIN/LOCALPART into out. The
 * local part is lower-cased (lookups are case-insensitive, so one mailbox
 * per user) and any byte outside [a-z0-9._+=-], or a leading '.', is
 * written as %XX, so no address can name a path outside its domain.
 * Returns 0 or -1 if out is too small.
 */
int maildir_mailbox_path(const char *data_dir, const char *domain,
			 const char *localpart, char *out, size_t outlen);

/* maildir_create - make path and its cur/ new/ tmp/ (0700). 0 or -1. */
int maildir_create(const char *path);

/* maildir_unique_name - a new unique base name with ",S=size". */
void maildir_unique_name(uint64_t size, char *out, size_t outlen);

/*
 * maildir_deliver - put the file at src_path (open as src_fd, size bytes)
 * into the Maildir at mailbox as new/NAME: a hard link when possible, a
 * copy through tmp/ otherwise (another file system). Creates the Maildir
 * if missing. Does not sync: the caller does. The new file's path goes to
 * path_r. Returns 0 or -1 with errno.
 */
int maildir_deliver(const char *mailbox, const char *src_path, int src_fd,
		    uint64_t size, char *path_r, size_t pathlen);

#endif
