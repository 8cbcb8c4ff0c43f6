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

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "queue/envelope.h"

/* One per-recipient block: a failure, or (RFC 3464 §2.3.3) a delay, a
 * delivery or a relay. */
struct bounce_failure {
	const struct queue_rcpt *rcpt; /* address, orcpt, dsn_orcpt */
	const char *status;	       /* RFC 3463 code, e.g. "5.1.1" */
	const char *remote_mta;	       /* NULL or the host that said no */
	const char *diagnostic;	       /* "smtp; 550 5.1.1 no such user" */
	const char *action; /* "failed", "delayed", "delivered", "relayed" */
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

struct bounce_options {
	const char *orig; /* the original's header section, or all of it */
	size_t orig_len;
	bool full;	    /* orig is the whole message (RET=FULL): returned as
			       message/rfc822 (message/global with utf8) */
	bool utf8;	    /* RFC 6533: the original needed SMTPUTF8, so the
			       report is message/global-delivery-status and the
			       headers message/global-headers */
	time_t retry_until; /* delayed entries: Will-Retry-Until (0: none) */
};

/*
 * bounce_build_report - bounce_build with the choices of RFC 3461/3464
 * and RFC 6533: env->envid becomes Original-Envelope-Id, a recipient's
 * dsn_orcpt its Original-Recipient, a non-ASCII address is of type
 * utf-8; the subject and text follow the actions (any "failed": a
 * bounce; else any "delayed": a delay warning; else a success report).
 */
char *bounce_build_report(const char *hostname,
			  const struct queue_envelope *env,
			  const struct bounce_failure *entries, size_t n,
			  const struct bounce_options *opt, time_t now,
			  size_t *len_r);

/* What a report is about (bounce_select). */
enum bounce_kind {
	BOUNCE_FINAL, /* nothing is pending: failures and successes */
	BOUNCE_DELAY, /* still pending after delay_warning_time */
};

/*
 * bounce_select - which recipients of env a report of kind covers, as
 * RFC 3461 asks: FINAL takes each FAILED one unless NOTIFY excluded
 * FAILURE ("failed"), each DONE one whose NOTIFY has SUCCESS when it was
 * delivered here ("delivered") or relayed to a hop without DSN
 * ("relayed"; a hop with DSN took the request on); DELAY takes each
 * PENDING one unless NOTIFY excluded DELAY ("delayed"). A null sender
 * gets nothing. Fills out (room for env->n_rcpts) with status strings
 * in status[] (16 bytes each); returns how many.
 */
size_t bounce_select(const struct queue_envelope *env, enum bounce_kind kind,
		     struct bounce_failure *out, char (*status)[16]);

/*
 * bounce_status - the RFC 3463 code in an outcome text ("... 5.1.1
 * ..."), with its class made cls ('2', '4' or '5'); "cls.0.0" if none.
 */
void bounce_status(const char *text, char cls, char *out, size_t outlen);

#endif
