/*
 * fuzz_sasl - the input as an AUTH PLAIN response and as base64: a
 * decode that succeeds must encode back to the same bytes (strict
 * base64 has one encoding per string) and decode again the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char user[256], pass[256];
	unsigned char *dec, *dec2;
	char *enc;
	size_t cap = size / 4 * 3 + 1;
	long n, m, k;

	if (sasl_plain_decode(in, size, user, sizeof(user), pass,
			      sizeof(pass)) == 0) {
		if (user[0] == '\0' || pass[0] == '\0' || strlen(user) > 255 ||
		    strlen(pass) > 255)
			abort();
	}

	dec = malloc(cap);
	n = sasl_base64_decode(in, size, dec, cap);
	if (n < 0) {
		free(dec);
		return 0;
	}
	if ((size_t)n > cap || size % 4 != 0)
		abort();
	enc = malloc(size + 1);
	m = sasl_base64_encode(dec, (size_t)n, enc, size + 1);
	if (m < 0 || (size_t)m != size || memcmp(enc, in, size) != 0 ||
	    enc[m] != '\0')
		abort();
	dec2 = malloc(cap);
	k = sasl_base64_decode(enc, (size_t)m, dec2, cap);
	if (k != n || memcmp(dec, dec2, (size_t)n) != 0)
		abort();
	free(dec);
	free(dec2);
	free(enc);
	return 0;
}
