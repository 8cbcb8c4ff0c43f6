/*
 * admin_dns - the DNS records a domain should publish
 * (mailauth/dns_records.h, shared with whatever signs mail).
 */
#include "admin/admin_ops.h"
#include "mailauth/dns_records.h"

int
admin_dns_records(const struct admin_ctx *ctx, const char *domain,
		  struct dns_records *out, struct admin_result *res)
{
	char err[256];

	if (dns_records_build(ctx->cfg, domain, out, err, sizeof(err)) < 0)
		return admin_fail(res, ADMIN_INVALID, "%s", err);
	return 0;
}
