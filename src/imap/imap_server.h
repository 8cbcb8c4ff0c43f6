/*
 * imap_server - the IMAP4rev1 server (RFC 3501 and the extensions listed
 * in CAPABILITY): listener callbacks for imap_listen (143, STARTTLS) and
 * imaps_listen (993, implicit TLS, RFC 8314), the session's I/O glue and
 * state machine, and the command table. The commands live in
 * imap_cmd_*.c, one file per family.
 */
#ifndef PETREL_IMAP_IMAP_SERVER_H
#define PETREL_IMAP_IMAP_SERVER_H

#include <sys/socket.h>

void imap_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
			void *arg);
void imaps_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		  void *arg);

#endif
