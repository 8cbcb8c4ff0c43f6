/*
 * cli_badmail - `petrel badmail ...`: the dead letters in badmail/.
 *
 *   badmail list          one line each, newest first:
 *                         ID  SIZE  AGE  first line of the reason
 *   badmail show ID       the reason, an empty line, the message
 *   badmail resend ID     back into the queue (or pickup/) for another go
 *   badmail delete ID     gone for good
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin_ops.h"
#include "cli/cli.h"

#define SHOW_MAX (64u << 20)

static int
list(const struct admin_ctx *ctx)
{
	struct admin_badmail_list l;
	struct admin_result res = {0};
	time_t now = time(NULL);

	if (admin_badmail_list(ctx, &l, &res) < 0)
		return cli_fail(1, "%s", res.error);
	for (size_t i = 0; i < l.n; i++) {
		const struct admin_badmail *b = &l.items[i];
		size_t first = strcspn(b->reason, "\n");
		printf("%-18s %8" PRIu64 " %6llds  %.*s\n", b->id, b->size,
		       (long long)(now - b->mtime), (int)first, b->reason);
	}
	if (l.n == 0)
		printf("badmail is empty\n");
	admin_badmail_list_free(&l);
	return 0;
}

static int
show(const struct admin_ctx *ctx, const char *id)
{
	struct admin_result res = {0};
	struct admin_badmail b;
	char *msg;
	size_t len;
	bool truncated;

	if (admin_badmail_show(ctx, id, &b, &msg, &len, SHOW_MAX, &truncated,
			       &res) < 0)
		return cli_fail(1, "badmail show %s: %s", id, res.error);
	fputs(b.reason, stdout);
	if (b.reason[0] != '\0' && b.reason[strlen(b.reason) - 1] != '\n')
		fputc('\n', stdout);
	if (msg != NULL && !truncated) {
		fputc('\n', stdout);
		fwrite(msg, 1, len, stdout);
	}
	free(msg);
	admin_badmail_free(&b);
	return 0;
}

int
cli_badmail(const struct config *cfg, int argc, char **argv)
{
	struct admin_ctx ctx = {cfg, NULL};
	struct admin_result res = {0};

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return list(&ctx);
	if (argc == 2 && strcmp(argv[0], "show") == 0)
		return show(&ctx, argv[1]);
	if (argc == 2 && strcmp(argv[0], "resend") == 0) {
		if (admin_badmail_resend(&ctx, argv[1], &res) < 0)
			return cli_fail(1, "badmail resend %s: %s", argv[1],
					res.error);
		if (res.queue_changed)
			cli_notify_server(cfg);
		printf("resent %s\n", argv[1]);
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "delete") == 0) {
		if (admin_badmail_delete(&ctx, argv[1], &res) < 0)
			return cli_fail(1, "badmail delete %s: %s", argv[1],
					res.error);
		printf("deleted %s\n", argv[1]);
		return 0;
	}
	return cli_fail(2, "usage: petrel badmail list | show ID | resend ID | "
			   "delete ID");
}
