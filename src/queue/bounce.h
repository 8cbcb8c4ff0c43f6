/*
 * bounce - delivery status notifications (RFC 3464) for mail that cannot
 * be delivered: a multipart/report (RFC 6522) with a human-readable part,
 * a message/delivery-status part (one per-recipient block for each failed
 * recipient), and the original message's header section
 * (text/rfc822-headers). Sent from the null sender <> so that a bounce
 * never bounces (RFC 5321 §6.1).
 *
 * Pure: builds the text from the envelope and the original header bytes.
 */
#ifndef PETREL_QUEUE_BOUNCE_H
#define PETREL_QUEUE_BOUNCE_H

#include <stddef.h>
#include <time.h>

#include "queue/envelope.h"

struct bounce_failure {
	const struct queue_rcpt *rcpt; /* address, orcpt */
	const char *status;	       /* RFC 3463 code, e.g. "5.1.1" */
	const char *remote_mta;	       /* NULL or the host that said no */
	const char *diagnostic;	       /* "smtp; 550 5.1.1 no such user" */
	const char *action;	       /* "failed" (or "delayed") */
};

/*
 * bounce_build - the whole DSN message (CRLF line ends, heap), its length
 * in *len_r. hostname is the reporting MTA; boundary uniqueness comes
 * from the queue id and now.
 */
char *bounce_build(const char *hostname, const struct queue_envelope *env,
		   const struct bounce_failure *failures, size_t n_failures,
		   const char *orig_headers, size_t orig_len, time_t now,
		   size_t *len_r);

#endif
