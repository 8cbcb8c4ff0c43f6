/*
 * cli_admin - `petrel admin ...`: who may use the web admin.
 *
 *   admin add|passwd ADDRESS    (password: one line on standard input)
 *   admin del ADDRESS           admin list
 *   admin token add NAME        prints the new token, once
 *   admin token del NAME        admin token list   ("NAME  created ...")
 *
 * Administrators are accounts of their own, apart from mail users. A
 * token authenticates API calls (Authorization: Bearer TOKEN); only its
 * hash is kept, so a lost token is deleted and a new one made.
 */
#include <stdio.h>
#include <string.h>

#include "admin/admin_ops.h"
#include "cli/cli.h"

static void
print_line(const char *a, void *arg)
{
	(void)arg;
	printf("%s\n", a);
}

static void
print_token(const char *name, const char *created, void *arg)
{
	(void)arg;
	printf("%s\tcreated %s\n", name, created);
}

static int
token(const struct config *cfg, int argc, char **argv)
{
	struct admin_ctx ctx = {cfg, NULL};
	struct admin_result res = {0};
	char tok[ADMIN_TOKEN_LEN + 1];
	int r;

	if (!((argc == 2 &&
	       (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0)) ||
	      (argc == 1 && strcmp(argv[0], "list") == 0)))
		return cli_fail(2, "usage: petrel admin token add|del NAME | "
				   "admin token list");
	if ((ctx.dir = cli_open_directory(cfg)) == NULL)
		return 1;
	if (strcmp(argv[0], "add") == 0) {
		r = admin_token_add(&ctx, argv[1], tok, &res);
		if (r == 0) {
			/* Shown this once: only its hash is kept. */
			printf("%s\n", tok);
			explicit_bzero(tok, sizeof(tok));
		}
	} else if (strcmp(argv[0], "del") == 0) {
		r = admin_token_del(&ctx, argv[1], &res);
	} else {
		r = admin_token_list(&ctx, print_token, NULL, &res);
	}
	return cli_finish(&ctx.dir, r, &res);
}

int
cli_admin(const struct config *cfg, int argc, char **argv)
{
	struct admin_ctx ctx = {cfg, NULL};
	struct admin_result res = {0};
	const char *sub = argc > 0 ? argv[0] : "";
	bool needs_password =
	    strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0;
	char *password = NULL;
	size_t cap = 0;
	int r;

	if (argc >= 1 && strcmp(sub, "token") == 0)
		return token(cfg, argc - 1, argv + 1);
	if (!((argc == 2 && (needs_password || strcmp(sub, "del") == 0)) ||
	      (argc == 1 && strcmp(sub, "list") == 0)))
		return cli_fail(2,
				"usage: petrel admin add|passwd|del ADDRESS | "
				"admin list | admin token add|del NAME | "
				"admin token list");
	if (needs_password) {
		password = cli_read_password(&cap);
		if (password == NULL)
			return cli_fail(1, "no password on standard input");
	}
	if ((ctx.dir = cli_open_directory(cfg)) == NULL) {
		cli_free_password(password, cap);
		return 1;
	}
	if (strcmp(sub, "add") == 0)
		r = admin_account_add(&ctx, argv[1], password, &res);
	else if (strcmp(sub, "passwd") == 0)
		r = admin_account_passwd(&ctx, argv[1], password, &res);
	else if (strcmp(sub, "del") == 0)
		r = admin_account_del(&ctx, argv[1], &res);
	else
		r = admin_account_list(&ctx, print_line, NULL, &res);
	cli_free_password(password, cap);
	return cli_finish(&ctx.dir, r, &res);
}
