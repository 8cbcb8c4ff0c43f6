/*
 * smtp_client - one outbound SMTP connection (RFC 5321 client side) that
 * carries many messages to one destination.
 *
 * The scheduler resolves the destination (MX hosts or a smarthost) and
 * starts a client with the host list; the client tries the hosts and
 * their addresses in order until one greets it with 2xx (RFC 5321 §5.1:
 * on a connection failure or a 4xx/5xx greeting, the next one), says EHLO
 * (HELO if EHLO is refused), STARTTLS whenever offered (opportunistic: the
 * certificate is not checked unless tls_required), AUTH PLAIN or LOGIN
 * towards a smarthost when credentials are set, and then pulls messages
 * from the scheduler one after another over the same connection: MAIL
 * (with SIZE= when the server announced SIZE, refusing locally if the
 * message is bigger than its limit), one RCPT per recipient, DATA with the
 * message file dot-stuffed from disk — with PIPELINING, MAIL, every RCPT
 * and DATA go in one write (RFC 2920). Each recipient gets its own
 * outcome; when the scheduler has nothing more, QUIT.
 *
 * The extensions of issue 9: with CHUNKING the message goes as one
 * "BDAT n LAST" straight from the file, no dot-stuffing (RFC 3030; a
 * BINARYMIME message can only go that way, and to a server without
 * BINARYMIME it fails with 5.6.3); SMTPUTF8 is asked for when the
 * message needs it, and a recipient that needs it fails with 5.6.7 at a
 * server that does not offer it (RFC 6531 §3.2); with DSN the request
 * travels on (RET=, ENVID=, NOTIFY=, ORCPT=: RFC 3461 §5.2), without it
 * a recipient's success is "relayed" (dsn_passed false). The message
 * file's first offset bytes (the Return-Path) are never sent.
 */
#ifndef PETREL_SMTP_SMTP_CLIENT_H
#define PETREL_SMTP_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deliver/dns.h"

struct event_base;
struct smtp_client;
typedef struct ssl_ctx_st SSL_CTX;

enum smtp_client_result {
	SMTP_CLIENT_PENDING = 0,
	SMTP_CLIENT_OK,	  /* 2xx after the final dot */
	SMTP_CLIENT_TEMP, /* 4xx, or the connection failed: try later */
	SMTP_CLIENT_PERM, /* 5xx: bounce */
};

struct smtp_client_rcpt {
	const char *address; /* owned by the scheduler */
	unsigned notify;     /* NOTIFY= to pass on (queue_notify bits), 0 */
	const char *orcpt;   /* ORCPT= "type;address" to pass on, or NULL */
	enum smtp_client_result result;
	int code;	 /* the reply code, 0 if none (connection) */
	char text[512];	 /* "550 5.1.1 <x>: no such user" or the error */
	bool dsn_passed; /* the server offered DSN: it reports from here */
};

enum smtp_client_body {
	SMTP_CLIENT_7BIT = 0,
	SMTP_CLIENT_8BITMIME,	/* BODY=8BITMIME when offered */
	SMTP_CLIENT_BINARYMIME, /* only by BDAT to a BINARYMIME server */
};

/* One message for this destination: filled by the scheduler. */
struct smtp_client_msg {
	const char *id;	    /* queue id, for logs */
	const char *sender; /* "" = null sender */
	const char *path;   /* the message file (queue/msg/ID) */
	uint64_t offset;    /* bytes of the file not sent (the trace) */
	uint64_t size;	    /* bytes that are sent: file size - offset */
	bool eightbit;	    /* send BODY=8BITMIME when offered */
	enum smtp_client_body body; /* with eightbit: BINARYMIME wins */
	/* RFC 6531: smtputf8 = MAIL had SMTPUTF8; utf8_always = the sender
	 * or the header is UTF-8, so every recipient needs it, not only
	 * one with a UTF-8 address. */
	bool smtputf8, utf8_always;
	int ret;	   /* RET=: 0 none, 1 FULL, 2 HDRS (queue_ret) */
	const char *envid; /* ENVID= (decoded), or NULL */
	size_t n_rcpts;
	struct smtp_client_rcpt *rcpts;
	void *arg; /* the scheduler's */
};

struct smtp_client_ops {
	/* The next message to send on this connection, or NULL: QUIT. */
	struct smtp_client_msg *(*next)(void *arg);
	/* A message is finished: every rcpt has a result (code/text). */
	void (*done)(struct smtp_client_msg *msg, void *arg);
	/*
	 * The connection is over. If no host could be reached (or none
	 * greeted), error says why ("connect to mx.example.net[1.2.3.4]:25:
	 * Connection refused") and temporary tells whether a 5xx greeting
	 * made it permanent; no message was pulled. The client frees itself
	 * after this returns.
	 */
	void (*closed)(const char *error, bool permanent, void *arg);
};

struct smtp_client_options {
	const char *helo_name; /* our hostname */
	uint16_t port;	       /* outbound_port or the smarthost's */
	SSL_CTX *tls_ctx;      /* NULL: never STARTTLS */
	bool tls_required;     /* no STARTTLS offered: fail the host */
	const char *auth_user; /* NULL/"": no AUTH */
	const char *auth_password;
	unsigned timeout;      /* seconds per reply (default 300) */
	unsigned data_timeout; /* seconds for the reply to the dot (600) */
	/* Seconds a connection with nothing to send waits for more (see
	 * smtp_client_wake) before QUIT; 0: QUIT at once. */
	unsigned idle_timeout;
};

/*
 * smtp_client_start - connect to hosts (in order; addresses of each in
 * order) and run. The host list is copied. Returns the client; every
 * callback happens later on the loop.
 */
struct smtp_client *smtp_client_start(struct event_base *base,
				      const struct dns_result *hosts,
				      const struct smtp_client_options *opt,
				      const struct smtp_client_ops *ops,
				      void *arg);

/*
 * smtp_client_wake - an idle client (next() returned NULL, idle_timeout
 * not over) calls next() again, later on the loop. Otherwise a no-op.
 */
void smtp_client_wake(struct smtp_client *c);

/*
 * smtp_client_abort - stop now (server shutting down): every message in
 * flight is finished with TEMP results ("connection aborted"), then
 * closed() runs.
 */
void smtp_client_abort(struct smtp_client *c);

/* --- the pure reply parser, shared with tests and fuzzers --- */

struct smtp_reply {
	int code;	/* 100..599 */
	char text[512]; /* all lines' texts joined by ' ', truncated */
	size_t n_lines;
	/* EHLO keywords seen (continuation lines' first words). */
};

enum smtp_reply_status {
	SMTP_REPLY_MORE = 0,  /* a continuation line: keep feeding */
	SMTP_REPLY_DONE = 1,  /* the last line: reply complete */
	SMTP_REPLY_ERROR = -1 /* malformed line, or codes differ */
};

/*
 * smtp_reply_feed - feed one reply line (no CRLF). r must be zeroed
 * before the first line of each reply.
 */
enum smtp_reply_status smtp_reply_feed(struct smtp_reply *r, const char *line,
				       size_t len);

#endif
