/*
 * server - the running daemon: one event loop (libevent) that owns every
 * socket, the listeners, the committer thread, signals, and the list of
 * live sessions. Protocol modules get a struct server * and keep their
 * own per-connection state.
 */
#ifndef PETREL_SERVER_H
#define PETREL_SERVER_H

#include <stdbool.h>
#include <sys/socket.h>

struct config;
struct event_base;
struct directory;
struct commit;
struct conn_limit;
struct smtp_session;
struct pop3_session;
struct workq;
struct dns;
struct scheduler;
struct pickup;
struct auth_limit;
typedef struct ssl_ctx_st SSL_CTX;

struct server {
	struct config *cfg;
	struct event_base *base;
	struct directory *dir;
	struct commit *commit;
	struct conn_limit *per_ip;
	unsigned n_sessions;
	struct workq *workq; /* password checks, mailbox syncs */
	struct dns *dns;
	SSL_CTX *tls_client;	 /* outbound STARTTLS */
	SSL_CTX *tls_server;	 /* STARTTLS, implicit TLS; new on SIGHUP */
	struct auth_limit *auth_limit; /* failed logins per address */
	struct scheduler *sched; /* the queue's brain */
	struct pickup *pickup;	 /* data_dir/pickup/ watcher */
	/* Live sessions per protocol, doubly linked, for shutdown. */
	struct smtp_session *sessions;
	struct pop3_session *pop3_sessions;
	bool stopping;
};

/* server_run - `petrel serve`: run until SIGTERM/SIGINT. Exit status. */
int server_run(struct config *cfg);

/* server_session_gone - a session ended; stop the loop when draining. */
void server_session_gone(struct server *srv);

#endif
