/*
 * smtp_session - the SMTP server session's state, shared by the files of
 * the session: smtp_server.c (I/O glue, command table, DATA),
 * smtp_auth.c (AUTH and its SASL exchange), smtp_cmd_bdat.c (BDAT) and
 * smtp_msg.c (the message of a transaction: spool, trace fields, the
 * hand-over to the committer). Not for other modules: they use
 * smtp_server.h.
 */
#ifndef PETREL_SMTP_SMTP_SESSION_H
#define PETREL_SMTP_SMTP_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue/envelope.h"
#include "server.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_hdrfilter.h"
#include "smtp/smtp_hops.h"
#include "smtp/smtp_parse.h"

/* In DATA and BDAT the deadline moves on with every this many bytes
 * received, so a client must keep sending to keep the session (no
 * slowloris). */
#define SMTP_DATA_PROGRESS (64 * 1024)
/* Message bytes are handled this many at a time. */
#define SMTP_MSG_CHUNK 16384

struct server;
struct event;
struct bufferevent;
struct queue_commit;
struct smtp_auth_job;

enum smtp_state {
	SMTP_STATE_GREETED = 1 << 0, /* before HELO/EHLO */
	SMTP_STATE_READY = 1 << 1,   /* after HELO/EHLO, no transaction */
	SMTP_STATE_MAIL = 1 << 2,    /* MAIL accepted, no RCPT yet */
	SMTP_STATE_RCPT = 1 << 3,    /* at least one RCPT accepted */
	SMTP_STATE_DATA = 1 << 4,    /* reading the message */
	SMTP_STATE_COMMIT = 1 << 5,  /* waiting for the queue commit */
	SMTP_STATE_CLOSING = 1 << 6, /* flushing the last reply */
	SMTP_STATE_AUTH = 1 << 7,    /* waiting for a password check */
	SMTP_STATE_BDAT = 1 << 8,    /* reading the octets of a BDAT chunk */
	SMTP_STATE_MAUTH = 1 << 9,   /* waiting for mail authentication */
};

#define SMTP_STATES_ANY                                                        \
	(SMTP_STATE_GREETED | SMTP_STATE_READY | SMTP_STATE_MAIL |             \
	 SMTP_STATE_RCPT)

/* Which listener the client came in on (RFC 6409, RFC 8314). */
enum smtp_role {
	SMTP_ROLE_MX,	      /* port 25: STARTTLS offered, AUTH optional */
	SMTP_ROLE_SUBMISSION, /* port 587: STARTTLS, then AUTH, then MAIL */
	SMTP_ROLE_SMTPS,      /* port 465: implicit TLS, then AUTH */
};

enum smtp_sasl {
	SMTP_SASL_NONE = 0,
	SMTP_SASL_PLAIN,      /* sent "334 ", waiting for the response */
	SMTP_SASL_LOGIN_USER, /* sent "334 VXNlcm5hbWU6" (Username:) */
	SMTP_SASL_LOGIN_PASS, /* sent "334 UGFzc3dvcmQ6" (Password:) */
};

struct smtp_session {
	struct server *srv;
	enum smtp_role role;
	bool tls;	    /* TLS is active on bev */
	bool authenticated; /* AUTH succeeded: auth_user */
	char auth_user[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	enum smtp_sasl sasl;
	char sasl_user[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	struct smtp_auth_job *auth_job; /* password check in flight */
	struct event *deadline;		/* command deadline, auth delay */
	unsigned close_polls;		/* closing: waits for the flush */
	struct bufferevent *bev;
	struct server_session link; /* in the server's session list */
	enum smtp_state state;
	char addr[INET6_ADDRSTRLEN]; /* client address, text */
	bool relay_client;	     /* in relay_networks */
	bool esmtp;
	bool shutdown;	    /* server stopping: close after this reply */
	bool line_overflow; /* discarding the rest of an over-long line */
	bool paused;	    /* output full: resume when it drains */
	unsigned errors;
	char helo[256];

	/* The transaction. */
	struct queue_envelope env; /* id, sender, final targets, DSN */
	unsigned n_rcpt_ok;	   /* accepted RCPT commands */
	unsigned n_rcpt_failed;
	enum smtp_body_type body;
	bool smtputf8;		/* MAIL ... SMTPUTF8 (RFC 6531 §3.4) */
	uint64_t declared_size; /* MAIL SIZE= (0: none), for the quota */

	/* DATA and BDAT (smtp_msg.c). */
	struct smtp_dot dot;
	struct smtp_hops hops;
	struct smtp_hdrfilter hf;
	int spool_fd;
	char *spool_path;
	uint64_t data_size; /* bytes in the spool file, trace included */
	uint64_t data_mark; /* data_size when the deadline last moved */
	bool too_big;
	int write_errno;
	struct queue_commit *job; /* in flight to the committer */

	/* BDAT (RFC 3030, smtp_cmd_bdat.c). */
	bool bdat;	     /* this transaction's data comes by BDAT */
	uint64_t bdat_left;  /* octets of the current chunk still to read */
	uint64_t bdat_total; /* octets of the message so far */
	uint64_t bdat_mark;  /* octets skipped since the deadline moved */
	bool bdat_last;	     /* the current chunk is the LAST */
	bool bdat_skip;	     /* the chunk is read and thrown away, then: */
	enum smtp_state bdat_resume; /* ... back to this state, with */
	int bdat_code;		     /* ... this reply */
	const char *bdat_enhanced;
	const char *bdat_text;

	/* Mail authentication (src/smtp/smtp_mauth.c). */
	struct mauth_session *mauth;
};

struct mauth_session;

/*
 * smtp_reply - append one reply. code < 0 means a continuation line
 * ("250-..."). Every 4xx/5xx counts towards the session's error limit.
 */
void smtp_reply(struct smtp_session *s, int code, const char *enhanced,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* smtp_session_resume - process buffered input again (after a wait). */
void smtp_session_resume(struct smtp_session *s);

/* smtp_data_begin - DATA, once the reverse DNS is in (smtp_server.c). */
void smtp_data_begin(struct smtp_session *s);

/*
 * smtp_mauth - mail authentication in the session (smtp_mauth.c):
 * which sessions are checked, the reverse DNS the Received: line needs
 * (smtp_mauth_data waits for it, then calls smtp_data_begin), the
 * message through the gate (begin, feed, flush), and the verdict at its
 * end (smtp_mauth_end: a refusal, or smtp_msg_commit with the fields).
 */
bool smtp_mauth_checked(const struct smtp_session *s);
void smtp_mauth_data(struct smtp_session *s);
void smtp_mauth_begin(struct smtp_session *s);
void smtp_mauth_feed(struct smtp_session *s, const char *p, size_t len);
void smtp_mauth_flush(struct smtp_session *s);
void smtp_mauth_end(struct smtp_session *s);
void smtp_mauth_received_from(const struct smtp_session *s, char *out,
			      size_t cap);

/* smtp_auth_cmd - the AUTH command (smtp_auth.c). */
void smtp_auth_cmd(struct smtp_session *s, const struct smtp_command *c);

/* smtp_auth_continue - a line of a SASL exchange in progress. */
void smtp_auth_continue(struct smtp_session *s, const char *line, size_t len);

/* smtp_auth_detach - the session is going away: forget its job. */
void smtp_auth_detach(struct smtp_session *s);

/* smtp_sender_owned - may the authenticated user send as sender? */
bool smtp_sender_owned(struct smtp_session *s, const char *sender);

/* smtp_session_deadline - (re)arm the session's one timer (seconds). */
void smtp_session_deadline(struct smtp_session *s, unsigned seconds);

/* smtp_session_close_after_reply - stop reading; free once flushed. */
void smtp_session_close_after_reply(struct smtp_session *s);

/* smtp_transaction_reset - forget the transaction (RSET, errors). */
void smtp_transaction_reset(struct smtp_session *s);

/* smtp_bdat_cmd - the BDAT command (smtp_cmd_bdat.c). */
void smtp_bdat_cmd(struct smtp_session *s, const struct smtp_command *c);

/*
 * smtp_bdat_data - in SMTP_STATE_BDAT: take chunk octets from the input.
 * Returns true if it made progress (call again), false to wait.
 */
bool smtp_bdat_data(struct smtp_session *s);

/*
 * smtp_msg_begin - open the spool file and write the Return-Path and
 * Received fields (smtp_msg.c). 0, or -1 (logged; answer 451).
 */
int smtp_msg_begin(struct smtp_session *s);

/* smtp_msg_write - decoded message bytes into the spool file. */
void smtp_msg_write(struct smtp_session *s, const char *buf, size_t len);

/*
 * smtp_msg_end - the message is complete: refuse it (reply sent, the
 * transaction reset: returns false) or go on to mail authentication
 * (state MAUTH, then smtp_msg_commit: returns true).
 */
bool smtp_msg_end(struct smtp_session *s);

/*
 * smtp_msg_commit - hand the message to the committer (state COMMIT;
 * the 250 follows when it is durable), with header fields for its top
 * (top_len bytes, maybe 0; queue/spool.h puts them below Return-Path).
 */
void smtp_msg_commit(struct smtp_session *s, const char *top, size_t top_len);

/* smtp_msg_discard - close and remove the spool file, if any. */
void smtp_msg_discard(struct smtp_session *s);

#endif
