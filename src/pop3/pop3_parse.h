/*
 * pop3_parse - the pure POP3 command parser (RFC 1939, RFC 2449 CAPA,
 * RFC 5034 AUTH, RFC 2595 STLS).
 *
 * One command line (without CRLF) in, the command and its arguments out.
 * Keywords are case-insensitive, 3-4 characters; arguments are separated
 * by single spaces (RFC 1939 §3) — extra spaces are tolerated. Message
 * numbers are decimal, 1..UINT32_MAX, no sign, no leading '+'.
 */
#ifndef PETREL_POP3_POP3_PARSE_H
#define PETREL_POP3_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define POP3_LINE_MAX 255 /* RFC 2449 §4: 255 octets incl. CRLF */
#define POP3_ARG_MAX  255

enum pop3_cmd {
	POP3_CMD_UNKNOWN = 0,
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_AUTH,
	POP3_CMD_APOP,
	POP3_CMD_STLS,
	POP3_CMD_CAPA,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_RETR,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_TOP,
	POP3_CMD_UIDL,
	POP3_CMD_COUNT
};

struct pop3_command {
	enum pop3_cmd cmd;
	size_t n_args;
	/* Views into the line. USER and PASS take the whole rest of the
	 * line as one argument (passwords may contain spaces). */
	const char *args[2];
	size_t arg_lens[2];
};

/*
 * pop3_parse_command - parse line (len bytes, no CRLF). Returns 0, or -1
 * with a static reason in *error_r ("empty command", "NUL in command",
 * "too many arguments", "missing argument", ...). The argument count is
 * checked per command (STAT none, LIST/UIDL 0-1, RETR/DELE 1, TOP 2,
 * USER/PASS 1 (rest of line), AUTH 1-2, QUIT/NOOP/RSET/CAPA/STLS none).
 * An unknown keyword is not an error: cmd = POP3_CMD_UNKNOWN.
 */
int pop3_parse_command(const char *line, size_t len, struct pop3_command *cmd_r,
		       const char **error_r);

/*
 * pop3_parse_number - a message number or line count: decimal digits
 * only, no sign, value 0..UINT32_MAX. Returns 0 or -1.
 */
int pop3_parse_number(const char *s, size_t len, uint32_t *n_r);

/* pop3_cmd_name - "RETR", ... ("?" for UNKNOWN). */
const char *pop3_cmd_name(enum pop3_cmd cmd);

#endif
