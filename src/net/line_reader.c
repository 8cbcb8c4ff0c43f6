#include "net/line_reader.h"

#include <event2/buffer.h>

enum line_status
line_read(struct evbuffer *in, char *buf, size_t max, size_t *len_r,
	  bool *overflow)
{
	size_t eol_len;
	struct evbuffer_ptr p =
	    evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);

	if (p.pos < 0) {
		size_t have = evbuffer_get_length(in);
		if (have > max) {
			/* Drop what we have; the rest of the line is
			 * dropped when its end arrives. */
			evbuffer_drain(in, have);
			*overflow = true;
		}
		return LINE_NONE;
	}
	size_t len = (size_t)p.pos;
	if (*overflow || len > max) {
		evbuffer_drain(in, len + eol_len);
		*overflow = false;
		return LINE_TOO_LONG;
	}
	evbuffer_remove(in, buf, len);
	evbuffer_drain(in, eol_len);
	buf[len] = '\0';
	*len_r = len;
	return LINE_OK;
}
