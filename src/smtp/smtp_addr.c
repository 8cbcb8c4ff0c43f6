/*
 * smtp_addr - RFC 5321 §4.1.2 path and mailbox parser.
 *
 * A small recursive-descent parser over (pointer, length): every read is
 * guarded by the position check, and nothing is assumed NUL-terminated.
 */
#include "smtp/smtp_addr.h"

#include <arpa/inet.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"

#define LABEL_MAX 63 /* RFC 1035 §2.3.4 */

/* Parser cursor over a byte string. */
struct cur {
	const char *s;
	size_t len;
	size_t pos;
	bool utf8; /* SMTP_ADDR_ALLOW_UTF8 */
};

static int
peek(const struct cur *c)
{
	return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static bool
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
to_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* is_atext - RFC 5322 §3.2.3 atext, as RFC 5321 §4.1.2 Atom uses it. */
static bool
is_atext(int ch)
{
	if (is_alpha(ch) || is_digit(ch))
		return true;
	return ch > 0 && ch < 128 && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL;
}

/* is_qtext - RFC 5321 qtextSMTP: %d32-33 / %d35-91 / %d93-126. */
static bool
is_qtext(int ch)
{
	return ch >= 32 && ch <= 126 && ch != '"' && ch != '\\';
}

/*
 * domain_len - length of the RFC 5321 Domain at the start of s, or 0 if
 * there is none: sub-domain *("." sub-domain), sub-domain = Let-dig
 * [Ldh-str], i.e. letters, digits and inner hyphens; with utf8 also
 * well-formed UTF-8 (RFC 6531 §3.3: sub-domain =/ U-label, whose syntax
 * libidn2 checks afterwards). Stops at the first byte that cannot
 * continue it; a trailing '.' is not consumed. *utf8_r is set when a
 * label held non-ASCII bytes.
 */
static size_t
domain_len(const char *s, size_t len, bool utf8, bool *utf8_r)
{
	size_t pos = 0, end = 0;

	for (;;) {
		size_t start = pos, k;
		bool wide = false;

		for (;;) {
			if (pos < len && (is_alpha((unsigned char)s[pos]) ||
					  is_digit((unsigned char)s[pos]) ||
					  s[pos] == '-')) {
				pos++;
			} else if (utf8 &&
				   (k = utf8_seq_len(s + pos, len - pos)) > 0) {
				pos += k;
				wide = true;
			} else {
				break;
			}
		}
		/* Ldh-str ends in Let-dig: a label neither starts nor
		 * ends with '-'. */
		while (pos > start && s[pos - 1] == '-')
			pos--;
		if (pos == start || s[start] == '-')
			return end;
		/* A U-label's limit is that of its A-label (libidn2). */
		if (!wide && pos - start > LABEL_MAX)
			return 0;
		if (wide && utf8_r != NULL)
			*utf8_r = true;
		end = pos;
		if (pos + 1 < len && s[pos] == '.')
			pos++;
		else
			return end;
	}
}

/*
 * idna_ascii - the A-label form of a domain with U-labels (heap, NULL
 * when it is not a valid IDNA2008 name). UTS #46 non-transitional
 * mapping, as browsers and other mail software use; a mapping that
 * changes the label structure (U+3002 and other dots) is refused, since
 * the SMTP syntax knows only '.'.
 */
static char *
idna_ascii(const char *s, size_t len)
{
	char *in = malloc(len + 1), *out = NULL;
	size_t dots_in = 0, dots_out = 0;

	if (in == NULL)
		return NULL;
	memcpy(in, s, len);
	in[len] = '\0';
	int rc =
	    idn2_to_ascii_8z(in, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc == IDN2_OK && out != NULL) {
		for (size_t i = 0; i < len; i++)
			dots_in += in[i] == '.';
		for (size_t i = 0; out[i] != '\0'; i++)
			dots_out += out[i] == '.';
		if (dots_in != dots_out || strlen(out) > SMTP_DOMAIN_MAX ||
		    strlen(out) == 0) {
			idn2_free(out);
			out = NULL;
		}
	} else if (out != NULL) {
		idn2_free(out);
		out = NULL;
	}
	free(in);
	return out;
}

bool
smtp_addr_valid_domain(const char *s, size_t len)
{
	return len > 0 && len <= SMTP_DOMAIN_MAX &&
	       domain_len(s, len, false, NULL) == len;
}

int
smtp_addr_domain_ascii(const char *domain, char *out, size_t outlen)
{
	size_t len = strlen(domain);
	bool wide = false;

	if (len == 0 || len >= outlen)
		return -1;
	if (domain[0] == '[') {
		/* An address literal: as the parser made it. */
		for (size_t i = 0; i <= len; i++)
			out[i] = (char)to_lower((unsigned char)domain[i]);
		return 0;
	}
	if (len > SMTP_DOMAIN_MAX ||
	    domain_len(domain, len, true, &wide) != len)
		return -1;
	if (!wide) {
		for (size_t i = 0; i <= len; i++)
			out[i] = (char)to_lower((unsigned char)domain[i]);
		return 0;
	}
	char *a = idna_ascii(domain, len);
	if (a == NULL)
		return -1;
	size_t alen = strlen(a);
	if (alen >= outlen) {
		idn2_free(a);
		return -1;
	}
	for (size_t i = 0; i <= alen; i++)
		out[i] = (char)to_lower((unsigned char)a[i]);
	idn2_free(a);
	return 0;
}

/*
 * parse_domain - a Domain at the cursor into out (lower-cased). A label
 * that is too long, or a '-' / '.' where a label should end, fails the
 * whole parse rather than silently stopping short.
 */
static int
parse_domain(struct cur *c, char *out, bool *utf8_r)
{
	const char *s = c->s + c->pos;
	bool wide = false;
	size_t n = domain_len(s, c->len - c->pos, c->utf8, &wide);

	if (n == 0 || n > SMTP_DOMAIN_MAX)
		return -1;
	/* "a-.b" or "a..b": the domain stopped at a byte that can only
	 * have been meant as part of it. */
	if (c->pos + n < c->len &&
	    (s[n] == '-' || s[n] == '.' || is_alpha((unsigned char)s[n]) ||
	     is_digit((unsigned char)s[n]) || (unsigned char)s[n] >= 0x80))
		return -1;
	if (wide) {
		/* RFC 6531 §3.3: a U-label must be a valid IDNA2008 label. */
		char *a = idna_ascii(s, n);
		if (a == NULL)
			return -1;
		idn2_free(a);
		if (utf8_r != NULL)
			*utf8_r = true;
	}
	if (out != NULL) {
		for (size_t i = 0; i < n; i++)
			out[i] = (char)to_lower((unsigned char)s[i]);
		out[n] = '\0';
	}
	c->pos += n;
	return 0;
}

/* is_ipv6_char - a byte that can appear in RFC 4291 text form. */
static bool
is_ipv6_char(int ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.';
}

/* ipv4_literal - RFC 5321 IPv4-address-literal: Snum 3("." Snum). */
static bool
ipv4_literal(const char *s, size_t len)
{
	size_t pos = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t digits = 0;

		if (part > 0) {
			if (pos >= len || s[pos] != '.')
				return false;
			pos++;
		}
		while (pos < len && is_digit((unsigned char)s[pos]) &&
		       digits < 3) {
			v = v * 10 + (unsigned)(s[pos] - '0');
			pos++;
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
	}
	return pos == len;
}

/*
 * parse_literal - "[" IPv4 / "IPv6:" IPv6 "]" at the cursor. General
 * address literals (other tags) are refused: none is standardised for
 * mail, and petrel could not route to one. The IPv6 form is checked with
 * inet_pton, which accepts exactly RFC 4291 text (including the embedded
 * IPv4 forms RFC 5321's IPv6v4-full/comp allow).
 */
static int
parse_literal(struct cur *c, char *out)
{
	const char *s = c->s + c->pos + 1;
	size_t avail = c->len - c->pos - 1, n = 0;
	static const char tag[] = "IPv6:";
	const size_t taglen = sizeof(tag) - 1;

	while (n < avail && s[n] != ']')
		n++;
	if (n == avail || n + 2 > SMTP_DOMAIN_MAX)
		return -1;
	if (n > taglen && strncasecmp(s, tag, taglen) == 0) {
		char buf[INET6_ADDRSTRLEN + 1];
		struct in6_addr a6;
		size_t alen = n - taglen;

		if (alen >= sizeof(buf))
			return -1;
		/* inet_pton reads a C string: a NUL inside the literal would
		 * hide the rest of it (found by fuzz_smtp_addr). Only hex
		 * digits, ':' and '.' can occur in IPv6 text anyway. */
		for (size_t i = 0; i < alen; i++)
			if (!is_ipv6_char((unsigned char)s[taglen + i]))
				return -1;
		memcpy(buf, s + taglen, alen);
		buf[alen] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return -1;
		/* Canonical tag spelling; the address lower-cased. */
		memcpy(out, "[IPv6:", taglen + 1);
		for (size_t i = 0; i < alen; i++)
			out[taglen + 1 + i] =
			    (char)to_lower((unsigned char)buf[i]);
		out[taglen + 1 + alen] = ']';
		out[taglen + 2 + alen] = '\0';
	} else if (ipv4_literal(s, n)) {
		out[0] = '[';
		memcpy(out + 1, s, n);
		out[n + 1] = ']';
		out[n + 2] = '\0';
	} else {
		return -1;
	}
	c->pos += n + 2;
	return 0;
}

/*
 * wide_len - with UTF-8 allowed, the length of the UTF8-non-ascii
 * character at the cursor (RFC 6531 §3.3 extends atext and qtextSMTP by
 * it), else 0.
 */
static size_t
wide_len(const struct cur *c)
{
	return c->utf8 ? utf8_seq_len(c->s + c->pos, c->len - c->pos) : 0;
}

/*
 * parse_local - Local-part = Dot-string / Quoted-string into path->local,
 * unquoted. The 64-octet limit (§4.5.3.1.1) is applied to the local part
 * as written, so the unquoted form always fits too.
 */
static int
parse_local(struct cur *c, struct smtp_path *path)
{
	size_t start = c->pos, o = 0;
	int ch = peek(c);

	if (ch == '"') {
		path->quoted = true;
		c->pos++;
		for (;;) {
			size_t k;
			ch = peek(c);
			if (ch == '"')
				break;
			if ((k = wide_len(c)) > 0) {
				if (c->pos + k - start >= SMTP_LOCAL_MAX)
					return -1;
				memcpy(path->local + o, c->s + c->pos, k);
				o += k;
				c->pos += k;
				path->utf8 = true;
				continue;
			}
			if (ch == '\\') {
				c->pos++;
				ch = peek(c);
				/* quoted-pairSMTP = %d92 %d32-126 */
				if (ch < 32 || ch > 126)
					return -1;
			} else if (!is_qtext(ch)) {
				return -1;
			}
			if (c->pos - start >= SMTP_LOCAL_MAX)
				return -1;
			path->local[o++] = (char)ch;
			c->pos++;
		}
		c->pos++;
		if (c->pos - start > SMTP_LOCAL_MAX)
			return -1;
		path->local[o] = '\0';
		return 0;
	}

	/* Dot-string = Atom *("." Atom): no leading, trailing or double
	 * dot. */
	for (;;) {
		size_t atom = c->pos, k;

		for (;;) {
			if (is_atext(peek(c))) {
				c->pos++;
			} else if ((k = wide_len(c)) > 0) {
				c->pos += k;
				path->utf8 = true;
			} else {
				break;
			}
		}
		if (c->pos == atom)
			return -1;
		if (peek(c) != '.')
			break;
		c->pos++;
	}
	o = c->pos - start;
	if (o > SMTP_LOCAL_MAX)
		return -1;
	memcpy(path->local, c->s + start, o);
	path->local[o] = '\0';
	return 0;
}

/* parse_mailbox - Mailbox = Local-part "@" ( Domain / address-literal ). */
static int
parse_mailbox(struct cur *c, struct smtp_path *path)
{
	if (parse_local(c, path) < 0 || peek(c) != '@')
		return -1;
	c->pos++;
	if (peek(c) == '[') {
		path->address_literal = true;
		return parse_literal(c, path->domain);
	}
	return parse_domain(c, path->domain, &path->utf8);
}

/*
 * parse_adl - A-d-l = At-domain *( "," At-domain ), then ":". §4.1.1.3:
 * servers SHOULD accept and ignore source routes; the domains are still
 * checked so that garbage is not waved through.
 */
static int
parse_adl(struct cur *c)
{
	for (;;) {
		if (peek(c) != '@')
			return -1;
		c->pos++;
		if (parse_domain(c, NULL, NULL) < 0)
			return -1;
		if (peek(c) == ':') {
			c->pos++;
			return 0;
		}
		if (peek(c) != ',')
			return -1;
		c->pos++;
	}
}

/* is_postmaster - "<postmaster>" (§4.1.1.3), case-insensitive. */
static bool
is_postmaster(const char *s, size_t len)
{
	static const char pm[] = "<postmaster>";

	return len >= sizeof(pm) - 1 && strncasecmp(s, pm, sizeof(pm) - 1) == 0;
}

int
smtp_addr_parse_path(const char *s, size_t len, unsigned flags,
		     struct smtp_path *path_r, size_t *consumed_r)
{
	struct cur c = {s, len, 0, (flags & SMTP_ADDR_ALLOW_UTF8) != 0};

	memset(path_r, 0, sizeof(*path_r));
	if (len >= 2 && s[0] == '<' && s[1] == '>') {
		if (!(flags & SMTP_ADDR_ALLOW_NULL))
			return -1;
		path_r->null_path = true;
		*consumed_r = 2;
		return 0;
	}
	if (is_postmaster(s, len)) {
		if (!(flags & SMTP_ADDR_ALLOW_POSTMASTER))
			return -1;
		path_r->postmaster_only = true;
		/* Normalised: the name is case-insensitive (§4.5.1). */
		memcpy(path_r->local, "postmaster", sizeof("postmaster"));
		*consumed_r = sizeof("<postmaster>") - 1;
		return 0;
	}
	if (peek(&c) != '<') {
		if (!(flags & SMTP_ADDR_ALLOW_NO_BRACKETS))
			return -1;
		if (parse_mailbox(&c, path_r) < 0)
			goto fail;
		*consumed_r = c.pos;
		return 0;
	}
	c.pos++;
	if (peek(&c) == '@') {
		if (parse_adl(&c) < 0)
			goto fail;
		path_r->had_source_route = true;
	}
	if (parse_mailbox(&c, path_r) < 0 || peek(&c) != '>')
		goto fail;
	*consumed_r = c.pos + 1;
	return 0;
fail:
	memset(path_r, 0, sizeof(*path_r));
	return -1;
}

static int
parse_whole_mailbox(const char *s, size_t len, bool utf8,
		    struct smtp_path *path_r)
{
	struct cur c = {s, len, 0, utf8};

	memset(path_r, 0, sizeof(*path_r));
	if (parse_mailbox(&c, path_r) < 0 || c.pos != len) {
		memset(path_r, 0, sizeof(*path_r));
		return -1;
	}
	return 0;
}

int
smtp_addr_parse_mailbox(const char *s, size_t len, struct smtp_path *path_r)
{
	return parse_whole_mailbox(s, len, false, path_r);
}

int
smtp_addr_parse_mailbox_utf8(const char *s, size_t len,
			     struct smtp_path *path_r)
{
	return parse_whole_mailbox(s, len, true, path_r);
}

/*
 * local_needs_quotes - true unless local is a valid Dot-string. Bytes of
 * UTF-8 characters count as atext (RFC 6531 §3.3): the parser only ever
 * stores well-formed ones.
 */
static bool
local_needs_quotes(const char *local)
{
	size_t n = strlen(local);

	if (n == 0 || local[0] == '.' || local[n - 1] == '.')
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)local[i];
		if (local[i] == '.') {
			if (local[i + 1] == '.')
				return true;
		} else if (!is_atext(u) && u < 0x80) {
			return true;
		}
	}
	return false;
}

int
smtp_addr_format(const struct smtp_path *path, char *out, size_t outlen)
{
	size_t o = 0;
	bool quote;

	/* put - append one byte, keeping room for the final NUL. */
#define put(ch)                                                                \
	do {                                                                   \
		if (o + 1 >= outlen)                                           \
			return -1;                                             \
		out[o++] = (ch);                                               \
	} while (0)

	if (outlen == 0)
		return -1;
	if (path->null_path) {
		out[0] = '\0';
		return 0;
	}
	quote = local_needs_quotes(path->local);
	if (quote)
		put('"');
	for (const char *p = path->local; *p != '\0'; p++) {
		/* §4.1.2 quoted-pairSMTP: only '"' and '\' need it. */
		if (quote && (*p == '"' || *p == '\\'))
			put('\\');
		put(*p);
	}
	if (quote)
		put('"');
	if (!path->postmaster_only) {
		put('@');
		for (const char *p = path->domain; *p != '\0'; p++)
			put(*p);
	}
#undef put
	out[o] = '\0';
	return (int)o;
}
