/*
 * dns_wire - decoding the records of a DNS answer packet (RFC 1035 §4)
 * as dns_query_raw() returns them: the answer section's records of one
 * type that belong to the question's name, or to the end of its CNAME
 * chain. Pure (bytes in, records out) and fuzzed.
 */
#ifndef PETREL_DELIVER_DNS_WIRE_H
#define PETREL_DELIVER_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_T_A	    1
#define DNS_T_CNAME 5
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28

struct dns_wire_rr {
	const char *data; /* into the caller's buffer */
	size_t len;
	unsigned pref; /* MX preference */
};

/*
 * dns_wire_records - the records of type, decoded into buf (cap bytes):
 * TXT: its character-strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2);
 * A, AAAA: the 4 or 16 address octets; MX: the exchange as text ("" for
 * the null MX "."); PTR: the name as text. Names are "a.b.c" without
 * the final dot; an octet that is not printable ASCII or is a '.'
 * inside a label is written '?'. At most max records; returns their
 * number, or -1 if the packet is malformed or buf too small.
 */
int dns_wire_records(const uint8_t *pkt, size_t len, int type,
		     struct dns_wire_rr *rrs, size_t max, char *buf,
		     size_t cap);

/* dns_wire_rcode - the header's rcode, or -1 for a short packet. */
int dns_wire_rcode(const uint8_t *pkt, size_t len);

#endif
