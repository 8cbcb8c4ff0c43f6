#include "queue/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"

/* copy_range - len bytes of in from *off to out's end; 0 or -1. */
static int
copy_range(int in, off_t *off, int out, uint64_t len)
{
	char buf[65536];

	while (len > 0) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = copy_file_range(in, off, out, NULL, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
			      errno == EINVAL || errno == EOPNOTSUPP)) {
			/* No in-kernel copy here: through a buffer. */
			n = pread(in, buf,
				  want < sizeof(buf) ? want : sizeof(buf),
				  *off);
			if (n > 0 && fsutil_write_all(out, buf, (size_t)n) < 0)
				return -1;
			if (n > 0)
				*off += n;
		}
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO; /* the file is shorter than it should be */
			return -1;
		}
		len -= (uint64_t)n;
	}
	return 0;
}

int
queue_spool_add_top(char *path_io, int *fd_io, uint64_t *size_io,
		    uint64_t trace, const char *fields, size_t len)
{
	char tmp[PATH_MAX];
	off_t off = 0;
	int saved;

	if (len == 0)
		return 0;
	if (trace > *size_io) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.top", path_io) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (copy_range(*fd_io, &off, fd, trace) < 0 ||
	    fsutil_write_all(fd, fields, len) < 0 ||
	    copy_range(*fd_io, &off, fd, *size_io - trace) < 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	/* The old file goes; a crash in between leaves two tmp/ files,
	 * both debris that queue_recover removes (no 250 was sent). */
	unlink(path_io);
	close(*fd_io);
	*fd_io = fd;
	*size_io += len;
	memcpy(path_io, tmp, strlen(tmp) + 1);
	return 0;
}
