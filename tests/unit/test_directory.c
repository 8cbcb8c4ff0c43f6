/*
 * test_directory - directory_expand and directory_check_password against
 * a real SQLite file in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/directory.h"

struct fixture {
	char tmp[64];
	char path[128];
	struct directory *dir;
};

static void
ok(int r, const char *err)
{
	if (r != 0)
		fail_msg("%s", err);
}

static void
alias(struct directory *dir, const char *address, const char *targets)
{
	char err[256], *copy = strdup(targets), *save = NULL;
	const char *list[16];
	size_t n = 0;

	for (char *t = strtok_r(copy, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save))
		list[n++] = t;
	ok(directory_alias_add(dir, address, list, n, err, sizeof(err)), err);
	free(copy);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256], name[64];

	strcpy(f->tmp, "/tmp/test_directory.XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->path, sizeof(f->path), "%s/directory.db", f->tmp);
	f->dir = directory_open(f->path, true, err, sizeof(err));
	if (f->dir == NULL)
		fail_msg("%s", err);
	struct directory *d = f->dir;
	ok(directory_domain_add(d, "Example.ORG", err, sizeof(err)), err);
	ok(directory_domain_add(d, "other.org", err, sizeof(err)), err);
	ok(directory_domain_add(d, "loop.org", err, sizeof(err)), err);
	ok(directory_user_add(d, "alice@example.org", "pw-alice", err,
			      sizeof(err)),
	   err);
	ok(directory_user_add(d, "Bob@example.org", "pw-bob", err, sizeof(err)),
	   err);
	ok(directory_user_add(d, "dave@example.org", "pw-dave", err,
			      sizeof(err)),
	   err);
	ok(directory_user_add(d, "carol@other.org", "pw-carol", err,
			      sizeof(err)),
	   err);
	alias(d, "sales@example.org", "bob@example.org");
	alias(d, "team@example.org",
	      "alice@example.org BOB@example.org ext@remote.net");
	alias(d, "all@example.org",
	      "team@example.org alice@example.org "
	      "sales@example.org ext@remote.net");
	alias(d, "alice+spam@example.org", "trap@remote.net");
	alias(d, "dave@example.org", "dave@example.org copy@remote.net");
	alias(d, "l1@example.org", "l2@example.org");
	alias(d, "l2@example.org", "l1@example.org");
	alias(d, "m1@example.org", "m2@example.org alice@example.org");
	alias(d, "m2@example.org", "m1@example.org");
	alias(d, "dead@example.org", "nobody@example.org");
	alias(d, "@other.org", "carol@other.org");
	alias(d, "@loop.org", "nobody@loop.org");
	/* d0 -> d1 -> ... -> d11 -> alice: 12 levels of aliases. */
	for (int i = 0; i < 12; i++) {
		char t[64];
		snprintf(name, sizeof(name), "d%d@example.org", i);
		if (i < 11)
			snprintf(t, sizeof(t), "d%d@example.org", i + 1);
		else
			snprintf(t, sizeof(t), "alice@example.org");
		alias(d, name, t);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	directory_close(&f->dir);
	assert_null(f->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* expect - expand address; check the result and "addr,addr" (remote "!"). */
static void
expect(void **state, const char *address, enum directory_result want,
       const char *targets)
{
	struct fixture *f = *state;
	struct directory_targets t = {0};
	char got[1024] = "";

	assert_int_equal(directory_expand(f->dir, address, &t), want);
	for (size_t i = 0; i < t.n; i++) {
		if (i > 0)
			strcat(got, ",");
		if (!t.items[i].local)
			strcat(got, "!");
		strcat(got, t.items[i].address);
		if (t.items[i].local) {
			char mb[512];
			snprintf(mb, sizeof(mb), "%s@%s", t.items[i].localpart,
				 t.items[i].domain);
			assert_string_equal(mb, t.items[i].address);
		} else {
			assert_null(t.items[i].localpart);
		}
	}
	assert_string_equal(got, targets);
	directory_targets_free(&t);
	assert_int_equal(t.n, 0);
	assert_null(t.items);
}

static void
test_users(void **state)
{
	expect(state, "alice@example.org", DIRECTORY_OK, "alice@example.org");
	/* Case-insensitive match; the target is the stored spelling. */
	expect(state, "ALICE@EXAMPLE.ORG", DIRECTORY_OK, "alice@example.org");
	expect(state, "bob@example.org", DIRECTORY_OK, "Bob@example.org");
	expect(state, "nobody@example.org", DIRECTORY_NO_SUCH_USER, "");
	expect(state, "not an address", DIRECTORY_NO_SUCH_USER, "");
}

static void
test_plus_tag(void **state)
{
	expect(state, "alice+news@example.org", DIRECTORY_OK,
	       "alice@example.org");
	expect(state, "Sales+Q3@example.org", DIRECTORY_OK, "Bob@example.org");
	/* An alias for the exact tagged address wins over stripping. */
	expect(state, "alice+spam@example.org", DIRECTORY_OK,
	       "!trap@remote.net");
	expect(state, "+x@example.org", DIRECTORY_NO_SUCH_USER, "");
	expect(state, "nobody+x@example.org", DIRECTORY_NO_SUCH_USER, "");
}

static void
test_lists_and_dedupe(void **state)
{
	expect(state, "team@example.org", DIRECTORY_OK,
	       "alice@example.org,Bob@example.org,!ext@remote.net");
	/* team, alice, sales (= bob) and ext again: each delivered once. */
	expect(state, "all@example.org", DIRECTORY_OK,
	       "alice@example.org,Bob@example.org,!ext@remote.net");
}

static void
test_dedupe_across_calls(void **state)
{
	struct fixture *f = *state;
	struct directory_targets t = {0};

	assert_int_equal(directory_expand(f->dir, "alice@example.org", &t),
			 DIRECTORY_OK);
	assert_int_equal(directory_expand(f->dir, "Alice+x@example.org", &t),
			 DIRECTORY_OK);
	assert_int_equal(directory_expand(f->dir, "team@example.org", &t),
			 DIRECTORY_OK);
	assert_int_equal(t.n, 3);
	assert_int_equal(directory_expand(f->dir, "x@remote.net", &t),
			 DIRECTORY_NOT_LOCAL);
	assert_int_equal(directory_expand(f->dir, "x@remote.net", &t),
			 DIRECTORY_NOT_LOCAL);
	assert_int_equal(t.n, 4);
	/* A failed lookup leaves what is there alone. */
	assert_int_equal(directory_expand(f->dir, "l1@example.org", &t),
			 DIRECTORY_LOOP);
	assert_int_equal(t.n, 4);
	directory_targets_free(&t);
}

static void
test_remote(void **state)
{
	expect(state, "Someone@Remote.NET", DIRECTORY_NOT_LOCAL,
	       "!Someone@remote.net");
}

static void
test_postmaster(void **state)
{
	expect(state, "postmaster@example.org", DIRECTORY_OK,
	       "postmaster@example.org");
	expect(state, "PostMaster@other.org", DIRECTORY_OK,
	       "postmaster@other.org");
	expect(state, "postmaster+x@example.org", DIRECTORY_OK,
	       "postmaster@example.org");
}

static void
test_catch_all(void **state)
{
	expect(state, "anything@other.org", DIRECTORY_OK, "carol@other.org");
	expect(state, "carol+tag@other.org", DIRECTORY_OK, "carol@other.org");
	/* A catch-all pointing back into its own domain at nobody. */
	expect(state, "x@loop.org", DIRECTORY_LOOP, "");
	/* No catch-all in example.org. */
	expect(state, "who@example.org", DIRECTORY_NO_SUCH_USER, "");
}

static void
test_loops(void **state)
{
	expect(state, "l1@example.org", DIRECTORY_LOOP, "");
	/* A loop with a way out delivers to the way out. */
	expect(state, "m1@example.org", DIRECTORY_OK, "alice@example.org");
	/* An alias naming itself delivers to the user of that name. */
	expect(state, "dave@example.org", DIRECTORY_OK,
	       "dave@example.org,!copy@remote.net");
	/* Targets that lead nowhere are skipped. */
	expect(state, "dead@example.org", DIRECTORY_NO_SUCH_USER, "");
}

static void
test_depth(void **state)
{
	/* d2 .. d11: 10 aliases deep, fine; d0: 12, too deep. */
	expect(state, "d2@example.org", DIRECTORY_OK, "alice@example.org");
	expect(state, "d0@example.org", DIRECTORY_LOOP, "");
}

static void
test_is_local_domain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(directory_is_local_domain(f->dir, "example.org"), 1);
	assert_int_equal(directory_is_local_domain(f->dir, "EXAMPLE.Org"), 1);
	assert_int_equal(directory_is_local_domain(f->dir, "remote.net"), 0);
	assert_int_equal(directory_is_local_domain(f->dir, "bad..name"), 0);
}

static void
test_password(void **state)
{
	struct fixture *f = *state;
	char err[256];

	assert_int_equal(
	    directory_check_password(f->dir, "alice@example.org", "pw-alice"),
	    1);
	assert_int_equal(
	    directory_check_password(f->dir, "ALICE@Example.org", "pw-alice"),
	    1);
	assert_int_equal(
	    directory_check_password(f->dir, "alice@example.org", "pw-bob"), 0);
	assert_int_equal(
	    directory_check_password(f->dir, "alice@example.org", ""), 0);
	assert_int_equal(
	    directory_check_password(f->dir, "ghost@example.org", "x"), 0);
	assert_int_equal(directory_check_password(f->dir, "garbage", "x"), 0);
	/* An alias is not an account. */
	assert_int_equal(
	    directory_check_password(f->dir, "sales@example.org", "pw-bob"), 0);
	ok(directory_user_passwd(f->dir, "bob@EXAMPLE.org", "new", err,
				 sizeof(err)),
	   err);
	assert_int_equal(
	    directory_check_password(f->dir, "Bob@example.org", "pw-bob"), 0);
	assert_int_equal(
	    directory_check_password(f->dir, "bob@example.org", "new"), 1);
}

static void
test_hash(void **state)
{
	char a[256], b[256];

	(void)state;
	assert_int_equal(directory_hash_password("secret", a, sizeof(a)), 0);
	assert_int_equal(directory_hash_password("secret", b, sizeof(b)), 0);
	assert_true(strncmp(a, "$y$", 3) == 0);
	assert_null(strstr(a, "secret"));
	assert_string_not_equal(a, b); /* fresh salt each time */
	assert_int_equal(directory_hash_password("secret", a, 10), -1);
}

static void
test_admin_errors(void **state)
{
	struct fixture *f = *state;
	const char *t[] = {"x@remote.net"};
	char err[256];
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(
	    directory_domain_add(f->dir, "EXAMPLE.org", err, sizeof(err)), -1);
	assert_string_equal(err, "domain example.org already exists");
	assert_int_equal(
	    directory_user_add(f->dir, "a@nope.org", "p", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "unknown domain nope.org");
	assert_int_equal(
	    directory_user_add(f->dir, "foo", "p", err, sizeof(err)), -1);
	assert_string_equal(err, "malformed address 'foo'");
	assert_int_equal(directory_user_add(f->dir, "ALICE@example.org", "p",
					    err, sizeof(err)),
			 -1);
	assert_int_equal(
	    directory_user_add(f->dir, "x@example.org", "", err, sizeof(err)),
	    -1);
	assert_int_equal(
	    directory_user_del(f->dir, "ghost@example.org", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "unknown user ghost@example.org");
	assert_int_equal(
	    directory_domain_del(f->dir, "other.org", err, sizeof(err)), -1);
	assert_int_equal(
	    directory_alias_add(f->dir, "@nope.org", t, 1, err, sizeof(err)),
	    -1);
	assert_int_equal(directory_alias_add(f->dir, "a@example.org", t, 0, err,
					     sizeof(err)),
			 -1);
	/* Replacing an alias replaces its targets. */
	ok(directory_alias_add(f->dir, "SALES@example.org", t, 1, err,
			       sizeof(err)),
	   err);
	expect(state, "sales@example.org", DIRECTORY_OK, "!x@remote.net");
	ok(directory_alias_del(f->dir, "sales@EXAMPLE.org", err, sizeof(err)),
	   err);
	expect(state, "sales@example.org", DIRECTORY_NO_SUCH_USER, "");
}

static void
test_quota(void **state)
{
	struct fixture *f = *state;
	char err[256];
	uint64_t q = 99;

	/* A new user has no quota; an unknown one is not a user. */
	assert_int_equal(directory_user_quota(f->dir, "bob@example.org", &q),
			 1);
	assert_int_equal(q, 0);
	ok(directory_user_quota_set(f->dir, "BOB@example.org",
				    (uint64_t)5 << 30, err, sizeof(err)),
	   err);
	assert_int_equal(directory_user_quota(f->dir, "bob@EXAMPLE.org", &q),
			 1);
	assert_int_equal(q, (uint64_t)5 << 30);
	ok(directory_user_quota_set(f->dir, "bob@example.org", 0, err,
				    sizeof(err)),
	   err);
	assert_int_equal(directory_user_quota(f->dir, "bob@example.org", &q),
			 1);
	assert_int_equal(q, 0);
	q = 7;
	assert_int_equal(directory_user_quota(f->dir, "ghost@example.org", &q),
			 0);
	assert_int_equal(q, 0);
	assert_int_equal(directory_user_quota(f->dir, "garbage", &q), 0);
	assert_int_equal(directory_user_quota_set(f->dir, "ghost@example.org",
						  1, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "unknown user"));
	assert_int_equal(directory_user_quota_set(f->dir, "bob@example.org",
						  UINT64_MAX, err, sizeof(err)),
			 -1);
}

/* Issue 9: a hosted domain is one domain in its U-label and A-label
 * spellings (RFC 5890); RFC 6531 local parts are users like others. */
static void
test_idn(void **state)
{
	struct fixture *f = *state;
	char err[256];

	ok(directory_domain_add(f->dir,
				"B\xc3\xbc"
				"cher.example",
				err, sizeof(err)),
	   err);
	assert_int_equal(directory_domain_add(f->dir, "xn--bcher-kva.EXAMPLE",
					      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(directory_is_local_domain(f->dir, "b\xc3\xbc"
							   "cher.example"),
			 1);
	assert_int_equal(
	    directory_is_local_domain(f->dir, "XN--BCHER-KVA.example"), 1);
	ok(directory_user_add(f->dir,
			      "j\xc3\xb6rg@b\xc3\xbc"
			      "cher.example",
			      "pw", err, sizeof(err)),
	   err);
	expect(state, "j\xc3\xb6rg@xn--bcher-kva.example", DIRECTORY_OK,
	       "j\xc3\xb6rg@xn--bcher-kva.example");
	expect(state,
	       "J\xc3\xb6RG@B\xc3\x9c"
	       "CHER.example",
	       DIRECTORY_OK, "j\xc3\xb6rg@xn--bcher-kva.example");
	assert_int_equal(directory_check_password(f->dir,
						  "j\xc3\xb6rg@b\xc3\xbc"
						  "cher.example",
						  "pw"),
			 1);
	/* A remote U-label domain is routed by its A-label. */
	expect(state, "x@m\xc3\xbcnchen.example", DIRECTORY_NOT_LOCAL,
	       "!x@xn--mnchen-3ya.example");
	/* Not IDNA2008: refused like any malformed name. */
	assert_int_equal(directory_domain_add(f->dir, "\xe2\x9d\xa4.example",
					      err, sizeof(err)),
			 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_users, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plus_tag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lists_and_dedupe, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_dedupe_across_calls, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_remote, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_postmaster, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catch_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_is_local_domain, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_password, setup, teardown),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test_setup_teardown(test_admin_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_idn, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
