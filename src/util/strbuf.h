/*
 * strbuf - a growing, always NUL-terminated byte buffer (heap). For
 * building small texts: envelope records, pickup messages.
 */
#ifndef PETREL_UTIL_STRBUF_H
#define PETREL_UTIL_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *p; /* NULL until the first append; then NUL-terminated */
	size_t len, cap;
};

/* strbuf_add - append n bytes (which may hold NULs). */
void strbuf_add(struct strbuf *sb, const char *s, size_t n);
/* strbuf_adds - append a C string. */
void strbuf_adds(struct strbuf *sb, const char *s);
/* strbuf_addf - append printf-formatted text. */
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
