/*
 * fuzz_bounce - the DSN stays well formed whatever the envelope, the
 * remote replies and the original headers hold: the input is cut at NUL
 * bytes into sender, address, orcpt, status, remote MTA, diagnostic,
 * action, host and original headers. CRLF only, no line over 998, the
 * boundary only on its four delimiter lines. The size picks the issue 9
 * choices too: the original returned whole (RET=FULL), the global types,
 * an ENVID and an ORCPT taken from the same pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/bounce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *s[9], *hdr, *m, *b, *e;
	struct queue_envelope env;
	struct bounce_failure f[2];
	size_t pos = 0, len, hlen, line = 0, seen = 0;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';
	for (int i = 0; i < 9; i++) {
		s[i] = in + pos;
		pos += strlen(in + pos);
		if (pos < size)
			pos++;
	}
	hlen = size - (size_t)(s[8] - in);
	hdr = malloc(hlen > 0 ? hlen : 1);
	if (hdr == NULL)
		abort();
	memcpy(hdr, s[8], hlen);

	memset(&env, 0, sizeof(env));
	memcpy(env.id, "0193A7C1D2E3F4", 15);
	env.arrival = 1732246400;
	env.sender = strdup(s[0]);
	queue_envelope_add_rcpt(&env, s[1], s[2], false, NULL, NULL);
	queue_envelope_add_rcpt(&env, s[2], s[1], false, NULL, NULL);
	f[0] = (struct bounce_failure){&env.rcpts[0], s[3], s[4], s[5], s[6]};
	f[1] = (struct bounce_failure){&env.rcpts[1], NULL, NULL, s[4], s[3]};
	if (size & 8) {
		env.envid = strdup(s[5]);
		env.rcpts[0].dsn_orcpt = strdup(s[2]);
	}
	struct bounce_options opt = {hdr, hlen, (size & 16) != 0,
				     (size & 32) != 0,
				     (size & 64) ? 1732250000 : 0};
	m = bounce_build_report(s[7], &env, f, size % 3, &opt, 1732250000,
				&len);

	for (size_t i = 0; i < len; i++) {
		if (m[i] == '\n') {
			if (i == 0 || m[i - 1] != '\r')
				abort();
			line = 0;
		} else if (m[i] == '\r') {
			if (i + 1 >= len || m[i + 1] != '\n')
				abort();
		} else if (++line > 998) {
			abort();
		}
	}
	/* Where bounce.c puts it; CR/LF in the values cannot fake it. */
	b = strstr(m, "\r\n\tboundary=\"");
	if (b == NULL)
		abort();
	b += 13;
	e = strchr(b, '"');
	if (e == NULL)
		abort();
	*e = '\0';
	for (char *p = e + 1;
	     (p = memmem(p, len - (size_t)(p - m), b, strlen(b))) != NULL;
	     p++) {
		if (p[-1] != '-' || p[-2] != '-' || p[-3] != '\n')
			abort();
		seen++;
	}
	if (seen != 4)
		abort();
	free(m);
	free(hdr);
	free(in);
	queue_envelope_free(&env);
	return 0;
}
