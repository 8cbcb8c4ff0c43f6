/*
 * fuzz_smtp_hops - Received: counting fed whole, one byte at a time and
 * in chunks whose sizes come from the data: all must give the same
 * count. Each chunk is an exact-size copy, so ASan sees overreads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_hops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smtp_hops
count(const uint8_t *data, size_t size, const uint8_t *sizes, size_t nsizes)
{
	struct smtp_hops h;
	size_t pos = 0, k = 0;

	smtp_hops_init(&h);
	while (pos < size) {
		size_t n = nsizes > 0 ? sizes[k++ % nsizes] % 19 : size;
		char *chunk;
		/* Empty feeds are allowed, but the input must advance. */
		if (n == 0 && k % 2 == 0)
			n = 1;
		if (n > size - pos)
			n = size - pos;
		chunk = malloc(n > 0 ? n : 1);
		if (chunk == NULL)
			abort();
		memcpy(chunk, data + pos, n);
		smtp_hops_feed(&h, chunk, n);
		free(chunk);
		pos += n;
	}
	return h;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t one = 1;
	struct smtp_hops whole = count(data, size, NULL, 0);
	struct smtp_hops bytes = count(data, size, &one, 1);
	struct smtp_hops chunked = count(data, size, data, size);

	if (whole.count != bytes.count || whole.count != chunked.count ||
	    whole.in_body != bytes.in_body || whole.in_body != chunked.in_body)
		abort();
	/* Every counted field took at least "Received:" and a line end. */
	if ((size_t)whole.count * 10 > size + 1)
		abort();
	return 0;
}
