/*
 * xalloc - allocation that either succeeds or does not return.
 *
 * A mail server that runs out of memory cannot keep its promises anyway;
 * ending the process cleanly is better than a NULL dereference later.
 * Accepted mail is on disk before any 250, so nothing is lost.
 */
#ifndef PETREL_UTIL_XALLOC_H
#define PETREL_UTIL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
