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
    /* RFC 3030 §3 (issue 9: BINARYMIME is offered now). */
    {"FROM:<a@b> BODY=BINARYMIME", 0, NULL, "a", "b", false, false, 0,
     SMTP_BODY_BINARYMIME},
    MAIL_ERR("FROM:<a@b> BODY=8BIT", 501, "5.5.4"),
    MAIL_ERR("FROM:<a@b> BODY=7BIT BODY=7BIT", 501, "5.5.4"),
    /* SMTPUTF8 and RET= are known since issue 9 (test_mail_ext). */
    {"FROM:<a@b> SMTPUTF8", 0, NULL, "a", "b", false, false, 0, SMTP_BODY_NONE},
    {"FROM:<a@b> RET=HDRS", 0, NULL, "a", "b", false, false, 0, SMTP_BODY_NONE},
    /* Unknown parameters: 555 5.5.4 (RFC 5321 §4.1.1.11). */
    MAIL_ERR("FROM:<a@b> SMTPUTF9", 555, "5.5.4"),
    MAIL_ERR("FROM:<a@b> RETURN=HDRS", 555, "5.5.4"),
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
    /* NOTIFY= and ORCPT= are known since issue 9 (test_rcpt_ext);
     * anything else is not. */
    {"TO:<a@b> NOTIFY=NEVER", 0, NULL, "a", "b", false},
    RCPT_ERR("TO:<a@b> NOTIFYX=NEVER", 555, "5.5.4"),
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

/* --- issue 9: SMTPUTF8, DSN and BDAT parameters --- */

#define ENVID100                                                               \
	"01234567890123456789012345678901234567890123456789012345678901234567" \
	"89"                                                                   \
	"012345678901234567890123456789"

struct mail_ext_case {
	const char *args;
	int code;
	const char *enhanced;
	bool utf8_path;
	bool smtputf8;
	enum smtp_dsn_ret ret;
	const char *envid; /* NULL: none */
	const char *local;
};

#define MAIL_EXT_ERR(a, c, e)                                                  \
	{                                                                      \
		a, c, e, false, false, SMTP_RET_NONE, NULL, NULL               \
	}

static const struct mail_ext_case mail_ext_cases[] = {
    {"FROM:<a@b> SMTPUTF8", 0, NULL, false, true, SMTP_RET_NONE, NULL, "a"},
    {"FROM:<a@b> smtputf8", 0, NULL, false, true, SMTP_RET_NONE, NULL, "a"},
    /* RFC 6531 §3.3: UTF-8 in the path; whether SMTPUTF8 was given is
     * the session's to check. */
    {"FROM:<j\xc3\xb6rg@b\xc3\xbc"
     "cher.example> SMTPUTF8",
     0, NULL, true, true, SMTP_RET_NONE, NULL, "j\xc3\xb6rg"},
    {"FROM:<j\xc3\xb6rg@b>", 0, NULL, true, false, SMTP_RET_NONE, NULL,
     "j\xc3\xb6rg"},
    {"FROM:<\"j\xc3\xb6 rg\"@b> SMTPUTF8", 0, NULL, true, true, SMTP_RET_NONE,
     NULL, "j\xc3\xb6 rg"},
    {"FROM:<a@b> RET=FULL", 0, NULL, false, false, SMTP_RET_FULL, NULL, "a"},
    {"FROM:<a@b> ret=hdrs", 0, NULL, false, false, SMTP_RET_HDRS, NULL, "a"},
    {"FROM:<a@b> ENVID=QQ314159", 0, NULL, false, false, SMTP_RET_NONE,
     "QQ314159", "a"},
    /* xtext: "+" and two hex digits. */
    {"FROM:<a@b> ENVID=a+2Bb+3Dc+20d", 0, NULL, false, false, SMTP_RET_NONE,
     "a+b=c d", "a"},
    {"FROM:<a@b> ENVID=" ENVID100, 0, NULL, false, false, SMTP_RET_NONE,
     ENVID100, "a"},
    {"FROM:<> RET=HDRS ENVID=x SMTPUTF8 SIZE=5 BODY=8BITMIME", 0, NULL, false,
     true, SMTP_RET_HDRS, "x", ""},
    /* Bad values, repeats. */
    MAIL_EXT_ERR("FROM:<a@b> SMTPUTF8=yes", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> SMTPUTF8 SMTPUTF8", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> RET", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> RET=ALL", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> RET=FULL RET=HDRS", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=a+2", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=a+zz", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=a+0Ab", 501, "5.5.4"), /* a control byte */
    MAIL_EXT_ERR("FROM:<a@b> ENVID=a+00b", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=" ENVID100 "1", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=x ENVID=y", 501, "5.5.4"),
    MAIL_EXT_ERR("FROM:<a@b> ENVID=\xc3\xa9", 501, "5.5.4"),
    /* Malformed UTF-8 is no address at all. */
    MAIL_EXT_ERR("FROM:<j\xc3@b> SMTPUTF8", 501, "5.1.7"),
    MAIL_EXT_ERR("FROM:<a@b\xff> SMTPUTF8", 501, "5.1.7"),
    MAIL_EXT_ERR("FROM:<a@b> SMTPUTF8 X=\xc3", 501, "5.5.4"),
};

static void
test_mail_ext(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof(mail_ext_cases) / sizeof(mail_ext_cases[0]); i++) {
		const struct mail_ext_case *c = &mail_ext_cases[i];
		size_t len = strlen(c->args);
		char *args = malloc(len);
		struct smtp_mail_args m;
		struct smtp_parse_error err = {0, NULL, NULL};

		assert_non_null(args);
		memcpy(args, c->args, len); /* not NUL-terminated */
		int ret = smtp_parse_mail(args, len, &m, &err);
		if ((ret == 0) != (c->code == 0) ||
		    (ret < 0 && (err.code != c->code ||
				 strcmp(err.enhanced, c->enhanced) != 0)))
			fail_msg("MAIL \"%s\": ret %d code %d %s", c->args, ret,
				 err.code, err.enhanced ? err.enhanced : "");
		if (ret == 0) {
			assert_int_equal(m.path.utf8, c->utf8_path);
			assert_int_equal(m.smtputf8, c->smtputf8);
			assert_int_equal(m.ret, c->ret);
			assert_int_equal(m.has_envid, c->envid != NULL);
			if (c->envid != NULL)
				assert_string_equal(m.envid, c->envid);
			assert_string_equal(m.path.local, c->local);
		}
		free(args);
	}
}

#define ORCPT500                                                               \
	"rfc822;"                                                              \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"     \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"                          \
	"@b"

struct rcpt_ext_case {
	const char *args;
	int code;
	const char *enhanced;
	unsigned notify;
	const char *orcpt;
	bool utf8_path;
};

#define RCPT_EXT_ERR(a, c, e)                                                  \
	{                                                                      \
		a, c, e, 0, NULL, false                                        \
	}

static const struct rcpt_ext_case rcpt_ext_cases[] = {
    {"TO:<a@b> NOTIFY=NEVER", 0, NULL, SMTP_NOTIFY_NEVER, "", false},
    {"TO:<a@b> NOTIFY=SUCCESS", 0, NULL, SMTP_NOTIFY_SUCCESS, "", false},
    {"TO:<a@b> notify=success,Failure,DELAY", 0, NULL,
     SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY, "", false},
    {"TO:<a@b> NOTIFY=DELAY,DELAY", 0, NULL, SMTP_NOTIFY_DELAY, "", false},
    {"TO:<a@b> ORCPT=rfc822;a@b", 0, NULL, 0, "rfc822;a@b", false},
    {"TO:<a@b> ORCPT=RFC822;Bob+2Bx@Example.org", 0, NULL, 0,
     "rfc822;Bob+x@Example.org", false},
    {"TO:<a@b> ORCPT=rfc822;+22a+20b+22@c NOTIFY=FAILURE", 0, NULL,
     SMTP_NOTIFY_FAILURE, "rfc822;\"a b\"@c", false},
    /* RFC 6533: utf-8 addresses are kept as sent. */
    {"TO:<j\xc3\xb6@b> ORCPT=utf-8;j\\x{F6}@b", 0, NULL, 0, "utf-8;j\\x{F6}@b",
     true},
    {"TO:<j\xc3\xb6@b> ORCPT=utf-8;j\xc3\xb6@b", 0, NULL, 0,
     "utf-8;j\xc3\xb6@b", true},
    {"TO:<a@b> ORCPT=" ORCPT500, 0, NULL, 0, ORCPT500, false},
    {"TO:<postmaster> NOTIFY=NEVER", 0, NULL, SMTP_NOTIFY_NEVER, "", false},
    /* Bad. */
    RCPT_EXT_ERR("TO:<a@b> NOTIFY", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=SUCCESS,", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=,SUCCESS", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=SUCCESS,,DELAY", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=ALWAYS", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> NOTIFY=DELAY NOTIFY=DELAY", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=a@b", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=;a@b", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=rfc822;", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=rfc822;a+0Ab", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=rfc822;a+4", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=rf(c;a", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=" ORCPT500 "a", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a@b> ORCPT=rfc822;x ORCPT=rfc822;y", 501, "5.5.4"),
    RCPT_EXT_ERR("TO:<a\xc3@b>", 501, "5.1.3"),
};

static void
test_rcpt_ext(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof(rcpt_ext_cases) / sizeof(rcpt_ext_cases[0]); i++) {
		const struct rcpt_ext_case *c = &rcpt_ext_cases[i];
		size_t len = strlen(c->args);
		char *args = malloc(len);
		struct smtp_rcpt_args r;
		struct smtp_parse_error err = {0, NULL, NULL};

		assert_non_null(args);
		memcpy(args, c->args, len);
		int ret = smtp_parse_rcpt(args, len, &r, &err);
		if ((ret == 0) != (c->code == 0) ||
		    (ret < 0 && (err.code != c->code ||
				 strcmp(err.enhanced, c->enhanced) != 0)))
			fail_msg("RCPT \"%s\": ret %d code %d %s", c->args, ret,
				 err.code, err.enhanced ? err.enhanced : "");
		if (ret == 0) {
			assert_int_equal(r.notify, c->notify);
			assert_string_equal(r.orcpt, c->orcpt);
			assert_int_equal(r.path.utf8, c->utf8_path);
		}
		free(args);
	}
}

struct bdat_case {
	const char *args;
	int ret;
	bool size_ok;
	uint64_t size;
	bool last;
};

static const struct bdat_case bdat_cases[] = {
    {"0", 0, true, 0, false},
    {"0 LAST", 0, true, 0, true},
    {"100", 0, true, 100, false},
    {"100 last", 0, true, 100, true},
    {"100   LAST", 0, true, 100, true},
    {"007", 0, true, 7, false},
    {"18446744073709551615 LAST", 0, true, UINT64_MAX, true},
    /* The size is readable but the rest is not: skip, then 501. */
    {"100 LASTX", -1, true, 100, false},
    {"100 X", -1, true, 100, false},
    {"100 LAST LAST", -1, true, 100, false},
    /* No readable size: the session cannot stay in step. */
    {"", -1, false, 0, false},
    {"LAST", -1, false, 0, false},
    {"-1", -1, false, 0, false},
    {"+1", -1, false, 0, false},
    {"1x", -1, false, 0, false},
    {"0x10", -1, false, 0, false},
    {"18446744073709551616", -1, false, 0, false},
};

static void
test_bdat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]);
	     i++) {
		const struct bdat_case *c = &bdat_cases[i];
		size_t len = strlen(c->args);
		char *args = malloc(len + 1);
		struct smtp_bdat_args b;
		struct smtp_parse_error err = {0, NULL, NULL};

		assert_non_null(args);
		memcpy(args, c->args, len);
		int ret = smtp_parse_bdat(args, len, &b, &err);
		if (ret != c->ret || b.size_ok != c->size_ok)
			fail_msg("BDAT \"%s\": ret %d size_ok %d", c->args, ret,
				 b.size_ok);
		if (c->size_ok)
			assert_true(b.size == c->size);
		if (ret == 0)
			assert_int_equal(b.last, c->last);
		else
			assert_int_equal(err.code, 501);
		free(args);
	}
	/* Through the command parser, as the session does it. */
	struct smtp_command cmd;
	struct smtp_parse_error err;
	struct smtp_bdat_args b;
	assert_int_equal(smtp_parse_command("bdat 42 LAST ", 13, &cmd, &err),
			 0);
	assert_int_equal(cmd.verb, SMTP_VERB_BDAT);
	assert_int_equal(smtp_parse_bdat(cmd.args, cmd.args_len, &b, &err), 0);
	assert_true(b.size == 42 && b.last);
}

static void
test_xtext(void **state)
{
	static const struct {
		const char *plain, *xtext;
	} pairs[] = {
	    {"abc", "abc"},
	    {"a+b", "a+2Bb"},
	    {"a=b", "a+3Db"},
	    {"a b", "a+20b"},
	    {"\"q\"@x", "\"q\"@x"},
	    {"\x7f\xc3\xa9", "+7F+C3+A9"},
	    {"", ""},
	};
	char buf[64];
	(void)state;

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		long n = smtp_xtext_encode(pairs[i].plain, buf, sizeof(buf));
		assert_int_equal(n, (long)strlen(pairs[i].xtext));
		assert_string_equal(buf, pairs[i].xtext);
		n = smtp_xtext_decode(pairs[i].xtext, strlen(pairs[i].xtext),
				      buf, sizeof(buf));
		assert_int_equal(n, (long)strlen(pairs[i].plain));
		assert_string_equal(buf, pairs[i].plain);
	}
	/* Lower-case hex is read too; malformed input is refused. */
	assert_int_equal(smtp_xtext_decode("a+2bb", 5, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "a+b");
	assert_int_equal(smtp_xtext_decode("a+", 2, buf, sizeof(buf)), -1);
	assert_int_equal(smtp_xtext_decode("a+2", 3, buf, sizeof(buf)), -1);
	assert_int_equal(smtp_xtext_decode("a=b", 3, buf, sizeof(buf)), -1);
	assert_int_equal(smtp_xtext_decode("a b", 3, buf, sizeof(buf)), -1);
	/* Room: the encoder and decoder never write past outsize. */
	assert_int_equal(smtp_xtext_encode("abc", buf, 3), -1);
	assert_int_equal(smtp_xtext_encode("abc", buf, 4), 3);
	assert_int_equal(smtp_xtext_encode("+", buf, 3), -1);
	assert_int_equal(smtp_xtext_decode("abc", 3, buf, 3), -1);
	assert_int_equal(smtp_xtext_decode("abc", 3, buf, 4), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command),  cmocka_unit_test(test_verb_name),
	    cmocka_unit_test(test_mail),     cmocka_unit_test(test_rcpt),
	    cmocka_unit_test(test_pipeline), cmocka_unit_test(test_mail_ext),
	    cmocka_unit_test(test_rcpt_ext), cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_xtext),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
