#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

int
fsutil_mkdirs(const char *path, mode_t mode)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
fsutil_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsutil_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

char *
fsutil_read_fd(int fd, size_t max, size_t *len_r)
{
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			free(buf);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

char *
fsutil_read_file(const char *path, size_t max, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = fsutil_read_fd(fd, max, len_r);
	int saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

int
fsutil_copy_fd(int src, int dst)
{
	char buf[65536];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(src, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (fsutil_write_all(dst, buf, (size_t)n) < 0)
			return -1;
		off += n;
	}
}

int
fsutil_write_atomic(const char *path, const void *data, size_t len)
{
	char tp[4096], dir[4096];
	if ((size_t)snprintf(tp, sizeof(tp), "%s.tmp", path) >= sizeof(tp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fsutil_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tp);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || rename(tp, path) < 0) {
		int saved = errno;
		unlink(tp);
		errno = saved;
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	return fsutil_fsync_dir(dir[0] ? dir : "/");
}

char *
fsutil_read_head(const char *path, size_t max, size_t *len_r, bool *truncated_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	*truncated_r = false;
	*len_r = 0;
	if (fd < 0)
		return NULL;
	/* One byte more than max tells whether there is more. */
	char *buf = xmalloc(max + 2);
	while (len < max + 1) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > max) {
		len = max;
		*truncated_r = true;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}
