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
 *   trace   19        bytes of Return-Path: on top of msg/ID (optional)
 *   body    8BITMIME  7BIT | 8BITMIME | BINARYMIME (optional)
 *   smtputf8 RH       R: MAIL had SMTPUTF8, H: 8-bit header (optional)
 *   ret     FULL      RET= of RFC 3461 (optional)
 *   envid   text      ENVID=, decoded (optional)
 *   rcpt    0  L  bob@example.org  orcpt  example.org  bob
 *   dsn     0  SUCCESS,FAILURE  rfc822;bob@example.org   (optional)
 *   rcpt    1  R  carol@example.net  orcpt
 *   done    0  TIME  text                     (appended)
 *   done    1  TIME  text  relayed            (appended: to a hop
 *                                              without DSN)
 *   defer   1  TIME  NEXT  text               (appended)
 *   fail    1  TIME  text                     (appended)
 *   flush   TIME                              (appended: all due now)
 *   warned  TIME                              (appended: delay notice
 *                                              sent)
 *
 * The optional records (issue 9) are written only when they differ from
 * the default, so an envelope of a plain message reads as before, and
 * an envelope written before they existed parses with every default:
 * no trace prefix, body unknown (sent as 8BITMIME), no SMTPUTF8, no DSN
 * parameters, no delay notice sent.
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

/* RFC 3461 §4.1 NOTIFY= as bits (the values of smtp_notify); 0 = not
 * given, which means FAILURE,DELAY (§4.1's suggested default). */
enum queue_notify {
	QUEUE_NOTIFY_SUCCESS = 1 << 0,
	QUEUE_NOTIFY_FAILURE = 1 << 1,
	QUEUE_NOTIFY_DELAY = 1 << 2,
	QUEUE_NOTIFY_NEVER = 1 << 3,
};

/* BODY= (the values of smtp_body_type); UNKNOWN in old envelopes. */
enum queue_body {
	QUEUE_BODY_UNKNOWN = 0,
	QUEUE_BODY_7BIT,
	QUEUE_BODY_8BITMIME,
	QUEUE_BODY_BINARYMIME,
};

/* RET= (the values of smtp_dsn_ret). */
enum queue_ret { QUEUE_RET_NONE = 0, QUEUE_RET_FULL, QUEUE_RET_HDRS };

/* What makes a message need SMTPUTF8 on the way on (RFC 6531 §3.2). */
enum queue_utf8 {
	QUEUE_UTF8_REQUESTED = 1 << 0, /* MAIL ... SMTPUTF8 */
	QUEUE_UTF8_HEADERS = 1 << 1,   /* a byte >= 0x80 in the header */
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
	unsigned notify;     /* queue_notify bits */
	char *dsn_orcpt;     /* ORCPT= as "type;address", NULL if none */
	bool relayed;	     /* DONE by a next hop that took no DSN */
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
	/* Bytes at the start of msg/ID that only local delivery keeps:
	 * the Return-Path: field (RFC 5321 §4.4); 0 in old envelopes. */
	uint64_t trace;
	enum queue_body body;
	unsigned smtputf8; /* queue_utf8 bits */
	enum queue_ret ret;
	char *envid;   /* ENVID=, NULL if none */
	time_t warned; /* the delay notice went out then; 0 = not yet */
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
 * queue_envelope_format_outcome - the same, and for DONE with relayed
 * set, the "relayed" mark (a success notice is owed: RFC 3461 §6.2).
 */
char *queue_envelope_format_outcome(size_t idx, enum queue_rcpt_state state,
				    time_t now, time_t next, const char *text,
				    bool relayed, size_t *len_r);

/* queue_envelope_format_warned - the "warned TIME" line (heap). */
char *queue_envelope_format_warned(time_t now, size_t *len_r);

/* queue_envelope_copy - a deep copy of src into dst (overwritten). */
void queue_envelope_copy(struct queue_envelope *dst,
			 const struct queue_envelope *src);

/* queue_notify_format - "SUCCESS,FAILURE", "NEVER", "" into out. */
void queue_notify_format(unsigned notify, char *out, size_t outlen);

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
