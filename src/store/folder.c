#include "store/folder.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imap/imap_msg.h"
#include "store/folder_index.h"
#include "store/mailbox.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CACHE_NAME "petrel-cache"
#define CACHE_HDR  8 /* uid, length: little-endian 32-bit each */
/* Fold the log into a new snapshot past this, or past half the
 * snapshot's size. */
#define LOG_COMPACT_MIN (256 * 1024)

/* --- small helpers --- */

unsigned
folder_flags_from_info(const char *name)
{
	const char *info = name ? strstr(name, ":2,") : NULL;
	return info ? folder_index_flags(info + 3, strlen(info + 3)) : 0;
}

long
folder_find(const struct folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->msgs[mid].uid == uid)
			return (long)mid;
		if (f->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
folder_msg_path(const struct folder *f, const struct folder_msg *m, char *out,
		size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s/%s", f->path,
			 m->in_new ? "new" : "cur", m->name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
folder_keyword(const struct folder *f, const char *name)
{
	for (size_t i = 0; i < f->n_kw; i++)
		if (strcasecmp(f->kw[i], name) == 0)
			return (int)i;
	return -1;
}

int
folder_quota_root(const char *path, char *out, size_t outlen)
{
	const char *slash = strrchr(path, '/');
	size_t n = strlen(path);
	if (slash != NULL && slash[1] == '.')
		n = (size_t)(slash - path);
	if (n + 1 > outlen)
		return -1;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

static void
quota_change(const char *path, int64_t bytes, int64_t count)
{
	char root[4096];
	if (folder_quota_root(path, root, sizeof(root)) == 0)
		quota_add(root, bytes, count);
}

/* file_date - the file's mtime: the arrival time of a delivered message
 * (the hard link keeps the spool file's), or the date APPEND set. */
static int64_t
file_date(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_mtime : 0;
}

static struct folder_changes *
changes_new(const struct folder *f)
{
	struct folder_changes *c = xcalloc(1, sizeof(*c));
	c->highestmodseq = f->highestmodseq;
	c->uidnext = f->uidnext;
	c->n_kw = f->n_kw;
	c->cache_size = f->cache_size;
	c->log_size = f->log_size;
	return c;
}

static struct folder_change *
changes_add(struct folder_changes *c, enum folder_change_kind kind,
	    const struct folder_msg *m)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	struct folder_change *ch = &c->v[c->n++];
	ch->kind = kind;
	ch->msg = *m;
	ch->msg.name = m->name ? xstrdup(m->name) : NULL;
	return ch;
}

void
folder_changes_free(struct folder_changes **cp)
{
	struct folder_changes *c = *cp;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].msg.name);
	free(c->v);
	/* Keywords past those the folder had are the change set's until
	 * folder_apply takes them. */
	for (size_t i = 0; i < c->n_kw; i++)
		free(c->kw[i]);
	free(c->uids);
	free(c->failed);
	folder_free(&c->replaced);
	free(c);
	*cp = NULL;
}

/* commit_log - write the records of an operation (and the head: the
 * new HIGHESTMODSEQ and the \Recent mark) to the index log. */
static int
commit_log(const struct folder *f, struct folder_changes *c,
	   struct strbuf *recs)
{
	uint32_t recent = atomic_load(&f->recent_uid);
	c->recent_logged = f->recent_logged;
	if (recs->len == 0 && c->highestmodseq == f->highestmodseq &&
	    recent == f->recent_logged)
		return 0;
	folder_index_rec_head(recs, c->highestmodseq, recent);
	uint64_t size;
	if (folder_index_append(f->path, f->uidvalidity, f->gen, recs, &size) <
	    0) {
		c->error = errno;
		snprintf(c->err, sizeof(c->err), "cannot write the index: %s",
			 strerror(errno));
		log_err("%s: %s", f->path, c->err);
		return -1;
	}
	c->log_size = size;
	c->recent_logged = recent;
	c->compact = size > LOG_COMPACT_MIN && size > f->snap_size / 2;
	return 0;
}

/* --- load --- */

static void
open_cache(struct folder *f)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/" CACHE_NAME, f->path);
	f->cache_fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (f->cache_fd >= 0 && fstat(f->cache_fd, &st) == 0)
		f->cache_size = (uint64_t)st.st_size;
}

static void
folder_push(struct folder *f, const struct folder_msg *m)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->msgs = xrealloc(f->msgs, f->cap * sizeof(*f->msgs));
	}
	f->msgs[f->n++] = *m;
}

/* msg_of - a folder message for a file of the UID list. */
static void
msg_of(const struct mailbox_msg *mm, struct folder_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->uid = mm->uid;
	m->size = mm->size;
	const char *slash = strrchr(mm->path, '/');
	m->name = xstrdup(slash ? slash + 1 : mm->path);
	m->in_new = slash != NULL && slash - mm->path >= 4 &&
		    memcmp(slash - 4, "/new", 4) == 0;
	m->flags = (uint8_t)folder_flags_from_info(m->name);
}

struct folder *
folder_load(const char *path, char *err, size_t errlen)
{
	struct mailbox *mb = mailbox_open(path, err, errlen);
	struct folder_index ix;
	struct strbuf recs = {0};
	if (mb == NULL)
		return NULL;
	if (folder_index_read(path, &ix) < 0) {
		snprintf(err, errlen, "cannot read the index of %s: %s", path,
			 strerror(errno));
		mailbox_free(&mb);
		return NULL;
	}
	struct folder *f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->cache_fd = -1;
	f->uidvalidity = mb->uidvalidity;
	f->uidnext = mb->uidnext;
	/* A cache written in another encoding version is parsed again. */
	bool stale_cache = ix.exists && ix.cache_version != IMAP_MSG_VERSION;
	bool fresh = !ix.exists || ix.corrupt != NULL ||
		     ix.uidvalidity != mb->uidvalidity || ix.log_bad ||
		     stale_cache;
	if (stale_cache || !ix.exists || ix.corrupt != NULL) {
		char cp[4096];
		snprintf(cp, sizeof(cp), "%s/" CACHE_NAME, path);
		unlink(cp);
		for (size_t i = 0; i < ix.n; i++)
			ix.recs[i].cache_off = ix.recs[i].cache_len = 0;
	}
	f->highestmodseq = ix.highestmodseq;
	f->gen = ix.gen;
	f->snap_size = ix.snap_size;
	f->log_size = ix.log_size;
	if (ix.corrupt != NULL) {
		/*
		 * The MODSEQs clients hold are unknown now; new ones must be
		 * above all of them (RFC 7162 §3.1.1: never decrease). Time
		 * in 2^-20 s steps is, unless a million changes were made
		 * per second.
		 */
		uint64_t floor = (uint64_t)time(NULL) << 20;
		if (f->highestmodseq < floor)
			f->highestmodseq = floor;
		log_warn("%s: " FOLDER_INDEX_NAME " %s: rebuilt", path,
			 ix.corrupt);
	}
	if (ix.exists && ix.corrupt == NULL &&
	    ix.uidvalidity == mb->uidvalidity) {
		/* Keywords, VANISHED and \Recent carry over; so do the
		 * records, below. */
		f->n_kw = ix.n_kw;
		memcpy(f->kw, ix.kw, ix.n_kw * sizeof(char *));
		ix.n_kw = 0;
		f->van = ix.van;
		f->n_van = ix.n_van;
		ix.van = NULL;
		atomic_store(&f->recent_uid, ix.recent_uid);
		f->recent_logged = ix.recent_uid;
	} else {
		ix.n = 0; /* another UIDVALIDITY: nothing matches */
	}
	uint64_t hm = f->highestmodseq;
	size_t k = 0;
	for (size_t i = 0; i < mb->n; i++) {
		struct folder_msg m;
		msg_of(&mb->msgs[i], &m);
		while (k < ix.n && ix.recs[k].uid < m.uid) {
			/* In the index, no longer a file: expunged while
			 * nobody watched (POP3, another program). */
			struct folder_vanished v = {ix.recs[k].uid,
						    ix.recs[k].uid, ++hm};
			f->van =
			    xrealloc(f->van, (f->n_van + 1) * sizeof(*f->van));
			f->van[f->n_van++] = v;
			folder_index_rec_expunge(&recs, v.lo, v.modseq);
			k++;
		}
		if (k < ix.n && ix.recs[k].uid == m.uid) {
			const struct folder_index_rec *r = &ix.recs[k++];
			m.kw = r->kw;
			m.date = r->date;
			m.cache_off = r->cache_off;
			m.cache_len = r->cache_len;
			m.modseq = r->modseq;
			if (r->flags != m.flags || r->modseq == 0) {
				/* Renamed by another program meanwhile. */
				m.modseq = ++hm;
				folder_index_rec_msg(&recs, &m);
			}
		} else {
			char p[4096];
			m.modseq = ++hm;
			snprintf(p, sizeof(p), "%s", mb->msgs[i].path);
			m.date = file_date(p);
			folder_index_rec_msg(&recs, &m);
		}
		folder_push(f, &m);
	}
	while (k < ix.n) {
		folder_index_rec_expunge(&recs, ix.recs[k].uid, ++hm);
		struct folder_vanished v = {ix.recs[k].uid, ix.recs[k].uid, hm};
		f->van = xrealloc(f->van, (f->n_van + 1) * sizeof(*f->van));
		f->van[f->n_van++] = v;
		k++;
	}
	f->n_live = f->n;
	f->highestmodseq = hm;
	folder_index_free(&ix);
	mailbox_free(&mb);
	open_cache(f);

	int r = 0;
	if (fresh) {
		/* A new snapshot: for a new or rebuilt index, and after a
		 * torn log (appending behind a torn line would be lost). */
		uint64_t gen = f->gen + 1, snap;
		r = folder_index_snapshot(path, f, gen, &snap);
		if (r == 0) {
			f->gen = gen;
			f->snap_size = snap;
			f->log_size = 0;
		}
	} else if (recs.len > 0) {
		struct folder_changes c = {.highestmodseq = hm};
		r = commit_log(f, &c, &recs);
		f->log_size = c.log_size;
	}
	free(recs.p);
	if (r < 0) {
		snprintf(err, errlen, "cannot write the index of %s: %s", path,
			 strerror(errno));
		folder_free(&f);
		return NULL;
	}
	return f;
}

void
folder_free(struct folder **fp)
{
	struct folder *f = *fp;
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->msgs[i].name);
	free(f->msgs);
	for (size_t i = 0; i < f->n_kw; i++)
		free(f->kw[i]);
	free(f->van);
	if (f->cache_fd >= 0)
		close(f->cache_fd);
	free(f->path);
	free(f);
	*fp = NULL;
}

/* --- sync --- */

/*
 * merge - compare the files (the UID list just synced) with the folder's
 * live messages and add the differences to c. our[] (n_our) are base
 * names this operation created, whose UIDs go to c->uids in that order;
 * their flags and keywords were set by the caller in want[].
 */
static void
merge(const struct folder *f, const struct mailbox *mb,
      struct folder_changes *c, struct strbuf *recs, uint64_t *hm,
      const char *const *our, const struct folder_msg *want, size_t n_our,
      uint32_t tag)
{
	size_t k = 0;
	for (size_t i = 0; i <= mb->n; i++) {
		uint32_t uid = i < mb->n ? mb->msgs[i].uid : UINT32_MAX;
		for (; k < f->n && f->msgs[k].uid < uid; k++) {
			const struct folder_msg *old = &f->msgs[k];
			if (old->expunged != 0)
				continue;
			struct folder_msg x = *old;
			x.modseq = ++*hm;
			x.name = NULL;
			changes_add(c, FOLDER_CH_EXPUNGE, &x);
			folder_index_rec_expunge(recs, x.uid, x.modseq);
		}
		if (i == mb->n)
			break;
		struct folder_msg m;
		msg_of(&mb->msgs[i], &m);
		if (k < f->n && f->msgs[k].uid == uid) {
			const struct folder_msg *old = &f->msgs[k++];
			if (old->expunged != 0) {
				free(m.name);
				continue;
			}
			bool flags = old->flags != m.flags;
			bool name = strcmp(old->name, m.name) != 0 ||
				    old->in_new != m.in_new;
			if (flags || name) {
				struct folder_msg x = *old;
				x.flags = m.flags;
				x.in_new = m.in_new;
				x.name = m.name;
				if (flags) {
					x.modseq = ++*hm;
					x.changed_by = 0;
					folder_index_rec_msg(recs, &x);
				}
				changes_add(c, FOLDER_CH_UPDATE, &x);
			}
			free(m.name);
			continue;
		}
		char p[4096];
		snprintf(p, sizeof(p), "%s", mb->msgs[i].path);
		m.date = file_date(p);
		m.modseq = ++*hm;
		size_t base = strcspn(m.name, ":");
		for (size_t j = 0; j < n_our; j++) {
			if (our[j] == NULL || strlen(our[j]) != base ||
			    memcmp(our[j], m.name, base) != 0)
				continue;
			m.kw = want[j].kw;
			if (want[j].date != 0)
				m.date = want[j].date;
			m.changed_by = tag;
			c->uids[j] = m.uid;
		}
		changes_add(c, FOLDER_CH_NEW, &m);
		folder_index_rec_msg(recs, &m);
		free(m.name);
	}
	c->uidnext = mb->uidnext;
}

/* reset - the UID list was rebuilt (new UIDVALIDITY): the whole folder
 * is new. */
static struct folder_changes *
reset(const struct folder *f)
{
	struct folder_changes *c = changes_new(f);
	char err[256];
	c->reset = true;
	c->replaced = folder_load(f->path, err, sizeof(err));
	if (c->replaced == NULL) {
		c->error = EIO;
		snprintf(c->err, sizeof(c->err), "%s", err);
	}
	return c;
}

struct folder_changes *
folder_sync(const struct folder *f)
{
	char err[256];
	struct strbuf recs = {0};
	struct mailbox *mb = mailbox_open(f->path, err, sizeof(err));
	if (mb == NULL) {
		struct folder_changes *c = changes_new(f);
		c->error = EIO;
		snprintf(c->err, sizeof(c->err), "%s", err);
		return c;
	}
	if (mb->uidvalidity != f->uidvalidity) {
		mailbox_free(&mb);
		return reset(f);
	}
	struct folder_changes *c = changes_new(f);
	uint64_t hm = f->highestmodseq;
	merge(f, mb, c, &recs, &hm, NULL, NULL, 0, 0);
	c->highestmodseq = hm;
	commit_log(f, c, &recs);
	free(recs.p);
	mailbox_free(&mb);
	return c;
}

/* --- STORE --- */

/* new_name - the file name with the info letters for flags: the system
 * letters replaced, any other letter (another program's) kept. */
static char *
new_name(const char *name, unsigned flags)
{
	size_t base = strcspn(name, ":");
	char sys[8], keep[32];
	size_t w = 0;
	folder_index_info(flags, sys);
	const char *info =
	    strncmp(name + base, ":2,", 3) == 0 ? name + base + 3 : "";
	for (; *info != '\0' && w + 1 < sizeof(keep); info++)
		if (strchr("DFRST", *info) == NULL &&
		    ((*info >= 'A' && *info <= 'Z') ||
		     (*info >= 'a' && *info <= 'z')))
			keep[w++] = *info;
	keep[w] = '\0';
	/* Maildir wants the letters in ASCII order. */
	char all[40];
	snprintf(all, sizeof(all), "%s%s", sys, keep);
	size_t n = strlen(all);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
			char t = all[j];
			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	return xasprintf("%.*s:2,%s", (int)base, name, all);
}

/* rename_flags - move m's file to cur/ with the letters of flags. Call
 * with the sync lock held. The new name into *name_r. */
static int
rename_flags(const struct folder *f, const struct folder_msg *m, unsigned flags,
	     char **name_r)
{
	char from[4096], to[4096];
	char *name = new_name(m->name, flags);
	folder_msg_path(f, m, from, sizeof(from));
	snprintf(to, sizeof(to), "%s/cur/%s", f->path, name);
	int r = rename(from, to);
	if (r < 0 && errno == ENOENT) {
		/* Renamed by someone else since: find it by its base. */
		char base[512];
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(m->name, ":"),
			 m->name);
		if (mailbox_find_file(f->path, base, from, sizeof(from)) == 0)
			r = rename(from, to);
	}
	if (r < 0) {
		int saved = errno;
		free(name);
		errno = saved;
		return -1;
	}
	*name_r = name;
	return 0;
}

/* keywords_of - bits for keyword names, adding new ones to c's table. */
static int
keywords_of(struct folder_changes *c, const struct folder *f,
	    const char *const *kw, size_t n, uint64_t *bits_r,
	    struct strbuf *recs)
{
	uint64_t bits = 0;
	for (size_t i = 0; i < n; i++) {
		size_t j = 0;
		for (; j < c->n_kw; j++) {
			const char *have = j < f->n_kw ? f->kw[j] : c->kw[j];
			if (strcasecmp(have, kw[i]) == 0)
				break;
		}
		if (j == c->n_kw) {
			if (c->n_kw == FOLDER_MAX_KEYWORDS ||
			    strlen(kw[i]) > FOLDER_KEYWORD_MAX)
				return -1;
			c->kw[c->n_kw++] = xstrdup(kw[i]);
			folder_index_rec_keyword(recs, j, kw[i]);
		}
		bits |= (uint64_t)1 << j;
	}
	*bits_r = bits;
	return 0;
}

struct folder_changes *
folder_store(const struct folder *f, const uint32_t *uids, size_t n, int op,
	     unsigned sys, const char *const *kw, size_t n_kw,
	     uint64_t unchangedsince, uint32_t tag)
{
	struct folder_changes *c = changes_new(f);
	struct strbuf recs = {0};
	uint64_t bits;

	/* Keywords new to the folder take the next free bits; kw[] of c
	 * holds (only) those until folder_apply. */
	for (size_t i = 0; i < f->n_kw; i++)
		c->kw[i] = NULL;
	if (keywords_of(c, f, kw, n_kw, &bits, &recs) < 0) {
		c->error = ENOSPC;
		snprintf(c->err, sizeof(c->err), "Too many keywords");
		free(recs.p);
		return c;
	}
	c->failed = xmalloc((n ? n : 1) * sizeof(*c->failed));
	uint64_t modseq = f->highestmodseq + 1;
	bool changed = false;
	int lockfd = -1;
	for (size_t i = 0; i < n; i++) {
		long k = folder_find(f, uids[i]);
		if (k < 0 || f->msgs[k].expunged != 0)
			continue;
		const struct folder_msg *m = &f->msgs[k];
		if (m->modseq > unchangedsince) {
			c->failed[c->n_failed++] = m->uid;
			continue;
		}
		unsigned nf = m->flags;
		uint64_t nk = m->kw;
		if (op == '+') {
			nf |= sys;
			nk |= bits;
		} else if (op == '-') {
			nf &= ~sys;
			nk &= ~bits;
		} else {
			nf = sys;
			nk = bits;
		}
		nf &= FOLDER_SYSFLAGS;
		if (nf == m->flags && nk == m->kw) {
			/* RFC 7162 §3.1.3: nothing changed, so no new MODSEQ
			 * — but with UNCHANGEDSINCE 0 it is a "change" the
			 * client asked to be checked: keep it simple and
			 * report the message as it is. */
			continue;
		}
		struct folder_msg x = *m;
		char *name = NULL;
		if (nf != m->flags) {
			if (lockfd < 0)
				lockfd = mailbox_sync_lock(f->path);
			if (rename_flags(f, m, nf, &name) < 0) {
				c->error = errno;
				snprintf(c->err, sizeof(c->err),
					 "cannot rename %s: %s", m->name,
					 strerror(errno));
				continue;
			}
			x.in_new = false;
		}
		x.flags = (uint8_t)nf;
		x.kw = nk;
		x.modseq = modseq;
		x.changed_by = tag;
		x.name = name ? name : NULL;
		struct folder_change *ch = changes_add(c, FOLDER_CH_UPDATE, &x);
		(void)ch;
		x.name = name ? name : m->name;
		folder_index_rec_msg(&recs, &x);
		free(name);
		changed = true;
	}
	if (lockfd >= 0) {
		/* The new names are durable before the OK, as the index
		 * record is: else a crash would bring the old flags back. */
		char d[4096];
		snprintf(d, sizeof(d), "%s/cur", f->path);
		fsutil_fsync_dir(d);
		snprintf(d, sizeof(d), "%s/new", f->path);
		fsutil_fsync_dir(d);
		close(lockfd);
	}
	if (changed)
		c->highestmodseq = modseq;
	commit_log(f, c, &recs);
	free(recs.p);
	return c;
}

/* --- EXPUNGE --- */

struct folder_changes *
folder_expunge(const struct folder *f, const uint32_t *uids, size_t n)
{
	struct folder_changes *c = changes_new(f);
	struct strbuf recs = {0};
	uint64_t modseq = f->highestmodseq + 1;
	int64_t bytes = 0, count = 0;
	int lockfd = n > 0 ? mailbox_sync_lock(f->path) : -1;

	for (size_t i = 0; i < n; i++) {
		long k = folder_find(f, uids[i]);
		if (k < 0 || f->msgs[k].expunged != 0)
			continue;
		const struct folder_msg *m = &f->msgs[k];
		char p[4096];
		folder_msg_path(f, m, p, sizeof(p));
		int r = unlink(p);
		if (r < 0 && errno == ENOENT) {
			char base[512];
			snprintf(base, sizeof(base), "%.*s",
				 (int)strcspn(m->name, ":"), m->name);
			if (mailbox_find_file(f->path, base, p, sizeof(p)) == 0)
				r = unlink(p);
			else
				r = 1; /* gone already: someone else's */
		}
		if (r < 0) {
			c->error = errno;
			snprintf(c->err, sizeof(c->err), "cannot remove %s: %s",
				 m->name, strerror(errno));
			continue;
		}
		if (r == 0) {
			bytes -= (int64_t)m->size;
			count--;
		}
		struct folder_msg x = *m;
		x.name = NULL;
		x.modseq = modseq;
		changes_add(c, FOLDER_CH_EXPUNGE, &x);
		folder_index_rec_expunge(&recs, x.uid, modseq);
	}
	if (lockfd >= 0) {
		if (c->n > 0) { /* an expunge must not come back */
			char d[4096];
			snprintf(d, sizeof(d), "%s/cur", f->path);
			fsutil_fsync_dir(d);
			snprintf(d, sizeof(d), "%s/new", f->path);
			fsutil_fsync_dir(d);
		}
		close(lockfd);
	}
	if (c->n > 0)
		c->highestmodseq = modseq;
	commit_log(f, c, &recs);
	free(recs.p);
	quota_change(f->path, bytes, count);
	return c;
}

/* --- COPY, MOVE, APPEND --- */

struct folder_changes *
folder_add(const struct folder *f, const struct folder_add *adds, size_t n,
	   uint32_t tag)
{
	struct folder_changes *c = changes_new(f);
	struct strbuf recs = {0};
	char **our = xcalloc(n ? n : 1, sizeof(*our));
	struct folder_msg *want = xcalloc(n ? n : 1, sizeof(*want));
	int64_t bytes = 0, count = 0;
	char err[256];

	c->uids = xcalloc(n ? n : 1, sizeof(*c->uids));
	c->n_uids = n;
	for (size_t i = 0; i < f->n_kw; i++)
		c->kw[i] = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct folder_add *a = &adds[i];
		char base[256], to[4096], info[8];
		if (keywords_of(c, f, a->kw, a->n_kw, &want[i].kw, &recs) < 0) {
			c->error = ENOSPC;
			snprintf(c->err, sizeof(c->err), "Too many keywords");
			continue;
		}
		maildir_unique_name(a->size, base, sizeof(base));
		folder_index_info(a->sys, info);
		if (a->sys != 0)
			snprintf(to, sizeof(to), "%s/cur/%s:2,%s", f->path,
				 base, info);
		else
			snprintf(to, sizeof(to), "%s/new/%s", f->path, base);
		int r;
		if (a->rename) {
			r = rename(a->src, to);
		} else {
			r = link(a->src, to);
			if (r < 0 && errno == ENOENT && a->src_folder != NULL) {
				/* The source was renamed (new flags) since. */
				char cur[4096];
				if (mailbox_find_file(a->src_folder,
						      a->src_base, cur,
						      sizeof(cur)) == 0)
					r = link(cur, to);
			}
			if (r < 0 && (errno == EXDEV || errno == EMLINK ||
				      errno == EPERM)) {
				/* Another file system: copy through tmp/. */
				int sfd = open(a->src, O_RDONLY | O_CLOEXEC);
				char tmp[4096];
				snprintf(tmp, sizeof(tmp), "%s/tmp/%s", f->path,
					 base);
				int dfd = sfd < 0 ? -1
						  : open(tmp,
							 O_WRONLY | O_CREAT |
							     O_EXCL | O_CLOEXEC,
							 0600);
				r = dfd < 0 || fsutil_copy_fd(sfd, dfd) < 0 ||
					    fsync(dfd) < 0 ||
					    rename(tmp, to) < 0
					? -1
					: 0;
				if (sfd >= 0)
					close(sfd);
				if (dfd >= 0)
					close(dfd);
			}
		}
		if (r < 0) {
			c->error = errno;
			snprintf(c->err, sizeof(c->err),
				 "cannot add a message: %s", strerror(errno));
			continue;
		}
		if (a->date > 0) {
			struct timespec ts[2] = {{a->date, 0}, {a->date, 0}};
			utimensat(AT_FDCWD, to, ts, 0);
		}
		want[i].date = a->date;
		our[i] = xstrdup(base);
		bytes += (int64_t)a->size;
		count++;
	}
	/* Durable before the caller says OK: the files (APPEND fsyncs its
	 * spool; a link is the same inode) and their directory entries. */
	if (count > 0) {
		char d[4096];
		snprintf(d, sizeof(d), "%s/cur", f->path);
		fsutil_fsync_dir(d);
		snprintf(d, sizeof(d), "%s/new", f->path);
		fsutil_fsync_dir(d);
	}
	/* The new files get their UIDs (after whatever else arrived). */
	struct mailbox *mb = mailbox_open(f->path, err, sizeof(err));
	if (mb == NULL) {
		c->error = EIO;
		snprintf(c->err, sizeof(c->err), "%s", err);
	} else if (mb->uidvalidity != f->uidvalidity) {
		/* Rebuilt underneath: the caller reloads. */
		c->error = ESTALE;
		snprintf(c->err, sizeof(c->err), "folder was rebuilt");
	} else {
		uint64_t hm = f->highestmodseq;
		merge(f, mb, c, &recs, &hm, (const char *const *)our, want, n,
		      tag);
		c->highestmodseq = hm;
	}
	commit_log(f, c, &recs);
	mailbox_free(&mb);
	for (size_t i = 0; i < n; i++)
		free(our[i]);
	free(our);
	free(want);
	free(recs.p);
	quota_change(f->path, bytes, count);
	return c;
}

/* --- the MIME cache --- */

struct imap_msg *
folder_cache_get(const struct folder *f, const struct folder_msg *m)
{
	if (m->cache_len == 0 || f->cache_fd < 0)
		return NULL;
	size_t len = CACHE_HDR + m->cache_len;
	unsigned char *buf = xmalloc(len);
	ssize_t r = pread(f->cache_fd, buf, len, (off_t)m->cache_off);
	struct imap_msg *msg = NULL;
	if (r == (ssize_t)len) {
		uint32_t uid = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 |
			       (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
		uint32_t n = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 |
			     (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 24;
		if (uid == m->uid && n == m->cache_len)
			msg = imap_msg_decode(buf + CACHE_HDR, n);
	}
	free(buf);
	return msg;
}

/* parse_file - the imap_msg of the message file at path. */
static struct imap_msg *parse_file(const char *path);

struct imap_msg *
folder_parse(const struct folder *f, const struct folder_msg *m)
{
	char p[4096];
	folder_msg_path(f, m, p, sizeof(p));
	struct imap_msg *im = parse_file(p);
	if (im == NULL && errno == ENOENT) {
		char base[512];
		snprintf(base, sizeof(base), "%.*s", (int)strcspn(m->name, ":"),
			 m->name);
		if (mailbox_find_file(f->path, base, p, sizeof(p)) == 0)
			im = parse_file(p);
	}
	return im;
}

static struct imap_msg *
parse_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct mime_parser *p = mime_parser_new(NULL);
	static _Thread_local char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		mime_parser_feed(p, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		mime_parser_free(&p);
		return NULL;
	}
	struct mime_tree *t = mime_parser_finish(&p);
	struct imap_msg *m = imap_msg_from_tree(t);
	mime_tree_free(&t);
	return m;
}

struct folder_changes *
folder_cache_fill(const struct folder *f, const uint32_t *uids, size_t n)
{
	struct folder_changes *c = changes_new(f);
	struct strbuf recs = {0}, data = {0};
	char p[4096];

	snprintf(p, sizeof(p), "%s/" CACHE_NAME, f->path);
	int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		c->error = errno;
		snprintf(c->err, sizeof(c->err), "cannot open the cache: %s",
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return c;
	}
	uint64_t end = (uint64_t)st.st_size;
	size_t first = c->n;
	for (size_t i = 0; i < n; i++) {
		long k = folder_find(f, uids[i]);
		if (k < 0 || f->msgs[k].expunged || f->msgs[k].cache_len > 0)
			continue;
		const struct folder_msg *m = &f->msgs[k];
		char mp[4096];
		folder_msg_path(f, m, mp, sizeof(mp));
		struct imap_msg *im = parse_file(mp);
		if (im == NULL && errno == ENOENT) {
			char base[512];
			snprintf(base, sizeof(base), "%.*s",
				 (int)strcspn(m->name, ":"), m->name);
			if (mailbox_find_file(f->path, base, mp, sizeof(mp)) ==
			    0)
				im = parse_file(mp);
		}
		if (im == NULL)
			continue; /* gone: the next sync says so */
		size_t at = data.len;
		unsigned char hdr[CACHE_HDR] = {0};
		strbuf_add(&data, (const char *)hdr, CACHE_HDR);
		imap_msg_encode(im, &data);
		imap_msg_free(&im);
		uint32_t len = (uint32_t)(data.len - at - CACHE_HDR);
		if (len == 0) {
			data.len = at;
			continue;
		}
		unsigned char *h = (unsigned char *)data.p + at;
		for (int b = 0; b < 4; b++) {
			h[b] = (unsigned char)(m->uid >> (8 * b));
			h[4 + b] = (unsigned char)(len >> (8 * b));
		}
		struct folder_msg x = *m;
		x.name = NULL;
		x.cache_off = end + at;
		x.cache_len = len;
		changes_add(c, FOLDER_CH_UPDATE, &x);
	}
	/* The cache first, then the index that points into it. */
	if (data.len > 0 &&
	    (fsutil_write_all(fd, data.p, data.len) < 0 || fdatasync(fd) < 0)) {
		c->error = errno;
		snprintf(c->err, sizeof(c->err), "cannot write the cache: %s",
			 strerror(errno));
		for (size_t i = first; i < c->n; i++)
			free(c->v[i].msg.name);
		c->n = first;
	} else {
		for (size_t i = first; i < c->n; i++) {
			struct folder_msg x = c->v[i].msg;
			long k = folder_find(f, x.uid);
			x.name = f->msgs[k].name;
			folder_index_rec_msg(&recs, &x);
		}
		c->cache_size = end + data.len;
	}
	close(fd);
	commit_log(f, c, &recs);
	free(recs.p);
	free(data.p);
	return c;
}

/* --- compaction --- */

bool
folder_needs_compact(const struct folder *f)
{
	return f->log_size > LOG_COMPACT_MIN && f->log_size > f->snap_size / 2;
}

int
folder_compact(const struct folder *f, uint64_t *gen_r, uint64_t *snap_size_r)
{
	uint64_t gen = f->gen + 1;
	if (folder_index_snapshot(f->path, f, gen, snap_size_r) < 0)
		return -1;
	*gen_r = gen;
	return 0;
}

/* --- on the loop --- */

static void
van_add(struct folder *f, uint32_t uid, uint64_t modseq)
{
	/* Mostly the newest messages go: try to extend the last range. */
	if (f->n_van > 0) {
		struct folder_vanished *v = &f->van[f->n_van - 1];
		if ((uint64_t)v->hi + 1 == uid) {
			v->hi = uid;
			if (modseq > v->modseq)
				v->modseq = modseq;
			return;
		}
		if (uid > v->hi || f->n_van == 0)
			goto append;
		/* Out of order: insert sorted. */
		size_t i = 0;
		while (i < f->n_van && f->van[i].lo < uid)
			i++;
		f->van = xrealloc(f->van, (f->n_van + 1) * sizeof(*f->van));
		memmove(f->van + i + 1, f->van + i,
			(f->n_van - i) * sizeof(*f->van));
		f->van[i] = (struct folder_vanished){uid, uid, modseq};
		f->n_van++;
		return;
	}
append:
	f->van = xrealloc(f->van, (f->n_van + 1) * sizeof(*f->van));
	f->van[f->n_van++] = (struct folder_vanished){uid, uid, modseq};
}

static void
insert_msg(struct folder *f, struct folder_msg *m)
{
	if (f->n == 0 || f->msgs[f->n - 1].uid < m->uid) {
		folder_push(f, m);
		return;
	}
	size_t i = 0;
	while (i < f->n && f->msgs[i].uid < m->uid)
		i++;
	if (i < f->n && f->msgs[i].uid == m->uid) {
		free(f->msgs[i].name);
		f->msgs[i] = *m;
		return;
	}
	folder_push(f, m);
	memmove(f->msgs + i + 1, f->msgs + i,
		(f->n - 1 - i) * sizeof(*f->msgs));
	f->msgs[i] = *m;
}

void
folder_apply(struct folder *f, struct folder_changes *c)
{
	if (c->reset && c->replaced != NULL) {
		/* Take the new folder's contents; keep the struct (callers
		 * hold pointers to it). */
		struct folder *r = c->replaced;
		struct folder tmp = *f;
		*f = *r;
		*r = tmp;
		return;
	}
	for (size_t i = f->n_kw; i < c->n_kw; i++) {
		f->kw[i] = c->kw[i];
		c->kw[i] = NULL;
	}
	if (c->n_kw > f->n_kw)
		f->n_kw = c->n_kw;
	c->n_kw = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct folder_change *ch = &c->v[i];
		if (ch->kind == FOLDER_CH_NEW) {
			insert_msg(f, &ch->msg);
			f->n_live++;
			ch->msg.name = NULL;
			continue;
		}
		long k = folder_find(f, ch->msg.uid);
		if (k < 0)
			continue;
		struct folder_msg *m = &f->msgs[k];
		if (ch->kind == FOLDER_CH_EXPUNGE) {
			if (m->expunged == 0) {
				m->expunged = ch->msg.modseq;
				f->n_live--;
				van_add(f, m->uid, ch->msg.modseq);
			}
			continue;
		}
		m->flags = ch->msg.flags;
		m->kw = ch->msg.kw;
		m->modseq = ch->msg.modseq;
		m->changed_by = ch->msg.changed_by;
		m->cache_off = ch->msg.cache_off;
		m->cache_len = ch->msg.cache_len;
		if (ch->msg.name != NULL) {
			free(m->name);
			m->name = ch->msg.name;
			m->in_new = ch->msg.in_new;
			ch->msg.name = NULL;
		}
	}
	if (c->highestmodseq > f->highestmodseq)
		f->highestmodseq = c->highestmodseq;
	if (c->uidnext > f->uidnext)
		f->uidnext = c->uidnext;
	if (c->cache_size > f->cache_size)
		f->cache_size = c->cache_size;
	if (c->log_size > 0)
		f->log_size = c->log_size;
	if (c->recent_logged > f->recent_logged)
		f->recent_logged = c->recent_logged;
}

void
folder_drop_tombstones(struct folder *f,
		       bool (*keep)(const struct folder_msg *m, void *arg),
		       void *arg)
{
	size_t w = 0;
	for (size_t i = 0; i < f->n; i++) {
		struct folder_msg *m = &f->msgs[i];
		if (m->expunged != 0 && !keep(m, arg)) {
			free(m->name);
			continue;
		}
		f->msgs[w++] = *m;
	}
	f->n = w;
}

void
folder_vanished_since(const struct folder *f, uint64_t modseq,
		      void (*cb)(uint32_t lo, uint32_t hi, void *arg),
		      void *arg)
{
	for (size_t i = 0; i < f->n_van; i++)
		if (f->van[i].modseq > modseq)
			cb(f->van[i].lo, f->van[i].hi, arg);
}
