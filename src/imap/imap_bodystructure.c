/*
 * imap_bodystructure - ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501
 * §7.4.2), in Dovecot's manner where the RFC leaves a choice.
 *
 * The address parser is ENVELOPE's own: it must return display names,
 * source routes, groups and Dovecot's placeholders for what is missing
 * (MISSING_MAILBOX, MISSING_DOMAIN), which rfc5322_parse_addresses (an
 * envelope-recipient finder) has no reason to know about.
 */
#include "imap/imap_bodystructure.h"

#include "mime/mime_fold.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ---- */

void
imap_bodystructure_nstring(const char *s, size_t len, struct strbuf *out)
{
	bool quote = true;
	char n[32];

	if (s == NULL) {
		strbuf_adds(out, "NIL");
		return;
	}
	for (size_t i = 0; i < len && quote; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			quote = false;
	}
	if (!quote) {
		/* RFC 3501 §4.3: a literal holds any octet but NUL. */
		snprintf(n, sizeof(n), "{%zu}\r\n", len);
		strbuf_adds(out, n);
		size_t run = 0;
		for (size_t i = 0; i < len; i++) {
			if (s[i] != '\0')
				continue;
			strbuf_add(out, s + run, i - run);
			strbuf_add(out, "\x80", 1);
			run = i + 1;
		}
		strbuf_add(out, s + run, len - run);
		return;
	}
	strbuf_add(out, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		strbuf_add(out, s + run, i - run);
		strbuf_add(out, "\\", 1);
		run = i;
	}
	strbuf_add(out, s + run, len - run);
	strbuf_add(out, "\"", 1);
}

static void
bs_str(const struct mime_tree *t, struct mime_str s, struct strbuf *out)
{
	imap_bodystructure_nstring(mime_str_ptr(t, s), s.len, out);
}

/* bs_human - a text for people (Subject, display names), as Dovecot
 * sends them: each run of white space (folding included) one space,
 * none at either end, NUL and bytes that are not UTF-8 as U+FFFD. */
static void
bs_human(const char *p, size_t n, struct strbuf *out)
{
	struct strbuf tmp = {0};
	bool space = false;

	if (p == NULL) {
		strbuf_adds(out, "NIL");
		return;
	}
	strbuf_add(&tmp, "", 0);
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = tmp.len > 0;
			continue;
		}
		if (space)
			strbuf_add(&tmp, " ", 1);
		space = false;
		strbuf_add(&tmp, &c, 1);
	}
	/* Dovecot sends people's texts as valid UTF-8 only */
	struct strbuf clean = {0};
	mime_utf8_sanitize(tmp.p, tmp.len, &clean);
	imap_bodystructure_nstring(clean.p, clean.len, out);
	free(tmp.p);
	free(clean.p);
}

/* bs_nolf - an unstructured value with CR and LF removed (unfolded as
 * Dovecot does: the white space after a line break stays). */
static void
bs_nolf(const struct mime_tree *t, struct mime_str s, struct strbuf *out)
{
	const char *p = mime_str_ptr(t, s);
	struct strbuf tmp = {0};

	if (p == NULL) {
		strbuf_adds(out, "NIL");
		return;
	}
	if (memchr(p, '\n', s.len) == NULL && memchr(p, '\r', s.len) == NULL) {
		imap_bodystructure_nstring(p, s.len, out);
		return;
	}
	strbuf_add(&tmp, "", 0);
	for (size_t i = 0; i < s.len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			strbuf_add(&tmp, p + i, 1);
	imap_bodystructure_nstring(tmp.p, tmp.len, out);
	free(tmp.p);
}

/* ---- addresses (RFC 5322 §3.4, obsolete forms of §4.4) ---- */

struct ad {
	const char *p, *e;
	struct strbuf comment; /* the last comment seen */
	bool has_comment;
};

static bool
ad_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
ad_cfws(struct ad *a)
{
	while (a->p < a->e) {
		if (ad_wsp(*a->p)) {
			a->p++;
			continue;
		}
		if (*a->p != '(')
			return;
		unsigned depth = 0;
		const char *start = a->p + 1;
		a->comment.len = 0;
		strbuf_add(&a->comment, "", 0);
		while (a->p < a->e) {
			char c = *a->p++;
			if (c == '\\' && a->p < a->e) {
				a->p++;
			} else if (c == '(') {
				depth++;
			} else if (c == ')' && --depth == 0) {
				break;
			}
		}
		size_t n = (size_t)(a->p - start);
		if (depth == 0 && n > 0)
			n--; /* the closing ')' */
		for (size_t i = 0; i < n; i++) {
			if (start[i] == '\\' && i + 1 < n)
				i++;
			if (start[i] != '\r' && start[i] != '\n')
				strbuf_add(&a->comment, start + i, 1);
		}
		a->has_comment = true;
	}
}

static bool
ad_atext(char c)
{
	unsigned char u = (unsigned char)c;
	return u > 32 && u != 127 && strchr("()<>[]:;@\\,.\"", c) == NULL;
}

/* ad_word - an atom or quoted-string, unquoted, appended to sb. */
static bool
ad_word(struct ad *a, struct strbuf *sb)
{
	if (a->p < a->e && *a->p == '"') {
		a->p++;
		while (a->p < a->e && *a->p != '"') {
			if (*a->p == '\\' && a->p + 1 < a->e)
				a->p++;
			if (*a->p != '\r' && *a->p != '\n')
				strbuf_add(sb, a->p, 1);
			a->p++;
		}
		if (a->p < a->e)
			a->p++;
		return true;
	}
	const char *s = a->p;
	while (a->p < a->e && ad_atext(*a->p))
		a->p++;
	strbuf_add(sb, s, (size_t)(a->p - s));
	return a->p > s;
}

/* ad_phrase - display-name words (obs-phrase: dots too), joined by one
 * space. Returns the number of words. */
static int
ad_phrase(struct ad *a, struct strbuf *sb)
{
	int n = 0;

	for (;;) {
		ad_cfws(a);
		if (a->p == a->e)
			return n;
		if (*a->p == '.') {
			strbuf_add(sb, ".", 1);
			a->p++;
			n++;
			continue;
		}
		if (*a->p != '"' && !ad_atext(*a->p))
			return n;
		if (n > 0 && sb->len > 0 && sb->p[sb->len - 1] != '.')
			strbuf_add(sb, " ", 1);
		ad_word(a, sb);
		n++;
	}
}

/* ad_dotted - local-part or domain: words joined by dots. */
static bool
ad_dotted(struct ad *a, struct strbuf *sb, bool domain)
{
	bool any = false;

	for (;;) {
		ad_cfws(a);
		if (a->p == a->e)
			return any;
		if (domain && *a->p == '[') {
			const char *s = a->p;
			while (a->p < a->e && *a->p != ']') {
				if (*a->p == '\\' && a->p + 1 < a->e)
					a->p++;
				a->p++;
			}
			if (a->p < a->e)
				a->p++;
			for (; s < a->p; s++)
				if (*s != '\r' && *s != '\n')
					strbuf_add(sb, s, 1);
			any = true;
		} else if (*a->p == '"' && !domain) {
			ad_word(a, sb);
			any = true;
		} else if (ad_atext(*a->p)) {
			ad_word(a, sb);
			any = true;
		} else {
			return any;
		}
		ad_cfws(a);
		if (a->p == a->e || *a->p != '.')
			return any;
		strbuf_add(sb, ".", 1);
		a->p++;
	}
}

struct ad_addr {
	struct strbuf name, route, local, domain;
	bool has_name, has_route;
};

static void
ad_emit(const struct ad_addr *x, bool missing, struct strbuf *out)
{
	strbuf_add(out, "(", 1);
	bs_human(x->has_name ? x->name.p : NULL, x->name.len, out);
	strbuf_add(out, " ", 1);
	imap_bodystructure_nstring(x->has_route ? x->route.p : NULL,
				   x->route.len, out);
	strbuf_add(out, " ", 1);
	if (missing || x->local.len == 0)
		imap_bodystructure_nstring("MISSING_MAILBOX", 15, out);
	else
		imap_bodystructure_nstring(x->local.p, x->local.len, out);
	strbuf_add(out, " ", 1);
	if (missing || x->domain.len == 0)
		imap_bodystructure_nstring("MISSING_DOMAIN", 14, out);
	else
		imap_bodystructure_nstring(x->domain.p, x->domain.len, out);
	strbuf_add(out, ")", 1);
}

static void
ad_addr_reset(struct ad_addr *x)
{
	x->name.len = x->route.len = x->local.len = x->domain.len = 0;
	strbuf_add(&x->name, "", 0);
	strbuf_add(&x->route, "", 0);
	strbuf_add(&x->local, "", 0);
	strbuf_add(&x->domain, "", 0);
	x->has_name = x->has_route = false;
}

/* ad_addr_spec - local-part ["@" domain]; true if anything was there. */
static bool
ad_addr_spec(struct ad *a, struct ad_addr *x)
{
	bool any = ad_dotted(a, &x->local, false);

	ad_cfws(a);
	if (a->p < a->e && *a->p == '@') {
		a->p++;
		ad_dotted(a, &x->domain, true);
		any = true;
	}
	return any;
}

/* ad_angle - at "<": [route ":"] addr-spec ">". */
static void
ad_angle(struct ad *a, struct ad_addr *x)
{
	a->p++;
	ad_cfws(a);
	if (a->p < a->e && *a->p == '@') {
		/* obs-route: "@a,@b:" - kept as written, as the adl */
		const char *s = a->p, *q = a->p;
		while (q < a->e && *q != ':' && *q != '>')
			q++;
		if (q < a->e && *q == ':') {
			for (; s < q; s++)
				if (!ad_wsp(*s))
					strbuf_add(&x->route, s, 1);
			x->has_route = true;
			a->p = q + 1;
		}
	}
	ad_addr_spec(a, x);
	ad_cfws(a);
	while (a->p < a->e && *a->p != '>' && *a->p != ',')
		a->p++;
	if (a->p < a->e && *a->p == '>')
		a->p++;
}

/* ad_mailbox - one mailbox; at its first byte. Returns false on garbage
 * where nothing sensible could be taken (the list ends there). */
static bool
ad_mailbox(struct ad *a, struct ad_addr *x, struct strbuf *out)
{
	const char *start = a->p;
	struct strbuf phrase = {0};
	int words;
	bool ok = true;

	ad_addr_reset(x);
	a->has_comment = false;
	strbuf_add(&phrase, "", 0);
	words = ad_phrase(a, &phrase);
	ad_cfws(a);
	if (a->p < a->e && *a->p == '<') {
		/* an empty display name ("") is none, and a comment is not
		 * taken for one here (Dovecot) */
		if (words > 0 && phrase.len > 0) {
			strbuf_add(&x->name, phrase.p, phrase.len);
			x->has_name = true;
		}
		ad_angle(a, x);
		ad_cfws(a);
		ad_emit(x, false, out);
	} else {
		const char *after_phrase = a->p;
		a->p = start;
		a->has_comment = false;
		bool any = ad_addr_spec(a, x);
		bool at = x->domain.len > 0;
		ad_cfws(a);
		bool end = a->p == a->e || *a->p == ',' || *a->p == ';';
		if (any && (end || at)) {
			/* an addr-spec; anything after it ends the list */
			ok = end;
			if (a->has_comment) {
				strbuf_add(&x->name, a->comment.p,
					   a->comment.len);
				x->has_name = true;
			}
			ad_emit(x, false, out);
		} else if (words > 0) {
			/* a display name without an address */
			ad_addr_reset(x);
			strbuf_add(&x->name, phrase.p, phrase.len);
			x->has_name = true;
			ad_emit(x, true, out);
			a->p = after_phrase;
			ok = a->p == a->e || *a->p == ',' || *a->p == ';';
		} else if (any) {
			ad_emit(x, false, out);
			ok = false;
		} else {
			/* nothing at all: an empty element */
			ad_addr_reset(x);
			ad_emit(x, true, out);
			ok = a->p == a->e || *a->p == ',' || *a->p == ';';
			if (!ok)
				a->p++;
		}
	}
	free(phrase.p);
	return ok;
}

/*
 * bs_addresses - an address-list value as an ENVELOPE address list, or
 * NIL when there is no address in it. Group syntax (RFC 3501 §7.4.2):
 * (NIL NIL "name" NIL) opens, (NIL NIL NIL NIL) closes.
 */
static bool
bs_addresses(const char *v, size_t n, struct strbuf *out)
{
	struct ad a = {v, v + n, {0}, false};
	struct ad_addr x = {{0}, {0}, {0}, {0}, false, false};
	struct strbuf list = {0};
	bool in_group = false;

	strbuf_add(&list, "", 0);
	for (;;) {
		ad_cfws(&a);
		if (a.p == a.e)
			break;
		/* A group: phrase ":" */
		const char *start = a.p;
		struct strbuf g = {0};
		strbuf_add(&g, "", 0);
		int words = ad_phrase(&a, &g);
		ad_cfws(&a);
		if (!in_group && words > 0 && a.p < a.e && *a.p == ':') {
			a.p++;
			strbuf_adds(&list, "(NIL NIL ");
			bs_human(g.p, g.len, &list);
			strbuf_adds(&list, " NIL)");
			in_group = true;
			free(g.p);
			ad_cfws(&a);
			if (a.p < a.e && *a.p == ';') {
				a.p++;
				strbuf_adds(&list, "(NIL NIL NIL NIL)");
				in_group = false;
			}
			if (a.p == a.e)
				break;
			if (*a.p == ',') {
				a.p++;
				ad_cfws(&a);
				if (a.p == a.e)
					break;
			}
			if (in_group && a.p < a.e)
				goto mailbox;
			continue;
		}
		free(g.p);
		a.p = start;
	mailbox:
		if (!ad_mailbox(&a, &x, &list))
			break;
		ad_cfws(&a);
		if (a.p < a.e && *a.p == ';') {
			a.p++;
			if (in_group) {
				strbuf_adds(&list, "(NIL NIL NIL NIL)");
				in_group = false;
			}
			ad_cfws(&a);
		}
		if (a.p == a.e)
			break;
		if (*a.p != ',')
			break; /* garbage: the list ends here */
		a.p++;
		ad_cfws(&a);
	}
	if (in_group)
		strbuf_adds(&list, "(NIL NIL NIL NIL)");
	bool any = list.len > 0;
	if (any) {
		strbuf_add(out, "(", 1);
		strbuf_add(out, list.p, list.len);
		strbuf_add(out, ")", 1);
	}
	free(list.p);
	free(a.comment.p);
	free(x.name.p);
	free(x.route.p);
	free(x.local.p);
	free(x.domain.p);
	return any;
}

static bool
bs_addr_field(const struct mime_tree *t, struct mime_str s, struct strbuf *out)
{
	const char *p = mime_str_ptr(t, s);

	return p != NULL && bs_addresses(p, s.len, out);
}

void
imap_bodystructure_envelope(const struct mime_tree *t, uint32_t part,
			    struct strbuf *out)
{
	const struct mime_envelope *e;
	struct strbuf from = {0};

	if (part >= t->nparts || t->parts[part].env >= t->nenvs) {
		strbuf_adds(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	e = &t->envs[t->parts[part].env];
	strbuf_add(out, "(", 1);
	bs_nolf(t, e->date, out);
	strbuf_add(out, " ", 1);
	bs_human(mime_str_ptr(t, e->subject), e->subject.len, out);
	strbuf_add(out, " ", 1);
	strbuf_add(&from, "", 0);
	if (!bs_addr_field(t, e->from, &from))
		strbuf_adds(&from, "NIL");
	strbuf_add(out, from.p, from.len);
	/* §7.4.2: sender and reply-to default to from. */
	strbuf_add(out, " ", 1);
	if (!bs_addr_field(t, e->sender, out))
		strbuf_add(out, from.p, from.len);
	strbuf_add(out, " ", 1);
	if (!bs_addr_field(t, e->reply_to, out))
		strbuf_add(out, from.p, from.len);
	free(from.p);
	const struct mime_str *rest[] = {&e->to, &e->cc, &e->bcc};
	for (size_t i = 0; i < 3; i++) {
		strbuf_add(out, " ", 1);
		if (!bs_addr_field(t, *rest[i], out))
			strbuf_adds(out, "NIL");
	}
	strbuf_add(out, " ", 1);
	bs_nolf(t, e->in_reply_to, out);
	strbuf_add(out, " ", 1);
	bs_nolf(t, e->message_id, out);
	strbuf_add(out, ")", 1);
}

/* ---- BODY / BODYSTRUCTURE ---- */

static void
bs_num(uint64_t n, struct strbuf *out)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, n);
	strbuf_adds(out, b);
}

/* bs_params - ("name" "value" ...) or NIL; add_charset appends the
 * text default ("charset" "us-ascii") when no charset is given. */
static void
bs_params(const struct mime_tree *t, uint32_t first, uint32_t n,
	  bool add_charset, struct strbuf *out)
{
	bool any = false;

	for (uint32_t i = first; i < first + n; i++) {
		const struct mime_param *p = &t->params[i];
		/* a string lost to max_kept: the pair cannot be sent */
		if (!mime_str_present(p->imap_name) ||
		    !mime_str_present(p->imap_value))
			continue;
		strbuf_add(out, any ? " " : "(", 1);
		bs_str(t, p->imap_name, out);
		strbuf_add(out, " ", 1);
		bs_str(t, p->imap_value, out);
		/* as Dovecot: only a plain "charset" counts, so an RFC 2231
		 * "charset*" still gets the default after it */
		if (mime_str_is(t, p->imap_name, "charset"))
			add_charset = false;
		any = true;
	}
	if (add_charset) {
		strbuf_adds(out, any ? " " : "(");
		strbuf_adds(out, "\"charset\" \"us-ascii\"");
		any = true;
	}
	strbuf_adds(out, any ? ")" : "NIL");
}

/* bs_ext_common - body-fld-dsp SP body-fld-lang SP body-fld-loc. */
static void
bs_ext_common(const struct mime_tree *t, const struct mime_part *x,
	      struct strbuf *out)
{
	if (mime_str_present(x->disposition)) {
		strbuf_add(out, "(", 1);
		bs_str(t, x->disposition, out);
		strbuf_add(out, " ", 1);
		bs_params(t, x->dparam, x->ndparam, false, out);
		strbuf_add(out, ")", 1);
	} else {
		strbuf_adds(out, "NIL");
	}
	strbuf_add(out, " ", 1);
	bool any = false;
	for (uint32_t i = 0; i < x->nlang; i++) {
		struct mime_str l = t->params[x->lang + i].name;
		if (!mime_str_present(l))
			continue;
		strbuf_add(out, any ? " " : "(", 1);
		bs_str(t, l, out);
		any = true;
	}
	strbuf_adds(out, any ? ")" : "NIL");
	strbuf_add(out, " ", 1);
	bs_str(t, x->location, out);
}

#define BS_DEFAULT                                                             \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
#define BS_EMPTY                                                               \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 "   \
	"0"

static void bs_part(const struct mime_tree *t, uint32_t i, bool ext,
		    struct strbuf *out);

static void
bs_multipart(const struct mime_tree *t, const struct mime_part *x, bool ext,
	     struct strbuf *out)
{
	strbuf_add(out, "(", 1);
	if (x->child == MIME_NONE) {
		/* No parts (no boundary, or none found): the grammar needs
		 * one; Dovecot writes an empty text/plain. */
		strbuf_adds(out, BS_EMPTY);
		strbuf_adds(out, ext ? " NIL NIL NIL NIL)" : ")");
	}
	for (uint32_t c = x->child; c != MIME_NONE; c = t->parts[c].next)
		bs_part(t, c, ext, out);
	strbuf_add(out, " ", 1);
	/* a subtype lost to max_kept: unknown subtypes are mixed (RFC
	 * 2046 §5.1.3) */
	if (mime_str_present(x->subtype))
		bs_str(t, x->subtype, out);
	else
		strbuf_adds(out, "\"mixed\"");
	if (ext) {
		strbuf_add(out, " ", 1);
		bs_params(t, x->param, x->nparam, false, out);
		strbuf_add(out, " ", 1);
		bs_ext_common(t, x, out);
	}
	strbuf_add(out, ")", 1);
}

/* bs_is_default - a part that says nothing but text/plain; charset=
 * us-ascii; 7bit in any case: when the whole message is such a part,
 * Dovecot writes it in the default's own spelling (lower case), and so
 * does petrel, to send the same bytes. */
static bool
bs_is_default(const struct mime_tree *t, const struct mime_part *x)
{
	if (!mime_str_is(t, x->type, "text") ||
	    !mime_str_is(t, x->subtype, "plain") || mime_str_present(x->id) ||
	    mime_str_present(x->description) || mime_str_present(x->md5) ||
	    mime_str_present(x->disposition) || mime_str_present(x->location) ||
	    x->nlang > 0 ||
	    (mime_str_present(x->cte_name) &&
	     !mime_str_is(t, x->cte_name, "7bit")) ||
	    x->nparam > 1)
		return false;
	if (x->nparam == 1) {
		const struct mime_param *p = &t->params[x->param];
		if (!mime_str_is(t, p->imap_name, "charset") ||
		    !mime_str_is(t, p->imap_value, "us-ascii"))
			return false;
	}
	return true;
}

static void
bs_part(const struct mime_tree *t, uint32_t i, bool ext, struct strbuf *out)
{
	const struct mime_part *x = &t->parts[i];
	bool text = (x->flags & MIME_PART_TEXT) != 0;
	bool message = (x->flags & (MIME_PART_MESSAGE | MIME_PART_GLOBAL)) ==
			   MIME_PART_MESSAGE &&
		       x->child != MIME_NONE;
	/* message/rfc822 whose header never ended has no message inside;
	 * the grammar still wants one: an empty one, as Dovecot writes */
	bool rfc822 = mime_str_is(t, x->type, "message") &&
		      mime_str_is(t, x->subtype, "rfc822");

	if ((x->flags & MIME_PART_MULTIPART) != 0) {
		bs_multipart(t, x, ext, out);
		return;
	}
	if (i == 0 && bs_is_default(t, x) &&
	    (x->flags & MIME_PART_LIMIT) == 0) {
		strbuf_adds(out, BS_DEFAULT);
		bs_num(x->body_len + x->body_bare_lf, out);
		strbuf_add(out, " ", 1);
		bs_num(x->body_lines, out);
		strbuf_adds(out, ext ? " NIL NIL NIL NIL)" : ")");
		return;
	}
	strbuf_add(out, "(", 1);
	if ((x->flags & MIME_PART_LIMIT) != 0 || !mime_str_present(x->type) ||
	    !mime_str_present(x->subtype)) {
		/* A multipart or message past a limit: opaque, as Dovecot
		 * writes it (a client must not look for its structure);
		 * also a type lost to max_kept. */
		strbuf_adds(out, "\"application\" \"octet-stream\" NIL");
		text = message = rfc822 = false;
	} else {
		bs_str(t, x->type, out);
		strbuf_add(out, " ", 1);
		bs_str(t, x->subtype, out);
		strbuf_add(out, " ", 1);
		bs_params(t, x->param, x->nparam, text, out);
	}
	strbuf_add(out, " ", 1);
	bs_str(t, x->id, out);
	strbuf_add(out, " ", 1);
	bs_str(t, x->description, out);
	strbuf_add(out, " ", 1);
	if (mime_str_present(x->cte_name))
		bs_str(t, x->cte_name, out);
	else
		strbuf_adds(out, "\"7bit\"");
	strbuf_add(out, " ", 1);
	bs_num(x->body_len + x->body_bare_lf, out);
	if (text) {
		strbuf_add(out, " ", 1);
		bs_num(x->body_lines, out);
	} else if (message) {
		strbuf_add(out, " ", 1);
		imap_bodystructure_envelope(t, x->child, out);
		strbuf_add(out, " ", 1);
		bs_part(t, x->child, ext, out);
		strbuf_add(out, " ", 1);
		bs_num(x->body_lines, out);
	} else if (rfc822) {
		strbuf_adds(out, " (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ");
		strbuf_adds(out, BS_EMPTY);
		strbuf_adds(out, ext ? " NIL NIL NIL NIL) " : ") ");
		bs_num(x->body_lines, out);
	}
	if (ext) {
		strbuf_add(out, " ", 1);
		bs_str(t, x->md5, out);
		strbuf_add(out, " ", 1);
		bs_ext_common(t, x, out);
	}
	strbuf_add(out, ")", 1);
}

void
imap_bodystructure_write(const struct mime_tree *t, uint32_t part,
			 bool extended, struct strbuf *out)
{
	if (part >= t->nparts) {
		strbuf_adds(out, BS_EMPTY);
		strbuf_adds(out, extended ? " NIL NIL NIL NIL)" : ")");
		return;
	}
	bs_part(t, part, extended, out);
}
