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

enum smtp_body_type {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME /* RFC 3030 §3: only with BDAT */
};

/* RFC 3461 §4.3: RET=. */
enum smtp_dsn_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

/* RFC 3461 §4.1: NOTIFY= as bits; 0 = the parameter was not given. */
enum smtp_notify {
	SMTP_NOTIFY_SUCCESS = 1 << 0,
	SMTP_NOTIFY_FAILURE = 1 << 1,
	SMTP_NOTIFY_DELAY = 1 << 2,
	SMTP_NOTIFY_NEVER = 1 << 3,
};

#define SMTP_ENVID_MAX 100 /* RFC 3461 §4.4, the xtext form */
#define SMTP_ORCPT_MAX 500 /* RFC 3461 §4.2, the xtext form */

struct smtp_mail_args {
	struct smtp_path path; /* UTF-8 allowed: path.utf8 tells */
	uint64_t size;	       /* SIZE=, 0 when absent */
	bool has_size;
	enum smtp_body_type body;
	bool smtputf8; /* RFC 6531 §3.4 */
	enum smtp_dsn_ret ret;
	bool has_envid;
	char envid[SMTP_ENVID_MAX + 1]; /* decoded, printable ASCII */
};

struct smtp_rcpt_args {
	struct smtp_path path; /* UTF-8 allowed: path.utf8 tells */
	unsigned notify;       /* smtp_notify bits */
	/* ORCPT as "addr-type;address": an rfc822 address decoded from
	 * xtext, other types (utf-8, RFC 6533) as sent. "" when absent. */
	char orcpt[SMTP_ORCPT_MAX + 1];
};

/*
 * smtp_parse_mail - parse MAIL arguments: "FROM:<path> [params]".
 * RFC 5321 allows no space after the colon, but many clients send one:
 * accepted. Known parameters: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME
 * (RFC 6152) |BINARYMIME (RFC 3030), SMTPUTF8 (RFC 6531), RET= and
 * ENVID= (RFC 3461). A parameter given twice or with a bad value is
 * 501 5.5.4; an unknown one 555 5.5.4; a malformed path 501 5.1.7.
 * The path may be UTF-8: whether that needs SMTPUTF8 is for the caller
 * (553 5.6.7, RFC 6531 §3.5). Returns 0 or -1 with error_r.
 */
int smtp_parse_mail(const char *args, size_t len, struct smtp_mail_args *r,
		    struct smtp_parse_error *error_r);

/*
 * smtp_parse_rcpt - parse RCPT arguments: "TO:<path> [params]". Also
 * accepts "TO:<postmaster>" (path.postmaster_only). Parameters: NOTIFY=
 * and ORCPT= (RFC 3461 §4.1, §4.2). A null path <> is 501 5.1.3; a
 * malformed path 501 5.1.3; a bad parameter 501 5.5.4, an unknown one
 * 555 5.5.4.
 */
int smtp_parse_rcpt(const char *args, size_t len, struct smtp_rcpt_args *r,
		    struct smtp_parse_error *error_r);

struct smtp_bdat_args {
	uint64_t size; /* octets of the chunk */
	bool last;     /* the end-marker LAST */
	bool size_ok;  /* size is valid, even when the rest is not */
};

/*
 * smtp_parse_bdat - RFC 3030 §2: "BDAT" SP chunk-size [SP "LAST"].
 * Returns 0, or -1 with error_r (501 5.5.4). On error, size_ok says
 * whether the chunk size could still be read: the caller must then skip
 * that many octets to stay in step with the client; otherwise it cannot
 * know where the next command starts.
 */
int smtp_parse_bdat(const char *args, size_t len, struct smtp_bdat_args *r,
		    struct smtp_parse_error *error_r);

/*
 * smtp_xtext_decode - RFC 3461 §4 xtext: "+" and two hex digits stand
 * for one octet; every other byte must be a printable ASCII xchar
 * (33..126 except "+" and "="). Writes at most outsize - 1 bytes and a
 * NUL. Returns the decoded length, or -1 when malformed or too long.
 */
long smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsize);

/*
 * smtp_xtext_encode - the reverse for the NUL-terminated in: "+", "="
 * and bytes outside 33..126 become "+XX" (upper-case hex). Returns the
 * length written (NUL-terminated), or -1 if out is too small.
 */
long smtp_xtext_encode(const char *in, char *out, size_t outsize);

#endif
