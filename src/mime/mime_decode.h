/*
 * mime_decode - MIME content to UTF-8 text, for searching.
 *
 *   - header values: unfolding and RFC 2047 encoded-words (B and Q, any
 *     charset glibc's iconv knows, RFC 2231 "*lang" suffix ignored);
 *     white space between two adjacent encoded-words is dropped (§6.2);
 *   - bodies: a streaming decoder for the Content-Transfer-Encoding
 *     (base64, quoted-printable; 7bit/8bit/binary pass through) followed
 *     by charset conversion to UTF-8 (iconv).
 *
 * Lenient as readers must be (RFC 2045 §6.7, §6.8): base64 ignores bytes
 * outside its alphabet, a malformed QP escape is kept literally. Text in
 * an unknown charset, or bytes that are not valid in the declared one,
 * are not lost: valid UTF-8 is kept as it is, other bytes are read as
 * ISO-8859-1 (what mail in an unlabelled charset usually is). NULs
 * become U+FFFD. So the output is always valid UTF-8 without NULs.
 *
 * Memory is bounded: a decoder holds a few small buffers whatever it is
 * fed. Output is appended to a caller's strbuf; a streaming caller
 * empties it (sb.len = 0) between feeds.
 */
#ifndef PETREL_MIME_MIME_DECODE_H
#define PETREL_MIME_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "mime/mime_parse.h"
#include "util/strbuf.h"

/* mime_decode_hex - the value of hex digit h (either case), or -1. */
int mime_decode_hex(char h);

/* mime_decode_header - append the UTF-8 text of the header value
 * v[0..len) (unfolded, encoded-words decoded) to out. */
void mime_decode_header(const char *v, size_t len, struct strbuf *out);

/* mime_decode_utf8 - append s[0..len) in charset (NULL or "" = US-ASCII
 * / unlabelled) to out as UTF-8 (whole-buffer form). */
void mime_decode_utf8(const char *charset, const char *s, size_t len,
		      struct strbuf *out);

struct mime_decoder;

/* mime_decoder_new - a body decoder for cte (enum mime_cte) and charset
 * (NULL/"" = none given: US-ASCII, read as UTF-8 or ISO-8859-1). */
struct mime_decoder *mime_decoder_new(int cte, const char *charset);

/* mime_decoder_feed - decode the next len bytes of the body, appending
 * UTF-8 to out. Any split of the body gives the same total output. */
void mime_decoder_feed(struct mime_decoder *d, const char *in, size_t len,
		       struct strbuf *out);

/* mime_decoder_finish - flush what is pending at the end of the body. */
void mime_decoder_finish(struct mime_decoder *d, struct strbuf *out);

/* mime_decoder_free - free *dp and set it to NULL (NULL is fine). */
void mime_decoder_free(struct mime_decoder **dp);

#endif
