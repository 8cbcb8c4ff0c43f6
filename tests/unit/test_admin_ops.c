/*
 * test_admin_ops - the one module every admin action goes through, on a
 * temporary data_dir: the kind each directory reason is sorted into (the
 * web's HTTP status depends on it, so the wording is pinned here), admin
 * accounts, logins and API tokens, and the queue and badmail actions on
 * real queue files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin/admin_ops.h"
#include "conf/config.h"
#include "mailauth/dns_records.h"
#include "queue/queue.h"
#include "store/directory.h"
#include "util/fsutil.h"
#include "util/log_ring.h"
#include "util/xalloc.h"

struct fixture {
	char tmp[64];
	struct config cfg;
	struct admin_ctx ctx;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256], path[PATH_MAX];

	strcpy(f->tmp, "/tmp/test_admin_ops.XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	config_init(&f->cfg);
	snprintf(path, sizeof(path), "%s/data", f->tmp);
	assert_int_equal(
	    config_set(&f->cfg, "data_dir", path, err, sizeof(err)), 0);
	assert_int_equal(queue_setup(path, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/data/directory.db", f->tmp);
	f->ctx.cfg = &f->cfg;
	f->ctx.dir = directory_open(path, true, err, sizeof(err));
	assert_non_null(f->ctx.dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	directory_close(&f->ctx.dir);
	config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->tmp);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* expect - r failed with status, and the reason contains part. */
static void
expect(int r, const struct admin_result *res, enum admin_status status,
       const char *part)
{
	assert_int_equal(r, -1);
	if (res->status != status || strstr(res->error, part) == NULL)
		fail_msg("got %d '%s', want %d '%s'", res->status, res->error,
			 status, part);
}

static void
test_directory_kinds(void **state)
{
	struct fixture *f = *state;
	const struct admin_ctx *c = &f->ctx;
	struct admin_result res = {0};
	const char *targets[] = {"alice@example.org"};

	assert_int_equal(admin_domain_add(c, "example.org", &res), 0);
	expect(admin_domain_add(c, "EXAMPLE.org", &res), &res, ADMIN_CONFLICT,
	       "already exists");
	expect(admin_domain_add(c, "bad domain", &res), &res, ADMIN_INVALID,
	       "malformed");
	expect(admin_domain_del(c, "nope.org", &res), &res, ADMIN_NOT_FOUND,
	       "unknown domain");
	assert_int_equal(admin_user_add(c, "alice@example.org", "pw", &res), 0);
	expect(admin_user_add(c, "alice@example.org", "pw", &res), &res,
	       ADMIN_CONFLICT, "already exists");
	expect(admin_user_add(c, "x@nope.org", "pw", &res), &res,
	       ADMIN_NOT_FOUND, "unknown domain");
	expect(admin_user_add(c, "x@example.org", "", &res), &res,
	       ADMIN_INVALID, "empty password");
	expect(admin_user_add(c, "junk", "pw", &res), &res, ADMIN_INVALID,
	       "malformed");
	expect(admin_user_passwd(c, "bob@example.org", "pw", &res), &res,
	       ADMIN_NOT_FOUND, "unknown user");
	expect(admin_user_del(c, "bob@example.org", &res), &res,
	       ADMIN_NOT_FOUND, "unknown user");
	expect(admin_domain_del(c, "example.org", &res), &res, ADMIN_CONFLICT,
	       "still has users");
	uint64_t q;
	expect(admin_user_quota_get(c, "bob@example.org", &q, &res), &res,
	       ADMIN_NOT_FOUND, "unknown user");
	assert_int_equal(
	    admin_user_quota_set(c, "alice@example.org", 3 << 20, &res), 0);
	assert_int_equal(admin_user_quota_get(c, "alice@example.org", &q, &res),
			 0);
	assert_int_equal(q, 3 << 20);
	expect(admin_user_list(c, "nope.org", false, NULL, NULL, &res), &res,
	       ADMIN_NOT_FOUND, "unknown domain nope.org");
	assert_int_equal(
	    admin_alias_add(c, "sales@example.org", targets, 1, &res), 0);
	expect(admin_alias_add(c, "x@example.org", targets, 0, &res), &res,
	       ADMIN_INVALID, "needs at least one target");
	expect(admin_alias_del(c, "x@example.org", &res), &res, ADMIN_NOT_FOUND,
	       "unknown alias");
	expect(admin_alias_list(c, "nope.org", NULL, NULL, &res), &res,
	       ADMIN_NOT_FOUND, "unknown domain");
	/* The kinds of reasons nothing above produced. */
	admin_fail_directory(&res, "directory database: disk I/O error");
	assert_int_equal(res.status, ADMIN_ERROR);
	admin_fail_directory(&res, "cannot hash password: x");
	assert_int_equal(res.status, ADMIN_ERROR);
}

static void
test_quota_text(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
	    {0, "none"},	   {1, "1"},
	    {1500, "1500"},	   {1024, "1k"},
	    {500 << 20, "500m"},   {2ull << 30, "2g"},
	    {3ull << 40, "3072g"}, {1025, "1025"},
	};
	char out[32];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		admin_format_quota(cases[i].bytes, out, sizeof(out));
		assert_string_equal(out, cases[i].text);
	}
}

static void
row(const char *a, void *arg)
{
	strcat(arg, a);
	strcat(arg, ";");
}

static void
token_row(const char *name, const char *created, void *arg)
{
	assert_non_null(strstr(created, " UTC"));
	strcat(arg, name);
	strcat(arg, ";");
}

static void
test_accounts_logins_tokens(void **state)
{
	struct fixture *f = *state;
	const struct admin_ctx *c = &f->ctx;
	struct admin_result res = {0};
	char list[512] = "", tok[ADMIN_TOKEN_LEN + 1],
	     tok2[ADMIN_TOKEN_LEN + 1];
	char name[80];

	assert_int_equal(admin_domain_add(c, "example.org", &res), 0);
	assert_int_equal(admin_user_add(c, "alice@example.org", "mail", &res),
			 0);
	/* An admin needs no hosted domain; one address may be both. */
	assert_int_equal(admin_account_add(c, "Root@Admin.Test", "r", &res), 0);
	assert_int_equal(admin_account_add(c, "alice@example.org", "adm", &res),
			 0);
	expect(admin_account_add(c, "root@admin.test", "x", &res), &res,
	       ADMIN_CONFLICT, "already exists");
	expect(admin_account_add(c, "junk", "x", &res), &res, ADMIN_INVALID,
	       "malformed");
	expect(admin_account_add(c, "a@b.test", "", &res), &res, ADMIN_INVALID,
	       "empty password");
	assert_int_equal(admin_account_list(c, row, list, &res), 0);
	assert_string_equal(list, "alice@example.org;Root@admin.test;");
	assert_int_equal(directory_admin_exists(c->dir, "ROOT@admin.test"), 1);
	assert_int_equal(directory_admin_exists(c->dir, "x@admin.test"), 0);

	assert_int_equal(admin_login(c, "root@ADMIN.test", "r"), 2);
	assert_int_equal(admin_login(c, "root@admin.test", "wrong"), 0);
	assert_int_equal(admin_login(c, "alice@example.org", "adm"), 2);
	assert_int_equal(admin_login(c, "alice@example.org", "mail"), 1);
	assert_int_equal(admin_login(c, "alice@example.org", "x"), 0);
	assert_int_equal(admin_login(c, "nobody@example.org", "x"), 0);
	assert_int_equal(admin_login(c, "not an address", "x"), 0);

	expect(
	    admin_own_password(c, "alice@example.org", false, "bad", "n", &res),
	    &res, ADMIN_INVALID, "wrong current password");
	assert_int_equal(admin_own_password(c, "alice@example.org", false,
					    "mail", "mail2", &res),
			 0);
	assert_int_equal(admin_login(c, "alice@example.org", "mail2"), 1);
	assert_int_equal(admin_login(c, "alice@example.org", "adm"), 2);
	assert_int_equal(
	    admin_own_password(c, "root@admin.test", true, "r", "r2", &res), 0);
	assert_int_equal(admin_login(c, "root@admin.test", "r2"), 2);
	assert_int_equal(admin_account_passwd(c, "root@admin.test", "r3", &res),
			 0);
	assert_int_equal(admin_login(c, "root@admin.test", "r3"), 2);
	expect(admin_account_passwd(c, "x@admin.test", "r3", &res), &res,
	       ADMIN_NOT_FOUND, "unknown admin");
	assert_int_equal(admin_account_del(c, "root@admin.test", &res), 0);
	assert_int_equal(admin_login(c, "root@admin.test", "r3"), 0);
	expect(admin_account_del(c, "root@admin.test", &res), &res,
	       ADMIN_NOT_FOUND, "unknown admin");

	/* Tokens: random, shown once, kept as a hash. */
	assert_int_equal(admin_token_add(c, "ci", tok, &res), 0);
	assert_int_equal(strlen(tok), ADMIN_TOKEN_LEN);
	assert_int_equal(strspn(tok, "0123456789abcdef"), ADMIN_TOKEN_LEN);
	assert_int_equal(admin_token_add(c, "prom-1.a_b", tok2, &res), 0);
	assert_string_not_equal(tok, tok2);
	expect(admin_token_add(c, "ci", tok2, &res), &res, ADMIN_CONFLICT,
	       "already exists");
	expect(admin_token_add(c, "bad name", tok2, &res), &res, ADMIN_INVALID,
	       "malformed token name");
	expect(admin_token_add(c, "", tok2, &res), &res, ADMIN_INVALID,
	       "malformed token name");
	assert_int_equal(directory_token_check(c->dir, tok, name, sizeof(name)),
			 1);
	assert_string_equal(name, "ci");
	tok[0] = tok[0] == 'a' ? 'b' : 'a';
	assert_int_equal(directory_token_check(c->dir, tok, name, sizeof(name)),
			 0);
	assert_int_equal(directory_token_check(c->dir, "", NULL, 0), 0);
	list[0] = '\0';
	assert_int_equal(admin_token_list(c, token_row, list, &res), 0);
	assert_string_equal(list, "ci;prom-1.a_b;");
	assert_int_equal(admin_token_del(c, "ci", &res), 0);
	expect(admin_token_del(c, "ci", &res), &res, ADMIN_NOT_FOUND,
	       "unknown token");
}

/* --- the queue --- */

/* queue_one - a queued message id with one pending remote recipient (and
 * one delivered local one). */
static void
queue_one(struct fixture *f, const char *id, const char *body)
{
	struct queue_envelope env = {0};
	char path[PATH_MAX];
	size_t len;

	snprintf(env.id, sizeof(env.id), "%s", id);
	env.arrival = time(NULL) - 100;
	env.size = strlen(body);
	env.client = xstrdup("127.0.0.1");
	env.helo = xstrdup("client.test");
	env.sender = xstrdup("alice@example.org");
	queue_envelope_add_rcpt(&env, "bob@far.test", "", false, NULL, NULL);
	queue_envelope_add_rcpt(&env, "carol@example.org", "", true,
				"example.org", "carol");
	char *text = queue_envelope_format(&env, &len);
	char *upd = queue_envelope_format_update(1, QUEUE_RCPT_DONE, 1, 0,
						 "delivered", &len);
	queue_path(f->cfg.data_dir, "msg", id, path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(fsutil_write_all(fd, body, strlen(body)), 0);
	close(fd);
	queue_path(f->cfg.data_dir, "env", id, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(fsutil_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fsutil_write_all(fd, upd, strlen(upd)), 0);
	close(fd);
	free(text);
	free(upd);
	queue_envelope_free(&env);
}

static void
test_queue(void **state)
{
	struct fixture *f = *state;
	const struct admin_ctx *c = &f->ctx;
	struct admin_result res = {0};
	struct admin_queue_list l;
	struct queue_envelope env;
	char *msg;
	size_t len, n;
	bool more;

	queue_one(f, "00AA", "Subject: one\r\n\r\nbody\r\n");
	queue_one(f, "00BB", "Subject: two\r\n\r\nbody\r\n");
	assert_int_equal(admin_queue_list(c, &l, &res), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].id, "00AA");
	assert_int_equal(queue_envelope_pending(&l.items[0]), 1);
	admin_queue_list_free(&l);

	assert_int_equal(
	    admin_queue_show(c, "00AA", &env, &msg, &len, 9, &more, &res), 0);
	assert_int_equal(len, 9);
	assert_true(more);
	assert_memory_equal(msg, "Subject: ", 9);
	assert_string_equal(env.sender, "alice@example.org");
	assert_int_equal(env.rcpts[1].state, QUEUE_RCPT_DONE);
	queue_envelope_free(&env);
	free(msg);
	expect(admin_queue_show(c, "00CC", &env, &msg, &len, 9, &more, &res),
	       &res, ADMIN_NOT_FOUND, "no such message");
	expect(admin_queue_show(c, "../x", &env, &msg, &len, 9, &more, &res),
	       &res, ADMIN_INVALID, "malformed queue id");

	res.queue_changed = false;
	assert_int_equal(admin_queue_flush(c, "00AA", &n, &res), 0);
	assert_true(res.queue_changed);
	assert_int_equal(n, 1);
	expect(admin_queue_flush(c, "00CC", &n, &res), &res, ADMIN_NOT_FOUND,
	       "no such message");
	expect(admin_queue_flush(c, "00aa", &n, &res), &res, ADMIN_INVALID,
	       "malformed");
	assert_int_equal(admin_queue_flush(c, NULL, &n, &res), 0);
	assert_int_equal(n, 2);

	assert_int_equal(admin_queue_bounce(c, "00AA", &n, &res), 0);
	assert_int_equal(n, 1);
	char err[128];
	assert_int_equal(
	    queue_load(f->cfg.data_dir, "00AA", &env, err, sizeof(err)), 0);
	assert_int_equal(env.rcpts[0].state, QUEUE_RCPT_FAILED);
	assert_non_null(strstr(env.rcpts[0].last_error, "postmaster"));
	queue_envelope_free(&env);
	/* Nothing pending now: not listed. */
	assert_int_equal(admin_queue_list(c, &l, &res), 0);
	assert_int_equal(l.n, 1);
	admin_queue_list_free(&l);

	assert_int_equal(admin_queue_delete(c, "00BB", &n, &res), 0);
	expect(admin_queue_delete(c, "00BB", &n, &res), &res, ADMIN_NOT_FOUND,
	       "no such message");
	assert_int_equal(admin_queue_delete(c, "all", &n, &res), 0);
	assert_int_equal(n, 1);
	assert_int_equal(admin_queue_list(c, &l, &res), 0);
	assert_int_equal(l.n, 0);
	admin_queue_list_free(&l);
}

/* --- badmail --- */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fsutil_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static void
test_badmail(void **state)
{
	struct fixture *f = *state;
	const struct admin_ctx *c = &f->ctx;
	struct admin_result res = {0};
	struct admin_badmail_list l;
	struct admin_badmail b;
	char bad[PATH_MAX], path[PATH_MAX], *msg;
	size_t len;
	bool more;

	snprintf(bad, sizeof(bad), "%s/badmail", f->cfg.data_dir);
	/* One from the queue (with its envelope), one from pickup/. */
	queue_one(f, "00D1", "Subject: dead\r\n\r\nx\r\n");
	char env_path[PATH_MAX];
	queue_path(f->cfg.data_dir, "env", "00D1", env_path, sizeof(env_path));
	snprintf(path, sizeof(path), "%s/00D1.env", bad);
	assert_int_equal(rename(env_path, path), 0);
	queue_path(f->cfg.data_dir, "msg", "00D1", env_path, sizeof(env_path));
	snprintf(path, sizeof(path), "%s/00D1", bad);
	assert_int_equal(rename(env_path, path), 0);
	write_file(bad, "00D1.reason", "queue id: 00D1\nundeliverable\n");
	write_file(bad, "00D2", "broken pickup file\n");
	write_file(bad, "00D2.reason", "pickup file: x\nno sender\n");
	write_file(bad, ".hidden", "x");

	assert_int_equal(admin_badmail_list(c, &l, &res), 0);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < l.n; i++) {
		bool q = strcmp(l.items[i].id, "00D1") == 0;
		assert_int_equal(l.items[i].requeue, q);
		assert_non_null(strstr(l.items[i].reason,
				       q ? "undeliverable" : "no sender"));
	}
	admin_badmail_list_free(&l);
	assert_int_equal(
	    admin_badmail_show(c, "00D1", &b, &msg, &len, 1 << 20, &more, &res),
	    0);
	assert_false(more);
	assert_string_equal(msg, "Subject: dead\r\n\r\nx\r\n");
	admin_badmail_free(&b);
	free(msg);
	expect(admin_badmail_show(c, "00D9", &b, &msg, &len, 1, &more, &res),
	       &res, ADMIN_NOT_FOUND, "no such dead letter");
	expect(
	    admin_badmail_show(c, "00D1.env", &b, &msg, &len, 1, &more, &res),
	    &res, ADMIN_INVALID, "malformed");

	/* Resend: back into the queue, only the recipient not delivered,
	 * pending again with a fresh lifetime. */
	res.queue_changed = false;
	assert_int_equal(admin_badmail_resend(c, "00D1", &res), 0);
	assert_true(res.queue_changed);
	struct queue_envelope env;
	char err[128];
	assert_int_equal(
	    queue_load(f->cfg.data_dir, "00D1", &env, err, sizeof(err)), 0);
	assert_int_equal(env.n_rcpts, 1);
	assert_string_equal(env.rcpts[0].address, "bob@far.test");
	assert_int_equal(env.rcpts[0].state, QUEUE_RCPT_PENDING);
	assert_int_equal(env.rcpts[0].attempts, 0);
	assert_true(env.arrival >= time(NULL) - 5);
	queue_envelope_free(&env);
	queue_path(f->cfg.data_dir, "msg", "00D1", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/00D1", bad);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/00D1.reason", bad);
	assert_int_equal(access(path, F_OK), -1);
	expect(admin_badmail_resend(c, "00D1", &res), &res, ADMIN_NOT_FOUND,
	       "no such dead letter");

	/* A pickup file goes back to pickup/. */
	assert_int_equal(admin_badmail_resend(c, "00D2", &res), 0);
	snprintf(path, sizeof(path), "%s/pickup/badmail-00D2", f->cfg.data_dir);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(admin_badmail_list(c, &l, &res), 0);
	assert_int_equal(l.n, 0);
	admin_badmail_list_free(&l);

	write_file(bad, "00D3", "x");
	assert_int_equal(admin_badmail_delete(c, "00D3", &res), 0);
	expect(admin_badmail_delete(c, "00D3", &res), &res, ADMIN_NOT_FOUND,
	       "no such dead letter");
}

static void
test_dns_and_logs(void **state)
{
	struct fixture *f = *state;
	struct admin_result res = {0};
	struct dns_records r = {0};
	char got[256] = "";

	expect(admin_dns_records(&f->ctx, "bad domain", &r, &res), &res,
	       ADMIN_INVALID, "malformed domain");
	assert_int_equal(admin_dns_records(&f->ctx, "Example.ORG", &r, &res),
			 0);
	assert_true(r.n >= 3);
	assert_string_equal(r.items[0].name, "example.org.");
	dns_records_free(&r);
	expect(admin_log_lines("not-an-id", row, got, &res), &res,
	       ADMIN_INVALID, "malformed queue id");
	log_ring_enable(10);
	log_ring_add("x 00EE: from=<a@b>", 18);
	log_ring_add("x 00EF: other", 13);
	log_ring_add("x 00EE: removed", 15);
	assert_int_equal(admin_log_lines("00EE", row, got, &res), 0);
	assert_string_equal(got, "x 00EE: from=<a@b>;x 00EE: removed;");
	log_ring_enable(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_directory_kinds, setup,
					    teardown),
	    cmocka_unit_test(test_quota_text),
	    cmocka_unit_test_setup_teardown(test_accounts_logins_tokens, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_badmail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dns_and_logs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
