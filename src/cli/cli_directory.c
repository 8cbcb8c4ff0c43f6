/*
 * cli_directory - `petrel domain|user|alias ...`: the admin side of the
 * directory, through admin/admin_ops.h (as the web admin does).
 *
 *   domain add|del DOMAIN       domain list
 *   user add|passwd ADDRESS     (password: one line on standard input)
 *   user del ADDRESS            user list [DOMAIN]
 *   user quota ADDRESS [SIZE|none]  (without SIZE: print it)
 *   alias add ADDRESS TARGET... alias del ADDRESS   alias list [DOMAIN]
 *
 * Listings print one item per line, sorted: a domain; a user's address;
 * for an alias "ADDRESS: TARGET1, TARGET2" (a catch-all's ADDRESS is
 * "@domain"). Exit 0 on success, 1 on an error, 2 on a usage error, each
 * error being exactly one "petrel: reason" line on stderr.
 *
 * `user del` removes the account, not the mailbox under mail/: mail is
 * never thrown away by an admin command.
 */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/config.h"
#include "admin/admin_ops.h"
#include "store/directory.h"

int
cli_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("petrel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

const char *
cli_data_path(const struct config *cfg, const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, name);
	return path;
}

/* mkdir_p - create dir and its missing parents, mode 0700. */
static int
mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

struct directory *
cli_open_directory(const struct config *cfg)
{
	struct directory *dir;
	char err[512];

	if (mkdir_p(cfg->data_dir) < 0) {
		cli_fail(1, "cannot create data_dir %s: %s", cfg->data_dir,
			 strerror(errno));
		return NULL;
	}
	dir = directory_open(cli_data_path(cfg, "directory.db"), true, err,
			     sizeof(err));
	if (dir == NULL)
		cli_fail(1, "%s", err);
	return dir;
}

/* print_line - a listing line. */
static void
print_line(const char *a, void *arg)
{
	(void)arg;
	printf("%s\n", a);
}

char *
cli_read_password(size_t *cap_r)
{
	char *line = NULL;
	ssize_t n;

	*cap_r = 0;
	n = getline(&line, cap_r, stdin);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	return line;
}

void
cli_free_password(char *password, size_t cap)
{
	if (password == NULL)
		return;
	explicit_bzero(password, cap);
	free(password);
}

int
cli_finish(struct directory **dirp, int r, const struct admin_result *res)
{
	directory_close(dirp);
	return r < 0 ? cli_fail(1, "%s", res->error) : 0;
}

int
cli_domain(const struct config *cfg, int argc, char **argv)
{
	struct admin_result res = {0};
	struct admin_ctx ctx = {cfg, NULL};
	int r;

	if (!((argc == 2 &&
	       (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0)) ||
	      (argc == 1 && strcmp(argv[0], "list") == 0)))
		return cli_fail(2, "usage: petrel domain add|del DOMAIN | "
				   "domain list");
	if ((ctx.dir = cli_open_directory(cfg)) == NULL)
		return 1;
	if (strcmp(argv[0], "add") == 0)
		r = admin_domain_add(&ctx, argv[1], &res);
	else if (strcmp(argv[0], "del") == 0)
		r = admin_domain_del(&ctx, argv[1], &res);
	else
		r = admin_domain_list(&ctx, print_line, NULL, &res);
	return cli_finish(&ctx.dir, r, &res);
}

static void
print_user(const char *address, uint64_t quota, void *arg)
{
	(void)quota;
	(void)arg;
	printf("%s\n", address);
}

int
cli_user(const struct config *cfg, int argc, char **argv)
{
	struct admin_result res = {0};
	struct admin_ctx ctx = {cfg, NULL};
	const char *sub = argc > 0 ? argv[0] : "";
	bool needs_password =
	    strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0;
	char *password = NULL;
	size_t cap = 0;
	uint64_t quota = 0;
	int r;

	if (!((argc == 2 && (needs_password || strcmp(sub, "del") == 0)) ||
	      ((argc == 2 || argc == 3) && strcmp(sub, "quota") == 0) ||
	      ((argc == 1 || argc == 2) && strcmp(sub, "list") == 0)))
		return cli_fail(2,
				"usage: petrel user add|passwd|del ADDRESS | "
				"user quota ADDRESS [SIZE|none] | "
				"user list [DOMAIN]");
	if (argc == 3 && strcmp(argv[2], "none") != 0 &&
	    config_parse_size(argv[2], &quota) < 0)
		return cli_fail(2, "bad size '%s' (e.g. 500m, 2g, none)",
				argv[2]);
	if (needs_password) {
		password = cli_read_password(&cap);
		if (password == NULL)
			return cli_fail(1, "no password on standard input");
		if (password[0] == '\0') {
			free(password);
			return cli_fail(1, "empty password");
		}
	}
	if ((ctx.dir = cli_open_directory(cfg)) == NULL) {
		cli_free_password(password, cap);
		return 1;
	}
	if (strcmp(sub, "add") == 0) {
		r = admin_user_add(&ctx, argv[1], password, &res);
	} else if (strcmp(sub, "passwd") == 0) {
		r = admin_user_passwd(&ctx, argv[1], password, &res);
	} else if (strcmp(sub, "del") == 0) {
		r = admin_user_del(&ctx, argv[1], &res);
	} else if (strcmp(sub, "quota") == 0 && argc == 3) {
		r = admin_user_quota_set(&ctx, argv[1], quota, &res);
	} else if (strcmp(sub, "quota") == 0) {
		r = admin_user_quota_get(&ctx, argv[1], &quota, &res);
		if (r == 0) {
			char text[32];
			admin_format_quota(quota, text, sizeof(text));
			printf("%s\n", text);
		}
	} else {
		r = admin_user_list(&ctx, argc == 2 ? argv[1] : NULL, false,
				    print_user, NULL, &res);
	}
	cli_free_password(password, cap);
	return cli_finish(&ctx.dir, r, &res);
}

/* print_alias - "ADDRESS: TARGET1, TARGET2". */
static void
print_alias(const char *address, const char *const *targets, size_t n,
	    void *arg)
{
	(void)arg;
	printf("%s:", address);
	for (size_t i = 0; i < n; i++)
		printf("%s %s", i > 0 ? "," : "", targets[i]);
	printf("\n");
}

int
cli_alias(const struct config *cfg, int argc, char **argv)
{
	struct admin_result res = {0};
	struct admin_ctx ctx = {cfg, NULL};
	const char *sub = argc > 0 ? argv[0] : "";
	int r;

	if (!((argc >= 3 && strcmp(sub, "add") == 0) ||
	      (argc == 2 && strcmp(sub, "del") == 0) ||
	      ((argc == 1 || argc == 2) && strcmp(sub, "list") == 0)))
		return cli_fail(2,
				"usage: petrel alias add ADDRESS TARGET... | "
				"alias del ADDRESS | alias list [DOMAIN]");
	if ((ctx.dir = cli_open_directory(cfg)) == NULL)
		return 1;
	if (strcmp(sub, "add") == 0)
		r = admin_alias_add(&ctx, argv[1],
				    (const char *const *)(argv + 2),
				    (size_t)argc - 2, &res);
	else if (strcmp(sub, "del") == 0)
		r = admin_alias_del(&ctx, argv[1], &res);
	else
		r = admin_alias_list(&ctx, argc == 2 ? argv[1] : NULL,
				     print_alias, NULL, &res);
	return cli_finish(&ctx.dir, r, &res);
}
