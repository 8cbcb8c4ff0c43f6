#include "deliver/remote.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "deliver/dns.h"
#include "server.h"
#include "smtp/smtp_addr.h"
#include "util/log.h"
#include "util/xalloc.h"

/* How long a destination's resolved hosts are reused. */
#define REMOTE_DNS_CACHE 60
/* A destination gets another connection while it has more than this many
 * messages waiting per open connection. */
#define REMOTE_BACKLOG_PER_CONN 4
/* A connection with nothing to send stays open this long for more mail to
 * the same destination (Postfix's connection cache keeps ~2 s too). */
#define REMOTE_IDLE_SECONDS 2

struct dest;

struct conn {
	struct dest *dest;
	struct smtp_client *client;
	struct remote_item *current; /* pulled, not yet done */
	bool idle;		     /* next() found nothing: waiting */
	struct conn *next;
};

struct dest {
	struct remote *r;
	struct dest *next;
	char key[300]; /* domain, lower-case; or the smarthost */
	char host[256];
	struct remote_item *ready, **ready_tail;
	size_t n_ready;
	struct conn *conns;
	unsigned active;
	struct dns_query *query;
	bool have_hosts;
	time_t hosts_time;
	struct dns_result hosts;
};

struct remote {
	struct server *srv;
	remote_done_fn *done;
	void *arg;
	struct dest *dests;
	unsigned active;
	bool smarthost;
	char smart_host[256];
	uint16_t smart_port;
	bool stopping;
};

/* finish_item - every still-pending recipient gets result/text. */
static void
finish_item(struct remote *r, struct remote_item *it,
	    enum smtp_client_result result, const char *text)
{
	for (size_t i = 0; i < it->cm.n_rcpts; i++) {
		struct smtp_client_rcpt *rc = &it->cm.rcpts[i];
		if (rc->result != SMTP_CLIENT_PENDING)
			continue;
		rc->result = result;
		snprintf(rc->text, sizeof(rc->text), "%s", text);
	}
	r->done(it, r->arg);
}

/* fail_ready - the destination cannot be reached now: hand back all. */
static void
fail_ready(struct dest *d, enum smtp_client_result result, const char *text)
{
	while (d->ready != NULL) {
		struct remote_item *it = d->ready;
		d->ready = it->next;
		d->n_ready--;
		finish_item(d->r, it, result, text);
	}
	d->ready_tail = &d->ready;
}

static struct smtp_client_msg *
conn_next(void *arg)
{
	struct conn *c = arg;
	struct dest *d = c->dest;
	c->idle = d->ready == NULL || d->r->stopping;
	if (c->idle)
		return NULL;
	struct remote_item *it = d->ready;
	d->ready = it->next;
	if (d->ready == NULL)
		d->ready_tail = &d->ready;
	d->n_ready--;
	it->next = NULL;
	c->current = it;
	return &it->cm;
}

static void
conn_done(struct smtp_client_msg *msg, void *arg)
{
	struct conn *c = arg;
	struct remote_item *it = c->current;
	(void)msg;
	c->current = NULL;
	c->dest->r->done(it, c->dest->r->arg);
}

static void dest_kick(struct dest *d);

static void
conn_closed(const char *error, bool permanent, void *arg)
{
	struct conn *c = arg;
	struct dest *d = c->dest;
	struct remote *r = d->r;

	for (struct conn **pp = &d->conns; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	d->active--;
	r->active--;
	if (c->current != NULL) /* should not happen: the client reports */
		finish_item(r, c->current, SMTP_CLIENT_TEMP,
			    error ? error : "connection closed");
	free(c);
	if (error != NULL && d->active == 0) {
		/* No host would take mail: everything waiting here is
		 * deferred (or, for a 5xx greeting everywhere, bounced). */
		log_info("%s: %s", d->key, error);
		fail_ready(d, permanent ? SMTP_CLIENT_PERM : SMTP_CLIENT_TEMP,
			   error);
		d->have_hosts = false;
		return;
	}
	dest_kick(d);
}

static const struct smtp_client_ops conn_ops = {
    .next = conn_next,
    .done = conn_done,
    .closed = conn_closed,
};

static void
conn_start(struct dest *d)
{
	struct remote *r = d->r;
	const struct config *cfg = r->srv->cfg;
	struct conn *c = xcalloc(1, sizeof(*c));
	struct smtp_client_options opt = {
	    .helo_name = cfg->hostname,
	    .port = r->smarthost ? r->smart_port : cfg->outbound_port,
	    .tls_ctx = r->srv->tls_client,
	    .tls_required = cfg->outbound_tls_required,
	    .auth_user = r->smarthost ? cfg->smarthost_user : NULL,
	    .auth_password = r->smarthost ? cfg->smarthost_password : NULL,
	    .timeout = 300,
	    .data_timeout = 600,
	    .idle_timeout = REMOTE_IDLE_SECONDS,
	};
	c->dest = d;
	c->next = d->conns;
	d->conns = c;
	d->active++;
	r->active++;
	c->client =
	    smtp_client_start(r->srv->base, &d->hosts, &opt, &conn_ops, c);
}

static void
dns_done(const struct dns_result *res, void *arg)
{
	struct dest *d = arg;
	d->query = NULL;
	if (res->status == DNS_OK) {
		d->hosts = *res;
		d->have_hosts = true;
		d->hosts_time = time(NULL);
		dest_kick(d);
		return;
	}
	/* res->error names the domain already ("x: Host not found"). */
	log_info("%s", res->error);
	fail_ready(d,
		   res->status == DNS_PERMFAIL ? SMTP_CLIENT_PERM
					       : SMTP_CLIENT_TEMP,
		   res->error);
}

/* dest_kick - resolve if needed, and open connections while useful. */
static void
dest_kick(struct dest *d)
{
	struct remote *r = d->r;
	const struct config *cfg = r->srv->cfg;

	if (d->n_ready == 0 || d->query != NULL || r->stopping)
		return;
	/* Idle connections first: one per waiting message at most. */
	size_t woken = 0;
	for (struct conn *c = d->conns; c != NULL && woken < d->n_ready;
	     c = c->next)
		if (c->idle) {
			c->idle = false;
			smtp_client_wake(c->client);
			woken++;
		}
	if (!d->have_hosts || time(NULL) - d->hosts_time > REMOTE_DNS_CACHE) {
		d->have_hosts = false;
		if (r->smarthost)
			d->query =
			    dns_resolve_host(r->srv->dns, d->host, dns_done, d);
		else
			d->query =
			    dns_resolve_mx(r->srv->dns, d->host, dns_done, d);
		if (d->query == NULL)
			fail_ready(d, SMTP_CLIENT_TEMP,
				   "cannot start a DNS query");
		return;
	}
	while (d->n_ready > 0 &&
	       d->active < cfg->outbound_connections_per_destination &&
	       r->active < cfg->outbound_connections &&
	       d->n_ready > d->active * REMOTE_BACKLOG_PER_CONN)
		conn_start(d);
}

static struct dest *
dest_get(struct remote *r, const char *domain)
{
	char key[300];
	if (r->smarthost) {
		snprintf(key, sizeof(key), "%s", r->smart_host);
	} else if (smtp_addr_domain_ascii(domain, key, sizeof(key)) < 0) {
		/* RFC 5890: DNS knows a U-label domain by its A-label, which
		 * is also the one key for both spellings; a name libidn2
		 * refuses is looked up as it is (and will not be found). */
		size_t i = 0;
		for (; domain[i] != '\0' && i < sizeof(key) - 1; i++)
			key[i] = (char)tolower((unsigned char)domain[i]);
		key[i] = '\0';
	}
	for (struct dest *d = r->dests; d != NULL; d = d->next)
		if (strcmp(d->key, key) == 0)
			return d;
	struct dest *d = xcalloc(1, sizeof(*d));
	d->r = r;
	snprintf(d->key, sizeof(d->key), "%s", key);
	snprintf(d->host, sizeof(d->host), "%s", key);
	d->ready_tail = &d->ready;
	d->next = r->dests;
	r->dests = d;
	return d;
}

void
remote_submit(struct remote *r, const char *domain, struct remote_item *it)
{
	struct dest *d = dest_get(r, domain);
	it->next = NULL;
	*d->ready_tail = it;
	d->ready_tail = &it->next;
	d->n_ready++;
	dest_kick(d);
}

/* parse_smarthost - "host:port", "host", "[v6]:port". */
static void
parse_smarthost(struct remote *r, const char *s)
{
	const char *colon;
	r->smart_port = 25;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		size_t n = end ? (size_t)(end - s - 1) : strlen(s + 1);
		snprintf(r->smart_host, sizeof(r->smart_host), "%.*s", (int)n,
			 s + 1);
		colon = end ? strchr(end, ':') : NULL;
	} else {
		colon = strrchr(s, ':');
		size_t n = colon ? (size_t)(colon - s) : strlen(s);
		snprintf(r->smart_host, sizeof(r->smart_host), "%.*s", (int)n,
			 s);
	}
	if (colon != NULL)
		r->smart_port = (uint16_t)atoi(colon + 1);
}

struct remote *
remote_new(struct server *srv, remote_done_fn *done, void *arg)
{
	struct remote *r = xcalloc(1, sizeof(*r));
	r->srv = srv;
	r->done = done;
	r->arg = arg;
	if (srv->cfg->smarthost[0] != '\0') {
		r->smarthost = true;
		parse_smarthost(r, srv->cfg->smarthost);
	}
	return r;
}

void
remote_free(struct remote **rp)
{
	struct remote *r = *rp;
	if (r == NULL)
		return;
	r->stopping = true;
	for (struct dest *d = r->dests; d != NULL; d = d->next) {
		if (d->query != NULL) {
			dns_cancel(r->srv->dns, d->query);
			d->query = NULL;
		}
		/* Aborting runs closed(), which unlinks the connection. */
		while (d->conns != NULL)
			smtp_client_abort(d->conns->client);
		fail_ready(d, SMTP_CLIENT_TEMP, "delivery interrupted");
	}
	while (r->dests != NULL) {
		struct dest *d = r->dests;
		r->dests = d->next;
		free(d);
	}
	free(r);
	*rp = NULL;
}
