/*
 * test_smtp_parse - command line, MAIL and RCPT argument parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smtp/smtp_parse.h"

#define S(x) x, sizeof(x) - 1

struct cmd_case {
	const char *line;
	size_t len;
	int ret;
	enum smtp_verb verb;
	const char *args; /* NULL when ret is -1 */
};

static const struct cmd_case cmd_cases[] = {
    {S("MAIL FROM:<a@b>"), 0, SMTP_VERB_MAIL, "FROM:<a@b>"},
    {S("mail from:<a@b>"), 0, SMTP_VERB_MAIL, "from:<a@b>"},
    {S("MaIl   FROM:<a@b>   "), 0, SMTP_VERB_MAIL, "FROM:<a@b>"},
    {S("RCPT TO:<a@b>"), 0, SMTP_VERB_RCPT, "TO:<a@b>"},
    {S("EHLO client.example"), 0, SMTP_VERB_EHLO, "client.example"},
    {S("HELO x"), 0, SMTP_VERB_HELO, "x"},
    {S("DATA"), 0, SMTP_VERB_DATA, ""},
    {S("data "), 0, SMTP_VERB_DATA, ""},
    {S("RSET"), 0, SMTP_VERB_RSET, ""},
    {S("NOOP hello there"), 0, SMTP_VERB_NOOP, "hello there"},
    {S("QUIT"), 0, SMTP_VERB_QUIT, ""},
    {S("VRFY user"), 0, SMTP_VERB_VRFY, "user"},
    {S("EXPN list"), 0, SMTP_VERB_EXPN, "list"},
    {S("HELP"), 0, SMTP_VERB_HELP, ""},
    {S("STARTTLS"), 0, SMTP_VERB_STARTTLS, ""},
    {S("AUTH PLAIN AGJvYgBwdw=="), 0, SMTP_VERB_AUTH, "PLAIN AGJvYgBwdw=="},
    {S("BDAT 100 LAST"), 0, SMTP_VERB_BDAT, "100 LAST"},
    /* A verb is followed by SP or the end: these are unknown. */
    {S("MAILFROM:<a@b>"), 0, SMTP_VERB_UNKNOWN, ""},
    {S("QUITX"), 0, SMTP_VERB_UNKNOWN, ""},
    {S("QUI"), 0, SMTP_VERB_UNKNOWN, ""},
    {S("QUIT\t"), 0, SMTP_VERB_UNKNOWN, ""},
    {S("XYZZY plugh"), 0, SMTP_VERB_UNKNOWN, "plugh"},
    {S(" QUIT"), 0, SMTP_VERB_UNKNOWN, "QUIT"},
    {S("   "), 0, SMTP_VERB_UNKNOWN, ""},
    {S("GET / HTTP/1.0"), 0, SMTP_VERB_UNKNOWN, "/ HTTP/1.0"},
    {S("\xff\xfe"), 0, SMTP_VERB_UNKNOWN, ""},
    /* Empty or NUL: 500 5.5.2. */
    {S(""), -1, SMTP_VERB_UNKNOWN, NULL},
    {S("QUIT\0"), -1, SMTP_VERB_UNKNOWN, NULL},
    {S("MAIL FROM:<a@b>\0<c@d>"), -1, SMTP_VERB_UNKNOWN, NULL},
    {S("\0"), -1, SMTP_VERB_UNKNOWN, NULL},
};

static void
test_command(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		struct smtp_command cmd;
		struct smtp_parse_error err = {0, NULL, NULL};
		/* Exact-size copy, no NUL: ASan catches overreads. */
		char *line = malloc(c->len + 1);
		int ret;

		assert_non_null(line);
		memcpy(line, c->line, c->len);
		ret = smtp_parse_command(line, c->len, &cmd, &err);
		if (ret != c->ret)
			fail_msg("case %zu: ret %d", i, ret);
		if (ret == 0) {
			assert_int_equal(cmd.verb, c->verb);
			assert_int_equal(cmd.args_len, strlen(c->args));
			assert_memory_equal(cmd.args, c->args, cmd.args_len);
			assert_true(cmd.args >= line &&
				    cmd.args + cmd.args_len <= line + c->len);
		} else {
			assert_int_equal(err.code, 500);
			assert_string_equal(err.enhanced, "5.5.2");
			assert_non_null(err.text);
		}
		free(line);
	}
}

static void
test_verb_name(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "?");
	assert_string_equal(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_BDAT), "BDAT");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "?");
	/* Every verb's name parses back to itself. */
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		const char *name = smtp_verb_name((enum smtp_verb)v);
		struct smtp_command cmd;
		struct smtp_parse_error err;

		assert_int_equal(
		    smtp_parse_command(name, strlen(name), &cmd, &err), 0);
		assert_int_equal(cmd.verb, v);
	}
}

struct mail_case {
	const char *args;
	int code; /* 0: success */
	const char *enhanced;
	const char *local;
	const char *domain;
	bool null_path;
	bool has_size;
	uint64_t size;
	enum smtp_body_type body;
};

#define MAIL_ERR(a, c, e)                                                      \
	{                                                                      \
		a, c, e, NULL, NULL, false, false, 0, 0                        \
	}

static const struct mail_case mail_cases[] = {
    {"FROM:<a@b>", 0, NULL, "a", "b", false, false, 0, SMTP_BODY_NONE},
    {"from:<A@B.example>", 0, NULL, "A", "b.example", false, false, 0,
     SMTP_BODY_NONE},
    /* A space after the colon is common: accepted. */
    {"FROM: <a@b>", 0, NULL, "a", "b", false, false, 0, SMTP_BODY_NONE},
    {"FROM:<>", 0, NULL, "", "", true, false, 0, SMTP_BODY_NONE},
    {"FROM:<> SIZE=0", 0, NULL, "", "", true, true, 0, SMTP_BODY_NONE},
    {"FROM:<a@b> SIZE=12345", 0, NULL, "a", "b", false, true, 12345,
     SMTP_BODY_NONE},
    {"FROM:<a@b> size=18446744073709551615", 0, NULL, "a", "b", false, true,
     UINT64_MAX, SMTP_BODY_NONE},
    {"FROM:<a@b> BODY=8BITMIME", 0, NULL, "a", "b", false, false, 0,
     SMTP_BODY_8BITMIME},
    {"FROM:<a@b> body=7bit", 0, NULL, "a", "b", false, false, 0,
     SMTP_BODY_7BIT},
    {"FROM:<a@b> BODY=8bitmime  SIZE=10", 0, NULL, "a", "b", false, true, 10,
     SMTP_BODY_8BITMIME},
    {"FROM:<@x.y:a@b> SIZE=1 BODY=7BIT", 0, NULL, "a", "b", false, true, 1,
     SMTP_BODY_7BIT},
    {"FROM:<\"a b\"@c>", 0, NULL, "a b", "c", false, false, 0, SMTP_BODY_NONE},
    /* Syntax. */
    MAIL_ERR("", 501, "5.5.4"),
    MAIL_ERR("FROM", 501, "5.5.4"),
    MAIL_ERR("FROM <a@b>", 501, "5.5.4"),
    MAIL_ERR("TO:<a@b>", 501, "5.5.4"),
    MAIL_ERR("FRO:<a@b>", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b>SIZE=1", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> =1", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> -X", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> X=", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> X=a=b", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> X_Y=1", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> X=\x7f", 501, "5.5.4"),
    /* Bad sender path. */
    MAIL_ERR("FROM:", 501, "5.1.7"),
    MAIL_ERR("FROM:a@b", 501, "5.1.7"),
    MAIL_ERR("FROM:<a@b", 501, "5.1.7"),
    MAIL_ERR("FROM:<a@@b>", 501, "5.1.7"),
    MAIL_ERR("FROM:<postmaster>", 501, "5.1.7"),
    /* SIZE and BODY values. */
    MAIL_ERR("FROM:<a@b> SIZE", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=-1", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=+1", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=1k", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=0x10", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=18446744073709551616", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=99999999999999999999999", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=1 SIZE=2", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> BODY", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> BODY=BINARYMIME", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> BODY=8BIT", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> BODY=7BIT BODY=7BIT", 501, "5.5.4"),
    /* Unknown parameters: 555 5.5.4 (RFC 5321 §4.1.1.11). */
    MAIL_ERR("FROM:<a@b> SMTPUTF8", 555, "5.5.4"),
    MAIL_ERR("FROM:<a@b> RET=HDRS", 555, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZE=1 X-FOO=bar", 555, "5.5.4"),
    MAIL_ERR("FROM:<a@b> SIZEX=1", 555, "5.5.4"),
};

static void
test_mail(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mail_cases) / sizeof(mail_cases[0]);
	     i++) {
		const struct mail_case *c = &mail_cases[i];
		size_t len = strlen(c->args);
		char *args = malloc(len + 1);
		struct smtp_mail_args m;
		struct smtp_parse_error err = {0, NULL, NULL};
		int ret;

		assert_non_null(args);
		memcpy(args, c->args, len);
		ret = smtp_parse_mail(args, len, &m, &err);
		if ((ret == 0) != (c->code == 0) ||
		    (ret < 0 && (err.code != c->code ||
				 strcmp(err.enhanced, c->enhanced) != 0)))
			fail_msg("MAIL \"%s\": ret %d code %d %s", c->args, ret,
				 err.code, err.enhanced ? err.enhanced : "");
		if (ret == 0) {
			assert_string_equal(m.path.local, c->local);
			assert_string_equal(m.path.domain, c->domain);
			assert_int_equal(m.path.null_path, c->null_path);
			assert_int_equal(m.has_size, c->has_size);
			assert_true(m.size == c->size);
			assert_int_equal(m.body, c->body);
		} else {
			assert_non_null(err.text);
		}
		free(args);
	}
}

struct rcpt_case {
	const char *args;
	int code;
	const char *enhanced;
	const char *local;
	const char *domain;
	bool postmaster;
};

#define RCPT_ERR(a, c, e)                                                      \
	{                                                                      \
		a, c, e, NULL, NULL, false                                     \
	}

static const struct rcpt_case rcpt_cases[] = {
    {"TO:<a@b>", 0, NULL, "a", "b", false},
    {"to:<a@B>", 0, NULL, "a", "b", false},
    {"TO: <a@b>", 0, NULL, "a", "b", false},
    {"TO:<postmaster>", 0, NULL, "postmaster", "", true},
    {"TO:<POSTMASTER>", 0, NULL, "postmaster", "", true},
    {"TO:<Postmaster@Example.com>", 0, NULL, "Postmaster", "example.com",
     false},
    {"TO:<@r.example:u@d.example>", 0, NULL, "u", "d.example", false},
    {"TO:<\"u%v@w\"@d>", 0, NULL, "u%v@w", "d", false},
    RCPT_ERR("", 501, "5.5.4"),
    RCPT_ERR("TO", 501, "5.5.4"),
    RCPT_ERR("FROM:<a@b>", 501, "5.5.4"),
    RCPT_ERR("TO:<a@b>x", 501, "5.5.4"),
    RCPT_ERR("TO:<a@b> =", 501, "5.5.4"),
    /* Null path and bad paths: 501 5.1.3. */
    RCPT_ERR("TO:<>", 501, "5.1.3"),
    RCPT_ERR("TO:", 501, "5.1.3"),
    RCPT_ERR("TO:a@b", 501, "5.1.3"),
    RCPT_ERR("TO:<a@b", 501, "5.1.3"),
    RCPT_ERR("TO:<a..b@c>", 501, "5.1.3"),
    RCPT_ERR("TO:<a@[300.1.1.1]>", 501, "5.1.3"),
    /* No RCPT parameters are supported. */
    RCPT_ERR("TO:<a@b> NOTIFY=NEVER", 555, "5.5.4"),
    RCPT_ERR("TO:<a@b> X", 555, "5.5.4"),
};

static void
test_rcpt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]);
	     i++) {
		const struct rcpt_case *c = &rcpt_cases[i];
		size_t len = strlen(c->args);
		char *args = malloc(len + 1);
		struct smtp_rcpt_args r;
		struct smtp_parse_error err = {0, NULL, NULL};
		int ret;

		assert_non_null(args);
		memcpy(args, c->args, len);
		ret = smtp_parse_rcpt(args, len, &r, &err);
		if ((ret == 0) != (c->code == 0) ||
		    (ret < 0 && (err.code != c->code ||
				 strcmp(err.enhanced, c->enhanced) != 0)))
			fail_msg("RCPT \"%s\": ret %d code %d %s", c->args, ret,
				 err.code, err.enhanced ? err.enhanced : "");
		if (ret == 0) {
			assert_string_equal(r.path.local, c->local);
			assert_string_equal(r.path.domain, c->domain);
			assert_int_equal(r.path.postmaster_only, c->postmaster);
			assert_false(r.path.null_path);
		}
		free(args);
	}
}

/* Command then arguments, as the session does it. */
static void
test_pipeline(void **state)
{
	static const char line[] = "MAIL FROM:<x@y.z> SIZE=42 ";
	struct smtp_command cmd;
	struct smtp_mail_args m;
	struct smtp_parse_error err;

	(void)state;
	assert_int_equal(smtp_parse_command(line, sizeof(line) - 1, &cmd, &err),
			 0);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_int_equal(smtp_parse_mail(cmd.args, cmd.args_len, &m, &err), 0);
	assert_string_equal(m.path.local, "x");
	assert_string_equal(m.path.domain, "y.z");
	assert_true(m.has_size);
	assert_true(m.size == 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command),  cmocka_unit_test(test_verb_name),
	    cmocka_unit_test(test_mail),     cmocka_unit_test(test_rcpt),
	    cmocka_unit_test(test_pipeline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
