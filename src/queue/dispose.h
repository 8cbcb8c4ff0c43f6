/*
 * dispose - the end of a queued message, as committer tasks (so each
 * step is durable before the next): a bounce (RFC 3464 DSN, built by
 * bounce.c, committed as a new message from <>), a dead letter in
 * badmail/ (the message plus ID.reason saying why), and removal from the
 * queue. Also local delivery of queued recipients.
 */
#ifndef PETREL_QUEUE_DISPOSE_H
#define PETREL_QUEUE_DISPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "queue/bounce.h"
#include "queue/commit.h"
#include "queue/envelope.h"

struct config;

/* One state record to append to env/ID, or a local delivery to make. */
struct dispose_rcpt {
	size_t idx;
	enum queue_rcpt_state state; /* after the attempt */
	time_t next;		     /* PENDING: next attempt */
	char *text;		     /* last_error / outcome */
	bool relayed;		     /* DONE by a hop without DSN */
	/* local delivery (dispose_local_task): in; state/text are out */
	char *domain, *localpart;
};

struct dispose_task {
	struct queue_commit job; /* first: the committer's view */
	const struct config *cfg;
	char id[QUEUE_ID_MAX];
	uint64_t size;
	size_t n;
	struct dispose_rcpt *rcpts;

	/* bounce: the DSN, the sender's final targets */
	enum bounce_kind kind;	    /* a final report, or a delay warning */
	struct queue_envelope orig; /* for the DSN: sender, rcpts, arrival */
	struct queue_envelope bounce_env; /* out: the new message, if queued */
	bool bounce_queued;
	bool bounced;
	char reason[512]; /* badmail: why */

	void (*done)(struct dispose_task *t);
	void *arg;   /* bounce: the committer */
	void *sched; /* the scheduler's */
	void *msg;   /* the scheduler's message */
};

/* Each returns a task ready for commit_submit(); done(t) runs after the
 * batch's sync; free it with dispose_task_free. */
struct dispose_task *dispose_record_task(const struct config *cfg,
					 const char *id);
struct dispose_task *dispose_local_task(const struct config *cfg,
					const char *id, uint64_t size);
/*
 * dispose_bounce_task - the report of RFC 3464 that env owes its sender
 * (bounce_select: failures and success notices; for BOUNCE_DELAY the
 * delay warning, after which "warned" is appended to env/ID). If no
 * recipient needs a notice, nothing is sent (t->bounced stays false).
 */
struct dispose_task *dispose_bounce_task(const struct config *cfg,
					 const struct queue_envelope *env,
					 struct commit *commit,
					 enum bounce_kind kind);
struct dispose_task *dispose_badmail_task(const struct config *cfg,
					  const char *id, const char *reason);
struct dispose_task *dispose_remove_task(const struct config *cfg,
					 const char *id);

/* dispose_add_rcpt - append one record / local delivery to a task. */
struct dispose_rcpt *dispose_add_rcpt(struct dispose_task *t, size_t idx);

void dispose_task_free(struct dispose_task *t);

#endif
