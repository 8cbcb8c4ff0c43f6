/*
 * test_imap_mailbox - mailbox names: modified UTF-7 both ways and its
 * strictness (RFC 3501 §5.1.3), LIST wildcards, and the Maildir++
 * folder tree (create with parents, delete, rename with children and
 * INBOX, subscriptions, the default SPECIAL-USE folders).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_mailbox_name.h"
#include "store/folders.h"
#include "store/maildir.h"

#define S(x) x, sizeof(x) - 1

static void
test_mutf7(void **state)
{
	static const struct {
		const char *utf8, *mutf7;
	} pairs[] = {
	    {"INBOX", "INBOX"},
	    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac"
	     "\xe8\xaa\x9e",
	     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	    {"&", "&-"},
	    {"Entw\xc3\xbc"
	     "rfe",
	     "Entw&APw-rfe"},
	    {"\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-"},
	    {"\xf0\x9f\x93\xa7 mail", "&2D3c5w- mail"},
	    {"a&b", "a&-b"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct strbuf a = {0}, b = {0};
		assert_int_equal(imap_mailbox_name_encode(
				     pairs[i].utf8, strlen(pairs[i].utf8), &a),
				 0);
		assert_string_equal(a.p, pairs[i].mutf7);
		assert_int_equal(
		    imap_mailbox_name_decode(pairs[i].mutf7,
					     strlen(pairs[i].mutf7), &b),
		    0);
		assert_string_equal(b.p, pairs[i].utf8);
		free(a.p);
		free(b.p);
	}
	static const char *const bad[] = {
	    "&",	  /* unterminated */
	    "&U,BTFw",	  /* unterminated */
	    "&AGE-",	  /* "a": printable ASCII shifted */
	    "&AOk-&AOk-", /* two adjacent runs */
	    "&2D0-",	  /* lone high surrogate */
	    "&3CU-",	  /* lone low surrogate */
	    "&AOl-",	  /* leftover bits */
	    "&Jjo!-",	  /* not base64 */
	    "\xc3\xa9",	  /* 8-bit */
	    "a\tb",	  /* control */
	    "&-&",	  /* unterminated after "&-" */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (imap_mailbox_name_valid(bad[i], strlen(bad[i])))
			fail_msg("accepted %s", bad[i]);
	struct strbuf x = {0};
	assert_int_equal(imap_mailbox_name_encode(S("\xc3"), &x), -1);
	free(x.p);
}

static void
test_match(void **state)
{
	static const struct {
		const char *pat, *name;
		bool m;
	} cases[] = {
	    {"*", "INBOX", true},
	    {"*", "a.b.c", true},
	    {"%", "a", true},
	    {"%", "a.b", false},
	    {"a.%", "a.b", true},
	    {"a.%", "a.b.c", false},
	    {"a.*", "a.b.c", true},
	    {"inbox", "INBOX", true},
	    {"InBoX.%", "INBOX.x", true},
	    {"inbox", "inboxes", false},
	    {"Sent", "sent", false},
	    {"S%t", "Sent", true},
	    {"*t", "Sent", true},
	    {"%.%", "a.b", true},
	    {"", "", true},
	    {"", "a", false},
	    {"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	     false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (imap_mailbox_name_match(cases[i].pat, cases[i].name) !=
		    cases[i].m)
			fail_msg("%s ~ %s", cases[i].pat, cases[i].name);
}

static char root[256];

static const struct folders_entry *
entry(const struct folders_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static void
test_folders(void **state)
{
	const char *code;
	char err[256], p[512];
	struct folders_list l;
	struct stat st;
	(void)state;
	snprintf(root, sizeof(root), "/tmp/petrel-test-folders-XXXXXX");
	assert_non_null(mkdtemp(root));

	assert_int_equal(folders_init(root), 0);
	assert_int_equal(folders_list(root, &l), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.v[0].name, "INBOX");
	assert_true(l.v[0].subscribed);
	assert_int_equal(entry(&l, "Sent")->special, FOLDERS_SENT);
	assert_int_equal(entry(&l, "Junk")->special, FOLDERS_JUNK);
	assert_true(entry(&l, "Archive")->subscribed);
	folders_list_free(&l);
	snprintf(p, sizeof(p), "%s/.Trash/maildirfolder", root);
	assert_int_equal(stat(p, &st), 0);

	/* Deleted defaults stay deleted. */
	assert_int_equal(folders_delete(root, "Junk", &code, err, sizeof(err)),
			 0);
	assert_int_equal(folders_init(root), 0);
	assert_false(folders_exists(root, "Junk"));

	/* CREATE makes the parents. */
	assert_int_equal(folders_create(root, "a.b.c", &code, err, sizeof(err)),
			 0);
	assert_true(folders_exists(root, "a"));
	assert_true(folders_exists(root, "a.b"));
	assert_int_equal(folders_create(root, "a.b", &code, err, sizeof(err)),
			 -1);
	assert_string_equal(code, "ALREADYEXISTS");
	assert_int_equal(folders_create(root, "INBOX", &code, err, sizeof(err)),
			 -1);
	assert_int_equal(folders_create(root, "x..y", &code, err, sizeof(err)),
			 -1);
	assert_string_equal(code, "CANNOT");
	assert_int_equal(folders_create(root, "../x", &code, err, sizeof(err)),
			 -1);
	assert_int_equal(folders_create(root, ".x", &code, err, sizeof(err)),
			 -1);

	/* DELETE: not with children, not INBOX, not twice. */
	assert_int_equal(folders_delete(root, "a", &code, err, sizeof(err)),
			 -1);
	assert_string_equal(code, "INUSE");
	assert_int_equal(folders_delete(root, "INBOX", &code, err, sizeof(err)),
			 -1);
	assert_int_equal(folders_delete(root, "a.b.c", &code, err, sizeof(err)),
			 0);
	assert_int_equal(folders_delete(root, "a.b.c", &code, err, sizeof(err)),
			 -1);
	assert_string_equal(code, "NONEXISTENT");

	/* RENAME takes the children and the subscription along. */
	assert_int_equal(folders_subscribe(root, "a.b", true), 0);
	assert_int_equal(
	    folders_rename(root, "a", "z.y", &code, err, sizeof(err)), 0);
	assert_false(folders_exists(root, "a"));
	assert_true(folders_exists(root, "z"));
	assert_true(folders_exists(root, "z.y.b"));
	assert_int_equal(folders_list(root, &l), 0);
	assert_true(entry(&l, "z.y.b")->subscribed);
	assert_null(entry(&l, "a.b"));
	assert_true(entry(&l, "z")->children);
	assert_false(entry(&l, "z.y.b")->children);
	folders_list_free(&l);
	assert_int_equal(
	    folders_rename(root, "z", "z.q", &code, err, sizeof(err)), -1);
	assert_int_equal(
	    folders_rename(root, "Sent", "Trash", &code, err, sizeof(err)), -1);
	assert_string_equal(code, "ALREADYEXISTS");

	/* RENAME INBOX moves its messages and leaves it empty. */
	snprintf(p, sizeof(p), "%s/new/1.M1P1.h,S=1", root);
	FILE *f = fopen(p, "w");
	fputs("x", f);
	fclose(f);
	assert_int_equal(
	    folders_rename(root, "INBOX", "Old", &code, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &st), -1);
	snprintf(p, sizeof(p), "%s/.Old/new/1.M1P1.h,S=1", root);
	assert_int_equal(stat(p, &st), 0);

	/* A subscription to a folder that is gone. */
	assert_int_equal(folders_subscribe(root, "Gone", true), 0);
	assert_int_equal(folders_list(root, &l), 0);
	assert_true(entry(&l, "Gone")->nonexistent);
	folders_list_free(&l);
	assert_int_equal(folders_subscribe(root, "Gone", false), 0);
	assert_int_equal(folders_list(root, &l), 0);
	assert_null(entry(&l, "Gone"));
	folders_list_free(&l);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mutf7),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_folders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
