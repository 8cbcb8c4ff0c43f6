#include "queue/commit.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "queue/queue.h"
#include "queue/retry.h"
#include "stats/metrics.h"
#include "queue/spool.h"
#include "store/maildir.h"
#include "store/notify.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

struct commit {
	struct event_base *base;
	const struct config *cfg;
	char *data_dir;
	int sync_fds[3]; /* one directory per distinct file system */
	size_t n_sync_fds;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct queue_commit *pending, **pending_tail;
	struct queue_commit *done, **done_tail;
	bool stopping;
	/* Group-commit accounting, logged at stop: messages per sync. */
	unsigned long n_syncs, n_jobs;

	int efd; /* eventfd: wakes the loop when jobs are done */
	struct event *ev;
};

/*
 * commit_sync - make everything written so far durable: file data,
 * links, renames. One syncfs per file system under data_dir.
 */
static int
commit_sync(struct commit *c)
{
	for (size_t i = 0; i < c->n_sync_fds; i++)
		if (syncfs(c->sync_fds[i]) < 0)
			return -1;
	return 0;
}

static void
free_str(char **p, char *v)
{
	free(*p);
	*p = v;
}

/* deliver_local - one local recipient of a message file. */
static int
deliver_local(struct commit *c, struct queue_rcpt *r, const char *path, int fd,
	      uint64_t size)
{
	char mbox[PATH_MAX], file[PATH_MAX];

	if (maildir_mailbox_path(c->data_dir, r->domain, r->localpart, mbox,
				 sizeof(mbox)) < 0) {
		free_str(&r->last_error, xstrdup("mailbox path too long"));
		return -1;
	}
	if (maildir_deliver(mbox, path, fd, size, file, sizeof(file)) < 0) {
		free_str(&r->last_error, xasprintf("cannot deliver to %s: %s",
						   mbox, strerror(errno)));
		return -1;
	}
	notify_delivered(mbox, size); /* quota usage; wakes IMAP IDLE */
	free_str(&r->last_error, xasprintf("delivered to maildir"));
	return 0;
}

/* append_all - write text to path atomically enough: tmp + rename. */
static int
write_env(const char *data_dir, const char *id, const char *text, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	char name[QUEUE_ID_MAX + 8];

	snprintf(name, sizeof(name), "%s.tmp", id);
	queue_path(data_dir, "env", name, tmp, sizeof(tmp));
	queue_path(data_dir, "env", id, path, sizeof(path));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fsutil_write_all(fd, text, len) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

/* env_text - the envelope file plus one state line per settled rcpt. */
static char *
env_text(const struct queue_envelope *env, time_t now, size_t *len_r)
{
	size_t len, ulen;
	char *text = queue_envelope_format(env, &len);
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (r->state == QUEUE_RCPT_PENDING && r->attempts == 0)
			continue;
		char *u = queue_envelope_format_update(
		    i, r->state, now, r->next_attempt, r->last_error, &ulen);
		text = xrealloc(text, len + ulen + 1);
		memcpy(text + len, u, ulen + 1);
		len += ulen;
		free(u);
	}
	*len_r = len;
	return text;
}

/* commit_one - deliver what is local, queue what is left; no sync. */
static void
commit_one(struct commit *c, struct queue_commit *job)
{
	struct queue_envelope *env = &job->env;
	time_t now = time(NULL);
	size_t pending = 0, notices = 0;

	if (job->top_fields != NULL &&
	    queue_spool_add_top(job->spool_path, &job->spool_fd, &env->size,
				env->trace, job->top_fields,
				job->top_len) < 0) {
		job->error = errno;
		log_err("%s: cannot add header fields: %s", env->id,
			strerror(errno));
		return;
	}
	size_t failed = 0;
	for (size_t i = 0; i < env->n_rcpts; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		if (r->state != QUEUE_RCPT_PENDING) {
			/* Refused on arrival (pickup: no such user): queued
			 * so that the scheduler bounces it. */
			failed += r->state == QUEUE_RCPT_FAILED;
			continue;
		}
		if (r->local) {
			if (deliver_local(c, r, job->spool_path, job->spool_fd,
					  env->size) == 0) {
				r->state = QUEUE_RCPT_DONE;
				metrics_rcpt_outcome(r->state, env->arrival);
				/* RFC 3461 §6.2.2: a "delivered" notice is
				 * owed; the scheduler sends it, so queue. */
				notices += (r->notify & QUEUE_NOTIFY_SUCCESS) &&
					   env->sender[0] != '\0';
				continue;
			}
			r->attempts = 1;
			metrics_rcpt_outcome(r->state, env->arrival);
			r->next_attempt =
			    retry_next(c->cfg->retry_intervals,
				       c->cfg->n_retry_intervals, 1, now);
		} else {
			/* Remote: the scheduler's, once this is durable. */
		}
		pending++;
	}
	if (pending == 0 && failed == 0 && notices == 0)
		return;

	char msg[PATH_MAX];
	queue_path(c->data_dir, "msg", env->id, msg, sizeof(msg));
	if (rename(job->spool_path, msg) < 0) {
		job->error = errno;
		log_err("%s: cannot move to queue: %s", env->id,
			strerror(errno));
		return;
	}
	snprintf(job->spool_path, sizeof(job->spool_path), "%s", msg);
	size_t len;
	char *text = env_text(env, now, &len);
	if (write_env(c->data_dir, env->id, text, len) < 0) {
		job->error = errno;
		log_err("%s: cannot write envelope: %s", env->id,
			strerror(errno));
	} else {
		job->queued = true;
	}
	free(text);
}

static void *
commit_thread(void *arg)
{
	struct commit *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->pending == NULL && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->pending == NULL && c->stopping)
			break;
		struct queue_commit *batch = c->pending;
		c->pending = NULL;
		c->pending_tail = &c->pending;
		pthread_mutex_unlock(&c->lock);

		if (batch != NULL) {
			for (struct queue_commit *j = batch; j; j = j->next) {
				if (j->work != NULL)
					j->work(j);
				else
					commit_one(c, j);
			}
			/* The group commit: one flush for the whole batch. */
			c->n_syncs++;
			unsigned long before = c->n_jobs;
			for (struct queue_commit *j = batch; j; j = j->next)
				c->n_jobs++;
			metrics_commit_batch(c->n_jobs - before);
			if (commit_sync(c) < 0) {
				int e = errno;
				log_err("commit: sync failed: %s", strerror(e));
				for (struct queue_commit *j = batch; j;
				     j = j->next)
					if (j->error == 0)
						j->error = e;
			}
			struct queue_commit *last = batch;
			for (struct queue_commit *j = batch; j; j = j->next) {
				/* Delivered everywhere: the spool copy is
				 * no longer needed (the links are durable). */
				if (j->work == NULL && j->error == 0 &&
				    !j->queued)
					unlink(j->spool_path);
				if (j->work == NULL && j->error == 0)
					metrics_received();
				last = j;
			}
			pthread_mutex_lock(&c->lock);
			*c->done_tail = batch;
			c->done_tail = &last->next;
			pthread_mutex_unlock(&c->lock);
			uint64_t one = 1;
			ssize_t w = write(c->efd, &one, sizeof(one));
			(void)w;
		}
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* commit_done_cb - on the loop: run done() of every finished job. */
static void
commit_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct commit *c = arg;
	uint64_t n;
	(void)what;
	ssize_t r = read(fd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&c->lock);
	struct queue_commit *list = c->done;
	c->done = NULL;
	c->done_tail = &c->done;
	pthread_mutex_unlock(&c->lock);
	while (list != NULL) {
		struct queue_commit *next = list->next;
		list->next = NULL;
		list->done(list);
		list = next;
	}
}

static void
add_sync_dir(struct commit *c, const char *path)
{
	struct stat st, other;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		fatal("cannot open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < c->n_sync_fds; i++) {
		if (fstat(c->sync_fds[i], &other) == 0 &&
		    other.st_dev == st.st_dev) {
			close(fd);
			return;
		}
	}
	c->sync_fds[c->n_sync_fds++] = fd;
}

struct commit *
commit_start(struct event_base *base, const struct config *cfg)
{
	struct commit *c = xcalloc(1, sizeof(*c));
	char path[PATH_MAX];

	c->base = base;
	c->cfg = cfg;
	c->data_dir = xstrdup(cfg->data_dir);
	c->pending_tail = &c->pending;
	c->done_tail = &c->done;
	add_sync_dir(c, cfg->data_dir);
	snprintf(path, sizeof(path), "%s/queue", cfg->data_dir);
	add_sync_dir(c, path);
	snprintf(path, sizeof(path), "%s/mail", cfg->data_dir);
	add_sync_dir(c, path);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0)
		fatal("eventfd: %s", strerror(errno));
	c->ev =
	    event_new(base, c->efd, EV_READ | EV_PERSIST, commit_done_cb, c);
	event_add(c->ev, NULL);
	if (pthread_create(&c->thread, NULL, commit_thread, c) != 0)
		fatal("cannot start the committer thread");
	return c;
}

void
commit_submit(struct commit *c, struct queue_commit *job)
{
	job->next = NULL;
	pthread_mutex_lock(&c->lock);
	*c->pending_tail = job;
	c->pending_tail = &job->next;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
commit_inline(struct commit *c, struct queue_commit *job)
{
	commit_one(c, job);
}

const char *
commit_data_dir(const struct commit *c)
{
	return c->data_dir;
}

void
commit_stop(struct commit **cp)
{
	struct commit *c = *cp;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	if (c->n_syncs > 0)
		log_info("commit: %lu jobs in %lu group commits (%.2f per "
			 "sync)",
			 c->n_jobs, c->n_syncs,
			 (double)c->n_jobs / (double)c->n_syncs);
	/* Every submitted job is committed; tell its owner. */
	commit_done_cb(c->efd, EV_READ, c);
	event_free(c->ev);
	close(c->efd);
	for (size_t i = 0; i < c->n_sync_fds; i++)
		close(c->sync_fds[i]);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c->data_dir);
	free(c);
	*cp = NULL;
}

void
queue_commit_free(struct queue_commit *job)
{
	if (job == NULL)
		return;
	if (job->spool_fd >= 0)
		close(job->spool_fd);
	queue_envelope_free(&job->env);
	free(job->top_fields);
	free(job);
}
