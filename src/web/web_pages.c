/*
 * web_pages - the admin pages, their scripts and styles (compiled in:
 * web_assets.h), Debian's Chart.js (read at start from admin_chartjs),
 * and /metrics.
 *
 * Without a session only the login page and what it needs (style.css,
 * login.js) are served; any other page sends the browser to /login. A
 * mail user's session reaches the password page only. /metrics is for
 * clients in metrics_networks, an API token or an administrator.
 */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "queue/scheduler.h"
#include "server.h"
#include "stats/metrics.h"
#include "util/strbuf.h"
#include "web/web_assets.h"
#include "web/web_int.h"

enum who { ANYBODY, LOGGED_IN, ADMINS };

struct page {
	const char *path;  /* the URL path */
	const char *asset; /* the file served */
	enum who who;
};

static const struct page pages[] = {
    {"/login", "login.html", ANYBODY},
    {"/static/style.css", "style.css", ANYBODY},
    {"/static/login.js", "login.js", ANYBODY},
    {"/password", "password.html", LOGGED_IN},
    {"/static/common.js", "common.js", LOGGED_IN},
    {"/static/password.js", "password.js", LOGGED_IN},
    {"/dashboard", "dashboard.html", ADMINS},
    {"/domains", "domains.html", ADMINS},
    {"/users", "users.html", ADMINS},
    {"/aliases", "aliases.html", ADMINS},
    {"/queue", "queue.html", ADMINS},
    {"/badmail", "badmail.html", ADMINS},
    {"/dns", "dns.html", ADMINS},
    {"/logs", "logs.html", ADMINS},
    {"/static/dashboard.js", "dashboard.js", ADMINS},
    {"/static/domains.js", "domains.js", ADMINS},
    {"/static/users.js", "users.js", ADMINS},
    {"/static/aliases.js", "aliases.js", ADMINS},
    {"/static/queue.js", "queue.js", ADMINS},
    {"/static/badmail.js", "badmail.js", ADMINS},
    {"/static/dns.js", "dns.js", ADMINS},
    {"/static/logs.js", "logs.js", ADMINS},
    {"/static/chart.min.js", NULL, ADMINS}, /* admin_chartjs */
};

static const struct web_asset *
asset(const char *name)
{
	for (size_t i = 0; i < web_n_assets; i++)
		if (strcmp(web_assets[i].name, name) == 0)
			return &web_assets[i];
	return NULL;
}

static const char *
type_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot != NULL && strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (dot != NULL && strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	return "text/javascript; charset=utf-8";
}

static void
text(struct web_req *r, int code, const char *msg)
{
	web_reply_data(r->req, code, "text/plain; charset=utf-8", msg,
		       strlen(msg));
}

/* home - where a visitor belongs. */
static const char *
home(const struct web_req *r)
{
	if (r->session == NULL)
		return "/login";
	return r->session->admin ? "/dashboard" : "/password";
}

void
web_pages_handle(struct web_req *r)
{
	char path[1024] = "";
	const struct page *p = NULL;

	if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
				  "Allow", "GET, HEAD");
		text(r, 405, "Method Not Allowed\n");
		return;
	}
	for (size_t i = 0; i < r->nseg; i++)
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "/%s", r->segs[i]);
	if (r->nseg == 0) {
		web_redirect(r->req, home(r));
		return;
	}
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (strcmp(pages[i].path, path) == 0)
			p = &pages[i];
	if (p == NULL) {
		text(r, 404, "Not Found\n");
		return;
	}
	if (p->who != ANYBODY && r->session == NULL) {
		web_redirect(r->req, "/login");
		return;
	}
	if (p->who == ADMINS && !r->session->admin) {
		web_redirect(r->req, "/password");
		return;
	}
	if (strcmp(p->path, "/login") == 0 && r->session != NULL) {
		web_redirect(r->req, home(r));
		return;
	}
	if (p->asset == NULL) {
		if (r->w->chartjs == NULL) {
			text(r, 404, "Chart.js is not installed\n");
			return;
		}
		web_reply_data(r->req, 200, "text/javascript; charset=utf-8",
			       r->w->chartjs, r->w->chartjs_len);
		return;
	}
	const struct web_asset *a = asset(p->asset);
	if (a == NULL) {
		text(r, 404, "Not Found\n");
		return;
	}
	web_reply_data(r->req, 200, type_of(a->name), a->data, a->len);
}

void
web_metrics_handle(struct web_req *r)
{
	const struct config *cfg = r->w->srv->cfg;
	struct metrics_gauges g = {0};
	struct strbuf out = {0};
	time_t oldest = 0, now = time(NULL);

	if (r->method != EVHTTP_REQ_GET && r->method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(r->req),
				  "Allow", "GET, HEAD");
		text(r, 405, "Method Not Allowed\n");
		return;
	}
	if (r->bad_token) {
		text(r, 401, "invalid API token\n");
		return;
	}
	if (!r->token && !(r->session != NULL && r->session->admin) &&
	    !(r->sa != NULL &&
	      config_net_list_contains(&cfg->metrics_networks, r->sa))) {
		text(r, 403, "not from metrics_networks; send an API token\n");
		return;
	}
	if (r->w->srv->sched != NULL)
		scheduler_stats(r->w->srv->sched, &g.queue_messages,
				&g.queue_rcpts, &oldest);
	g.queue_oldest_s = oldest != 0 ? (long long)(now - oldest) : 0;
	g.admin_sessions = (unsigned)web_sessions_expire(
	    r->w->sessions, now, cfg->admin_session_idle,
	    cfg->admin_session_lifetime);
	metrics_format(&out, &g);
	web_reply_data(r->req, 200, "text/plain; version=0.0.4; charset=utf-8",
		       out.p != NULL ? out.p : "", out.len);
	free(out.p);
}
