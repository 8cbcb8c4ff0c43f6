/*
 * fsutil - small file-system helpers with the error handling done once.
 */
#ifndef PETREL_UTIL_FSUTIL_H
#define PETREL_UTIL_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* fsutil_mkdirs - mkdir -p with mode for each created level. 0 or -1. */
int fsutil_mkdirs(const char *path, mode_t mode);

/* fsutil_write_all - write len bytes, retrying short writes. 0 or -1. */
int fsutil_write_all(int fd, const void *buf, size_t len);

/*
 * fsutil_write_atomic - replace the file at path with data: written to
 * path.tmp, fsync'ed, renamed over path, the directory fsync'ed. A crash
 * leaves the old file or the new one, never a part. 0 or -1 (errno).
 */
int fsutil_write_atomic(const char *path, const void *data, size_t len);

/* fsutil_fsync_dir - open path as a directory and fsync it. 0 or -1. */
int fsutil_fsync_dir(const char *path);

/*
 * fsutil_read_file - read a whole (small) file into a NUL-terminated heap
 * buffer. Returns it and its length in *len_r, or NULL with errno set.
 */
char *fsutil_read_file(const char *path, size_t max, size_t *len_r);

/* fsutil_read_fd - the same for an open descriptor (read to its end). */
char *fsutil_read_fd(int fd, size_t max, size_t *len_r);

/* fsutil_copy_fd - copy all of src (from offset 0) to dst. 0 or -1. */
int fsutil_copy_fd(int src, int dst);

/*
 * fsutil_read_head - at most max bytes of path (heap, NUL-terminated),
 * length in *len_r, and whether the file held more in *truncated_r.
 * NULL (errno set) if it cannot be read.
 */
char *fsutil_read_head(const char *path, size_t max, size_t *len_r,
		       bool *truncated_r);

#endif
