/*
 * fuzz_rfc5322 - walk the header fields of the input to END or ERROR on an
 * exact-size copy (so ASan sees overreads), checking that fields are
 * contiguous and inside the input; parse every address field's value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/rfc5322.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct value {
	const char *p;
	size_t len;
	int calls;
};

static void
check_addr(const char *addr, size_t len, void *arg)
{
	struct value *v = arg;

	if (addr == NULL || len == 0 || len > v->len)
		abort();
	/* Touch every byte: a stale pointer shows up under ASan. */
	for (size_t i = 0; i < len; i++)
		if (addr[i] == '\0' && addr[0] == 1)
			abort();
	v->calls++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size > 0 ? size : 1);
	struct rfc5322_field f;
	size_t pos = 0, body = (size_t)-1;
	int st;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	while ((st = rfc5322_next_field(buf, size, pos, &f, &body)) ==
	       RFC5322_FIELD) {
		if (f.start != pos || f.end <= pos || f.end > size ||
		    f.end - f.start > RFC5322_MAX_FIELD || f.name_len == 0 ||
		    f.name != buf + pos || f.value < f.name + f.name_len ||
		    f.value + f.value_len > buf + f.end)
			abort();
		if (rfc5322_name_is(&f, "To") || rfc5322_name_is(&f, "Cc") ||
		    rfc5322_name_is(&f, "From") || rfc5322_name_is(&f, "Bcc")) {
			struct value v = {f.value, f.value_len, 0};
			int n = rfc5322_parse_addresses(f.value, f.value_len,
							check_addr, &v);
			if (n < -1 || (n >= 0 && n != v.calls))
				abort();
		}
		pos = f.end;
	}
	if (st == RFC5322_END && (body < pos || body > size))
		abort();
	/* The address parser on the raw input too. */
	{
		struct value v = {buf, size, 0};
		int n = rfc5322_parse_addresses(buf, size, check_addr, &v);
		if (n < -1 || (n >= 0 && n != v.calls))
			abort();
	}
	free(buf);
	return 0;
}
