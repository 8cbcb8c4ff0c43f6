/*
 * test_mailbox - Maildir folders with UIDs: assignment in arrival order,
 * stability across opens, flags, a corrupt or torn index, the POP3 lock,
 * and syncs racing each other and deliveries from several processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/mailbox.h"
#include "store/maildir.h"

static char root[256];

static int
setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/petrel-test-mailbox-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* folder - a fresh folder path under root. */
static char *
folder(const char *name)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, name);
	return p;
}

/* put - write content as dir/sub/name (whole file, then visible). */
static void
put(const char *dir, const char *sub, const char *name, const char *content)
{
	char tmp[1024], dst[1024];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s/%s", dir, sub, name);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, dst), 0);
}

static void
write_file(const char *dir, const char *name, const char *content)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static struct mailbox *
open_ok(const char *path)
{
	char err[256] = "";
	struct mailbox *mb = mailbox_open(path, err, sizeof(err));
	if (mb == NULL)
		fail_msg("mailbox_open %s: %s", path, err);
	return mb;
}

static void
check_ascending(const struct mailbox *mb)
{
	for (size_t i = 0; i < mb->n; i++) {
		assert_true(mb->msgs[i].uid > 0);
		assert_true(mb->msgs[i].uid < mb->uidnext);
		if (i > 0)
			assert_true(mb->msgs[i - 1].uid < mb->msgs[i].uid);
	}
}

static void
test_empty(void **state)
{
	struct mailbox *mb;
	struct stat st;
	char p[1024];
	uint32_t now = (uint32_t)time(NULL);

	(void)state;
	mb = open_ok(folder("empty"));
	assert_int_equal(mb->n, 0);
	assert_int_equal(mb->uidnext, 1);
	assert_true(mb->uidvalidity >= now && mb->uidvalidity <= now + 2);
	snprintf(p, sizeof(p), "%s/cur", folder("empty"));
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/petrel-uidlist", folder("empty"));
	assert_int_equal(stat(p, &st), 0);
	uint32_t v = mb->uidvalidity;
	mailbox_free(&mb);
	assert_null(mb);
	mailbox_free(&mb);
	mb = open_ok(folder("empty"));
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, 0);
	mailbox_free(&mb);
}

/* Names out of plain byte order: usec 9 < 10 < 100, seq 2 < 11. */
static const char *const arrival[] = {
    "1700000000.M9P100N1.host,S=3",   "1700000000.M10P100N1.host,S=3",
    "1700000000.M100P100N2.host,S=3", "1700000000.M100P100N11.host,S=3",
    "1700000001.M5P7N1.host,S=3",
};

static void
test_uids_in_arrival_order(void **state)
{
	const char *dir = folder("order");
	struct mailbox *mb;

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	/* Delivered in reverse: the name, not the link order, counts. */
	for (size_t i = 5; i-- > 0;)
		put(dir, "new", arrival[i], "abc");
	mb = open_ok(dir);
	assert_int_equal(mb->n, 5);
	assert_int_equal(mb->uidnext, 6);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(mb->msgs[i].uid, i + 1);
		assert_string_equal(mb->msgs[i].basename, arrival[i]);
		assert_int_equal(mb->msgs[i].size, 3);
		assert_string_equal(mb->msgs[i].flags, "");
		assert_non_null(strstr(mb->msgs[i].path, "/new/"));
	}
	uint32_t v = mb->uidvalidity;
	mailbox_free(&mb);

	/* Re-open: the same UIDs, nothing rewritten. */
	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(mb->msgs[i].uid, i + 1);
		assert_string_equal(mb->msgs[i].basename, arrival[i]);
	}

	/* Delete the newest two, deliver one: UIDs are never reused. */
	assert_int_equal(mailbox_delete(mb, 4), 0);
	assert_int_equal(mailbox_delete(mb, 3), 0);
	assert_int_equal(mailbox_delete(mb, 3), 0); /* already gone */
	mailbox_free(&mb);
	put(dir, "new", "1600000000.M1P1N1.older,S=3", "abc");
	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, 4);
	assert_int_equal(mb->msgs[3].uid, 6);
	assert_string_equal(mb->msgs[3].basename,
			    "1600000000.M1P1N1.older,S=3");
	assert_int_equal(mb->uidnext, 7);
	check_ascending(mb);
	mailbox_free(&mb);

	/* Empty it: uidnext stays. */
	mb = open_ok(dir);
	for (size_t i = 0; i < mb->n; i++)
		assert_int_equal(mailbox_delete(mb, i), 0);
	mailbox_free(&mb);
	mb = open_ok(dir);
	assert_int_equal(mb->n, 0);
	assert_int_equal(mb->uidnext, 7);
	mailbox_free(&mb);
	put(dir, "new", "1800000000.M1P1N1.h,S=3", "abc");
	mb = open_ok(dir);
	assert_int_equal(mb->n, 1);
	assert_int_equal(mb->msgs[0].uid, 7);
	assert_int_equal(mb->uidvalidity, v);
	mailbox_free(&mb);
}

static void
test_flags(void **state)
{
	const char *dir = folder("flags");
	struct mailbox *mb, *old;
	struct stat st;
	char p[1024];

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	put(dir, "new", "1700000000.M1P1N1.h,S=3", "abc");
	put(dir, "new", "1700000000.M2P1N1.h,S=3", "abc");
	mb = open_ok(dir);
	old = open_ok(dir);
	assert_int_equal(mb->n, 2);

	assert_int_equal(mailbox_set_flags(mb, 0, "SRS"), 0);
	assert_string_equal(mb->msgs[0].flags, "RS");
	snprintf(p, sizeof(p), "%s/cur/1700000000.M1P1N1.h,S=3:2,RS", dir);
	assert_string_equal(mb->msgs[0].path, p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(mailbox_set_flags(mb, 0, "RS"), 0); /* no change */
	assert_int_equal(mailbox_set_flags(mb, 0, "s"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mailbox_set_flags(mb, 0, "S:"), -1);
	assert_int_equal(mailbox_set_flags(mb, 1, ""), 0);
	assert_string_equal(mb->msgs[1].flags, "");
	assert_non_null(strstr(mb->msgs[1].path, "/cur/"));
	mailbox_free(&mb);

	mb = open_ok(dir);
	assert_int_equal(mb->n, 2);
	assert_int_equal(mb->msgs[0].uid, 1);
	assert_string_equal(mb->msgs[0].flags, "RS");
	assert_string_equal(mb->msgs[0].basename, "1700000000.M1P1N1.h,S=3");
	assert_int_equal(mb->msgs[1].uid, 2);
	mailbox_free(&mb);

	/* A stale snapshot still finds the renamed files. */
	assert_int_equal(mailbox_set_flags(old, 0, "FS"), 0);
	assert_string_equal(old->msgs[0].flags, "FS");
	snprintf(p, sizeof(p), "%s/cur/1700000000.M1P1N1.h,S=3:2,FS", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(mailbox_delete(old, 1), 0);
	mailbox_free(&old);
	mb = open_ok(dir);
	assert_int_equal(mb->n, 1);
	assert_int_equal(mb->msgs[0].uid, 1);
	assert_string_equal(mb->msgs[0].flags, "FS");
	mailbox_free(&mb);
}

static void
test_cur_indexed(void **state)
{
	const char *dir = folder("cur");
	struct mailbox *mb;

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	put(dir, "cur", "1700000000.M1P1N1.h,S=3:2,SR", "abc");
	put(dir, "cur", "1700000000.M2P1N1.h:2,", "hello");
	put(dir, "new", "1700000000.M3P1N1.h,S=5", "hello");
	put(dir, "cur", ".hidden", "x");
	mb = open_ok(dir);
	assert_int_equal(mb->n, 3);
	assert_string_equal(mb->msgs[0].flags, "RS");
	assert_int_equal(mb->msgs[0].size, 3);
	assert_string_equal(mb->msgs[1].basename, "1700000000.M2P1N1.h");
	assert_string_equal(mb->msgs[1].flags, "");
	/* No ",S=": the size comes from stat. */
	assert_int_equal(mb->msgs[1].size, 5);
	assert_int_equal(mb->msgs[2].uid, 3);
	mailbox_free(&mb);
}

static uint32_t
index_uidvalidity(const char *dir)
{
	char p[1024];
	unsigned v = 0, next = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/petrel-uidlist", dir);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "petrel-uidlist 1 %u %u", &v, &next), 2);
	fclose(f);
	return v;
}

static void
test_corrupt_index(void **state)
{
	const char *dir = folder("corrupt");
	char idx[256];
	struct mailbox *mb;
	uint32_t future = (uint32_t)time(NULL) + 100000, v;

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	put(dir, "new", "1700000000.M1P1N1.h,S=3", "abc");
	put(dir, "new", "1700000000.M2P1N1.h,S=3", "abc");

	/* A good header with a larger UIDVALIDITY, then garbage. */
	snprintf(idx, sizeof(idx),
		 "petrel-uidlist 1 %" PRIu32 " 50\n"
		 "40 1700000000.M2P1N1.h,S=3\n"
		 "30 garbage\n",
		 future);
	write_file(dir, "petrel-uidlist", idx);
	mb = open_ok(dir);
	assert_true(mb->uidvalidity > future);
	assert_int_equal(mb->n, 2);
	assert_int_equal(mb->msgs[0].uid, 1);
	assert_int_equal(mb->msgs[1].uid, 2);
	assert_int_equal(mb->uidnext, 3);
	v = mb->uidvalidity;
	mailbox_free(&mb);
	assert_int_equal(index_uidvalidity(dir), v);

	/* A header beyond repair: still a larger value (the lock file
	 * remembers the last one). */
	write_file(dir, "petrel-uidlist", "\x01\x02garbage\n");
	mb = open_ok(dir);
	assert_true(mb->uidvalidity > v);
	v = mb->uidvalidity;
	assert_int_equal(mb->n, 2);
	mailbox_free(&mb);

	/* A torn index: the last line lacks its newline. */
	snprintf(idx, sizeof(idx),
		 "petrel-uidlist 1 %" PRIu32 " 3\n"
		 "1 1700000000.M1P1N1.h,S=3\n"
		 "2 1700000000.M2P",
		 v);
	write_file(dir, "petrel-uidlist", idx);
	mb = open_ok(dir);
	assert_true(mb->uidvalidity > v);
	v = mb->uidvalidity;
	mailbox_free(&mb);

	/* Empty, a UID out of order, a UID >= UIDNEXT, a NUL. */
	static const char *const bad[] = {
	    "",
	    "petrel-uidlist 1 %u 9\n2 a\n1 b\n",
	    "petrel-uidlist 1 %u 2\n2 a\n",
	    "petrel-uidlist 1 %u 2\n0 a\n",
	    "petrel-uidlist 1 %u 9\n1 a/b\n",
	    "petrel-uidlist 1 %u 9\n1 \n",
	    "petrel-uidlist 1 %u 9\n1 1700000000.M1P1N1.h,S=3\n"
	    "2 1700000000.M1P1N1.h,S=3\n",
	    "petrel-uidlist 2 %u 9\n",
	    "petrel-uidlist 1 %u 4294967296\n",
	    "petrel-uidlist 1 %u\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(idx, sizeof(idx), bad[i], (unsigned)v);
		write_file(dir, "petrel-uidlist", idx);
		mb = open_ok(dir);
		if (mb->uidvalidity <= v)
			fail_msg("bad index %zu kept", i);
		v = mb->uidvalidity;
		assert_int_equal(mb->n, 2);
		check_ascending(mb);
		mailbox_free(&mb);
	}
}

static void
test_torn_temp(void **state)
{
	const char *dir = folder("torntmp");
	struct mailbox *mb;
	uint32_t v;

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	put(dir, "new", "1700000000.M1P1N1.h,S=3", "abc");
	mb = open_ok(dir);
	v = mb->uidvalidity;
	mailbox_free(&mb);
	/* A writer died halfway through the temp file. */
	write_file(dir, "petrel-uidlist.tmp", "petrel-uidlist 1 12 3\n1 x");
	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, 1);
	assert_int_equal(mb->msgs[0].uid, 1);
	mailbox_free(&mb);
	put(dir, "new", "1700000000.M2P1N1.h,S=3", "abc");
	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, 2);
	assert_int_equal(mb->msgs[1].uid, 2);
	mailbox_free(&mb);
	assert_int_equal(index_uidvalidity(dir), v);
}

static void
test_uid_exhaustion(void **state)
{
	const char *dir = folder("exhaust");
	char idx[256];
	struct mailbox *mb;
	uint32_t v = 1000;

	(void)state;
	assert_int_equal(maildir_create(dir), 0);
	put(dir, "new", "1700000000.M1P1N1.h,S=3", "abc");
	snprintf(idx, sizeof(idx),
		 "petrel-uidlist 1 %" PRIu32 " 4294967295\n"
		 "4294967294 1700000000.M1P1N1.h,S=3\n",
		 v);
	write_file(dir, "petrel-uidlist", idx);
	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->msgs[0].uid, 4294967294u);
	mailbox_free(&mb);
	/* The next UID would be 2^32 - 1 and UIDNEXT 2^32: renumber. */
	put(dir, "new", "1700000000.M2P1N1.h,S=3", "abc");
	mb = open_ok(dir);
	assert_true(mb->uidvalidity > v);
	assert_int_equal(mb->n, 2);
	assert_int_equal(mb->msgs[0].uid, 1);
	assert_int_equal(mb->msgs[1].uid, 2);
	assert_int_equal(mb->uidnext, 3);
	mailbox_free(&mb);
}

static void
test_lock_exclusive(void **state)
{
	const char *dir = folder("lock");
	int fd, fd2, pipefd[2];
	pid_t pid;
	char c;

	(void)state;
	/* The folder does not exist yet: the lock creates it. */
	fd = mailbox_lock_exclusive(dir);
	assert_true(fd >= 0);
	fd2 = mailbox_lock_exclusive(dir);
	assert_int_equal(fd2, -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(fd);
	fd2 = mailbox_lock_exclusive(dir);
	assert_true(fd2 >= 0);
	close(fd2);

	/* A holder killed with SIGKILL releases the lock. */
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = mailbox_lock_exclusive(dir);
		c = lfd >= 0 ? 'y' : 'n';
		if (write(pipefd[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	fd = mailbox_lock_exclusive(dir);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EWOULDBLOCK);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	fd = mailbox_lock_exclusive(dir);
	assert_true(fd >= 0);
	close(fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

#define N_CHILDREN 4
#define N_SYNCS	   50

/* One syncing process: open the folder N_SYNCS times, set a flag now
 * and then (renames race the other syncs), and write down every
 * (UIDVALIDITY, UID, name) it was shown. */
static void
sync_child(const char *dir, int k)
{
	char p[1024];
	FILE *obs;

	snprintf(p, sizeof(p), "%s/../obs.%d", dir, k);
	obs = fopen(p, "w");
	if (obs == NULL)
		_exit(2);
	for (int i = 0; i < N_SYNCS; i++) {
		char err[256];
		struct mailbox *mb = mailbox_open(dir, err, sizeof(err));
		if (mb == NULL) {
			fprintf(stderr, "child %d: %s\n", k, err);
			_exit(3);
		}
		for (size_t j = 0; j < mb->n; j++) {
			if (j > 0 && mb->msgs[j - 1].uid >= mb->msgs[j].uid)
				_exit(4);
			fprintf(obs, "%" PRIu32 " %" PRIu32 " %s\n",
				mb->uidvalidity, mb->msgs[j].uid,
				mb->msgs[j].basename);
		}
		if (mb->n > 0 && i % 5 == k % 5) {
			size_t j = (size_t)(i * 7 + k) % mb->n;
			if (mailbox_set_flags(mb, j, k % 2 ? "S" : "RS") < 0)
				_exit(5);
		}
		mailbox_free(&mb);
	}
	if (fclose(obs) != 0)
		_exit(6);
	_exit(0);
}

static void
test_concurrent_syncs(void **state)
{
	char dir[512], race[512];
	pid_t pids[N_CHILDREN];
	size_t delivered = 0;
	int running = N_CHILDREN;
	struct mailbox *mb;
	uint32_t v;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", folder("race/box"));
	snprintf(race, sizeof(race), "%s", folder("race"));
	mb = open_ok(dir);
	v = mb->uidvalidity;
	mailbox_free(&mb);
	for (int k = 0; k < N_CHILDREN; k++) {
		pids[k] = fork();
		assert_true(pids[k] >= 0);
		if (pids[k] == 0)
			sync_child(dir, k);
	}
	/* Deliver as petrel does: a complete file hard-linked into new/. */
	char src[1024];
	snprintf(src, sizeof(src), "%s/../source", dir);
	write_file(race, "source", "From: x\r\n\r\nhi\r\n");
	while (running > 0) {
		char name[256], dst[1024];
		int status;
		pid_t pid;

		/* Until the children are done, up to a few thousand. */
		if (delivered < 3000) {
			maildir_unique_name(15, name, sizeof(name));
			snprintf(dst, sizeof(dst), "%s/new/%s", dir, name);
			assert_int_equal(link(src, dst), 0);
			delivered++;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("child %d: status %d", (int)pid,
					 status);
			running--;
		}
		usleep(200);
	}

	mb = open_ok(dir);
	assert_int_equal(mb->uidvalidity, v);
	assert_int_equal(mb->n, delivered);
	assert_int_equal(mb->uidnext, delivered + 1);
	check_ascending(mb);

	/* Every UID any process was shown names the same file as now. */
	size_t seen = 0;
	for (int k = 0; k < N_CHILDREN; k++) {
		char p[1024], base[256];
		unsigned ov, uid;
		FILE *f;

		snprintf(p, sizeof(p), "%s/obs.%d", race, k);
		f = fopen(p, "r");
		assert_non_null(f);
		while (fscanf(f, "%u %u %255s", &ov, &uid, base) == 3) {
			assert_int_equal(ov, v);
			assert_true(uid >= 1 && uid <= mb->n);
			/* UIDs are 1..n with no deletions. */
			if (strcmp(mb->msgs[uid - 1].basename, base) != 0)
				fail_msg("uid %u: %s then %s", uid, base,
					 mb->msgs[uid - 1].basename);
			seen++;
		}
		fclose(f);
	}
	assert_true(seen > 0);
	print_message("%zu deliveries, %zu UIDs seen by the syncs\n", delivered,
		      seen);
	mailbox_free(&mb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_uids_in_arrival_order),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_cur_indexed),
	    cmocka_unit_test(test_corrupt_index),
	    cmocka_unit_test(test_torn_temp),
	    cmocka_unit_test(test_uid_exhaustion),
	    cmocka_unit_test(test_lock_exclusive),
	    cmocka_unit_test(test_concurrent_syncs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
