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
#include "store/maildir.h"
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
	bool run_queue;
	bool stopping;

	int efd; /* eventfd: wakes the loop when jobs are done */
	struct event *ev;
};

/* retry_delay - the wait after the given number of failed attempts. */
static unsigned
retry_delay(const struct config *cfg, unsigned attempts)
{
	if (cfg->n_retry_intervals == 0)
		return 300;
	size_t i = attempts == 0 ? 0 : attempts - 1;
	if (i >= cfg->n_retry_intervals)
		i = cfg->n_retry_intervals - 1;
	return cfg->retry_intervals[i];
}

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
		free_str(&r->last_error,
			 xasprintf("cannot deliver to %s: %s", mbox,
				   strerror(errno)));
		return -1;
	}
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
		char *u = queue_envelope_format_update(i, r->state, now,
						       r->next_attempt,
						       r->last_error, &ulen);
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
	size_t pending = 0;

	for (size_t i = 0; i < env->n_rcpts; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		if (r->local) {
			if (deliver_local(c, r, job->spool_path,
					  job->spool_fd, env->size) == 0) {
				r->state = QUEUE_RCPT_DONE;
				continue;
			}
			r->attempts = 1;
			r->next_attempt = now + retry_delay(c->cfg, 1);
		} else {
			/* Outbound delivery comes with its own module; until
			 * then remote recipients wait in the queue. */
			free_str(&r->last_error,
				 xstrdup("remote delivery is not available "
					 "in this version"));
			/* Recorded as a first attempt, so `queue list`
			 * shows the reason from the start. */
			r->attempts = 1;
			r->next_attempt = now + retry_delay(c->cfg, 1);
		}
		pending++;
	}
	if (pending == 0)
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

/*
 * run_one - retry the due recipients of one queued message. Appends
 * state lines to env/ID; returns true when nothing is left pending.
 */
static bool
run_one(struct commit *c, const char *id, time_t now, bool *touched_r)
{
	struct queue_envelope env;
	char err[256], path[PATH_MAX], msg[PATH_MAX];

	if (queue_load(c->data_dir, id, &env, err, sizeof(err)) < 0) {
		if (strcmp(err, "no such message") != 0)
			log_err("%s: unreadable envelope: %s", id, err);
		return false;
	}
	queue_path(c->data_dir, "msg", id, msg, sizeof(msg));
	queue_path(c->data_dir, "env", id, path, sizeof(path));
	int fd = -1, efd = -1;
	for (size_t i = 0; i < env.n_rcpts; i++) {
		struct queue_rcpt *r = &env.rcpts[i];
		if (r->state != QUEUE_RCPT_PENDING || r->next_attempt > now)
			continue;
		if (efd < 0 &&
		    (efd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
			break;
		r->attempts++;
		if (r->local) {
			if (fd < 0)
				fd = open(msg, O_RDONLY | O_CLOEXEC);
			if (fd >= 0 &&
			    deliver_local(c, r, msg, fd, env.size) == 0)
				r->state = QUEUE_RCPT_DONE;
			else if (fd < 0)
				free_str(&r->last_error,
					 xasprintf("queue file: %s",
						   strerror(errno)));
		} else {
			free_str(&r->last_error,
				 xstrdup("remote delivery is not available "
					 "in this version"));
		}
		r->next_attempt = now + retry_delay(c->cfg, r->attempts);
		size_t len;
		char *u = queue_envelope_format_update(
			i, r->state, now, r->next_attempt, r->last_error, &len);
		if (fsutil_write_all(efd, u, len) < 0)
			log_err("%s: cannot update envelope: %s", id,
				strerror(errno));
		free(u);
		*touched_r = true;
		if (r->state == QUEUE_RCPT_DONE)
			log_info("%s: to=<%s>, status=sent (%s)", id,
				 r->address, r->last_error);
		else
			log_info("%s: to=<%s>, status=deferred (%s)", id,
				 r->address, r->last_error);
	}
	if (fd >= 0)
		close(fd);
	if (efd >= 0)
		close(efd);
	bool finished = queue_envelope_pending(&env) == 0;
	queue_envelope_free(&env);
	return finished;
}

/* run_queue - one pass over env/: retry what is due, drop what is done. */
static void
run_queue(struct commit *c)
{
	size_t n, n_finished = 0;
	char **ids = queue_ids(c->data_dir, &n);
	char **finished = xcalloc(n + 1, sizeof(*finished));
	time_t now = time(NULL);
	bool touched = false;

	for (size_t i = 0; i < n; i++)
		if (run_one(c, ids[i], now, &touched))
			finished[n_finished++] = ids[i];
	/* The deliveries must be durable before the queue forgets them. */
	if (touched && commit_sync(c) < 0) {
		log_err("queue run: sync failed: %s", strerror(errno));
		n_finished = 0;
	}
	for (size_t i = 0; i < n_finished; i++) {
		char path[PATH_MAX];
		queue_path(c->data_dir, "env", finished[i], path, sizeof(path));
		unlink(path);
		queue_path(c->data_dir, "msg", finished[i], path, sizeof(path));
		unlink(path);
		log_info("%s: removed", finished[i]);
	}
	free(finished);
	queue_ids_free(ids, n);
}

static void *
commit_thread(void *arg)
{
	struct commit *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->pending == NULL && !c->run_queue && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->pending == NULL && !c->run_queue && c->stopping)
			break;
		struct queue_commit *batch = c->pending;
		bool run = c->run_queue;
		c->pending = NULL;
		c->pending_tail = &c->pending;
		c->run_queue = false;
		pthread_mutex_unlock(&c->lock);

		if (batch != NULL) {
			for (struct queue_commit *j = batch; j; j = j->next)
				commit_one(c, j);
			/* The group commit: one flush for the whole batch. */
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
				if (j->error == 0 && !j->queued)
					unlink(j->spool_path);
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
		if (run)
			run_queue(c);
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
	c->ev = event_new(base, c->efd, EV_READ | EV_PERSIST, commit_done_cb,
			  c);
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
commit_run_queue(struct commit *c)
{
	pthread_mutex_lock(&c->lock);
	c->run_queue = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void
commit_stop(struct commit **cp)
{
	struct commit *c = *cp;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	c->run_queue = false;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
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
	free(job);
}
