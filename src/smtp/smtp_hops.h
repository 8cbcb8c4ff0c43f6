/*
 * smtp_hops - count the Received: header fields of a message as it
 * streams past, to stop mail loops (RFC 5321 §6.3: a server should
 * refuse a message with too many Received: lines, 554 5.4.6).
 *
 * Pure and incremental: fed the decoded message in any chunking, it looks
 * only at the header section (up to the first empty line) and at the
 * start of each line, holding a few bytes of state.
 */
#ifndef PETREL_SMTP_SMTP_HOPS_H
#define PETREL_SMTP_SMTP_HOPS_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_hops {
	unsigned count;	  /* Received: fields seen so far */
	bool in_body;	  /* the header section has ended */
	bool line_start;  /* next byte starts a line */
	unsigned matched; /* bytes of "received:" matched at line start */
	bool empty_line;  /* the current line so far is only a CR */
};

void smtp_hops_init(struct smtp_hops *h);
void smtp_hops_feed(struct smtp_hops *h, const char *buf, size_t len);

#endif
