/*
 * test_spool - queue_spool_add_top: fields known at the end of the data
 * go below the trace prefix, the file is replaced whole, the descriptor
 * follows, and a failure leaves the file as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/spool.h"
#include "util/fsutil.h"

#define RP  "Return-Path: <a@b.example>\r\n"
#define RCV "Received: from x by y; now\r\n"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_spool.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* spool - a spool file with content; its fd open read-write. */
static int
spool(const char *path, const char *content, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fsutil_write_all(fd, content, len), 0);
	return fd;
}

static char *
read_fd(int fd, size_t *len_r)
{
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	return fsutil_read_fd(fd, 1 << 26, len_r);
}

static void
test_add_top(void **state)
{
	/* PATH_MAX: the function may write a longer name into it. */
	static const char msg[] = RP RCV "Subject: s\r\n\r\nbody\r\n";
	static const char top[] = "Authentication-Results: mx; spf=pass\r\n"
				  "DKIM-Signature: v=1; d=b.example\r\n";
	char path[PATH_MAX];
	size_t len;
	(void)state;

	snprintf(path, sizeof(path), "%s/ID", dir);
	char old[128];
	snprintf(old, sizeof(old), "%s", path);
	int fd = spool(path, msg, sizeof(msg) - 1);
	uint64_t size = sizeof(msg) - 1;
	assert_int_equal(queue_spool_add_top(path, &fd, &size, strlen(RP), top,
					     sizeof(top) - 1),
			 0);
	assert_true(size == sizeof(msg) - 1 + sizeof(top) - 1);
	assert_true(fd >= 0);
	/* A new name; the old file is gone. */
	assert_string_not_equal(path, old);
	assert_int_equal(access(old, F_OK), -1);
	/* The new descriptor and the path both give the new file. */
	char *got = read_fd(fd, &len);
	assert_non_null(got);
	assert_int_equal(len, size);
	assert_string_equal(got, RP "Authentication-Results: mx; spf=pass\r\n"
				    "DKIM-Signature: v=1; d=b.example\r\n" RCV
				    "Subject: s\r\n\r\nbody\r\n");
	free(got);
	got = fsutil_read_file(path, 1 << 20, &len);
	assert_non_null(got);
	assert_int_equal(len, size);
	free(got);
	/* Nothing to add: nothing changes. */
	assert_int_equal(queue_spool_add_top(path, &fd, &size, 0, "", 0), 0);
	close(fd);
}

/* A big file: the copy is whole, byte for byte, past any buffer. */
static void
test_big(void **state)
{
	char path[PATH_MAX];
	size_t n = 3 * 1024 * 1024 + 17, len;
	char *msg = malloc(n);
	(void)state;

	assert_non_null(msg);
	for (size_t i = 0; i < n; i++)
		msg[i] = (char)('a' + i % 23);
	snprintf(path, sizeof(path), "%s/BIG", dir);
	int fd = spool(path, msg, n);
	uint64_t size = n;
	assert_int_equal(
	    queue_spool_add_top(path, &fd, &size, 5, "X: 1\r\n", 6), 0);
	char *got = read_fd(fd, &len);
	assert_non_null(got);
	assert_int_equal(len, n + 6);
	assert_memory_equal(got, msg, 5);
	assert_memory_equal(got + 5, "X: 1\r\n", 6);
	assert_memory_equal(got + 11, msg + 5, n - 5);
	free(got);
	free(msg);
	close(fd);
}

/* Failures leave the message as it was. */
static void
test_errors(void **state)
{
	static const char msg[] = RP "x\r\n";
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t len;
	(void)state;

	snprintf(path, sizeof(path), "%s/E", dir);
	int fd = spool(path, msg, sizeof(msg) - 1);
	uint64_t size = sizeof(msg) - 1;
	/* A trace longer than the file. */
	assert_int_equal(
	    queue_spool_add_top(path, &fd, &size, size + 1, "X\r\n", 3), -1);
	assert_int_equal(errno, EINVAL);
	/* The size says more than the file has. */
	size += 100;
	assert_int_equal(queue_spool_add_top(path, &fd, &size, 3, "X\r\n", 3),
			 -1);
	size -= 100;
	/* The temporary name is taken. */
	snprintf(tmp, sizeof(tmp), "%s.top", path);
	close(open(tmp, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(queue_spool_add_top(path, &fd, &size, 3, "X\r\n", 3),
			 -1);
	unlink(tmp);
	char *got = read_fd(fd, &len);
	assert_non_null(got);
	assert_string_equal(got, msg);
	assert_true(size == sizeof(msg) - 1);
	free(got);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_top, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
