#include "mailauth/mauth_name.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <strings.h>

#include "auth/sasl.h"
#include "util/xalloc.h"

bool
mauth_name_copy(const char *s, size_t len, char out[MAUTH_NAME_MAX + 1])
{
	size_t label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > MAUTH_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			label++;
		} else if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
			label++;
		} else {
			return false;
		}
		if (label > 63)
			return false;
		out[i] = c;
	}
	if (label == 0)
		return false;
	out[len] = '\0';
	return true;
}

bool
mauth_name_within(const char *name, const char *domain)
{
	size_t n = strlen(name), d = strlen(domain);

	if (n == d)
		return strcasecmp(name, domain) == 0;
	return n > d && name[n - d - 1] == '.' &&
	       strcasecmp(name + n - d, domain) == 0;
}

long
mauth_b64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	char *tight = xmalloc(len + 1);
	size_t n = 0;
	long r;

	for (size_t i = 0; i < len; i++)
		if (in[i] != ' ' && in[i] != '\t' && in[i] != '\r' &&
		    in[i] != '\n')
			tight[n++] = in[i];
	r = n == 0 ? -1 : sasl_base64_decode(tight, n, out, outlen);
	free(tight);
	return r;
}

void
mauth_reverse_name(int family, const unsigned char *ip, char out[80])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t r = 0;

	if (family == AF_INET) {
		snprintf(out, 80, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2],
			 ip[1], ip[0]);
		return;
	}
	for (int i = 15; i >= 0; i--) {
		out[r++] = hex[ip[i] & 15];
		out[r++] = '.';
		out[r++] = hex[ip[i] >> 4];
		out[r++] = '.';
	}
	memcpy(out + r, "ip6.arpa", 9);
}
