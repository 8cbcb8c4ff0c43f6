/*
 * mauth_name - small pure helpers shared by the DKIM, SPF and DMARC
 * code: domain names as they appear in records and signatures, and
 * base64 with folding white space (RFC 6376 §2.4: b=, bh=, p=).
 */
#ifndef PETREL_MAILAUTH_MAUTH_NAME_H
#define PETREL_MAILAUTH_MAUTH_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define MAUTH_NAME_MAX 253 /* a DNS name in text, without the final dot */

/*
 * mauth_name_copy - s (len bytes) as a lower-cased name into out: labels
 * of letters, digits, '-' and '_' (underscores occur in _domainkey and
 * _dmarc names and in the wild in selectors), 1-63 octets each, at most
 * MAUTH_NAME_MAX in all; one final '.' is dropped. false if it is not
 * such a name (out then undefined).
 */
bool mauth_name_copy(const char *s, size_t len, char out[MAUTH_NAME_MAX + 1]);

/* mauth_name_within - is name equal to domain, or below it? (ASCII ci) */
bool mauth_name_within(const char *name, const char *domain);

/*
 * mauth_b64_decode - base64 with any WSP, CR and LF in it ignored,
 * otherwise strict (RFC 4648 padding). Returns the length or -1.
 */
long mauth_b64_decode(const char *in, size_t len, unsigned char *out,
		      size_t outlen);

/*
 * mauth_reverse_name - the PTR owner of an address (RFC 1035 §3.5,
 * RFC 3596 §2.5): "4.3.2.1.in-addr.arpa", or 32 nibbles then "ip6.arpa".
 * family AF_INET (4 octets of ip) or AF_INET6 (16).
 */
void mauth_reverse_name(int family, const unsigned char *ip, char out[80]);

#endif
