/*
 * admin_directory - domains, users and aliases: the directory's own
 * functions (store/directory.h) with their reasons sorted into kinds,
 * plus the checks the CLI used to make itself (a listing's domain must
 * be hosted).
 */
#include <inttypes.h>
#include <stdio.h>

#include "admin/admin_ops.h"
#include "store/directory.h"

#define READ_ERROR "cannot read the directory"

int
admin_domain_add(const struct admin_ctx *ctx, const char *domain,
		 struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_domain_add(ctx->dir, domain, err, sizeof(err)), err);
}

int
admin_domain_del(const struct admin_ctx *ctx, const char *domain,
		 struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_domain_del(ctx->dir, domain, err, sizeof(err)), err);
}

int
admin_domain_list(const struct admin_ctx *ctx,
		  void (*cb)(const char *domain, void *arg), void *arg,
		  struct admin_result *res)
{
	struct admin_column o = {cb, arg};

	if (directory_domain_list(ctx->dir, admin_first_column, &o) < 0)
		return admin_fail(res, ADMIN_ERROR, READ_ERROR);
	return 0;
}

int
admin_user_add(const struct admin_ctx *ctx, const char *address,
	       const char *password, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res,
	    directory_user_add(ctx->dir, address, password, err, sizeof(err)),
	    err);
}

int
admin_user_passwd(const struct admin_ctx *ctx, const char *address,
		  const char *password, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(res,
				    directory_user_passwd(ctx->dir, address,
							  password, err,
							  sizeof(err)),
				    err);
}

int
admin_user_del(const struct admin_ctx *ctx, const char *address,
	       struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_user_del(ctx->dir, address, err, sizeof(err)), err);
}

int
admin_user_quota_set(const struct admin_ctx *ctx, const char *address,
		     uint64_t bytes, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(res,
				    directory_user_quota_set(ctx->dir, address,
							     bytes, err,
							     sizeof(err)),
				    err);
}

int
admin_user_quota_get(const struct admin_ctx *ctx, const char *address,
		     uint64_t *bytes_r, struct admin_result *res)
{
	int r = directory_user_quota(ctx->dir, address, bytes_r);

	if (r < 0)
		return admin_fail(res, ADMIN_ERROR, READ_ERROR);
	if (r == 0)
		return admin_fail(res, ADMIN_NOT_FOUND, "unknown user %s",
				  address);
	return 0;
}

/* hosted - 0 if domain is hosted, else the failure. */
static int
hosted(const struct admin_ctx *ctx, const char *domain,
       struct admin_result *res)
{
	int r = directory_is_local_domain(ctx->dir, domain);

	if (r < 0)
		return admin_fail(res, ADMIN_ERROR, READ_ERROR);
	if (r == 0)
		return admin_fail(res, ADMIN_NOT_FOUND, "unknown domain %s",
				  domain);
	return 0;
}

struct user_cb {
	const struct admin_ctx *ctx;
	bool with_quota;
	void (*cb)(const char *address, uint64_t quota, void *arg);
	void *arg;
};

static void
user_row(const char *address, const char *b, void *arg)
{
	struct user_cb *u = arg;
	uint64_t quota = 0;
	(void)b;

	if (u->with_quota)
		directory_user_quota(u->ctx->dir, address, &quota);
	u->cb(address, quota, u->arg);
}

int
admin_user_list(const struct admin_ctx *ctx, const char *domain,
		bool with_quota,
		void (*cb)(const char *address, uint64_t quota, void *arg),
		void *arg, struct admin_result *res)
{
	struct user_cb u = {ctx, with_quota, cb, arg};

	if (domain != NULL && hosted(ctx, domain, res) < 0)
		return -1;
	if (directory_user_list(ctx->dir, domain, user_row, &u) < 0)
		return admin_fail(res, ADMIN_ERROR, READ_ERROR);
	return 0;
}

int
admin_alias_add(const struct admin_ctx *ctx, const char *address,
		const char *const *targets, size_t n, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(res,
				    directory_alias_add(ctx->dir, address,
							targets, n, err,
							sizeof(err)),
				    err);
}

int
admin_alias_del(const struct admin_ctx *ctx, const char *address,
		struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_alias_del(ctx->dir, address, err, sizeof(err)), err);
}

int
admin_alias_list(const struct admin_ctx *ctx, const char *domain,
		 void (*cb)(const char *address, const char *const *targets,
			    size_t n, void *arg),
		 void *arg, struct admin_result *res)
{
	if (domain != NULL && hosted(ctx, domain, res) < 0)
		return -1;
	if (directory_alias_each(ctx->dir, domain, cb, arg) < 0)
		return admin_fail(res, ADMIN_ERROR, READ_ERROR);
	return 0;
}

void
admin_format_quota(uint64_t bytes, char *out, size_t outlen)
{
	static const char units[] = "kmg";
	int u = -1;

	if (bytes == 0) {
		snprintf(out, outlen, "none");
		return;
	}
	while (u < 2 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(out, outlen, "%" PRIu64, bytes);
	else
		snprintf(out, outlen, "%" PRIu64 "%c", bytes, units[u]);
}
