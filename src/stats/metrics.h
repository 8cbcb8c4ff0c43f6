/*
 * metrics - what the server counts for /metrics (Prometheus text format)
 * and for the admin dashboard's per-minute history.
 *
 * Counters and histogram buckets are C11 atomics, bumped with relaxed
 * ordering: the event loop, the committer thread and the workers all
 * count without a lock, and a scrape only needs each number to be right
 * on its own. The instrumented code calls one function per event:
 *
 *   metrics_received()               a message accepted (SMTP, pickup)
 *   metrics_rcpt_outcome(state, t)   a recipient delivered / deferred /
 *                                    bounced (with its latency if sent)
 *   metrics_commit_batch(n)          a group commit of n jobs
 *   metrics_tls_handshake(...)       a TLS handshake done or failed
 *   metrics_auth_failure()           a failed login, any protocol
 *   metrics_session_open/close(p)    a session of protocol p (loop only)
 *
 * The history (metrics_tick, metrics_history) keeps one entry per minute
 * for the last METRICS_HISTORY_MINUTES: messages received, delivered,
 * deferred and bounced in that minute, and the queue size and sessions
 * sampled at its end. It is kept on the loop thread only.
 *
 * The state is process-wide (one server per process), like a Prometheus
 * client library's default registry; metrics_reset() is for tests.
 */
#ifndef PETREL_STATS_METRICS_H
#define PETREL_STATS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue/envelope.h"

struct strbuf;

/* 24 hours of minutes: 1440 entries of 32 bytes. */
#define METRICS_HISTORY_MINUTES 1440
/* Distinct protocol labels (smtp, pop3, imap, ...). */
#define METRICS_MAX_PROTOCOLS 8

void metrics_received(void);

/*
 * metrics_rcpt_outcome - a recipient's attempt ended in state (DONE =
 * delivered, FAILED = bounced, PENDING = deferred). For a delivery, the
 * time since arrival goes into the latency histogram.
 */
void metrics_rcpt_outcome(enum queue_rcpt_state state, time_t arrival);

/* metrics_commit_batch - one group commit (one sync) of n jobs. */
void metrics_commit_batch(unsigned long n);

/* metrics_tls_handshake - server or client side, finished or failed. */
void metrics_tls_handshake(bool server, bool ok);

void metrics_auth_failure(void);

/* Sessions by protocol name (a static string): loop thread only. */
void metrics_session_open(const char *protocol);
void metrics_session_close(const char *protocol);

/* metrics_sessions_now - open sessions of every protocol together. */
unsigned metrics_sessions_now(void);

/* The gauges only the caller can know, sampled when formatting. */
struct metrics_gauges {
	unsigned queue_messages;  /* envelopes in the queue */
	unsigned queue_rcpts;	  /* recipients still pending */
	long long queue_oldest_s; /* age of the oldest, 0 when empty */
	unsigned admin_sessions;  /* logged-in web sessions */
};

/* metrics_format - the whole exposition (text format 0.0.4) into out. */
void metrics_format(struct strbuf *out, const struct metrics_gauges *g);

/* One minute of history. */
struct metrics_minute {
	int64_t minute; /* Unix time / 60 */
	uint32_t received, delivered, deferred, bounced;
	uint32_t queue, sessions; /* sampled at the minute's end */
};

/*
 * metrics_tick - call every few seconds on the loop: when a minute has
 * ended, it becomes a history entry (with queue and sessions as given);
 * minutes without a tick (a stalled or suspended process) are entered
 * as zeros, at most a whole history's worth.
 */
void metrics_tick(time_t now, unsigned queue, unsigned sessions);

/*
 * metrics_history - up to max entries into out, oldest first, the last
 * being the current minute so far. Returns how many.
 */
size_t metrics_history(struct metrics_minute *out, size_t max, time_t now,
		       unsigned queue, unsigned sessions);

/* metrics_reset - everything back to zero (unit tests). */
void metrics_reset(void);

#endif
