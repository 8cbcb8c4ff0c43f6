/*
 * smtp_parse - SMTP command line, MAIL and RCPT argument parser.
 *
 * Everything works on (pointer, length) views of the session's line
 * buffer; nothing is copied except the path, which smtp_addr unquotes.
 */
#include "smtp/smtp_parse.h"

#include <string.h>
#include <strings.h>

static const char *const verb_names[SMTP_VERB_COUNT] = {
    [SMTP_VERB_UNKNOWN] = "?",	       [SMTP_VERB_HELO] = "HELO",
    [SMTP_VERB_EHLO] = "EHLO",	       [SMTP_VERB_MAIL] = "MAIL",
    [SMTP_VERB_RCPT] = "RCPT",	       [SMTP_VERB_DATA] = "DATA",
    [SMTP_VERB_RSET] = "RSET",	       [SMTP_VERB_NOOP] = "NOOP",
    [SMTP_VERB_QUIT] = "QUIT",	       [SMTP_VERB_VRFY] = "VRFY",
    [SMTP_VERB_EXPN] = "EXPN",	       [SMTP_VERB_HELP] = "HELP",
    [SMTP_VERB_STARTTLS] = "STARTTLS", [SMTP_VERB_AUTH] = "AUTH",
    [SMTP_VERB_BDAT] = "BDAT",
};

const char *
smtp_verb_name(enum smtp_verb verb)
{
	if ((unsigned)verb >= SMTP_VERB_COUNT)
		return "?";
	return verb_names[verb];
}

static int
set_error(struct smtp_parse_error *error_r, int code, const char *enhanced,
	  const char *text)
{
	error_r->code = code;
	error_r->enhanced = enhanced;
	error_r->text = text;
	return -1;
}

int
smtp_parse_command(const char *line, size_t len, struct smtp_command *cmd_r,
		   struct smtp_parse_error *error_r)
{
	size_t vlen = 0, pos;

	memset(cmd_r, 0, sizeof(*cmd_r));
	cmd_r->args = line;
	/* A NUL cannot be part of any command and is a classic way to make
	 * C code see a different line than the peer sent. */
	if (len == 0)
		return set_error(error_r, 500, "5.5.2", "Error: empty command");
	if (memchr(line, '\0', len) != NULL)
		return set_error(error_r, 500, "5.5.2",
				 "Error: NUL byte in command");

	/* §4.1.1: the verb is followed by SP or the end of the line. */
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	cmd_r->verb = SMTP_VERB_UNKNOWN;
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		if (strlen(verb_names[v]) == vlen &&
		    strncasecmp(line, verb_names[v], vlen) == 0) {
			cmd_r->verb = (enum smtp_verb)v;
			break;
		}
	}
	pos = vlen;
	while (pos < len && line[pos] == ' ')
		pos++;
	while (len > pos && line[len - 1] == ' ')
		len--;
	cmd_r->args = line + pos;
	cmd_r->args_len = len - pos;
	return 0;
}

/* Parameter syntax shared by MAIL and RCPT (§4.1.2 Mail-parameters). */
struct param {
	const char *key;
	size_t key_len;
	const char *value; /* NULL when the parameter has no "=value" */
	size_t value_len;
};

static bool
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9');
}

/*
 * next_param - split the next "keyword[=value]" off *s (*len bytes,
 * leading spaces skipped). Returns 1 with p filled, 0 at the end, -1 on
 * bad syntax: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"),
 * esmtp-value = 1*(%d33-60 / %d62-126).
 */
static int
next_param(const char **s, size_t *len, struct param *p)
{
	const char *q = *s;
	size_t n = *len, i = 0;

	while (n > 0 && *q == ' ') {
		q++;
		n--;
	}
	if (n == 0)
		return 0;
	memset(p, 0, sizeof(*p));
	p->key = q;
	if (!is_alnum((unsigned char)q[0]))
		return -1;
	while (i < n && (is_alnum((unsigned char)q[i]) || q[i] == '-'))
		i++;
	p->key_len = i;
	if (i < n && q[i] == '=') {
		i++;
		p->value = q + i;
		while (i < n && (unsigned char)q[i] >= 33 &&
		       (unsigned char)q[i] <= 126 && q[i] != '=')
			i++;
		p->value_len = (size_t)(q + i - p->value);
		if (p->value_len == 0)
			return -1;
	}
	if (i < n && q[i] != ' ')
		return -1;
	*s = q + i;
	*len = n - i;
	return 1;
}

static bool
key_is(const struct param *p, const char *name)
{
	return strlen(name) == p->key_len &&
	       strncasecmp(p->key, name, p->key_len) == 0;
}

static bool
value_is(const struct param *p, const char *name)
{
	return strlen(name) == p->value_len &&
	       strncasecmp(p->value, name, p->value_len) == 0;
}

/* parse_size - RFC 1870 size-value = 1*20DIGIT, refusing overflow. */
static bool
parse_size(const struct param *p, uint64_t *size_r)
{
	uint64_t v = 0;

	if (p->value == NULL)
		return false;
	for (size_t i = 0; i < p->value_len; i++) {
		unsigned d = (unsigned char)p->value[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*size_r = v;
	return true;
}

/*
 * parse_prefix - match "FROM:" / "TO:" (case-insensitive), then skip
 * spaces: RFC 5321 has none after the colon, but many clients send one
 * and refusing them helps nobody. Returns the offset of the path or -1.
 */
static long
parse_prefix(const char *args, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	if (len < n || strncasecmp(args, prefix, n) != 0)
		return -1;
	while (n < len && args[n] == ' ')
		n++;
	return (long)n;
}

/* How MAIL and RCPT differ in their path part. */
struct path_rules {
	const char *prefix; /* "FROM:" / "TO:" */
	unsigned flags;	    /* smtp_addr_flags */
	const char *syntax; /* the 501 5.5.4 text for a missing prefix */
	const char *bad_enhanced;
	const char *bad_text;
};

static const struct path_rules mail_rules = {
    "FROM:", SMTP_ADDR_ALLOW_NULL, "Syntax: MAIL FROM:<address>", "5.1.7",
    "Bad sender address syntax"};

/* No ALLOW_NULL: §4.1.1.3 RCPT takes a Forward-path, never <>. */
static const struct path_rules rcpt_rules = {
    "TO:", SMTP_ADDR_ALLOW_POSTMASTER, "Syntax: RCPT TO:<address>", "5.1.3",
    "Bad recipient address syntax"};

/*
 * parse_path_and_params - the common shape "PREFIX:<path>[ params]":
 * returns the parameter text in *rest and *rest_len, or -1 with error_r.
 */
static int
parse_path_and_params(const char *args, size_t len,
		      const struct path_rules *rules, struct smtp_path *path,
		      const char **rest, size_t *rest_len,
		      struct smtp_parse_error *error_r)
{
	long off = parse_prefix(args, len, rules->prefix);
	size_t used;

	if (off < 0)
		return set_error(error_r, 501, "5.5.4", rules->syntax);
	if (smtp_addr_parse_path(args + off, len - (size_t)off, rules->flags,
				 path, &used) < 0)
		return set_error(error_r, 501, rules->bad_enhanced,
				 rules->bad_text);
	off += (long)used;
	if ((size_t)off < len && args[off] != ' ')
		return set_error(error_r, 501, "5.5.4",
				 "Syntax error after address");
	*rest = args + off;
	*rest_len = len - (size_t)off;
	return 0;
}

int
smtp_parse_mail(const char *args, size_t len, struct smtp_mail_args *r,
		struct smtp_parse_error *error_r)
{
	const char *rest;
	size_t rest_len;
	struct param p;
	int ret;
	bool seen_body = false;

	memset(r, 0, sizeof(*r));
	if (parse_path_and_params(args, len, &mail_rules, &r->path, &rest,
				  &rest_len, error_r) < 0)
		return -1;
	while ((ret = next_param(&rest, &rest_len, &p)) > 0) {
		if (key_is(&p, "SIZE")) {
			/* RFC 1870 §6 */
			if (r->has_size || !parse_size(&p, &r->size))
				return set_error(error_r, 501, "5.5.4",
						 "Bad SIZE parameter");
			r->has_size = true;
		} else if (key_is(&p, "BODY")) {
			/* RFC 6152 §2 */
			if (seen_body || p.value == NULL)
				return set_error(error_r, 501, "5.5.4",
						 "Bad BODY parameter");
			if (value_is(&p, "7BIT"))
				r->body = SMTP_BODY_7BIT;
			else if (value_is(&p, "8BITMIME"))
				r->body = SMTP_BODY_8BITMIME;
			else
				return set_error(error_r, 501, "5.5.4",
						 "Bad BODY parameter");
			seen_body = true;
		} else {
			return set_error(error_r, 555, "5.5.4",
					 "Unsupported parameter");
		}
	}
	if (ret < 0)
		return set_error(error_r, 501, "5.5.4", "Bad parameter syntax");
	return 0;
}

int
smtp_parse_rcpt(const char *args, size_t len, struct smtp_rcpt_args *r,
		struct smtp_parse_error *error_r)
{
	const char *rest;
	size_t rest_len;
	struct param p;
	int ret;

	memset(r, 0, sizeof(*r));
	if (parse_path_and_params(args, len, &rcpt_rules, &r->path, &rest,
				  &rest_len, error_r) < 0)
		return -1;
	/* No RCPT parameters are supported (none are advertised). */
	ret = next_param(&rest, &rest_len, &p);
	if (ret > 0)
		return set_error(error_r, 555, "5.5.4",
				 "Unsupported parameter");
	if (ret < 0)
		return set_error(error_r, 501, "5.5.4", "Bad parameter syntax");
	return 0;
}
