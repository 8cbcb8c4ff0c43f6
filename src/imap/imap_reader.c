#include "imap/imap_reader.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void
imap_reader_init(struct imap_reader *r, const struct imap_limits *lim)
{
	memset(r, 0, sizeof(*r));
	r->lim = lim;
}

void
imap_reader_reset(struct imap_reader *r)
{
	const struct imap_limits *lim = r->lim;
	free(r->buf);
	imap_reader_init(r, lim);
}

bool
imap_reader_idle(const struct imap_reader *r)
{
	return r->len == 0 && r->head_len == 0 && !r->dropping &&
	       !r->refused_now && r->lit_left == 0 && !r->lit_pending;
}

static void
add(struct imap_reader *r, const char *p, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + n + 1)
			cap *= 2;
		r->buf = xrealloc(r->buf, cap);
		r->cap = cap;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

/* add_head - keep the command's first bytes, where its tag is. */
static void
add_head(struct imap_reader *r, const char *p, size_t n)
{
	size_t room = sizeof(r->head) - r->head_len;
	if (n > room)
		n = room;
	memcpy(r->head + r->head_len, p, n);
	r->head_len += n;
}

/* add_tail - keep the last bytes of a line being dropped. */
static void
add_tail(struct imap_reader *r, const char *p, size_t n)
{
	size_t keep = sizeof(r->tail);
	if (n == 0)
		return;
	if (n >= keep) {
		memcpy(r->tail, p + n - keep, keep);
		r->tail_len = keep;
		return;
	}
	if (r->tail_len + n > keep) {
		size_t drop = r->tail_len + n - keep;
		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len += n;
}

/* forget - the command is over (answered or dropped). A big buffer is
 * not kept for an idle session. */
static void
forget(struct imap_reader *r)
{
	r->len = 0;
	r->line_start = 0;
	r->n_ext = 0;
	r->lit_left = 0;
	r->lit_spool = false;
	r->lit_pending = false;
	if (r->cap > 4096) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
}

static void
out_tag(struct imap_reader *r, struct imap_reader_out *out)
{
	size_t n = imap_parse_tag_len(r->head, r->head_len);
	memset(&out->cmd, 0, sizeof(out->cmd));
	memcpy(out->cmd.tag, r->head, n);
	out->cmd.tag[n] = '\0';
	r->head_len = 0;
}

/*
 * trailing_literal - does a dropped line (its last bytes in tail) end
 * with a non-synchronizing literal announcement "{n+}"? Then its n bytes
 * follow and must be dropped too. The grammar no longer matters here.
 */
static bool
trailing_literal(struct imap_reader *r, uint64_t *size_r)
{
	const char *p = r->tail;
	size_t n = r->tail_len;
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (n < 4 || p[n - 1] != '}' || p[n - 2] != '+')
		return false;
	size_t end = n - 2, i = end;
	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9')
		i--;
	if (i == end || i == 0 || p[i - 1] != '{' || end - i > 10)
		return false;
	uint64_t v = 0;
	for (size_t k = i; k < end; k++)
		v = v * 10 + (uint64_t)(p[k] - '0');
	*size_r = v;
	return true;
}

static void
start_drop(struct imap_reader *r, bool refused)
{
	/* The line so far may hold the start of a literal announcement. */
	r->tail_len = 0;
	add_tail(r, r->buf + r->line_start, r->len - r->line_start);
	forget(r);
	r->dropping = true;
	r->drop_refused = refused;
}

/* line_end - a whole line is in the buffer: parse what there is. */
static enum imap_reader_event
line_end(struct imap_reader *r, struct imap_reader_out *out)
{
	struct imap_literal lit;
	const char *why;

	enum imap_parse_status st = imap_parse_command(
	    r->buf, r->len, r->ext, r->n_ext, r->lim, &out->cmd, &lit, &why);
	if (st == IMAP_PARSE_LITERAL) {
		imap_command_free(&out->cmd);
		r->lit = lit;
		r->lit_pending = true;
		out->lit = lit;
		out->lit_fits = lit.is_message ||
				(lit.size <= r->lim->max_literal &&
				 r->len + lit.size <= r->lim->max_command);
		return IMAP_READER_LITERAL;
	}
	out->bad = st == IMAP_PARSE_BAD;
	out->why = why;
	forget(r);
	r->head_len = 0;
	return IMAP_READER_COMMAND;
}

enum imap_reader_event
imap_reader_feed(struct imap_reader *r, const char *data, size_t len,
		 size_t *used_r, struct imap_reader_out *out)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (r->refused_now) {
		r->refused_now = false;
		out_tag(r, out);
		*used_r = 0;
		return IMAP_READER_REFUSED;
	}
	while (i < len && !r->lit_pending) {
		if (r->lit_left > 0) {
			size_t n = len - i;
			if (n > r->lit_left)
				n = (size_t)r->lit_left;
			r->lit_left -= n;
			const char *p = data + i;
			i += n;
			if (r->dropping)
				continue;
			if (!r->lit_spool) {
				add(r, p, n);
				if (r->lit_left == 0)
					r->line_start = r->len;
				continue;
			}
			if (r->lit_left == 0) {
				r->lit_spool = false;
				r->line_start = r->len;
			}
			out->data = p;
			out->len = n;
			*used_r = i;
			return IMAP_READER_SPOOL;
		}
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (data + i)) + 1 : len - i;
		if (r->line_start == 0 && !r->dropping)
			add_head(r, data + i, n);
		if (r->dropping) {
			add_tail(r, data + i, n);
			i += n;
			if (nl == NULL)
				continue;
			uint64_t size;
			if (trailing_literal(r, &size) && size > 0) {
				r->tail_len = 0;
				r->lit_left = size;
				continue;
			}
			bool refused = r->drop_refused;
			r->dropping = false;
			out_tag(r, out);
			*used_r = i;
			return refused ? IMAP_READER_REFUSED
				       : IMAP_READER_TOO_LONG;
		}
		if (r->len - r->line_start + n > r->lim->max_line + 2 ||
		    r->len + n > r->lim->max_command) {
			/* Too long: drop the whole command, then answer. */
			start_drop(r, false);
			continue;
		}
		add(r, data + i, n);
		i += n;
		if (nl == NULL)
			continue;
		enum imap_reader_event ev = line_end(r, out);
		*used_r = i;
		return ev;
	}
	*used_r = i;
	return IMAP_READER_MORE;
}

void
imap_reader_accept(struct imap_reader *r)
{
	if (!r->lit_pending)
		return;
	r->lit_pending = false;
	r->lit_left = r->lit.size;
	r->line_start = r->len;
	if (r->lit.is_message && r->n_ext < IMAP_EXT_MAX) {
		r->ext[r->n_ext++] = r->len;
		r->lit_spool = r->lit_left > 0;
	}
}

void
imap_reader_refuse(struct imap_reader *r)
{
	if (!r->lit_pending)
		return;
	r->lit_pending = false;
	if (r->lit.plus) {
		/* RFC 7888 §4: the client sends the bytes regardless; they
		 * and the rest of the command are read and dropped. */
		r->line_start = r->len;
		start_drop(r, true);
		r->lit_left = r->lit.size;
	} else {
		forget(r);
		r->refused_now = true;
	}
}
