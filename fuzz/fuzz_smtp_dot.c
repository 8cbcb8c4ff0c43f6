/*
 * fuzz_smtp_dot - the DATA decoder fed whole and in chunks whose sizes
 * come from the data itself: both must agree byte for byte, and no call
 * may write more than inlen + 4. Also checks the encoder round trip.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_dot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	char *out;
	size_t outlen;
	size_t consumed;
	enum smtp_dot_status status;
};

/* decode - feed in[0..len) in chunks of sizes taken from sizes[]. */
static struct result
decode(const char *in, size_t len, const uint8_t *sizes, size_t nsizes)
{
	struct smtp_dot dot;
	struct result r = {malloc(len + 5), 0, 0, SMTP_DOT_MORE};
	size_t pos = 0, k = 0;
	bool was_empty = false;

	if (r.out == NULL)
		abort();
	smtp_dot_init(&dot);
	do {
		size_t n = nsizes > 0 ? sizes[k++ % nsizes] % 17 : len;
		size_t outlen, consumed;
		char *chunk, *out;

		/* Empty calls are allowed, but never twice in a row. */
		if (n == 0 && was_empty)
			n = 1;
		was_empty = n == 0;
		if (n > len - pos)
			n = len - pos;
		/* Exact-size copies so ASan sees any overrun. */
		chunk = malloc(n + 1);
		out = malloc(n + 4);
		if (chunk == NULL || out == NULL)
			abort();
		memcpy(chunk, in + pos, n);
		r.status =
		    smtp_dot_decode(&dot, chunk, n, out, &outlen, &consumed);
		if (outlen > n + 4 || consumed > n ||
		    (r.status == SMTP_DOT_MORE && consumed != n))
			abort();
		memcpy(r.out + r.outlen, out, outlen);
		r.outlen += outlen;
		r.consumed += consumed;
		pos += n;
		free(chunk);
		free(out);
	} while (r.status == SMTP_DOT_MORE && pos < len);
	return r;
}

/*
 * check_encode - decode(encode(x) + terminator) gives x back, except
 * that a '.' after a bare LF comes back doubled (the encoder stuffs it,
 * the strict decoder sees no line start there).
 */
static void
check_encode(const char *x, size_t len)
{
	char *enc = malloc(2 * len + 5), *want = malloc(2 * len + 2);
	bool bol = true;
	size_t n, wn = 0;
	struct result r;

	if (enc == NULL || want == NULL)
		abort();
	n = smtp_dot_encode(x, len / 2, enc, &bol);
	n += smtp_dot_encode(x + len / 2, len - len / 2, enc + n, &bol);
	if (n > 2 * len)
		abort();
	for (size_t i = 0; i < len; i++) {
		if (x[i] == '.' && i > 0 && x[i - 1] == '\n' &&
		    (i < 2 || x[i - 2] != '\r'))
			want[wn++] = '.';
		want[wn++] = x[i];
	}
	if (len < 2 || x[len - 2] != '\r' || x[len - 1] != '\n') {
		memcpy(enc + n, "\r\n", 2);
		n += 2;
		memcpy(want + wn, "\r\n", 2);
		wn += 2;
	}
	memcpy(enc + n, ".\r\n", 3);
	n += 3;
	r = decode(enc, n, NULL, 0);
	if (r.status != SMTP_DOT_DONE || r.consumed != n || r.outlen != wn ||
	    memcmp(r.out, want, wn) != 0)
		abort();
	free(r.out);
	free(enc);
	free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct result whole, bytes, chunked;
	static const uint8_t one = 1;

	whole = decode(in, size, NULL, 0);
	bytes = decode(in, size, &one, 1);
	/* Chunk sizes from the data: 0-16 bytes, zero-length calls too. */
	chunked = decode(in, size, data, size);
	if (whole.outlen != bytes.outlen || whole.outlen != chunked.outlen ||
	    whole.consumed != bytes.consumed ||
	    whole.consumed != chunked.consumed ||
	    whole.status != bytes.status || whole.status != chunked.status ||
	    memcmp(whole.out, bytes.out, whole.outlen) != 0 ||
	    memcmp(whole.out, chunked.out, whole.outlen) != 0)
		abort();
	/* A complete message ends with CRLF or is empty. */
	if (whole.status == SMTP_DOT_DONE && whole.outlen > 0 &&
	    (whole.outlen < 2 || whole.out[whole.outlen - 2] != '\r' ||
	     whole.out[whole.outlen - 1] != '\n'))
		abort();
	if (whole.outlen > whole.consumed)
		abort();
	free(whole.out);
	free(bytes.out);
	free(chunked.out);
	check_encode(in, size);
	return 0;
}
