/*
 * pop3_server - the POP3 session (RFC 1939, with CAPA and RESP-CODES from
 * RFC 2449, AUTH PLAIN from RFC 5034): AUTHORIZATION -> TRANSACTION ->
 * UPDATE over a libevent bufferevent.
 *
 * Lines go through pop3_parse; password checks and the mailbox sync run
 * on the worker pool; RETR and TOP stream the stored file (already CRLF,
 * see store/maildir.h) through the dot-stuffer in chunks as the client
 * reads, so a large message never sits in memory. Deletions happen only
 * in UPDATE, after QUIT in TRANSACTION; a dropped connection deletes
 * nothing. The maildrop lock is a flock, released by the kernel if the
 * holder dies.
 *
 * APOP is not offered: it needs the plaintext password on the server, and
 * petrel keeps only yescrypt hashes.
 */
#ifndef PETREL_POP3_POP3_SERVER_H
#define PETREL_POP3_POP3_SERVER_H

#include <sys/socket.h>

/* Listener callbacks: a new POP3 client (110), or POP3S (995). */
void pop3_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
			void *arg);
void pop3s_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		  void *arg);

/* At shutdown a session closes without entering UPDATE (no deletions). */

#endif
