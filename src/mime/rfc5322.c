/*
 * rfc5322 - header fields (RFC 5322 §2.2) and address lists (§3.4).
 *
 * Both parsers work on views of the caller's bytes, never read past len,
 * and allocate nothing.
 */
#include "mime/rfc5322.h"

#include <string.h>
#include <strings.h>

/* rfc5322_line_end - offset just past the line end at or after i, and the
 * offset where the line's content ends in *eol_r. A lone CR is content;
 * a CR as the very last byte of the input is taken as a line end cut
 * short. Returns len (eol = len) when the input ends without one. */
static size_t
rfc5322_line_end(const char *buf, size_t len, size_t i, size_t *eol_r,
		 bool *nul_r)
{
	for (; i < len; i++) {
		if (buf[i] == '\n') {
			*eol_r = (i > 0 && buf[i - 1] == '\r') ? i - 1 : i;
			return i + 1;
		}
		if (buf[i] == '\0')
			*nul_r = true;
	}
	*eol_r = (len > 0 && buf[len - 1] == '\r') ? len - 1 : len;
	return len;
}

enum rfc5322_status
rfc5322_next_field(const char *buf, size_t len, size_t pos,
		   struct rfc5322_field *f, size_t *body_r)
{
	size_t i, name_end, eol, next;
	bool nul = false;

	if (pos >= len) {
		*body_r = len;
		return RFC5322_END;
	}
	/* The empty line that ends the header section (§2.1). */
	if (buf[pos] == '\n') {
		*body_r = pos + 1;
		return RFC5322_END;
	}
	if (buf[pos] == '\r' && (pos + 1 == len || buf[pos + 1] == '\n')) {
		*body_r = pos + 1 == len ? len : pos + 2;
		return RFC5322_END;
	}
	/* field-name = 1*ftext, ftext = %d33-57 / %d59-126 (§3.6.8). A line
	 * starting with WSP here is a continuation with no field before it. */
	for (i = pos; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 33 || c > 126 || c == ':')
			break;
	}
	name_end = i;
	if (name_end == pos)
		return RFC5322_ERROR;
	/* obs-optional (§4.5.6): WSP between the name and the colon. */
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i == len || buf[i] != ':')
		return RFC5322_ERROR;
	i++;
	f->name = buf + pos;
	f->name_len = name_end - pos;
	f->value = buf + i;
	/* The first line, then every line that starts with WSP (folding). */
	for (;;) {
		next = rfc5322_line_end(buf, len, i, &eol, &nul);
		if (nul)
			return RFC5322_ERROR;
		if (next - pos > RFC5322_MAX_FIELD)
			return RFC5322_ERROR;
		if (next >= len || (buf[next] != ' ' && buf[next] != '\t'))
			break;
		i = next;
	}
	f->value_len = eol - (size_t)(f->value - buf);
	f->start = pos;
	f->end = next;
	return RFC5322_FIELD;
}

const char *
rfc5322_skip_cfws(const char *p, const char *end)
{
	while (p < end) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
		} else if (*p == '(') {
			unsigned depth = 0;
			while (p < end) {
				char c = *p++;
				if (c == '\\' && p < end)
					p++;
				else if (c == '(')
					depth++;
				else if (c == ')' && --depth == 0)
					break;
			}
		} else {
			break;
		}
	}
	return p;
}

bool
rfc5322_name_is(const struct rfc5322_field *f, const char *name)
{
	return strlen(name) == f->name_len &&
	       strncasecmp(f->name, name, f->name_len) == 0;
}

/*
 * Address lists (§3.4):
 *
 *   address-list = address *("," address)
 *   address      = mailbox / group
 *   mailbox      = name-addr / addr-spec
 *   name-addr    = [display-name] "<" addr-spec ">"
 *   group        = display-name ":" [mailbox-list] ";"
 *
 * with CFWS (comments, nested, and folding white space) between any two
 * tokens. Liberal where real mail is sloppy: empty elements and trailing
 * commas (obs-addr-list, §4.4), ";" as a separator (Outlook), a group
 * without its ";" at the end, a display name with unquoted specials
 * before "<", obs-route (<@a,@b:x@y>), a bare local part without "@"
 * (sendmail -t qualifies it), "<>" (skipped). Garbage - an unbalanced
 * "<" or ">", an unterminated quoted string, comment or domain literal,
 * two words where an address should be - is an error.
 */

#define ADDR_MAX 1024 /* a compacted addr-spec (RFC 5321: 256 is plenty) */

struct addr_parser {
	const char *p, *end;
	rfc5322_address_cb *cb;
	void *arg;
	int count;
};

static bool
addr_is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
addr_is_special(char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL && c != '\0';
}

/* atext, and 8-bit bytes (RFC 6532 UTF-8). */
static bool
addr_is_atext(char c)
{
	unsigned char u = (unsigned char)c;
	return u > 32 && u != 127 && !addr_is_special(c);
}

/* addr_skip_cfws - white space and (nested (comments)) with quoted-pairs.
 * Returns -1 on an unterminated comment. */
static int
addr_skip_cfws(struct addr_parser *ap)
{
	while (ap->p < ap->end) {
		if (addr_is_wsp(*ap->p)) {
			ap->p++;
		} else if (*ap->p == '(') {
			size_t depth = 0;
			do {
				if (ap->p == ap->end)
					return -1;
				if (*ap->p == '\\') {
					if (++ap->p == ap->end)
						return -1;
				} else if (*ap->p == '(') {
					depth++;
				} else if (*ap->p == ')') {
					depth--;
				}
				ap->p++;
			} while (depth > 0);
		} else {
			break;
		}
	}
	return 0;
}

/* addr_skip_delimited - past a quoted-string or domain-literal starting
 * at *p (open is '"' or '['), honouring quoted-pairs. */
static const char *
addr_skip_delimited(const char *p, const char *end, char close)
{
	for (p++; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				return NULL;
		} else if (*p == close) {
			return p + 1;
		}
	}
	return NULL;
}

/* One addr-spec found: addr (NULL for "<>"), len. */
struct addr_out {
	const char *addr;
	size_t len;
	bool overflow;
	char buf[ADDR_MAX];
};

static void
addr_put(struct addr_out *o, const char *s, size_t n)
{
	if (o->overflow || n > sizeof(o->buf) - o->len) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* addr_word - an atom or a quoted-string; with domain, a domain-literal
 * instead of a quoted-string. Returns 1 if one was taken, 0 if none is
 * there, -1 if unterminated. */
static int
addr_word(struct addr_parser *ap, struct addr_out *o, bool domain)
{
	const char *s = ap->p, *e;

	if (s == ap->end)
		return 0;
	if (*s == (domain ? '[' : '"')) {
		e = addr_skip_delimited(s, ap->end, domain ? ']' : '"');
		if (e == NULL)
			return -1;
	} else {
		for (e = s; e < ap->end && addr_is_atext(*e); e++)
			;
		if (e == s)
			return 0;
	}
	addr_put(o, s, (size_t)(e - s));
	ap->p = e;
	return 1;
}

/* addr_dotted - word *("." word), with CFWS around the dots (obs-local-
 * part, obs-domain, §4.4); empty words between dots tolerated. */
static int
addr_dotted(struct addr_parser *ap, struct addr_out *o, bool domain)
{
	int r = addr_word(ap, o, domain), any = r;

	if (r < 0)
		return -1;
	for (;;) {
		const char *save = ap->p;
		if (addr_skip_cfws(ap) < 0)
			return -1;
		if (ap->p == ap->end || *ap->p != '.') {
			ap->p = save;
			return any;
		}
		addr_put(o, ".", 1);
		ap->p++;
		if (addr_skip_cfws(ap) < 0)
			return -1;
		r = addr_word(ap, o, domain);
		if (r < 0)
			return -1;
		any |= r;
	}
}

/* addr_spec - parse local-part ["@" domain] into o: a view of the input
 * when it was written without CFWS inside (the usual case), else the
 * compacted copy in o->buf. Returns 0 or -1. */
static int
addr_spec(struct addr_parser *ap, struct addr_out *o)
{
	const char *start = ap->p, *stop;
	int r;

	r = addr_dotted(ap, o, false);
	if (r <= 0)
		return -1;
	stop = ap->p;
	if (addr_skip_cfws(ap) < 0)
		return -1;
	if (ap->p < ap->end && *ap->p == '@') {
		addr_put(o, "@", 1);
		ap->p++;
		if (addr_skip_cfws(ap) < 0)
			return -1;
		r = addr_dotted(ap, o, true);
		if (r <= 0)
			return -1;
		stop = ap->p;
	} else {
		ap->p = stop;
	}
	if (o->len == (size_t)(stop - start)) {
		o->addr = start;
	} else {
		if (o->overflow)
			return -1;
		o->addr = o->buf;
	}
	return 0;
}

/* addr_angle - "<" [obs-route] addr-spec ">", or "<>"; at the "<". */
static int
addr_angle(struct addr_parser *ap, struct addr_out *o)
{
	ap->p++;
	if (addr_skip_cfws(ap) < 0)
		return -1;
	if (ap->p < ap->end && *ap->p == '>') {
		ap->p++;
		return 0;
	}
	/* obs-route = obs-domain-list ":" (§4.4): skip it. */
	if (ap->p < ap->end && *ap->p == '@') {
		const char *q = ap->p;
		while (q < ap->end && *q != ':' && *q != '>' && *q != '<' &&
		       *q != '"')
			q++;
		if (q == ap->end || *q != ':')
			return -1;
		ap->p = q + 1;
		if (addr_skip_cfws(ap) < 0)
			return -1;
	}
	if (addr_spec(ap, o) < 0)
		return -1;
	if (addr_skip_cfws(ap) < 0)
		return -1;
	if (ap->p == ap->end || *ap->p != '>')
		return -1;
	ap->p++;
	return 0;
}

/* addr_scan - from the start of an element, find the character that
 * decides what it is: '<' (name-addr), ':' (group), or a separator or
 * the end (addr-spec). Display names may hold quoted strings, comments
 * and literals; none may be left open. Returns that position or NULL. */
static const char *
addr_scan(const struct addr_parser *ap)
{
	struct addr_parser s = *ap;

	for (;;) {
		if (addr_skip_cfws(&s) < 0)
			return NULL;
		if (s.p == s.end)
			return s.p;
		switch (*s.p) {
		case '<':
		case ':':
		case ',':
		case ';':
			return s.p;
		case '>':
		case ')':
			return NULL;
		case '"':
		case '[':
			s.p = addr_skip_delimited(s.p, s.end,
						  *s.p == '"' ? '"' : ']');
			if (s.p == NULL)
				return NULL;
			break;
		default:
			s.p++;
		}
	}
}

static int addr_list(struct addr_parser *ap, bool in_group);

/* addr_element - one mailbox or group; at its first non-CFWS byte. A
 * mailbox is reported only once the whole element has parsed. */
static int
addr_element(struct addr_parser *ap, bool in_group)
{
	const char *d = addr_scan(ap);
	struct addr_out o;

	o.addr = NULL;
	o.len = 0;
	o.overflow = false;
	if (d == NULL)
		return -1;
	if (d < ap->end && *d == '<') {
		ap->p = d; /* the display name is not ours to check */
		if (addr_angle(ap, &o) < 0)
			return -1;
	} else if (d < ap->end && *d == ':') {
		if (in_group)
			return -1; /* groups do not nest */
		ap->p = d + 1;
		if (addr_list(ap, true) < 0)
			return -1;
		/* The ";" that closes the group; liberal at the end. */
		if (ap->p < ap->end) {
			if (*ap->p != ';')
				return -1;
			ap->p++;
		}
	} else {
		if (addr_spec(ap, &o) < 0)
			return -1;
	}
	if (addr_skip_cfws(ap) < 0)
		return -1;
	if (ap->p < ap->end && *ap->p != ',' && *ap->p != ';')
		return -1;
	if (o.addr != NULL) {
		ap->cb(o.addr, o.len, ap->arg);
		if (ap->count < 0x7fffffff)
			ap->count++;
	}
	return 0;
}

/* addr_list - elements separated by "," (or ";" outside a group); inside
 * a group, stops at the ";" that closes it. */
static int
addr_list(struct addr_parser *ap, bool in_group)
{
	for (;;) {
		if (addr_skip_cfws(ap) < 0)
			return -1;
		if (ap->p == ap->end)
			return 0;
		if (*ap->p == ';' && in_group)
			return 0;
		if (*ap->p == ',' || *ap->p == ';') {
			ap->p++;
			continue;
		}
		if (addr_element(ap, in_group) < 0)
			return -1;
	}
}

int
rfc5322_parse_addresses(const char *value, size_t len, rfc5322_address_cb *cb,
			void *arg)
{
	struct addr_parser ap = {value, value + len, cb, arg, 0};

	if (addr_list(&ap, false) < 0)
		return -1;
	return ap.count;
}
