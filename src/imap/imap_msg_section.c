/*
 * imap_msg_section - BODY[section] (first version: "" only; the full
 * resolver follows).
 */
#include "imap/imap_msg_section.h"

#include <string.h>

int
imap_section_parse(const char *s, size_t len, struct imap_section *r)
{
	(void)s;
	memset(r, 0, sizeof(*r));
	return len == 0 ? 0 : -1;
}

void
imap_section_resolve(const struct imap_msg *m, const struct imap_section *s,
		     struct imap_section_range *r)
{
	memset(r, 0, sizeof(*r));
	if (s->nparts == 0 && s->text == IMAP_SECTION_BODY) {
		r->kind = IMAP_SECTION_RANGE;
		r->len = m->size;
		r->vlen = m->vsize;
	}
}

void
imap_section_filter(const char *hdr, size_t len, const struct imap_section *s,
		    struct strbuf *out)
{
	(void)hdr;
	(void)len;
	(void)s;
	strbuf_add(out, "\r\n", 2);
}

void
imap_section_copy_crlf(const char *src, size_t len, uint64_t skip, uint64_t max,
		       struct strbuf *out)
{
	(void)src;
	(void)len;
	(void)skip;
	(void)max;
	(void)out;
}
