/*
 * web_server - the admin web's HTTP(S) side: evhttp on the server's
 * loop, OpenSSL bufferevents with the server's current certificate, the
 * headers every answer carries, and who is asking (a session cookie or
 * an API token). What is asked for is web_api.c's and web_pages.c's.
 *
 * Limits: request headers 16 KiB, bodies 1 MiB at the transport (larger
 * ones get libevent's own 413 page; the API refuses anything over 64 KiB
 * itself, with a JSON error), 30 s for a request to arrive and between
 * requests on a kept-alive connection.
 */
#include "web/web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "queue/scheduler.h"
#include "server.h"
#include "stats/metrics.h"
#include "store/directory.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/log_ring.h"
#include "util/xalloc.h"
#include "web/web_int.h"

#define WEB_HEADERS_MAX	  (16 * 1024)
#define WEB_TRANSPORT_MAX (1024 * 1024)
#define WEB_TIMEOUT	  30
#define WEB_TICK	  5
#define WEB_CHARTJS_MAX	  (8u << 20)
#define WEB_TOKEN_MAX	  128

/*
 * Every answer: scripts and styles only from here, no framing, no
 * sniffing, no referrer, nothing cached (pages show live data).
 */
static const char web_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

static void
security_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", web_csp);
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	evhttp_add_header(h, "Cache-Control", "no-store");
}

static const char *
reason_of(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 303:
		return "See Other";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return code >= 500 ? "Internal Server Error" : "Error";
	}
}

void
web_reply_data(struct evhttp_request *req, int code, const char *type,
	       const void *data, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", type);
	evbuffer_add(evhttp_request_get_output_buffer(req), data, len);
	evhttp_send_reply(req, code, reason_of(code), NULL);
}

void
web_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(body);
	if (text == NULL) {
		static const char oops[] = "{\"error\":\"cannot encode\"}";
		web_reply_data(req, 500, "application/json; charset=utf-8",
			       oops, sizeof(oops) - 1);
		return;
	}
	web_reply_data(req, code, "application/json; charset=utf-8", text,
		       strlen(text));
	free(text);
}

void
web_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	web_reply_json(req, code,
		       json_pack("{s:o}", "error", web_json_string(msg)));
}

void
web_redirect(struct evhttp_request *req, const char *location)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
			  location);
	web_reply_data(req, 303, "text/plain; charset=utf-8", "", 0);
}

json_t *
web_json_stringn(const char *s, size_t len)
{
	size_t n;
	char *clean = web_utf8_clean(s, len, &n);
	json_t *j = json_stringn_nocheck(clean, n);

	free(clean);
	return j;
}

json_t *
web_json_string(const char *s)
{
	return web_json_stringn(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

void
web_set_cookie(struct web_req *r, const struct web_session *s)
{
	const struct config *cfg = r->w->srv->cfg;
	char v[256];

	/* Secure is left out only in the plain-HTTP (loopback) mode, where a
	 * browser would not send a Secure cookie back at all. */
	snprintf(v, sizeof(v),
		 "%s=%s; Path=/; Max-Age=%u; HttpOnly; "
		 "SameSite=Strict%s",
		 r->w->cookie_name, s != NULL ? s->id : "",
		 s != NULL ? cfg->admin_session_lifetime : 0,
		 r->w->plain ? "" : "; Secure");
	evhttp_add_header(evhttp_request_get_output_headers(r->req),
			  "Set-Cookie", v);
}

/* peer - the client's address, as text and as a sockaddr. */
static void
peer(struct web_req *r)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	const struct sockaddr *sa =
	    evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;

	snprintf(r->addr, sizeof(r->addr), "?");
	r->sa = sa;
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  r->addr, sizeof(r->addr));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr,
			  r->addr, sizeof(r->addr));
}

/*
 * identify - who is asking: an Authorization: Bearer token (checked
 * against the stored hashes) or the session cookie. A session of an
 * administrator that has since been deleted is ended here.
 */
static void
identify(struct web_req *r)
{
	struct web *w = r->w;
	const struct config *cfg = w->srv->cfg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *authz = evhttp_find_header(in, "Authorization");
	const char *cookie = evhttp_find_header(in, "Cookie");
	const char *v;
	size_t n;

	if (authz != NULL) {
		char tok[WEB_TOKEN_MAX + 1];
		r->bad_token = true;
		if (web_bearer(authz, strlen(authz), &v, &n) == 0 &&
		    n <= WEB_TOKEN_MAX) {
			memcpy(tok, v, n);
			tok[n] = '\0';
			if (directory_token_check(w->srv->dir, tok, NULL, 0) ==
			    1) {
				r->token = true;
				r->bad_token = false;
			}
			explicit_bzero(tok, sizeof(tok));
		}
	}
	if (cookie != NULL &&
	    web_cookie_get(cookie, strlen(cookie), w->cookie_name, &v, &n) == 0)
		r->session = web_sessions_find(w->sessions, v, n, time(NULL),
					       cfg->admin_session_idle,
					       cfg->admin_session_lifetime);
	if (r->session != NULL && r->session->admin &&
	    directory_admin_exists(w->srv->dir, r->session->user) == 0) {
		log_info("[%s]: admin web session of <%s> ended: no longer an "
			 "administrator",
			 r->addr, r->session->user);
		web_sessions_end(w->sessions, r->session);
		r->session = NULL;
	}
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct web_req r;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	memset(&r, 0, sizeof(r));
	r.w = arg;
	r.req = req;
	r.method = evhttp_request_get_command(req);
	r.query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	security_headers(req);
	peer(&r);
	if (path == NULL ||
	    web_path_split(path, strlen(path), r.segbuf, sizeof(r.segbuf),
			   r.segs, WEB_SEGMENTS_MAX, &r.nseg) < 0) {
		web_reply_error(req, 400, "malformed path");
		return;
	}
	identify(&r);
	if (r.nseg == 1 && strcmp(r.segs[0], "metrics") == 0)
		web_metrics_handle(&r);
	else if (r.nseg >= 1 && strcmp(r.segs[0], "api") == 0)
		web_api_handle(&r);
	else
		web_pages_handle(&r);
}

/* bev_cb - each new connection: TLS from the first byte (RFC 8314). */
static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct web *w = arg;
	/* The current context: after a SIGHUP, the reloaded certificate. */
	SSL *ssl = SSL_new(w->srv->tls_server);

	if (ssl == NULL)
		fatal("admin web: cannot make a TLS session");
	/* No fd yet: evhttp sets it (event2/http.h, evhttp_set_bevcb). */
	struct bufferevent *bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatal("admin web: cannot make a TLS bufferevent");
	/* Browsers often close without close_notify. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* tick_cb - the dashboard's minutes, and sessions that expired. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct web *w = arg;
	const struct config *cfg = w->srv->cfg;
	unsigned msgs = 0, rcpts = 0;
	time_t oldest = 0, now = time(NULL);
	(void)fd;
	(void)what;

	if (w->srv->sched != NULL)
		scheduler_stats(w->srv->sched, &msgs, &rcpts, &oldest);
	metrics_tick(now, msgs, metrics_sessions_now());
	web_sessions_expire(w->sessions, now, cfg->admin_session_idle,
			    cfg->admin_session_lifetime);
}

static bool
is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static void
load_chartjs(struct web *w, const char *path)
{
	size_t len;

	w->chartjs = fsutil_read_file(path, WEB_CHARTJS_MAX, &len);
	if (w->chartjs == NULL) {
		log_warn("admin web: cannot read %s (admin_chartjs): %s; the "
			 "dashboard shows tables instead of charts",
			 path, strerror(errno));
		return;
	}
	w->chartjs_len = len;
}

/*
 * bind_one - a listening socket for one literal ADDR:PORT, handed to
 * evhttp (its own binding resolves with AI_ADDRCONFIG, which refuses
 * ::1 on a host with no other IPv6 address).
 */
static int
bind_one(struct web *w, const struct config_listen *l)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(l->port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, l->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(l->port);
		len = sizeof(*sin6);
	} else {
		errno = EINVAL;
		return -1;
	}
	struct evconnlistener *evl = evconnlistener_new_bind(
	    w->srv->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, (int)len);
	if (evl == NULL)
		return -1;
	if (evhttp_bind_listener(w->http, evl) == NULL) {
		evconnlistener_free(evl);
		return -1;
	}
	return 0;
}

int
web_start(struct server *srv, struct web **web_r)
{
	const struct config *cfg = srv->cfg;
	struct web *w;

	*web_r = NULL;
	if (cfg->admin_listen.n == 0)
		return 0;
	if (cfg->admin_plain_http)
		for (size_t i = 0; i < cfg->admin_listen.n; i++)
			if (!is_loopback(cfg->admin_listen.items[i].host)) {
				log_err("admin_plain_http = yes needs every "
					"admin_listen address on loopback, "
					"not %s",
					cfg->admin_listen.items[i].host);
				return -1;
			}
	json_set_alloc_funcs(xmalloc, free);
	w = xcalloc(1, sizeof(*w));
	w->srv = srv;
	w->plain = cfg->admin_plain_http;
	/* __Host-: the browser keeps it to this origin, Secure, Path=/. */
	w->cookie_name = w->plain ? "petrel" : "__Host-petrel";
	w->sessions = web_sessions_new();
	w->http = evhttp_new(srv->base);
	if (w->http == NULL)
		fatal("admin web: cannot make the HTTP server");
	evhttp_set_gencb(w->http, request_cb, w);
	if (!w->plain)
		evhttp_set_bevcb(w->http, bev_cb, w);
	/* Every method reaches request_cb, which answers 405 in JSON. */
	evhttp_set_allowed_methods(
	    w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
			 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
			 EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
			 EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(w->http, WEB_HEADERS_MAX);
	evhttp_set_max_body_size(w->http, WEB_TRANSPORT_MAX);
	evhttp_set_timeout(w->http, WEB_TIMEOUT);
	evhttp_set_default_content_type(w->http, "text/plain; charset=utf-8");
	for (size_t i = 0; i < cfg->admin_listen.n; i++) {
		const struct config_listen *l = &cfg->admin_listen.items[i];
		bool v6 = strchr(l->host, ':') != NULL;
		if (bind_one(w, l) < 0) {
			log_err("admin web: cannot listen on %s%s%s:%u: %s",
				v6 ? "[" : "", l->host, v6 ? "]" : "", l->port,
				strerror(errno));
			web_stop(&w);
			return -1;
		}
		log_info("admin web on %s://%s%s%s:%u/",
			 w->plain ? "http" : "https", v6 ? "[" : "", l->host,
			 v6 ? "]" : "", l->port);
	}
	load_chartjs(w, cfg->admin_chartjs);
	log_ring_enable(cfg->admin_log_lines);
	/* The history's first minute starts now, with the counters. */
	metrics_tick(time(NULL), 0, 0);
	w->tick = event_new(srv->base, -1, EV_PERSIST, tick_cb, w);
	struct timeval tv = {WEB_TICK, 0};
	event_add(w->tick, &tv);
	*web_r = w;
	return 0;
}

void
web_stop(struct web **webp)
{
	struct web *w = *webp;

	if (w == NULL)
		return;
	web_delays_flush(w);
	if (w->http != NULL)
		evhttp_free(w->http);
	if (w->tick != NULL)
		event_free(w->tick);
	web_sessions_free(&w->sessions);
	free(w->chartjs);
	log_ring_enable(0);
	free(w);
	*webp = NULL;
}
