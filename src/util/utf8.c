#include "util/utf8.h"

size_t
utf8_seq_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte */

	if (n == 0 || u[0] < 0xC2 || u[0] > 0xF4)
		return 0; /* ASCII, a continuation byte, C0/C1, F5..FF */
	if (u[0] < 0xE0) {
		len = 2;
	} else if (u[0] < 0xF0) {
		len = 3;
		if (u[0] == 0xE0)
			lo = 0xA0; /* no overlong three-byte forms */
		else if (u[0] == 0xED)
			hi = 0x9F; /* no surrogates */
	} else {
		len = 4;
		if (u[0] == 0xF0)
			lo = 0x90; /* no overlong four-byte forms */
		else if (u[0] == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	}
	if (n < len || u[1] < lo || u[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (u[i] < 0x80 || u[i] > 0xBF)
			return 0;
	return len;
}

bool
utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

bool
utf8_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}
