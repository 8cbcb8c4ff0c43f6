#include "queue/dispose.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "queue/bounce.h"
#include "queue/queue.h"
#include "store/directory.h"
#include "store/maildir.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/* The header section of a message: at most this much is quoted. */
#define DISPOSE_HEADERS_MAX (64 * 1024)

static void
task_done(struct queue_commit *job)
{
	struct dispose_task *t = (struct dispose_task *)job;
	t->done(t);
}

static struct dispose_task *
task_new(const struct config *cfg, const char *id,
	 void (*work)(struct queue_commit *))
{
	struct dispose_task *t = xcalloc(1, sizeof(*t));
	t->cfg = cfg;
	t->job.spool_fd = -1;
	t->job.work = work;
	t->job.done = task_done;
	snprintf(t->id, sizeof(t->id), "%s", id);
	return t;
}

struct dispose_rcpt *
dispose_add_rcpt(struct dispose_task *t, size_t idx)
{
	t->rcpts = xrealloc(t->rcpts, (t->n + 1) * sizeof(*t->rcpts));
	struct dispose_rcpt *r = &t->rcpts[t->n++];
	memset(r, 0, sizeof(*r));
	r->idx = idx;
	return r;
}

/* append_records - the outcome lines of t->rcpts, appended to env/ID. */
static void
append_records(struct dispose_task *t)
{
	char path[PATH_MAX];
	time_t now = time(NULL);

	queue_path(t->cfg->data_dir, "env", t->id, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		/* Deleted with `petrel queue delete` meanwhile. */
		if (errno != ENOENT)
			log_err("%s: cannot update envelope: %s", t->id,
				strerror(errno));
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct dispose_rcpt *r = &t->rcpts[i];
		size_t len;
		char *line = queue_envelope_format_update(
		    r->idx, r->state, now, r->next, r->text, &len);
		if (fsutil_write_all(fd, line, len) < 0)
			log_err("%s: cannot update envelope: %s", t->id,
				strerror(errno));
		free(line);
	}
	close(fd);
}

static void
record_work(struct queue_commit *job)
{
	append_records((struct dispose_task *)job);
}

struct dispose_task *
dispose_record_task(const struct config *cfg, const char *id)
{
	return task_new(cfg, id, record_work);
}

/* local_work - deliver queued local recipients, then record outcomes. */
static void
local_work(struct queue_commit *job)
{
	struct dispose_task *t = (struct dispose_task *)job;
	char msg[PATH_MAX], mbox[PATH_MAX], file[PATH_MAX];

	queue_path(t->cfg->data_dir, "msg", t->id, msg, sizeof(msg));
	int fd = open(msg, O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; i < t->n; i++) {
		struct dispose_rcpt *r = &t->rcpts[i];
		free(r->text);
		if (fd < 0) {
			r->text = xasprintf("queue file: %s", strerror(errno));
			continue;
		}
		if (maildir_mailbox_path(t->cfg->data_dir, r->domain,
					 r->localpart, mbox,
					 sizeof(mbox)) < 0) {
			r->text = xstrdup("mailbox path too long");
			r->state = QUEUE_RCPT_FAILED;
			continue;
		}
		if (maildir_deliver(mbox, msg, fd, t->size, file,
				    sizeof(file)) < 0) {
			r->text = xasprintf("cannot deliver to %s: %s", mbox,
					    strerror(errno));
			continue; /* stays PENDING; next is set by caller */
		}
		r->state = QUEUE_RCPT_DONE;
		r->text = xstrdup("delivered to maildir");
	}
	if (fd >= 0)
		close(fd);
	append_records(t);
}

struct dispose_task *
dispose_local_task(const struct config *cfg, const char *id, uint64_t size)
{
	struct dispose_task *t = task_new(cfg, id, local_work);
	t->size = size;
	return t;
}

/* remove_files - env first: without it, msg/ is debris anyway. */
static void
remove_files(const struct config *cfg, const char *id)
{
	char path[PATH_MAX];
	queue_path(cfg->data_dir, "env", id, path, sizeof(path));
	unlink(path);
	queue_path(cfg->data_dir, "msg", id, path, sizeof(path));
	unlink(path);
}

static void
remove_work(struct queue_commit *job)
{
	struct dispose_task *t = (struct dispose_task *)job;
	remove_files(t->cfg, t->id);
	log_info("%s: removed", t->id);
}

struct dispose_task *
dispose_remove_task(const struct config *cfg, const char *id)
{
	return task_new(cfg, id, remove_work);
}

/*
 * badmail_work - queue/msg/ID -> badmail/ID plus badmail/ID.reason, then
 * out of the queue. A link when possible; the message stays as it was.
 */
static void
badmail_work(struct queue_commit *job)
{
	struct dispose_task *t = (struct dispose_task *)job;
	char msg[PATH_MAX], dst[PATH_MAX], reason[PATH_MAX];

	queue_path(t->cfg->data_dir, "msg", t->id, msg, sizeof(msg));
	snprintf(dst, sizeof(dst), "%s/badmail/%s", t->cfg->data_dir, t->id);
	snprintf(reason, sizeof(reason), "%s/badmail/%s.reason",
		 t->cfg->data_dir, t->id);
	if (link(msg, dst) < 0 && errno != EEXIST) {
		int in = open(msg, O_RDONLY | O_CLOEXEC);
		int out =
		    open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || out < 0 || fsutil_copy_fd(in, out) < 0) {
			log_err("%s: cannot move to badmail: %s", t->id,
				strerror(errno));
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			return; /* keep it queued rather than lose it */
		}
		close(in);
		close(out);
	}
	char *text = xasprintf("queue id: %s\n%s\n", t->id, t->reason);
	int fd = open(reason, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fsutil_write_all(fd, text, strlen(text)) < 0)
		log_err("%s: cannot write %s: %s", t->id, reason,
			strerror(errno));
	if (fd >= 0)
		close(fd);
	free(text);
	/* The envelope too, for `petrel badmail resend` (admin_badmail.c). */
	queue_path(t->cfg->data_dir, "env", t->id, msg, sizeof(msg));
	snprintf(dst, sizeof(dst), "%s/badmail/%s.env", t->cfg->data_dir,
		 t->id);
	if (link(msg, dst) < 0 && errno != EEXIST)
		log_warn("%s: cannot keep the envelope: %s", t->id,
			 strerror(errno));
	remove_files(t->cfg, t->id);
	log_info("%s: moved to badmail (%s)", t->id, t->reason);
}

struct dispose_task *
dispose_badmail_task(const struct config *cfg, const char *id,
		     const char *reason)
{
	struct dispose_task *t = task_new(cfg, id, badmail_work);
	snprintf(t->reason, sizeof(t->reason), "%s", reason);
	return t;
}

/* read_headers - the header section of queue/msg/ID (heap). */
static char *
read_headers(const struct config *cfg, const char *id, size_t *len_r)
{
	char path[PATH_MAX];
	queue_path(cfg->data_dir, "msg", id, path, sizeof(path));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = xmalloc(DISPOSE_HEADERS_MAX + 1);
	ssize_t n = pread(fd, buf, DISPOSE_HEADERS_MAX, 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	/* Up to the empty line that ends the header section. */
	char *end = strstr(buf, "\r\n\r\n");
	size_t len = end ? (size_t)(end - buf) + 2 : (size_t)n;
	char *lf = strstr(buf, "\n\n");
	if (lf != NULL && (size_t)(lf - buf) + 1 < len)
		len = (size_t)(lf - buf) + 1;
	*len_r = len;
	return buf;
}

/* status_of - the RFC 3463 code in an outcome text, else a default. */
static void
status_of(const char *text, char *out, size_t outlen)
{
	int a, b, c;
	snprintf(out, outlen, "5.0.0");
	for (const char *p = text; p != NULL && *p != '\0'; p++) {
		if ((*p == '4' || *p == '5') && p[1] == '.' &&
		    sscanf(p, "%d.%d.%d", &a, &b, &c) == 3 &&
		    (p == text || p[-1] == ' ')) {
			snprintf(out, outlen, "5.%d.%d", b, c);
			return;
		}
	}
}

/*
 * bounce_work - build the DSN for every FAILED recipient of t->orig and
 * commit it as a new message from <> to the original sender, in this
 * batch. If the sender cannot be reached at all, the original goes to
 * badmail instead.
 */
static void
bounce_work(struct queue_commit *job)
{
	struct dispose_task *t = (struct dispose_task *)job;
	const struct queue_envelope *env = &t->orig;
	struct bounce_failure *f = xcalloc(env->n_rcpts, sizeof(*f));
	char(*status)[16] = xcalloc(env->n_rcpts, sizeof(*status));
	size_t n = 0, hlen = 0;
	struct directory_targets targets = {0};

	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (r->state != QUEUE_RCPT_FAILED)
			continue;
		status_of(r->last_error, status[n], sizeof(status[n]));
		f[n].rcpt = r;
		f[n].status = status[n];
		f[n].diagnostic = r->last_error;
		f[n].action = "failed";
		n++;
	}
	struct directory *dir = directory_for_thread(t->cfg->data_dir);
	enum directory_result dr =
	    dir ? directory_expand(dir, env->sender, &targets)
		: DIRECTORY_TEMPFAIL;
	if (dr == DIRECTORY_TEMPFAIL) {
		t->job.error = EAGAIN; /* try again later */
		goto out;
	}
	if ((dr != DIRECTORY_OK && dr != DIRECTORY_NOT_LOCAL) ||
	    targets.n == 0) {
		snprintf(t->reason, sizeof(t->reason),
			 "undeliverable, and the sender <%s> cannot be "
			 "reached for a bounce",
			 env->sender);
		badmail_work(job);
		goto out;
	}
	char *headers = read_headers(t->cfg, t->id, &hlen);
	size_t len;
	char *dsn =
	    bounce_build(t->cfg->hostname, env, f, n, headers ? headers : "",
			 hlen, time(NULL), &len);
	free(headers);

	struct queue_commit *b = xcalloc(1, sizeof(*b));
	struct queue_envelope *be = &b->env;
	queue_id_new(be->id);
	be->arrival = time(NULL);
	be->sender = xstrdup("");
	be->client = xstrdup("");
	be->helo = xstrdup("");
	be->size = len;
	for (size_t i = 0; i < targets.n; i++) {
		const struct directory_target *tg = &targets.items[i];
		queue_envelope_add_rcpt(be, tg->address, env->sender, tg->local,
					tg->domain, tg->localpart);
	}
	b->spool_fd = queue_spool_open(t->cfg->data_dir, be->id, b->spool_path,
				       sizeof(b->spool_path));
	if (b->spool_fd < 0 || fsutil_write_all(b->spool_fd, dsn, len) < 0) {
		log_err("%s: cannot write bounce: %s", t->id, strerror(errno));
		t->job.error = errno ? errno : EIO;
		if (b->spool_fd >= 0)
			unlink(b->spool_path);
	} else {
		commit_inline(t->arg, b);
		if (b->error == 0) {
			t->bounced = true;
			log_info("%s: sender non-delivery notification: %s",
				 t->id, be->id);
			for (size_t i = 0; i < be->n_rcpts; i++)
				if (be->rcpts[i].state == QUEUE_RCPT_DONE)
					log_info("%s: to=<%s>, status=sent "
						 "(delivered to maildir)",
						 be->id, be->rcpts[i].address);
			if (b->queued) {
				t->bounce_queued = true;
				t->bounce_env = b->env;
				memset(&b->env, 0, sizeof(b->env));
			} else {
				unlink(b->spool_path);
			}
		} else {
			t->job.error = b->error;
		}
	}
	free(dsn);
	queue_commit_free(b);
out:
	directory_targets_free(&targets);
	free(f);
	free(status);
}

struct dispose_task *
dispose_bounce_task(const struct config *cfg, const struct queue_envelope *env,
		    struct commit *commit)
{
	struct dispose_task *t = task_new(cfg, env->id, bounce_work);
	/* A deep copy: the scheduler's may change meanwhile. */
	struct queue_envelope *o = &t->orig;
	snprintf(o->id, sizeof(o->id), "%s", env->id);
	o->arrival = env->arrival;
	o->size = env->size;
	o->sender = xstrdup(env->sender);
	o->client = xstrdup(env->client ? env->client : "");
	o->helo = xstrdup(env->helo ? env->helo : "");
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		struct queue_rcpt *c = queue_envelope_add_rcpt(
		    o, r->address, r->orcpt, r->local, r->domain, r->localpart);
		c->state = r->state;
		c->attempts = r->attempts;
		c->last_error = r->last_error ? xstrdup(r->last_error) : NULL;
	}
	t->arg = commit;
	return t;
}

void
dispose_task_free(struct dispose_task *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->rcpts[i].text);
		free(t->rcpts[i].domain);
		free(t->rcpts[i].localpart);
	}
	free(t->rcpts);
	queue_envelope_free(&t->orig);
	queue_envelope_free(&t->bounce_env);
	queue_envelope_free(&t->job.env);
	free(t);
}
