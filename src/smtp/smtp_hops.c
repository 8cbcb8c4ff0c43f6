#include "smtp/smtp_hops.h"

#include <ctype.h>

static const char received[] = "received:";

void
smtp_hops_init(struct smtp_hops *h)
{
	h->count = 0;
	h->in_body = false;
	h->line_start = true;
	h->matched = 0;
	h->empty_line = false;
}

void
smtp_hops_feed(struct smtp_hops *h, const char *buf, size_t len)
{
	for (size_t i = 0; i < len && !h->in_body; i++) {
		char c = buf[i];
		if (h->line_start) {
			h->line_start = false;
			h->matched = 0;
			h->empty_line = c == '\r';
			if (c == '\n') { /* a bare-LF empty line ends it too */
				h->in_body = true;
				break;
			}
		} else if (h->empty_line) {
			if (c == '\n') {
				h->in_body = true;
				break;
			}
			h->empty_line = false;
		}
		if (c == '\n') {
			h->line_start = true;
			continue;
		}
		if (h->matched < sizeof(received) - 1) {
			/* RFC 5322 §4.5.6 obs-received: "Received" *WSP ":";
			 * §4: obsolete forms MUST be accepted by a receiver,
			 * and Postfix's is_header() counts them too. */
			if (h->matched == sizeof(received) - 2 &&
			    (c == ' ' || c == '\t'))
				continue;
			if (tolower((unsigned char)c) == received[h->matched]) {
				if (++h->matched == sizeof(received) - 1)
					h->count++;
			} else {
				h->matched = sizeof(received); /* no match */
			}
		}
	}
}
