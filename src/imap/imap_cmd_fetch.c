/*
 * imap_cmd_fetch - FETCH and UID FETCH (RFC 3501 §6.4.5), with MODSEQ,
 * CHANGEDSINCE and VANISHED (RFC 7162).
 *
 * Everything but message bytes comes from memory: flags, keywords,
 * MODSEQ, size and internal date from the shared folder, ENVELOPE, BODY
 * and BODYSTRUCTURE from the cached MIME parse (the MIME engineer's
 * imap_msg, made once per message and kept in petrel-cache), so they
 * never read a message. Messages not parsed yet are parsed first, on the
 * worker pool, a batch at a time. Message bytes are handed to the output
 * as file segments (evbuffer_add_file: no copy through our buffers), and
 * the response pauses while the output is full, so FETCH 1:* BODY[] of a
 * large folder streams in bounded memory.
 *
 * BODY[...] without PEEK, RFC822 and RFC822.TEXT set \Seen first (one
 * STORE for the whole command, unless EXAMINEd), and the FETCH responses
 * of the messages it changed include FLAGS.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_folder.h"
#include "imap/imap_msg.h"
#include "imap/imap_msg_section.h"
#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "store/mailbox.h"
#include "util/log.h"
#include "util/xalloc.h"

#define FETCH_PARSE_BATCH 500 /* messages parsed per worker job */

struct fetch_op {
	const struct imap_fetch_args *a; /* in s->cmd */
	uint32_t *seqs;
	size_t n, next;
	bool need_cache;  /* an item needs the MIME parse */
	bool set_seen;	  /* an item sets \Seen */
	bool want_flags;  /* FLAGS asked for */
	bool want_modseq; /* MODSEQ in every response */
	bool seen_done;	  /* the implicit \Seen is stored */
	uint32_t *seen;	  /* UIDs it changed: their FLAGS are sent */
	size_t n_seen;
	size_t parsed_upto; /* seqs[0..parsed_upto) are in the cache */
	bool expunged;	    /* a message was gone: NO [EXPUNGEISSUED] */
	uint32_t sid;	    /* the session's tag for its changes */
	struct strbuf sb;
};

static void fetch_run(struct imap_session *s);

static void
fetch_free(void *arg)
{
	struct fetch_op *op = arg;
	free(op->seqs);
	free(op->seen);
	free(op->sb.p);
	free(op);
}

/* internaldate - "17-Jul-1996 02:44:25 -0700", in the server's zone. */
static void
internaldate(struct strbuf *sb, int64_t t)
{
	char buf[64];
	struct tm tm;
	time_t tt = (time_t)t;
	localtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "\"%d-%b-%Y %H:%M:%S %z\"", &tm);
	strbuf_adds(sb, buf);
}

/* section_name - how the item is named in the response (RFC 3501 §7.4.2:
 * BODY[section]<origin>, PEEK not repeated, header fields as asked). */
static void
section_name(struct strbuf *sb, const struct imap_fetch_att *att)
{
	static const char *const texts[] = {
	    "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"};
	const struct imap_section *sec = att->sec;
	strbuf_adds(sb, "BODY[");
	for (size_t k = 0; k < sec->nparts; k++)
		strbuf_addf(sb, "%s%" PRIu32, k ? "." : "", sec->part[k]);
	if (sec->text != IMAP_SECTION_BODY)
		strbuf_addf(sb, "%s%s", sec->nparts ? "." : "",
			    texts[sec->text]);
	if (sec->nfields > 0) {
		strbuf_adds(sb, " (");
		for (size_t k = 0; k < sec->nfields; k++) {
			if (k)
				strbuf_adds(sb, " ");
			/* Field names are atoms or quoted strings. */
			strbuf_add(sb, "\"", 1);
			strbuf_add(sb, sec->field[k].p, sec->field[k].len);
			strbuf_add(sb, "\"", 1);
		}
		strbuf_adds(sb, ")");
	}
	strbuf_adds(sb, "]");
	if (att->partial)
		strbuf_addf(sb, "<%" PRIu32 ">", att->offset);
}

/* out_sb - move what is built so far to the output. */
static void
out_sb(struct imap_session *s, struct fetch_op *op)
{
	if (op->sb.len > 0)
		evbuffer_add(imap_out(s), op->sb.p, op->sb.len);
	op->sb.len = 0;
}

/* open_msg - the message's file (found by its base name if renamed). */
static int
open_msg(const struct folder *f, const struct folder_msg *m)
{
	char p[PATH_MAX];
	folder_msg_path(f, m, p, sizeof(p));
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		char base[512];
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(m->name, ":"),
			 m->name);
		if (mailbox_find_file(f->path, base, p, sizeof(p)) == 0)
			fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	return fd;
}

/* literal_file - " {n}" CRLF and bytes [off, off+len) of the file. */
static void
literal_file(struct imap_session *s, struct fetch_op *op, int fd, uint64_t off,
	     uint64_t len)
{
	strbuf_addf(&op->sb, "{%" PRIu64 "}\r\n", len);
	out_sb(s, op);
	if (len > 0) {
		int dup_fd = dup(fd);
		if (dup_fd < 0 ||
		    evbuffer_add_file(imap_out(s), dup_fd, (ev_off_t)off,
				      (ev_off_t)len) < 0) {
			/* Cannot happen short of running out of descriptors:
			 * the literal must still have its length. */
			if (dup_fd >= 0)
				close(dup_fd);
			char zero[4096] = {0};
			for (uint64_t left = len; left > 0;) {
				size_t n = left > sizeof(zero) ? sizeof(zero)
							       : (size_t)left;
				evbuffer_add(imap_out(s), zero, n);
				left -= n;
			}
			log_err("imap: cannot send a message: %s",
				strerror(errno));
		}
	}
}

/* literal_mem - " {n}" CRLF and bytes, from memory. */
static void
literal_mem(struct fetch_op *op, const char *p, size_t len)
{
	strbuf_addf(&op->sb, "{%zu}\r\n", len);
	strbuf_add(&op->sb, p, len);
}

/* read_range - bytes [off, off+len) of the file into a new buffer. */
static char *
read_range(int fd, uint64_t off, uint64_t len)
{
	char *buf = xmalloc(len ? (size_t)len : 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, (size_t)(len - got),
				  (off_t)(off + got));
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < len)
		memset(buf + got, 0, (size_t)(len - got));
	return buf;
}

/*
 * section - one BODY[...] item of message m (file fd, parse im): the
 * range it names, <partial> applied to the octets as sent (RFC 3501
 * §6.4.5), HEADER.FIELDS generated by the MIME engineer's filter.
 */
static void
section(struct imap_session *s, struct fetch_op *op,
	const struct imap_fetch_att *att, int fd, const struct imap_msg *im,
	uint64_t size)
{
	struct imap_section_range rg;
	if (im != NULL) {
		imap_section_resolve(im, att->sec, &rg);
	} else {
		/* BODY[] without a parse: the file as it is. */
		rg.kind = IMAP_SECTION_RANGE;
		rg.off = 0;
		rg.len = rg.vlen = size;
	}
	uint64_t from = att->partial ? att->offset : 0;
	uint64_t max = att->partial ? att->count : UINT64_MAX;
	if (rg.kind == IMAP_SECTION_EMPTY) {
		strbuf_adds(&op->sb, "\"\"");
		return;
	}
	if (rg.kind == IMAP_SECTION_RANGE && rg.vlen == rg.len) {
		uint64_t n = rg.len > from ? rg.len - from : 0;
		if (n > max)
			n = max;
		literal_file(s, op, fd, rg.off + (n ? from : 0), n);
		return;
	}
	char *raw = read_range(fd, rg.off, rg.len);
	struct strbuf gen = {0};
	if (rg.kind == IMAP_SECTION_FILTER) {
		imap_section_filter(raw, (size_t)rg.len, att->sec, &gen);
		size_t n = gen.len > from ? gen.len - (size_t)from : 0;
		if (n > max)
			n = (size_t)max;
		literal_mem(op, gen.p ? gen.p + (n ? from : 0) : "", n);
	} else {
		/* Bare LFs: sent as CRLF, and sliced as sent. */
		imap_section_copy_crlf(raw, (size_t)rg.len, from, max, &gen);
		literal_mem(op, gen.p ? gen.p : "", gen.len);
	}
	free(gen.p);
	free(raw);
}

static bool
in_seen(const struct fetch_op *op, uint32_t uid)
{
	for (size_t i = 0; i < op->n_seen; i++)
		if (op->seen[i] == uid)
			return true;
	return false;
}

/* one - the FETCH response of message seq. */
static void
one(struct imap_session *s, struct fetch_op *op, uint32_t seq)
{
	struct imap_view *v = s->view;
	const struct folder *f = v->fo->f;
	const struct folder_msg *m = imap_view_msg(v, seq);
	const struct imap_fetch_args *a = op->a;
	struct imap_msg *im = NULL;
	int fd = -1;
	bool first = true;

	if (a->changedsince_set && m->modseq <= a->changedsince)
		return;
	if (op->need_cache) {
		im = folder_cache_get(f, m);
		/* An entry that does not decode (damaged): parse the file
		 * now rather than leave the items out. */
		if (im == NULL && m->expunged == 0)
			im = folder_parse(f, m);
	}
	strbuf_addf(&op->sb, "* %" PRIu32 " FETCH (", seq);
#define SEP() (first ? (first = false, "") : " ")
	bool uid_done = false, flags_done = false, modseq_done = false;
	if (s->cmd->uid) {
		/* RFC 3501 §6.4.8: UID FETCH always includes UID. */
		strbuf_addf(&op->sb, "UID %" PRIu32, m->uid);
		first = false;
		uid_done = true;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_fetch_att *att = &a->att[i];
		switch (att->item) {
		case IMAP_FETCH_UID:
			if (!uid_done)
				strbuf_addf(&op->sb, "%sUID %" PRIu32, SEP(),
					    m->uid);
			uid_done = true;
			break;
		case IMAP_FETCH_FLAGS:
			if (flags_done)
				break;
			strbuf_addf(&op->sb, "%sFLAGS ", SEP());
			imap_view_write_flags(v, m, &op->sb);
			flags_done = true;
			break;
		case IMAP_FETCH_MODSEQ:
			if (!modseq_done)
				strbuf_addf(&op->sb, "%sMODSEQ (%" PRIu64 ")",
					    SEP(), m->modseq);
			modseq_done = true;
			break;
		case IMAP_FETCH_INTERNALDATE:
			strbuf_addf(&op->sb, "%sINTERNALDATE ", SEP());
			internaldate(&op->sb, m->date);
			break;
		case IMAP_FETCH_RFC822_SIZE:
			strbuf_addf(&op->sb, "%sRFC822.SIZE %" PRIu64, SEP(),
				    im && im->vsize > m->size ? im->vsize
							      : m->size);
			break;
		case IMAP_FETCH_ENVELOPE:
		case IMAP_FETCH_BODY:
		case IMAP_FETCH_BODYSTRUCTURE:
			if (im == NULL) {
				op->expunged = true;
				break;
			}
			if (att->item == IMAP_FETCH_ENVELOPE) {
				strbuf_addf(&op->sb, "%sENVELOPE ", SEP());
				strbuf_add(&op->sb, im->envelope,
					   im->envelope_len);
			} else if (att->item == IMAP_FETCH_BODY) {
				strbuf_addf(&op->sb, "%sBODY ", SEP());
				strbuf_add(&op->sb, im->body, im->body_len);
			} else {
				strbuf_addf(&op->sb, "%sBODYSTRUCTURE ", SEP());
				strbuf_add(&op->sb, im->bodystructure,
					   im->bodystructure_len);
			}
			break;
		case IMAP_FETCH_RFC822:
		case IMAP_FETCH_RFC822_HEADER:
		case IMAP_FETCH_RFC822_TEXT:
		case IMAP_FETCH_SECTION: {
			if (fd < 0)
				fd = open_msg(f, m);
			bool whole = att->item == IMAP_FETCH_RFC822 ||
				     (att->item == IMAP_FETCH_SECTION &&
				      att->sec->nparts == 0 &&
				      att->sec->text == IMAP_SECTION_BODY);
			if (fd < 0 || (im == NULL && !whole)) {
				/* Expunged meanwhile: the item is left out
				 * and the command says so (RFC 5530). */
				op->expunged = true;
				break;
			}
			struct imap_fetch_att tmp = *att;
			struct imap_section sec;
			if (att->item != IMAP_FETCH_SECTION) {
				memset(&sec, 0, sizeof(sec));
				sec.text =
				    att->item == IMAP_FETCH_RFC822
					? IMAP_SECTION_BODY
				    : att->item == IMAP_FETCH_RFC822_HEADER
					? IMAP_SECTION_HEADER
					: IMAP_SECTION_TEXT;
				tmp.sec = &sec;
				tmp.partial = false;
				strbuf_addf(
				    &op->sb, "%s%s ", SEP(),
				    att->item == IMAP_FETCH_RFC822 ? "RFC822"
				    : att->item == IMAP_FETCH_RFC822_HEADER
					? "RFC822.HEADER"
					: "RFC822.TEXT");
			} else {
				strbuf_adds(&op->sb, SEP());
				section_name(&op->sb, att);
				strbuf_adds(&op->sb, " ");
			}
			section(s, op, &tmp, fd, im, m->size);
			break;
		}
		}
	}
	/* FLAGS of messages this FETCH marked \Seen (RFC 3501 §6.4.5), and
	 * MODSEQ with CHANGEDSINCE or once CONDSTORE is on (RFC 7162). */
	if (!flags_done && in_seen(op, m->uid)) {
		strbuf_addf(&op->sb, "%sFLAGS ", SEP());
		imap_view_write_flags(v, m, &op->sb);
		flags_done = true;
	}
	if (!modseq_done && (op->want_modseq || (flags_done && s->condstore)))
		strbuf_addf(&op->sb, "%sMODSEQ (%" PRIu64 ")", SEP(),
			    m->modseq);
#undef SEP
	strbuf_adds(&op->sb, ")\r\n");
	out_sb(s, op);
	if (fd >= 0)
		close(fd);
	imap_msg_free(&im);
}

/* --- the steps --- */

static void
finish(struct imap_session *s, struct fetch_op *op)
{
	struct imap_reply r = {0};
	if (op->expunged)
		imap_reply_set(&r, IMAP_NO, "EXPUNGEISSUED",
			       "Some messages were expunged meanwhile");
	else
		imap_reply_set(&r, IMAP_OK, NULL, "%sFETCH completed",
			       s->cmd->uid ? "UID " : "");
	imap_finish(s, &r);
}

struct parse_batch {
	uint32_t *uids;
	size_t n;
};

static void
cache_work(struct imap_job *j, void *arg)
{
	struct parse_batch *b = arg;
	j->changes = folder_cache_fill(j->fo->f, b->uids, b->n);
}

static void
batch_free(void *arg)
{
	struct parse_batch *b = arg;
	free(b->uids);
	free(b);
}

static void
cache_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	(void)j;
	batch_free(arg);
	fetch_run(s);
}

/*
 * need_parse - start parsing the next batch of messages without a cached
 * parse, from seqs[from]; true if a job was started.
 */
static bool
need_parse(struct imap_session *s, struct fetch_op *op)
{
	struct imap_view *v = s->view;
	if (!op->need_cache || op->parsed_upto > op->next)
		return false;
	struct parse_batch *b = NULL;
	size_t i = op->next;
	for (; i < op->n; i++) {
		const struct folder_msg *m = imap_view_msg(v, op->seqs[i]);
		if (m->cache_len > 0 || m->expunged != 0 ||
		    (op->a->changedsince_set &&
		     m->modseq <= op->a->changedsince))
			continue;
		if (b == NULL) {
			b = xcalloc(1, sizeof(*b));
			b->uids = xmalloc(FETCH_PARSE_BATCH * sizeof(uint32_t));
		}
		b->uids[b->n++] = m->uid;
		if (b->n == FETCH_PARSE_BATCH)
			break;
	}
	op->parsed_upto = i < op->n ? i + 1 : op->n;
	if (b == NULL)
		return false;
	imap_async_folder(s, v->fo, cache_work, cache_done, b, batch_free);
	return true;
}

static void
fetch_run(struct imap_session *s)
{
	struct fetch_op *op = s->op;
	s->op_resume = NULL;
	while (op->next < op->n) {
		if (imap_output_full(s)) {
			/* The write callback comes back here. */
			s->op_resume = fetch_run;
			return;
		}
		if (need_parse(s, op))
			return;
		one(s, op, op->seqs[op->next++]);
	}
	finish(s, op);
}

static void
seen_work(struct imap_job *j, void *arg)
{
	struct fetch_op *op = arg;
	/* Tagged with this session: its FETCH responses carry the flags,
	 * its next update need not repeat them. */
	j->changes = folder_store(j->fo->f, op->seen, op->n_seen, '+',
				  FOLDER_SEEN, NULL, 0, UINT64_MAX, op->sid);
}

static void
seen_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	(void)j;
	(void)arg;
	fetch_run(s);
}

static void
vanished_earlier(struct imap_session *s, const struct imap_fetch_args *a)
{
	/* RFC 7162 §3.2.6: UID FETCH (CHANGEDSINCE m VANISHED): the UIDs
	 * of the set expunged since m, as ranges intersected with it. */
	const struct folder *f = s->view->fo->f;
	struct strbuf sb = {0};
	uint32_t max = f->uidnext > 0 ? f->uidnext - 1 : 0;
	for (size_t i = 0; i < f->n_van; i++) {
		if (f->van[i].modseq <= a->changedsince)
			continue;
		for (size_t k = 0; k < a->set.n; k++) {
			uint32_t lo = a->set.r[k].lo ? a->set.r[k].lo : max;
			uint32_t hi = a->set.r[k].hi ? a->set.r[k].hi : max;
			if (lo > hi) {
				uint32_t t = lo;
				lo = hi;
				hi = t;
			}
			if (lo < f->van[i].lo)
				lo = f->van[i].lo;
			if (hi > f->van[i].hi)
				hi = f->van[i].hi;
			if (lo > hi)
				continue;
			if (sb.len > 0)
				strbuf_add(&sb, ",", 1);
			if (hi == lo)
				strbuf_addf(&sb, "%" PRIu32, lo);
			else
				strbuf_addf(&sb, "%" PRIu32 ":%" PRIu32, lo,
					    hi);
		}
	}
	if (sb.len > 0)
		imap_untagged(s, "VANISHED (EARLIER) %s", sb.p);
	free(sb.p);
}

enum imap_status
imap_cmd_fetch(struct imap_session *s, const struct imap_command *c,
	       struct imap_reply *r)
{
	const struct imap_fetch_args *a = &c->u.fetch;
	struct imap_view *v = s->view;
	if (a->vanished && !s->qresync) {
		imap_reply_set(r, IMAP_BAD, NULL, "VANISHED needs QRESYNC");
		return IMAP_BAD;
	}
	struct fetch_op *op = xcalloc(1, sizeof(*op));
	op->a = a;
	op->sid = s->id;
	if (imap_view_resolve(v, &a->set, c->uid, s->saved, s->n_saved,
			      &op->seqs, &op->n) < 0) {
		fetch_free(op);
		imap_reply_set(r, IMAP_BAD, NULL,
			       "Invalid message sequence set");
		return IMAP_BAD;
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct imap_fetch_att *att = &a->att[i];
		switch (att->item) {
		case IMAP_FETCH_ENVELOPE:
		case IMAP_FETCH_BODY:
		case IMAP_FETCH_BODYSTRUCTURE:
		case IMAP_FETCH_RFC822_HEADER:
			op->need_cache = true;
			break;
		case IMAP_FETCH_RFC822_TEXT:
			op->need_cache = op->set_seen = true;
			break;
		case IMAP_FETCH_RFC822:
			op->set_seen = true;
			break;
		case IMAP_FETCH_SECTION:
			if (att->sec->nparts > 0 ||
			    att->sec->text != IMAP_SECTION_BODY)
				op->need_cache = true;
			op->set_seen |= !att->peek;
			break;
		case IMAP_FETCH_FLAGS:
			op->want_flags = true;
			break;
		default:
			break;
		}
	}
	op->want_modseq = a->changedsince_set;
	if (a->changedsince_set)
		s->condstore = true; /* RFC 7162 §3.1: CONDSTORE enabling */
	s->op = op;
	s->op_free = fetch_free;
	if (a->vanished)
		vanished_earlier(s, a);
	if (op->set_seen && !v->readonly) {
		op->seen = xmalloc((op->n ? op->n : 1) * sizeof(uint32_t));
		for (size_t i = 0; i < op->n; i++) {
			const struct folder_msg *m =
			    imap_view_msg(v, op->seqs[i]);
			if (!(m->flags & FOLDER_SEEN) && m->expunged == 0 &&
			    (!a->changedsince_set ||
			     m->modseq > a->changedsince))
				op->seen[op->n_seen++] = m->uid;
		}
		if (op->n_seen > 0) {
			imap_async_folder(s, v->fo, seen_work, seen_done, op,
					  NULL);
			return IMAP_ASYNC;
		}
	}
	fetch_run(s);
	return IMAP_ASYNC;
}
