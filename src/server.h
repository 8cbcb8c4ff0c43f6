/*
 * server - the running daemon: one event loop (libevent) that owns every
 * socket, the listeners, the committer thread, signals, and the list of
 * live sessions. Protocol modules get a struct server * and keep their
 * own per-connection state.
 */
#ifndef PETREL_SERVER_H
#define PETREL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct config;
struct event_base;
struct directory;
struct commit;
struct conn_limit;
struct bufferevent;
struct workq;
struct dns;
struct scheduler;
struct pickup;
struct auth_limit;
struct web;
typedef struct ssl_ctx_st SSL_CTX;

/*
 * server_proto - what the server needs of a protocol's sessions: how to
 * tell one that the server is stopping, and how to cut it off. A session
 * of any protocol links itself into the server's one list with
 * server_session_add, so stopping never needs to know the protocols.
 */
struct server_proto {
	const char *name;
	/* The server is stopping: finish the current reply, say goodbye and
	 * close; mail being committed is waited for. */
	void (*shutdown)(void *session);
	/* The grace period is over: close now and free. */
	void (*destroy)(void *session);
};

/* server_session - a live session's link in the server's list. */
struct server_session {
	struct server_session *prev, *next;
	const struct server_proto *proto;
	void *owner; /* the protocol's session struct */
};

struct server {
	struct config *cfg;
	struct event_base *base;
	struct directory *dir;
	struct commit *commit;
	struct conn_limit *per_ip;
	unsigned n_sessions;
	struct workq *workq; /* password checks, mailbox syncs */
	struct dns *dns;
	SSL_CTX *tls_client; /* outbound STARTTLS */
	SSL_CTX *tls_server; /* STARTTLS, implicit TLS; new on SIGHUP */
	struct auth_limit *auth_limit; /* failed logins per address */
	struct scheduler *sched;       /* the queue's brain */
	struct pickup *pickup;	       /* data_dir/pickup/ watcher */
	struct web *web;	       /* the admin web (admin_listen) */
	/* Live sessions of every protocol, doubly linked, for shutdown. */
	struct server_session *sessions;
	bool stopping;
	const char *conf_path; /* for SIGHUP */
	char **argv;	       /* the -o overrides, for SIGHUP */
	int argc;
};

/*
 * server_run - `petrel serve`: run until SIGTERM/SIGINT. conf_path (NULL:
 * none) and the command line before the command (argv[1..argc), for its
 * -o overrides) are what SIGHUP reads the configuration from again.
 * Returns the exit status.
 */
int server_run(struct config *cfg, const char *conf_path, char **argv,
	       int argc);

/*
 * server_admit - may a new connection from sa be served? Writes its
 * address (text) into addr, takes its per-address slot, and says whether
 * it is a relay client. NULL when admitted; else why not (logged), for
 * the protocol to word as its refusal.
 */
const char *server_admit(struct server *srv, const struct sockaddr *sa,
			 char *addr, size_t addrlen, bool *relay_r);

/* server_release - undo server_admit (the session could not start). */
void server_release(struct server *srv, const char *addr);

/*
 * server_bev_new - the bufferevent for an accepted socket; with TLS from
 * the first byte when implicit_tls (RFC 8314: ports 465, 995). NULL on
 * failure (fd still open).
 */
struct bufferevent *server_bev_new(struct server *srv, int fd,
				   bool implicit_tls);

/*
 * server_session_add - link a new session (owner, of proto) into the
 * server's list and count it.
 */
void server_session_add(struct server *srv, struct server_session *link,
			const struct server_proto *proto, void *owner);

/*
 * server_session_remove - unlink a session that is going away; the loop
 * stops once the last one has gone while the server is stopping.
 */
void server_session_remove(struct server *srv, struct server_session *link);

#endif
