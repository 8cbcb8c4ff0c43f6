#include "util/crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t c, const unsigned char *p, size_t n)
{
	uint64_t c64 = c;

	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = _mm_crc32_u64(c64, v);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n-- > 0)
		c = _mm_crc32_u8(c, *p++);
	return c;
}
#endif

/* crc32c_bits - bit by bit, reflected polynomial 0x82F63B78. */
static uint32_t
crc32c_bits(uint32_t c, const unsigned char *p, size_t n)
{
	while (n-- > 0) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return c;
}

uint32_t
crc32c_portable(uint32_t crc, const void *p, size_t n)
{
	return ~crc32c_bits(~crc, p, n);
}

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc32c_sse42(~crc, p, n);
#endif
	return crc32c_portable(crc, p, n);
}
