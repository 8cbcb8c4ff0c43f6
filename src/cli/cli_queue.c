/*
 * cli_queue - `petrel queue list|show|delete`: read and edit the queue
 * folders directly, so they work whether or not the server runs (the
 * server's queue runner re-reads env/ on every pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "queue/queue.h"
#include "util/fsutil.h"

/* format_age - "42s", "5m", "3h", "2d". */
static void
format_age(time_t secs, char *out, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(out, len, "%lldm", (long long)secs / 60);
	else if (secs < 172800)
		snprintf(out, len, "%lldh", (long long)secs / 3600);
	else
		snprintf(out, len, "%lldd", (long long)secs / 86400);
}

static int
queue_list(const struct config *cfg)
{
	size_t n, shown = 0;
	char **ids = queue_ids(cfg->data_dir, &n);
	time_t now = time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct queue_envelope env;
		char err[256], age[32];
		if (queue_load(cfg->data_dir, ids[i], &env, err, sizeof(err)) <
		    0)
			continue; /* delivered and removed meanwhile */
		if (queue_envelope_pending(&env) == 0) {
			queue_envelope_free(&env);
			continue;
		}
		format_age(now - env.arrival, age, sizeof(age));
		printf("%-18s %8" PRIu64 " %5s  <%s>\n", env.id, env.size, age,
		       env.sender);
		for (size_t r = 0; r < env.n_rcpts; r++) {
			const struct queue_rcpt *rc = &env.rcpts[r];
			if (rc->state != QUEUE_RCPT_PENDING)
				continue;
			printf("    <%s>%s%s%s\n", rc->address,
			       rc->last_error ? " (" : "",
			       rc->last_error ? rc->last_error : "",
			       rc->last_error ? ")" : "");
		}
		shown++;
		queue_envelope_free(&env);
	}
	queue_ids_free(ids, n);
	if (shown == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %zu message%s in queue\n", shown,
		       shown == 1 ? "" : "s");
	return 0;
}

static bool
valid_id(const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len >= QUEUE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	return true;
}

static int
queue_show(const struct config *cfg, const char *id)
{
	struct queue_envelope env;
	char err[256], path[PATH_MAX];
	static const char *const states[] = {"pending", "delivered", "failed"};

	if (!valid_id(id) ||
	    queue_load(cfg->data_dir, id, &env, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: queue show %s: %s\n", id,
			valid_id(id) ? err : "malformed queue id");
		return 1;
	}
	printf("id: %s\narrival: %lld\nsize: %" PRIu64
	       "\nclient: [%s] helo=%s\nsender: <%s>\n",
	       env.id, (long long)env.arrival, env.size, env.client, env.helo,
	       env.sender);
	/* What MAIL asked for (issue 9), only when it asked. */
	if (env.smtputf8 & QUEUE_UTF8_REQUESTED)
		printf("smtputf8: yes\n");
	if (env.body == QUEUE_BODY_BINARYMIME)
		printf("body: BINARYMIME\n");
	if (env.ret != QUEUE_RET_NONE)
		printf("ret: %s\n",
		       env.ret == QUEUE_RET_FULL ? "FULL" : "HDRS");
	if (env.envid != NULL)
		printf("envid: %s\n", env.envid);
	if (env.warned != 0)
		printf("delay notice sent: %lld\n", (long long)env.warned);
	for (size_t r = 0; r < env.n_rcpts; r++) {
		const struct queue_rcpt *rc = &env.rcpts[r];
		char notify[64];
		queue_notify_format(rc->notify, notify, sizeof(notify));
		printf("recipient: <%s> %s, attempts %u%s%s%s%s%s%s%s\n",
		       rc->address, states[rc->state], rc->attempts,
		       rc->last_error ? " (" : "",
		       rc->last_error ? rc->last_error : "",
		       rc->last_error ? ")" : "", notify[0] ? " notify=" : "",
		       notify, rc->dsn_orcpt ? " orcpt=" : "",
		       rc->dsn_orcpt ? rc->dsn_orcpt : "");
	}
	queue_envelope_free(&env);
	/* Then the message itself. */
	queue_path(cfg->data_dir, "msg", id, path, sizeof(path));
	size_t len;
	char *text = fsutil_read_file(path, 64 << 20, &len);
	if (text != NULL) {
		printf("\n");
		fwrite(text, 1, len, stdout);
		free(text);
	}
	return 0;
}

static int
delete_one(const struct config *cfg, const char *id)
{
	char path[PATH_MAX];
	queue_path(cfg->data_dir, "env", id, path, sizeof(path));
	if (unlink(path) < 0)
		return -1;
	queue_path(cfg->data_dir, "msg", id, path, sizeof(path));
	unlink(path);
	return 0;
}

static int
queue_delete(const struct config *cfg, const char *id)
{
	if (strcmp(id, "all") == 0) {
		size_t n;
		char **ids = queue_ids(cfg->data_dir, &n);
		size_t deleted = 0;
		for (size_t i = 0; i < n; i++)
			if (delete_one(cfg, ids[i]) == 0)
				deleted++;
		queue_ids_free(ids, n);
		printf("deleted %zu message%s\n", deleted,
		       deleted == 1 ? "" : "s");
		return 0;
	}
	if (!valid_id(id)) {
		fprintf(stderr, "petrel: queue delete %s: malformed queue id\n",
			id);
		return 1;
	}
	if (delete_one(cfg, id) < 0) {
		fprintf(stderr, "petrel: queue delete %s: %s\n", id,
			errno == ENOENT ? "no such message" : strerror(errno));
		return 1;
	}
	printf("deleted %s\n", id);
	return 0;
}

/*
 * notify_server - tell a running server (data_dir/petrel.pid) to re-read
 * the queue now; without one the change waits for the next start.
 */
static void
notify_server(const struct config *cfg)
{
	char path[PATH_MAX];
	size_t len;
	snprintf(path, sizeof(path), "%s/petrel.pid", cfg->data_dir);
	char *text = fsutil_read_file(path, 64, &len);
	if (text == NULL)
		return;
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid > 1)
		kill((pid_t)pid, SIGUSR1);
}

/* append_env - add state lines to env/ID (the queue's record). */
static int
append_env(const struct config *cfg, const char *id, const char *text,
	   size_t len)
{
	char path[PATH_MAX];
	queue_path(cfg->data_dir, "env", id, path, sizeof(path));
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
flush_one(const struct config *cfg, const char *id)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "flush\t%lld\n",
			 (long long)time(NULL));
	return append_env(cfg, id, line, (size_t)n);
}

static int
queue_flush(const struct config *cfg, const char *id)
{
	if (id == NULL) {
		size_t n, done = 0;
		char **ids = queue_ids(cfg->data_dir, &n);
		for (size_t i = 0; i < n; i++)
			if (flush_one(cfg, ids[i]) == 0)
				done++;
		queue_ids_free(ids, n);
		notify_server(cfg);
		printf("flushed %zu message%s\n", done, done == 1 ? "" : "s");
		return 0;
	}
	if (!valid_id(id) || flush_one(cfg, id) < 0) {
		fprintf(stderr, "petrel: queue flush %s: %s\n", id,
			!valid_id(id)	  ? "malformed queue id"
			: errno == ENOENT ? "no such message"
					  : strerror(errno));
		return 1;
	}
	notify_server(cfg);
	printf("flushed %s\n", id);
	return 0;
}

/* queue_bounce - every pending recipient fails now: a DSN follows. */
static int
queue_bounce(const struct config *cfg, const char *id)
{
	struct queue_envelope env;
	char err[256];
	if (!valid_id(id) ||
	    queue_load(cfg->data_dir, id, &env, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: queue bounce %s: %s\n", id,
			valid_id(id) ? err : "malformed queue id");
		return 1;
	}
	size_t n = 0;
	for (size_t i = 0; i < env.n_rcpts; i++) {
		if (env.rcpts[i].state != QUEUE_RCPT_PENDING)
			continue;
		size_t len;
		char *line = queue_envelope_format_update(
		    i, QUEUE_RCPT_FAILED, time(NULL), 0,
		    "5.0.0 returned to the sender by the postmaster", &len);
		if (append_env(cfg, id, line, len) == 0)
			n++;
		free(line);
	}
	queue_envelope_free(&env);
	notify_server(cfg);
	printf("bounced %zu recipient%s of %s\n", n, n == 1 ? "" : "s", id);
	return 0;
}

int
cli_queue(const struct config *cfg, int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return queue_list(cfg);
	if (argc == 2 && strcmp(argv[0], "show") == 0)
		return queue_show(cfg, argv[1]);
	if (argc == 2 && strcmp(argv[0], "delete") == 0)
		return queue_delete(cfg, argv[1]);
	if ((argc == 1 || argc == 2) && strcmp(argv[0], "flush") == 0)
		return queue_flush(cfg, argc == 2 ? argv[1] : NULL);
	if (argc == 2 && strcmp(argv[0], "bounce") == 0)
		return queue_bounce(cfg, argv[1]);
	fprintf(stderr, "petrel: usage: queue list | show ID | flush [ID] | "
			"delete ID|all | bounce ID\n");
	return 2;
}
