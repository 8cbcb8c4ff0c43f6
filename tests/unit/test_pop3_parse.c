/*
 * test_pop3_parse - the POP3 command line parser and number parser.
 * Every case runs on an exact-length heap copy (no NUL after it), so
 * ASan catches any read past the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3/pop3_parse.h"

#define S(x) x, sizeof(x) - 1

struct cmd_case {
	const char *line;
	size_t len;
	int ret;
	enum pop3_cmd cmd;
	size_t n_args;
	const char *arg0, *arg1;
	const char *error; /* when ret is -1 */
};

#define OK0(l, c)                                                              \
	{                                                                      \
		S(l), 0, c, 0, NULL, NULL, NULL                                \
	}
#define OK1(l, c, a)                                                           \
	{                                                                      \
		S(l), 0, c, 1, a, NULL, NULL                                   \
	}
#define OK2(l, c, a, b)                                                        \
	{                                                                      \
		S(l), 0, c, 2, a, b, NULL                                      \
	}
#define ERR(l, e)                                                              \
	{                                                                      \
		S(l), -1, POP3_CMD_UNKNOWN, 0, NULL, NULL, e                   \
	}

static const struct cmd_case cmd_cases[] = {
    /* Every command, with its argument counts. */
    OK1("USER alice", POP3_CMD_USER, "alice"),
    OK1("PASS secret", POP3_CMD_PASS, "secret"),
    OK1("AUTH PLAIN", POP3_CMD_AUTH, "PLAIN"),
    OK2("AUTH PLAIN AGFsaWNlAHNlY3JldA==", POP3_CMD_AUTH, "PLAIN",
	"AGFsaWNlAHNlY3JldA=="),
    ERR("AUTH", "missing argument"),
    OK2("APOP mrose c4c9334bac560ecc979e58001b3e22fb", POP3_CMD_APOP, "mrose",
	"c4c9334bac560ecc979e58001b3e22fb"),
    OK0("STLS", POP3_CMD_STLS),
    OK0("CAPA", POP3_CMD_CAPA),
    OK0("QUIT", POP3_CMD_QUIT),
    OK0("STAT", POP3_CMD_STAT),
    OK0("LIST", POP3_CMD_LIST),
    OK1("LIST 1", POP3_CMD_LIST, "1"),
    OK1("RETR 1", POP3_CMD_RETR, "1"),
    OK1("DELE 42", POP3_CMD_DELE, "42"),
    OK0("NOOP", POP3_CMD_NOOP),
    OK0("RSET", POP3_CMD_RSET),
    OK2("TOP 1 10", POP3_CMD_TOP, "1", "10"),
    OK0("UIDL", POP3_CMD_UIDL),
    OK1("UIDL 3", POP3_CMD_UIDL, "3"),
    /* Case-insensitive keywords (RFC 1939 §3). */
    OK0("quit", POP3_CMD_QUIT),
    OK0("QuIt", POP3_CMD_QUIT),
    OK2("top 1 0", POP3_CMD_TOP, "1", "0"),
    OK1("user Bob", POP3_CMD_USER, "Bob"),
    OK1("retr 007", POP3_CMD_RETR, "007"),
    /* Extra spaces between and after arguments are tolerated. */
    OK0("QUIT ", POP3_CMD_QUIT),
    OK0("STAT   ", POP3_CMD_STAT),
    OK2("TOP   1    5  ", POP3_CMD_TOP, "1", "5"),
    OK1("RETR  1 ", POP3_CMD_RETR, "1"),
    OK1("USER   alice  ", POP3_CMD_USER, "alice"),
    OK1("USER a b", POP3_CMD_USER, "a b"),
    /* PASS keeps every byte after "PASS ": spaces are password. */
    OK1("PASS two words", POP3_CMD_PASS, "two words"),
    OK1("PASS  lead", POP3_CMD_PASS, " lead"),
    OK1("PASS trail ", POP3_CMD_PASS, "trail "),
    OK1("PASS  ", POP3_CMD_PASS, " "),
    /* Arguments are not checked here (numbers are checked later). */
    OK1("RETR x", POP3_CMD_RETR, "x"),
    OK1("DELE -1", POP3_CMD_DELE, "-1"),
    /* Unknown keywords are not errors. */
    OK0("XYZZY", POP3_CMD_UNKNOWN),
    OK1("HELO there", POP3_CMD_UNKNOWN, "there"),
    OK0("QUITX", POP3_CMD_UNKNOWN),
    OK0("QU", POP3_CMD_UNKNOWN),
    OK0("QUIT\t", POP3_CMD_UNKNOWN),
    OK0("\xff\xfe", POP3_CMD_UNKNOWN),
    OK2("GET / HTTP/1.0", POP3_CMD_UNKNOWN, "/", "HTTP/1.0"),
    ERR("XTND a b c", "too many arguments"),
    /* Argument counts. */
    ERR("STAT 1", "too many arguments"),
    ERR("QUIT now", "too many arguments"),
    ERR("NOOP x", "too many arguments"),
    ERR("RSET x", "too many arguments"),
    ERR("CAPA x", "too many arguments"),
    ERR("STLS x", "too many arguments"),
    ERR("LIST 1 2", "too many arguments"),
    ERR("UIDL 1 2", "too many arguments"),
    ERR("RETR", "missing argument"),
    ERR("RETR ", "missing argument"),
    ERR("RETR 1 2", "too many arguments"),
    ERR("DELE", "missing argument"),
    ERR("DELE 1 2", "too many arguments"),
    ERR("TOP", "missing argument"),
    ERR("TOP 1", "missing argument"),
    ERR("TOP 1 2 3", "too many arguments"),
    ERR("AUTH PLAIN x y", "too many arguments"),
    ERR("APOP mrose", "missing argument"),
    ERR("APOP a b c", "too many arguments"),
    ERR("USER", "missing argument"),
    ERR("USER ", "missing argument"),
    ERR("USER    ", "missing argument"),
    ERR("PASS", "missing argument"),
    ERR("PASS ", "missing argument"),
    /* Empty, NUL, leading space. */
    ERR("", "empty command"),
    ERR("   ", "empty command"),
    ERR(" QUIT", "missing command"),
    ERR("QUIT\0", "NUL in command"),
    ERR("\0", "NUL in command"),
    ERR("USER a\0b", "NUL in command"),
    ERR("PASS a\0b", "NUL in command"),
};

static void
check_case(size_t i, const struct cmd_case *c)
{
	struct pop3_command cmd;
	const char *error = NULL;
	/* Exact-size copy; malloc(0) is avoided with +1 but not read. */
	char *line = malloc(c->len + 1);
	int ret;

	assert_non_null(line);
	memcpy(line, c->line, c->len);
	ret = pop3_parse_command(line, c->len, &cmd, &error);
	if (ret != c->ret)
		fail_msg("case %zu (%.*s): ret %d (%s)", i, (int)c->len,
			 c->line, ret, error ? error : "");
	if (ret == 0) {
		assert_null(error);
		if (cmd.cmd != c->cmd || cmd.n_args != c->n_args)
			fail_msg("case %zu: cmd %d n_args %zu", i, cmd.cmd,
				 cmd.n_args);
		const char *want[2] = {c->arg0, c->arg1};
		for (size_t a = 0; a < cmd.n_args; a++) {
			assert_int_equal(cmd.arg_lens[a], strlen(want[a]));
			assert_memory_equal(cmd.args[a], want[a],
					    cmd.arg_lens[a]);
			assert_true(cmd.args[a] >= line &&
				    cmd.args[a] + cmd.arg_lens[a] <=
					line + c->len);
		}
	} else {
		assert_non_null(error);
		if (strcmp(error, c->error) != 0)
			fail_msg("case %zu: error \"%s\", want \"%s\"", i,
				 error, c->error);
	}
	free(line);
}

static void
test_command(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++)
		check_case(i, &cmd_cases[i]);
}

static void
test_long_line(void **state)
{
	/* RFC 2449 §4: 255 octets with CRLF, so 253 without. */
	char *line = malloc(POP3_LINE_MAX);
	struct pop3_command cmd;
	const char *error;

	(void)state;
	assert_non_null(line);
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'x', POP3_LINE_MAX - 5);
	assert_int_equal(
	    pop3_parse_command(line, POP3_LINE_MAX - 2, &cmd, &error), 0);
	assert_int_equal(cmd.arg_lens[0], POP3_LINE_MAX - 7);
	assert_int_equal(
	    pop3_parse_command(line, POP3_LINE_MAX - 1, &cmd, &error), -1);
	assert_string_equal(error, "line too long");
	free(line);
}

struct num_case {
	const char *s;
	int ret;
	uint32_t n;
};

static const struct num_case num_cases[] = {
    {"0", 0, 0},
    {"1", 0, 1},
    {"007", 0, 7},
    {"00000000000000000001", 0, 1},
    {"4294967295", 0, UINT32_MAX},
    {"4294967296", -1, 0},
    {"99999999999999999999", -1, 0},
    {"-1", -1, 0},
    {"+1", -1, 0},
    {"1x", -1, 0},
    {"x1", -1, 0},
    {" 1", -1, 0},
    {"1 ", -1, 0},
    {"0x10", -1, 0},
    {"", -1, 0},
};

static void
test_number(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
		const struct num_case *c = &num_cases[i];
		size_t len = strlen(c->s);
		char *s = malloc(len + 1);
		uint32_t n = 12345;

		assert_non_null(s);
		memcpy(s, c->s, len);
		if (pop3_parse_number(s, len, &n) != c->ret)
			fail_msg("number case %zu \"%s\"", i, c->s);
		if (c->ret == 0)
			assert_int_equal(n, c->n);
		else
			assert_int_equal(n, 12345);
		free(s);
	}
	/* A NUL inside is not a digit. */
	uint32_t n;
	assert_int_equal(pop3_parse_number("1\0002", 3, &n), -1);
}

static void
test_cmd_name(void **state)
{
	(void)state;
	assert_string_equal(pop3_cmd_name(POP3_CMD_UNKNOWN), "?");
	assert_string_equal(pop3_cmd_name(POP3_CMD_COUNT), "?");
	assert_string_equal(pop3_cmd_name(POP3_CMD_TOP), "TOP");
	/* Every name parses back to its command; without arguments it
	 * is complete or lacks one, and the command is still known. */
	for (int c = POP3_CMD_UNKNOWN + 1; c < POP3_CMD_COUNT; c++) {
		const char *name = pop3_cmd_name((enum pop3_cmd)c);
		struct pop3_command cmd;
		const char *error;

		if (pop3_parse_command(name, strlen(name), &cmd, &error) < 0)
			assert_string_equal(error, "missing argument");
		assert_int_equal(cmd.cmd, c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_number),
	    cmocka_unit_test(test_cmd_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
