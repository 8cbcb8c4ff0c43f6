#include "store/mailbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/folder.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"

#define INDEX_NAME     "petrel-uidlist"
#define INDEX_TMP_NAME "petrel-uidlist.tmp"
#define LOCK_NAME      "petrel-uidlist.lock"
#define POP3_LOCK_NAME "petrel-pop3.lock"
#define INDEX_MAGIC    "petrel-uidlist 1 "
/* 100 bytes a line for ten million messages: far beyond a real folder. */
#define INDEX_MAX ((size_t)1 << 30)

/* One file seen in new/ or cur/ during a sync. */
struct scanned {
	char *name;	/* file name, with any ":2,FLAGS" */
	size_t baselen; /* length of the name before ':' */
	int in_cur;
	uint32_t uid; /* 0 until matched or assigned */
};

struct scan {
	struct scanned *v;
	size_t n, cap;
};

/* The index as read from disk. */
struct index {
	uint32_t uidvalidity, uidnext;
	size_t listed;	     /* entries in the file */
	int exists;	     /* the file was there */
	const char *corrupt; /* why it cannot be used, or NULL */
};

static void
set_err(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
}

/* flock with EINTR retried (a signal may interrupt a blocking lock). */
static int
lock_fd(int fd, int op)
{
	int r;
	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r;
}

int
mailbox_sync_lock(const char *path)
{
	char lp[4096];
	int fd;

	if ((size_t)snprintf(lp, sizeof(lp), "%s/" LOCK_NAME, path) >=
	    sizeof(lp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (lock_fd(fd, LOCK_EX) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* parse_u32 - digits only, 0..UINT32_MAX, at most 10 of them. */
static int
parse_u32(const char *s, size_t len, uint32_t *n_r)
{
	uint64_t v;

	if (len > 10 || num_parse(s, len, UINT32_MAX, &v) < 0)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

static int
cmp_base(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
cmp_scanned_base(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;
	int c = cmp_base(x->name, x->baselen, y->name, y->baselen);
	/* Equal bases: new/ first, so the cur/ copy is the one kept. */
	return c != 0 ? c : x->in_cur - y->in_cur;
}

/*
 * cmp_arrival - name order with digit runs compared as numbers:
 * "TIME.M<usec>P<pid>N<seq>.host" then sorts by arrival even where
 * usec or seq has fewer digits. Ties fall back to the plain name.
 */
static int
cmp_arrival(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;
	const char *p = x->name, *q = y->name;
	const char *pe = p + x->baselen, *qe = q + y->baselen;

	while (p < pe && q < qe) {
		if (*p >= '0' && *p <= '9' && *q >= '0' && *q <= '9') {
			const char *ps, *qs;
			while (p < pe - 1 && *p == '0' && p[1] >= '0' &&
			       p[1] <= '9')
				p++;
			while (q < qe - 1 && *q == '0' && q[1] >= '0' &&
			       q[1] <= '9')
				q++;
			ps = p;
			qs = q;
			while (p < pe && *p >= '0' && *p <= '9')
				p++;
			while (q < qe && *q >= '0' && *q <= '9')
				q++;
			if (p - ps != q - qs)
				return p - ps < q - qs ? -1 : 1;
			int c = memcmp(ps, qs, (size_t)(p - ps));
			if (c != 0)
				return c;
			continue;
		}
		if (*p != *q)
			return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
		p++;
		q++;
	}
	if ((p < pe) != (q < qe))
		return p < pe ? 1 : -1;
	return cmp_base(x->name, x->baselen, y->name, y->baselen);
}

static int
cmp_scanned_uid(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static void
scan_free(struct scan *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

/* scan_dir - append the messages of path/sub to s. 0 or -1. */
static int
scan_dir(struct scan *s, const char *path, const char *sub, int in_cur)
{
	char dp[4096];
	DIR *d;
	struct dirent *de;

	snprintf(dp, sizeof(dp), "%s/%s", path, sub);
	d = opendir(dp);
	if (d == NULL)
		return -1;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		const char *name = de->d_name;
		size_t baselen = strcspn(name, ":");
		/* Dot files are not messages; a name with a newline could
		 * not be written in the index. */
		if (name[0] == '.' || baselen == 0 || strchr(name, '\n'))
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 64;
			s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
		}
		s->v[s->n].name = xstrdup(name);
		s->v[s->n].baselen = baselen;
		s->v[s->n].in_cur = in_cur;
		s->v[s->n].uid = 0;
		s->n++;
	}
	int saved = errno;
	closedir(d);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

static struct scanned *
find_base(struct scan *s, const char *base, size_t len)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_base(s->v[mid].name, s->v[mid].baselen, base, len);
		if (c == 0)
			return &s->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * read_index - parse petrel-uidlist and give each listed file that still
 * exists its UID. Strict: a header, then "UID BASENAME" lines with UIDs
 * ascending and below UIDNEXT, each ended by a newline (a missing last
 * newline means a torn write). On any doubt idx->corrupt says why and no
 * UID is kept: a fresh UIDVALIDITY is safer than a wrong UID.
 */
static int
read_index(const char *path, struct scan *s, struct index *idx)
{
	char ip[4096];
	char *buf, *p, *end, *nl;
	size_t len;
	uint32_t last = 0;

	memset(idx, 0, sizeof(*idx));
	snprintf(ip, sizeof(ip), "%s/" INDEX_NAME, path);
	buf = fsutil_read_file(ip, INDEX_MAX, &len);
	if (buf == NULL) {
		if (errno == ENOENT)
			return 0;
		if (errno != EFBIG)
			return -1;
		idx->exists = 1;
		idx->corrupt = "too large";
		return 0;
	}
	idx->exists = 1;
	p = buf;
	end = buf + len;
	nl = memchr(p, '\n', len);
	if (nl == NULL || (size_t)(nl - p) < sizeof(INDEX_MAGIC) - 1 ||
	    memcmp(p, INDEX_MAGIC, sizeof(INDEX_MAGIC) - 1) != 0) {
		idx->corrupt = "bad header";
		goto out;
	}
	p += sizeof(INDEX_MAGIC) - 1;
	char *sp = memchr(p, ' ', (size_t)(nl - p));
	if (sp == NULL || parse_u32(p, (size_t)(sp - p), &idx->uidvalidity) ||
	    parse_u32(sp + 1, (size_t)(nl - sp - 1), &idx->uidnext) ||
	    idx->uidvalidity == 0 || idx->uidnext == 0) {
		idx->uidvalidity = 0;
		idx->corrupt = "bad header";
		goto out;
	}
	for (p = nl + 1; p < end; p = nl + 1) {
		uint32_t uid;
		struct scanned *f;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			idx->corrupt = "torn last line";
			break;
		}
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || parse_u32(p, (size_t)(sp - p), &uid) < 0 ||
		    uid <= last || uid >= idx->uidnext || sp + 1 == nl ||
		    memchr(sp + 1, '\0', (size_t)(nl - sp - 1)) ||
		    memchr(sp + 1, '/', (size_t)(nl - sp - 1)) ||
		    memchr(sp + 1, ':', (size_t)(nl - sp - 1))) {
			idx->corrupt = "bad line";
			break;
		}
		last = uid;
		idx->listed++;
		f = find_base(s, sp + 1, (size_t)(nl - sp - 1));
		if (f != NULL) {
			if (f->uid != 0) {
				idx->corrupt = "duplicate name";
				break;
			}
			f->uid = uid;
		}
	}
out:
	if (idx->corrupt != NULL)
		for (size_t i = 0; i < s->n; i++)
			s->v[i].uid = 0;
	free(buf);
	return 0;
}

/*
 * new_uidvalidity - the current time, but strictly above any value this
 * folder had before: the old index's, and the last one recorded in the
 * lock file (which survives an index whose header is unreadable). RFC
 * 3501 §2.3.1.1: a client that cached UIDs must see a different value.
 */
static uint32_t
new_uidvalidity(int lockfd, uint32_t old)
{
	char buf[32];
	ssize_t n = pread(lockfd, buf, sizeof(buf) - 1, 0);
	uint32_t recorded = 0, v = (uint32_t)time(NULL);

	if (n > 0) {
		buf[n] = '\0';
		size_t digits = strspn(buf, "0123456789");
		if (parse_u32(buf, digits, &recorded) < 0)
			recorded = 0;
	}
	if (old > recorded)
		recorded = old;
	if (v <= recorded)
		v = recorded + 1;
	if (v == 0) /* wrapped past UINT32_MAX: start again low */
		v = 1;
	n = snprintf(buf, sizeof(buf), "%" PRIu32 "\n", v);
	if (pwrite(lockfd, buf, (size_t)n, 0) != n || ftruncate(lockfd, n) < 0)
		log_warn("cannot record UIDVALIDITY in lock file: %s",
			 strerror(errno));
	return v;
}

/* write_index - temp file, fsync, rename over the index, fsync the
 * folder: a crash leaves the old index or the new one, never half. */
static int
write_index(const char *path, const struct scan *s, const struct index *idx)
{
	char tp[4096], ip[4096];
	size_t cap = 64 + s->n * 64, len = 0;
	char *buf = xmalloc(cap);
	int fd, n;

	n = snprintf(buf, cap, INDEX_MAGIC "%" PRIu32 " %" PRIu32 "\n",
		     idx->uidvalidity, idx->uidnext);
	len = (size_t)n;
	for (size_t i = 0; i < s->n; i++) {
		size_t need = s->v[i].baselen + 16;
		if (len + need > cap) {
			cap = 2 * cap + need;
			buf = xrealloc(buf, cap);
		}
		len += (size_t)snprintf(buf + len, cap - len, "%" PRIu32 " ",
					s->v[i].uid);
		memcpy(buf + len, s->v[i].name, s->v[i].baselen);
		len += s->v[i].baselen;
		buf[len++] = '\n';
	}
	snprintf(tp, sizeof(tp), "%s/" INDEX_TMP_NAME, path);
	snprintf(ip, sizeof(ip), "%s/" INDEX_NAME, path);
	/* A temp file left by a crashed writer is simply overwritten: only
	 * the lock holder writes it. */
	fd = open(tp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	if (fsutil_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tp);
		free(buf);
		errno = saved;
		return -1;
	}
	free(buf);
	if (close(fd) < 0 || rename(tp, ip) < 0) {
		int saved = errno;
		unlink(tp);
		errno = saved;
		return -1;
	}
	return fsutil_fsync_dir(path);
}

/* parse_size - the N of ",S=N" in a base name, or -1. */
static int
parse_size(const char *base, size_t len, uint64_t *size_r)
{
	for (size_t i = 0; i + 3 <= len; i++) {
		if (memcmp(base + i, ",S=", 3) != 0)
			continue;
		uint64_t v = 0;
		size_t j = i + 3;
		if (j == len || base[j] < '0' || base[j] > '9')
			return -1;
		for (; j < len && base[j] >= '0' && base[j] <= '9'; j++) {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(base[j] - '0');
		}
		if (j < len && base[j] != ',')
			return -1;
		*size_r = v;
		return 0;
	}
	return -1;
}

/* normalize_flags - the upper-case letters of in, sorted, once each,
 * into out[16]. Lower-case keyword letters are not kept. */
static void
normalize_flags(const char *in, size_t len, char out[16])
{
	int seen[26] = {0};
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		if (in[i] >= 'A' && in[i] <= 'Z')
			seen[in[i] - 'A'] = 1;
	for (int c = 0; c < 26 && w < 15; c++)
		if (seen[c])
			out[w++] = (char)('A' + c);
	out[w] = '\0';
}

/* fill_msg - the snapshot entry for a scanned file. */
static void
fill_msg(struct mailbox_msg *m, const char *path, const struct scanned *f)
{
	const char *info = f->name + f->baselen;

	m->uid = f->uid;
	m->basename = xstrndup(f->name, f->baselen);
	m->path =
	    xasprintf("%s/%s/%s", path, f->in_cur ? "cur" : "new", f->name);
	m->flags[0] = '\0';
	/* Maildir info: ":2," then the flag letters. */
	if (strncmp(info, ":2,", 3) == 0)
		normalize_flags(info + 3, strlen(info + 3), m->flags);
	if (parse_size(f->name, f->baselen, &m->size) < 0) {
		struct stat st;
		m->size = stat(m->path, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
}

/*
 * sync_locked - with the lock held: scan, match against the index, give
 * new files UIDs, save the index if it changed, fill the snapshot.
 */
static int
sync_locked(struct mailbox *mb, int lockfd, char *err, size_t errlen)
{
	struct scan s = {NULL, 0, 0};
	struct index idx;
	size_t w, n_new = 0, n_known = 0;
	int changed = 0;

	/* new/ before cur/: a message moved between the two scans is seen
	 * twice (and deduplicated), never missed. */
	if (scan_dir(&s, mb->path, "new", 0) < 0 ||
	    scan_dir(&s, mb->path, "cur", 1) < 0) {
		set_err(err, errlen, "cannot read", mb->path);
		goto fail;
	}
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), cmp_scanned_base);
	/* Drop duplicates (new/ and cur/ both listed), keeping cur/. */
	w = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (i + 1 < s.n &&
		    cmp_base(s.v[i].name, s.v[i].baselen, s.v[i + 1].name,
			     s.v[i + 1].baselen) == 0) {
			free(s.v[i].name);
			continue;
		}
		s.v[w++] = s.v[i];
	}
	s.n = w;

	if (read_index(mb->path, &s, &idx) < 0) {
		set_err(err, errlen, "cannot read index of", mb->path);
		goto fail;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.v[i].uid == 0)
			n_new++;
		else
			n_known++;
	}
	if (!idx.exists || idx.corrupt != NULL) {
		uint32_t v = new_uidvalidity(lockfd, idx.uidvalidity);
		if (idx.corrupt != NULL && idx.uidvalidity != 0)
			log_warn("%s: " INDEX_NAME " corrupt (%s): rebuilt, "
				 "UIDVALIDITY %" PRIu32 " -> %" PRIu32,
				 mb->path, idx.corrupt, idx.uidvalidity, v);
		else if (idx.corrupt != NULL)
			log_warn("%s: " INDEX_NAME " corrupt (%s): rebuilt, "
				 "new UIDVALIDITY %" PRIu32,
				 mb->path, idx.corrupt, v);
		idx.uidvalidity = v;
		idx.uidnext = 1;
		changed = 1;
	} else if ((uint64_t)idx.uidnext + n_new > UINT32_MAX) {
		/* UIDs are 32 bits and never reused (RFC 3501 §2.3.1.1):
		 * once spent, only a new UIDVALIDITY can renumber. */
		uint32_t v = new_uidvalidity(lockfd, idx.uidvalidity);
		log_warn("%s: UIDs exhausted: renumbered, UIDVALIDITY %" PRIu32
			 " -> %" PRIu32,
			 mb->path, idx.uidvalidity, v);
		for (size_t i = 0; i < s.n; i++)
			s.v[i].uid = 0;
		n_new = s.n;
		n_known = 0;
		idx.uidvalidity = v;
		idx.uidnext = 1;
		changed = 1;
	}
	/* Listed files that are gone leave the index. */
	if (idx.listed != n_known)
		changed = 1;

	/* New files, in arrival order, after every known one. */
	if (s.n > 0)
		qsort(s.v, s.n, sizeof(*s.v), cmp_scanned_uid);
	if (n_new > 0) {
		qsort(s.v, n_new, sizeof(*s.v), cmp_arrival);
		for (size_t i = 0; i < n_new; i++)
			s.v[i].uid = idx.uidnext++;
		qsort(s.v, s.n, sizeof(*s.v), cmp_scanned_uid);
		changed = 1;
	}
	if (changed && write_index(mb->path, &s, &idx) < 0) {
		/* UIDs not on disk must not be handed out. */
		set_err(err, errlen, "cannot write index of", mb->path);
		goto fail;
	}
	mb->uidvalidity = idx.uidvalidity;
	mb->uidnext = idx.uidnext;
	mb->n = s.n;
	mb->msgs = s.n > 0 ? xcalloc(s.n, sizeof(*mb->msgs)) : NULL;
	for (size_t i = 0; i < s.n; i++)
		fill_msg(&mb->msgs[i], mb->path, &s.v[i]);
	scan_free(&s);
	return 0;
fail:
	scan_free(&s);
	return -1;
}

struct mailbox *
mailbox_open(const char *path, char *err, size_t errlen)
{
	struct mailbox *mb;
	int lockfd;

	if (strlen(path) > 3000) {
		snprintf(err, errlen, "mailbox path too long");
		return NULL;
	}
	if (maildir_create(path) < 0) {
		set_err(err, errlen, "cannot create", path);
		return NULL;
	}
	lockfd = mailbox_sync_lock(path);
	if (lockfd < 0) {
		set_err(err, errlen, "cannot lock", path);
		return NULL;
	}
	mb = xcalloc(1, sizeof(*mb));
	mb->path = xstrdup(path);
	if (sync_locked(mb, lockfd, err, errlen) < 0) {
		close(lockfd);
		mailbox_free(&mb);
		return NULL;
	}
	close(lockfd);
	return mb;
}

void
mailbox_free(struct mailbox **mbp)
{
	struct mailbox *mb = *mbp;

	if (mb == NULL)
		return;
	for (size_t i = 0; i < mb->n; i++) {
		free(mb->msgs[i].basename);
		free(mb->msgs[i].path);
	}
	free(mb->msgs);
	free(mb->path);
	free(mb);
	*mbp = NULL;
}

int
mailbox_find_file(const char *path, const char *base, char *out, size_t outlen)
{
	static const char *const subs[] = {"cur", "new"};
	size_t blen = strlen(base);

	for (size_t i = 0; i < 2; i++) {
		char dp[4096];
		DIR *d;
		struct dirent *de;

		snprintf(dp, sizeof(dp), "%s/%s", path, subs[i]);
		d = opendir(dp);
		if (d == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, base, blen) != 0 ||
			    (de->d_name[blen] != '\0' &&
			     de->d_name[blen] != ':'))
				continue;
			snprintf(out, outlen, "%s/%s", dp, de->d_name);
			closedir(d);
			return 0;
		}
		closedir(d);
	}
	errno = ENOENT;
	return -1;
}

/* quota_removed - a message left the folder: tell the user's usage
 * (store/quota.h; a Maildir++ sub-folder's is its parent's). */
static void
quota_removed(const char *path, uint64_t size)
{
	char root[4096];
	if (folder_quota_root(path, root, sizeof(root)) == 0)
		quota_add(root, -(int64_t)size, -1);
}

int
mailbox_delete(struct mailbox *mb, size_t i)
{
	char cur[8192];
	int lockfd, r;

	if (i >= mb->n) {
		errno = EINVAL;
		return -1;
	}
	if (unlink(mb->msgs[i].path) == 0) {
		quota_removed(mb->path, mb->msgs[i].size);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	/* Renamed by another session since the snapshot: find it. */
	lockfd = mailbox_sync_lock(mb->path);
	if (lockfd < 0)
		return -1;
	r = 0;
	if (mailbox_find_file(mb->path, mb->msgs[i].basename, cur,
			      sizeof(cur)) == 0) {
		if (unlink(cur) == 0)
			quota_removed(mb->path, mb->msgs[i].size);
		else if (errno != ENOENT)
			r = -1;
	}
	close(lockfd);
	return r;
}

int
mailbox_set_flags(struct mailbox *mb, size_t i, const char *flags)
{
	struct mailbox_msg *m;
	char norm[16], cur[8192];
	char *newpath;
	int lockfd, r;

	if (i >= mb->n) {
		errno = EINVAL;
		return -1;
	}
	m = &mb->msgs[i];
	/* Only the Maildir flag letters: anything else in a name would be
	 * read back as something else. */
	for (const char *f = flags; *f != '\0'; f++)
		if (*f < 'A' || *f > 'Z') {
			errno = EINVAL;
			return -1;
		}
	normalize_flags(flags, strlen(flags), norm);
	newpath = xasprintf("%s/cur/%s:2,%s", mb->path, m->basename, norm);
	if (strcmp(newpath, m->path) == 0) {
		free(newpath);
		return 0;
	}
	/* Renames happen under the sync lock, so a sync never scans cur/
	 * while a message is between two names. */
	lockfd = mailbox_sync_lock(mb->path);
	if (lockfd < 0) {
		free(newpath);
		return -1;
	}
	r = rename(m->path, newpath);
	if (r < 0 && errno == ENOENT &&
	    mailbox_find_file(mb->path, m->basename, cur, sizeof(cur)) == 0)
		r = rename(cur, newpath);
	int saved = errno;
	close(lockfd);
	if (r < 0) {
		free(newpath);
		errno = saved;
		return -1;
	}
	free(m->path);
	m->path = newpath;
	memcpy(m->flags, norm, sizeof(m->flags));
	return 0;
}

int
mailbox_lock_exclusive(const char *path)
{
	char lp[4096];
	int fd;

	if ((size_t)snprintf(lp, sizeof(lp), "%s/" POP3_LOCK_NAME, path) >=
	    sizeof(lp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		/* A user who never got mail has no folder yet. */
		if (maildir_create(path) < 0)
			return -1;
		fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return -1;
	/* RFC 1939 §8: one session at a time holds the maildrop. */
	if (lock_fd(fd, LOCK_EX | LOCK_NB) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}
