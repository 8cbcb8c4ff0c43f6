#include "pop3/pop3_parse.h"

#include "util/num.h"

#include <string.h>
#include <strings.h>

/* The command table: keyword and the argument counts it takes. */
static const struct {
	const char *name;
	unsigned char min_args, max_args;
	/* USER and PASS: the rest of the line is one argument. */
	unsigned char rest_of_line;
} cmds[POP3_CMD_COUNT] = {
    [POP3_CMD_UNKNOWN] = {"?", 0, 2, 0},
    [POP3_CMD_USER] = {"USER", 1, 1, 1},
    [POP3_CMD_PASS] = {"PASS", 1, 1, 1},
    /* RFC 5034 §4: AUTH mechanism [initial-response]. */
    [POP3_CMD_AUTH] = {"AUTH", 1, 2, 0},
    /* RFC 1939 §7: APOP name digest. */
    [POP3_CMD_APOP] = {"APOP", 2, 2, 0},
    [POP3_CMD_STLS] = {"STLS", 0, 0, 0},
    [POP3_CMD_CAPA] = {"CAPA", 0, 0, 0},
    [POP3_CMD_QUIT] = {"QUIT", 0, 0, 0},
    [POP3_CMD_STAT] = {"STAT", 0, 0, 0},
    [POP3_CMD_LIST] = {"LIST", 0, 1, 0},
    [POP3_CMD_RETR] = {"RETR", 1, 1, 0},
    [POP3_CMD_DELE] = {"DELE", 1, 1, 0},
    [POP3_CMD_NOOP] = {"NOOP", 0, 0, 0},
    [POP3_CMD_RSET] = {"RSET", 0, 0, 0},
    [POP3_CMD_TOP] = {"TOP", 2, 2, 0},
    [POP3_CMD_UIDL] = {"UIDL", 0, 1, 0},
};

const char *
pop3_cmd_name(enum pop3_cmd cmd)
{
	if ((unsigned)cmd >= POP3_CMD_COUNT)
		return "?";
	return cmds[cmd].name;
}

static enum pop3_cmd
lookup(const char *kw, size_t len)
{
	/* RFC 1939 §3: keywords are 3-4 characters, case-insensitive. */
	if (len < 3 || len > 4)
		return POP3_CMD_UNKNOWN;
	for (int c = POP3_CMD_UNKNOWN + 1; c < POP3_CMD_COUNT; c++)
		if (strlen(cmds[c].name) == len &&
		    strncasecmp(cmds[c].name, kw, len) == 0)
			return (enum pop3_cmd)c;
	return POP3_CMD_UNKNOWN;
}

int
pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd_r,
		   const char **error_r)
{
	size_t i = 0, kw_len, n = 0;

	memset(cmd_r, 0, sizeof(*cmd_r));
	*error_r = NULL;
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL in command";
		return -1;
	}
	/* RFC 2449 §4: a command line is at most 255 octets with CRLF. */
	if (len > POP3_LINE_MAX - 2) {
		*error_r = "line too long";
		return -1;
	}
	while (i < len && line[i] != ' ')
		i++;
	kw_len = i;
	if (kw_len == 0) {
		/* A line of spaces is empty; " QUIT" has no keyword. */
		size_t j = 0;
		while (j < len && line[j] == ' ')
			j++;
		*error_r = j == len ? "empty command" : "missing command";
		return -1;
	}
	cmd_r->cmd = lookup(line, kw_len);

	if (cmds[cmd_r->cmd].rest_of_line) {
		size_t start = kw_len + 1, end = len;

		if (cmd_r->cmd == POP3_CMD_USER) {
			/* A user name has no edge spaces: tolerate extras. */
			while (start < end && line[start] == ' ')
				start++;
			while (end > start && line[end - 1] == ' ')
				end--;
		}
		/* A password is every byte after "PASS ", spaces included:
		 * it may begin or end with one. */
		if (start >= end) {
			*error_r = "missing argument";
			return -1;
		}
		cmd_r->n_args = 1;
		cmd_r->args[0] = line + start;
		cmd_r->arg_lens[0] = end - start;
		return 0;
	}

	/* RFC 1939 §3: arguments are separated by a single space; extra
	 * spaces (and trailing ones) are tolerated. */
	for (i = kw_len;;) {
		size_t start;

		while (i < len && line[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && line[i] != ' ')
			i++;
		if (n == 2) {
			*error_r = "too many arguments";
			return -1;
		}
		cmd_r->args[n] = line + start;
		cmd_r->arg_lens[n] = i - start;
		n++;
	}
	cmd_r->n_args = n;
	if (cmd_r->cmd == POP3_CMD_UNKNOWN)
		return 0;
	if (n < cmds[cmd_r->cmd].min_args) {
		*error_r = "missing argument";
		return -1;
	}
	if (n > cmds[cmd_r->cmd].max_args) {
		*error_r = "too many arguments";
		return -1;
	}
	return 0;
}

int
pop3_parse_number(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v;

	/* RFC 1939 §3: a number is plain digits; no sign, no "0x". */
	if (num_parse(s, len, UINT32_MAX, &v) < 0)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}
