#include "queue/scheduler.h"

#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "deliver/remote.h"
#include "queue/commit.h"
#include "queue/dispose.h"
#include "queue/queue.h"
#include "queue/retry.h"
#include "server.h"
#include "stats/metrics.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* How often the queue is re-read from disk (CLI changes, safety net). */
#define SCHED_RESCAN_INTERVAL 60
/* A bounce that could not be built (directory busy) is retried after. */
#define SCHED_DISPOSE_RETRY 60

#define SCHED_BUCKETS 4096

struct sched_msg {
	struct sched_msg *prev, *next;
	struct sched_msg *hnext; /* id hash chain */
	struct queue_envelope env;
	bool *in_flight; /* per recipient */
	unsigned n_in_flight;
	unsigned tasks; /* committer tasks outstanding */
	bool disposing;
	time_t dispose_after; /* a failed disposal waits until then */
	unsigned gen;	      /* when it entered memory */
};

struct scheduler {
	struct server *srv;
	struct remote *remote;
	struct sched_msg *msgs;
	struct sched_msg *by_id[SCHED_BUCKETS];
	struct event *tick;
	unsigned gen;
	bool scanning, scan_again;
	time_t last_scan;
	bool stopping;
};

struct scan_job {
	struct scheduler *s;
	char data_dir[PATH_MAX];
	unsigned gen; /* messages newer than this were not on disk yet */
	size_t n;
	struct queue_envelope *envs;
};

static void dispatch(struct scheduler *s);
static void maybe_dispose(struct scheduler *s, struct sched_msg *m);

/* --- messages in memory --- */

static unsigned
id_hash(const char *id)
{
	unsigned h = 5381;
	for (; *id != '\0'; id++)
		h = h * 33 + (unsigned char)*id;
	return h % SCHED_BUCKETS;
}

static struct sched_msg *
msg_find(struct scheduler *s, const char *id)
{
	for (struct sched_msg *m = s->by_id[id_hash(id)]; m != NULL;
	     m = m->hnext)
		if (strcmp(m->env.id, id) == 0)
			return m;
	return NULL;
}

static void
msg_set_env(struct sched_msg *m, struct queue_envelope *env)
{
	queue_envelope_free(&m->env);
	free(m->in_flight);
	m->env = *env; /* moves ownership */
	memset(env, 0, sizeof(*env));
	m->in_flight = xcalloc(m->env.n_rcpts + 1, sizeof(bool));
}

/* msg_add - take ownership of env. */
static struct sched_msg *
msg_add(struct scheduler *s, struct queue_envelope *env)
{
	struct sched_msg *m = xcalloc(1, sizeof(*m));
	msg_set_env(m, env);
	m->gen = ++s->gen;
	unsigned h = id_hash(m->env.id);
	m->hnext = s->by_id[h];
	s->by_id[h] = m;
	m->next = s->msgs;
	if (m->next != NULL)
		m->next->prev = m;
	s->msgs = m;
	return m;
}

static void
msg_free(struct scheduler *s, struct sched_msg *m)
{
	for (struct sched_msg **pp = &s->by_id[id_hash(m->env.id)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			break;
		}
	if (m->prev != NULL)
		m->prev->next = m->next;
	else
		s->msgs = m->next;
	if (m->next != NULL)
		m->next->prev = m->prev;
	queue_envelope_free(&m->env);
	free(m->in_flight);
	free(m);
}

static bool
msg_idle(const struct sched_msg *m)
{
	return m->n_in_flight == 0 && m->tasks == 0 && !m->disposing;
}

/* copy_env - a deep copy (scheduler_add gets the committer's). */
static void
copy_env(struct queue_envelope *dst, const struct queue_envelope *src)
{
	memset(dst, 0, sizeof(*dst));
	snprintf(dst->id, sizeof(dst->id), "%s", src->id);
	dst->arrival = src->arrival;
	dst->size = src->size;
	dst->client = xstrdup(src->client ? src->client : "");
	dst->helo = xstrdup(src->helo ? src->helo : "");
	dst->sender = xstrdup(src->sender ? src->sender : "");
	for (size_t i = 0; i < src->n_rcpts; i++) {
		const struct queue_rcpt *r = &src->rcpts[i];
		struct queue_rcpt *c =
		    queue_envelope_add_rcpt(dst, r->address, r->orcpt, r->local,
					    r->domain, r->localpart);
		c->state = r->state;
		c->attempts = r->attempts;
		c->next_attempt = r->next_attempt;
		c->last_error = r->last_error ? xstrdup(r->last_error) : NULL;
	}
}

/* --- outcomes --- */

static void
task_done(struct dispose_task *t)
{
	struct scheduler *s = t->sched;
	struct sched_msg *m = t->msg;
	if (m != NULL)
		m->tasks--;
	if (!s->stopping && m != NULL) {
		/* Local deliveries: their outcome is now on disk. */
		for (size_t i = 0; i < t->n && t->job.work != NULL; i++) {
			struct dispose_rcpt *dr = &t->rcpts[i];
			if (dr->domain == NULL)
				continue; /* a plain record */
			struct queue_rcpt *r = &m->env.rcpts[dr->idx];
			m->in_flight[dr->idx] = false;
			m->n_in_flight--;
			r->attempts++;
			r->state = dr->state;
			r->next_attempt = dr->next;
			free(r->last_error);
			r->last_error = xstrdup(dr->text ? dr->text : "");
			metrics_rcpt_outcome(r->state, m->env.arrival);
			log_info("%s: to=<%s>, status=%s (%s)", m->env.id,
				 r->address,
				 r->state == QUEUE_RCPT_DONE ? "sent"
							     : "deferred",
				 r->last_error);
		}
		maybe_dispose(s, m);
	}
	dispose_task_free(t);
}

static struct dispose_task *
record_task(struct scheduler *s, struct sched_msg *m)
{
	struct dispose_task *t = dispose_record_task(s->srv->cfg, m->env.id);
	t->done = task_done;
	t->sched = s;
	t->msg = m;
	return t;
}

static void
submit(struct scheduler *s, struct sched_msg *m, struct dispose_task *t)
{
	if (m != NULL)
		m->tasks++;
	commit_submit(s->srv->commit, &t->job);
}

/* settle - one recipient's attempt is over: update memory, add a record. */
static void
settle(struct scheduler *s, struct sched_msg *m, size_t i,
       enum queue_rcpt_state state, const char *text, struct dispose_task *t)
{
	const struct config *cfg = s->srv->cfg;
	struct queue_rcpt *r = &m->env.rcpts[i];
	time_t now = time(NULL);

	r->attempts++;
	/* text may be r->last_error itself (an expiry noticed at dispatch
	 * passes it): free the old text only once the new one is made. */
	char *old = r->last_error;
	if (state == QUEUE_RCPT_PENDING &&
	    retry_expired(m->env.arrival, cfg->queue_lifetime, now)) {
		/* RFC 3463 4.4.7: delivery time expired. */
		r->last_error = xasprintf("4.4.7 message expired in the "
					  "queue; last error: %s",
					  text);
		state = QUEUE_RCPT_FAILED;
	} else {
		r->last_error = xstrdup(text);
	}
	free(old);
	r->state = state;
	metrics_rcpt_outcome(state, m->env.arrival);
	r->next_attempt = retry_next(cfg->retry_intervals,
				     cfg->n_retry_intervals, r->attempts, now);
	log_info("%s: to=<%s>, status=%s (%s)", m->env.id, r->address,
		 state == QUEUE_RCPT_DONE     ? "sent"
		 : state == QUEUE_RCPT_FAILED ? "bounced"
					      : "deferred",
		 r->last_error);
	struct dispose_rcpt *dr = dispose_add_rcpt(t, i);
	dr->state = state;
	dr->next = r->next_attempt;
	dr->text = xstrdup(r->last_error);
}

static void
remote_done(struct remote_item *it, void *arg)
{
	struct scheduler *s = arg;
	struct sched_msg *m = it->owner;

	if (s->stopping) {
		/* The disk still says pending: retried at the next start. */
		for (size_t k = 0; k < it->cm.n_rcpts; k++) {
			m->in_flight[it->idx[k]] = false;
			m->n_in_flight--;
		}
	} else {
		struct dispose_task *t = record_task(s, m);
		for (size_t k = 0; k < it->cm.n_rcpts; k++) {
			const struct smtp_client_rcpt *rc = &it->cm.rcpts[k];
			size_t i = it->idx[k];
			m->in_flight[i] = false;
			m->n_in_flight--;
			settle(s, m, i,
			       rc->result == SMTP_CLIENT_OK ? QUEUE_RCPT_DONE
			       : rc->result == SMTP_CLIENT_PERM
				   ? QUEUE_RCPT_FAILED
				   : QUEUE_RCPT_PENDING,
			       rc->text, t);
		}
		submit(s, m, t);
	}
	free(it->path);
	free(it->cm.rcpts);
	free(it->idx);
	free(it);
	if (!s->stopping)
		maybe_dispose(s, m);
}

/* --- the end of a message --- */

static void
dispose_done(struct dispose_task *t)
{
	struct scheduler *s = t->sched;
	struct sched_msg *m = t->msg;

	if (s->stopping) {
		dispose_task_free(t);
		return;
	}
	if (t->job.error != 0) {
		/* Nothing was promised: try again later. */
		m->disposing = false;
		m->dispose_after = time(NULL) + SCHED_DISPOSE_RETRY;
		dispose_task_free(t);
		return;
	}
	if (t->bounced) {
		if (t->bounce_queued)
			scheduler_add(s, &t->bounce_env);
		/* The bounce is durable; now the original may go. */
		struct dispose_task *rm =
		    dispose_remove_task(s->srv->cfg, m->env.id);
		rm->done = dispose_done;
		rm->sched = s;
		rm->msg = m;
		dispose_task_free(t);
		commit_submit(s->srv->commit, &rm->job);
		return;
	}
	/* Removed, or moved to badmail: gone from the queue. */
	msg_free(s, m);
	dispose_task_free(t);
}

static void
maybe_dispose(struct scheduler *s, struct sched_msg *m)
{
	if (m->n_in_flight > 0 || m->tasks > 0 || m->disposing ||
	    queue_envelope_pending(&m->env) > 0 ||
	    m->dispose_after > time(NULL))
		return;
	size_t failed = 0;
	for (size_t i = 0; i < m->env.n_rcpts; i++)
		if (m->env.rcpts[i].state == QUEUE_RCPT_FAILED)
			failed++;
	const struct config *cfg = s->srv->cfg;
	struct dispose_task *t;
	if (failed == 0) {
		t = dispose_remove_task(cfg, m->env.id);
	} else if (m->env.sender[0] == '\0') {
		/* RFC 5321 §6.1: never bounce a bounce. */
		char reason[512];
		size_t w = (size_t)snprintf(reason, sizeof(reason),
					    "undeliverable message from the "
					    "null sender <>:");
		for (size_t i = 0; i < m->env.n_rcpts && w < sizeof(reason);
		     i++) {
			const struct queue_rcpt *r = &m->env.rcpts[i];
			if (r->state == QUEUE_RCPT_FAILED)
				w += (size_t)snprintf(
				    reason + w, sizeof(reason) - w,
				    "\n<%s>: %s", r->address,
				    r->last_error ? r->last_error : "");
		}
		t = dispose_badmail_task(cfg, m->env.id, reason);
	} else {
		t = dispose_bounce_task(cfg, &m->env, s->srv->commit);
	}
	t->done = dispose_done;
	t->sched = s;
	t->msg = m;
	m->disposing = true;
	commit_submit(s->srv->commit, &t->job);
}

/* --- dispatch --- */

/* domain_of - the part after the last '@'. */
static const char *
domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at ? at + 1 : address;
}

/* item_for - this message's remote item for domain, made on demand. */
static struct remote_item *
item_for(struct remote_item **items, size_t *n, struct sched_msg *m,
	 const char *domain, const char *data_dir)
{
	for (size_t k = 0; k < *n; k++)
		if (strcasecmp(domain_of(items[k]->cm.rcpts[0].address),
			       domain) == 0)
			return items[k];
	struct remote_item *it = xcalloc(1, sizeof(*it));
	char path[PATH_MAX];
	queue_path(data_dir, "msg", m->env.id, path, sizeof(path));
	it->cm.id = m->env.id;
	it->cm.sender = m->env.sender;
	it->path = xstrdup(path);
	it->cm.path = it->path;
	it->cm.size = m->env.size;
	it->cm.eightbit = true;
	it->cm.rcpts = xcalloc(m->env.n_rcpts, sizeof(*it->cm.rcpts));
	it->idx = xcalloc(m->env.n_rcpts, sizeof(*it->idx));
	it->owner = m;
	items[(*n)++] = it;
	return it;
}

static void
dispatch_msg(struct scheduler *s, struct sched_msg *m, time_t now)
{
	const struct config *cfg = s->srv->cfg;
	struct dispose_task *local = NULL, *expired = NULL;
	struct remote_item **items = NULL;
	size_t n_items = 0;

	for (size_t i = 0; i < m->env.n_rcpts; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];
		if (r->state != QUEUE_RCPT_PENDING || m->in_flight[i] ||
		    r->next_attempt > now)
			continue;
		if (r->attempts > 0 &&
		    retry_expired(m->env.arrival, cfg->queue_lifetime, now)) {
			if (expired == NULL)
				expired = record_task(s, m);
			r->attempts--; /* settle counts one; none was made */
			settle(s, m, i, QUEUE_RCPT_PENDING,
			       r->last_error ? r->last_error : "expired",
			       expired);
			continue;
		}
		m->in_flight[i] = true;
		m->n_in_flight++;
		if (r->local) {
			if (local == NULL) {
				local = dispose_local_task(cfg, m->env.id,
							   m->env.size);
				local->done = task_done;
				local->sched = s;
				local->msg = m;
			}
			struct dispose_rcpt *dr = dispose_add_rcpt(local, i);
			dr->domain = xstrdup(r->domain);
			dr->localpart = xstrdup(r->localpart);
			dr->state = QUEUE_RCPT_PENDING;
			dr->next = retry_next(cfg->retry_intervals,
					      cfg->n_retry_intervals,
					      r->attempts + 1, now);
			continue;
		}
		if (items == NULL)
			items = xcalloc(m->env.n_rcpts, sizeof(*items));
		struct remote_item *it = item_for(
		    items, &n_items, m, domain_of(r->address), cfg->data_dir);
		it->cm.rcpts[it->cm.n_rcpts].address = r->address;
		it->idx[it->cm.n_rcpts++] = i;
	}
	if (expired != NULL)
		submit(s, m, expired);
	if (local != NULL)
		submit(s, m, local);
	for (size_t k = 0; k < n_items; k++)
		remote_submit(s->remote,
			      domain_of(items[k]->cm.rcpts[0].address),
			      items[k]);
	free(items);
}

static void
dispatch(struct scheduler *s)
{
	time_t now = time(NULL);
	struct sched_msg *m = s->msgs;
	while (m != NULL && !s->stopping) {
		/* dispatch may finish (and free) m through callbacks that
		 * run later, never now: remote_submit only queues. */
		struct sched_msg *next = m->next;
		if (!m->disposing) {
			dispatch_msg(s, m, now);
			maybe_dispose(s, m);
		}
		m = next;
	}
}

/* --- rescans --- */

static void
scan_work(void *arg)
{
	struct scan_job *j = arg;
	char err[256];
	size_t n_ids;
	char **ids = queue_ids(j->data_dir, &n_ids);

	j->envs = xcalloc(n_ids + 1, sizeof(*j->envs));
	for (size_t i = 0; i < n_ids; i++) {
		if (queue_load(j->data_dir, ids[i], &j->envs[j->n], err,
			       sizeof(err)) == 0)
			j->n++;
		else if (strcmp(err, "no such message") != 0)
			log_err("%s: unreadable envelope: %s", ids[i], err);
	}
	queue_ids_free(ids, n_ids);
}

static int
cmp_env_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct queue_envelope *)elem)->id);
}

/*
 * scan_done - merge what the disk holds into memory: new messages are
 * added, idle ones take the disk's state (a `queue flush` or `queue
 * bounce` changed it), and idle ones gone from disk were deleted with
 * `petrel queue delete`. Messages that entered memory after the scan
 * began are left alone: the scan could not have seen them.
 */
static void
scan_done(void *arg)
{
	struct scan_job *j = arg;
	struct scheduler *s = j->s;

	s->scanning = false;
	if (!s->stopping) {
		struct sched_msg *m = s->msgs;
		while (m != NULL) {
			struct sched_msg *next = m->next;
			/* queue_ids is sorted, so envs are too. */
			if (m->gen <= j->gen && msg_idle(m) &&
			    bsearch(m->env.id, j->envs, j->n, sizeof(*j->envs),
				    cmp_env_id) == NULL)
				msg_free(s, m);
			m = next;
		}
		for (size_t i = 0; i < j->n; i++) {
			m = msg_find(s, j->envs[i].id);
			if (m == NULL)
				msg_add(s, &j->envs[i]);
			else if (msg_idle(m))
				msg_set_env(m, &j->envs[i]);
		}
		dispatch(s);
	}
	for (size_t i = 0; i < j->n; i++)
		queue_envelope_free(&j->envs[i]);
	free(j->envs);
	free(j);
	if (s->scan_again && !s->stopping) {
		s->scan_again = false;
		scheduler_rescan(s);
	}
}

void
scheduler_rescan(struct scheduler *s)
{
	if (s->stopping)
		return;
	if (s->scanning) {
		s->scan_again = true;
		return;
	}
	struct scan_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->gen = s->gen;
	snprintf(j->data_dir, sizeof(j->data_dir), "%s", s->srv->cfg->data_dir);
	s->scanning = true;
	s->last_scan = time(NULL);
	workq_submit(s->srv->workq, scan_work, scan_done, j);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scheduler *s = arg;
	(void)fd;
	(void)what;
	if (time(NULL) - s->last_scan >= SCHED_RESCAN_INTERVAL)
		scheduler_rescan(s);
	dispatch(s);
}

void
scheduler_add(struct scheduler *s, const struct queue_envelope *env)
{
	if (s->stopping || msg_find(s, env->id) != NULL)
		return;
	struct queue_envelope copy;
	copy_env(&copy, env);
	struct sched_msg *m = msg_add(s, &copy);
	dispatch_msg(s, m, time(NULL));
	maybe_dispose(s, m);
}

struct scheduler *
scheduler_new(struct server *srv)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->remote = remote_new(srv, remote_done, s);
	s->tick = event_new(srv->base, -1, EV_PERSIST, tick_cb, s);
	struct timeval one = {1, 0};
	event_add(s->tick, &one);
	scheduler_rescan(s);
	return s;
}

void
scheduler_stop(struct scheduler *s)
{
	s->stopping = true;
	event_del(s->tick);
	remote_free(&s->remote);
}

void
scheduler_free(struct scheduler **sp)
{
	struct scheduler *s = *sp;
	if (s == NULL)
		return;
	if (!s->stopping)
		scheduler_stop(s);
	event_free(s->tick);
	while (s->msgs != NULL)
		msg_free(s, s->msgs);
	free(s);
	*sp = NULL;
}

void
scheduler_stats(const struct scheduler *s, unsigned *messages_r,
		unsigned *rcpts_r, time_t *oldest_r)
{
	*messages_r = *rcpts_r = 0;
	*oldest_r = 0;
	for (const struct sched_msg *m = s->msgs; m != NULL; m = m->next) {
		(*messages_r)++;
		*rcpts_r += (unsigned)queue_envelope_pending(&m->env);
		if (*oldest_r == 0 || m->env.arrival < *oldest_r)
			*oldest_r = m->env.arrival;
	}
}
