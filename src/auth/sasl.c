#include "auth/sasl.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* RFC 4616 §2: a server must accept each field up to 255 octets; petrel
 * accepts exactly that, so the decoded message is bounded. */
#define PLAIN_FIELD_MAX 255
#define PLAIN_MSG_MAX	(3 * PLAIN_FIELD_MAX + 2)

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64_value - the 6-bit value of c, or -1 if not in the alphabet. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Written by hand rather than with EVP_DecodeBlock, which accepts '='
 * in the middle and returns the length with the pad bytes counted.
 * Strict per RFC 4648: length a multiple of 4, '=' only as the last one
 * or two characters, and (§3.5) the unused bits before the padding must
 * be zero, so each byte string has exactly one encoding.
 */
long
sasl_base64_decode(const char *in, size_t len, unsigned char *out,
		   size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t pad = 0, need, w = 0;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && p[len - 1] == '=')
		pad = len > 1 && p[len - 2] == '=' ? 2 : 1;
	need = len / 4 * 3 - pad;
	if (need > outlen || need > (size_t)LONG_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;
		size_t data = last ? 4 - pad : 4;

		for (size_t j = 0; j < 4; j++) {
			v[j] = j < data ? b64_value(p[i + j]) : 0;
			if (v[j] < 0)
				return -1;
		}
		uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
			     (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* "QR==" is not "QQ==": reject non-zero pad bits. */
		if ((pad == 1 && last && (q & 0xff) != 0) ||
		    (pad == 2 && last && (q & 0xffff) != 0))
			return -1;
		out[w++] = (unsigned char)(q >> 16);
		if (data > 2)
			out[w++] = (unsigned char)(q >> 8);
		if (data > 3)
			out[w++] = (unsigned char)q;
	}
	return (long)w;
}

long
sasl_base64_encode(const unsigned char *in, size_t len, char *out,
		   size_t outlen)
{
	size_t need, w = 0;

	if (len > ((size_t)LONG_MAX - 1) / 4 * 3 - 3)
		return -1;
	need = (len + 2) / 3 * 4;
	if (need + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 3) {
		size_t n = len - i < 3 ? len - i : 3;
		uint32_t q = (uint32_t)in[i] << 16;

		if (n > 1)
			q |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			q |= in[i + 2];
		out[w++] = b64_alphabet[q >> 18 & 63];
		out[w++] = b64_alphabet[q >> 12 & 63];
		out[w++] = n > 1 ? b64_alphabet[q >> 6 & 63] : '=';
		out[w++] = n > 2 ? b64_alphabet[q & 63] : '=';
	}
	out[w] = '\0';
	return (long)w;
}

/* copy_field - a NUL-free field into a NUL-terminated buffer. */
static int
copy_field(const unsigned char *f, size_t len, char *out, size_t outlen)
{
	if (len == 0 || len > PLAIN_FIELD_MAX || len + 1 > outlen)
		return -1;
	memcpy(out, f, len);
	out[len] = '\0';
	return 0;
}

/*
 * RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. authcid and
 * passwd are non-empty and contain no NUL. Petrel addresses are
 * case-insensitive, so an authzid naming the same user in another case
 * is the same identity; any other authzid is refused (§2: the server
 * must check the authcid may act as the authzid; nobody may here).
 */
int
sasl_plain_decode(const char *b64, size_t len, char *user_r, size_t userlen,
		  char *pass_r, size_t passlen)
{
	unsigned char msg[PLAIN_MSG_MAX];
	const unsigned char *nul1, *nul2, *end;
	size_t zlen, clen;
	int ret = -1;
	long n;

	if (userlen > 0)
		user_r[0] = '\0';
	if (passlen > 0)
		pass_r[0] = '\0';
	n = sasl_base64_decode(b64, len, msg, sizeof(msg));
	if (n <= 0)
		return -1;
	end = msg + n;
	nul1 = memchr(msg, '\0', (size_t)n);
	if (nul1 == NULL)
		goto out;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)))
		goto out;
	zlen = (size_t)(nul1 - msg);
	clen = (size_t)(nul2 - nul1 - 1);
	if (zlen > PLAIN_FIELD_MAX ||
	    (zlen > 0 &&
	     (zlen != clen || strncasecmp((const char *)msg,
					  (const char *)nul1 + 1, zlen) != 0)))
		goto out;
	if (copy_field(nul1 + 1, clen, user_r, userlen) < 0 ||
	    copy_field(nul2 + 1, (size_t)(end - nul2 - 1), pass_r, passlen) <
		0) {
		if (userlen > 0)
			user_r[0] = '\0';
		if (passlen > 0)
			pass_r[0] = '\0';
		goto out;
	}
	ret = 0;
out:
	/* The password should not linger on the stack. */
	explicit_bzero(msg, sizeof(msg));
	return ret;
}
