/*
 * web_int - what the admin web's files share (web_server.c: listening,
 * TLS, who is asking; web_api.c: /api/; web_pages.c: pages, assets and
 * /metrics). Not for use outside src/web/.
 */
#ifndef PETREL_WEB_WEB_INT_H
#define PETREL_WEB_WEB_INT_H

#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "web/web_parse.h"
#include "web/web_session.h"

struct server;
struct web_job;
struct web_delay;

struct web {
	struct server *srv;
	struct evhttp *http;
	struct web_sessions *sessions;
	struct event *tick;
	struct web_job *jobs;	  /* handed to the workers */
	struct web_delay *delays; /* failed logins waiting for their answer */
	char *chartjs;		  /* the installed Chart.js, read at start */
	size_t chartjs_len;
	bool plain;		 /* plain HTTP (loopback only, asked for) */
	const char *cookie_name; /* "__Host-petrel" (HTTPS), "petrel" */
};

/* One request being looked at. */
struct web_req {
	struct web *w;
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	const char *segs[WEB_SEGMENTS_MAX];
	size_t nseg;
	char segbuf[4096];
	const char *query; /* raw, NULL if none */
	char addr[64];	   /* the client's address */
	const struct sockaddr *sa;
	struct web_session *session; /* logged in with a cookie */
	bool token;		     /* a valid API token */
	bool bad_token;		     /* Authorization given but not valid */
};

/* web_reply_json - send body (stolen) with status code. */
void web_reply_json(struct evhttp_request *req, int code, json_t *body);
/* web_reply_error - {"error": "..."} with status code. */
void web_reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* web_reply_data - bytes of type with status code. */
void web_reply_data(struct evhttp_request *req, int code, const char *type,
		    const void *data, size_t len);
/* web_redirect - 303 See Other to location. */
void web_redirect(struct evhttp_request *req, const char *location);

/* web_json_string - s (possibly not UTF-8) as a JSON string. */
json_t *web_json_string(const char *s);
json_t *web_json_stringn(const char *s, size_t len);

/* web_set_cookie - the session cookie (s NULL: remove it). */
void web_set_cookie(struct web_req *r, const struct web_session *s);

void web_api_handle(struct web_req *r);
void web_pages_handle(struct web_req *r);
void web_metrics_handle(struct web_req *r);

/* web_jobs_cancel_delays - answer every delayed login now (stopping). */
void web_delays_flush(struct web *w);

#endif
