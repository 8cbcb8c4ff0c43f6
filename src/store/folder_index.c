#include "store/folder_index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "imap/imap_msg.h"
#include "util/fsutil.h"
#include "util/num.h"
#include "util/xalloc.h"

#define SNAP_MAGIC "petrel-index 1 "
#define LOG_MAGIC  "petrel-index-log 1 "
#define INDEX_MAX  ((size_t)1 << 30)

/* --- flags as Maildir info letters --- */

void
folder_index_info(unsigned flags, char out[8])
{
	size_t w = 0;
	/* ASCII order, as Maildir readers expect. */
	if (flags & FOLDER_DRAFT)
		out[w++] = 'D';
	if (flags & FOLDER_FLAGGED)
		out[w++] = 'F';
	if (flags & FOLDER_ANSWERED)
		out[w++] = 'R';
	if (flags & FOLDER_SEEN)
		out[w++] = 'S';
	if (flags & FOLDER_DELETED)
		out[w++] = 'T';
	out[w] = '\0';
}

unsigned
folder_index_flags(const char *s, size_t len)
{
	unsigned f = 0;
	for (size_t i = 0; i < len; i++)
		switch (s[i]) {
		case 'D':
			f |= FOLDER_DRAFT;
			break;
		case 'F':
			f |= FOLDER_FLAGGED;
			break;
		case 'R':
			f |= FOLDER_ANSWERED;
			break;
		case 'S':
			f |= FOLDER_SEEN;
			break;
		case 'T':
			f |= FOLDER_DELETED;
			break;
		}
	return f;
}

/* --- parsing --- */

/* A record line split into its tokens (views). */
#define MAX_TOK 16
struct rec {
	size_t n;
	const char *t[MAX_TOK];
	size_t len[MAX_TOK];
};

static void
split(const char *p, size_t len, struct rec *r)
{
	size_t i = 0;
	r->n = 0;
	while (i < len && r->n < MAX_TOK) {
		while (i < len && p[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t s = i;
		while (i < len && p[i] != ' ')
			i++;
		r->t[r->n] = p + s;
		r->len[r->n] = i - s;
		r->n++;
	}
}

static int
u64(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	return len > 20 ? -1 : num_parse(s, len, max, v);
}

/* u64_hex - exactly len lower-case hex digits. */
static int
u64_hex(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	if (len == 0 || len > 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;
		if (d < 0)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return 0;
}

/* field - the value of "key=" among tokens from 'from', or NULL. */
static const char *
field(const struct rec *r, size_t from, const char *key, size_t *len_r)
{
	size_t kl = strlen(key);
	for (size_t i = from; i < r->n; i++)
		if (r->len[i] > kl && memcmp(r->t[i], key, kl) == 0 &&
		    r->t[i][kl] == '=') {
			*len_r = r->len[i] - kl - 1;
			return r->t[i] + kl + 1;
		}
	return NULL;
}

static int
field_u64(const struct rec *r, size_t from, const char *key, uint64_t max,
	  uint64_t *v)
{
	size_t len;
	const char *s = field(r, from, key, &len);
	if (s == NULL) {
		*v = 0;
		return 0;
	}
	return u64(s, len, max, v);
}

static int
tok_u32(const struct rec *r, size_t i, uint32_t *v)
{
	uint64_t x;
	if (i >= r->n || u64(r->t[i], r->len[i], UINT32_MAX, &x) < 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/* A message record or an expunge, in log order. */
struct op {
	struct folder_index_rec rec;
	bool expunge;
	size_t seq;
};

struct ops {
	size_t n, cap;
	struct op *v;
};

static void
ops_add(struct ops *o, const struct op *x)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 256;
		o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	o->v[o->n] = *x;
	o->v[o->n].seq = o->n;
	o->n++;
}

static void
van_add(struct folder_index *ix, uint32_t lo, uint32_t hi, uint64_t modseq)
{
	if (ix->n_van == ix->cap_van) {
		ix->cap_van = ix->cap_van ? 2 * ix->cap_van : 16;
		ix->van = xrealloc(ix->van, ix->cap_van * sizeof(*ix->van));
	}
	ix->van[ix->n_van++] = (struct folder_vanished){lo, hi, modseq};
}

/* parse_msg - "M uid m= f= k= d= c=off:len" */
static int
parse_msg(const struct rec *r, struct folder_index_rec *m)
{
	uint64_t v;
	size_t len;
	memset(m, 0, sizeof(*m));
	if (tok_u32(r, 1, &m->uid) < 0 || m->uid == 0)
		return -1;
	if (field_u64(r, 2, "m", INT64_MAX, &m->modseq) < 0)
		return -1;
	const char *f = field(r, 2, "f", &len);
	if (f != NULL)
		m->flags = (uint8_t)folder_index_flags(f, len);
	size_t klen;
	const char *k = field(r, 2, "k", &klen);
	if (k != NULL) {
		if (u64_hex(k, klen, &m->kw) < 0)
			return -1;
	}
	if (field_u64(r, 2, "d", INT64_MAX, &v) < 0)
		return -1;
	m->date = (int64_t)v;
	const char *c = field(r, 2, "c", &len);
	if (c != NULL) {
		const char *colon = memchr(c, ':', len);
		uint64_t off, clen;
		if (colon == NULL ||
		    u64(c, (size_t)(colon - c), UINT64_MAX, &off) < 0 ||
		    u64(colon + 1, len - (size_t)(colon - c) - 1, UINT32_MAX,
			&clen) < 0)
			return -1;
		m->cache_off = off;
		m->cache_len = (uint32_t)clen;
	}
	return 0;
}

/* apply_line - one record (snapshot or log). -1: not a valid record. */
static int
apply_line(struct folder_index *ix, struct ops *ops, const char *p, size_t len,
	   bool in_log)
{
	struct rec r;
	split(p, len, &r);
	if (r.n == 0 || r.len[0] != 1)
		return -1;
	switch (r.t[0][0]) {
	case 'H': {
		uint64_t hm, rec;
		if (field_u64(&r, 1, "highestmodseq", INT64_MAX, &hm) < 0 ||
		    field_u64(&r, 1, "recent", UINT32_MAX, &rec) < 0)
			return -1;
		if (hm > ix->highestmodseq)
			ix->highestmodseq = hm;
		if (rec > ix->recent_uid)
			ix->recent_uid = (uint32_t)rec;
		return 0;
	}
	case 'K': {
		uint32_t i;
		if (r.n < 3 || tok_u32(&r, 1, &i) < 0 ||
		    i >= FOLDER_MAX_KEYWORDS || r.len[2] > FOLDER_KEYWORD_MAX)
			return -1;
		/* Keywords are only ever added, in bit order. */
		if (i < ix->n_kw)
			return 0;
		if (i != ix->n_kw)
			return -1;
		ix->kw[ix->n_kw++] = xstrndup(r.t[2], r.len[2]);
		return 0;
	}
	case 'X': {
		uint32_t lo, hi;
		uint64_t m;
		if (tok_u32(&r, 1, &lo) < 0 || tok_u32(&r, 2, &hi) < 0 ||
		    lo == 0 || hi < lo ||
		    field_u64(&r, 3, "m", INT64_MAX, &m) < 0)
			return -1;
		van_add(ix, lo, hi, m);
		return 0;
	}
	case 'M': {
		struct op o = {0};
		if (parse_msg(&r, &o.rec) < 0)
			return -1;
		ops_add(ops, &o);
		if (o.rec.modseq > ix->highestmodseq)
			ix->highestmodseq = o.rec.modseq;
		return 0;
	}
	case 'E': {
		struct op o = {0};
		uint64_t m;
		if (!in_log || tok_u32(&r, 1, &o.rec.uid) < 0 ||
		    field_u64(&r, 2, "m", INT64_MAX, &m) < 0)
			return -1;
		o.rec.modseq = m;
		o.expunge = true;
		ops_add(ops, &o);
		van_add(ix, o.rec.uid, o.rec.uid, m);
		if (m > ix->highestmodseq)
			ix->highestmodseq = m;
		return 0;
	}
	}
	return -1;
}

/* head - "magic uidvalidity=V gen=G [cache=C]" */
static int
head(const char *p, size_t len, const char *magic, uint32_t *uv, uint64_t *gen,
     uint64_t *cache)
{
	size_t ml = strlen(magic);
	struct rec r;
	uint64_t v;
	if (len < ml || memcmp(p, magic, ml) != 0)
		return -1;
	split(p + ml, len - ml, &r);
	if (field_u64(&r, 0, "uidvalidity", UINT32_MAX, &v) < 0 || v == 0 ||
	    field_u64(&r, 0, "gen", UINT64_MAX, gen) < 0 ||
	    field_u64(&r, 0, "cache", UINT32_MAX, cache) < 0)
		return -1;
	*uv = (uint32_t)v;
	return 0;
}

static int
cmp_op(const void *a, const void *b)
{
	const struct op *x = a, *y = b;
	if (x->rec.uid != y->rec.uid)
		return x->rec.uid < y->rec.uid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_van(const void *a, const void *b)
{
	const struct folder_vanished *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* finish - the last record of each UID wins; an expunge removes it.
 * Vanished ranges are sorted and merged. */
static void
finish(struct folder_index *ix, struct ops *ops)
{
	if (ops->n > 0)
		qsort(ops->v, ops->n, sizeof(*ops->v), cmp_op);
	ix->recs = ops->n ? xmalloc(ops->n * sizeof(*ix->recs)) : NULL;
	ix->cap = ops->n;
	ix->n = 0;
	for (size_t i = 0; i < ops->n; i++) {
		if (i + 1 < ops->n &&
		    ops->v[i + 1].rec.uid == ops->v[i].rec.uid)
			continue;
		if (!ops->v[i].expunge)
			ix->recs[ix->n++] = ops->v[i].rec;
	}
	free(ops->v);
	ops->v = NULL;
	if (ix->n_van > 1) {
		qsort(ix->van, ix->n_van, sizeof(*ix->van), cmp_van);
		size_t w = 0;
		for (size_t i = 1; i < ix->n_van; i++) {
			struct folder_vanished *last = &ix->van[w];
			if ((uint64_t)ix->van[i].lo <= (uint64_t)last->hi + 1) {
				if (ix->van[i].hi > last->hi)
					last->hi = ix->van[i].hi;
				if (ix->van[i].modseq > last->modseq)
					last->modseq = ix->van[i].modseq;
			} else {
				ix->van[++w] = ix->van[i];
			}
		}
		ix->n_van = w + 1;
	}
}

static void
reset(struct folder_index *ix, const char *why)
{
	for (size_t i = 0; i < ix->n_kw; i++)
		free(ix->kw[i]);
	free(ix->van);
	free(ix->recs);
	bool exists = ix->exists;
	uint32_t uv = ix->uidvalidity;
	uint64_t hm = ix->highestmodseq;
	memset(ix, 0, sizeof(*ix));
	ix->exists = exists;
	ix->corrupt = why;
	/* A rebuilt index must not reuse MODSEQs a client may have. */
	ix->highestmodseq = hm;
	ix->uidvalidity = uv;
}

void
folder_index_parse(const char *snap, size_t snap_len, const char *log,
		   size_t log_len, struct folder_index *ix)
{
	struct ops ops = {0};
	const char *p, *end, *nl;

	memset(ix, 0, sizeof(*ix));
	if (snap == NULL)
		return;
	ix->exists = true;
	ix->snap_size = snap_len;
	p = snap;
	end = snap + snap_len;
	nl = memchr(p, '\n', snap_len);
	uint64_t cache;
	if (nl == NULL || head(p, (size_t)(nl - p), SNAP_MAGIC,
			       &ix->uidvalidity, &ix->gen, &cache) < 0) {
		reset(ix, "bad header");
		return;
	}
	ix->cache_version = (uint32_t)cache;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL ||
		    apply_line(ix, &ops, p, (size_t)(nl - p), false) < 0) {
			free(ops.v);
			reset(ix, nl == NULL ? "torn" : "bad record");
			return;
		}
	}
	uint32_t luv;
	uint64_t lgen;
	if (log != NULL && (nl = memchr(log, '\n', log_len)) != NULL &&
	    head(log, (size_t)(nl - log), LOG_MAGIC, &luv, &lgen, &cache) ==
		0 &&
	    luv == ix->uidvalidity && lgen == ix->gen) {
		ix->log_size = log_len;
		end = log + log_len;
		for (p = nl + 1; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			const char *tab =
			    nl ? memchr(p, '\t', (size_t)(nl - p)) : NULL;
			uint64_t crc;
			if (tab == NULL || nl - tab != 9 ||
			    u64_hex(tab + 1, 8, &crc) < 0 ||
			    crc32(0, (const Bytef *)p, (uInt)(tab - p)) !=
				crc ||
			    apply_line(ix, &ops, p, (size_t)(tab - p), true) <
				0) {
				/* Torn (a crash mid-append) or damaged:
				 * what follows cannot be trusted. */
				ix->log_bad = 1;
				break;
			}
		}
	}
	finish(ix, &ops);
}

int
folder_index_read(const char *path, struct folder_index *ix)
{
	char sp[4096], lp[4096];
	size_t slen = 0, llen = 0;

	snprintf(sp, sizeof(sp), "%s/" FOLDER_INDEX_NAME, path);
	snprintf(lp, sizeof(lp), "%s/" FOLDER_INDEX_LOG, path);
	char *snap = fsutil_read_file(sp, INDEX_MAX, &slen);
	if (snap == NULL && errno != ENOENT && errno != EFBIG)
		return -1;
	char *log = snap ? fsutil_read_file(lp, INDEX_MAX, &llen) : NULL;
	if (snap != NULL && log == NULL && errno != ENOENT && errno != EFBIG) {
		free(snap);
		return -1;
	}
	folder_index_parse(snap, slen, log, llen, ix);
	free(snap);
	free(log);
	return 0;
}

void
folder_index_free(struct folder_index *ix)
{
	for (size_t i = 0; i < ix->n_kw; i++)
		free(ix->kw[i]);
	free(ix->van);
	free(ix->recs);
	memset(ix, 0, sizeof(*ix));
}

/* --- writing --- */

void
folder_index_rec_msg(struct strbuf *sb, const struct folder_msg *m)
{
	char info[8];
	folder_index_info(m->flags, info);
	strbuf_addf(sb,
		    "M %" PRIu32 " m=%" PRIu64 " f=%s k=%" PRIx64 " d=%" PRId64,
		    m->uid, m->modseq, info, m->kw, m->date < 0 ? 0 : m->date);
	if (m->cache_len > 0)
		strbuf_addf(sb, " c=%" PRIu64 ":%" PRIu32, m->cache_off,
			    m->cache_len);
	strbuf_adds(sb, "\n");
}

void
folder_index_rec_expunge(struct strbuf *sb, uint32_t uid, uint64_t modseq)
{
	strbuf_addf(sb, "E %" PRIu32 " m=%" PRIu64 "\n", uid, modseq);
}

void
folder_index_rec_head(struct strbuf *sb, uint64_t highestmodseq,
		      uint32_t recent_uid)
{
	strbuf_addf(sb, "H highestmodseq=%" PRIu64 " recent=%" PRIu32 "\n",
		    highestmodseq, recent_uid);
}

void
folder_index_rec_keyword(struct strbuf *sb, size_t i, const char *name)
{
	strbuf_addf(sb, "K %zu %s\n", i, name);
}

void
folder_index_rec_vanished(struct strbuf *sb, uint32_t lo, uint32_t hi,
			  uint64_t modseq)
{
	strbuf_addf(sb, "X %" PRIu32 " %" PRIu32 " m=%" PRIu64 "\n", lo, hi,
		    modseq);
}

/* write_file - dir/name replaced atomically. */
static int
write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return fsutil_write_atomic(p, data, len);
}

static void
log_head(struct strbuf *sb, uint32_t uidvalidity, uint64_t gen)
{
	strbuf_addf(sb, LOG_MAGIC "uidvalidity=%" PRIu32 " gen=%" PRIu64 "\n",
		    uidvalidity, gen);
}

int
folder_index_append(const char *path, uint32_t uidvalidity, uint64_t gen,
		    const struct strbuf *recs, uint64_t *size_r)
{
	char lp[4096];
	struct strbuf out = {0};
	struct stat st;

	if (recs->len == 0) {
		*size_r = 0;
		return 0;
	}
	snprintf(lp, sizeof(lp), "%s/" FOLDER_INDEX_LOG, path);
	int fd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		log_head(&out, uidvalidity, gen);
	for (const char *p = recs->p, *end = recs->p + recs->len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char crc[16];
		strbuf_add(&out, p, n);
		snprintf(crc, sizeof(crc), "\t%08lx\n",
			 (unsigned long)crc32(0, (const Bytef *)p, (uInt)n));
		strbuf_adds(&out, crc);
		p += n + 1;
	}
	int r = fsutil_write_all(fd, out.p, out.len);
	if (r == 0)
		r = fdatasync(fd);
	int saved = errno;
	if (r == 0 && fstat(fd, &st) == 0)
		*size_r = (uint64_t)st.st_size;
	close(fd);
	free(out.p);
	errno = saved;
	return r;
}

int
folder_index_snapshot(const char *path, const struct folder *f, uint64_t gen,
		      uint64_t *snap_r)
{
	struct strbuf sb = {0};

	strbuf_addf(&sb,
		    SNAP_MAGIC "uidvalidity=%" PRIu32 " gen=%" PRIu64
			       " cache=%d\n",
		    f->uidvalidity, gen, IMAP_MSG_VERSION);
	folder_index_rec_head(&sb, f->highestmodseq, f->recent_uid);
	for (size_t i = 0; i < f->n_kw; i++)
		folder_index_rec_keyword(&sb, i, f->kw[i]);
	/*
	 * Vanished ranges: two ranges with no live message between them
	 * are one (every UID below UIDNEXT was given out once, so a UID in
	 * the gap was expunged too, only earlier): the list stays no longer
	 * than the folder.
	 */
	size_t m = 0;
	for (size_t i = 0; i < f->n_van;) {
		uint32_t lo = f->van[i].lo, hi = f->van[i].hi;
		uint64_t ms = f->van[i].modseq;
		for (i++; i < f->n_van; i++) {
			while (m < f->n && f->msgs[m].uid <= hi)
				m++;
			while (m < f->n && f->msgs[m].expunged != 0)
				m++;
			if (m < f->n && f->msgs[m].uid < f->van[i].lo)
				break;
			hi = f->van[i].hi;
			if (f->van[i].modseq > ms)
				ms = f->van[i].modseq;
		}
		folder_index_rec_vanished(&sb, lo, hi, ms);
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->msgs[i].expunged == 0)
			folder_index_rec_msg(&sb, &f->msgs[i]);
	int r = write_file(path, FOLDER_INDEX_NAME, sb.p, sb.len);
	if (r == 0) {
		*snap_r = sb.len;
		/* Now the old log is stale (its gen is not the snapshot's);
		 * start the new one. */
		sb.len = 0;
		log_head(&sb, f->uidvalidity, gen);
		r = write_file(path, FOLDER_INDEX_LOG, sb.p, sb.len);
	}
	free(sb.p);
	return r;
}
