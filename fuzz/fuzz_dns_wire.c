/*
 * fuzz_dns_wire - decoding DNS answer packets: every record type, into
 * buffers both roomy and tight; every record returned lies inside the
 * buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/dns_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_MX,
				    DNS_T_PTR};
	uint8_t *pkt = malloc(size ? size : 1);
	struct dns_wire_rr rrs[16];

	if (!pkt)
		abort();
	memcpy(pkt, data, size);
	(void)dns_wire_rcode(pkt, size);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		size_t caps[] = {size + 16 * 256 + 1, 7};
		for (int c = 0; c < 2; c++) {
			char *buf = malloc(caps[c]);
			int n = dns_wire_records(pkt, size, types[t], rrs, 16,
						 buf, caps[c]);
			for (int i = 0; i < n; i++)
				if (rrs[i].data < buf ||
				    rrs[i].data + rrs[i].len >= buf + caps[c] ||
				    rrs[i].data[rrs[i].len] != '\0')
					abort();
			free(buf);
		}
	}
	free(pkt);
	return 0;
}
