/*
 * smtp_session - the SMTP server session's state, shared by the files of
 * the session: smtp_server.c (I/O glue, command table, DATA) and
 * smtp_auth.c (AUTH and its SASL exchange). Not for other modules: they
 * use smtp_server.h.
 */
#ifndef PETREL_SMTP_SMTP_SESSION_H
#define PETREL_SMTP_SMTP_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "queue/envelope.h"
#include "server.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_hops.h"
#include "smtp/smtp_parse.h"

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
	struct queue_envelope env; /* id, sender, final targets */
	unsigned n_rcpt_ok;	   /* accepted RCPT commands */
	unsigned n_rcpt_failed;
	enum smtp_body_type body;
	uint64_t declared_size; /* MAIL SIZE= (0: none), for the quota */

	/* DATA. */
	struct smtp_dot dot;
	struct smtp_hops hops;
	int spool_fd;
	char *spool_path;
	uint64_t data_size; /* decoded bytes received */
	uint64_t data_mark; /* data_size when the deadline last moved */
	bool too_big;
	int write_errno;
	struct queue_commit *job; /* in flight to the committer */
};

/*
 * smtp_reply - append one reply. code < 0 means a continuation line
 * ("250-..."). Every 4xx/5xx counts towards the session's error limit.
 */
void smtp_reply(struct smtp_session *s, int code, const char *enhanced,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* smtp_session_resume - process buffered input again (after a wait). */
void smtp_session_resume(struct smtp_session *s);

/* smtp_auth_cmd - the AUTH command (smtp_auth.c). */
void smtp_auth_cmd(struct smtp_session *s, const struct smtp_command *c);

/* smtp_auth_continue - a line of a SASL exchange in progress. */
void smtp_auth_continue(struct smtp_session *s, const char *line, size_t len);

/* smtp_auth_detach - the session is going away: forget its job. */
void smtp_auth_detach(struct smtp_session *s);

/* smtp_sender_owned - may the authenticated user send as sender? */
bool smtp_sender_owned(struct smtp_session *s, const char *sender);

#endif
