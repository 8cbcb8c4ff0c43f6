/*
 * cli_dns - `petrel dns-records DOMAIN`: the records the domain should
 * publish, as zone-file lines (src/mailauth/dns_records.h).
 */
#include <stdio.h>

#include "cli/cli.h"
#include "mailauth/dns_records.h"

int
cli_dns_records(const struct config *cfg, int argc, char **argv)
{
	struct dns_records r = {0};
	char err[256];

	if (argc != 1) {
		fprintf(stderr, "petrel: usage: petrel dns-records DOMAIN\n");
		return 2;
	}
	if (dns_records_build(cfg, argv[0], &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: %s\n", err);
		return 1;
	}
	dns_records_print(&r, stdout);
	dns_records_free(&r);
	return 0;
}
