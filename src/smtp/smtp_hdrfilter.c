#include "smtp/smtp_hdrfilter.h"

#include <string.h>

static const char name[] = "return-path";
#define NAME_LEN (sizeof(name) - 1)
#define WSP_MAX	 (SMTP_HDRFILTER_HOLD - NAME_LEN - 1)

enum {
	ST_LINE_START = 0, /* the next byte starts a header line */
	ST_CR,		   /* the line so far is one CR: maybe the end */
	ST_NAME,	   /* matching "return-path" (held back) */
	ST_WSP,		   /* the name matched; WSP before ':' (held) */
	ST_LINE,	   /* a kept line: copy to its LF */
	ST_DROP,	   /* a dropped line: skip to its LF */
	ST_BODY,	   /* past the header section: copy everything */
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

void
smtp_hdrfilter_init(struct smtp_hdrfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->state = ST_LINE_START;
}

/* release - what was held back goes out after all: not Return-Path. */
static size_t
release(struct smtp_hdrfilter *f, char *out)
{
	size_t n = f->held;

	memcpy(out, f->hold, n);
	f->held = 0;
	return n;
}

size_t
smtp_hdrfilter_feed(struct smtp_hdrfilter *f, const char *in, size_t len,
		    char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (f->state == ST_BODY) {
			memcpy(out + o, in + i, len - i);
			return o + (len - i);
		}
		if ((unsigned char)c >= 0x80)
			f->header_8bit = true;
		switch (f->state) {
		case ST_LINE_START:
			if (f->dropping && (c == ' ' || c == '\t')) {
				/* RFC 5322 §2.2.3: a folded continuation of
				 * the field being removed. */
				f->state = ST_DROP;
				continue;
			}
			f->dropping = false;
			if (c == '\n') { /* a bare-LF empty line, as hops */
				out[o++] = c;
				f->state = ST_BODY;
			} else if (c == '\r') {
				out[o++] = c;
				f->state = ST_CR;
			} else if (lower((unsigned char)c) == name[0]) {
				f->hold[f->held++] = c;
				f->state = ST_NAME;
			} else {
				out[o++] = c;
				f->state = ST_LINE;
			}
			continue;
		case ST_CR:
			out[o++] = c;
			f->state = c == '\n' ? ST_BODY : ST_LINE;
			continue;
		case ST_NAME:
			if (lower((unsigned char)c) == name[f->held]) {
				f->hold[f->held++] = c;
				if (f->held == NAME_LEN)
					f->state = ST_WSP;
				continue;
			}
			break; /* not the name: release, then a plain line */
		case ST_WSP:
			if (c == ':') {
				/* RFC 5322 §4.5.6 obs: WSP may precede ':'. */
				f->held = 0;
				f->dropping = true;
				f->n_removed++;
				f->state = ST_DROP;
				continue;
			}
			if ((c == ' ' || c == '\t') &&
			    f->held < NAME_LEN + WSP_MAX) {
				f->hold[f->held++] = c;
				continue;
			}
			break;
		case ST_DROP:
			if (c == '\n')
				f->state = ST_LINE_START;
			continue;
		case ST_LINE:
		default:
			out[o++] = c;
			if (c == '\n')
				f->state = ST_LINE_START;
			continue;
		}
		/* A held-back line start turned out to be another field. */
		o += release(f, out + o);
		out[o++] = c;
		f->state = c == '\n' ? ST_LINE_START : ST_LINE;
	}
	return o;
}

size_t
smtp_hdrfilter_finish(struct smtp_hdrfilter *f, char *out)
{
	/* "Return-Path" with no colon yet at the very end is no field. */
	size_t n = release(f, out);
	if (f->state == ST_NAME || f->state == ST_WSP)
		f->state = ST_LINE;
	return n;
}
