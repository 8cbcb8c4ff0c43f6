/*
 * admin_queue - `queue list|show|flush|delete|bounce` and the web's queue
 * page: they read and edit the queue folders directly (queue/queue.h),
 * so they work whether or not the server runs; the server's scheduler
 * re-reads env/ when told (queue_changed) and every minute anyway.
 *
 * Changes are appended records (flush, fail) or removals, each made
 * durable before the action returns, never a rewrite of an envelope the
 * scheduler may be appending to at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_ops.h"
#include "conf/config.h"
#include "queue/queue.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define MALFORMED "malformed queue id"

int
admin_queue_list(const struct admin_ctx *ctx, struct admin_queue_list *out,
		 struct admin_result *res)
{
	size_t n;
	char **ids = queue_ids(ctx->cfg->data_dir, &n);
	(void)res;

	out->n = 0;
	out->items = xcalloc(n + 1, sizeof(*out->items));
	for (size_t i = 0; i < n; i++) {
		struct queue_envelope *env = &out->items[out->n];
		char err[256];
		if (queue_load(ctx->cfg->data_dir, ids[i], env, err,
			       sizeof(err)) < 0)
			continue; /* delivered and removed meanwhile */
		if (queue_envelope_pending(env) == 0) {
			queue_envelope_free(env);
			continue;
		}
		out->n++;
	}
	queue_ids_free(ids, n);
	return 0;
}

void
admin_queue_list_free(struct admin_queue_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		queue_envelope_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* load - env/ID, or the failure (malformed id, no such message). */
static int
load(const struct admin_ctx *ctx, const char *id, struct queue_envelope *env,
     struct admin_result *res)
{
	char err[256];

	if (!admin_valid_queue_id(id))
		return admin_fail(res, ADMIN_INVALID, MALFORMED);
	if (queue_load(ctx->cfg->data_dir, id, env, err, sizeof(err)) < 0)
		return admin_fail(res,
				  strcmp(err, "no such message") == 0
				      ? ADMIN_NOT_FOUND
				      : ADMIN_ERROR,
				  "%s", err);
	return 0;
}

int
admin_queue_show(const struct admin_ctx *ctx, const char *id,
		 struct queue_envelope *env_r, char **msg_r, size_t *len_r,
		 size_t max, bool *truncated_r, struct admin_result *res)
{
	char path[PATH_MAX];

	*msg_r = NULL;
	*len_r = 0;
	*truncated_r = false;
	if (load(ctx, id, env_r, res) < 0)
		return -1;
	queue_path(ctx->cfg->data_dir, "msg", id, path, sizeof(path));
	*msg_r = fsutil_read_head(path, max, len_r, truncated_r);
	return 0;
}

/* append_env - add state lines to env/ID (the queue's record), durably. */
static int
append_env(const struct admin_ctx *ctx, const char *id, const char *text,
	   size_t len)
{
	char path[PATH_MAX];
	queue_path(ctx->cfg->data_dir, "env", id, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsutil_write_all(fd, text, len);
	if (r == 0)
		r = fdatasync(fd);
	close(fd);
	return r;
}

static int
flush_one(const struct admin_ctx *ctx, const char *id)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "flush\t%lld\n",
			 (long long)time(NULL));
	return append_env(ctx, id, line, (size_t)n);
}

/* each_id - fn on every queued message; how many it did. */
static size_t
each_id(const struct admin_ctx *ctx,
	int (*fn)(const struct admin_ctx *ctx, const char *id))
{
	size_t n, done = 0;
	char **ids = queue_ids(ctx->cfg->data_dir, &n);

	for (size_t i = 0; i < n; i++)
		if (fn(ctx, ids[i]) == 0)
			done++;
	queue_ids_free(ids, n);
	return done;
}

/* fail_errno - the failure for a file operation on message id. */
static int
fail_errno(struct admin_result *res, int e)
{
	return admin_fail(res, e == ENOENT ? ADMIN_NOT_FOUND : ADMIN_ERROR,
			  "%s", e == ENOENT ? "no such message" : strerror(e));
}

int
admin_queue_flush(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		  struct admin_result *res)
{
	*n_r = 0;
	if (id == NULL) {
		*n_r = each_id(ctx, flush_one);
		res->queue_changed = true;
		return 0;
	}
	if (!admin_valid_queue_id(id))
		return admin_fail(res, ADMIN_INVALID, MALFORMED);
	if (flush_one(ctx, id) < 0)
		return fail_errno(res, errno);
	*n_r = 1;
	res->queue_changed = true;
	return 0;
}

static int
delete_one(const struct admin_ctx *ctx, const char *id)
{
	char path[PATH_MAX];
	/* env/ first: without it the message is no longer queued. */
	queue_path(ctx->cfg->data_dir, "env", id, path, sizeof(path));
	if (unlink(path) < 0)
		return -1;
	queue_path(ctx->cfg->data_dir, "msg", id, path, sizeof(path));
	unlink(path);
	return 0;
}

int
admin_queue_delete(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		   struct admin_result *res)
{
	*n_r = 0;
	if (strcmp(id, "all") == 0) {
		*n_r = each_id(ctx, delete_one);
		res->queue_changed = true;
		return 0;
	}
	if (!admin_valid_queue_id(id))
		return admin_fail(res, ADMIN_INVALID, MALFORMED);
	if (delete_one(ctx, id) < 0)
		return fail_errno(res, errno);
	*n_r = 1;
	res->queue_changed = true;
	return 0;
}

int
admin_queue_bounce(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		   struct admin_result *res)
{
	struct queue_envelope env;

	*n_r = 0;
	if (load(ctx, id, &env, res) < 0)
		return -1;
	for (size_t i = 0; i < env.n_rcpts; i++) {
		if (env.rcpts[i].state != QUEUE_RCPT_PENDING)
			continue;
		size_t len;
		char *line = queue_envelope_format_update(
		    i, QUEUE_RCPT_FAILED, time(NULL), 0,
		    "5.0.0 returned to the sender by the postmaster", &len);
		if (append_env(ctx, id, line, len) == 0)
			(*n_r)++;
		free(line);
	}
	queue_envelope_free(&env);
	res->queue_changed = true;
	return 0;
}
