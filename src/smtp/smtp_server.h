/*
 * smtp_server - the SMTP server session (RFC 5321, with PIPELINING,
 * SIZE, 8BITMIME and ENHANCEDSTATUSCODES): a state machine over a
 * libevent bufferevent.
 *
 * Bytes go: bufferevent input -> line (smtp_parse) -> command table row
 * (legal states checked once) -> handler -> reply appended to the output.
 * In DATA they go through the dot decoder (smtp_dot) straight into the
 * spool file; at the end the message becomes a queue_commit job and the
 * session stops reading until the committer says it is durable. Replies
 * are only ever appended in command order, so pipelined groups are
 * answered in order (RFC 2920 §3), and unread input is never discarded.
 *
 * The session reads and writes through its bufferevent only, so TLS can
 * later be switched on mid-stream by wrapping it in an OpenSSL filter.
 */
#ifndef PETREL_SMTP_SMTP_SERVER_H
#define PETREL_SMTP_SMTP_SERVER_H

#include <sys/socket.h>

struct server;

/* Listener callbacks: a new client on port 25, 587 or 465. */
void smtp_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
			void *arg);
void smtp_submission_accept(int fd, const struct sockaddr *sa, socklen_t salen,
			    void *arg);
void smtps_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		  void *arg);

/*
 * At shutdown (server.h, server_proto) an idle session gets 421 and is
 * closed; one waiting for a commit closes after its reply.
 */

#endif
