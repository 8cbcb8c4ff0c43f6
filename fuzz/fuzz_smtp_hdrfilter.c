/*
 * fuzz_smtp_hdrfilter - the Return-Path filter fed whole, one byte at a
 * time and in chunks whose sizes come from the data: all must give the
 * same output and flags; the output is never longer than the input, and
 * no Return-Path: field is left in a header section the filter ended.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_hdrfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
run(const uint8_t *data, size_t size, const uint8_t *sizes, size_t nsizes,
    size_t *len_r, struct smtp_hdrfilter *f)
{
	char *out = malloc(size + 2 * SMTP_HDRFILTER_HOLD + 1);
	size_t pos = 0, k = 0, o = 0;

	if (out == NULL)
		abort();
	smtp_hdrfilter_init(f);
	while (pos < size) {
		size_t n = nsizes > 0 ? sizes[k++ % nsizes] % 23 : size;
		if (n == 0 && k % 2 == 0)
			n = 1;
		if (n > size - pos)
			n = size - pos;
		char *chunk = malloc(n > 0 ? n : 1);
		if (chunk == NULL)
			abort();
		memcpy(chunk, data + pos, n);
		size_t w = smtp_hdrfilter_feed(f, chunk, n, out + o);
		if (w > n + SMTP_HDRFILTER_HOLD)
			abort();
		o += w;
		free(chunk);
		pos += n;
	}
	o += smtp_hdrfilter_finish(f, out + o);
	*len_r = o;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t one = 1;
	struct smtp_hdrfilter fw, fb, fc;
	size_t lw, lb, lc;
	char *w = run(data, size, NULL, 0, &lw, &fw);
	char *b = run(data, size, &one, 1, &lb, &fb);
	char *c = run(data, size, data, size, &lc, &fc);

	if (lw != lb || lw != lc || memcmp(w, b, lw) != 0 ||
	    memcmp(w, c, lw) != 0 || fw.n_removed != fb.n_removed ||
	    fw.n_removed != fc.n_removed || fw.header_8bit != fb.header_8bit ||
	    fw.header_8bit != fc.header_8bit || lw > size)
		abort();
	/* Filtering twice changes nothing more: nothing removable is left
	 * (what the first pass kept, the second keeps). */
	struct smtp_hdrfilter f2;
	size_t l2;
	char *again = run((const uint8_t *)w, lw, NULL, 0, &l2, &f2);
	if (f2.n_removed != 0 || l2 != lw || memcmp(again, w, lw) != 0)
		abort();
	free(again);
	free(w);
	free(b);
	free(c);
	return 0;
}
