/*
 * envelope - the queue's record of one message: who sent it, to whom it
 * still has to go, and what happened on each attempt.
 *
 * On disk it is a small text file (queue/env/ID), one tab-separated record
 * per line, fields %-escaped; state changes are appended, never rewritten
 * in place, so a crash mid-append loses at most that one line and the
 * recipient is simply tried again. Parsing and formatting are pure.
 *
 *   petrel-queue 1
 *   id      0193A7C1D2E3F4
 *   arrival 1732250000
 *   size    1234
 *   client  127.0.0.1      helo   mail.example.org
 *   sender  alice@example.org                 (empty for <>)
 *   rcpt    0  L  bob@example.org  orcpt  example.org  bob
 *   rcpt    1  R  carol@example.net  orcpt
 *   done    0  TIME  text                     (appended)
 *   defer   1  TIME  NEXT  text               (appended)
 *   fail    1  TIME  text                     (appended)
 *   flush   TIME                              (appended: all due now)
 */
#ifndef PETREL_QUEUE_ENVELOPE_H
#define PETREL_QUEUE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define QUEUE_ID_MAX 24

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 0,
	QUEUE_RCPT_DONE,   /* delivered */
	QUEUE_RCPT_FAILED, /* permanent failure (bounced) */
};

struct queue_rcpt {
	char *address; /* final target: "user@domain" */
	char *orcpt;   /* the RCPT TO that led here ("" if same) */
	bool local;
	char *domain;	 /* local targets: mailbox domain */
	char *localpart; /* local targets: mailbox name */
	enum queue_rcpt_state state;
	unsigned attempts;
	time_t next_attempt; /* 0 = now */
	char *last_error;    /* NULL or the last deferral/failure text */
};

struct queue_envelope {
	char id[QUEUE_ID_MAX];
	time_t arrival;
	uint64_t size;
	char *client; /* "1.2.3.4" */
	char *helo;
	char *sender; /* "" = null sender <> */
	size_t n_rcpts;
	struct queue_rcpt *rcpts;
};

/* queue_envelope_add_rcpt - append a pending recipient (strings copied). */
struct queue_rcpt *queue_envelope_add_rcpt(struct queue_envelope *env,
					   const char *address,
					   const char *orcpt, bool local,
					   const char *domain,
					   const char *localpart);

/* queue_envelope_format - the whole file text (heap), length in *len_r. */
char *queue_envelope_format(const struct queue_envelope *env, size_t *len_r);

/*
 * queue_envelope_format_update - one appended state line (heap):
 * state DONE ("done"), FAILED ("fail") or PENDING with next ("defer").
 */
char *queue_envelope_format_update(size_t idx, enum queue_rcpt_state state,
				   time_t now, time_t next, const char *text,
				   size_t *len_r);

/*
 * queue_envelope_parse - parse a file's text and replay appended state
 * lines. A torn last line (no final LF) is ignored. Returns 0, or -1 with
 * err on a malformed file.
 */
int queue_envelope_parse(const char *text, size_t len,
			 struct queue_envelope *env_r, char *err,
			 size_t errlen);

/* queue_envelope_pending - recipients still to deliver. */
size_t queue_envelope_pending(const struct queue_envelope *env);

void queue_envelope_free(struct queue_envelope *env);

#endif
