#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "conf/config.h"
#include "net/conn_limit.h"
#include "deliver/dns.h"
#include "deliver/pickup.h"
#include "net/listener.h"
#include "net/tls.h"
#include "auth/auth_limit.h"
#include "util/privdrop.h"
#include "queue/commit.h"
#include "queue/queue.h"
#include "queue/scheduler.h"
#include "protocols.h"
#include "stats/metrics.h"
#include "store/directory.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"
#include "web/web.h"

/* How long a clean stop waits for sessions to finish their commits. */
#define STOP_GRACE 10

static struct listener *listeners[CONFIG_MAX_LISTEN * 16];
static size_t n_listeners;

static void
close_listeners(void)
{
	for (size_t i = 0; i < n_listeners; i++)
		listener_free(&listeners[i]);
	n_listeners = 0;
}

const char *
server_admit(struct server *srv, const struct sockaddr *sa, char *addr,
	     size_t addrlen, bool *relay_r)
{
	const struct config *cfg = srv->cfg;

	snprintf(addr, addrlen, "?");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  addr, (socklen_t)addrlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
			  (socklen_t)addrlen);
	if (srv->stopping)
		return "Service shutting down";
	if (srv->n_sessions >= cfg->max_connections) {
		log_warn("[%s]: refused: %u connections", addr,
			 srv->n_sessions);
		return "Too many connections";
	}
	*relay_r = config_is_relay_client(cfg, sa);
	if (!conn_limit_take(srv->per_ip, addr,
			     *relay_r ? 0 : cfg->max_connections_per_ip)) {
		log_warn("[%s]: refused: too many connections from this "
			 "address",
			 addr);
		return "Too many connections from your address";
	}
	return NULL;
}

void
server_release(struct server *srv, const char *addr)
{
	conn_limit_release(srv->per_ip, addr);
}

struct bufferevent *
server_bev_new(struct server *srv, int fd, bool implicit_tls)
{
	if (!implicit_tls)
		return bufferevent_socket_new(srv->base, fd,
					      BEV_OPT_CLOSE_ON_FREE);
	SSL *ssl = srv->tls_server ? SSL_new(srv->tls_server) : NULL;
	if (ssl == NULL)
		return NULL;
	struct bufferevent *bev = bufferevent_openssl_socket_new(
	    srv->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

void
server_session_add(struct server *srv, struct server_session *link,
		   const struct server_proto *proto, void *owner)
{
	link->proto = proto;
	link->owner = owner;
	link->prev = NULL;
	link->next = srv->sessions;
	if (link->next != NULL)
		link->next->prev = link;
	srv->sessions = link;
	srv->n_sessions++;
	metrics_session_open(proto->name);
}

void
server_session_remove(struct server *srv, struct server_session *link)
{
	if (link->prev != NULL)
		link->prev->next = link->next;
	else
		srv->sessions = link->next;
	if (link->next != NULL)
		link->next->prev = link->prev;
	link->prev = link->next = NULL;
	srv->n_sessions--;
	metrics_session_close(link->proto->name);
	if (srv->stopping && srv->n_sessions == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)what;
	if (srv->stopping) {
		log_info("second signal: stopping now");
		event_base_loopbreak(srv->base);
		return;
	}
	log_info("signal %d: stopping (accepted mail is safe on disk)",
		 (int)sig);
	srv->stopping = true;
	close_listeners();
	/* A shutdown may free its session at once: step ahead first. */
	struct server_session *s = srv->sessions;
	while (s != NULL) {
		struct server_session *next = s->next;
		s->proto->shutdown(s->owner);
		s = next;
	}
	struct timeval grace = {STOP_GRACE, 0};
	event_base_loopexit(srv->base, &grace);
	if (srv->n_sessions == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)sig;
	(void)what;
	/* `petrel queue flush|bounce` changed the queue on disk. */
	scheduler_rescan(srv->sched);
}

/* write_pid - data_dir/petrel.pid, for the CLI's SIGUSR1. */
static void
write_pid(const struct config *cfg)
{
	char path[PATH_MAX], text[32];
	snprintf(path, sizeof(path), "%s/petrel.pid", cfg->data_dir);
	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		log_warn("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * hup_cb - reload the certificates: new sessions get the new context;
 * sessions already in TLS keep theirs (each SSL holds a reference), so
 * nobody is dropped. A bad new certificate keeps the old one in use. The
 * directory needs no reload: it is read fresh on every lookup.
 */
static void
apply_log_level(const struct config *cfg)
{
	if (strcmp(cfg->log_level, "debug") == 0)
		log_set_level(LOG_LEVEL_DEBUG);
	else if (strcmp(cfg->log_level, "warning") == 0)
		log_set_level(LOG_LEVEL_WARN);
	else if (strcmp(cfg->log_level, "error") == 0)
		log_set_level(LOG_LEVEL_ERR);
	else
		log_set_level(LOG_LEVEL_INFO);
}

static void
note_restart(const char *key, void *arg)
{
	(void)arg;
	log_warn("SIGHUP: %s changed: it takes effect at the next start", key);
}

/*
 * reload_config - read the file and the -o overrides again, as at start.
 * A broken file changes nothing; otherwise the keys that can change live
 * do (config_apply_live) and the others are named in the log.
 */
static void
reload_config(struct server *srv)
{
	struct config fresh;
	char err[512];

	config_init(&fresh);
	int r =
	    srv->conf_path == NULL
		? 0
		: config_load_file(&fresh, srv->conf_path, err, sizeof(err));
	for (int i = 1; r == 0 && i < srv->argc; i++)
		if (strcmp(srv->argv[i], "-o") == 0 && i + 1 < srv->argc)
			r = config_override(&fresh, srv->argv[++i], err,
					    sizeof(err));
		else if (strcmp(srv->argv[i], "-c") == 0)
			i++;
	if (r < 0)
		log_err("SIGHUP: %s: keeping the running configuration", err);
	else
		config_apply_live(srv->cfg, &fresh, note_restart, NULL);
	config_free(&fresh);
	apply_log_level(srv->cfg);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	char err[512];
	(void)sig;
	(void)what;
	reload_config(srv);
	log_info("SIGHUP: configuration reloaded");
	SSL_CTX *ctx = tls_server_ctx_new(srv->cfg, err, sizeof(err));
	if (ctx == NULL) {
		log_err("SIGHUP: keeping the old certificate: %s", err);
		return;
	}
	SSL_CTX_free(srv->tls_server);
	srv->tls_server = ctx;
	log_info("SIGHUP: certificates reloaded");
}

static int
open_list(struct server *srv, const struct config_listen_list *list,
	  listener_accept_fn *fn)
{
	char err[256];
	for (size_t i = 0; i < list->n; i++) {
		struct listener *l = listener_open(srv->base, &list->items[i],
						   fn, srv, err, sizeof(err));
		if (l == NULL) {
			log_err("%s", err);
			return -1;
		}
		listeners[n_listeners++] = l;
	}
	return 0;
}

/* open_listeners - a listener per ADDR:PORT of each protocol table row. */
static int
open_listeners(struct server *srv)
{
	for (size_t i = 0; i < protocol_n_listeners; i++) {
		const struct protocol_listen *row = &protocol_listeners[i];
		const struct config_listen_list *list =
		    (const void *)((const char *)srv->cfg + row->offset);
		if (row->accept == NULL) {
			if (list->n > 0)
				log_warn("%s: this protocol is not served by "
					 "this version yet; set it empty to "
					 "silence this",
					 row->key);
			continue;
		}
		if (open_list(srv, list, row->accept) < 0)
			return -1;
	}
	return 0;
}

/* raise_fd_limit - thousands of sessions need thousands of descriptors. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
server_run(struct config *cfg, const char *conf_path, char **argv, int argc)
{
	struct server srv = {0};
	srv.conf_path = conf_path;
	srv.argv = argv;
	srv.argc = argc;
	char err[512], path[PATH_MAX];
	int status = 0;

	apply_log_level(cfg);
	signal(SIGPIPE, SIG_IGN);
	/* Until the loop's handlers are installed, a SIGHUP (logrotate) or
	 * SIGUSR1 (petrel queue flush) must not kill a starting server. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	raise_fd_limit();
	if (queue_setup(cfg->data_dir, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	queue_recover(cfg->data_dir);
	/* Made (self-signed) in data_dir on first start, before the
	 * ownership hand-over below. */
	srv.tls_server = tls_server_ctx_new(cfg, err, sizeof(err));
	if (srv.tls_server == NULL) {
		log_err("TLS: %s", err);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/directory.db", cfg->data_dir);
	srv.dir = directory_open(path, true, err, sizeof(err));
	if (srv.dir == NULL) {
		log_err("%s", err);
		SSL_CTX_free(srv.tls_server);
		return 1;
	}
	srv.cfg = cfg;
	srv.base = event_base_new();
	if (srv.base == NULL)
		fatal("cannot create the event loop");
	srv.per_ip = conn_limit_new();
	/* Signals are caught from here on, before any port opens (so a
	 * client or script that sees the port up can signal safely); their
	 * callbacks run only in the loop, once everything below is set up. */
	struct event *ev_term = evsignal_new(srv.base, SIGTERM, stop_cb, &srv);
	struct event *ev_int = evsignal_new(srv.base, SIGINT, stop_cb, &srv);
	struct event *ev_hup = evsignal_new(srv.base, SIGHUP, hup_cb, &srv);
	struct event *ev_usr1 = evsignal_new(srv.base, SIGUSR1, usr1_cb, &srv);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_usr1, NULL);
	if (open_listeners(&srv) < 0 || web_start(&srv, &srv.web) < 0) {
		close_listeners();
		event_free(ev_term);
		event_free(ev_int);
		event_free(ev_hup);
		event_free(ev_usr1);
		conn_limit_free(&srv.per_ip);
		event_base_free(srv.base);
		directory_close(&srv.dir);
		SSL_CTX_free(srv.tls_server);
		return 1;
	}
	/* Ports are bound: from here on, the unprivileged user. Before any
	 * thread starts, so every thread is that user. */
	if (privdrop_ownership(cfg->data_dir, cfg->user, cfg->group, err,
			       sizeof(err)) < 0 ||
	    privdrop_now(cfg->user, cfg->group, err, sizeof(err)) < 0)
		fatal("cannot drop privileges: %s", err);
	srv.auth_limit =
	    auth_limit_new(cfg->max_auth_failures, cfg->auth_failure_window);
	srv.commit = commit_start(srv.base, cfg);
	srv.workq = workq_new(srv.base, 2);
	srv.dns = dns_new(srv.base, cfg->dns_servers, cfg->n_dns_servers, err,
			  sizeof(err));
	if (srv.dns == NULL)
		fatal("DNS: %s", err);
	srv.tls_client = tls_client_ctx_new();
	srv.sched = scheduler_new(&srv);
	srv.pickup = pickup_start(&srv);
	write_pid(cfg);

	log_info("petrel started: hostname %s, data_dir %s", cfg->hostname,
		 cfg->data_dir);
	if (event_base_dispatch(srv.base) < 0)
		status = 1;

	/* Every submitted message is committed before we go. */
	pickup_stop(srv.pickup);
	scheduler_stop(srv.sched);
	commit_stop(&srv.commit);
	workq_free(&srv.workq);
	web_stop(&srv.web); /* after the workers: no request in flight */
	scheduler_free(&srv.sched);
	pickup_free(&srv.pickup);
	dns_free(&srv.dns);
	SSL_CTX_free(srv.tls_client);
	SSL_CTX_free(srv.tls_server);
	auth_limit_free(&srv.auth_limit);
	snprintf(path, sizeof(path), "%s/petrel.pid", cfg->data_dir);
	unlink(path);
	/* Sessions still open after the grace period are cut off. */
	while (srv.sessions != NULL)
		srv.sessions->proto->destroy(srv.sessions->owner);
	close_listeners();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_usr1);
	conn_limit_free(&srv.per_ip);
	directory_close(&srv.dir);
	event_base_free(srv.base);
	log_info("petrel stopped");
	return status;
}
