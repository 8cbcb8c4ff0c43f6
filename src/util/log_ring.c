#include "util/log_ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char **lines; /* cap slots; NULL = empty */
static size_t cap, head, count;

void
log_ring_enable(size_t n)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < cap; i++)
		free(lines[i]);
	free(lines);
	lines = n > 0 ? xcalloc(n, sizeof(*lines)) : NULL;
	cap = n;
	head = count = 0;
	pthread_mutex_unlock(&lock);
}

void
log_ring_add(const char *line, size_t len)
{
	if (len > LOG_RING_LINE_MAX)
		len = LOG_RING_LINE_MAX;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	pthread_mutex_lock(&lock);
	if (cap > 0) {
		free(lines[head]);
		lines[head] = xstrndup(line, len);
		head = (head + 1) % cap;
		if (count < cap)
			count++;
	}
	pthread_mutex_unlock(&lock);
}

size_t
log_ring_find(const char *needle, size_t max,
	      void (*cb)(const char *line, void *arg), void *arg)
{
	char **hits = NULL;
	size_t n = 0;

	pthread_mutex_lock(&lock);
	if (count > 0 && max > 0) {
		hits = xcalloc(max, sizeof(*hits));
		/* Newest first, so the last max matches are the ones kept. */
		for (size_t i = 0; i < count && n < max; i++) {
			const char *l = lines[(head + cap - 1 - i) % cap];
			if (strstr(l, needle) != NULL)
				hits[n++] = xstrdup(l);
		}
	}
	pthread_mutex_unlock(&lock);
	for (size_t i = n; i-- > 0;) {
		cb(hits[i], arg);
		free(hits[i]);
	}
	free(hits);
	return n;
}
