#include "imap/imap_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

/* --- the arena: every value of a command lives in a few blocks --- */

struct imap_arena_block {
	struct imap_arena_block *next;
	size_t used, cap;
	_Alignas(max_align_t) char data[];
};

static void *
arena_alloc(struct imap_command *cmd, size_t size)
{
	struct imap_arena_block *b = cmd->arena;
	size = (size + 15) & ~(size_t)15;
	if (b == NULL || b->cap - b->used < size) {
		size_t cap = size > 4000 ? size : 4000;
		b = xmalloc(sizeof(*b) + cap);
		b->next = cmd->arena;
		b->used = 0;
		b->cap = cap;
		cmd->arena = b;
	}
	void *p = b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

void
imap_command_free(struct imap_command *cmd)
{
	struct imap_arena_block *b = cmd->arena;
	while (b != NULL) {
		struct imap_arena_block *next = b->next;
		free(b);
		b = next;
	}
	memset(cmd, 0, sizeof(*cmd));
}

/* --- the cursor --- */

struct cur {
	const char *buf;
	size_t len, pos;
	const size_t *ext;
	size_t n_ext;
	const struct imap_limits *lim;
	struct imap_command *cmd;
	unsigned depth;
	size_t items;
	/* set when the buffer ends at a literal announcement */
	bool need_literal;
	struct imap_literal lit;
	const char *why;
};

/* fail - record the first error; always returns -1. */
static int
fail(struct cur *c, const char *why)
{
	if (c->why == NULL)
		c->why = why;
	return -1;
}

static int
peek(const struct cur *c)
{
	return c->pos < c->len ? (unsigned char)c->buf[c->pos] : -1;
}

static bool
accept_ch(struct cur *c, int ch)
{
	if (peek(c) == ch) {
		c->pos++;
		return true;
	}
	return false;
}

static int
sp(struct cur *c)
{
	return accept_ch(c, ' ') ? 0 : fail(c, "Expected a space");
}

static bool
at_eol(const struct cur *c)
{
	int ch = peek(c);
	return ch == '\r' || ch == '\n';
}

/* eol - the command's end: CRLF (a bare LF is tolerated) and nothing
 * after it. */
static int
eol(struct cur *c)
{
	accept_ch(c, '\r');
	if (!accept_ch(c, '\n') || c->pos != c->len)
		return fail(c, "Expected end of command");
	return 0;
}

static int
item(struct cur *c)
{
	if (++c->items > c->lim->max_items)
		return fail(c, "Too many items in command");
	return 0;
}

static int
open_paren(struct cur *c)
{
	if (!accept_ch(c, '('))
		return fail(c, "Expected '('");
	if (++c->depth > c->lim->max_depth)
		return fail(c, "Too deeply nested");
	return 0;
}

static int
close_paren(struct cur *c)
{
	if (!accept_ch(c, ')'))
		return fail(c, "Expected ')'");
	c->depth--;
	return 0;
}

/* --- character classes (RFC 3501 §9) --- */

static bool
is_ctl(int ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* ATOM-CHAR: any CHAR except atom-specials. 8-bit bytes are not CHARs. */
static bool
is_atom_char(int ch)
{
	return ch > 0 && ch < 0x80 && !is_ctl(ch) && ch != '(' && ch != ')' &&
	       ch != '{' && ch != ' ' && ch != '%' && ch != '*' && ch != '"' &&
	       ch != '\\' && ch != ']';
}

static bool
is_astring_char(int ch)
{
	return is_atom_char(ch) || ch == ']';
}

static bool
is_tag_char(int ch)
{
	return is_astring_char(ch) && ch != '+';
}

static bool
is_list_char(int ch)
{
	return is_astring_char(ch) || ch == '%' || ch == '*';
}

static bool
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* --- numbers --- */

int
imap_parse_number(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)v;
	return 0;
}

/* number - 1*DIGIT that fits 32 bits. */
static int
number(struct cur *c, uint32_t *n_r)
{
	size_t start = c->pos;
	while (is_digit(peek(c)))
		c->pos++;
	if (c->pos == start)
		return fail(c, "Expected a number");
	if (imap_parse_number(c->buf + start, c->pos - start, n_r) < 0)
		return fail(c, "Number out of range (2^32 or more)");
	return 0;
}

/* nz_number - a number that is not 0 (digit-nz *DIGIT). */
static int
nz_number(struct cur *c, uint32_t *n_r)
{
	if (peek(c) == '0')
		return fail(c, "Expected a non-zero number");
	return number(c, n_r);
}

/* modseq - mod-sequence-value: 1*DIGIT, 1 .. 2^63-1 (RFC 7162 §7);
 * zero_ok for mod-sequence-valzer. */
static int
modseq(struct cur *c, uint64_t *r, bool zero_ok)
{
	size_t start = c->pos;
	uint64_t v = 0;
	while (is_digit(peek(c))) {
		v = v * 10 + (uint64_t)(c->buf[c->pos] - '0');
		if (v > INT64_MAX)
			return fail(c, "Mod-sequence out of range");
		c->pos++;
	}
	if (c->pos == start)
		return fail(c, "Expected a mod-sequence");
	if (v == 0 && !zero_ok)
		return fail(c, "Mod-sequence must not be 0");
	*r = v;
	return 0;
}

/* --- strings --- */

static struct imap_str
copy_str(struct cur *c, const char *p, size_t len)
{
	char *d = arena_alloc(c->cmd, len + 1);
	memcpy(d, p, len);
	d[len] = '\0';
	return (struct imap_str){d, len};
}

static bool
is_ext_offset(const struct cur *c, size_t off)
{
	for (size_t i = 0; i < c->n_ext; i++)
		if (c->ext[i] == off)
			return true;
	return false;
}

/*
 * literal - "{" number ["+"] "}" CRLF and then the octets. When the
 * buffer ends right after the announcement, the caller must fetch the
 * literal: need_literal is set and parsing stops (-1 without error).
 * is_message: this is an APPEND message (its bytes may be spooled, and
 * may hold any octet but NUL... or even NUL: stored as sent).
 */
static int
literal(struct cur *c, struct imap_str *out, bool is_message, bool *ext_r)
{
	uint32_t n;
	bool plus = false;

	if (!accept_ch(c, '{'))
		return fail(c, "Expected a literal");
	if (number(c, &n) < 0)
		return -1;
	if (accept_ch(c, '+'))
		plus = true;
	if (!accept_ch(c, '}'))
		return fail(c, "Bad literal syntax");
	accept_ch(c, '\r');
	if (!accept_ch(c, '\n'))
		return fail(c, "Literal announcement must end the line");
	if (ext_r != NULL)
		*ext_r = false;
	if (is_message && is_ext_offset(c, c->pos)) {
		/* Spooled by the reader: nothing of it is here. */
		*ext_r = true;
		out->p = NULL;
		out->len = n;
		return 0;
	}
	if (c->pos == c->len) {
		c->need_literal = true;
		c->lit.size = n;
		c->lit.plus = plus;
		c->lit.is_message = is_message;
		return -1;
	}
	if (!is_message && n > c->lim->max_literal)
		return fail(c, "Literal too large");
	if (c->len - c->pos < n)
		return fail(c, "Literal truncated");
	const char *p = c->buf + c->pos;
	if (!is_message && memchr(p, '\0', n) != NULL)
		return fail(c, "NUL in literal");
	c->pos += n;
	if (is_message) {
		out->p = p;
		out->len = n;
		return 0;
	}
	*out = copy_str(c, p, n);
	return 0;
}

/* quoted - DQUOTE *QUOTED-CHAR DQUOTE; "\" escapes only '"' and '\'.
 * 8-bit bytes are let through (UTF-8 in SEARCH strings, as sent by
 * clients that do not bother with literals). */
static int
quoted(struct cur *c, struct imap_str *out)
{
	if (!accept_ch(c, '"'))
		return fail(c, "Expected a quoted string");
	size_t start = c->pos, n = 0;
	bool escapes = false;
	for (;;) {
		int ch = peek(c);
		if (ch < 0 || ch == '\r' || ch == '\n' || ch == 0)
			return fail(c, "Unterminated quoted string");
		c->pos++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			int e = peek(c);
			if (e != '"' && e != '\\')
				return fail(c, "Bad escape in quoted string");
			c->pos++;
			escapes = true;
		}
		n++;
	}
	if (!escapes) {
		*out = copy_str(c, c->buf + start, n);
		return 0;
	}
	char *d = arena_alloc(c->cmd, n + 1);
	size_t w = 0;
	for (size_t i = start; i < c->pos - 1; i++) {
		if (c->buf[i] == '\\')
			i++;
		d[w++] = c->buf[i];
	}
	d[w] = '\0';
	*out = (struct imap_str){d, w};
	return 0;
}

/* string - quoted / literal */
static int
string(struct cur *c, struct imap_str *out)
{
	if (peek(c) == '"')
		return quoted(c, out);
	if (peek(c) == '{')
		return literal(c, out, false, NULL);
	return fail(c, "Expected a string");
}

/* atom - 1*ATOM-CHAR (a view copied into the arena). */
static int
atom(struct cur *c, struct imap_str *out)
{
	size_t start = c->pos;
	while (is_atom_char(peek(c)))
		c->pos++;
	if (c->pos == start)
		return fail(c, "Expected an atom");
	*out = copy_str(c, c->buf + start, c->pos - start);
	return 0;
}

/* astring - 1*ASTRING-CHAR / string */
static int
astring(struct cur *c, struct imap_str *out)
{
	int ch = peek(c);
	if (ch == '"' || ch == '{')
		return string(c, out);
	size_t start = c->pos;
	while (is_astring_char(peek(c)))
		c->pos++;
	if (c->pos == start)
		return fail(c, "Expected a string or atom");
	*out = copy_str(c, c->buf + start, c->pos - start);
	return 0;
}

static bool
str_is(const struct imap_str *s, const char *word)
{
	return strlen(word) == s->len && strcasecmp(s->p, word) == 0;
}

/* mailbox - "INBOX" (any case: it names the one inbox) / astring */
static int
mailbox(struct cur *c, struct imap_str *out)
{
	if (astring(c, out) < 0)
		return -1;
	if (str_is(out, "INBOX"))
		*out = copy_str(c, "INBOX", 5);
	return 0;
}

/* nil - the atom NIL, case-insensitively (not as a string). */
static bool
accept_nil(struct cur *c)
{
	if (c->len - c->pos >= 3 &&
	    strncasecmp(c->buf + c->pos, "NIL", 3) == 0 &&
	    !is_atom_char(c->pos + 3 < c->len
			      ? (unsigned char)c->buf[c->pos + 3]
			      : ' ')) {
		c->pos += 3;
		return true;
	}
	return false;
}

/* word - the next atom, upper-cased into buf (for keywords). */
static int
word(struct cur *c, char *buf, size_t size)
{
	size_t n = 0;
	while (is_atom_char(peek(c))) {
		if (n + 1 >= size)
			return fail(c, "Unknown keyword");
		int ch = c->buf[c->pos++];
		buf[n++] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
	}
	buf[n] = '\0';
	if (n == 0)
		return fail(c, "Expected a keyword");
	return 0;
}

/* keyword - accept this exact (case-insensitive) word if next. */
static bool
accept_word(struct cur *c, const char *w)
{
	size_t n = strlen(w);
	if (c->len - c->pos < n || strncasecmp(c->buf + c->pos, w, n) != 0)
		return false;
	int after =
	    c->pos + n < c->len ? (unsigned char)c->buf[c->pos + n] : ' ';
	if (is_atom_char(after))
		return false;
	c->pos += n;
	return true;
}

/* --- sequence sets --- */

static int
seq_number(struct cur *c, uint32_t *n_r)
{
	if (accept_ch(c, '*')) {
		*n_r = 0;
		return 0;
	}
	return nz_number(c, n_r);
}

/* sequence_set - (seq-number / seq-range) *("," ...), or "$" */
static int
sequence_set(struct cur *c, struct imap_seqset *set)
{
	size_t cap = 4;
	memset(set, 0, sizeof(*set));
	if (accept_ch(c, '$')) {
		set->saved = true;
		return 0;
	}
	set->r = arena_alloc(c->cmd, cap * sizeof(*set->r));
	do {
		struct imap_range r;
		if (item(c) < 0 || seq_number(c, &r.lo) < 0)
			return -1;
		r.hi = r.lo;
		if (accept_ch(c, ':') && seq_number(c, &r.hi) < 0)
			return -1;
		if (set->n == cap) {
			struct imap_range *nr =
			    arena_alloc(c->cmd, 2 * cap * sizeof(*nr));
			memcpy(nr, set->r, cap * sizeof(*nr));
			set->r = nr;
			cap *= 2;
		}
		set->r[set->n++] = r;
	} while (accept_ch(c, ','));
	return 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t max)
{
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo ? set->r[i].lo : max;
		uint32_t hi = set->r[i].hi ? set->r[i].hi : max;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (n >= lo && n <= hi)
			return true;
	}
	return false;
}

/* --- flags --- */

static const struct {
	const char *name;
	unsigned bit;
} sys_flags[] = {
    {"\\Answered", IMAP_FLAG_ANSWERED}, {"\\Flagged", IMAP_FLAG_FLAGGED},
    {"\\Deleted", IMAP_FLAG_DELETED},	{"\\Seen", IMAP_FLAG_SEEN},
    {"\\Draft", IMAP_FLAG_DRAFT},	{"\\Recent", IMAP_FLAG_RECENT},
};

const char *
imap_flag_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(sys_flags) / sizeof(sys_flags[0]); i++)
		if (sys_flags[i].bit == bit)
			return sys_flags[i].name;
	return "";
}

/* flag - a system flag or a keyword (atom); \Recent is not storable. */
static int
flag(struct cur *c, struct imap_flags *f, size_t *cap)
{
	if (item(c) < 0)
		return -1;
	if (accept_ch(c, '\\')) {
		struct imap_str a;
		if (atom(c, &a) < 0)
			return -1;
		for (size_t i = 0; i < 5; i++)
			if (strcasecmp(a.p, sys_flags[i].name + 1) == 0) {
				f->sys |= sys_flags[i].bit;
				return 0;
			}
		return fail(c, "Invalid system flag");
	}
	struct imap_str a;
	if (atom(c, &a) < 0)
		return -1;
	if (f->n_kw == *cap) {
		size_t ncap = *cap ? 2 * *cap : 4;
		struct imap_str *kw = arena_alloc(c->cmd, ncap * sizeof(*kw));
		if (f->n_kw > 0)
			memcpy(kw, f->kw, f->n_kw * sizeof(*kw));
		f->kw = kw;
		*cap = ncap;
	}
	f->kw[f->n_kw++] = a;
	return 0;
}

/* flag_list - "(" [flag *(SP flag)] ")" */
static int
flag_list(struct cur *c, struct imap_flags *f)
{
	size_t cap = 0;
	memset(f, 0, sizeof(*f));
	if (open_paren(c) < 0)
		return -1;
	if (peek(c) != ')') {
		do {
			if (flag(c, f, &cap) < 0)
				return -1;
		} while (accept_ch(c, ' '));
	}
	return close_paren(c);
}

/* --- dates --- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int32_t
imap_day_from_ymd(int y, int m, int d)
{
	/* Howard Hinnant's days_from_civil. */
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30,
				 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int
month(struct cur *c, int *m_r)
{
	if (c->len - c->pos < 3)
		return fail(c, "Bad month");
	for (int i = 0; i < 12; i++)
		if (strncasecmp(c->buf + c->pos, months[i], 3) == 0) {
			c->pos += 3;
			*m_r = i + 1;
			return 0;
		}
	return fail(c, "Bad month");
}

/* digits - exactly n digits (min..n when min < n) as an int. */
static int
digits(struct cur *c, int min, int n, int *v_r)
{
	int v = 0, k = 0;
	while (k < n && is_digit(peek(c))) {
		v = v * 10 + (c->buf[c->pos++] - '0');
		k++;
	}
	if (k < min)
		return fail(c, "Bad date");
	*v_r = v;
	return 0;
}

/* date_text - date-day "-" date-month "-" date-year */
static int
date_text(struct cur *c, int32_t *day_r)
{
	int d, m, y;
	if (digits(c, 1, 2, &d) < 0 || !accept_ch(c, '-') || month(c, &m) < 0 ||
	    !accept_ch(c, '-') || digits(c, 4, 4, &y) < 0)
		return fail(c, "Bad date");
	if (d < 1 || d > days_in_month(y, m))
		return fail(c, "Bad date");
	*day_r = imap_day_from_ymd(y, m, d);
	return 0;
}

/* date - date-text / DQUOTE date-text DQUOTE */
static int
date(struct cur *c, int32_t *day_r)
{
	bool q = accept_ch(c, '"');
	if (date_text(c, day_r) < 0)
		return -1;
	if (q && !accept_ch(c, '"'))
		return fail(c, "Bad date");
	return 0;
}

/* date_time - DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE, e.g. "17-Jul-1996 02:44:25 -0700", as a time_t. */
static int
date_time(struct cur *c, time_t *t_r)
{
	int d, m, y, hh, mm, ss, zh, zm;
	if (!accept_ch(c, '"'))
		return fail(c, "Bad date-time");
	accept_ch(c, ' '); /* date-day-fixed: SP DIGIT / 2DIGIT */
	if (digits(c, 1, 2, &d) < 0 || !accept_ch(c, '-') || month(c, &m) < 0 ||
	    !accept_ch(c, '-') || digits(c, 4, 4, &y) < 0 ||
	    !accept_ch(c, ' ') || digits(c, 2, 2, &hh) < 0 ||
	    !accept_ch(c, ':') || digits(c, 2, 2, &mm) < 0 ||
	    !accept_ch(c, ':') || digits(c, 2, 2, &ss) < 0 ||
	    !accept_ch(c, ' '))
		return fail(c, "Bad date-time");
	int sign = peek(c);
	if (sign != '+' && sign != '-')
		return fail(c, "Bad date-time zone");
	c->pos++;
	if (digits(c, 2, 2, &zh) < 0 || digits(c, 2, 2, &zm) < 0 ||
	    !accept_ch(c, '"'))
		return fail(c, "Bad date-time");
	if (d < 1 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 60 ||
	    zm > 59)
		return fail(c, "Bad date-time");
	int64_t t = (int64_t)imap_day_from_ymd(y, m, d) * 86400 + hh * 3600 +
		    mm * 60 + ss;
	int64_t off = (zh * 60 + zm) * 60;
	t += sign == '+' ? -off : off;
	*t_r = (time_t)t;
	return 0;
}

/* --- FETCH --- */

static int
header_list(struct cur *c, struct imap_section *sec)
{
	if (open_paren(c) < 0)
		return -1;
	do {
		struct imap_str f;
		if (item(c) < 0 || astring(c, &f) < 0)
			return -1;
		if (f.len == 0 || f.len > IMAP_SECTION_MAX_NAME)
			return fail(c, "Bad header field name");
		if (sec->nfields == IMAP_SECTION_MAX_FIELDS)
			return fail(c, "Too many header field names");
		sec->field[sec->nfields].p = f.p;
		sec->field[sec->nfields].len = f.len;
		sec->nfields++;
	} while (accept_ch(c, ' '));
	return close_paren(c);
}

/* section_text - HEADER / HEADER.FIELDS[.NOT] SP header-list / TEXT, and
 * MIME when after a part number. */
static int
section_text(struct cur *c, struct imap_section *sec, bool part)
{
	if (accept_word(c, "HEADER.FIELDS.NOT")) {
		sec->text = IMAP_SECTION_HEADER_FIELDS_NOT;
		return sp(c) < 0 ? -1 : header_list(c, sec);
	}
	if (accept_word(c, "HEADER.FIELDS")) {
		sec->text = IMAP_SECTION_HEADER_FIELDS;
		return sp(c) < 0 ? -1 : header_list(c, sec);
	}
	if (accept_word(c, "HEADER")) {
		sec->text = IMAP_SECTION_HEADER;
		return 0;
	}
	if (accept_word(c, "TEXT")) {
		sec->text = IMAP_SECTION_TEXT;
		return 0;
	}
	if (part && accept_word(c, "MIME")) {
		sec->text = IMAP_SECTION_MIME;
		return 0;
	}
	return fail(c, "Bad section");
}

/* section - "[" [section-spec] "]" */
static int
section(struct cur *c, struct imap_section *sec)
{
	sec->text = IMAP_SECTION_BODY;
	if (!accept_ch(c, '['))
		return fail(c, "Expected '['");
	if (accept_ch(c, ']'))
		return 0;
	if (is_digit(peek(c))) {
		do {
			if (sec->nparts == IMAP_SECTION_MAX_PARTS)
				return fail(c, "Section nested too deeply");
			if (nz_number(c, &sec->part[sec->nparts]) < 0)
				return -1;
			sec->nparts++;
			if (!accept_ch(c, '.'))
				break;
			if (!is_digit(peek(c))) {
				if (section_text(c, sec, true) < 0)
					return -1;
				break;
			}
		} while (1);
	} else if (section_text(c, sec, false) < 0) {
		return -1;
	}
	if (!accept_ch(c, ']'))
		return fail(c, "Expected ']'");
	return 0;
}

static int
add_att(struct cur *c, struct imap_fetch_args *f, size_t *cap,
	const struct imap_fetch_att *a)
{
	if (item(c) < 0)
		return -1;
	if (f->n == *cap) {
		size_t ncap = *cap ? 2 * *cap : 8;
		struct imap_fetch_att *na =
		    arena_alloc(c->cmd, ncap * sizeof(*na));
		if (f->n > 0)
			memcpy(na, f->att, f->n * sizeof(*na));
		f->att = na;
		*cap = ncap;
	}
	f->att[f->n++] = *a;
	return 0;
}

static int
add_item(struct cur *c, struct imap_fetch_args *f, size_t *cap,
	 enum imap_fetch_item it)
{
	struct imap_fetch_att a = {.item = it};
	return add_att(c, f, cap, &a);
}

/* fetch_att - one fetch attribute (RFC 3501 §9 fetch-att, + MODSEQ). */
static int
fetch_att(struct cur *c, struct imap_fetch_args *f, size_t *cap)
{
	static const struct {
		const char *name;
		enum imap_fetch_item item;
	} simple[] = {
	    {"ENVELOPE", IMAP_FETCH_ENVELOPE},
	    {"FLAGS", IMAP_FETCH_FLAGS},
	    {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
	    {"RFC822.HEADER", IMAP_FETCH_RFC822_HEADER},
	    {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
	    {"RFC822.TEXT", IMAP_FETCH_RFC822_TEXT},
	    {"RFC822", IMAP_FETCH_RFC822},
	    {"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
	    {"UID", IMAP_FETCH_UID},
	    {"MODSEQ", IMAP_FETCH_MODSEQ},
	};
	struct imap_fetch_att a = {0};

	if (accept_word(c, "BODY.PEEK") ||
	    (c->len - c->pos >= 10 &&
	     strncasecmp(c->buf + c->pos, "BODY.PEEK[", 10) == 0 &&
	     (c->pos += 9, true))) {
		a.peek = true;
		if (peek(c) != '[')
			return fail(c, "Expected a section after BODY.PEEK");
	} else if (c->len - c->pos >= 5 &&
		   strncasecmp(c->buf + c->pos, "BODY[", 5) == 0) {
		c->pos += 4;
	} else {
		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (accept_word(c, simple[i].name))
				return add_item(c, f, cap, simple[i].item);
		if (accept_word(c, "BODY"))
			return add_item(c, f, cap, IMAP_FETCH_BODY);
		return fail(c, "Unknown FETCH attribute");
	}
	a.item = IMAP_FETCH_SECTION;
	a.sec = arena_alloc(c->cmd, sizeof(*a.sec));
	if (section(c, a.sec) < 0)
		return -1;
	if (accept_ch(c, '<')) {
		a.partial = true;
		if (number(c, &a.offset) < 0 || !accept_ch(c, '.') ||
		    nz_number(c, &a.count) < 0 || !accept_ch(c, '>'))
			return fail(c, "Bad partial range");
	}
	return add_att(c, f, cap, &a);
}

static int
fetch_macro(struct cur *c, struct imap_fetch_args *f, size_t *cap)
{
	static const enum imap_fetch_item fast[] = {
	    IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE};
	size_t extra = 0;
	if (accept_word(c, "ALL"))
		extra = 1;
	else if (accept_word(c, "FULL"))
		extra = 2;
	else if (!accept_word(c, "FAST"))
		return 1;
	f->macro = true;
	for (size_t i = 0; i < 3; i++)
		if (add_item(c, f, cap, fast[i]) < 0)
			return -1;
	if (extra >= 1 && add_item(c, f, cap, IMAP_FETCH_ENVELOPE) < 0)
		return -1;
	if (extra == 2 && add_item(c, f, cap, IMAP_FETCH_BODY) < 0)
		return -1;
	return 0;
}

static int
fetch_modifiers(struct cur *c, struct imap_fetch_args *f, bool uid)
{
	if (open_paren(c) < 0)
		return -1;
	do {
		if (accept_word(c, "CHANGEDSINCE")) {
			if (sp(c) < 0 || modseq(c, &f->changedsince, false) < 0)
				return -1;
			f->changedsince_set = true;
		} else if (accept_word(c, "VANISHED")) {
			if (!uid)
				return fail(c, "VANISHED needs UID FETCH");
			f->vanished = true;
		} else {
			return fail(c, "Unknown FETCH modifier");
		}
	} while (accept_ch(c, ' '));
	if (close_paren(c) < 0)
		return -1;
	if (f->vanished && !f->changedsince_set)
		return fail(c, "VANISHED needs CHANGEDSINCE");
	return 0;
}

static int
parse_fetch(struct cur *c)
{
	struct imap_fetch_args *f = &c->cmd->u.fetch;
	size_t cap = 0;
	if (sp(c) < 0 || sequence_set(c, &f->set) < 0 || sp(c) < 0)
		return -1;
	int m = fetch_macro(c, f, &cap);
	if (m < 0)
		return -1;
	if (m > 0) {
		if (accept_ch(c, '(')) {
			if (++c->depth > c->lim->max_depth)
				return fail(c, "Too deeply nested");
			do {
				if (fetch_att(c, f, &cap) < 0)
					return -1;
			} while (accept_ch(c, ' '));
			if (close_paren(c) < 0)
				return -1;
		} else if (fetch_att(c, f, &cap) < 0) {
			return -1;
		}
	}
	if (accept_ch(c, ' ') && fetch_modifiers(c, f, c->cmd->uid) < 0)
		return -1;
	return eol(c);
}

/* --- SEARCH --- */

static struct imap_search *
new_key(struct cur *c, enum imap_search_key key)
{
	struct imap_search *k = arena_alloc(c->cmd, sizeof(*k));
	k->key = key;
	return k;
}

static int search_key(struct cur *c, struct imap_search **out);

/* search_list - keys separated by SP into an AND node, until ')' (in
 * parentheses) or the end of the command. */
static int
search_list(struct cur *c, struct imap_search **out, bool paren)
{
	struct imap_search *and = new_key(c, IMAP_SK_AND), **tail = &and->child;
	for (;;) {
		if (search_key(c, tail) < 0)
			return -1;
		tail = &(*tail)->next;
		if (paren && peek(c) == ')')
			break;
		if (!paren && at_eol(c))
			break;
		if (sp(c) < 0)
			return -1;
	}
	*out = and;
	return 0;
}

static const struct {
	const char *name;
	enum imap_search_key key;
	unsigned flag;
	char arg; /* 0 none, 's' string, 'h' header field + string, 'd' date,
		     'n' number, 'k' keyword, 'u' uid set, 'm' modseq */
} search_keys[] = {
    {"ALL", IMAP_SK_ALL, 0, 0},
    {"ANSWERED", IMAP_SK_FLAG, IMAP_FLAG_ANSWERED, 0},
    {"BCC", IMAP_SK_BCC, 0, 's'},
    {"BEFORE", IMAP_SK_BEFORE, 0, 'd'},
    {"BODY", IMAP_SK_BODY, 0, 's'},
    {"CC", IMAP_SK_CC, 0, 's'},
    {"DELETED", IMAP_SK_FLAG, IMAP_FLAG_DELETED, 0},
    {"DRAFT", IMAP_SK_FLAG, IMAP_FLAG_DRAFT, 0},
    {"FLAGGED", IMAP_SK_FLAG, IMAP_FLAG_FLAGGED, 0},
    {"FROM", IMAP_SK_FROM, 0, 's'},
    {"HEADER", IMAP_SK_HEADER, 0, 'h'},
    {"KEYWORD", IMAP_SK_KEYWORD, 0, 'k'},
    {"LARGER", IMAP_SK_LARGER, 0, 'n'},
    {"MODSEQ", IMAP_SK_MODSEQ, 0, 'm'},
    {"NEW", IMAP_SK_NEW, 0, 0},
    {"OLD", IMAP_SK_OLD, 0, 0},
    {"OLDER", IMAP_SK_OLDER, 0, 'N'},
    {"ON", IMAP_SK_ON, 0, 'd'},
    {"RECENT", IMAP_SK_FLAG, IMAP_FLAG_RECENT, 0},
    {"SEEN", IMAP_SK_FLAG, IMAP_FLAG_SEEN, 0},
    {"SENTBEFORE", IMAP_SK_SENTBEFORE, 0, 'd'},
    {"SENTON", IMAP_SK_SENTON, 0, 'd'},
    {"SENTSINCE", IMAP_SK_SENTSINCE, 0, 'd'},
    {"SINCE", IMAP_SK_SINCE, 0, 'd'},
    {"SMALLER", IMAP_SK_SMALLER, 0, 'n'},
    {"SUBJECT", IMAP_SK_SUBJECT, 0, 's'},
    {"TEXT", IMAP_SK_TEXT, 0, 's'},
    {"TO", IMAP_SK_TO, 0, 's'},
    {"UID", IMAP_SK_UID, 0, 'u'},
    {"UNANSWERED", IMAP_SK_UNFLAG, IMAP_FLAG_ANSWERED, 0},
    {"UNDELETED", IMAP_SK_UNFLAG, IMAP_FLAG_DELETED, 0},
    {"UNDRAFT", IMAP_SK_UNFLAG, IMAP_FLAG_DRAFT, 0},
    {"UNFLAGGED", IMAP_SK_UNFLAG, IMAP_FLAG_FLAGGED, 0},
    {"UNKEYWORD", IMAP_SK_UNKEYWORD, 0, 'k'},
    {"UNSEEN", IMAP_SK_UNFLAG, IMAP_FLAG_SEEN, 0},
    {"YOUNGER", IMAP_SK_YOUNGER, 0, 'N'},
};

/* search_modseq - MODSEQ [SP entry-name SP entry-type-req] SP value
 * (RFC 7162 §3.1.5); the entry is accepted and ignored (petrel keeps
 * one mod-sequence per message, as the RFC allows). */
static int
search_modseq(struct cur *c, struct imap_search *k)
{
	if (peek(c) == '"') {
		struct imap_str entry, type;
		if (quoted(c, &entry) < 0 || sp(c) < 0 || atom(c, &type) < 0)
			return -1;
		if (!str_is(&type, "priv") && !str_is(&type, "shared") &&
		    !str_is(&type, "all"))
			return fail(c, "Bad MODSEQ entry type");
		if (sp(c) < 0)
			return -1;
	}
	return modseq(c, &k->modseq, true);
}

static int
search_key(struct cur *c, struct imap_search **out)
{
	char w[16];
	struct imap_search *k;

	if (item(c) < 0)
		return -1;
	if (peek(c) == '(') {
		if (open_paren(c) < 0 || search_list(c, out, true) < 0)
			return -1;
		return close_paren(c);
	}
	int ch = peek(c);
	if (is_digit(ch) || ch == '*' || ch == '$') {
		k = new_key(c, IMAP_SK_SEQSET);
		*out = k;
		return sequence_set(c, &k->set);
	}
	if (word(c, w, sizeof(w)) < 0)
		return -1;
	if (strcmp(w, "NOT") == 0) {
		k = new_key(c, IMAP_SK_NOT);
		*out = k;
		if (++c->depth > c->lim->max_depth)
			return fail(c, "Too deeply nested");
		if (sp(c) < 0 || search_key(c, &k->child) < 0)
			return -1;
		c->depth--;
		return 0;
	}
	if (strcmp(w, "OR") == 0) {
		k = new_key(c, IMAP_SK_OR);
		*out = k;
		if (++c->depth > c->lim->max_depth)
			return fail(c, "Too deeply nested");
		if (sp(c) < 0 || search_key(c, &k->child) < 0 || sp(c) < 0 ||
		    search_key(c, &k->child->next) < 0)
			return -1;
		c->depth--;
		return 0;
	}
	size_t i = 0, n = sizeof(search_keys) / sizeof(search_keys[0]);
	while (i < n && strcmp(search_keys[i].name, w) != 0)
		i++;
	if (i == n)
		return fail(c, "Unknown search key");
	k = new_key(c, search_keys[i].key);
	k->flag = search_keys[i].flag;
	*out = k;
	switch (search_keys[i].arg) {
	case 0:
		return 0;
	case 's':
		return sp(c) < 0 ? -1 : astring(c, &k->str);
	case 'h':
		if (sp(c) < 0 || astring(c, &k->field) < 0 || sp(c) < 0)
			return -1;
		return astring(c, &k->str);
	case 'd':
		return sp(c) < 0 ? -1 : date(c, &k->day);
	case 'n':
		return sp(c) < 0 ? -1 : number(c, &k->num);
	case 'N':
		return sp(c) < 0 ? -1 : nz_number(c, &k->num);
	case 'k': {
		/* flag-keyword is an atom; a system flag name is allowed
		 * too (and never matches as a keyword). */
		if (sp(c) < 0)
			return -1;
		accept_ch(c, '\\');
		return atom(c, &k->str);
	}
	case 'u':
		return sp(c) < 0 ? -1 : sequence_set(c, &k->set);
	case 'm':
		return sp(c) < 0 ? -1 : search_modseq(c, k);
	}
	return fail(c, "Unknown search key");
}

/* search_return - RETURN SP "(" [opt *(SP opt)] ")" (RFC 4731 §3,
 * RFC 5182 SAVE) */
static int
search_return(struct cur *c, struct imap_search_args *s)
{
	s->esearch = true;
	if (sp(c) < 0 || open_paren(c) < 0)
		return -1;
	if (peek(c) != ')') {
		do {
			char w[8];
			if (word(c, w, sizeof(w)) < 0)
				return -1;
			if (strcmp(w, "MIN") == 0)
				s->ret |= IMAP_SEARCH_RET_MIN;
			else if (strcmp(w, "MAX") == 0)
				s->ret |= IMAP_SEARCH_RET_MAX;
			else if (strcmp(w, "ALL") == 0)
				s->ret |= IMAP_SEARCH_RET_ALL;
			else if (strcmp(w, "COUNT") == 0)
				s->ret |= IMAP_SEARCH_RET_COUNT;
			else if (strcmp(w, "SAVE") == 0)
				s->ret |= IMAP_SEARCH_RET_SAVE;
			else
				return fail(c, "Unknown RETURN option");
		} while (accept_ch(c, ' '));
	}
	return close_paren(c);
}

static int
parse_search(struct cur *c)
{
	struct imap_search_args *s = &c->cmd->u.search;
	if (sp(c) < 0)
		return -1;
	if (accept_word(c, "RETURN")) {
		if (search_return(c, s) < 0 || sp(c) < 0)
			return -1;
	}
	if (accept_word(c, "CHARSET")) {
		if (sp(c) < 0 || astring(c, &s->charset) < 0 || sp(c) < 0)
			return -1;
	}
	if (search_list(c, &s->root, false) < 0)
		return -1;
	return eol(c);
}

/* --- STORE --- */

static int
parse_store(struct cur *c)
{
	struct imap_store_args *st = &c->cmd->u.store;
	if (sp(c) < 0 || sequence_set(c, &st->set) < 0 || sp(c) < 0)
		return -1;
	if (peek(c) == '(') {
		if (open_paren(c) < 0 || !accept_word(c, "UNCHANGEDSINCE") ||
		    sp(c) < 0 || modseq(c, &st->unchangedsince, true) < 0 ||
		    close_paren(c) < 0 || sp(c) < 0)
			return fail(c, "Bad STORE modifier");
		st->unchangedsince_set = true;
	}
	st->op = '=';
	if (accept_ch(c, '+'))
		st->op = '+';
	else if (accept_ch(c, '-'))
		st->op = '-';
	if (accept_word(c, "FLAGS.SILENT"))
		st->silent = true;
	else if (!accept_word(c, "FLAGS"))
		return fail(c, "Expected FLAGS, +FLAGS or -FLAGS");
	if (sp(c) < 0)
		return -1;
	if (peek(c) == '(') {
		if (flag_list(c, &st->flags) < 0)
			return -1;
	} else {
		size_t cap = 0;
		do {
			if (flag(c, &st->flags, &cap) < 0)
				return -1;
		} while (accept_ch(c, ' '));
	}
	return eol(c);
}

/* --- APPEND --- */

static int
parse_append(struct cur *c)
{
	struct imap_append_args *a = &c->cmd->u.append;
	if (sp(c) < 0 || mailbox(c, &a->mbox) < 0 || sp(c) < 0)
		return -1;
	if (peek(c) == '(') {
		if (flag_list(c, &a->flags) < 0 || sp(c) < 0)
			return -1;
	}
	if (peek(c) == '"') {
		if (date_time(c, &a->date) < 0 || sp(c) < 0)
			return -1;
		a->has_date = true;
	}
	struct imap_str msg;
	if (peek(c) != '{')
		return fail(c, "Expected the message as a literal");
	if (literal(c, &msg, true, &a->ext) < 0)
		return -1;
	a->size = (uint32_t)msg.len;
	a->data = msg.p;
	return eol(c);
}

/* --- LIST --- */

static int
list_mailbox(struct cur *c, struct imap_str *out)
{
	int ch = peek(c);
	if (ch == '"' || ch == '{')
		return string(c, out);
	size_t start = c->pos;
	while (is_list_char(peek(c)))
		c->pos++;
	if (c->pos == start)
		return fail(c, "Expected a mailbox pattern");
	*out = copy_str(c, c->buf + start, c->pos - start);
	return 0;
}

static int
status_att_list(struct cur *c, unsigned *items)
{
	static const struct {
		const char *name;
		unsigned bit;
	} atts[] = {
	    {"MESSAGES", IMAP_STATUS_MESSAGES},
	    {"RECENT", IMAP_STATUS_RECENT},
	    {"UIDNEXT", IMAP_STATUS_UIDNEXT},
	    {"UIDVALIDITY", IMAP_STATUS_UIDVALIDITY},
	    {"UNSEEN", IMAP_STATUS_UNSEEN},
	    {"HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ},
	    {"SIZE", IMAP_STATUS_SIZE},
	    {"DELETED", IMAP_STATUS_DELETED},
	};
	if (open_paren(c) < 0)
		return -1;
	do {
		char w[16];
		size_t i, n = sizeof(atts) / sizeof(atts[0]);
		if (word(c, w, sizeof(w)) < 0)
			return -1;
		for (i = 0; i < n && strcmp(atts[i].name, w) != 0; i++)
			;
		if (i == n)
			return fail(c, "Unknown STATUS item");
		*items |= atts[i].bit;
	} while (accept_ch(c, ' '));
	return close_paren(c);
}

/* list_opts - "(" [option *(SP option)] ")" of LIST-EXTENDED. */
static int
list_opts(struct cur *c, bool ret)
{
	struct imap_list_args *l = &c->cmd->u.list;
	if (open_paren(c) < 0)
		return -1;
	l->opts |= IMAP_LIST_EXTENDED;
	if (peek(c) == ')')
		return close_paren(c);
	do {
		char w[16];
		if (word(c, w, sizeof(w)) < 0)
			return -1;
		if (!ret && strcmp(w, "SUBSCRIBED") == 0)
			l->opts |= IMAP_LIST_SEL_SUBSCRIBED;
		else if (!ret && strcmp(w, "REMOTE") == 0)
			l->opts |= IMAP_LIST_SEL_REMOTE;
		else if (!ret && strcmp(w, "RECURSIVEMATCH") == 0)
			l->opts |= IMAP_LIST_SEL_RECURSIVEMATCH;
		else if (!ret && strcmp(w, "SPECIAL-USE") == 0)
			l->opts |= IMAP_LIST_SEL_SPECIAL_USE;
		else if (ret && strcmp(w, "SUBSCRIBED") == 0)
			l->opts |= IMAP_LIST_RET_SUBSCRIBED;
		else if (ret && strcmp(w, "CHILDREN") == 0)
			l->opts |= IMAP_LIST_RET_CHILDREN;
		else if (ret && strcmp(w, "SPECIAL-USE") == 0)
			l->opts |= IMAP_LIST_RET_SPECIAL_USE;
		else if (ret && strcmp(w, "STATUS") == 0) {
			l->opts |= IMAP_LIST_RET_STATUS;
			if (sp(c) < 0 ||
			    status_att_list(c, &l->status_items) < 0)
				return -1;
		} else
			return fail(c, "Unknown LIST option");
	} while (accept_ch(c, ' '));
	if (close_paren(c) < 0)
		return -1;
	/* RFC 5258 §3.1: RECURSIVEMATCH alone is an error. */
	if (!ret && (l->opts & IMAP_LIST_SEL_RECURSIVEMATCH) &&
	    !(l->opts & (IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_SEL_SPECIAL_USE)))
		return fail(c, "RECURSIVEMATCH needs another selection option");
	return 0;
}

static int
parse_list(struct cur *c, bool lsub)
{
	struct imap_list_args *l = &c->cmd->u.list;
	if (sp(c) < 0)
		return -1;
	if (!lsub && peek(c) == '(') {
		if (list_opts(c, false) < 0 || sp(c) < 0)
			return -1;
	}
	if (mailbox(c, &l->ref) < 0 || sp(c) < 0)
		return -1;
	if (!lsub && peek(c) == '(') {
		l->opts |= IMAP_LIST_EXTENDED;
		if (open_paren(c) < 0)
			return -1;
		do {
			if (l->n_pat == IMAP_LIST_MAX_PATTERNS)
				return fail(c, "Too many patterns");
			if (list_mailbox(c, &l->pat[l->n_pat++]) < 0)
				return -1;
		} while (accept_ch(c, ' '));
		if (close_paren(c) < 0)
			return -1;
	} else {
		if (list_mailbox(c, &l->pat[0]) < 0)
			return -1;
		l->n_pat = 1;
	}
	if (!lsub && accept_ch(c, ' ')) {
		if (!accept_word(c, "RETURN") || sp(c) < 0 ||
		    list_opts(c, true) < 0)
			return fail(c, "Expected RETURN options");
	}
	return eol(c);
}

/* --- SELECT / EXAMINE --- */

static int
select_params(struct cur *c)
{
	struct imap_select_args *s = &c->cmd->u.select;
	if (open_paren(c) < 0)
		return -1;
	do {
		if (accept_word(c, "CONDSTORE")) {
			s->condstore = true;
		} else if (accept_word(c, "QRESYNC")) {
			/* QRESYNC SP "(" uidvalidity SP mod-sequence-value
			 * [SP known-uids] [SP seq-match-data] ")" */
			s->qresync = true;
			if (sp(c) < 0 || open_paren(c) < 0 ||
			    nz_number(c, &s->uidvalidity) < 0 || sp(c) < 0 ||
			    modseq(c, &s->modseq, true) < 0)
				return -1;
			if (accept_ch(c, ' ')) {
				if (peek(c) != '(' &&
				    sequence_set(c, &s->known_uids) < 0)
					return -1;
				if (peek(c) != '(' && !accept_ch(c, ' ') &&
				    peek(c) != ')')
					return fail(c, "Bad QRESYNC");
				if (peek(c) == '(') {
					if (open_paren(c) < 0 ||
					    sequence_set(c, &s->match_seq) <
						0 ||
					    sp(c) < 0 ||
					    sequence_set(c, &s->match_uid) <
						0 ||
					    close_paren(c) < 0)
						return -1;
				}
			}
			if (close_paren(c) < 0)
				return -1;
			if (s->known_uids.saved || s->match_seq.saved ||
			    s->match_uid.saved)
				return fail(c, "Bad QRESYNC");
		} else {
			return fail(c, "Unknown SELECT parameter");
		}
	} while (accept_ch(c, ' '));
	return close_paren(c);
}

static int
parse_select(struct cur *c)
{
	if (sp(c) < 0 || mailbox(c, &c->cmd->u.select.mbox) < 0)
		return -1;
	if (accept_ch(c, ' ') && select_params(c) < 0)
		return -1;
	return eol(c);
}

/* --- the rest --- */

static int
parse_id(struct cur *c)
{
	struct imap_id_args *id = &c->cmd->u.id;
	if (sp(c) < 0)
		return -1;
	if (accept_nil(c))
		return eol(c);
	/* RFC 2971 §3.3: at most 30 pairs. */
	id->kv = arena_alloc(c->cmd, 60 * sizeof(*id->kv));
	id->nil = arena_alloc(c->cmd, 30 * sizeof(*id->nil));
	if (open_paren(c) < 0)
		return -1;
	if (peek(c) != ')') {
		do {
			if (id->n == 30)
				return fail(c, "Too many ID fields");
			if (string(c, &id->kv[2 * id->n]) < 0 || sp(c) < 0)
				return -1;
			if (accept_nil(c))
				id->nil[id->n] = true;
			else if (string(c, &id->kv[2 * id->n + 1]) < 0)
				return -1;
			id->n++;
		} while (accept_ch(c, ' '));
	}
	if (close_paren(c) < 0)
		return -1;
	return eol(c);
}

static int
parse_enable(struct cur *c)
{
	struct imap_enable_args *e = &c->cmd->u.enable;
	size_t cap = 8;
	e->caps = arena_alloc(c->cmd, cap * sizeof(*e->caps));
	if (at_eol(c))
		return fail(c, "ENABLE needs a capability");
	while (accept_ch(c, ' ')) {
		if (e->n == cap || item(c) < 0)
			return fail(c, "Too many capabilities");
		if (atom(c, &e->caps[e->n++]) < 0)
			return -1;
	}
	return eol(c);
}

static int
parse_setquota(struct cur *c)
{
	struct imap_setquota_args *q = &c->cmd->u.setquota;
	if (sp(c) < 0 || astring(c, &q->root) < 0 || sp(c) < 0 ||
	    open_paren(c) < 0)
		return -1;
	if (peek(c) != ')') {
		do {
			struct imap_str res;
			uint64_t v;
			if (item(c) < 0 || atom(c, &res) < 0 || sp(c) < 0 ||
			    modseq(c, &v, true) < 0)
				return -1;
			if (str_is(&res, "STORAGE")) {
				q->storage_set = true;
				q->storage = v;
			}
		} while (accept_ch(c, ' '));
	}
	if (close_paren(c) < 0)
		return -1;
	return eol(c);
}

static const struct {
	const char *name;
	enum imap_cmd cmd;
} commands[] = {
    {"CAPABILITY", IMAP_CMD_CAPABILITY},
    {"NOOP", IMAP_CMD_NOOP},
    {"LOGOUT", IMAP_CMD_LOGOUT},
    {"STARTTLS", IMAP_CMD_STARTTLS},
    {"AUTHENTICATE", IMAP_CMD_AUTHENTICATE},
    {"LOGIN", IMAP_CMD_LOGIN},
    {"ID", IMAP_CMD_ID},
    {"ENABLE", IMAP_CMD_ENABLE},
    {"COMPRESS", IMAP_CMD_COMPRESS},
    {"SELECT", IMAP_CMD_SELECT},
    {"EXAMINE", IMAP_CMD_EXAMINE},
    {"CREATE", IMAP_CMD_CREATE},
    {"DELETE", IMAP_CMD_DELETE},
    {"RENAME", IMAP_CMD_RENAME},
    {"SUBSCRIBE", IMAP_CMD_SUBSCRIBE},
    {"UNSUBSCRIBE", IMAP_CMD_UNSUBSCRIBE},
    {"LIST", IMAP_CMD_LIST},
    {"LSUB", IMAP_CMD_LSUB},
    {"STATUS", IMAP_CMD_STATUS},
    {"APPEND", IMAP_CMD_APPEND},
    {"NAMESPACE", IMAP_CMD_NAMESPACE},
    {"GETQUOTA", IMAP_CMD_GETQUOTA},
    {"GETQUOTAROOT", IMAP_CMD_GETQUOTAROOT},
    {"SETQUOTA", IMAP_CMD_SETQUOTA},
    {"IDLE", IMAP_CMD_IDLE},
    {"CHECK", IMAP_CMD_CHECK},
    {"CLOSE", IMAP_CMD_CLOSE},
    {"UNSELECT", IMAP_CMD_UNSELECT},
    {"EXPUNGE", IMAP_CMD_EXPUNGE},
    {"SEARCH", IMAP_CMD_SEARCH},
    {"FETCH", IMAP_CMD_FETCH},
    {"STORE", IMAP_CMD_STORE},
    {"COPY", IMAP_CMD_COPY},
    {"MOVE", IMAP_CMD_MOVE},
};

const char *
imap_cmd_name(enum imap_cmd cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].cmd == cmd)
			return commands[i].name;
	return "?";
}

/* args - the arguments of cmd, through the end of the command. */
static int
args(struct cur *c)
{
	struct imap_command *cmd = c->cmd;
	switch (cmd->cmd) {
	case IMAP_CMD_CAPABILITY:
	case IMAP_CMD_NOOP:
	case IMAP_CMD_LOGOUT:
	case IMAP_CMD_STARTTLS:
	case IMAP_CMD_NAMESPACE:
	case IMAP_CMD_IDLE:
	case IMAP_CMD_CHECK:
	case IMAP_CMD_CLOSE:
	case IMAP_CMD_UNSELECT:
		return eol(c);
	case IMAP_CMD_EXPUNGE:
		if (cmd->uid && (sp(c) < 0 || sequence_set(c, &cmd->u.expunge)))
			return -1;
		return eol(c);
	case IMAP_CMD_LOGIN:
		if (sp(c) < 0 || astring(c, &cmd->u.login.user) < 0 ||
		    sp(c) < 0 || astring(c, &cmd->u.login.pass) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_AUTHENTICATE:
		if (sp(c) < 0 || atom(c, &cmd->u.auth.mech) < 0)
			return -1;
		if (accept_ch(c, ' ')) {
			/* SASL-IR (RFC 4959): base64 or "=". */
			size_t start = c->pos;
			while (c->pos < c->len && !at_eol(c) &&
			       c->buf[c->pos] != ' ')
				c->pos++;
			if (c->pos == start)
				return fail(c, "Empty initial response");
			cmd->u.auth.has_ir = true;
			cmd->u.auth.ir =
			    copy_str(c, c->buf + start, c->pos - start);
		}
		return eol(c);
	case IMAP_CMD_ID:
		return parse_id(c);
	case IMAP_CMD_ENABLE:
		return parse_enable(c);
	case IMAP_CMD_COMPRESS:
		if (sp(c) < 0 || atom(c, &cmd->u.compress) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_SELECT:
	case IMAP_CMD_EXAMINE:
		return parse_select(c);
	case IMAP_CMD_CREATE:
	case IMAP_CMD_DELETE:
	case IMAP_CMD_SUBSCRIBE:
	case IMAP_CMD_UNSUBSCRIBE:
	case IMAP_CMD_GETQUOTAROOT:
		if (sp(c) < 0 || mailbox(c, &cmd->u.mbox) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_GETQUOTA:
		if (sp(c) < 0 || astring(c, &cmd->u.mbox) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_SETQUOTA:
		return parse_setquota(c);
	case IMAP_CMD_RENAME:
		if (sp(c) < 0 || mailbox(c, &cmd->u.rename.from) < 0 ||
		    sp(c) < 0 || mailbox(c, &cmd->u.rename.to) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_LIST:
	case IMAP_CMD_LSUB:
		return parse_list(c, cmd->cmd == IMAP_CMD_LSUB);
	case IMAP_CMD_STATUS:
		if (sp(c) < 0 || mailbox(c, &cmd->u.status.mbox) < 0 ||
		    sp(c) < 0 || status_att_list(c, &cmd->u.status.items) < 0)
			return -1;
		return eol(c);
	case IMAP_CMD_APPEND:
		return parse_append(c);
	case IMAP_CMD_SEARCH:
		return parse_search(c);
	case IMAP_CMD_FETCH:
		return parse_fetch(c);
	case IMAP_CMD_STORE:
		return parse_store(c);
	case IMAP_CMD_COPY:
	case IMAP_CMD_MOVE:
		if (sp(c) < 0 || sequence_set(c, &cmd->u.copy.set) < 0 ||
		    sp(c) < 0 || mailbox(c, &cmd->u.copy.mbox) < 0)
			return -1;
		return eol(c);
	default:
		return fail(c, "Unknown command");
	}
}

size_t
imap_parse_tag_len(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && i < IMAP_TAG_MAX && is_tag_char((unsigned char)p[i]))
		i++;
	return i > 0 && i < n && p[i] == ' ' ? i : 0;
}

/* tag - 1*<any ASTRING-CHAR except "+"> */
static int
tag(struct cur *c)
{
	size_t start = c->pos;
	/* Up to the space: a tag with a byte it may not hold is no tag to
	 * answer with ("a+b" must not be answered as "a"). */
	while (c->pos < c->len && c->buf[c->pos] != ' ' &&
	       !is_ctl((unsigned char)c->buf[c->pos]))
		if (!is_tag_char((unsigned char)c->buf[c->pos++]))
			return fail(c, "Invalid tag");
	size_t n = c->pos - start;
	if (n == 0 || n > IMAP_TAG_MAX)
		return fail(c, n == 0 ? "Missing tag" : "Tag too long");
	memcpy(c->cmd->tag, c->buf + start, n);
	c->cmd->tag[n] = '\0';
	return 0;
}

enum imap_parse_status
imap_parse_command(const char *buf, size_t len, const size_t *ext, size_t n_ext,
		   const struct imap_limits *lim, struct imap_command *cmd,
		   struct imap_literal *lit, const char **why)
{
	struct cur c = {
	    .buf = buf,
	    .len = len,
	    .ext = ext,
	    .n_ext = n_ext,
	    .lim = lim,
	    .cmd = cmd,
	};
	char w[16];

	memset(cmd, 0, sizeof(*cmd));
	*why = NULL;
	if (tag(&c) < 0 || sp(&c) < 0)
		goto bad;
	if (word(&c, w, sizeof(w)) < 0) {
		c.why = "Unknown command";
		goto bad;
	}
	if (strcmp(w, "UID") == 0) {
		cmd->uid = true;
		if (sp(&c) < 0 || word(&c, w, sizeof(w)) < 0)
			goto bad;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, w) == 0)
			cmd->cmd = commands[i].cmd;
	if (cmd->cmd == IMAP_CMD_NONE) {
		c.why = "Unknown command";
		goto bad;
	}
	if (cmd->uid && cmd->cmd != IMAP_CMD_FETCH &&
	    cmd->cmd != IMAP_CMD_STORE && cmd->cmd != IMAP_CMD_COPY &&
	    cmd->cmd != IMAP_CMD_MOVE && cmd->cmd != IMAP_CMD_SEARCH &&
	    cmd->cmd != IMAP_CMD_EXPUNGE) {
		c.why = "Unknown UID command";
		goto bad;
	}
	if (args(&c) < 0)
		goto bad;
	return IMAP_PARSE_OK;
bad:
	if (c.need_literal) {
		*lit = c.lit;
		return IMAP_PARSE_LITERAL;
	}
	*why = c.why != NULL ? c.why : "Syntax error";
	return IMAP_PARSE_BAD;
}
