/*
 * scheduler - decides what the queue does next. It keeps every queued
 * message's envelope in memory (rebuilt from env/ at start, on SIGUSR1
 * from `petrel queue flush|bounce`, and every minute, so the disk stays
 * the truth and CLI changes are seen), and once a second hands due
 * recipients to local delivery (a committer task) or to remote delivery
 * (remote.c). Outcomes are appended to the envelope through the
 * committer; a recipient that fails temporarily waits per
 * retry_intervals, and one still failing after queue_lifetime fails for
 * good. When nothing is left pending the message is disposed of:
 * removed, bounced to its sender with a DSN, or — for a null sender —
 * put in badmail/ (dispose.c).
 */
#ifndef PETREL_QUEUE_SCHEDULER_H
#define PETREL_QUEUE_SCHEDULER_H

#include <time.h>

struct server;
struct scheduler;
struct queue_envelope;

struct scheduler *scheduler_new(struct server *srv);

/* scheduler_add - a message just committed with recipients queued. */
void scheduler_add(struct scheduler *s, const struct queue_envelope *env);

/* scheduler_rescan - reload the queue from disk soon. */
void scheduler_rescan(struct scheduler *s);

/*
 * scheduler_stop - abort deliveries in flight (retried at the next start)
 * and make every later callback a no-op; before commit_stop().
 */
void scheduler_stop(struct scheduler *s);

/* scheduler_free - after commit_stop(): free what is left. */
void scheduler_free(struct scheduler **sp);

/*
 * scheduler_stats - the queue as the scheduler holds it: messages,
 * recipients still pending, and the oldest arrival (0 when empty).
 */
void scheduler_stats(const struct scheduler *s, unsigned *messages_r,
		     unsigned *rcpts_r, time_t *oldest_r);

#endif
