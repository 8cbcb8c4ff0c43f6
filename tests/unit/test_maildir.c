/*
 * test_maildir - mailbox paths (encoding of odd local parts, refused
 * domains), unique names, and delivery by hard link into new/ in a
 * temporary directory under /tmp.
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
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"

struct path_case {
	const char *localpart;
	const char *encoded;
};

static const struct path_case path_cases[] = {
    {"alice", "alice"},
    {"Alice", "alice"},
    {"ALICE.Smith", "alice.smith"},
    {"a_b+c=d-e.f", "a_b+c=d-e.f"},
    {"0123456789", "0123456789"},
    {"a/b", "a%2Fb"},
    {"/", "%2F"},
    {"..", "%2E."},
    {".", "%2E"},
    {"../x", "%2E.%2Fx"},
    {".hidden", "%2Ehidden"},
    {"a..b", "a..b"},
    {"a.", "a."},
    {"100%", "100%25"},
    {"%2F", "%252f"},
    {"john smith", "john%20smith"},
    {"\"q\"", "%22q%22"},
    {"tab\tx", "tab%09x"},
    {"\xc3\xa9t\xc3\xa9", "%C3%A9t%C3%A9"},
    {"\x80\xff", "%80%FF"},
    {"\x7f", "%7F"},
    {"a:b", "a%3Ab"},
    {"a\\b", "a%5Cb"},
    {"a*b?c", "a%2Ab%3Fc"},
    {"~", "%7E"},
};

static void
test_mailbox_path(void **state)
{
	char out[512], want[512];
	(void)state;

	for (size_t i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]);
	     i++) {
		const struct path_case *c = &path_cases[i];
		assert_int_equal(maildir_mailbox_path("/data", "example.org",
						      c->localpart, out,
						      sizeof(out)),
				 0);
		snprintf(want, sizeof(want), "/data/mail/example.org/%s",
			 c->encoded);
		if (strcmp(out, want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, out, want);
		/* Nothing after the domain names another folder. */
		const char *name = out + strlen("/data/mail/example.org/");
		assert_null(strchr(name, '/'));
		assert_true(name[0] != '.');
	}
}

static void
test_mailbox_path_refused(void **state)
{
	char out[512];
	static const char *const bad_domains[] = {
	    "", ".", "..", ".example.org", "a/b", "/etc", "../x", "x/..",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]);
	     i++)
		if (maildir_mailbox_path("/data", bad_domains[i], "alice", out,
					 sizeof(out)) != -1)
			fail_msg("domain '%s' accepted", bad_domains[i]);
	/* An empty local part would be the domain folder itself. */
	assert_int_equal(
	    maildir_mailbox_path("/data", "example.org", "", out, sizeof(out)),
	    -1);
}

static void
test_mailbox_path_limits(void **state)
{
	char out[512], lp[300];
	(void)state;

	/* 64 octets (RFC 5321 §4.5.3.1.1), all encoded, fit. */
	memset(lp, '/', 64);
	lp[64] = '\0';
	assert_int_equal(
	    maildir_mailbox_path("/d", "e.org", lp, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), strlen("/d/mail/e.org/") + 3 * 64);
	/* Far longer is refused, not cut. */
	memset(lp, 'a', sizeof(lp) - 1);
	lp[sizeof(lp) - 1] = '\0';
	assert_int_equal(
	    maildir_mailbox_path("/d", "e.org", lp, out, sizeof(out)), -1);
	/* out too small: refused, exact fit accepted. */
	const char *want = "/d/mail/e.org/bob";
	assert_int_equal(
	    maildir_mailbox_path("/d", "e.org", "bob", out, strlen(want)), -1);
	assert_int_equal(
	    maildir_mailbox_path("/d", "e.org", "bob", out, strlen(want) + 1),
	    0);
	assert_string_equal(out, want);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_unique_name(void **state)
{
	enum { N = 10000 };
	char **names = calloc(N, sizeof(*names));
	char buf[256];
	(void)state;

	assert_non_null(names);
	for (size_t i = 0; i < N; i++) {
		maildir_unique_name(1000 + i, buf, sizeof(buf));
		char want[32];
		snprintf(want, sizeof(want), ",S=%zu", 1000 + i);
		size_t bl = strlen(buf), wl = strlen(want);
		assert_true(bl > wl);
		assert_string_equal(buf + bl - wl, want);
		assert_null(strchr(buf, '/'));
		assert_null(strchr(buf, ':'));
		assert_true(buf[0] != '.');
		names[i] = strdup(buf);
		assert_non_null(names[i]);
	}
	qsort(names, N, sizeof(*names), cmp_str);
	for (size_t i = 1; i < N; i++)
		if (strcmp(names[i - 1], names[i]) == 0)
			fail_msg("duplicate name %s", names[i]);
	for (size_t i = 0; i < N; i++)
		free(names[i]);
	free(names);

	maildir_unique_name(0, buf, sizeof(buf));
	assert_non_null(strstr(buf, ",S=0"));
	maildir_unique_name(UINT64_MAX, buf, sizeof(buf));
	assert_non_null(strstr(buf, ",S=18446744073709551615"));
}

/* rm_rf - remove a small test tree. */
static void
rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		rm_rf(sub);
	}
	closedir(d);
	rmdir(path);
}

static int
setup_tmp(void **state)
{
	char *dir = strdup("/tmp/petrel-test-maildir-XXXXXX");
	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int
teardown_tmp(void **state)
{
	rm_rf(*state);
	free(*state);
	return 0;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void
assert_file_content(const char *path, const char *text, size_t len)
{
	char buf[1024];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, text, len);
}

static int
is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static size_t
count_entries(const char *path)
{
	size_t n = 0;
	DIR *d = opendir(path);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_deliver(void **state)
{
	const char *dir = *state;
	static const char msg[] = "Received: by x\r\nSubject: hi\r\n\r\n"
				  "body \xff\0 bytes\r\n";
	char src[4096], mbox[4096], sub[4200], got[4096];
	struct stat a, b;

	snprintf(src, sizeof(src), "%s/queued", dir);
	write_file(src, msg, sizeof(msg) - 1);
	assert_int_equal(
	    maildir_mailbox_path(dir, "example.org", "Bob", mbox, sizeof(mbox)),
	    0);
	assert_false(is_dir(mbox));

	/* Missing Maildir: created, with cur/ new/ tmp/. */
	int fd = open(src, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(
	    maildir_deliver(mbox, src, fd, sizeof(msg) - 1, got, sizeof(got)),
	    0);
	static const char *const subs[] = {"cur", "new", "tmp"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", mbox, subs[i]);
		assert_true(is_dir(sub));
		assert_int_equal(stat(sub, &a), 0);
		assert_int_equal(a.st_mode & 0777, 0700);
	}
	snprintf(sub, sizeof(sub), "%s/new/", mbox);
	assert_memory_equal(got, sub, strlen(sub));
	assert_null(strchr(got + strlen(sub), '/'));
	char want_size[32];
	snprintf(want_size, sizeof(want_size), ",S=%zu", sizeof(msg) - 1);
	assert_non_null(strstr(got, want_size));
	assert_file_content(got, msg, sizeof(msg) - 1);
	/* A hard link: the same inode, no copy. */
	assert_int_equal(stat(src, &a), 0);
	assert_int_equal(stat(got, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);

	/* Existing Maildir: a second, distinct file. */
	char got2[4096];
	assert_int_equal(
	    maildir_deliver(mbox, src, fd, sizeof(msg) - 1, got2, sizeof(got2)),
	    0);
	assert_string_not_equal(got, got2);
	assert_file_content(got2, msg, sizeof(msg) - 1);
	snprintf(sub, sizeof(sub), "%s/new", mbox);
	assert_int_equal(count_entries(sub), 2);
	snprintf(sub, sizeof(sub), "%s/tmp", mbox);
	assert_int_equal(count_entries(sub), 0);
	close(fd);
}

static void
test_deliver_errors(void **state)
{
	const char *dir = *state;
	char src[4096], mbox[4096], got[4096];

	snprintf(mbox, sizeof(mbox), "%s/mail/example.org/carol", dir);
	/* A source that does not exist: an error, with errno. */
	snprintf(src, sizeof(src), "%s/missing", dir);
	errno = 0;
	assert_int_equal(maildir_deliver(mbox, src, -1, 1, got, sizeof(got)),
			 -1);
	assert_int_equal(errno, ENOENT);

	/* A path_r too small for the name: refused, nothing linked. */
	snprintf(src, sizeof(src), "%s/queued2", dir);
	write_file(src, "x", 1);
	int fd = open(src, O_RDONLY);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(
	    maildir_deliver(mbox, src, fd, 1, got, strlen(mbox) + 8), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	struct stat st;
	assert_int_equal(stat(src, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mailbox_path),
	    cmocka_unit_test(test_mailbox_path_refused),
	    cmocka_unit_test(test_mailbox_path_limits),
	    cmocka_unit_test(test_unique_name),
	    cmocka_unit_test_setup_teardown(test_deliver, setup_tmp,
					    teardown_tmp),
	    cmocka_unit_test_setup_teardown(test_deliver_errors, setup_tmp,
					    teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
