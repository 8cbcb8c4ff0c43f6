/*
 * cli_directory - `petrel domain|user|alias ...`: the admin side of the
 * directory (src/store/directory.h).
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
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf/config.h"
#include "store/directory.h"

/* fail - print "petrel: reason" and return status. */
static int __attribute__((format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
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

/* open_directory - data_dir/directory.db, created if missing. */
static struct directory *
open_directory(const struct config *cfg)
{
	struct directory *dir;
	char err[512];

	if (mkdir_p(cfg->data_dir) < 0) {
		fail(1, "cannot create data_dir %s: %s", cfg->data_dir,
		     strerror(errno));
		return NULL;
	}
	dir = directory_open(cli_data_path(cfg, "directory.db"), true, err,
			     sizeof(err));
	if (dir == NULL)
		fail(1, "%s", err);
	return dir;
}

/* print_row - a listing line: "a" or "a: b". */
static void
print_row(const char *a, const char *b, void *arg)
{
	(void)arg;
	if (b != NULL)
		printf("%s: %s\n", a, b);
	else
		printf("%s\n", a);
}

/*
 * read_password - one line from standard input, without its line end.
 * Never from argv: arguments are visible to every user in ps.
 */
static char *
read_password(size_t *cap_r)
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

/* known_domain - for `list DOMAIN`: 0 if hosted, else the exit status. */
static int
known_domain(struct directory *dir, const char *domain)
{
	int r = directory_is_local_domain(dir, domain);

	if (r < 0)
		return fail(1, "cannot read the directory");
	if (r == 0)
		return fail(1, "unknown domain %s", domain);
	return 0;
}

/* finish - close, and turn a directory call's result into a status. */
static int
finish(struct directory **dirp, int r, const char *err)
{
	directory_close(dirp);
	return r < 0 ? fail(1, "%s", err) : 0;
}

int
cli_domain(const struct config *cfg, int argc, char **argv)
{
	struct directory *dir;
	char err[512] = "cannot read the directory";
	int r;

	if (!((argc == 2 &&
	       (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0)) ||
	      (argc == 1 && strcmp(argv[0], "list") == 0)))
		return fail(2, "usage: petrel domain add|del DOMAIN | "
			       "domain list");
	if ((dir = open_directory(cfg)) == NULL)
		return 1;
	if (strcmp(argv[0], "add") == 0)
		r = directory_domain_add(dir, argv[1], err, sizeof(err));
	else if (strcmp(argv[0], "del") == 0)
		r = directory_domain_del(dir, argv[1], err, sizeof(err));
	else
		r = directory_domain_list(dir, print_row, NULL);
	return finish(&dir, r, err);
}

/* print_quota - "none", or the size in the largest unit that divides it. */
static void
print_quota(uint64_t bytes)
{
	static const char units[] = "kmg";
	int u = -1;

	if (bytes == 0) {
		printf("none\n");
		return;
	}
	while (u < 2 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		printf("%" PRIu64 "\n", bytes);
	else
		printf("%" PRIu64 "%c\n", bytes, units[u]);
}

int
cli_user(const struct config *cfg, int argc, char **argv)
{
	struct directory *dir;
	char err[512] = "cannot read the directory";
	const char *sub = argc > 0 ? argv[0] : "";
	bool needs_password =
	    strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0;
	char *password = NULL;
	size_t cap = 0;
	int r;

	uint64_t quota = 0;

	if (!((argc == 2 && (needs_password || strcmp(sub, "del") == 0)) ||
	      ((argc == 2 || argc == 3) && strcmp(sub, "quota") == 0) ||
	      ((argc == 1 || argc == 2) && strcmp(sub, "list") == 0)))
		return fail(2, "usage: petrel user add|passwd|del ADDRESS | "
			       "user quota ADDRESS [SIZE|none] | "
			       "user list [DOMAIN]");
	if (argc == 3 && strcmp(argv[2], "none") != 0 &&
	    config_parse_size(argv[2], &quota) < 0)
		return fail(2, "bad size '%s' (e.g. 500m, 2g, none)", argv[2]);
	if (needs_password) {
		password = read_password(&cap);
		if (password == NULL)
			return fail(1, "no password on standard input");
		if (password[0] == '\0') {
			free(password);
			return fail(1, "empty password");
		}
	}
	if ((dir = open_directory(cfg)) == NULL) {
		r = 1;
		goto out;
	}
	if (strcmp(sub, "add") == 0) {
		r = directory_user_add(dir, argv[1], password, err,
				       sizeof(err));
	} else if (strcmp(sub, "passwd") == 0) {
		r = directory_user_passwd(dir, argv[1], password, err,
					  sizeof(err));
	} else if (strcmp(sub, "del") == 0) {
		r = directory_user_del(dir, argv[1], err, sizeof(err));
	} else if (strcmp(sub, "quota") == 0 && argc == 3) {
		r = directory_user_quota_set(dir, argv[1], quota, err,
					     sizeof(err));
	} else if (strcmp(sub, "quota") == 0) {
		r = directory_user_quota(dir, argv[1], &quota);
		if (r > 0) {
			print_quota(quota);
			r = 0;
		} else if (r == 0) {
			snprintf(err, sizeof(err), "unknown user %s", argv[1]);
			r = -1;
		}
	} else if (argc == 2 && known_domain(dir, argv[1]) != 0) {
		directory_close(&dir);
		r = 1;
		goto out;
	} else {
		r = directory_user_list(dir, argc == 2 ? argv[1] : NULL,
					print_row, NULL);
	}
	r = finish(&dir, r, err);
out:
	if (password != NULL) {
		explicit_bzero(password, cap);
		free(password);
	}
	return r;
}

int
cli_alias(const struct config *cfg, int argc, char **argv)
{
	struct directory *dir;
	char err[512] = "cannot read the directory";
	const char *sub = argc > 0 ? argv[0] : "";
	int r;

	if (!((argc >= 3 && strcmp(sub, "add") == 0) ||
	      (argc == 2 && strcmp(sub, "del") == 0) ||
	      ((argc == 1 || argc == 2) && strcmp(sub, "list") == 0)))
		return fail(2, "usage: petrel alias add ADDRESS TARGET... | "
			       "alias del ADDRESS | alias list [DOMAIN]");
	if ((dir = open_directory(cfg)) == NULL)
		return 1;
	if (strcmp(sub, "add") == 0) {
		r = directory_alias_add(dir, argv[1],
					(const char *const *)(argv + 2),
					(size_t)argc - 2, err, sizeof(err));
	} else if (strcmp(sub, "del") == 0) {
		r = directory_alias_del(dir, argv[1], err, sizeof(err));
	} else if (argc == 2 && known_domain(dir, argv[1]) != 0) {
		directory_close(&dir);
		return 1;
	} else {
		r = directory_alias_list(dir, argc == 2 ? argv[1] : NULL,
					 print_row, NULL);
	}
	return finish(&dir, r, err);
}
