/*
 * cli_queue - `petrel queue list|show|flush|delete|bounce`, through
 * admin/admin_ops.h (as the web admin does). They work on the queue
 * folders whether or not the server runs; a running one is told to
 * re-read the queue with SIGUSR1 (its pid is in data_dir/petrel.pid).
 */
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_ops.h"
#include "cli/cli.h"
#include "conf/config.h"
#include "util/fsutil.h"

/* The most of a message `queue show` prints (larger: none of it). */
#define SHOW_MAX (64u << 20)

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

/* error_suffix - " (text)" for a last error, or "". */
static void
print_error(const char *text)
{
	if (text != NULL)
		printf(" (%s)", text);
}

static int
queue_list(const struct admin_ctx *ctx)
{
	struct admin_queue_list l;
	struct admin_result res = {0};
	time_t now = time(NULL);

	admin_queue_list(ctx, &l, &res);
	for (size_t i = 0; i < l.n; i++) {
		const struct queue_envelope *env = &l.items[i];
		char age[32];
		format_age(now - env->arrival, age, sizeof(age));
		printf("%-18s %8" PRIu64 " %5s  <%s>\n", env->id, env->size,
		       age, env->sender);
		for (size_t r = 0; r < env->n_rcpts; r++) {
			const struct queue_rcpt *rc = &env->rcpts[r];
			if (rc->state != QUEUE_RCPT_PENDING)
				continue;
			printf("    <%s>", rc->address);
			print_error(rc->last_error);
			printf("\n");
		}
	}
	if (l.n == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %zu message%s in queue\n", l.n, l.n == 1 ? "" : "s");
	admin_queue_list_free(&l);
	return 0;
}

static int
queue_show(const struct admin_ctx *ctx, const char *id)
{
	static const char *const states[] = {"pending", "delivered", "failed"};
	struct admin_result res = {0};
	struct queue_envelope env;
	char *msg;
	size_t len;
	bool truncated;

	if (admin_queue_show(ctx, id, &env, &msg, &len, SHOW_MAX, &truncated,
			     &res) < 0)
		return cli_fail(1, "queue show %s: %s", id, res.error);
	printf("id: %s\narrival: %lld\nsize: %" PRIu64
	       "\nclient: [%s] helo=%s\nsender: <%s>\n",
	       env.id, (long long)env.arrival, env.size, env.client, env.helo,
	       env.sender);
	for (size_t r = 0; r < env.n_rcpts; r++) {
		const struct queue_rcpt *rc = &env.rcpts[r];
		printf("recipient: <%s> %s, attempts %u", rc->address,
		       states[rc->state], rc->attempts);
		print_error(rc->last_error);
		printf("\n");
	}
	queue_envelope_free(&env);
	/* Then the message itself. */
	if (msg != NULL && !truncated) {
		printf("\n");
		fwrite(msg, 1, len, stdout);
	}
	free(msg);
	return 0;
}

/*
 * cli_notify_server - tell a running server (data_dir/petrel.pid) to re-read
 * the queue now; without one the change waits for the next start.
 */
void
cli_notify_server(const struct config *cfg)
{
	size_t len;
	char *text =
	    fsutil_read_file(cli_data_path(cfg, "petrel.pid"), 64, &len);
	if (text == NULL)
		return;
	long pid = strtol(text, NULL, 10);
	free(text);
	if (pid > 1)
		kill((pid_t)pid, SIGUSR1);
}

/* changed - after an action: tell the server when the queue changed. */
static void
changed(const struct admin_ctx *ctx, const struct admin_result *res)
{
	if (res->queue_changed)
		cli_notify_server(ctx->cfg);
}

static int
queue_delete(const struct admin_ctx *ctx, const char *id)
{
	struct admin_result res = {0};
	size_t n;

	if (admin_queue_delete(ctx, id, &n, &res) < 0)
		return cli_fail(1, "queue delete %s: %s", id, res.error);
	changed(ctx, &res);
	if (strcmp(id, "all") == 0)
		printf("deleted %zu message%s\n", n, n == 1 ? "" : "s");
	else
		printf("deleted %s\n", id);
	return 0;
}

static int
queue_flush(const struct admin_ctx *ctx, const char *id)
{
	struct admin_result res = {0};
	size_t n;

	if (admin_queue_flush(ctx, id, &n, &res) < 0)
		return cli_fail(1, "queue flush %s: %s", id, res.error);
	changed(ctx, &res);
	if (id == NULL)
		printf("flushed %zu message%s\n", n, n == 1 ? "" : "s");
	else
		printf("flushed %s\n", id);
	return 0;
}

/* queue_bounce - every pending recipient fails now: a DSN follows. */
static int
queue_bounce(const struct admin_ctx *ctx, const char *id)
{
	struct admin_result res = {0};
	size_t n;

	if (admin_queue_bounce(ctx, id, &n, &res) < 0)
		return cli_fail(1, "queue bounce %s: %s", id, res.error);
	changed(ctx, &res);
	printf("bounced %zu recipient%s of %s\n", n, n == 1 ? "" : "s", id);
	return 0;
}

int
cli_queue(const struct config *cfg, int argc, char **argv)
{
	struct admin_ctx ctx = {cfg, NULL};

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return queue_list(&ctx);
	if (argc == 2 && strcmp(argv[0], "show") == 0)
		return queue_show(&ctx, argv[1]);
	if (argc == 2 && strcmp(argv[0], "delete") == 0)
		return queue_delete(&ctx, argv[1]);
	if ((argc == 1 || argc == 2) && strcmp(argv[0], "flush") == 0)
		return queue_flush(&ctx, argc == 2 ? argv[1] : NULL);
	if (argc == 2 && strcmp(argv[0], "bounce") == 0)
		return queue_bounce(&ctx, argv[1]);
	fprintf(stderr, "petrel: usage: queue list | show ID | flush [ID] | "
			"delete ID|all | bounce ID\n");
	return 2;
}
