/*
 * smtp_parse - SMTP command line, MAIL and RCPT argument parser.
 *
 * Everything works on (pointer, length) views of the session's line
 * buffer; nothing is copied except the path, which smtp_addr unquotes.
 */
#include "smtp/smtp_parse.h"

#include <string.h>
#include <strings.h>

#include "util/num.h"
#include "util/utf8.h"

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
 * esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii), the last as
 * RFC 6531 §3.3 extends it (an ORCPT=utf-8;... may carry UTF-8).
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
		for (;;) {
			size_t k;
			if (i < n && (unsigned char)q[i] >= 33 &&
			    (unsigned char)q[i] <= 126 && q[i] != '=')
				i++;
			else if ((k = utf8_seq_len(q + i, n - i)) > 0)
				i += k;
			else
				break;
		}
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
    "FROM:", SMTP_ADDR_ALLOW_NULL | SMTP_ADDR_ALLOW_UTF8,
    "Syntax: MAIL FROM:<address>", "5.1.7", "Bad sender address syntax"};

/* No ALLOW_NULL: §4.1.1.3 RCPT takes a Forward-path, never <>. */
static const struct path_rules rcpt_rules = {
    "TO:", SMTP_ADDR_ALLOW_POSTMASTER | SMTP_ADDR_ALLOW_UTF8,
    "Syntax: RCPT TO:<address>", "5.1.3", "Bad recipient address syntax"};

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

long
smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (o + 1 >= outsize)
			return -1;
		if (c == '+') {
			/* hexchar = "+" 2(upper-case HEXDIG); lower case is
			 * taken too, as a liberal reader would. */
			int v = 0;
			for (size_t k = 1; k <= 2; k++) {
				int d =
				    i + k < len ? num_hex_digit(in[i + k]) : -1;
				if (d < 0)
					return -1;
				v = v * 16 + d;
			}
			out[o++] = (char)v;
			i += 2;
		} else if (c >= 33 && c <= 126 && c != '=') {
			out[o++] = (char)c;
		} else {
			return -1;
		}
	}
	out[o] = '\0';
	return (long)o;
}

long
smtp_xtext_encode(const char *in, char *out, size_t outsize)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;
		bool plain = c >= 33 && c <= 126 && c != '+' && c != '=';
		if (o + (plain ? 1 : 3) >= outsize)
			return -1;
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '+';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (outsize == 0)
		return -1;
	out[o] = '\0';
	return (long)o;
}

/* printable - every byte of s is printable ASCII (32..126). */
static bool
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126)
			return false;
	return true;
}

/* parse_envid - RFC 3461 §4.4: ENVID=xtext, at most 100 characters, of
 * printable US-ASCII once decoded. */
static bool
parse_envid(const struct param *p, char *out)
{
	long n;

	if (p->value == NULL || p->value_len > SMTP_ENVID_MAX)
		return false;
	n = smtp_xtext_decode(p->value, p->value_len, out, SMTP_ENVID_MAX + 1);
	return n > 0 && printable(out, (size_t)n);
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
			/* RFC 6152 §2, RFC 3030 §3 */
			if (seen_body || p.value == NULL)
				return set_error(error_r, 501, "5.5.4",
						 "Bad BODY parameter");
			if (value_is(&p, "7BIT"))
				r->body = SMTP_BODY_7BIT;
			else if (value_is(&p, "8BITMIME"))
				r->body = SMTP_BODY_8BITMIME;
			else if (value_is(&p, "BINARYMIME"))
				r->body = SMTP_BODY_BINARYMIME;
			else
				return set_error(error_r, 501, "5.5.4",
						 "Bad BODY parameter");
			seen_body = true;
		} else if (key_is(&p, "SMTPUTF8")) {
			/* RFC 6531 §3.4: a keyword without a value. */
			if (r->smtputf8 || p.value != NULL)
				return set_error(error_r, 501, "5.5.4",
						 "Bad SMTPUTF8 parameter");
			r->smtputf8 = true;
		} else if (key_is(&p, "RET")) {
			/* RFC 3461 §4.3 */
			if (r->ret != SMTP_RET_NONE || p.value == NULL)
				return set_error(error_r, 501, "5.5.4",
						 "Bad RET parameter");
			if (value_is(&p, "FULL"))
				r->ret = SMTP_RET_FULL;
			else if (value_is(&p, "HDRS"))
				r->ret = SMTP_RET_HDRS;
			else
				return set_error(error_r, 501, "5.5.4",
						 "Bad RET parameter");
		} else if (key_is(&p, "ENVID")) {
			if (r->has_envid || !parse_envid(&p, r->envid))
				return set_error(error_r, 501, "5.5.4",
						 "Bad ENVID parameter");
			r->has_envid = true;
		} else {
			return set_error(error_r, 555, "5.5.4",
					 "Unsupported parameter");
		}
	}
	if (ret < 0)
		return set_error(error_r, 501, "5.5.4", "Bad parameter syntax");
	return 0;
}

/*
 * parse_notify - RFC 3461 §4.1: "NEVER" / 1#( "SUCCESS" / "FAILURE" /
 * "DELAY" ), case-insensitive; NEVER stands alone.
 */
static bool
parse_notify(const struct param *p, unsigned *notify_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} words[] = {{"NEVER", SMTP_NOTIFY_NEVER},
		     {"SUCCESS", SMTP_NOTIFY_SUCCESS},
		     {"FAILURE", SMTP_NOTIFY_FAILURE},
		     {"DELAY", SMTP_NOTIFY_DELAY}};
	unsigned bits = 0;
	size_t i = 0;

	if (p->value == NULL)
		return false;
	while (i < p->value_len) {
		size_t w = i;
		bool found = false;
		while (w < p->value_len && p->value[w] != ',')
			w++;
		for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
			if (strlen(words[k].name) == w - i &&
			    strncasecmp(p->value + i, words[k].name, w - i) ==
				0) {
				bits |= words[k].bit;
				found = true;
			}
		if (!found)
			return false;
		if (w < p->value_len && w + 1 == p->value_len)
			return false; /* a trailing comma */
		i = w + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return false;
	*notify_r = bits;
	return bits != 0;
}

/*
 * parse_orcpt - RFC 3461 §4.2: ORCPT=addr-type ";" xtext. An rfc822
 * address is decoded (and must be printable ASCII); another type, such
 * as RFC 6533's utf-8 with its own \x{..} escapes, is kept as sent.
 * The type is lower-cased.
 */
static bool
parse_orcpt(const struct param *p, char *out)
{
	size_t t = 0;

	if (p->value == NULL || p->value_len > SMTP_ORCPT_MAX)
		return false;
	while (t < p->value_len && p->value[t] != ';')
		t++;
	if (t == 0 || t == p->value_len || t + 1 == p->value_len)
		return false;
	for (size_t i = 0; i < t; i++) {
		unsigned char c = (unsigned char)p->value[i];
		if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
			return false;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[t] = ';';
	const char *v = p->value + t + 1;
	size_t vlen = p->value_len - t - 1;
	if (t == 6 && strncmp(out, "rfc822", 6) == 0) {
		long n = smtp_xtext_decode(v, vlen, out + t + 1,
					   SMTP_ORCPT_MAX + 1 - t - 1);
		return n > 0 && printable(out + t + 1, (size_t)n);
	}
	if (!utf8_valid(v, vlen))
		return false;
	memcpy(out + t + 1, v, vlen);
	out[t + 1 + vlen] = '\0';
	return true;
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
	while ((ret = next_param(&rest, &rest_len, &p)) > 0) {
		if (key_is(&p, "NOTIFY")) {
			if (r->notify != 0 || !parse_notify(&p, &r->notify))
				return set_error(error_r, 501, "5.5.4",
						 "Bad NOTIFY parameter");
		} else if (key_is(&p, "ORCPT")) {
			if (r->orcpt[0] != '\0' || !parse_orcpt(&p, r->orcpt))
				return set_error(error_r, 501, "5.5.4",
						 "Bad ORCPT parameter");
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
smtp_parse_bdat(const char *args, size_t len, struct smtp_bdat_args *r,
		struct smtp_parse_error *error_r)
{
	size_t i = 0;
	uint64_t v = 0;

	memset(r, 0, sizeof(*r));
	/* chunk-size = 1*DIGIT; a size that does not fit 64 bits is no
	 * size we could ever skip either. */
	while (i < len && args[i] >= '0' && args[i] <= '9') {
		unsigned d = (unsigned)(args[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return set_error(error_r, 501, "5.5.4",
					 "Syntax: BDAT count [LAST]");
		v = v * 10 + d;
		i++;
	}
	if (i == 0 || (i < len && args[i] != ' '))
		return set_error(error_r, 501, "5.5.4",
				 "Syntax: BDAT count [LAST]");
	r->size = v;
	r->size_ok = true;
	while (i < len && args[i] == ' ')
		i++;
	if (i == len)
		return 0;
	if (len - i == 4 && strncasecmp(args + i, "LAST", 4) == 0) {
		r->last = true;
		return 0;
	}
	return set_error(error_r, 501, "5.5.4", "Syntax: BDAT count [LAST]");
}
