/*
 * web - the admin web: HTTPS (libevent's evhttp over OpenSSL
 * bufferevents) on admin_listen, on the server's own event loop. It
 * serves the admin pages, their JSON API under /api/ and /metrics for
 * Prometheus; every action goes through admin/admin_ops.h on the worker
 * threads, as the CLI's do.
 *
 * server.c calls web_start once its listeners are bound (so a privileged
 * admin_listen port is bound as root too) and web_stop after the workers
 * have finished, so no request is in flight when it goes.
 */
#ifndef PETREL_WEB_WEB_H
#define PETREL_WEB_WEB_H

struct server;
struct web;

/*
 * web_start - listen on every admin_listen address (none: *web_r NULL,
 * nothing to do). Plain HTTP only when admin_plain_http is set and every
 * address is loopback; otherwise HTTPS with the server's certificate
 * (srv->tls_server, so a SIGHUP reload reaches new connections). Returns
 * 0, or -1 with the reason logged.
 */
int web_start(struct server *srv, struct web **web_r);

/* web_stop - close the listeners and connections; free. */
void web_stop(struct web **webp);

#endif
