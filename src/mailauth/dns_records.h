/*
 * dns_records - the DNS records a hosted domain should publish so that
 * mail to it arrives here and mail from it is believed elsewhere: MX,
 * SPF (RFC 7208), DKIM (RFC 6376, one per signing key) and DMARC
 * (RFC 7489). Shared by `petrel dns-records DOMAIN` and the admin page,
 * so the two always print the same thing.
 */
#ifndef PETREL_MAILAUTH_DNS_RECORDS_H
#define PETREL_MAILAUTH_DNS_RECORDS_H

#include <stddef.h>
#include <stdio.h>

struct config;

struct dns_record {
	char *name;  /* owner name, fully qualified, with the final dot */
	char *type;  /* "MX", "TXT" */
	char *value; /* the record data, unquoted ("10 mx.example.org.") */
	char *note;  /* one line on what it is for */
};

struct dns_records {
	size_t n;
	struct dns_record *items;
};

/*
 * dns_records_build - the records for domain (lower-cased in the names),
 * appended to *out. Returns 0, or -1 with err (a malformed domain).
 */
int dns_records_build(const struct config *cfg, const char *domain,
		      struct dns_records *out, char *err, size_t errlen);

struct dkim_key_info;

/* dns_records_dkim - append the TXT record of one DKIM key. */
void dns_records_dkim(const struct dkim_key_info *k, struct dns_records *out);

/* dns_records_free - free the items and reset to empty. */
void dns_records_free(struct dns_records *r);

/*
 * dns_records_print - zone-file lines, each preceded by its note as a
 * comment; TXT data is quoted and split into strings of at most 255
 * octets (RFC 1035 §3.3.14), as a long DKIM key needs.
 */
void dns_records_print(const struct dns_records *r, FILE *out);

#endif
