/*
 * line_reader - take one CRLF (or bare LF) terminated command line out of
 * a bufferevent's input, with a hard length limit that costs no memory:
 * an over-long line is dropped as it arrives and reported once its end
 * is seen. Shared by the SMTP, POP3 and IMAP sessions.
 */
#ifndef PETREL_NET_LINE_READER_H
#define PETREL_NET_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

enum line_status {
	LINE_NONE = 0,	   /* no complete line yet */
	LINE_OK = 1,	   /* a line is in buf (NUL-terminated), len_r set */
	LINE_TOO_LONG = 2, /* a line over max was dropped, whole */
};

/*
 * line_read - buf must hold max + 1 bytes. *overflow carries the "inside a
 * dropped line" state between calls; start it false.
 */
enum line_status line_read(struct evbuffer *in, char *buf, size_t max,
			   size_t *len_r, bool *overflow);

#endif
