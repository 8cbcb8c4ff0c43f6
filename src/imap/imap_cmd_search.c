/*
 * imap_cmd_search - SEARCH and UID SEARCH (RFC 3501 §6.4.4), every key,
 * CHARSET UTF-8; ESEARCH result options (RFC 4731), SAVE and "$"
 * (SEARCHRES, RFC 5182), MODSEQ (RFC 7162 §3.1.5), OLDER/YOUNGER (WITHIN,
 * RFC 5032).
 *
 * Keys on what the folder keeps in memory (flags, keywords, UIDs, sizes,
 * internal dates, MODSEQ) are evaluated on the loop at once. Keys on the
 * message — SENT* dates (from the cached parse), HEADER, FROM, TO, CC,
 * BCC, SUBJECT, BODY, TEXT — make the search a job of the folder on the
 * worker pool: messages not parsed yet are parsed (and cached) first,
 * then each message is read (only its header when only header keys ask)
 * and matched with the MIME engineer's decoders (RFC 2047, transfer
 * encodings, charsets) and case-insensitive matcher. Cheap keys are
 * tried before the message is read.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_folder.h"
#include "imap/imap_msg.h"
#include "imap/imap_msg_search.h"
#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "mime/mime_fold.h"
#include "mime/rfc5322_date.h"
#include "store/mailbox.h"
#include "util/xalloc.h"

/* A key with what evaluation needs prepared once. */
struct key {
	const struct imap_search *k;
	struct mime_needle *needle; /* text keys */
	int kw;			    /* KEYWORD: the folder's bit, or -1 */
	struct key *child, *next;
};

enum need {
	NEED_NONE = 0,
	NEED_PARSE = 1, /* the cached MIME parse */
	NEED_HEADER = 2,
	NEED_BODY = 3, /* the whole message */
};

struct search_op {
	const struct imap_search_args *a;
	struct key *root;
	enum need need;
	uint32_t *seqs; /* the view's messages, 1..exists */
	size_t n;
	size_t *idx; /* their indices in the folder */
	bool *hit;
	time_t now;
	/* What matching needs of the view, copied: a worker must not
	 * touch the session's view (it may be dropped meanwhile). */
	uint32_t exists, last_uid, recent_lo, recent_hi;
	uint32_t *saved;
	size_t n_saved;
	bool uses_modseq;
};

static void
key_free(struct key *k)
{
	while (k != NULL) {
		struct key *next = k->next;
		key_free(k->child);
		mime_needle_free(&k->needle);
		free(k);
		k = next;
	}
}

static void
search_free(void *arg)
{
	struct search_op *op = arg;
	key_free(op->root);
	free(op->saved);
	free(op->seqs);
	free(op->idx);
	free(op->hit);
	free(op);
}

/* prepare - the key tree with needles; what the search must read. */
static struct key *
prepare(struct search_op *op, const struct folder *f,
	const struct imap_search *k)
{
	struct key *head = NULL, **tail = &head;
	for (; k != NULL; k = k->next) {
		struct key *x = xcalloc(1, sizeof(*x));
		x->k = k;
		x->kw = -1;
		switch (k->key) {
		case IMAP_SK_AND:
		case IMAP_SK_OR:
		case IMAP_SK_NOT:
			x->child = prepare(op, f, k->child);
			if (k->key == IMAP_SK_NOT && x->child != NULL) {
				/* NOT has one operand. */
				key_free(x->child->next);
				x->child->next = NULL;
			}
			break;
		case IMAP_SK_KEYWORD:
		case IMAP_SK_UNKEYWORD:
			x->kw = folder_keyword(f, k->str.p);
			break;
		case IMAP_SK_BCC:
		case IMAP_SK_CC:
		case IMAP_SK_FROM:
		case IMAP_SK_SUBJECT:
		case IMAP_SK_TO:
		case IMAP_SK_HEADER:
			x->needle = mime_needle_new(k->str.p, k->str.len);
			if (op->need < NEED_HEADER)
				op->need = NEED_HEADER;
			break;
		case IMAP_SK_BODY:
		case IMAP_SK_TEXT:
			x->needle = mime_needle_new(k->str.p, k->str.len);
			op->need = NEED_BODY;
			break;
		case IMAP_SK_SENTBEFORE:
		case IMAP_SK_SENTON:
		case IMAP_SK_SENTSINCE:
			if (op->need < NEED_PARSE)
				op->need = NEED_PARSE;
			break;
		case IMAP_SK_MODSEQ:
			op->uses_modseq = true;
			break;
		default:
			break;
		}
		*tail = x;
		tail = &x->next;
	}
	return head;
}

/* The message being matched: what was read of it, lazily. */
struct msgctx {
	const struct folder *f;
	const struct folder_msg *m;
	uint32_t seq;
	const struct search_op *op;
	time_t now;
	enum need need;
	struct imap_msg *im;
	bool im_tried;
	const char *bytes;
	size_t len;
	void *map;
	size_t map_len;
	char *hdr;
	bool read_tried;
};

static int32_t
local_day(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	localtime_r(&tt, &tm);
	return imap_day_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static const struct imap_msg *
ctx_msg(struct msgctx *c)
{
	if (!c->im_tried) {
		c->im_tried = true;
		c->im = folder_cache_get(c->f, c->m);
		if (c->im == NULL)
			c->im = folder_parse(c->f, c->m);
	}
	return c->im;
}

/* ctx_bytes - the message (or its header, when that is all the search
 * needs) in memory. */
static bool
ctx_bytes(struct msgctx *c)
{
	if (c->read_tried)
		return c->bytes != NULL;
	c->read_tried = true;
	const struct imap_msg *im = ctx_msg(c);
	if (im == NULL)
		return false;
	char p[4096];
	folder_msg_path(c->f, c->m, p, sizeof(p));
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char base[512];
		snprintf(base, sizeof(base), "%.*s",
			 (int)strcspn(c->m->name, ":"), c->m->name);
		if (mailbox_find_file(c->f->path, base, p, sizeof(p)) == 0)
			fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return false;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return false;
	}
	if (c->need == NEED_HEADER) {
		/* Header keys only: the header block is enough. */
		size_t n = (size_t)im->parts[0].hdr_len;
		if (n > (size_t)st.st_size)
			n = (size_t)st.st_size;
		c->hdr = xmalloc(n ? n : 1);
		ssize_t r = pread(fd, c->hdr, n, 0);
		close(fd);
		if (r < 0)
			return false;
		c->bytes = c->hdr;
		c->len = (size_t)r;
		return true;
	}
	c->map_len = (size_t)st.st_size;
	c->map = mmap(NULL, c->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return false;
	}
	c->bytes = c->map;
	c->len = c->map_len;
	return true;
}

static void
ctx_done(struct msgctx *c)
{
	imap_msg_free(&c->im);
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	free(c->hdr);
	memset(c, 0, sizeof(*c));
}

static bool match(struct msgctx *c, const struct key *x);

static bool
recent(const struct msgctx *c)
{
	return c->m->uid > c->op->recent_lo && c->m->uid <= c->op->recent_hi;
}

static bool
match_all(struct msgctx *c, const struct key *x)
{
	for (; x != NULL; x = x->next)
		if (!match(c, x))
			return false;
	return true;
}

static bool
header_key(struct msgctx *c, const struct key *x, const char *field)
{
	if (!ctx_bytes(c))
		return false;
	return imap_msg_search_header(c->bytes, c->len, c->im, field,
				      x->needle);
}

static bool
match(struct msgctx *c, const struct key *x)
{
	const struct imap_search *k = x->k;
	const struct folder_msg *m = c->m;
	switch (k->key) {
	case IMAP_SK_ALL:
		return true;
	case IMAP_SK_AND:
		return match_all(c, x->child);
	case IMAP_SK_OR:
		return match(c, x->child) ||
		       (x->child->next != NULL && match(c, x->child->next));
	case IMAP_SK_NOT:
		return !match(c, x->child);
	case IMAP_SK_SEQSET:
	case IMAP_SK_UID:
		if (k->set.saved) {
			for (size_t i = 0; i < c->op->n_saved; i++)
				if (c->op->saved[i] == m->uid)
					return true;
			return false;
		}
		if (k->key == IMAP_SK_SEQSET)
			return imap_seqset_contains(&k->set, c->seq,
						    c->op->exists);
		return imap_seqset_contains(&k->set, m->uid, c->op->last_uid);
	case IMAP_SK_FLAG:
		if (k->flag == IMAP_FLAG_RECENT)
			return recent(c);
		return (m->flags & k->flag) != 0;
	case IMAP_SK_UNFLAG:
		if (k->flag == IMAP_FLAG_RECENT)
			return !recent(c);
		return (m->flags & k->flag) == 0;
	case IMAP_SK_NEW:
		return recent(c) && !(m->flags & IMAP_FLAG_SEEN);
	case IMAP_SK_OLD:
		return !recent(c);
	case IMAP_SK_KEYWORD:
		return x->kw >= 0 && (m->kw & (uint64_t)1 << x->kw);
	case IMAP_SK_UNKEYWORD:
		return x->kw < 0 || !(m->kw & (uint64_t)1 << x->kw);
	case IMAP_SK_LARGER:
		return m->size > k->num;
	case IMAP_SK_SMALLER:
		return m->size < k->num;
	case IMAP_SK_MODSEQ:
		return m->modseq >= k->modseq;
	case IMAP_SK_BEFORE:
		return local_day(m->date) < k->day;
	case IMAP_SK_ON:
		return local_day(m->date) == k->day;
	case IMAP_SK_SINCE:
		return local_day(m->date) >= k->day;
	case IMAP_SK_OLDER:
		return c->now - m->date >= (int64_t)k->num;
	case IMAP_SK_YOUNGER:
		return c->now - m->date < (int64_t)k->num;
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE: {
		/* The Date: header's own calendar day; without one, the
		 * internal date (as Dovecot does). */
		const struct imap_msg *im = ctx_msg(c);
		long day = im != NULL && im->has_sent
			       ? rfc5322_date_day(im->sent, im->sent_tz)
			       : local_day(m->date);
		if (k->key == IMAP_SK_SENTBEFORE)
			return day < k->day;
		if (k->key == IMAP_SK_SENTON)
			return day == k->day;
		return day >= k->day;
	}
	case IMAP_SK_BCC:
		return header_key(c, x, "Bcc");
	case IMAP_SK_CC:
		return header_key(c, x, "Cc");
	case IMAP_SK_FROM:
		return header_key(c, x, "From");
	case IMAP_SK_SUBJECT:
		return header_key(c, x, "Subject");
	case IMAP_SK_TO:
		return header_key(c, x, "To");
	case IMAP_SK_HEADER:
		return header_key(c, x, k->field.p);
	case IMAP_SK_BODY:
		return ctx_bytes(c) &&
		       imap_msg_search_body(c->bytes, c->len, c->im, x->needle);
	case IMAP_SK_TEXT:
		return ctx_bytes(c) &&
		       imap_msg_search_text(c->bytes, c->len, c->im, x->needle);
	}
	return false;
}

/* run - evaluate over every candidate (loop or worker). */
static void
run(struct search_op *op, const struct folder *f)
{
	for (size_t i = 0; i < op->n; i++) {
		struct msgctx c = {
		    .f = f,
		    .m = &f->msgs[op->idx[i]],
		    .seq = op->seqs[i],
		    .op = op,
		    .now = op->now,
		    .need = op->need,
		};
		op->hit[i] = c.m->expunged == 0 && match(&c, op->root);
		ctx_done(&c);
	}
}

/* --- the response --- */

static void
respond(struct imap_session *s, struct search_op *op)
{
	const struct imap_search_args *a = op->a;
	const struct folder *f = s->view->fo->f;
	bool uid = s->cmd->uid;
	uint32_t *res = xmalloc((op->n ? op->n : 1) * sizeof(*res));
	uint32_t *res_uids = xmalloc((op->n ? op->n : 1) * sizeof(*res));
	size_t n = 0;
	uint64_t maxmod = 0;
	for (size_t i = 0; i < op->n; i++) {
		if (!op->hit[i])
			continue;
		const struct folder_msg *m = &f->msgs[op->idx[i]];
		res[n] = uid ? m->uid : op->seqs[i];
		res_uids[n++] = m->uid;
		if (m->modseq > maxmod)
			maxmod = m->modseq;
	}
	unsigned ret = a->ret;
	if (a->esearch && ret == 0)
		ret = IMAP_SEARCH_RET_ALL; /* RFC 4731 §3.1: () is ALL */
	if (ret & IMAP_SEARCH_RET_SAVE) {
		/* RFC 5182: the result, as UIDs (they survive expunges). */
		free(s->saved);
		s->saved = res_uids;
		s->n_saved = n;
		s->saved_valid = true;
		res_uids = NULL;
	}
	struct evbuffer *out = imap_out(s);
	if (!a->esearch) {
		evbuffer_add(out, "* SEARCH", 8);
		for (size_t i = 0; i < n; i++)
			evbuffer_add_printf(out, " %" PRIu32, res[i]);
		if (op->uses_modseq && n > 0)
			evbuffer_add_printf(out, " (MODSEQ %" PRIu64 ")",
					    maxmod);
		evbuffer_add(out, "\r\n", 2);
	} else if (ret & ~IMAP_SEARCH_RET_SAVE) {
		/* RFC 4731 §3.1: ESEARCH (TAG "t") [UID] MIN x MAX y ... */
		struct strbuf sb = {0};
		strbuf_adds(&sb, "* ESEARCH (TAG \"");
		strbuf_adds(&sb, s->cmd->tag);
		strbuf_adds(&sb, "\")");
		if (uid)
			strbuf_adds(&sb, " UID");
		char tmp[64];
		if ((ret & IMAP_SEARCH_RET_MIN) && n > 0) {
			snprintf(tmp, sizeof(tmp), " MIN %" PRIu32, res[0]);
			strbuf_adds(&sb, tmp);
		}
		if ((ret & IMAP_SEARCH_RET_MAX) && n > 0) {
			snprintf(tmp, sizeof(tmp), " MAX %" PRIu32, res[n - 1]);
			strbuf_adds(&sb, tmp);
		}
		if (ret & IMAP_SEARCH_RET_COUNT) {
			snprintf(tmp, sizeof(tmp), " COUNT %zu", n);
			strbuf_adds(&sb, tmp);
		}
		if ((ret & IMAP_SEARCH_RET_ALL) && n > 0) {
			strbuf_adds(&sb, " ALL ");
			imap_view_uidset(res, n, &sb);
		}
		if (op->uses_modseq && n > 0) {
			snprintf(tmp, sizeof(tmp), " MODSEQ %" PRIu64, maxmod);
			strbuf_adds(&sb, tmp);
		}
		strbuf_adds(&sb, "\r\n");
		evbuffer_add(out, sb.p, sb.len);
		free(sb.p);
	}
	free(res);
	free(res_uids);
}

static void
finish(struct imap_session *s, struct search_op *op)
{
	struct imap_reply r = {0};
	respond(s, op);
	search_free(op);
	s->op = NULL;
	s->op_free = NULL;
	imap_reply_set(&r, IMAP_OK, NULL, "%sSEARCH completed",
		       s->cmd->uid ? "UID " : "");
	imap_complete(s, &r);
}

static void
search_work(struct imap_job *j, void *arg)
{
	run(arg, j->fo->f);
}

static void
search_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	(void)j;
	finish(s, arg);
	imap_process(s);
}

static void
parse_work(struct imap_job *j, void *arg)
{
	struct search_op *op = arg;
	const struct folder *f = j->fo->f;
	uint32_t *uids = xmalloc((op->n ? op->n : 1) * sizeof(*uids));
	size_t n = 0;
	for (size_t i = 0; i < op->n; i++) {
		const struct folder_msg *m = &f->msgs[op->idx[i]];
		if (m->cache_len == 0 && m->expunged == 0)
			uids[n++] = m->uid;
	}
	if (n > 0)
		j->changes = folder_cache_fill(f, uids, n);
	free(uids);
}

static void
parsed_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct search_op *op = arg;
	(void)j;
	/* The parse may have moved nothing, but indices are re-read: a
	 * job in between may have dropped tombstones. */
	const struct folder *f = s->view->fo->f;
	for (size_t i = 0; i < op->n; i++) {
		const struct folder_msg *m =
		    imap_view_msg(s->view, op->seqs[i]);
		op->idx[i] = (size_t)(m - f->msgs);
	}
	imap_async_folder(s, s->view->fo, search_work, search_done, op, NULL);
}

enum imap_status
imap_cmd_search(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	const struct imap_search_args *a = &c->u.search;
	struct imap_view *v = s->view;
	const struct folder *f = v->fo->f;

	/* RFC 3501 §6.4.4: US-ASCII must be supported; UTF-8 is too (the
	 * needles are UTF-8 as given). */
	if (a->charset.len > 0 && strcasecmp(a->charset.p, "UTF-8") != 0 &&
	    strcasecmp(a->charset.p, "US-ASCII") != 0) {
		imap_reply_set(r, IMAP_NO, "BADCHARSET (US-ASCII UTF-8)",
			       "Unsupported charset");
		return IMAP_NO;
	}
	struct search_op *op = xcalloc(1, sizeof(*op));
	op->a = a;
	op->now = time(NULL);
	op->exists = v->exists;
	const struct folder_msg *last = imap_view_msg(v, v->exists);
	op->last_uid = last ? last->uid : 0;
	op->recent_lo = v->recent_lo;
	op->recent_hi = v->recent_hi;
	if (s->n_saved > 0) {
		op->saved = xmalloc(s->n_saved * sizeof(uint32_t));
		memcpy(op->saved, s->saved, s->n_saved * sizeof(uint32_t));
		op->n_saved = s->n_saved;
	}
	op->root = prepare(op, f, a->root);
	op->n = v->exists;
	op->seqs = xmalloc((op->n ? op->n : 1) * sizeof(*op->seqs));
	op->idx = xmalloc((op->n ? op->n : 1) * sizeof(*op->idx));
	op->hit = xcalloc(op->n ? op->n : 1, sizeof(*op->hit));
	for (uint32_t seq = 1; seq <= v->exists; seq++) {
		const struct folder_msg *m = imap_view_msg(v, seq);
		op->seqs[seq - 1] = seq;
		op->idx[seq - 1] = (size_t)(m - f->msgs);
	}
	if (op->uses_modseq)
		s->condstore = true; /* RFC 7162 §3.1: CONDSTORE enabling */
	if (op->need == NEED_NONE) {
		run(op, f);
		respond(s, op);
		search_free(op);
		imap_reply_set(r, IMAP_OK, NULL, "%sSEARCH completed",
			       c->uid ? "UID " : "");
		return IMAP_OK;
	}
	s->op = op;
	s->op_free = search_free;
	imap_async_folder(s, v->fo, parse_work, parsed_done, op, NULL);
	return IMAP_ASYNC;
}
