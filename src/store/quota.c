#include "store/quota.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/directory.h"
#include "store/folder.h"
#include "store/maildir.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/num.h"

#define QUOTA_LOCK     "maildirsize.lock"
#define QUOTA_MAX_SIZE 5120 /* Maildir++: recalculate past this */

static int
lock_quota(const char *root, int op)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/" QUOTA_LOCK, root);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int r;
	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* size_of - ",S=N" in a Maildir name, else the file's size. */
static uint64_t
size_of(const char *dir, const char *name)
{
	const char *s = strstr(name, ",S=");
	if (s != NULL) {
		uint64_t v;
		size_t n = strspn(s + 3, "0123456789");
		if (n > 0 && n <= 19 &&
		    num_parse(s + 3, n, UINT64_MAX, &v) == 0)
			return v;
	}
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* count_dir - add the messages of folder/sub. */
static void
count_dir(const char *folder, const char *sub, uint64_t *bytes, uint64_t *count)
{
	char d[4096];
	snprintf(d, sizeof(d), "%s/%s", folder, sub);
	DIR *dp = opendir(d);
	if (dp == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		*bytes += size_of(d, de->d_name);
		(*count)++;
	}
	closedir(dp);
}

static void
count_folder(const char *folder, uint64_t *bytes, uint64_t *count)
{
	count_dir(folder, "cur", bytes, count);
	count_dir(folder, "new", bytes, count);
}

int
quota_recalc(const char *root, uint64_t *bytes_r, uint64_t *count_r)
{
	uint64_t bytes = 0, count = 0;
	char p[4096], line[64];

	int lfd = lock_quota(root, LOCK_EX);
	if (lfd < 0)
		return -1;
	count_folder(root, &bytes, &count);
	DIR *dp = opendir(root);
	if (dp != NULL) {
		struct dirent *de;
		while ((de = readdir(dp)) != NULL) {
			/* Maildir++ sub-folders: ".Name" holding cur/. */
			if (de->d_name[0] != '.' ||
			    strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", root, de->d_name);
			count_folder(p, &bytes, &count);
		}
		closedir(dp);
	}
	snprintf(p, sizeof(p), "%s/" QUOTA_FILE, root);
	int n = snprintf(line, sizeof(line), "0S\n%" PRIu64 " %" PRIu64 "\n",
			 bytes, count);
	int r = fsutil_write_atomic(p, line, (size_t)n);
	close(lfd);
	*bytes_r = bytes;
	*count_r = count;
	return r;
}

/* parse - the sums of maildirsize's lines after the first. 0, or -1
 * when the file cannot be trusted (recalculate). */
static int
parse(const char *text, size_t len, int64_t *bytes, int64_t *count)
{
	const char *p = memchr(text, '\n', len), *end = text + len;
	*bytes = *count = 0;
	if (p == NULL)
		return -1;
	for (p++; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return -1; /* torn append */
		long long b, c;
		char extra;
		char line[64];
		size_t n = (size_t)(nl - p);
		if (n >= sizeof(line))
			return -1;
		memcpy(line, p, n);
		line[n] = '\0';
		if (sscanf(line, "%lld %lld%c", &b, &c, &extra) != 2)
			return -1;
		*bytes += b;
		*count += c;
		p = nl + 1;
	}
	return *bytes < 0 || *count < 0 ? -1 : 0;
}

int
quota_usage(const char *root, uint64_t *bytes_r, uint64_t *count_r)
{
	char p[4096];
	size_t len;
	int64_t b, c;

	snprintf(p, sizeof(p), "%s/" QUOTA_FILE, root);
	int lfd = lock_quota(root, LOCK_SH);
	if (lfd < 0)
		return errno == ENOENT ? (*bytes_r = *count_r = 0, 0) : -1;
	char *text = fsutil_read_file(p, QUOTA_MAX_SIZE, &len);
	int ok = text != NULL && parse(text, len, &b, &c) == 0;
	free(text);
	close(lfd);
	if (ok) {
		*bytes_r = (uint64_t)b;
		*count_r = (uint64_t)c;
		return 0;
	}
	return quota_recalc(root, bytes_r, count_r);
}

void
quota_add(const char *root, int64_t bytes, int64_t count)
{
	char p[4096], line[64];
	if (bytes == 0 && count == 0)
		return;
	snprintf(p, sizeof(p), "%s/" QUOTA_FILE, root);
	int lfd = lock_quota(root, LOCK_SH);
	if (lfd < 0)
		return;
	/* No file: nothing to add to; the next reader counts afresh. */
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		int n = snprintf(line, sizeof(line),
				 "%" PRId64 " %" PRId64 "\n", bytes, count);
		if (fsutil_write_all(fd, line, (size_t)n) < 0)
			log_warn("%s: %s", p, strerror(errno));
		close(fd);
	}
	close(lfd);
}

int
quota_limit(struct directory *dir, const char *address, uint64_t *limit_r)
{
	int r = directory_user_quota(dir, address, limit_r);
	if (r < 0)
		return -1;
	if (r == 0)
		*limit_r = 0;
	return 0;
}

bool
quota_would_exceed(const char *data_dir, const char *address, const char *path,
		   uint64_t size)
{
	char root[4096];
	uint64_t limit, bytes, count;
	struct directory *dir = directory_for_thread(data_dir);
	if (size == 0 || dir == NULL || quota_limit(dir, address, &limit) < 0 ||
	    limit == 0)
		return false;
	if (folder_quota_root(path, root, sizeof(root)) < 0 ||
	    quota_usage(root, &bytes, &count) < 0)
		return false;
	return bytes + size > limit;
}

void
quota_rcpt(struct directory *dir, const char *data_dir,
	   const struct directory_targets *t, uint64_t size,
	   struct quota_reply *r)
{
	bool all_full = t->n > 0, any_too_big = false;

	r->code = 0;
	for (size_t i = 0; i < t->n && all_full; i++) {
		const struct directory_target *x = &t->items[i];
		char addr[512], root[4096];
		uint64_t limit, bytes, count;
		if (!x->local) {
			all_full = false;
			break;
		}
		snprintf(addr, sizeof(addr), "%s@%s", x->localpart, x->domain);
		if (quota_limit(dir, addr, &limit) < 0 || limit == 0 ||
		    maildir_mailbox_path(data_dir, x->domain, x->localpart,
					 root, sizeof(root)) < 0 ||
		    quota_usage(root, &bytes, &count) < 0) {
			all_full = false;
			break;
		}
		if (bytes >= limit)
			continue;
		if (size > 0 && bytes + size > limit) {
			any_too_big = true;
			continue;
		}
		all_full = false;
	}
	if (!all_full)
		return;
	if (any_too_big) {
		/* RFC 3463 §3.3: 5.2.2 mailbox full; the message alone would
		 * overflow it, so retrying it as it is cannot help. */
		r->code = 552;
		r->enh = "5.2.2";
		r->text = "Message would exceed the mailbox quota";
	} else {
		r->code = 452;
		r->enh = "4.2.2";
		r->text = "Mailbox full";
	}
}
