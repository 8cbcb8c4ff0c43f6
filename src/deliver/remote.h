/*
 * remote - delivery to other servers: recipients grouped by destination
 * (the recipient's domain, or the smarthost for everything), the
 * destination resolved once (dns.c, cached for a minute), and a few
 * smtp_client connections per destination that each carry message after
 * message. Limits: outbound_connections overall,
 * outbound_connections_per_destination each; a destination gets another
 * connection only while it has more than a handful of messages waiting
 * per open one, so a burst of 200 messages travels over a few
 * connections, not 200.
 *
 * The scheduler hands in remote_items (one message, its recipients for
 * one destination) and gets each back through its done callback with a
 * result per recipient.
 */
#ifndef PETREL_DELIVER_REMOTE_H
#define PETREL_DELIVER_REMOTE_H

#include <stddef.h>

#include "smtp/smtp_client.h"

struct server;
struct remote;

struct remote_item {
	struct smtp_client_msg cm; /* rcpts[].result etc. filled on done */
	void *owner;		   /* the scheduler's */
	size_t *idx;		   /* envelope indices of cm.rcpts */
	char *path;		   /* owned; cm.path points here */
	struct remote_item *next;  /* private */
};

typedef void remote_done_fn(struct remote_item *item, void *arg);

struct remote *remote_new(struct server *srv, remote_done_fn *done, void *arg);

/* remote_submit - deliver item to domain (ignored with a smarthost). */
void remote_submit(struct remote *r, const char *domain,
		   struct remote_item *item);

/*
 * remote_free - abort every connection and query; items still waiting or
 * in flight come back through done() with TEMP results first.
 */
void remote_free(struct remote **rp);

#endif
