#include "imap/imap_view.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_folder.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

_Static_assert((int)FOLDER_ANSWERED == (int)IMAP_FLAG_ANSWERED &&
		   (int)FOLDER_FLAGGED == (int)IMAP_FLAG_FLAGGED &&
		   (int)FOLDER_DELETED == (int)IMAP_FLAG_DELETED &&
		   (int)FOLDER_SEEN == (int)IMAP_FLAG_SEEN &&
		   (int)FOLDER_DRAFT == (int)IMAP_FLAG_DRAFT,
	       "store and IMAP flag bits must agree");

/* in_view - is folder message m one the view has been told of and not
 * yet told gone? */
static bool
in_view(const struct imap_view *v, const struct folder_msg *m)
{
	return m->uid <= v->uid_max &&
	       (m->expunged == 0 || m->expunged > v->exp_seen);
}

/* upto - the number of folder messages with a UID <= uid. */
static size_t
upto(const struct folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->msgs[mid].uid <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* direct - sequence numbers are array positions (no tombstone of an
 * earlier report lies among the announced messages). */
static bool
direct(const struct imap_view *v)
{
	return upto(v->fo->f, v->uid_max) == v->exists;
}

static void
build_map(struct imap_view *v)
{
	const struct folder *f = v->fo->f;
	if (v->map_valid && v->map_version == v->fo->version)
		return;
	free(v->map);
	v->map = xmalloc((v->exists ? v->exists : 1) * sizeof(*v->map));
	size_t j = 0, end = upto(f, v->uid_max);
	for (size_t i = 0; i < end && j < v->exists; i++)
		if (in_view(v, &f->msgs[i]))
			v->map[j++] = (uint32_t)i;
	v->map_valid = true;
	v->map_version = v->fo->version;
}

static void
drop_map(struct imap_view *v)
{
	free(v->map);
	v->map = NULL;
	v->map_valid = false;
}

void
imap_view_attach(struct imap_view *v, struct imap_folder *fo,
		 struct imap_session *s, uint32_t sid, bool readonly)
{
	const struct folder *f = fo->f;
	memset(v, 0, sizeof(*v));
	v->fo = fo;
	v->s = s;
	v->sid = sid;
	v->readonly = readonly;
	v->uid_max = f->n > 0 ? f->msgs[f->n - 1].uid : 0;
	v->exp_seen = v->flags_seen = f->highestmodseq;
	v->exists = (uint32_t)f->n_live;
	/* RFC 3501 §2.3.2: \Recent goes to the first session to hear of
	 * a message: here the first read-write session on the folder,
	 * for as long as it stays. */
	bool owner = !readonly;
	for (struct imap_view *o = fo->views; o != NULL && owner; o = o->next)
		if (o->recent_owner)
			owner = false;
	if (owner) {
		v->recent_owner = true;
		v->recent_lo = atomic_load(&fo->f->recent_uid);
		v->recent_hi =
		    v->uid_max > v->recent_lo ? v->uid_max : v->recent_lo;
		atomic_store(&fo->f->recent_uid, v->recent_hi);
	}
	v->next = fo->views;
	fo->views = v;
	v->recent_told = imap_view_recent_count(v);
}

void
imap_view_detach(struct imap_view *v)
{
	struct imap_folder *fo = v->fo;
	if (fo == NULL)
		return;
	struct imap_view **pp = &fo->views;
	while (*pp != NULL && *pp != v)
		pp = &(*pp)->next;
	if (*pp == v)
		*pp = v->next;
	if (v->recent_owner && fo->f != NULL) {
		/* The next read-write session gets messages from now on. */
		for (struct imap_view *o = fo->views; o != NULL; o = o->next)
			if (!o->readonly) {
				o->recent_owner = true;
				o->recent_lo = o->recent_hi =
				    atomic_load(&fo->f->recent_uid);
				break;
			}
	}
	drop_map(v);
	v->fo = NULL;
}

struct folder_msg *
imap_view_msg(struct imap_view *v, uint32_t seq)
{
	struct folder *f = v->fo->f;
	if (seq == 0 || seq > v->exists)
		return NULL;
	if (direct(v)) {
		drop_map(v);
		return &f->msgs[seq - 1];
	}
	build_map(v);
	return &f->msgs[v->map[seq - 1]];
}

uint32_t
imap_view_seq(struct imap_view *v, size_t k)
{
	const struct folder *f = v->fo->f;
	if (k >= f->n || !in_view(v, &f->msgs[k]))
		return 0;
	if (direct(v))
		return (uint32_t)k + 1;
	build_map(v);
	size_t lo = 0, hi = v->exists;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->map[mid] == k)
			return (uint32_t)mid + 1;
		if (v->map[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

bool
imap_view_recent(const struct imap_view *v, const struct folder_msg *m)
{
	return m->uid > v->recent_lo && m->uid <= v->recent_hi;
}

uint32_t
imap_view_recent_count(struct imap_view *v)
{
	const struct folder *f = v->fo->f;
	uint32_t n = 0;
	if (v->recent_hi <= v->recent_lo)
		return 0;
	for (size_t i = upto(f, v->recent_lo); i < f->n; i++) {
		const struct folder_msg *m = &f->msgs[i];
		if (m->uid > v->recent_hi)
			break;
		n += in_view(v, m);
	}
	return n;
}

/* --- sequence sets --- */

struct span {
	uint32_t lo, hi;
};

static int
cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* spans - the set's ranges with "*" as max, ordered and merged. */
static struct span *
spans(const struct imap_seqset *set, uint32_t max, size_t *n_r)
{
	struct span *s = xmalloc((set->n ? set->n : 1) * sizeof(*s));
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo = set->r[i].lo ? set->r[i].lo : max;
		uint32_t hi = set->r[i].hi ? set->r[i].hi : max;
		s[i].lo = lo < hi ? lo : hi;
		s[i].hi = lo < hi ? hi : lo;
	}
	qsort(s, set->n, sizeof(*s), cmp_span);
	size_t w = 0;
	for (size_t i = 0; i < set->n; i++) {
		if (w > 0 && (uint64_t)s[i].lo <= (uint64_t)s[w - 1].hi + 1) {
			if (s[i].hi > s[w - 1].hi)
				s[w - 1].hi = s[i].hi;
			continue;
		}
		s[w++] = s[i];
	}
	*n_r = w;
	return s;
}

int
imap_view_resolve(struct imap_view *v, const struct imap_seqset *set, bool uid,
		  const uint32_t *saved, size_t n_saved, uint32_t **seqs_r,
		  size_t *n_r)
{
	const struct folder *f = v->fo->f;
	uint32_t *out = NULL;
	size_t n = 0, cap = 0;

	if (set->saved) {
		/* SEARCHRES (RFC 5182): the saved UIDs, whether the command
		 * is UID or not; expunged ones just drop out. */
		for (size_t i = 0; i < n_saved; i++) {
			long k = folder_find(f, saved[i]);
			uint32_t seq = k < 0 ? 0 : imap_view_seq(v, (size_t)k);
			if (seq == 0 || f->msgs[k].expunged != 0)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				out = xrealloc(out, cap * sizeof(*out));
			}
			out[n++] = seq;
		}
		*seqs_r = out;
		*n_r = n;
		return 0;
	}
	if (!uid) {
		for (size_t i = 0; i < set->n; i++)
			if ((set->r[i].lo && set->r[i].lo > v->exists) ||
			    (set->r[i].hi && set->r[i].hi > v->exists) ||
			    v->exists == 0)
				return -1;
	}
	size_t ns;
	uint32_t max = v->exists;
	if (uid) {
		struct folder_msg *last = imap_view_msg(v, v->exists);
		max = last ? last->uid : 0;
	}
	struct span *sp = spans(set, max, &ns);
	size_t k = 0;
	for (uint32_t seq = 1; seq <= v->exists && k < ns; seq++) {
		uint32_t key = seq;
		if (uid) {
			key = imap_view_msg(v, seq)->uid;
		}
		while (k < ns && sp[k].hi < key)
			k++;
		if (k == ns)
			break;
		if (key < sp[k].lo) {
			if (!uid) {
				seq = sp[k].lo - 1;
				continue;
			}
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			out = xrealloc(out, cap * sizeof(*out));
		}
		out[n++] = seq;
	}
	free(sp);
	*seqs_r = out;
	*n_r = n;
	return 0;
}

/* --- updates --- */

void
imap_view_write_flags(const struct imap_view *v, const struct folder_msg *m,
		      struct strbuf *out)
{
	const struct folder *f = v->fo->f;
	const char *sep = "";
	strbuf_add(out, "(", 1);
	for (unsigned b = 1; b <= FOLDER_DRAFT; b <<= 1)
		if (m->flags & b) {
			strbuf_adds(out, sep);
			strbuf_adds(out, imap_flag_name(b));
			sep = " ";
		}
	if (imap_view_recent(v, m)) {
		strbuf_adds(out, sep);
		strbuf_adds(out, "\\Recent");
		sep = " ";
	}
	for (size_t i = 0; i < f->n_kw; i++)
		if (m->kw & (uint64_t)1 << i) {
			strbuf_adds(out, sep);
			strbuf_adds(out, f->kw[i]);
			sep = " ";
		}
	strbuf_add(out, ")", 1);
}

void
imap_view_uidset(const uint32_t *uids, size_t n, struct strbuf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			strbuf_add(out, ",", 1);
		if (j == i)
			strbuf_addf(out, "%" PRIu32, uids[i]);
		else
			strbuf_addf(out, "%" PRIu32 ":%" PRIu32, uids[i],
				    uids[j]);
		i = j + 1;
	}
}

static bool
report_expunges(struct imap_view *v, struct strbuf *out, bool qresync)
{
	const struct folder *f = v->fo->f;
	size_t end = upto(f, v->uid_max);
	bool any = false;
	if (direct(v)) {
		/* Only tombstones make EXPUNGEs; none is in the view. */
		for (size_t i = 0; i < end && !any; i++)
			any = f->msgs[i].expunged > v->exp_seen;
	} else {
		any = true;
	}
	if (any && qresync) {
		/* RFC 7162 §3.2.10: VANISHED replaces EXPUNGE. */
		uint32_t *uids =
		    xmalloc((v->exists ? v->exists : 1) * sizeof(*uids));
		size_t n = 0;
		for (size_t i = 0; i < end; i++) {
			const struct folder_msg *m = &f->msgs[i];
			if (in_view(v, m) && m->expunged != 0)
				uids[n++] = m->uid;
		}
		if (n > 0) {
			strbuf_adds(out, "* VANISHED ");
			imap_view_uidset(uids, n, out);
			strbuf_adds(out, "\r\n");
			v->exists -= (uint32_t)n;
		}
		free(uids);
		any = n > 0;
	} else if (any) {
		uint32_t seq = 0, gone = 0;
		for (size_t i = 0; i < end; i++) {
			const struct folder_msg *m = &f->msgs[i];
			if (!in_view(v, m))
				continue;
			if (m->expunged != 0) {
				/* Each EXPUNGE renumbers those after it. */
				strbuf_addf(out, "* %" PRIu32 " EXPUNGE\r\n",
					    seq + 1);
				gone++;
			} else {
				seq++;
			}
		}
		v->exists -= gone;
		any = gone > 0;
	}
	v->exp_seen = f->highestmodseq;
	drop_map(v);
	return any;
}

bool
imap_view_update(struct imap_view *v, struct strbuf *out, bool allow_expunge,
		 bool condstore, bool qresync)
{
	struct folder *f = v->fo->f;
	bool wrote = false;
	uint32_t old_max = v->uid_max;

	if (allow_expunge)
		wrote = report_expunges(v, out, qresync);
	/* New messages. While EXPUNGEs must wait, stop before one that is
	 * already gone: announcing past it would put it in the view. */
	uint32_t added = 0;
	for (size_t i = upto(f, v->uid_max); i < f->n; i++) {
		const struct folder_msg *m = &f->msgs[i];
		if (m->expunged != 0) {
			if (m->expunged <= v->exp_seen)
				continue;
			break;
		}
		v->uid_max = m->uid;
		added++;
	}
	if (added > 0) {
		v->exists += added;
		strbuf_addf(out, "* %" PRIu32 " EXISTS\r\n", v->exists);
		drop_map(v);
		wrote = true;
		if (v->recent_owner &&
		    v->uid_max > atomic_load(&f->recent_uid)) {
			if (v->recent_hi < atomic_load(&f->recent_uid))
				v->recent_lo = v->recent_hi =
				    atomic_load(&f->recent_uid);
			v->recent_hi = v->uid_max;
			atomic_store(&f->recent_uid, v->uid_max);
		}
	}
	/* RECENT goes with EXISTS (RFC 3501 §7.3.2): after an EXPUNGE
	 * the client counts down itself. */
	if (added > 0) {
		uint32_t recent = imap_view_recent_count(v);
		strbuf_addf(out, "* %" PRIu32 " RECENT\r\n", recent);
		v->recent_told = recent;
	}
	/* Flags others changed, of messages this session knew before. */
	if (f->highestmodseq > v->flags_seen) {
		size_t end = upto(f, old_max);
		uint32_t seq = 0;
		for (size_t i = 0; i < end; i++) {
			const struct folder_msg *m = &f->msgs[i];
			if (!in_view(v, m))
				continue;
			seq++;
			if (m->expunged != 0 || m->modseq <= v->flags_seen ||
			    (m->changed_by != 0 && m->changed_by == v->sid))
				continue;
			strbuf_addf(out, "* %" PRIu32 " FETCH (", seq);
			if (qresync)
				strbuf_addf(out, "UID %" PRIu32 " ", m->uid);
			strbuf_adds(out, "FLAGS ");
			imap_view_write_flags(v, m, out);
			if (condstore || qresync)
				strbuf_addf(out, " MODSEQ (%" PRIu64 ")",
					    m->modseq);
			strbuf_adds(out, ")\r\n");
			wrote = true;
		}
		v->flags_seen = f->highestmodseq;
	}
	return wrote;
}

bool
imap_view_needs(const struct imap_folder *fo, const struct folder_msg *m)
{
	for (const struct imap_view *v = fo->views; v != NULL; v = v->next)
		if (in_view(v, m))
			return true;
	return false;
}
