/*
 * test_envelope - the queue record format: format -> parse round trips,
 * replay of appended state lines, torn final lines, malformed files.
 *
 * Every parse runs twice: on the text as given and on an exact-length
 * malloc'd copy with no NUL after it, so ASan catches any overread; both
 * runs must give the same result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/envelope.h"

#define S(x) x, sizeof(x) - 1

#define MAGIC "petrel-queue 1\n"
#define HEAD                                                                   \
	MAGIC "id\tABC123\narrival\t1732250000\nsize\t1234\n"                  \
	      "client\t127.0.0.1\tmail.example.org\nsender\ta@example.org\n"

static void
assert_str_or_null_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_env_equal(const struct queue_envelope *a, const struct queue_envelope *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->arrival, b->arrival);
	assert_int_equal(a->size, b->size);
	assert_str_or_null_equal(a->client, b->client);
	assert_str_or_null_equal(a->helo, b->helo);
	assert_str_or_null_equal(a->sender, b->sender);
	assert_int_equal(a->n_rcpts, b->n_rcpts);
	for (size_t i = 0; i < a->n_rcpts; i++) {
		const struct queue_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		assert_string_equal(x->address, y->address);
		assert_string_equal(x->orcpt, y->orcpt);
		assert_int_equal(x->local, y->local);
		assert_string_equal(x->domain, y->domain);
		assert_string_equal(x->localpart, y->localpart);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->attempts, y->attempts);
		assert_int_equal(x->next_attempt, y->next_attempt);
		assert_str_or_null_equal(x->last_error, y->last_error);
	}
}

/*
 * parse - queue_envelope_parse on text and on an exact-length heap copy;
 * both must agree. Returns the result; env_r holds the first parse.
 */
static int
parse(const char *text, size_t len, struct queue_envelope *env_r, char *err,
      size_t errlen)
{
	struct queue_envelope other;
	char err2[128];
	char *copy = malloc(len > 0 ? len : 1);

	assert_non_null(copy);
	memcpy(copy, text, len);
	int ret = queue_envelope_parse(text, len, env_r, err, errlen);
	int ret2 = queue_envelope_parse(copy, len, &other, err2, sizeof(err2));
	free(copy);
	assert_int_equal(ret, ret2);
	if (ret == 0) {
		assert_env_equal(env_r, &other);
		queue_envelope_free(&other);
	} else {
		assert_string_equal(err, err2);
	}
	return ret;
}

/* must_parse - parse a NUL-terminated text that must be valid. */
static void
must_parse(const char *text, size_t len, struct queue_envelope *env_r)
{
	char err[128] = "";
	int ret = parse(text, len, env_r, err, sizeof(err));
	if (ret != 0)
		fail_msg("parse failed: %s", err);
}

/* must_fail - parse must fail with an error containing want. */
static void
must_fail(size_t i, const char *text, size_t len, const char *want)
{
	struct queue_envelope env;
	char err[128] = "";

	if (parse(text, len, &env, err, sizeof(err)) != -1)
		fail_msg("bad case %zu was accepted", i);
	if (strstr(err, want) == NULL)
		fail_msg("bad case %zu: error '%s' lacks '%s'", i, err, want);
	/* A failed parse leaves nothing to free. */
	assert_null(env.rcpts);
	assert_null(env.sender);
	assert_int_equal(env.n_rcpts, 0);
}

static void
build(struct queue_envelope *env, const char *sender)
{
	memset(env, 0, sizeof(*env));
	strcpy(env->id, "0193A7C1D2E3F4");
	env->arrival = 1732250000;
	env->size = 1234;
	env->client = strdup("127.0.0.1");
	env->helo = strdup("mail.example.org");
	env->sender = strdup(sender);
	assert_non_null(env->client);
	assert_non_null(env->helo);
	assert_non_null(env->sender);
}

/* round_trip - format env, parse it, compare. */
static void
round_trip(const struct queue_envelope *env)
{
	struct queue_envelope back;
	size_t len;
	char *text = queue_envelope_format(env, &len);

	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	must_parse(text, len, &back);
	assert_env_equal(env, &back);
	queue_envelope_free(&back);
	free(text);
}

static void
test_round_trip_basic(void **state)
{
	struct queue_envelope env;
	(void)state;

	build(&env, "alice@example.org");
	queue_envelope_add_rcpt(&env, "bob@example.org", "bob@example.org",
				true, "example.org", "bob");
	queue_envelope_add_rcpt(&env, "carol@example.net", NULL, false, NULL,
				NULL);
	round_trip(&env);
	assert_int_equal(queue_envelope_pending(&env), 2);
	queue_envelope_free(&env);
}

static void
test_round_trip_null_sender(void **state)
{
	struct queue_envelope env, back;
	size_t len;
	(void)state;

	build(&env, "");
	queue_envelope_add_rcpt(&env, "bob@example.org", "", true,
				"example.org", "bob");
	round_trip(&env);
	char *text = queue_envelope_format(&env, &len);
	assert_non_null(strstr(text, "\nsender\t\n"));
	must_parse(text, len, &back);
	assert_string_equal(back.sender, "");
	queue_envelope_free(&back);
	free(text);
	queue_envelope_free(&env);
}

static void
test_round_trip_no_rcpts(void **state)
{
	struct queue_envelope env;
	(void)state;

	build(&env, "a@b");
	round_trip(&env);
	queue_envelope_free(&env);
}

static void
test_round_trip_odd_values(void **state)
{
	static const char *const odd[] = {
	    "tab\there",	"per%cent",  "%41 stays",
	    "cr\rlf\n",		"\r\n\t%",   "sp ace  s ",
	    "\x80\xff\xc3\xa9", "%",	     "%%",
	    "trailing\t",	"\tleading", "",
	    "\"q\"@[1.2.3.4]",
	};
	struct queue_envelope env;
	size_t n = sizeof(odd) / sizeof(odd[0]);
	(void)state;

	for (size_t i = 0; i < n; i++) {
		build(&env, odd[i]);
		free(env.client);
		free(env.helo);
		env.client = strdup(odd[(i + 1) % n]);
		env.helo = strdup(odd[(i + 2) % n]);
		queue_envelope_add_rcpt(&env, odd[i], odd[(i + 3) % n], true,
					odd[(i + 4) % n], odd[(i + 5) % n]);
		queue_envelope_add_rcpt(&env, odd[(i + 6) % n],
					odd[(i + 7) % n], false,
					odd[(i + 8) % n], odd[(i + 9) % n]);
		round_trip(&env);
		queue_envelope_free(&env);
	}
}

static void
test_format_escapes(void **state)
{
	struct queue_envelope env;
	size_t len;
	(void)state;

	build(&env, "a\tb%c\rd\ne");
	char *text = queue_envelope_format(&env, &len);
	assert_non_null(strstr(text, "\nsender\ta%09b%25c%0Dd%0Ae\n"));
	/* Only the record separators and structure: one line per record. */
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 6);
	free(text);
	queue_envelope_free(&env);
}

/* append - text + update line for (idx, state, now, next, msg). */
static char *
append(char *text, size_t *len, size_t idx, enum queue_rcpt_state st,
       time_t now, time_t next, const char *msg)
{
	size_t ulen;
	char *u = queue_envelope_format_update(idx, st, now, next, msg, &ulen);

	assert_non_null(u);
	assert_int_equal(strlen(u), ulen);
	assert_true(ulen > 0 && u[ulen - 1] == '\n');
	text = realloc(text, *len + ulen + 1);
	assert_non_null(text);
	memcpy(text + *len, u, ulen + 1);
	*len += ulen;
	free(u);
	return text;
}

static void
test_updates_replayed(void **state)
{
	struct queue_envelope env, back;
	size_t len;
	(void)state;

	build(&env, "alice@example.org");
	queue_envelope_add_rcpt(&env, "bob@example.org", "", true,
				"example.org", "bob");
	queue_envelope_add_rcpt(&env, "carol@example.net", "", false, "", "");
	queue_envelope_add_rcpt(&env, "dave@example.net", "", false, "", "");
	char *text = queue_envelope_format(&env, &len);

	text = append(text, &len, 0, QUEUE_RCPT_DONE, 1732250001, 0,
		      "delivered to maildir");
	text = append(text, &len, 1, QUEUE_RCPT_PENDING, 1732250002, 1732250302,
		      "451 4.3.0 try\tlater");
	text = append(text, &len, 1, QUEUE_RCPT_PENDING, 1732250302, 1732250902,
		      "421 busy");
	text = append(text, &len, 2, QUEUE_RCPT_PENDING, 1732250002, 1732250302,
		      "timeout");
	text = append(text, &len, 2, QUEUE_RCPT_FAILED, 1732250400, 0,
		      "550 5.1.1 no such user\r\n%");
	must_parse(text, len, &back);
	assert_int_equal(back.n_rcpts, 3);

	assert_int_equal(back.rcpts[0].state, QUEUE_RCPT_DONE);
	assert_int_equal(back.rcpts[0].attempts, 1);
	assert_string_equal(back.rcpts[0].last_error, "delivered to maildir");

	assert_int_equal(back.rcpts[1].state, QUEUE_RCPT_PENDING);
	assert_int_equal(back.rcpts[1].attempts, 2);
	assert_int_equal(back.rcpts[1].next_attempt, 1732250902);
	assert_string_equal(back.rcpts[1].last_error, "421 busy");

	assert_int_equal(back.rcpts[2].state, QUEUE_RCPT_FAILED);
	assert_int_equal(back.rcpts[2].attempts, 2);
	assert_string_equal(back.rcpts[2].last_error,
			    "550 5.1.1 no such user\r\n%");

	assert_int_equal(queue_envelope_pending(&back), 1);
	queue_envelope_free(&back);
	free(text);
	queue_envelope_free(&env);
}

static void
test_update_format(void **state)
{
	size_t len;
	char *u;
	(void)state;

	u = queue_envelope_format_update(3, QUEUE_RCPT_DONE, 100, 999, "ok",
					 &len);
	assert_string_equal(u, "done\t3\t100\tok\n");
	free(u);
	u = queue_envelope_format_update(0, QUEUE_RCPT_FAILED, 7, 0, "a\tb",
					 &len);
	assert_string_equal(u, "fail\t0\t7\ta%09b\n");
	free(u);
	u = queue_envelope_format_update(1, QUEUE_RCPT_PENDING, 5, 65, "x",
					 &len);
	assert_string_equal(u, "defer\t1\t5\t65\tx\n");
	free(u);
	u = queue_envelope_format_update(1, QUEUE_RCPT_PENDING, 5, 65, NULL,
					 &len);
	assert_string_equal(u, "defer\t1\t5\t65\t\n");
	free(u);
}

static void
test_torn_final_line(void **state)
{
	struct queue_envelope env;
	(void)state;

	/* A torn append (no LF) is ignored, whatever it holds. */
	static const char torn1[] = HEAD "rcpt\t0\tR\tb@c\t\t\t\ndone\t0\t17";
	must_parse(S(torn1), &env);
	assert_int_equal(env.n_rcpts, 1);
	assert_int_equal(env.rcpts[0].state, QUEUE_RCPT_PENDING);
	assert_int_equal(env.rcpts[0].attempts, 0);
	assert_null(env.rcpts[0].last_error);
	queue_envelope_free(&env);

	static const char torn2[] = HEAD "rcpt\t0\tR\tb@c\t\t\t\ngarbage%G";
	must_parse(S(torn2), &env);
	assert_int_equal(env.n_rcpts, 1);
	queue_envelope_free(&env);

	/* A torn rcpt line: that recipient is not there. */
	static const char torn3[] = HEAD "rcpt\t0\tR\tb@c\t\t\t\nrcpt\t1\tR\tx";
	must_parse(S(torn3), &env);
	assert_int_equal(env.n_rcpts, 1);
	queue_envelope_free(&env);

	/* Complete but the same text one byte shorter each time: never
	 * crashes, and a cut inside the header block is incomplete. */
	for (size_t n = 0; n <= sizeof(torn1) - 1; n++) {
		char err[128];
		if (parse(torn1, n, &env, err, sizeof(err)) == 0)
			queue_envelope_free(&env);
	}
}

static void
test_client_optional(void **state)
{
	struct queue_envelope env;
	static const char text[] = MAGIC "id\tX\nsender\t\n";
	(void)state;

	must_parse(S(text), &env);
	assert_string_equal(env.id, "X");
	assert_string_equal(env.client, "");
	assert_string_equal(env.helo, "");
	assert_string_equal(env.sender, "");
	assert_int_equal(env.n_rcpts, 0);
	assert_int_equal(queue_envelope_pending(&env), 0);
	queue_envelope_free(&env);
}

static void
test_escapes_decoded(void **state)
{
	struct queue_envelope env;
	static const char text[] =
	    MAGIC "id\tX\nsender\ta%25b%09c%0d%0A%ff%C3%a9\n";
	(void)state;

	must_parse(S(text), &env);
	assert_string_equal(env.sender, "a%b\tc\r\n\xff\xc3\xa9");
	queue_envelope_free(&env);
}

struct bad_case {
	const char *text;
	size_t len;
	const char *err;
};

static const struct bad_case bad_cases[] = {
    {S(""), "not a petrel"},
    {S("petrel-queue 1"), "not a petrel"},
    {S("petrel-queue 2\nid\tX\nsender\t\n"), "not a petrel"},
    {S("Petrel-queue 1\nid\tX\nsender\t\n"), "not a petrel"},
    {S("xpetrel-queue 1\nid\tX\nsender\t\n"), "not a petrel"},
    /* NUL anywhere, even in a torn last line. */
    {S(MAGIC "id\tX\nsender\ta\0b\n"), "NUL"},
    {S(MAGIC "id\tX\nsender\t\n\0"), "NUL"},
    {S(MAGIC "id\tX\0\nsender\t\n"), "NUL"},
    /* Bad escapes. */
    {S(MAGIC "id\tX\nsender\t%G1\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%1G\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%4\n"), "escape"},
    {S(MAGIC "id\tX\nsender\tab%\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t% 1\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%+1\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%-1\n"), "escape"},
    {S(MAGIC "id\tX\nsender\t%00\n"), "escape"},
    {S(MAGIC "id\tX\nsender\tx\nrcpt\t0\tR\ta%zz\t\t\t\n"), "escape"},
    /* Recipient indexes in order from 0. */
    {S(MAGIC "id\tX\nsender\t\nrcpt\t1\tR\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "rcpt\t0\tR\ta@b\t\t\t\n"),
     "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "rcpt\t2\tR\ta@b\t\t\t\n"),
     "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t-1\tR\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t 0\tR\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0x\tR\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tX\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tLocal\ta@b\t\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\n"), "rcpt"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\t\n"), "rcpt"},
    /* Updates for a recipient that does not exist. */
    {S(MAGIC "id\tX\nsender\t\ndone\t0\t1\tok\n"), "done"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "done\t1\t1\tok\n"),
     "done"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "fail\t5\t1\tno\n"),
     "fail"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "defer\t1\t1\t2\tlater\n"),
     "defer"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "defer\t18446744073709551616\t1\t2\tlater\n"),
     "defer"},
    /* Updates with the wrong shape. */
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "done\t0\tnow\tok\n"),
     "done"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "done\t0\t1\n"),
     "done"},
    {S(MAGIC "id\tX\nsender\t\nrcpt\t0\tR\ta@b\t\t\t\n"
	     "defer\t0\t1\tok\n"),
     "defer"},
    /* Unknown records, empty lines, wrong field counts. */
    {S(MAGIC "id\tX\nsender\t\nbogus\t1\n"), "bogus"},
    {S(MAGIC "id\tX\nsender\t\n\n"), "bad record"},
    {S(MAGIC "id\tX\nsender\n"), "sender"},
    {S(MAGIC "id\tX\nsender\ta\tb\n"), "sender"},
    {S(MAGIC "id\tX\nsender\t\nsize\t-1\n"), "size"},
    {S(MAGIC "id\tX\nsender\t\nsize\t\n"), "size"},
    {S(MAGIC "id\tX\nsender\t\narrival\tyesterday\n"), "arrival"},
    {S(MAGIC "id\tX\nsender\t\nclient\t1.2.3.4\n"), "client"},
    {S(MAGIC "id\tX\nsender\t\nID\tY\n"), "ID"},
    {S(MAGIC "id\tX\nsender\t\n\t\t\t\t\t\t\t\t\t\n"), "fields"},
    /* Missing id or sender; an id too long for its buffer. */
    {S(MAGIC), "incomplete"},
    {S(MAGIC "sender\t\n"), "incomplete"},
    {S(MAGIC "id\tX\n"), "incomplete"},
    {S(MAGIC "id\t\nsender\t\n"), "incomplete"},
    {S(MAGIC "id\tX\nsender\t\n" MAGIC), "bad record"},
    {S(MAGIC "id\t0123456789012345678901234\nsender\t\n"), "id"},
};

static void
test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		must_fail(i, bad_cases[i].text, bad_cases[i].len,
			  bad_cases[i].err);
	}
}

static void
test_id_limits(void **state)
{
	struct queue_envelope env;
	/* QUEUE_ID_MAX - 1 characters fit. */
	static const char text[] =
	    MAGIC "id\t01234567890123456789012\nsender\t\n";
	(void)state;

	must_parse(S(text), &env);
	assert_string_equal(env.id, "01234567890123456789012");
	queue_envelope_free(&env);
}

static void
test_pending(void **state)
{
	struct queue_envelope env;
	static const char text[] = MAGIC "id\tX\nsender\t\n"
					 "rcpt\t0\tL\ta@b\t\tb\ta\n"
					 "rcpt\t1\tR\tc@d\t\t\t\n"
					 "rcpt\t2\tR\te@f\t\t\t\n"
					 "rcpt\t3\tR\tg@h\t\t\t\n"
					 "done\t0\t1\tok\n"
					 "defer\t1\t1\t100\tlater\n"
					 "fail\t2\t1\tno\n";
	(void)state;

	must_parse(S(text), &env);
	assert_int_equal(env.n_rcpts, 4);
	assert_true(env.rcpts[0].local);
	assert_string_equal(env.rcpts[0].domain, "b");
	assert_string_equal(env.rcpts[0].localpart, "a");
	assert_false(env.rcpts[1].local);
	assert_null(env.rcpts[3].last_error);
	assert_int_equal(env.rcpts[3].attempts, 0);
	/* 1 deferred + 3 untouched. */
	assert_int_equal(queue_envelope_pending(&env), 2);
	queue_envelope_free(&env);

	struct queue_envelope empty = {0};
	assert_int_equal(queue_envelope_pending(&empty), 0);
}

/* --- issue 9: trace, body, SMTPUTF8, DSN, delay-notice records --- */

static void
assert_ext_equal(const struct queue_envelope *a, const struct queue_envelope *b)
{
	assert_env_equal(a, b);
	assert_true(a->trace == b->trace);
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_int_equal(a->ret, b->ret);
	assert_str_or_null_equal(a->envid, b->envid);
	assert_int_equal(a->warned, b->warned);
	for (size_t i = 0; i < a->n_rcpts; i++) {
		assert_int_equal(a->rcpts[i].notify, b->rcpts[i].notify);
		assert_str_or_null_equal(a->rcpts[i].dsn_orcpt,
					 b->rcpts[i].dsn_orcpt);
		assert_int_equal(a->rcpts[i].relayed, b->rcpts[i].relayed);
	}
}

static void
test_ext_round_trip(void **state)
{
	struct queue_envelope env, back, copy;
	size_t len;
	(void)state;

	build(&env, "j\xc3\xb6rg@example.org");
	env.trace = 37;
	env.body = QUEUE_BODY_BINARYMIME;
	env.smtputf8 = QUEUE_UTF8_REQUESTED | QUEUE_UTF8_HEADERS;
	env.ret = QUEUE_RET_FULL;
	env.envid = strdup("QQ\t314159%");
	env.warned = 1732260000;
	struct queue_rcpt *r = queue_envelope_add_rcpt(
	    &env, "bob@example.org", "", true, "example.org", "bob");
	r->notify = QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_DELAY;
	r->dsn_orcpt = strdup("rfc822;bob@example.org");
	r = queue_envelope_add_rcpt(&env, "c@d", "", false, "", "");
	r->notify = QUEUE_NOTIFY_NEVER;
	queue_envelope_add_rcpt(&env, "e@f", "", false, "", "");
	char *text = queue_envelope_format(&env, &len);
	assert_non_null(strstr(text, "trace\t37\n"));
	assert_non_null(strstr(text, "body\tBINARYMIME\n"));
	assert_non_null(strstr(text, "smtputf8\tRH\n"));
	assert_non_null(strstr(text, "ret\tFULL\n"));
	assert_non_null(strstr(text, "envid\tQQ%09314159%25\n"));
	assert_non_null(
	    strstr(text, "dsn\t0\tSUCCESS,DELAY\trfc822;bob@example.org\n"));
	assert_non_null(strstr(text, "dsn\t1\tNEVER\t\n"));
	assert_null(strstr(text, "dsn\t2"));
	assert_non_null(strstr(text, "warned\t1732260000\n"));
	must_parse(text, len, &back);
	assert_ext_equal(&env, &back);
	queue_envelope_copy(&copy, &back);
	assert_ext_equal(&env, &copy);
	queue_envelope_free(&copy);
	queue_envelope_free(&back);
	free(text);
	queue_envelope_free(&env);
}

/* An envelope of a plain message has none of the new records, and one
 * written before they existed reads with every default. */
static void
test_ext_defaults(void **state)
{
	struct queue_envelope env, back;
	size_t len;
	static const char old[] = HEAD "rcpt\t0\tR\tb@c\t\t\t\n"
				       "done\t0\t5\tok\n";
	(void)state;

	build(&env, "a@b");
	queue_envelope_add_rcpt(&env, "b@c", "", false, "", "");
	char *text = queue_envelope_format(&env, &len);
	static const char *const absent[] = {"trace", "body", "smtputf8", "ret",
					     "envid", "dsn",  "warned"};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		char want[16];
		snprintf(want, sizeof(want), "\n%s\t", absent[i]);
		assert_null(strstr(text, want));
	}
	free(text);
	queue_envelope_free(&env);

	must_parse(S(old), &back);
	assert_true(back.trace == 0);
	assert_int_equal(back.body, QUEUE_BODY_UNKNOWN);
	assert_int_equal(back.smtputf8, 0);
	assert_int_equal(back.ret, QUEUE_RET_NONE);
	assert_null(back.envid);
	assert_int_equal(back.warned, 0);
	assert_int_equal(back.rcpts[0].notify, 0);
	assert_null(back.rcpts[0].dsn_orcpt);
	assert_false(back.rcpts[0].relayed);
	assert_int_equal(back.rcpts[0].state, QUEUE_RCPT_DONE);
	queue_envelope_free(&back);
}

static void
test_ext_outcomes(void **state)
{
	struct queue_envelope env;
	size_t len;
	char *u;
	(void)state;

	u = queue_envelope_format_outcome(2, QUEUE_RCPT_DONE, 9, 0, "250 ok",
					  true, &len);
	assert_string_equal(u, "done\t2\t9\t250 ok\trelayed\n");
	free(u);
	/* "relayed" belongs to DONE only. */
	u = queue_envelope_format_outcome(2, QUEUE_RCPT_FAILED, 9, 0, "no",
					  true, &len);
	assert_string_equal(u, "fail\t2\t9\tno\n");
	free(u);
	u = queue_envelope_format_warned(77, &len);
	assert_string_equal(u, "warned\t77\n");
	assert_int_equal(len, strlen(u));
	free(u);

	static const char text[] = HEAD "rcpt\t0\tR\tb@c\t\t\t\n"
					"rcpt\t1\tR\td@e\t\t\t\n"
					"done\t0\t5\tok\trelayed\n"
					"done\t1\t5\tok\n"
					"warned\t6\n"
					"warned\t8\n";
	must_parse(S(text), &env);
	assert_true(env.rcpts[0].relayed);
	assert_false(env.rcpts[1].relayed);
	assert_int_equal(env.warned, 8);
	queue_envelope_free(&env);

	char notify[64];
	queue_notify_format(0, notify, sizeof(notify));
	assert_string_equal(notify, "");
	queue_notify_format(QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_SUCCESS, notify,
			    sizeof(notify));
	assert_string_equal(notify, "SUCCESS,FAILURE");
	queue_notify_format(QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE |
				QUEUE_NOTIFY_DELAY,
			    notify, 8);
	assert_string_equal(notify, "SUCCESS");
}

static const struct bad_case ext_bad_cases[] = {
    {S(HEAD "trace\t-1\n"), "trace"},
    {S(HEAD "trace\t\n"), "trace"},
    {S(HEAD "body\t8BIT\n"), "body"},
    {S(HEAD "body\t\n"), "body"},
    {S(HEAD "smtputf8\tX\n"), "smtputf8"},
    {S(HEAD "ret\tALL\n"), "ret"},
    {S(HEAD "ret\t\n"), "ret"},
    {S(HEAD "envid\n"), "envid"},
    /* A dsn record names a recipient that exists already. */
    {S(HEAD "dsn\t0\tNEVER\t\n"), "dsn"},
    {S(HEAD "rcpt\t0\tR\tb@c\t\t\t\ndsn\t1\tNEVER\t\n"), "dsn"},
    {S(HEAD "rcpt\t0\tR\tb@c\t\t\t\ndsn\t0\tALWAYS\t\n"), "dsn"},
    {S(HEAD "rcpt\t0\tR\tb@c\t\t\t\ndsn\t0\tNEVER\n"), "dsn"},
    {S(HEAD "rcpt\t0\tR\tb@c\t\t\t\ndone\t0\t5\tok\tsent\n"), "done"},
    {S(HEAD "rcpt\t0\tR\tb@c\t\t\t\nfail\t0\t5\tno\trelayed\n"), "fail"},
    {S(HEAD "warned\tsoon\n"), "warned"},
};

static void
test_ext_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ext_bad_cases) / sizeof(ext_bad_cases[0]);
	     i++)
		must_fail(i, ext_bad_cases[i].text, ext_bad_cases[i].len,
			  ext_bad_cases[i].err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_basic),
	    cmocka_unit_test(test_round_trip_null_sender),
	    cmocka_unit_test(test_round_trip_no_rcpts),
	    cmocka_unit_test(test_round_trip_odd_values),
	    cmocka_unit_test(test_format_escapes),
	    cmocka_unit_test(test_updates_replayed),
	    cmocka_unit_test(test_update_format),
	    cmocka_unit_test(test_torn_final_line),
	    cmocka_unit_test(test_client_optional),
	    cmocka_unit_test(test_escapes_decoded),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_id_limits),
	    cmocka_unit_test(test_pending),
	    cmocka_unit_test(test_ext_round_trip),
	    cmocka_unit_test(test_ext_defaults),
	    cmocka_unit_test(test_ext_outcomes),
	    cmocka_unit_test(test_ext_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
