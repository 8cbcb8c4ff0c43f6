/*
 * smtp_dot - the pure DATA decoder (RFC 5321 §4.5.2 and §4.1.1.4).
 *
 * A byte state machine fed arbitrary chunks: it removes the transparency
 * dot at the start of a line and stops at the end-of-data mark. Only
 * <CRLF>.<CRLF> ends the data: a bare LF or a bare CR is never a line end
 * for that test (the 2023 "SMTP smuggling" class), and such bytes pass
 * through unchanged. The data is treated as beginning at the start of a
 * line, so ".\r\n" straight after the 354 is an empty message.
 *
 * Line length costs nothing: the decoder holds at most a few bytes of
 * state, never a line.
 */
#ifndef PETREL_SMTP_SMTP_DOT_H
#define PETREL_SMTP_SMTP_DOT_H

#include <stdbool.h>
#include <stddef.h>

struct smtp_dot {
	int state; /* private */
};

enum smtp_dot_status {
	SMTP_DOT_MORE = 0, /* all input consumed, need more */
	SMTP_DOT_DONE = 1, /* end-of-data mark consumed; stop feeding */
};

void smtp_dot_init(struct smtp_dot *dot);

/*
 * smtp_dot_decode - decode in[0..inlen). Decoded message bytes are
 * written to out, which must have room for inlen + 4 bytes; *outlen_r is
 * how many were written. *consumed_r is how many input bytes were used:
 * all of them when MORE, up to and including the final LF when DONE
 * (whatever follows is the next command, e.g. a pipelined QUIT).
 * The output of a complete message always ends with CRLF, or is empty.
 */
enum smtp_dot_status smtp_dot_decode(struct smtp_dot *dot, const char *in,
				     size_t inlen, char *out, size_t *outlen_r,
				     size_t *consumed_r);

/*
 * smtp_dot_encode - the sending side: dot-stuff src into out for the
 * wire. Lines that start with '.' get another '.'. A line start is the
 * beginning of the data or the byte after an LF (liberal, so a stored
 * bare-LF line starting with '.' is still protected). *at_line_start
 * carries state across calls; initialise it to true. out needs room for
 * 2 * len bytes. Returns the bytes written. The caller appends the final
 * ".\r\n" (and a CRLF first when the data did not end with one).
 */
size_t smtp_dot_encode(const char *src, size_t len, char *out,
		       bool *at_line_start);

#endif
