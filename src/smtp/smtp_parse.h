/*
 * smtp_parse - the pure SMTP command-line parser (RFC 5321 §4.1).
 *
 * Takes one command line (without its CRLF) and returns the verb and a
 * view of its arguments; for MAIL and RCPT it also parses the path and the
 * ESMTP parameters. No socket, file or global is touched, so the session
 * (smtp_server.c), the SMTP client and the fuzzers share it.
 *
 * Errors carry the reply the server should send (code, enhanced code,
 * text), so the session only writes it.
 */
#ifndef PETREL_SMTP_SMTP_PARSE_H
#define PETREL_SMTP_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp_addr.h"

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_BDAT,
	SMTP_VERB_COUNT
};

/* A reply to send: 250 "2.1.0" "Ok". text is a static string. */
struct smtp_parse_error {
	int code;
	const char *enhanced;
	const char *text;
};

struct smtp_command {
	enum smtp_verb verb;
	const char *args; /* view into the line: after the verb and spaces */
	size_t args_len;  /* trailing spaces trimmed */
};

/*
 * smtp_parse_command - split line (len bytes, no CRLF) into verb and
 * arguments. Verbs are case-insensitive; a verb is followed by end of line
 * or SP. Returns 0, or -1 when the line is empty or has a NUL byte
 * (error_r: 500 5.5.2). An unrecognised verb is not an error here:
 * verb = SMTP_VERB_UNKNOWN.
 */
int smtp_parse_command(const char *line, size_t len, struct smtp_command *cmd_r,
		       struct smtp_parse_error *error_r);

/* smtp_verb_name - "MAIL", ... ("?" for UNKNOWN). */
const char *smtp_verb_name(enum smtp_verb verb);

enum smtp_body_type { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };

struct smtp_mail_args {
	struct smtp_path path;
	uint64_t size; /* SIZE=, 0 when absent */
	bool has_size;
	enum smtp_body_type body;
};

struct smtp_rcpt_args {
	struct smtp_path path;
};

/*
 * smtp_parse_mail - parse MAIL arguments: "FROM:<path> [params]".
 * RFC 5321 allows no space after the colon, but many clients send one:
 * accepted. Known parameters: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME
 * (RFC 6152). An unknown parameter is 555 5.5.4; a malformed path
 * 501 5.1.7; bad syntax 501 5.5.4. Returns 0 or -1 with error_r.
 */
int smtp_parse_mail(const char *args, size_t len, struct smtp_mail_args *r,
		    struct smtp_parse_error *error_r);

/*
 * smtp_parse_rcpt - parse RCPT arguments: "TO:<path> [params]". Also
 * accepts "TO:<postmaster>" (path.postmaster_only). A null path <> is
 * 501 5.1.3; a malformed path 501 5.1.3; an unknown parameter 555 5.5.4.
 */
int smtp_parse_rcpt(const char *args, size_t len, struct smtp_rcpt_args *r,
		    struct smtp_parse_error *error_r);

#endif
