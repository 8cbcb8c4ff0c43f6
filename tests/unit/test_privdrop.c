/*
 * test_privdrop - as root (here and in CI): a temporary data_dir tree is
 * handed to nobody/nogroup, links not followed; then, in forked children
 * so the test process itself stays root, privdrop_now becomes nobody for
 * good (no way back to uid 0, root's files closed, root's groups gone),
 * and a second call as non-root is a no-op. Not as root, those cases are
 * skipped with a note saying so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/privdrop.h"

#define USER  "nobody"
#define GROUP "nogroup"

struct fixture {
	char dir[64];	  /* the data_dir */
	char outside[64]; /* a root-owned tree a link points into */
	uid_t uid;	  /* nobody */
	gid_t gid;	  /* nogroup */
	gid_t user_gid;	  /* nobody's primary group */
};

/* rm_rf - remove a small test tree (links themselves, not targets). */
static void
rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char sub[512];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	if (d != NULL)
		closedir(d);
	rmdir(path);
}

static void
write_file(const char *dir, const char *name, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct passwd *pw = getpwnam(USER);
	struct group *gr = getgrnam(GROUP);

	if (fx == NULL || pw == NULL || gr == NULL) {
		free(fx);
		return -1;
	}
	fx->uid = pw->pw_uid;
	fx->user_gid = pw->pw_gid;
	fx->gid = gr->gr_gid;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/petrel-test-privdrop-XXXXXX");
	snprintf(fx->outside, sizeof(fx->outside),
		 "/tmp/petrel-test-privdrop-XXXXXX");
	if (mkdtemp(fx->dir) == NULL || mkdtemp(fx->outside) == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	rm_rf(fx->dir);
	rm_rf(fx->outside);
	free(fx);
	return 0;
}

/* skip_unless_root - these cases need root; say so plainly otherwise. */
static int
skip_unless_root(void)
{
	if (geteuid() == 0)
		return 0;
	print_message("SKIP: not running as root (euid %lu); privilege "
		      "dropping is only tested as root\n",
		      (unsigned long)geteuid());
	return 1;
}

/* make_tree - a small data_dir as the admin CLI would leave it. */
static void
make_tree(struct fixture *fx)
{
	char path[256], target[256];

	static const char *const dirs[] = {"mail",
					   "mail/example.org",
					   "mail/example.org/alice",
					   "mail/example.org/alice/new",
					   "queue",
					   "queue/tmp"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, dirs[i]);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/mail/example.org/alice/new", fx->dir);
	write_file(fx->dir, "directory.db", 0600);
	write_file(path, "1.msg", 0600);
	write_file(fx->outside, "secret", 0600);
	/* A link out of data_dir: re-owned itself, its target left alone. */
	snprintf(path, sizeof(path), "%s/link", fx->dir);
	snprintf(target, sizeof(target), "%s/secret", fx->outside);
	assert_int_equal(symlink(target, path), 0);
}

static uid_t check_uid;
static gid_t check_gid;
static int check_bad;
static int check_quiet;

static int
check_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)type;
	(void)ftw;
	if (st->st_uid != check_uid || st->st_gid != check_gid) {
		if (!check_quiet)
			print_error("%s owned by %lu:%lu\n", path,
				    (unsigned long)st->st_uid,
				    (unsigned long)st->st_gid);
		check_bad++;
	}
	return 0;
}

/* all_owned - is every entry under dir (links themselves) uid:gid? */
static int
all_owned(const char *dir, uid_t uid, gid_t gid)
{
	check_uid = uid;
	check_gid = gid;
	check_bad = 0;
	assert_int_equal(nftw(dir, check_one, 16, FTW_PHYS), 0);
	return check_bad == 0;
}

static void
test_ownership(void **state)
{
	struct fixture *fx = *state;
	char err[256] = "", secret[256];
	struct stat st;

	if (skip_unless_root())
		skip();
	make_tree(fx);
	check_quiet = 1;
	assert_false(all_owned(fx->dir, fx->uid, fx->gid));
	check_quiet = 0;
	if (privdrop_ownership(fx->dir, USER, GROUP, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(all_owned(fx->dir, fx->uid, fx->gid));
	/* Modes are untouched. */
	{
		char db[256];
		snprintf(db, sizeof(db), "%s/directory.db", fx->dir);
		assert_int_equal(stat(db, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0600);
	}
	/* The link's target outside data_dir still belongs to root. */
	snprintf(secret, sizeof(secret), "%s/secret", fx->outside);
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);

	/* Again: nothing to do, still fine. */
	assert_int_equal(
	    privdrop_ownership(fx->dir, USER, GROUP, err, sizeof(err)), 0);

	/* Group defaults to the user's primary group. */
	if (privdrop_ownership(fx->dir, USER, "", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(all_owned(fx->dir, fx->uid, fx->user_gid));
}

/* Issue 9: what is in data_dir/maildrop/ belongs to the users who
 * submitted it (its owner is the sender) and keeps that owner; the folder
 * itself becomes the server user's but keeps its group. */
static void
test_ownership_maildrop(void **state)
{
	struct fixture *fx = *state;
	char err[256] = "", drop[256], file[300], other[256];
	struct stat st;

	if (skip_unless_root())
		skip();
	snprintf(drop, sizeof(drop), "%s/maildrop", fx->dir);
	snprintf(file, sizeof(file), "%s/sendmail-1", drop);
	snprintf(other, sizeof(other), "%s/queue-like", fx->dir);
	assert_int_equal(mkdir(drop, 0700), 0);
	assert_int_equal(chown(drop, 0, 4242), 0);
	assert_int_equal(chmod(drop, 01730), 0);
	int fd = open(file, O_WRONLY | O_CREAT, 0444);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chown(file, 4343, 4242), 0);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (privdrop_ownership(fx->dir, USER, GROUP, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_uid, 4343);
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(stat(drop, &st), 0);
	assert_int_equal(st.st_uid, fx->uid);
	assert_int_equal(st.st_gid, 4242);
	assert_int_equal(st.st_mode & 07777, 01730);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_uid, fx->uid);
	assert_int_equal(st.st_gid, fx->gid);
}

static void
test_ownership_errors(void **state)
{
	struct fixture *fx = *state;
	char err[256] = "", missing[128];

	if (skip_unless_root())
		skip();
	assert_int_equal(privdrop_ownership(fx->dir, "petrel-no-such-user",
					    GROUP, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown user 'petrel-no-such-user'");
	assert_int_equal(privdrop_ownership(fx->dir, USER,
					    "petrel-no-such-group", err,
					    sizeof(err)),
			 -1);
	assert_string_equal(err, "unknown group 'petrel-no-such-group'");
	snprintf(missing, sizeof(missing), "%s/absent", fx->dir);
	assert_int_equal(
	    privdrop_ownership(missing, USER, GROUP, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));

	/* No user set: nothing happens, even as root. */
	assert_int_equal(privdrop_ownership(missing, "", "", err, sizeof(err)),
			 0);
}

/*
 * The child's checks, one exit code each, so the parent can say which
 * failed. The child leaves by _exit: after setuid the process is not
 * dumpable and LeakSanitizer could not inspect it at exit.
 */
enum child_fail {
	CHILD_OK,
	CHILD_DROP,
	CHILD_UID,
	CHILD_GID,
	CHILD_GROUPS,
	CHILD_SETUID0,
	CHILD_ROOTFILE,
	CHILD_NOOP,
	CHILD_OWNERSHIP_NOOP,
};

static const char *const child_what[] = {
    [CHILD_OK] = "ok",
    [CHILD_DROP] = "privdrop_now failed",
    [CHILD_UID] = "uid is not nobody's",
    [CHILD_GID] = "gid is not the expected group",
    [CHILD_GROUPS] = "supplementary groups not reduced to one",
    [CHILD_SETUID0] = "setuid(0) succeeded after the drop",
    [CHILD_ROOTFILE] = "a root-owned 0600 file was writable",
    [CHILD_NOOP] = "privdrop_now as non-root was not a no-op",
    [CHILD_OWNERSHIP_NOOP] = "privdrop_ownership as non-root was not a no-op",
};

static int
child_drop(struct fixture *fx, const char *group, gid_t want_gid)
{
	char err[256] = "", path[256];
	gid_t groups[64];
	int n;

	if (privdrop_now(USER, group, err, sizeof(err)) != 0) {
		fprintf(stderr, "privdrop_now: %s\n", err);
		return CHILD_DROP;
	}
	if (getuid() != fx->uid || geteuid() != fx->uid)
		return CHILD_UID;
	if (getgid() != want_gid || getegid() != want_gid)
		return CHILD_GID;
	n = getgroups(64, groups);
	if (n != 1 || groups[0] != want_gid)
		return CHILD_GROUPS;
	if (setuid(0) == 0 || seteuid(0) == 0)
		return CHILD_SETUID0;
	snprintf(path, sizeof(path), "%s/rootfile", fx->dir);
	if (open(path, O_WRONLY | O_APPEND) >= 0 || errno != EACCES)
		return CHILD_ROOTFILE;
	/* Now not root: both calls are no-ops that succeed. */
	if (privdrop_now(USER, group, err, sizeof(err)) != 0 ||
	    getuid() != fx->uid)
		return CHILD_NOOP;
	if (privdrop_ownership("/nonexistent", USER, group, err, sizeof(err)) !=
	    0)
		return CHILD_OWNERSHIP_NOOP;
	return CHILD_OK;
}

/* run_child - fork, drop in the child, report its verdict. */
static void
run_child(struct fixture *fx, const char *group, gid_t want_gid)
{
	int status;
	pid_t pid;

	/* A root-owned 0600 file in a directory anyone may enter. */
	assert_int_equal(chmod(fx->dir, 0755), 0);
	write_file(fx->dir, "rootfile", 0600);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_drop(fx, group, want_gid));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != CHILD_OK) {
		int code = WEXITSTATUS(status);
		fail_msg("child: %s", code < (int)(sizeof(child_what) /
						   sizeof(child_what[0]))
					  ? child_what[code]
					  : "unexpected exit");
	}
	/* The test process itself is still root. */
	assert_int_equal(geteuid(), 0);
}

static void
test_drop(void **state)
{
	struct fixture *fx = *state;

	if (skip_unless_root())
		skip();
	run_child(fx, GROUP, fx->gid);
}

static void
test_drop_default_group(void **state)
{
	struct fixture *fx = *state;

	if (skip_unless_root())
		skip();
	run_child(fx, NULL, fx->user_gid);
}

static void
test_drop_errors(void **state)
{
	char err[256] = "";

	(void)state;
	if (skip_unless_root())
		skip();
	/* Names are resolved before anything changes: safe in-process. */
	assert_int_equal(
	    privdrop_now("petrel-no-such-user", GROUP, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown user 'petrel-no-such-user'");
	assert_int_equal(
	    privdrop_now(USER, "petrel-no-such-group", err, sizeof(err)), -1);
	assert_string_equal(err, "unknown group 'petrel-no-such-group'");
	/* root itself is not a user to drop to. */
	assert_int_equal(privdrop_now("root", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "root"));
	assert_int_equal(geteuid(), 0);

	/* No user set: a warning and 0; still root. */
	assert_int_equal(privdrop_now("", "", err, sizeof(err)), 0);
	assert_int_equal(privdrop_now(NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(geteuid(), 0);
	assert_int_equal(getuid(), 0);
}

static void
test_not_root(void **state)
{
	char err[256] = "";

	(void)state;
	if (geteuid() == 0) {
		/* Covered as non-root inside the test_drop child. */
		skip();
	}
	assert_int_equal(privdrop_now(USER, GROUP, err, sizeof(err)), 0);
	assert_int_equal(
	    privdrop_ownership("/nonexistent", USER, GROUP, err, sizeof(err)),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ownership, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ownership_maildrop, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_ownership_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_default_group, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_drop_errors, setup, teardown),
	    cmocka_unit_test(test_not_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
