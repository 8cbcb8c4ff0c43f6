/*
 * admin_badmail - the dead letters in data_dir/badmail/: each message ID
 * has ID.reason beside it (why it is there) and, when it came from the
 * queue, ID.env (its envelope, linked there by queue/dispose.c), which is
 * what lets `resend` put it back into the queue as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_ops.h"
#include "conf/config.h"
#include "queue/queue.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

/* A reason file is a few lines; more is cut. */
#define REASON_MAX (64 * 1024)
#define ENV_MAX	   (16 * 1024 * 1024)

/* path_of - data_dir/badmail/ID[suffix]. */
static void
path_of(const struct admin_ctx *ctx, const char *id, const char *suffix,
	char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/badmail/%s%s", ctx->cfg->data_dir, id,
		 suffix);
}

/* fill - the item for id, or -1 (no such dead letter). */
static int
fill(const struct admin_ctx *ctx, const char *id, struct admin_badmail *it)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len;
	bool more;

	memset(it, 0, sizeof(*it));
	path_of(ctx, id, "", path, sizeof(path));
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	snprintf(it->id, sizeof(it->id), "%s", id);
	it->size = (uint64_t)st.st_size;
	it->mtime = st.st_mtime;
	path_of(ctx, id, ".reason", path, sizeof(path));
	it->reason = fsutil_read_head(path, REASON_MAX, &len, &more);
	if (it->reason == NULL)
		it->reason = xstrdup("");
	path_of(ctx, id, ".env", path, sizeof(path));
	it->requeue = access(path, F_OK) == 0;
	return 0;
}

void
admin_badmail_free(struct admin_badmail *item)
{
	free(item->reason);
	item->reason = NULL;
}

static int
newest_first(const void *a, const void *b)
{
	const struct admin_badmail *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(y->id, x->id);
}

int
admin_badmail_list(const struct admin_ctx *ctx, struct admin_badmail_list *out,
		   struct admin_result *res)
{
	char dir[PATH_MAX];
	size_t cap = 0;
	DIR *d;
	struct dirent *de;

	out->n = 0;
	out->items = NULL;
	snprintf(dir, sizeof(dir), "%s/badmail", ctx->cfg->data_dir);
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		return admin_fail(res, ADMIN_ERROR, "%s: %s", dir,
				  strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		/* The messages: names without a dot (ids). */
		if (!admin_valid_queue_id(de->d_name))
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 16;
			out->items =
			    xrealloc(out->items, cap * sizeof(*out->items));
		}
		if (fill(ctx, de->d_name, &out->items[out->n]) == 0)
			out->n++;
	}
	closedir(d);
	if (out->n > 0)
		qsort(out->items, out->n, sizeof(*out->items), newest_first);
	return 0;
}

void
admin_badmail_list_free(struct admin_badmail_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		admin_badmail_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* find - a valid id naming a dead letter, or the failure. */
static int
find(const struct admin_ctx *ctx, const char *id, struct admin_badmail *it,
     struct admin_result *res)
{
	if (!admin_valid_queue_id(id))
		return admin_fail(res, ADMIN_INVALID, "malformed id");
	if (fill(ctx, id, it) < 0)
		return admin_fail(res, ADMIN_NOT_FOUND, "no such dead letter");
	return 0;
}

int
admin_badmail_show(const struct admin_ctx *ctx, const char *id,
		   struct admin_badmail *item_r, char **msg_r, size_t *len_r,
		   size_t max, bool *truncated_r, struct admin_result *res)
{
	char path[PATH_MAX];

	*msg_r = NULL;
	*len_r = 0;
	*truncated_r = false;
	if (find(ctx, id, item_r, res) < 0)
		return -1;
	path_of(ctx, id, "", path, sizeof(path));
	*msg_r = fsutil_read_head(path, max, len_r, truncated_r);
	return 0;
}

/* remove_all - ID, ID.reason, ID.env out of badmail/. */
static void
remove_all(const struct admin_ctx *ctx, const char *id)
{
	static const char *const suffixes[] = {".reason", ".env", ""};
	char path[PATH_MAX];

	for (size_t i = 0; i < 3; i++) {
		path_of(ctx, id, suffixes[i], path, sizeof(path));
		unlink(path);
	}
}

/* fsync_path - open and fsync a file or directory. */
static int
fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

/* place_message - badmail/ID as queue/msg/ID (a link, else a copy). */
static int
place_message(const char *from, const char *to)
{
	unlink(to); /* debris of an unfinished earlier attempt */
	if (link(from, to) == 0)
		return 0;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r = in >= 0 && out >= 0 ? fsutil_copy_fd(in, out) : -1;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return r;
}

/* write_env - env/ID.tmp, fsync, rename to env/ID: the commit marker. */
static int
write_env(const struct admin_ctx *ctx, const struct queue_envelope *env)
{
	char tmp[PATH_MAX], path[PATH_MAX], name[QUEUE_ID_MAX + 8];
	size_t len;
	char *text = queue_envelope_format(env, &len);
	int r = -1;

	snprintf(name, sizeof(name), "%s.tmp", env->id);
	queue_path(ctx->cfg->data_dir, "env", name, tmp, sizeof(tmp));
	queue_path(ctx->cfg->data_dir, "env", env->id, path, sizeof(path));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && fsutil_write_all(fd, text, len) == 0 && fsync(fd) == 0)
		r = 0;
	if (fd >= 0)
		close(fd);
	if (r == 0)
		r = rename(tmp, path);
	if (r < 0)
		unlink(tmp);
	free(text);
	return r;
}

/*
 * requeue - back into the queue under its own id (so `grep ID` in the
 * log tells the whole story), with every recipient not yet delivered
 * pending again and a fresh queue_lifetime (arrival = now).
 */
static int
requeue(const struct admin_ctx *ctx, const char *id, struct admin_result *res)
{
	char path[PATH_MAX], msg[PATH_MAX], env_path[PATH_MAX], err[256];
	struct queue_envelope old, env;
	size_t len;
	int r = -1;

	path_of(ctx, id, ".env", path, sizeof(path));
	char *text = fsutil_read_file(path, ENV_MAX, &len);
	if (text == NULL)
		return admin_fail(res, ADMIN_ERROR, "%s: %s", path,
				  strerror(errno));
	if (queue_envelope_parse(text, len, &old, err, sizeof(err)) < 0) {
		free(text);
		return admin_fail(res, ADMIN_ERROR, "%s: %s", path, err);
	}
	free(text);
	memset(&env, 0, sizeof(env));
	snprintf(env.id, sizeof(env.id), "%s", old.id);
	env.arrival = time(NULL);
	env.size = old.size;
	env.client = xstrdup(old.client ? old.client : "");
	env.helo = xstrdup(old.helo ? old.helo : "");
	env.sender = xstrdup(old.sender ? old.sender : "");
	for (size_t i = 0; i < old.n_rcpts; i++) {
		const struct queue_rcpt *rc = &old.rcpts[i];
		if (rc->state != QUEUE_RCPT_DONE)
			queue_envelope_add_rcpt(&env, rc->address, rc->orcpt,
						rc->local, rc->domain,
						rc->localpart);
	}
	queue_path(ctx->cfg->data_dir, "msg", id, msg, sizeof(msg));
	queue_path(ctx->cfg->data_dir, "env", id, env_path, sizeof(env_path));
	path_of(ctx, id, "", path, sizeof(path));
	if (env.n_rcpts == 0) {
		admin_fail(res, ADMIN_CONFLICT,
			   "every recipient of %s was delivered", id);
	} else if (strcmp(env.id, id) != 0) {
		admin_fail(res, ADMIN_ERROR, "%s.env is for %s", id, env.id);
	} else if (access(env_path, F_OK) == 0) {
		admin_fail(res, ADMIN_CONFLICT, "%s is in the queue already",
			   id);
	} else if (place_message(path, msg) < 0 || fsync_path(msg) < 0) {
		admin_fail(res, ADMIN_ERROR, "cannot queue %s: %s", id,
			   strerror(errno));
		unlink(msg);
	} else {
		/* The message is durable before the marker that names it. */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/queue/msg", ctx->cfg->data_dir);
		fsutil_fsync_dir(dir);
		if (write_env(ctx, &env) < 0) {
			admin_fail(res, ADMIN_ERROR, "cannot queue %s: %s", id,
				   strerror(errno));
			unlink(msg);
		} else {
			snprintf(dir, sizeof(dir), "%s/queue/env",
				 ctx->cfg->data_dir);
			fsutil_fsync_dir(dir);
			remove_all(ctx, id);
			res->queue_changed = true;
			r = 0;
		}
	}
	queue_envelope_free(&old);
	queue_envelope_free(&env);
	return r;
}

/* to_pickup - a pickup file that failed goes back to be read again. */
static int
to_pickup(const struct admin_ctx *ctx, const char *id, struct admin_result *res)
{
	char from[PATH_MAX], to[PATH_MAX];

	path_of(ctx, id, "", from, sizeof(from));
	snprintf(to, sizeof(to), "%s/pickup/badmail-%s", ctx->cfg->data_dir,
		 id);
	if (rename(from, to) < 0)
		return admin_fail(res, ADMIN_ERROR, "cannot move %s to %s: %s",
				  from, to, strerror(errno));
	remove_all(ctx, id);
	return 0;
}

int
admin_badmail_resend(const struct admin_ctx *ctx, const char *id,
		     struct admin_result *res)
{
	struct admin_badmail it;
	int r;

	if (find(ctx, id, &it, res) < 0)
		return -1;
	r = it.requeue ? requeue(ctx, id, res) : to_pickup(ctx, id, res);
	admin_badmail_free(&it);
	return r;
}

int
admin_badmail_delete(const struct admin_ctx *ctx, const char *id,
		     struct admin_result *res)
{
	struct admin_badmail it;

	if (find(ctx, id, &it, res) < 0)
		return -1;
	admin_badmail_free(&it);
	remove_all(ctx, id);
	return 0;
}
