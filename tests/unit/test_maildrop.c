/*
 * test_maildrop - who is the sender of a maildrop/ file (the sendmail
 * rules for -f), and which files the server will read at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver/maildrop.h"

static const struct {
	const char *login, *requested;
	bool trusted;
	const char *sender;
	const char *warning; /* NULL: none */
} cases[] = {
    /* No -f: the user. */
    {"alice", NULL, false, "alice@mx.example.org", NULL},
    {"alice", NULL, true, "alice@mx.example.org", NULL},
    /* Their own address, any case, or a +tag of it. */
    {"alice", "alice@mx.example.org", false, "alice@mx.example.org", NULL},
    {"alice", "Alice@MX.example.org", false, "Alice@MX.example.org", NULL},
    {"alice", "alice+list@mx.example.org", false, "alice+list@mx.example.org",
     NULL},
    /* Anything else from an ordinary user: theirs, and a warning. */
    {"alice", "ceo@example.org", false, "alice@mx.example.org",
     "X-Authentication-Warning: mx.example.org: alice set sender to "
     "<ceo@example.org> using -f\r\n"},
    {"alice", "alice@example.org", false, "alice@mx.example.org",
     "X-Authentication-Warning: mx.example.org: alice set sender to "
     "<alice@example.org> using -f\r\n"},
    {"alice", "alice+@mx.example.org", false, "alice@mx.example.org",
     "X-Authentication-Warning: mx.example.org: alice set sender to "
     "<alice+@mx.example.org> using -f\r\n"},
    {"alice", "alicex@mx.example.org", false, "alice@mx.example.org",
     "X-Authentication-Warning: mx.example.org: alice set sender to "
     "<alicex@mx.example.org> using -f\r\n"},
    {"alice", "", false, "alice@mx.example.org",
     "X-Authentication-Warning: mx.example.org: alice set sender to <> "
     "using -f\r\n"},
    /* Trusted users (root, the server's user) set what they like. */
    {"root", "ceo@example.org", true, "ceo@example.org", NULL},
    {"root", "", true, "", NULL},
    /* A login that is no Dot-string is quoted as the address needs. */
    {"a b", NULL, false, "\"a b\"@mx.example.org", NULL},
};

static void
test_sender(void **state)
{
	char out[600];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *w = maildrop_sender(cases[i].login, "mx.example.org",
					  cases[i].requested, cases[i].trusted,
					  out, sizeof(out));
		if (strcmp(out, cases[i].sender) != 0)
			fail_msg("case %zu: sender %s", i, out);
		if (cases[i].warning == NULL)
			assert_null(w);
		else
			assert_string_equal(w, cases[i].warning);
		free(w);
	}
}

static void
test_read(void **state)
{
	char dir[64] = "/tmp/test_maildrop.XXXXXX", f[128], lnk[128], hard[128];
	char login[64], err[256];
	size_t len;
	uid_t uid = 12345;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/m", dir);
	snprintf(lnk, sizeof(lnk), "%s/l", dir);
	snprintf(hard, sizeof(hard), "%s/h", dir);
	int fd = open(f, O_WRONLY | O_CREAT, 0444);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "Subject: x\n\nx\n", 14), 14);
	close(fd);
	err[0] = '\0';
	char *text = maildrop_read(f, 1 << 20, &uid, login, sizeof(login), &len,
				   err, sizeof(err));
	assert_non_null(text);
	assert_int_equal(len, 14);
	assert_int_equal(uid, getuid());
	assert_string_equal(err, "");
	free(text);
	/* A link is never followed, a second hard link never taken. */
	assert_int_equal(symlink(f, lnk), 0);
	assert_null(maildrop_read(lnk, 1 << 20, &uid, login, sizeof(login),
				  &len, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(link(f, hard), 0);
	err[0] = '\0';
	assert_null(maildrop_read(f, 1 << 20, &uid, login, sizeof(login), &len,
				  err, sizeof(err)));
	assert_non_null(strstr(err, "one link"));
	unlink(hard);
	/* Gone: errno only. */
	unlink(f);
	err[0] = '\0';
	assert_null(maildrop_read(f, 1 << 20, &uid, login, sizeof(login), &len,
				  err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "");
	unlink(lnk);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sender),
	    cmocka_unit_test(test_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
