/*
 * notify - "mail was just delivered into this Maildir", from the
 * committer thread to whoever on the event loop wants to know (the IMAP
 * folders that are open, so that an IDLE client hears of new mail at
 * once). Also keeps the user's quota usage (store/quota.h) current.
 *
 * The committer calls notify_delivered for every local delivery; when
 * nothing listens, it only appends to maildirsize. A listener gets the
 * Maildir paths on the loop thread, batched: one eventfd wake-up per
 * committed batch at most.
 */
#ifndef PETREL_STORE_NOTIFY_H
#define PETREL_STORE_NOTIFY_H

#include <stdint.h>

struct event_base;

typedef void notify_fn(const char *mailbox, void *arg);

/* notify_delivered - any thread: size octets were delivered into the
 * Maildir at mailbox (data_dir/mail/DOMAIN/USER, its INBOX). */
void notify_delivered(const char *mailbox, uint64_t size);

/* notify_listen - on the loop: call fn(mailbox, arg) for deliveries from
 * now on. notify_unlisten stops it. One listener at a time. */
void notify_listen(struct event_base *base, notify_fn *fn, void *arg);
void notify_unlisten(void);

#endif
