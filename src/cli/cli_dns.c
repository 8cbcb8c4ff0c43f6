/*
 * cli_dns - `petrel dns-records DOMAIN`: the records the domain should
 * publish, as zone-file lines (admin_dns_records, as the web admin).
 */
#include <stdio.h>

#include "admin/admin_ops.h"
#include "cli/cli.h"
#include "mailauth/dns_records.h"

int
cli_dns_records(const struct config *cfg, int argc, char **argv)
{
	struct admin_ctx ctx = {cfg, NULL};
	struct admin_result res = {0};
	struct dns_records r = {0};

	if (argc != 1)
		return cli_fail(2, "usage: petrel dns-records DOMAIN");
	if (admin_dns_records(&ctx, argv[0], &r, &res) < 0)
		return cli_fail(1, "%s", res.error);
	dns_records_print(&r, stdout);
	dns_records_free(&r);
	return 0;
}
