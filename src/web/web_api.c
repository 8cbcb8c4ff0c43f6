/*
 * web_api - the JSON API under /api/, which the pages use and scripts may
 * call with an API token. The routes are a table (method, path pattern,
 * who may call it, what body it takes, its handler); the dispatcher
 * checks all of that once, so handlers do not:
 *
 *   - an unknown path is 404, a known one with another method 405 (with
 *     Allow), both with a JSON error body;
 *   - authentication: a session cookie or "Authorization: Bearer TOKEN";
 *     a mail user's session reaches only its own password, the session
 *     and logout (403 elsewhere); nobody: 401;
 *   - a state change (any method but GET/HEAD) made with a session needs
 *     the session's CSRF token in X-CSRF-Token (403 otherwise), and an
 *     Origin header, when sent, must be this server's own;
 *   - a body must be application/json (415), at most 64 KiB (413), one
 *     object with only the route's fields of the right types (400).
 *
 * Nothing is changed unless all of that passed. Handlers that touch the
 * directory or the queue run on a worker thread through admin_ops, as
 * the CLI does; their JSON answer is sent back on the loop.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_ops.h"
#include "auth/auth_limit.h"
#include "conf/config.h"
#include "mailauth/dns_records.h"
#include "queue/scheduler.h"
#include "server.h"
#include "stats/metrics.h"
#include "store/directory.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"
#include "web/web_int.h"

/* The most of a message the API shows. */
#define WEB_MESSAGE_MAX (1u << 20)
/* How long a failed login waits for its answer (as SMTP AUTH). */
#define WEB_LOGIN_DELAY 1
#define WEB_ARGS_MAX	2

enum access {
	OPEN,  /* anybody (login) */
	USER,  /* any logged-in session */
	ADMIN, /* an administrator's session, or an API token */
};

struct web_job;
typedef void work_fn(struct web_job *j);
typedef void now_fn(struct web_req *r, struct web_job *j);

/* An admin_ops action on one argument, and one that counts. */
typedef int act_fn(const struct admin_ctx *c, const char *arg,
		   struct admin_result *res);
typedef int count_fn(const struct admin_ctx *c, const char *arg, size_t *n_r,
		     struct admin_result *res);

struct route {
	enum evhttp_cmd_type method;
	const char *path[5]; /* after "api"; "*" = any one segment */
	enum access access;
	const struct web_field *body; /* NULL = none */
	/* What it does, one of: */
	now_fn *now;   /* on the loop */
	work_fn *work; /* on a worker thread, then done (or the reply) */
	void (*done)(struct web_job *j);
	act_fn *act;	 /* on a worker: act(arg) answered {"ok":true} */
	count_fn *count; /* on a worker: count(arg) answered {key: n} */
	/* For act and count: the argument is the path's "*", or the body's
	 * field arg_field; the action needs the directory; answer code. */
	const char *arg_field;
	const char *key;
	bool dir;
	int code;
};

struct web_job {
	struct web *w;
	struct evhttp_request *req;
	const struct route *route;
	const char *args[WEB_ARGS_MAX]; /* the "*" segments */
	char argbuf[2048];
	json_t *body;
	char domain[256]; /* ?domain= (lists), "" = all */
	char user[320];	  /* who asks (a session), "" = a token */
	bool admin;
	char session_id[WEB_SECRET_LEN + 1];
	char addr[64];
	char path[512]; /* for the log */
	const struct config *cfg;
	/* out */
	int status;
	json_t *reply;
	bool queue_changed;
	int login; /* admin_login's answer */
	struct web_job *prev, *next;
};

/* A failed login waiting for its 401. */
struct web_delay {
	struct web *w;
	struct evhttp_request *req;
	struct event *ev;
	struct web_delay *prev, *next;
};

/* --- results --- */

static int
status_of(enum admin_status st)
{
	switch (st) {
	case ADMIN_OK:
		return 200;
	case ADMIN_INVALID:
		return 400;
	case ADMIN_NOT_FOUND:
		return 404;
	case ADMIN_CONFLICT:
		return 409;
	case ADMIN_ERROR:
		break;
	}
	return 500;
}

/* result - an action's outcome as the job's answer (ok: okay, code). */
static void
result(struct web_job *j, int r, const struct admin_result *res, int code,
       json_t *ok)
{
	if (r < 0) {
		json_decref(ok);
		j->status = status_of(res->status);
		j->reply =
		    json_pack("{s:o}", "error", web_json_string(res->error));
	} else {
		j->status = code;
		j->reply = ok != NULL ? ok : json_pack("{s:b}", "ok", 1);
	}
	j->queue_changed = res->queue_changed;
}

static struct admin_ctx
ctx_of(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, directory_for_thread(j->cfg->data_dir)};
	return c;
}

/* no_dir - the answer when the worker has no directory connection. */
static bool
no_dir(struct web_job *j, const struct admin_ctx *c)
{
	if (c->dir != NULL)
		return false;
	j->status = 500;
	j->reply = json_pack("{s:s}", "error", "cannot open the directory");
	return true;
}

static const char *
str(struct web_job *j, const char *name)
{
	return json_string_value(json_object_get(j->body, name));
}

/* --- the directory --- */

static void
add_domain(const char *d, void *arg)
{
	json_array_append_new(arg,
			      json_pack("{s:o}", "name", web_json_string(d)));
}

static void
domains_list(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	json_t *a = json_array();

	if (no_dir(j, &c)) {
		json_decref(a);
		return;
	}
	int r = admin_domain_list(&c, add_domain, a, &res);
	result(j, r, &res, 200, json_pack("{s:o}", "domains", a));
}

static void
domains_dns(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	struct dns_records recs = {0};
	json_t *a = json_array();

	int r = admin_dns_records(&c, j->args[0], &recs, &res);
	for (size_t i = 0; r == 0 && i < recs.n; i++)
		json_array_append_new(
		    a, json_pack("{s:o,s:o,s:o,s:o}", "name",
				 web_json_string(recs.items[i].name), "type",
				 web_json_string(recs.items[i].type), "value",
				 web_json_string(recs.items[i].value), "note",
				 web_json_string(recs.items[i].note)));
	dns_records_free(&recs);
	result(j, r, &res, 200,
	       json_pack("{s:o,s:o}", "domain", web_json_string(j->args[0]),
			 "records", a));
}

static json_t *
quota_json(uint64_t bytes)
{
	char text[32];

	admin_format_quota(bytes, text, sizeof(text));
	return json_pack("{s:I,s:s}", "quota", (json_int_t)bytes, "quota_text",
			 text);
}

static void
add_user(const char *address, uint64_t quota, void *arg)
{
	json_t *u = quota_json(quota);
	json_object_set_new(u, "address", web_json_string(address));
	json_array_append_new(arg, u);
}

static void
users_list(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	json_t *a = json_array();

	if (no_dir(j, &c)) {
		json_decref(a);
		return;
	}
	int r = admin_user_list(&c, j->domain[0] ? j->domain : NULL, true,
				add_user, a, &res);
	result(j, r, &res, 200, json_pack("{s:o}", "users", a));
}

/* size_of - a WEB_SIZE value (checked by web_body_parse) in bytes. */
static uint64_t
size_of(const json_t *v)
{
	uint64_t bytes = 0;

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_string(v) && strcmp(json_string_value(v), "none") != 0)
		config_parse_size(json_string_value(v), &bytes);
	return bytes;
}

static void
users_add(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	const json_t *q = json_object_get(j->body, "quota");

	if (no_dir(j, &c))
		return;
	int r = admin_user_add(&c, str(j, "address"), str(j, "password"), &res);
	if (r == 0 && q != NULL && size_of(q) > 0)
		r = admin_user_quota_set(&c, str(j, "address"), size_of(q),
					 &res);
	result(j, r, &res, 201, NULL);
}

static void
users_passwd(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};

	if (no_dir(j, &c))
		return;
	int r = admin_user_passwd(&c, j->args[0], str(j, "password"), &res);
	result(j, r, &res, 200, NULL);
}

static void
users_quota(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	uint64_t bytes = size_of(json_object_get(j->body, "quota"));

	if (no_dir(j, &c))
		return;
	int r = admin_user_quota_set(&c, j->args[0], bytes, &res);
	result(j, r, &res, 200, r == 0 ? quota_json(bytes) : NULL);
}

static void
add_alias(const char *address, const char *const *targets, size_t n, void *arg)
{
	json_t *t = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(t, web_json_string(targets[i]));
	json_array_append_new(arg, json_pack("{s:o,s:o}", "address",
					     web_json_string(address),
					     "targets", t));
}

static void
aliases_list(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	json_t *a = json_array();

	if (no_dir(j, &c)) {
		json_decref(a);
		return;
	}
	int r = admin_alias_list(&c, j->domain[0] ? j->domain : NULL, add_alias,
				 a, &res);
	result(j, r, &res, 200, json_pack("{s:o}", "aliases", a));
}

static void
aliases_add(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};
	const json_t *t = json_object_get(j->body, "targets");
	size_t n = json_array_size(t);
	const char **targets = xcalloc(n + 1, sizeof(*targets));

	for (size_t i = 0; i < n; i++)
		targets[i] = json_string_value(json_array_get(t, i));
	if (!no_dir(j, &c)) {
		int r =
		    admin_alias_add(&c, str(j, "address"), targets, n, &res);
		result(j, r, &res, 201, NULL);
	}
	free(targets);
}

/* --- the queue and badmail --- */

static json_t *
envelope_json(const struct queue_envelope *e, bool pending_only, time_t now)
{
	static const char *const states[] = {"pending", "delivered", "failed"};
	json_t *rcpts = json_array();

	for (size_t i = 0; i < e->n_rcpts; i++) {
		const struct queue_rcpt *r = &e->rcpts[i];
		if (pending_only && r->state != QUEUE_RCPT_PENDING)
			continue;
		json_array_append_new(
		    rcpts, json_pack("{s:o,s:s,s:i,s:I,s:o}", "address",
				     web_json_string(r->address), "state",
				     states[r->state], "attempts",
				     (int)r->attempts, "next_attempt",
				     (json_int_t)r->next_attempt, "last_error",
				     r->last_error != NULL
					 ? web_json_string(r->last_error)
					 : json_null()));
	}
	return json_pack(
	    "{s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "id", e->id, "size",
	    (json_int_t)e->size, "arrival", (json_int_t)e->arrival, "age",
	    (json_int_t)(now - e->arrival), "sender",
	    web_json_string(e->sender), "client", web_json_string(e->client),
	    "helo", web_json_string(e->helo), "recipients", rcpts);
}

static void
queue_list(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	struct admin_queue_list l;
	time_t now = time(NULL);
	json_t *a = json_array();

	int r = admin_queue_list(&c, &l, &res);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		json_array_append_new(a, envelope_json(&l.items[i], true, now));
	if (r == 0)
		admin_queue_list_free(&l);
	result(j, r, &res, 200, json_pack("{s:o}", "messages", a));
}

/* message_json - the message text for a page: UTF-8, at most 1 MiB. */
static void
add_message(json_t *o, const char *msg, size_t len, bool truncated)
{
	json_object_set_new(o, "message",
			    msg != NULL ? web_json_stringn(msg, len)
					: json_null());
	json_object_set_new(o, "truncated", json_boolean(truncated));
}

static void
queue_show(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	struct queue_envelope env;
	char *msg = NULL;
	size_t len;
	bool truncated;
	json_t *o = NULL;

	int r = admin_queue_show(&c, j->args[0], &env, &msg, &len,
				 WEB_MESSAGE_MAX, &truncated, &res);
	if (r == 0) {
		o = envelope_json(&env, false, time(NULL));
		add_message(o, msg, len, truncated);
		queue_envelope_free(&env);
	}
	free(msg);
	result(j, r, &res, 200, o);
}

static json_t *
badmail_json(const struct admin_badmail *b)
{
	return json_pack("{s:s,s:I,s:I,s:o,s:b}", "id", b->id, "size",
			 (json_int_t)b->size, "time", (json_int_t)b->mtime,
			 "reason", web_json_string(b->reason), "requeue",
			 b->requeue);
}

static void
badmail_list(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	struct admin_badmail_list l;
	json_t *a = json_array();

	int r = admin_badmail_list(&c, &l, &res);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		json_array_append_new(a, badmail_json(&l.items[i]));
	if (r == 0)
		admin_badmail_list_free(&l);
	result(j, r, &res, 200, json_pack("{s:o}", "badmail", a));
}

static void
badmail_show(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	struct admin_badmail b;
	char *msg = NULL;
	size_t len;
	bool truncated;
	json_t *o = NULL;

	int r = admin_badmail_show(&c, j->args[0], &b, &msg, &len,
				   WEB_MESSAGE_MAX, &truncated, &res);
	if (r == 0) {
		o = badmail_json(&b);
		add_message(o, msg, len, truncated);
		admin_badmail_free(&b);
	}
	free(msg);
	result(j, r, &res, 200, o);
}

/* act_work, count_work - the table's plain actions (route.act, .count). */
static const char *
arg_of(struct web_job *j)
{
	return j->route->arg_field != NULL ? str(j, j->route->arg_field)
					   : j->args[0];
}

static void
act_work(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};

	if (j->route->dir) {
		c = ctx_of(j);
		if (no_dir(j, &c))
			return;
	}
	int r = j->route->act(&c, arg_of(j), &res);
	result(j, r, &res, j->route->code ? j->route->code : 200, NULL);
}

static void
count_work(struct web_job *j)
{
	struct admin_ctx c = {j->cfg, NULL};
	struct admin_result res = {0};
	size_t n = 0;

	int r = j->route->count(&c, arg_of(j), &n, &res);
	result(j, r, &res, 200,
	       json_pack("{s:I}", j->route->key, (json_int_t)n));
}

/* --- sessions --- */

static void
login_work(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);

	j->login = c.dir != NULL
		       ? admin_login(&c, str(j, "address"), str(j, "password"))
		       : -1;
}

static void
delay_fire(evutil_socket_t fd, short what, void *arg)
{
	struct web_delay *d = arg;
	struct web *w = d->w;
	(void)fd;
	(void)what;

	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		w->delays = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	web_reply_error(d->req, 401, "wrong address or password");
	event_free(d->ev);
	free(d);
}

void
web_delays_flush(struct web *w)
{
	while (w->delays != NULL) {
		event_del(w->delays->ev);
		delay_fire(-1, 0, w->delays);
	}
}

/*
 * login_done - a good password gets a new session (never an old id:
 * no fixation); a bad one is counted against the client's address and
 * answered after a delay that stalls nothing else.
 */
static void
login_done(struct web_job *j)
{
	struct web *w = j->w;
	struct web_req r = {.w = w, .req = j->req};
	const char *address = str(j, "address");

	if (j->login > 0) {
		struct web_session *s = web_sessions_create(
		    w->sessions, address, j->login == 2, time(NULL));
		if (s == NULL) {
			web_reply_error(j->req, 500, "cannot make a session");
			return;
		}
		log_info("[%s]: admin web login: <%s>%s", j->addr, address,
			 s->admin ? " (administrator)" : " (mail user)");
		web_set_cookie(&r, s);
		web_reply_json(j->req, 200,
			       json_pack("{s:o,s:b,s:s}", "address",
					 web_json_string(s->user), "admin",
					 s->admin, "csrf", s->csrf));
		return;
	}
	if (j->login < 0) {
		web_reply_error(j->req, 500, "cannot read the directory");
		return;
	}
	unsigned n = auth_limit_fail(w->srv->auth_limit, j->addr, time(NULL));
	/* One line per failure, with the address (for fail2ban). */
	log_warn("[%s]: admin web login failed for <%s> (%u in this window)",
		 j->addr, address, n);
	struct web_delay *d = xcalloc(1, sizeof(*d));
	d->w = w;
	d->req = j->req;
	d->ev = evtimer_new(w->srv->base, delay_fire, d);
	d->next = w->delays;
	if (d->next != NULL)
		d->next->prev = d;
	w->delays = d;
	struct timeval tv = {WEB_LOGIN_DELAY, 0};
	evtimer_add(d->ev, &tv);
}

static void
password_work(struct web_job *j)
{
	struct admin_ctx c = ctx_of(j);
	struct admin_result res = {0};

	if (no_dir(j, &c))
		return;
	int r = admin_own_password(&c, j->user, j->admin, str(j, "current"),
				   str(j, "password"), &res);
	result(j, r, &res, 200, NULL);
}

/* password_done - other sessions of that account end with the old one. */
static void
password_done(struct web_job *j)
{
	struct web *w = j->w;

	if (j->status == 200) {
		const struct config *cfg = w->srv->cfg;
		struct web_session *keep = web_sessions_find(
		    w->sessions, j->session_id, strlen(j->session_id),
		    time(NULL), cfg->admin_session_idle,
		    cfg->admin_session_lifetime);
		web_sessions_end_user(w->sessions, j->user, keep);
		log_info("[%s]: admin web: <%s> changed its password", j->addr,
			 j->user);
	}
	web_reply_json(j->req, j->status, j->reply);
	j->reply = NULL;
}

static json_t *
session_json(const struct web_session *s, const struct config *cfg)
{
	return json_pack(
	    "{s:o,s:b,s:s,s:I}", "address", web_json_string(s->user), "admin",
	    s->admin, "csrf", s->csrf, "expires",
	    (json_int_t)web_session_expires(s, cfg->admin_session_idle,
					    cfg->admin_session_lifetime));
}

static void
session_now(struct web_req *r, struct web_job *j)
{
	(void)j;
	if (r->session == NULL) {
		/* A token has no session. */
		web_reply_json(r->req, 200, json_pack("{s:b}", "token", 1));
		return;
	}
	web_reply_json(r->req, 200, session_json(r->session, r->w->srv->cfg));
}

static void
logout_now(struct web_req *r, struct web_job *j)
{
	(void)j;
	if (r->session != NULL) {
		log_info("[%s]: admin web logout: <%s>", r->addr,
			 r->session->user);
		web_sessions_end(r->w->sessions, r->session);
		r->session = NULL;
	}
	web_set_cookie(r, NULL);
	web_reply_json(r->req, 200, json_pack("{s:b}", "ok", 1));
}

/* --- the dashboard and logs --- */

#define STATS_DEFAULT 360

static void
stats_now(struct web_req *r, struct web_job *j)
{
	static struct metrics_minute hist[METRICS_HISTORY_MINUTES + 1];
	unsigned msgs = 0, rcpts = 0;
	time_t oldest = 0, now = time(NULL);
	char want[16];
	size_t max = STATS_DEFAULT;
	(void)j;

	if (r->query != NULL &&
	    web_query_get(r->query, strlen(r->query), "minutes", want,
			  sizeof(want)) == 1) {
		max = (size_t)strtoul(want, NULL, 10);
		if (max == 0 || max > METRICS_HISTORY_MINUTES)
			max = METRICS_HISTORY_MINUTES;
	}
	if (r->w->srv->sched != NULL)
		scheduler_stats(r->w->srv->sched, &msgs, &rcpts, &oldest);
	unsigned sessions = metrics_sessions_now();
	size_t n = metrics_history(hist, max, now, msgs, sessions);
	json_t *minutes = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
		    minutes,
		    json_pack("{s:I,s:i,s:i,s:i,s:i,s:i,s:i}", "t",
			      (json_int_t)(hist[i].minute * 60), "received",
			      (int)hist[i].received, "delivered",
			      (int)hist[i].delivered, "deferred",
			      (int)hist[i].deferred, "bounced",
			      (int)hist[i].bounced, "queue", (int)hist[i].queue,
			      "sessions", (int)hist[i].sessions));
	web_reply_json(
	    r->req, 200,
	    json_pack("{s:I,s:{s:i,s:i,s:I},s:i,s:o}", "now", (json_int_t)now,
		      "queue", "messages", (int)msgs, "recipients", (int)rcpts,
		      "oldest_age", (json_int_t)(oldest ? now - oldest : 0),
		      "sessions", (int)sessions, "minutes", minutes));
}

static void
add_line(const char *line, void *arg)
{
	json_array_append_new(arg, web_json_string(line));
}

static void
logs_now(struct web_req *r, struct web_job *j)
{
	struct admin_result res = {0};
	json_t *a = json_array();

	if (admin_log_lines(j->args[0], add_line, a, &res) < 0) {
		json_decref(a);
		web_reply_error(r->req, status_of(res.status), "%s", res.error);
		return;
	}
	web_reply_json(r->req, 200,
		       json_pack("{s:s,s:o}", "id", j->args[0], "lines", a));
}

/* --- the table --- */

static const struct web_field login_body[] = {
    {"address", WEB_STRING, true},
    {"password", WEB_STRING, true},
    {NULL, 0, false},
};
static const struct web_field password_body[] = {
    {"current", WEB_STRING, true},
    {"password", WEB_STRING, true},
    {NULL, 0, false},
};
static const struct web_field domain_body[] = {
    {"name", WEB_STRING, true},
    {NULL, 0, false},
};
static const struct web_field user_body[] = {
    {"address", WEB_STRING, true},
    {"password", WEB_STRING, true},
    {"quota", WEB_SIZE, false},
    {NULL, 0, false},
};
static const struct web_field passwd_body[] = {
    {"password", WEB_STRING, true},
    {NULL, 0, false},
};
static const struct web_field quota_body[] = {
    {"quota", WEB_SIZE, true},
    {NULL, 0, false},
};
static const struct web_field alias_body[] = {
    {"address", WEB_STRING, true},
    {"targets", WEB_STRINGS, true},
    {NULL, 0, false},
};
/* Bodiless actions take nothing, or an empty object. */
static const struct web_field no_body[] = {
    {NULL, 0, false},
};

#define GET    EVHTTP_REQ_GET
#define POST   EVHTTP_REQ_POST
#define DELETE EVHTTP_REQ_DELETE

static const struct route routes[] = {
    {POST, {"login"}, OPEN, login_body, .work = login_work, .done = login_done},
    {POST, {"logout"}, USER, no_body, .now = logout_now},
    {GET, {"session"}, USER, NULL, .now = session_now},
    {POST,
     {"password"},
     USER,
     password_body,
     .work = password_work,
     .done = password_done},
    {GET, {"stats"}, ADMIN, NULL, .now = stats_now},
    {GET, {"domains"}, ADMIN, NULL, .work = domains_list},
    {POST,
     {"domains"},
     ADMIN,
     domain_body,
     .act = admin_domain_add,
     .arg_field = "name",
     .dir = true,
     .code = 201},
    {DELETE,
     {"domains", "*"},
     ADMIN,
     no_body,
     .act = admin_domain_del,
     .dir = true},
    {GET, {"domains", "*", "dns"}, ADMIN, NULL, .work = domains_dns},
    {GET, {"users"}, ADMIN, NULL, .work = users_list},
    {POST, {"users"}, ADMIN, user_body, .work = users_add},
    {DELETE,
     {"users", "*"},
     ADMIN,
     no_body,
     .act = admin_user_del,
     .dir = true},
    {POST,
     {"users", "*", "password"},
     ADMIN,
     passwd_body,
     .work = users_passwd},
    {POST, {"users", "*", "quota"}, ADMIN, quota_body, .work = users_quota},
    {GET, {"aliases"}, ADMIN, NULL, .work = aliases_list},
    {POST, {"aliases"}, ADMIN, alias_body, .work = aliases_add},
    {DELETE,
     {"aliases", "*"},
     ADMIN,
     no_body,
     .act = admin_alias_del,
     .dir = true},
    {GET, {"queue"}, ADMIN, NULL, .work = queue_list},
    {POST,
     {"queue", "flush"},
     ADMIN,
     no_body,
     .count = admin_queue_flush,
     .key = "flushed"},
    {GET, {"queue", "*"}, ADMIN, NULL, .work = queue_show},
    {DELETE,
     {"queue", "*"},
     ADMIN,
     no_body,
     .count = admin_queue_delete,
     .key = "deleted"},
    {POST,
     {"queue", "*", "flush"},
     ADMIN,
     no_body,
     .count = admin_queue_flush,
     .key = "flushed"},
    {POST,
     {"queue", "*", "bounce"},
     ADMIN,
     no_body,
     .count = admin_queue_bounce,
     .key = "bounced"},
    {GET, {"badmail"}, ADMIN, NULL, .work = badmail_list},
    {GET, {"badmail", "*"}, ADMIN, NULL, .work = badmail_show},
    {DELETE, {"badmail", "*"}, ADMIN, no_body, .act = admin_badmail_delete},
    {POST,
     {"badmail", "*", "resend"},
     ADMIN,
     no_body,
     .act = admin_badmail_resend},
    {GET, {"logs", "*"}, ADMIN, NULL, .now = logs_now},
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* match - does the path (after "api") fit the route's pattern? */
static bool
match(const struct route *rt, const char *const *segs, size_t n)
{
	size_t k = 0;

	while (k < 5 && rt->path[k] != NULL)
		k++;
	if (k != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(rt->path[i], "*") != 0 &&
		    strcmp(rt->path[i], segs[i]) != 0)
			return false;
	return true;
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	return m == GET ? "GET" : m == POST ? "POST" : "DELETE";
}

/* --- jobs --- */

static void
job_free(struct web_job *j)
{
	json_decref(j->body);
	json_decref(j->reply);
	free(j);
}

static void
job_work(void *arg)
{
	struct web_job *j = arg;

	if (j->route->act != NULL)
		act_work(j);
	else if (j->route->count != NULL)
		count_work(j);
	else
		j->route->work(j);
}

static void
job_done(void *arg)
{
	struct web_job *j = arg;
	struct web *w = j->w;

	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		w->jobs = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	if (j->queue_changed && w->srv->sched != NULL)
		scheduler_rescan(w->srv->sched);
	/* Every change is logged with who made it (the path names the
	 * queue id, so the message's own log lines show it too). */
	if (j->route->method != GET && j->route->access != OPEN)
		log_info("[%s]: admin web: %s %s by <%s>: %d", j->addr,
			 method_name(j->route->method), j->path,
			 j->user[0] ? j->user : "API token", j->status);
	if (j->route->done != NULL) {
		j->route->done(j);
	} else {
		web_reply_json(j->req, j->status, j->reply);
		j->reply = NULL;
	}
	job_free(j);
}

/* same_origin - an Origin header, when sent, names this server. */
static bool
same_origin(struct web_req *r)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->req);
	const char *origin = evhttp_find_header(in, "Origin");
	const char *host = evhttp_find_header(in, "Host");
	char want[300];

	if (origin == NULL)
		return true;
	if (host == NULL)
		return false;
	snprintf(want, sizeof(want), "%s://%s", r->w->plain ? "http" : "https",
		 host);
	return strcmp(origin, want) == 0;
}

/* body_of - the request body parsed for rt, or an answer sent already. */
static int
body_of(struct web_req *r, const struct route *rt, json_t **body_r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	const char *ct = evhttp_find_header(
	    evhttp_request_get_input_headers(r->req), "Content-Type");
	char err[256];

	*body_r = NULL;
	if (rt->method == GET) {
		*body_r = json_object();
		return 0;
	}
	if (len > WEB_BODY_MAX) {
		web_reply_error(r->req, 413, "body larger than %d bytes",
				WEB_BODY_MAX);
		return -1;
	}
	if (len > 0 && (ct == NULL || !web_is_json(ct, strlen(ct)))) {
		web_reply_error(r->req, 415,
				"the body must be application/json");
		return -1;
	}
	const char *data = (const char *)evbuffer_pullup(in, -1);
	if (web_body_parse(data, len, rt->body, body_r, err, sizeof(err)) < 0) {
		web_reply_error(r->req, 400, "%s", err);
		return -1;
	}
	return 0;
}

/* allowed - may the asker call rt? Sends the refusal if not. */
static bool
allowed(struct web_req *r, const struct route *rt)
{
	if (r->bad_token) {
		web_reply_error(r->req, 401, "invalid API token");
		return false;
	}
	if (rt->access == OPEN)
		return true;
	if (r->session == NULL && !r->token) {
		web_reply_error(r->req, 401, "log in first");
		return false;
	}
	if (rt->access == ADMIN && !r->token && !r->session->admin) {
		web_reply_error(r->req, 403, "administrators only");
		return false;
	}
	/* CSRF: only a page of ours can read the token to send it back. */
	if (rt->method != GET && r->session != NULL && !r->token) {
		const char *t = evhttp_find_header(
		    evhttp_request_get_input_headers(r->req), "X-CSRF-Token");
		if (t == NULL ||
		    !web_secret_equal(t, strlen(t), r->session->csrf)) {
			web_reply_error(r->req, 403,
					"missing or wrong CSRF token");
			return false;
		}
	}
	if (rt->method != GET && !same_origin(r)) {
		web_reply_error(r->req, 403, "cross-origin request refused");
		return false;
	}
	return true;
}

/* not_found - 404, or 405 with Allow when only the method is wrong. */
static void
not_found(struct web_req *r, const char *const *segs, size_t n)
{
	char allow[64] = "";

	for (size_t i = 0; i < N_ROUTES; i++)
		if (match(&routes[i], segs, n)) {
			const char *m = method_name(routes[i].method);
			if (strstr(allow, m) == NULL)
				snprintf(allow + strlen(allow),
					 sizeof(allow) - strlen(allow), "%s%s",
					 allow[0] ? ", " : "", m);
			if (routes[i].method == GET && !strstr(allow, "HEAD"))
				snprintf(allow + strlen(allow),
					 sizeof(allow) - strlen(allow),
					 ", HEAD");
		}
	if (allow[0] == '\0') {
		web_reply_error(r->req, 404, "no such API endpoint");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Allow",
			  allow);
	web_reply_error(r->req, 405, "method not allowed (allowed: %s)", allow);
}

void
web_api_handle(struct web_req *r)
{
	const char *const *segs = r->segs + 1;
	size_t n = r->nseg - 1;
	enum evhttp_cmd_type m = r->method == EVHTTP_REQ_HEAD ? GET : r->method;
	const struct route *rt = NULL;

	for (size_t i = 0; i < N_ROUTES && rt == NULL; i++)
		if (routes[i].method == m && match(&routes[i], segs, n))
			rt = &routes[i];
	if (rt == NULL) {
		not_found(r, segs, n);
		return;
	}
	if (!allowed(r, rt))
		return;
	if (rt->access == OPEN &&
	    auth_limit_blocked(r->w->srv->auth_limit, r->addr, time(NULL))) {
		log_warn("[%s]: admin web login refused: too many failed "
			 "logins",
			 r->addr);
		web_reply_error(r->req, 429,
				"too many failed logins, try later");
		return;
	}
	struct web_job *j = xcalloc(1, sizeof(*j));
	j->w = r->w;
	j->req = r->req;
	j->route = rt;
	j->cfg = r->w->srv->cfg;
	snprintf(j->addr, sizeof(j->addr), "%s", r->addr);
	for (size_t i = 0; i < r->nseg; i++)
		snprintf(j->path + strlen(j->path),
			 sizeof(j->path) - strlen(j->path), "/%s", r->segs[i]);
	if (r->session != NULL) {
		snprintf(j->user, sizeof(j->user), "%s", r->session->user);
		snprintf(j->session_id, sizeof(j->session_id), "%s",
			 r->session->id);
		j->admin = r->session->admin;
	}
	/* The "*" segments, copied: the request's buffer is on the stack. */
	size_t used = 0, k = 0;
	for (size_t i = 0; i < n && k < WEB_ARGS_MAX; i++) {
		if (strcmp(rt->path[i], "*") != 0)
			continue;
		size_t len = strlen(segs[i]);
		if (used + len + 1 > sizeof(j->argbuf)) {
			web_reply_error(r->req, 400, "path too long");
			job_free(j);
			return;
		}
		memcpy(j->argbuf + used, segs[i], len + 1);
		j->args[k++] = j->argbuf + used;
		used += len + 1;
	}
	/* "POST /api/queue/flush" flushes everything: args[0] stays NULL. */
	if (r->query != NULL &&
	    web_query_get(r->query, strlen(r->query), "domain", j->domain,
			  sizeof(j->domain)) < 0) {
		web_reply_error(r->req, 400, "malformed query string");
		job_free(j);
		return;
	}
	if (body_of(r, rt, &j->body) < 0) {
		job_free(j);
		return;
	}
	if (rt->now != NULL) {
		rt->now(r, j);
		job_free(j);
		return;
	}
	j->next = r->w->jobs;
	if (j->next != NULL)
		j->next->prev = j;
	r->w->jobs = j;
	workq_submit(r->w->srv->workq, job_work, job_done, j);
}
