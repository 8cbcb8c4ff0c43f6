/*
 * log_ring - the server's most recent log lines in memory, so the admin
 * page can show what happened to a queue id without a log file.
 *
 * A ring of at most n lines (log_ring_enable), each cut to
 * LOG_RING_LINE_MAX bytes, so it holds at most n * LOG_RING_LINE_MAX
 * bytes (10,000 lines: under 5 MiB; typical lines are ~150 bytes, and
 * only those bytes are allocated). The oldest line goes when a new one
 * comes. Thread-safe (a mutex): the loop, the committer and the workers
 * all log. Off until enabled, so admin commands keep nothing.
 */
#ifndef PETREL_UTIL_LOG_RING_H
#define PETREL_UTIL_LOG_RING_H

#include <stddef.h>

#define LOG_RING_LINE_MAX 512

/* log_ring_enable - keep the last n lines (0: off, and free them). */
void log_ring_enable(size_t n);

/* log_ring_add - one formatted line (no line end needed). */
void log_ring_add(const char *line, size_t len);

/*
 * log_ring_find - call cb(line, arg) for each kept line containing needle
 * (exactly, case-sensitive), oldest first, at most max lines (the newest
 * ones). Returns how many. The lines are copies: cb may keep nothing.
 */
size_t log_ring_find(const char *needle, size_t max,
		     void (*cb)(const char *line, void *arg), void *arg);

#endif
