#include "store/folders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/maildir.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define SUBS_NAME "subscriptions"

static const struct {
	const char *name;
	unsigned use;
} defaults[] = {
    {"Drafts", FOLDERS_DRAFTS},	  {"Sent", FOLDERS_SENT},
    {"Trash", FOLDERS_TRASH},	  {"Junk", FOLDERS_JUNK},
    {"Archive", FOLDERS_ARCHIVE},
};
#define N_DEFAULTS (sizeof(defaults) / sizeof(defaults[0]))

bool
folders_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > FOLDERS_NAME_MAX)
		return false;
	if (strcmp(name, "INBOX") == 0)
		return true;
	bool level_start = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '%' || c == '*')
			return false;
		if (c == '.') {
			/* No empty level ("a..b", ".a", "a."). */
			if (level_start)
				return false;
			level_start = true;
			continue;
		}
		level_start = false;
	}
	return !level_start;
}

int
folders_path(const char *root, const char *name, char *out, size_t outlen)
{
	int n;
	if (!folders_name_ok(name))
		return -1;
	if (strcmp(name, "INBOX") == 0)
		n = snprintf(out, outlen, "%s", root);
	else
		n = snprintf(out, outlen, "%s/.%s", root, name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

unsigned
folders_special_use(const char *name)
{
	for (size_t i = 0; i < N_DEFAULTS; i++)
		if (strcmp(defaults[i].name, name) == 0)
			return defaults[i].use;
	return 0;
}

/* make_folder - a Maildir++ sub-folder with its "maildirfolder" mark. */
static int
make_folder(const char *path)
{
	char mark[4096];
	if (maildir_create(path) < 0)
		return -1;
	snprintf(mark, sizeof(mark), "%s/maildirfolder", path);
	int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* --- subscriptions --- */

struct names {
	size_t n, cap;
	char **v;
};

static void
names_add(struct names *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrndup(s, len);
}

static void
names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool
names_has(const struct names *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* read_subs - 1 read, 0 no file, -1 error. */
static int
read_subs(const char *root, struct names *l)
{
	char p[4096];
	size_t len;
	snprintf(p, sizeof(p), "%s/" SUBS_NAME, root);
	char *text = fsutil_read_file(p, 1 << 20, &len);
	if (text == NULL)
		return errno == ENOENT ? 0 : -1;
	for (char *s = text, *end = text + len; s < end;) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (n > 0 && !names_has(l, s))
			names_add(l, s, n);
		s += n + 1;
	}
	free(text);
	return 1;
}

static int
write_subs(const char *root, const struct names *l)
{
	char p[4096];
	struct strbuf sb = {0};
	snprintf(p, sizeof(p), "%s/" SUBS_NAME, root);
	for (size_t i = 0; i < l->n; i++)
		strbuf_addf(&sb, "%s\n", l->v[i]);
	int r = fsutil_write_atomic(p, sb.p ? sb.p : "", sb.len);
	free(sb.p);
	return r;
}

int
folders_subscribe(const char *root, const char *name, bool on)
{
	struct names l = {0};
	if (read_subs(root, &l) < 0)
		return -1;
	bool had = names_has(&l, name);
	if (on && !had)
		names_add(&l, name, strlen(name));
	if (!on && had) {
		size_t w = 0;
		for (size_t i = 0; i < l.n; i++) {
			if (strcmp(l.v[i], name) == 0)
				free(l.v[i]);
			else
				l.v[w++] = l.v[i];
		}
		l.n = w;
	}
	int r = on == had ? 0 : write_subs(root, &l);
	names_free(&l);
	return r;
}

int
folders_init(const char *root)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/" SUBS_NAME, root);
	if (stat(p, &st) == 0)
		return 0;
	if (maildir_create(root) < 0)
		return -1;
	struct names l = {0};
	names_add(&l, "INBOX", 5);
	for (size_t i = 0; i < N_DEFAULTS; i++) {
		snprintf(p, sizeof(p), "%s/.%s", root, defaults[i].name);
		if (make_folder(p) < 0) {
			names_free(&l);
			return -1;
		}
		names_add(&l, defaults[i].name, strlen(defaults[i].name));
	}
	int r = write_subs(root, &l);
	names_free(&l);
	return r;
}

/* --- listing --- */

static int
cmp_entry(const void *a, const void *b)
{
	const struct folders_entry *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0,
	     yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static struct folders_entry *
find_entry(struct folders_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static struct folders_entry *
add_entry(struct folders_list *l, const char *name, size_t len)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	struct folders_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrndup(name, len);
	e->special = folders_special_use(e->name);
	return e;
}

static bool
is_folder_dir(const char *root, const char *dname)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s/cur", root, dname);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int
folders_list(const char *root, struct folders_list *out)
{
	memset(out, 0, sizeof(*out));
	add_entry(out, "INBOX", 5);
	DIR *d = opendir(root);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			const char *n = de->d_name;
			if (n[0] != '.' || !folders_name_ok(n + 1) ||
			    strcmp(n + 1, "INBOX") == 0 ||
			    strncmp(n, ".petrel-deleted.", 16) == 0 ||
			    !is_folder_dir(root, n))
				continue;
			add_entry(out, n + 1, strlen(n + 1));
		}
		closedir(d);
	} else if (errno != ENOENT) {
		folders_list_free(out);
		return -1;
	}
	/* Parents that are not folders themselves (made by another
	 * program, or left by a rename): \Noselect. */
	for (size_t i = 0; i < out->n; i++) {
		char name[FOLDERS_NAME_MAX + 1];
		snprintf(name, sizeof(name), "%s", out->v[i].name);
		char *dot;
		while ((dot = strrchr(name, '.')) != NULL) {
			*dot = '\0';
			struct folders_entry *p = find_entry(out, name);
			if (p == NULL) {
				p = add_entry(out, name, strlen(name));
				p->noselect = true;
			}
			p->children = true;
		}
	}
	struct names subs = {0};
	if (read_subs(root, &subs) < 0) {
		folders_list_free(out);
		return -1;
	}
	for (size_t i = 0; i < subs.n; i++) {
		struct folders_entry *e = find_entry(out, subs.v[i]);
		if (e == NULL) {
			e = add_entry(out, subs.v[i], strlen(subs.v[i]));
			e->nonexistent = true;
		}
		e->subscribed = true;
	}
	names_free(&subs);
	qsort(out->v, out->n, sizeof(*out->v), cmp_entry);
	return 0;
}

void
folders_list_free(struct folders_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

bool
folders_exists(const char *root, const char *name)
{
	char p[4096];
	if (strcmp(name, "INBOX") == 0)
		return true;
	if (folders_path(root, name, p, sizeof(p)) < 0)
		return false;
	struct stat st;
	char cur[4200];
	snprintf(cur, sizeof(cur), "%s/cur", p);
	return stat(cur, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --- changes --- */

static int
refuse(const char **code_r, const char *code, char *err, size_t errlen,
       const char *why)
{
	*code_r = code;
	snprintf(err, errlen, "%s", why);
	return -1;
}

static int
failed(const char **code_r, char *err, size_t errlen, const char *what)
{
	*code_r = NULL;
	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	return -1;
}

/* make_parents - the folders above name that are missing. 0 or -1. */
static int
make_parents(const char *root, const char *name)
{
	char up[FOLDERS_NAME_MAX + 1];
	snprintf(up, sizeof(up), "%s", name);
	for (char *dot = strchr(up, '.'); dot; dot = strchr(dot + 1, '.')) {
		char pp[4096];
		*dot = '\0';
		if (!folders_exists(root, up) &&
		    (folders_path(root, up, pp, sizeof(pp)) < 0 ||
		     make_folder(pp) < 0))
			return -1;
		*dot = '.';
	}
	return 0;
}

int
folders_create(const char *root, const char *name, const char **code_r,
	       char *err, size_t errlen)
{
	char p[4096];
	if (strcmp(name, "INBOX") == 0 || folders_exists(root, name))
		return refuse(code_r, "ALREADYEXISTS", err, errlen,
			      "Mailbox already exists");
	if (folders_path(root, name, p, sizeof(p)) < 0)
		return refuse(code_r, "CANNOT", err, errlen,
			      "Invalid mailbox name");
	if (maildir_create(root) < 0)
		return failed(code_r, err, errlen, "cannot create");
	/* RFC 3501 §6.3.3: create the superior names too. */
	if (make_parents(root, name) < 0 || make_folder(p) < 0)
		return failed(code_r, err, errlen, "cannot create");
	return 0;
}

/* remove_tree - a folder's directory, two levels deep (cur/ new/ tmp/
 * and its own files); anything deeper is not a Maildir's. */
static int
remove_tree(const char *path, uint64_t *bytes, uint64_t *count)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		char p[4096];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			bool msgs = strcmp(de->d_name, "cur") == 0 ||
				    strcmp(de->d_name, "new") == 0;
			DIR *sd = opendir(p);
			struct dirent *se;
			while (sd && (se = readdir(sd)) != NULL) {
				char q[4200];
				struct stat qs;
				if (strcmp(se->d_name, ".") == 0 ||
				    strcmp(se->d_name, "..") == 0)
					continue;
				snprintf(q, sizeof(q), "%s/%s", p, se->d_name);
				if (msgs && lstat(q, &qs) == 0) {
					*bytes += (uint64_t)qs.st_size;
					(*count)++;
				}
				if (unlink(q) < 0)
					r = -1;
			}
			if (sd)
				closedir(sd);
			if (rmdir(p) < 0)
				r = -1;
		} else if (unlink(p) < 0) {
			r = -1;
		}
	}
	closedir(d);
	if (rmdir(path) < 0)
		r = -1;
	return r;
}

int
folders_delete(const char *root, const char *name, const char **code_r,
	       char *err, size_t errlen)
{
	char p[4096];
	if (strcmp(name, "INBOX") == 0)
		return refuse(code_r, "CANNOT", err, errlen,
			      "INBOX cannot be deleted");
	if (!folders_exists(root, name))
		return refuse(code_r, "NONEXISTENT", err, errlen,
			      "No such mailbox");
	struct folders_list l;
	if (folders_list(root, &l) < 0)
		return failed(code_r, err, errlen, "cannot list");
	size_t nl = strlen(name);
	bool children = false;
	for (size_t i = 0; i < l.n && !children; i++)
		children = !l.v[i].nonexistent &&
			   strncmp(l.v[i].name, name, nl) == 0 &&
			   l.v[i].name[nl] == '.';
	folders_list_free(&l);
	if (children)
		return refuse(code_r, "INUSE", err, errlen,
			      "Mailbox has children, delete them first");
	folders_path(root, name, p, sizeof(p));
	/* Renamed aside first: the folder is gone at once for everyone,
	 * even if removing its files takes a while or fails half-way. */
	char gone[4096];
	snprintf(gone, sizeof(gone), "%s/.petrel-deleted.%ld.%d", root,
		 (long)time(NULL), (int)getpid());
	if (rename(p, gone) < 0)
		return failed(code_r, err, errlen, "cannot delete");
	uint64_t bytes = 0, count = 0;
	if (remove_tree(gone, &bytes, &count) < 0)
		log_warn("%s: not all removed: %s", gone, strerror(errno));
	quota_add(root, -(int64_t)bytes, -(int64_t)count);
	return 0;
}

/* rename_children - every ".from.x" to ".to.x". */
static int
rename_children(const char *root, const char *from, const char *to)
{
	struct folders_list l;
	if (folders_list(root, &l) < 0)
		return -1;
	size_t fl = strlen(from);
	int r = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *n = l.v[i].name;
		if (l.v[i].nonexistent || l.v[i].noselect ||
		    strncmp(n, from, fl) != 0 || n[fl] != '.')
			continue;
		char a[4096], b[4096];
		snprintf(a, sizeof(a), "%s/.%s", root, n);
		snprintf(b, sizeof(b), "%s/.%s%s", root, to, n + fl);
		if (rename(a, b) < 0)
			r = -1;
	}
	folders_list_free(&l);
	return r;
}

/* rename_inbox - move INBOX's messages into a new folder to. */
static int
rename_inbox(const char *root, const char *to, char *err, size_t errlen)
{
	char p[4096];
	folders_path(root, to, p, sizeof(p));
	if (make_folder(p) < 0) {
		snprintf(err, errlen, "cannot create: %s", strerror(errno));
		return -1;
	}
	static const char *const subs[] = {"cur", "new"};
	for (size_t i = 0; i < 2; i++) {
		char d[4096];
		snprintf(d, sizeof(d), "%s/%s", root, subs[i]);
		DIR *dp = opendir(d);
		struct dirent *de;
		while (dp && (de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			char a[4200], b[4200];
			snprintf(a, sizeof(a), "%s/%s", d, de->d_name);
			snprintf(b, sizeof(b), "%s/%s/%s", p, subs[i],
				 de->d_name);
			if (rename(a, b) < 0)
				log_warn("RENAME INBOX: %s: %s", a,
					 strerror(errno));
		}
		if (dp)
			closedir(dp);
	}
	return 0;
}

int
folders_rename(const char *root, const char *from, const char *to,
	       const char **code_r, char *err, size_t errlen)
{
	char a[4096], b[4096];
	if (strcmp(to, "INBOX") == 0 || folders_exists(root, to))
		return refuse(code_r, "ALREADYEXISTS", err, errlen,
			      "Target mailbox already exists");
	if (folders_path(root, to, b, sizeof(b)) < 0)
		return refuse(code_r, "CANNOT", err, errlen,
			      "Invalid mailbox name");
	if (strcmp(from, "INBOX") == 0) {
		if (rename_inbox(root, to, err, errlen) < 0) {
			*code_r = NULL;
			return -1;
		}
		return 0;
	}
	if (!folders_exists(root, from))
		return refuse(code_r, "NONEXISTENT", err, errlen,
			      "No such mailbox");
	size_t fl = strlen(from);
	if (strncmp(to, from, fl) == 0 && to[fl] == '.')
		return refuse(code_r, "CANNOT", err, errlen,
			      "Cannot move a mailbox into itself");
	/* Superior names of the new name, as CREATE makes them. */
	if (make_parents(root, to) < 0)
		return failed(code_r, err, errlen, "cannot create");
	folders_path(root, from, a, sizeof(a));
	if (rename_children(root, from, to) < 0 || rename(a, b) < 0)
		return failed(code_r, err, errlen, "cannot rename");
	/* The subscription follows (RFC 3501 leaves it open; clients
	 * expect it). */
	struct names l = {0};
	if (read_subs(root, &l) > 0) {
		bool changed = false;
		for (size_t i = 0; i < l.n; i++) {
			const char *n = l.v[i];
			if (strcmp(n, from) != 0 &&
			    !(strncmp(n, from, fl) == 0 && n[fl] == '.'))
				continue;
			char *nn = xasprintf("%s%s", to, n + fl);
			free(l.v[i]);
			l.v[i] = nn;
			changed = true;
		}
		if (changed)
			write_subs(root, &l);
	}
	names_free(&l);
	return 0;
}
