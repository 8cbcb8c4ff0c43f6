/*
 * imap_msg_section - BODY[section] (RFC 3501 §6.4.5): parse, resolve
 * against the part table, filter header fields.
 */
#include "imap/imap_msg_section.h"

#include <string.h>
#include <strings.h>

/* ---- parsing ---- */

static bool
sec_word(const char **p, const char *e, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(e - *p) < n || strncasecmp(*p, w, n) != 0)
		return false;
	*p += n;
	return true;
}

/* sec_fields - SP "(" header-fld-name *(SP header-fld-name) ")" at
 * the end of the section text. */
static int
sec_fields(const char *p, const char *e, struct imap_section *r)
{
	if (p == e || *p != ' ')
		return -1;
	p++;
	if (p == e || *p != '(')
		return -1;
	p++;
	for (;;) {
		const char *s;
		if (r->nfields == IMAP_SECTION_MAX_FIELDS)
			return -1;
		if (p < e && *p == '"') {
			s = ++p;
			while (p < e && *p != '"') {
				if (*p == '\\' || *p == '\r' || *p == '\n')
					return -1;
				p++;
			}
			if (p == e)
				return -1;
			r->field[r->nfields].p = s;
			r->field[r->nfields].len = (size_t)(p - s);
			p++;
		} else {
			/* astring-char: ATOM-CHAR / resp-specials ("]") */
			s = p;
			while (p < e && (unsigned char)*p > ' ' &&
			       (unsigned char)*p < 0x7f &&
			       strchr("(){%*\"\\", *p) == NULL)
				p++;
			if (p == s)
				return -1;
			r->field[r->nfields].p = s;
			r->field[r->nfields].len = (size_t)(p - s);
		}
		if (r->field[r->nfields].len > IMAP_SECTION_MAX_NAME)
			return -1;
		r->nfields++;
		if (p < e && *p == ')') {
			p++;
			break;
		}
		if (p == e || *p != ' ')
			return -1;
		p++;
	}
	return p == e ? 0 : -1;
}

int
imap_section_parse(const char *s, size_t len, struct imap_section *r)
{
	const char *p = s, *e = s + len;

	r->nparts = 0;
	r->nfields = 0;
	r->text = IMAP_SECTION_BODY;
	/* section-part = nz-number *("." nz-number) */
	while (p < e && *p >= '1' && *p <= '9') {
		uint64_t n = 0;
		while (p < e && *p >= '0' && *p <= '9') {
			n = n * 10 + (uint64_t)(*p++ - '0');
			if (n > UINT32_MAX)
				return -1;
		}
		if (r->nparts == IMAP_SECTION_MAX_PARTS)
			return -1;
		r->part[r->nparts++] = (uint32_t)n;
		if (p == e)
			return 0;
		if (*p != '.')
			return -1;
		p++;
		if (p == e)
			return -1;
	}
	if (p == e)
		return r->nparts == 0 ? 0 : -1;
	if (r->nparts > 0 && sec_word(&p, e, "MIME")) {
		r->text = IMAP_SECTION_MIME;
		return p == e ? 0 : -1;
	}
	if (sec_word(&p, e, "TEXT")) {
		r->text = IMAP_SECTION_TEXT;
		return p == e ? 0 : -1;
	}
	if (!sec_word(&p, e, "HEADER"))
		return -1;
	r->text = IMAP_SECTION_HEADER;
	if (p == e)
		return 0;
	if (!sec_word(&p, e, ".FIELDS"))
		return -1;
	r->text = IMAP_SECTION_HEADER_FIELDS;
	if (sec_word(&p, e, ".NOT"))
		r->text = IMAP_SECTION_HEADER_FIELDS_NOT;
	return sec_fields(p, e, r);
}

/* ---- resolution ---- */

/* sec_is_message - a message/rfc822 part with its embedded message
 * (message/global is a plain part to IMAP4rev1, as in BODYSTRUCTURE). */
static bool
sec_is_message(const struct imap_msg_part *p)
{
	return (p->flags & (MIME_PART_MESSAGE | MIME_PART_GLOBAL)) ==
		   MIME_PART_MESSAGE &&
	       p->child != MIME_NONE;
}

/* sec_find - the node that part numbers num[0..n) name, or MIME_NONE
 * (RFC 3501 §6.4.5, with Dovecot's reading of it). */
static uint32_t
sec_find(const struct imap_msg *m, const uint32_t *num, size_t n)
{
	uint32_t x = 0;

	for (size_t i = 0; i < n; i++) {
		const struct imap_msg_part *p = &m->parts[x];
		if ((p->flags & MIME_PART_MULTIPART) != 0) {
			uint32_t c = p->child;
			for (uint32_t k = 1; k < num[i] && c != MIME_NONE; k++)
				c = m->parts[c].next;
			if (c == MIME_NONE)
				return MIME_NONE;
			x = c;
		} else if (num[i] != 1 || (i + 1 < n && !sec_is_message(p))) {
			/* A non-multipart has only part 1: itself; and only
			 * a message/rfc822 part has parts inside. */
			return MIME_NONE;
		}
		p = &m->parts[x];
		if (i + 1 < n && sec_is_message(p))
			x = p->child; /* on into the embedded message */
	}
	return x;
}

static void
sec_range(struct imap_section_range *r, enum imap_section_kind kind,
	  uint64_t off, uint64_t len, uint64_t bare)
{
	r->kind = kind;
	r->off = off;
	r->len = len;
	r->vlen = len + bare;
}

void
imap_section_resolve(const struct imap_msg *m, const struct imap_section *s,
		     struct imap_section_range *r)
{
	const struct imap_msg_part *p;
	uint32_t x;

	memset(r, 0, sizeof(*r));
	r->kind = IMAP_SECTION_EMPTY;
	if (s->nparts == 0) {
		p = &m->parts[0];
		if (s->text == IMAP_SECTION_BODY) {
			sec_range(r, IMAP_SECTION_RANGE, 0, m->size,
				  m->vsize - m->size);
			return;
		}
		x = 0;
	} else {
		x = sec_find(m, s->part, s->nparts);
		if (x == MIME_NONE)
			return;
		p = &m->parts[x];
		switch (s->text) {
		case IMAP_SECTION_MIME:
			sec_range(r, IMAP_SECTION_RANGE, p->hdr_off, p->hdr_len,
				  p->hdr_bare_lf);
			return;
		case IMAP_SECTION_BODY:
			sec_range(r, IMAP_SECTION_RANGE, p->body_off,
				  p->body_len, p->body_bare_lf);
			return;
		default:
			/* HEADER/TEXT of a part: of its embedded message */
			if (!sec_is_message(p))
				return;
			x = p->child;
			p = &m->parts[x];
		}
	}
	switch (s->text) {
	case IMAP_SECTION_HEADER:
		sec_range(r, IMAP_SECTION_RANGE, p->hdr_off, p->hdr_len,
			  p->hdr_bare_lf);
		break;
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
		sec_range(r, IMAP_SECTION_FILTER, p->hdr_off, p->hdr_len,
			  p->hdr_bare_lf);
		break;
	case IMAP_SECTION_TEXT:
		sec_range(r, IMAP_SECTION_RANGE, p->body_off, p->body_len,
			  p->body_bare_lf);
		break;
	default:
		break;
	}
}

/* ---- output ---- */

static bool
sec_listed(const struct imap_section *s, const char *name, size_t n)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (s->field[i].len == n &&
		    strncasecmp(s->field[i].p, name, n) == 0)
			return true;
	return false;
}

/* sec_add_crlf - append s[0..n) with every line end as CRLF. */
static void
sec_add_crlf(const char *s, size_t n, struct strbuf *out)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\n' || (i > 0 && s[i - 1] == '\r'))
			continue;
		strbuf_add(out, s + run, i - run);
		strbuf_add(out, "\r", 1);
		run = i;
	}
	strbuf_add(out, s + run, n - run);
}

void
imap_section_filter(const char *hdr, size_t len, const struct imap_section *s,
		    struct strbuf *out)
{
	bool want = s->text == IMAP_SECTION_HEADER_FIELDS, blank = false;
	struct mime_field f;
	size_t pos = 0, start = out->len;

	strbuf_add(out, "", 0);
	/* A line without a colon is a field named by all of it (as in
	 * Dovecot's header parser). */
	while (mime_header_next(hdr, len, &pos, &f, &blank)) {
		if (sec_listed(s, f.name, f.name_len) != want)
			continue;
		sec_add_crlf(hdr + f.start, f.end - f.start, out);
		/* a last line cut short by the end of the message: as
		 * Dovecot, FIELDS ends it, FIELDS.NOT sends it as it is */
		if (want && hdr[f.end - 1] != '\n')
			strbuf_add(out, "\r\n", 2);
	}
	/* The empty line, if the header has one. A header cut short by
	 * the end of the message (or a boundary) is treated as Dovecot's
	 * header filter treats it: FIELDS makes its output end in a line
	 * end and, when the header's last line was whole, adds the empty
	 * line; FIELDS.NOT sends the lines as they are. */
	if (blank)
		strbuf_add(out, "\r\n", 2);
	else if (want && (out->len == start || out->p[out->len - 1] != '\n'))
		strbuf_add(out, "\r\n", 2);
	else if (want && len > 0 && hdr[len - 1] == '\n')
		strbuf_add(out, "\r\n", 2);
}

void
imap_section_copy_crlf(const char *src, size_t len, uint64_t skip, uint64_t max,
		       struct strbuf *out)
{
	uint64_t v = 0; /* output octets passed so far */

	strbuf_add(out, "", 0);
	for (size_t i = 0; i < len && max > 0;) {
		/* a run without a bare LF, then that LF as CRLF */
		size_t j = i;
		while (j < len &&
		       !(src[j] == '\n' && (j == 0 || src[j - 1] != '\r')))
			j++;
		size_t run = j - i;
		if (v + run > skip) {
			size_t from = v >= skip ? 0 : (size_t)(skip - v);
			size_t n = run - from;
			if (n > max)
				n = (size_t)max;
			strbuf_add(out, src + i + from, n);
			max -= n;
		}
		v += run;
		if (j < len) {
			static const char crlf[2] = {'\r', '\n'};
			for (int k = 0; k < 2 && max > 0; k++, v++) {
				if (v >= skip) {
					strbuf_add(out, crlf + k, 1);
					max--;
				}
			}
			j++;
		}
		i = j;
	}
}
