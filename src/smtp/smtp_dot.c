/*
 * smtp_dot - DATA decoder and dot-stuffing encoder (RFC 5321 §4.5.2).
 *
 * The decoder is a byte state machine in the spirit of qmail's blast():
 * one state per "what have we seen since the last CRLF". It never holds a
 * line; the only byte it may withhold across calls is a '.' at the start
 * of a line (and the CR after it), until it knows whether that dot is
 * transparency stuffing or the start of the end-of-data mark.
 */
#include "smtp/smtp_dot.h"

enum {
	/* Start of data or right after CRLF: a '.' here is special. */
	DOT_LINE_START = 0,
	/* Inside a line. */
	DOT_TEXT,
	/* Inside a line, the last byte was CR: an LF ends the line. */
	DOT_CR,
	/* "." at line start, withheld (not yet written). */
	DOT_DOT,
	/* ".\r" at line start, both withheld. */
	DOT_DOT_CR,
	/* The end-of-data mark has been consumed. */
	DOT_DONE,
};

void
smtp_dot_init(struct smtp_dot *dot)
{
	dot->state = DOT_LINE_START;
}

/*
 * text_byte - the transition for a byte inside a line: only a CR can
 * begin a line end, and only a CR immediately followed by LF completes
 * it (RFC 5321 §2.3.8: a bare CR or LF is not a line end; treating one
 * as such is what "SMTP smuggling" exploits).
 */
static int
text_byte(int state, unsigned char c)
{
	if (c == '\r')
		return DOT_CR;
	if (c == '\n' && state == DOT_CR)
		return DOT_LINE_START;
	return DOT_TEXT;
}

enum smtp_dot_status
smtp_dot_decode(struct smtp_dot *dot, const char *in, size_t inlen, char *out,
		size_t *outlen_r, size_t *consumed_r)
{
	int state = dot->state;
	size_t i = 0, o = 0;

	if (state == DOT_DONE) {
		*outlen_r = 0;
		*consumed_r = 0;
		return SMTP_DOT_DONE;
	}

	/*
	 * Each input byte writes at most two output bytes only when it
	 * releases a withheld ".\r" (the dot is dropped, the CR written),
	 * so the output never exceeds inlen + 1.
	 */
	while (i < inlen) {
		unsigned char c = (unsigned char)in[i++];

		switch (state) {
		case DOT_LINE_START:
			if (c == '.') {
				state = DOT_DOT;
				break;
			}
			out[o++] = (char)c;
			state = text_byte(state, c);
			break;
		case DOT_TEXT:
		case DOT_CR:
			out[o++] = (char)c;
			state = text_byte(state, c);
			break;
		case DOT_DOT:
			if (c == '\r') {
				state = DOT_DOT_CR;
				break;
			}
			/*
			 * §4.5.2: a line starting with a period and having
			 * other characters: the first character is deleted.
			 * This includes ".\n": the bare LF is just text.
			 */
			out[o++] = (char)c;
			state = DOT_TEXT;
			break;
		case DOT_DOT_CR:
			if (c == '\n') {
				/* <CRLF>.<CRLF>: §4.1.1.4 end of mail data. */
				dot->state = DOT_DONE;
				*outlen_r = o;
				*consumed_r = i;
				return SMTP_DOT_DONE;
			}
			/* ".\rX": the dot was stuffing; the CR is text. */
			out[o++] = '\r';
			out[o++] = (char)c;
			state = text_byte(DOT_CR, c);
			break;
		default:
			/* Unreachable: DOT_DONE returned above. */
			break;
		}
	}
	dot->state = state;
	*outlen_r = o;
	*consumed_r = i;
	return SMTP_DOT_MORE;
}

size_t
smtp_dot_encode(const char *src, size_t len, char *out, bool *at_line_start)
{
	bool bol = *at_line_start;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		/*
		 * Line start here is liberal (after any LF), so a stored
		 * bare-LF line beginning with '.' is still stuffed: the
		 * receiver drops the extra dot only after CRLF, but an
		 * extra dot is harmless where a missing one could end data.
		 */
		if (bol && src[i] == '.')
			out[o++] = '.';
		out[o++] = src[i];
		bol = src[i] == '\n';
	}
	*at_line_start = bol;
	return o;
}
