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
struct smtp_session;
struct pop3_session;
struct bufferevent;
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
	SSL_CTX *tls_client; /* outbound STARTTLS */
	SSL_CTX *tls_server; /* STARTTLS, implicit TLS; new on SIGHUP */
	struct auth_limit *auth_limit; /* failed logins per address */
	struct scheduler *sched;       /* the queue's brain */
	struct pickup *pickup;	       /* data_dir/pickup/ watcher */
	/* Live sessions per protocol, doubly linked, for shutdown. */
	struct smtp_session *sessions;
	struct pop3_session *pop3_sessions;
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

/* server_session_gone - a session ended; stop the loop when draining. */
void server_session_gone(struct server *srv);

#endif
