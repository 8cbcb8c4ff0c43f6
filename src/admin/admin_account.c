/*
 * admin_account - who may use the web admin: administrator accounts and
 * API tokens (kept by store/directory_admin.c), logins, and changing
 * one's own password.
 */
#include <string.h>

#include "admin/admin_ops.h"
#include "store/directory.h"

int
admin_account_add(const struct admin_ctx *ctx, const char *address,
		  const char *password, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res,
	    directory_admin_add(ctx->dir, address, password, err, sizeof(err)),
	    err);
}

int
admin_account_passwd(const struct admin_ctx *ctx, const char *address,
		     const char *password, struct admin_result *res)
{
	char err[512];
	return admin_directory_done(res,
				    directory_admin_passwd(ctx->dir, address,
							   password, err,
							   sizeof(err)),
				    err);
}

int
admin_account_del(const struct admin_ctx *ctx, const char *address,
		  struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_admin_del(ctx->dir, address, err, sizeof(err)), err);
}

int
admin_account_list(const struct admin_ctx *ctx,
		   void (*cb)(const char *address, void *arg), void *arg,
		   struct admin_result *res)
{
	struct admin_column o = {cb, arg};

	if (directory_admin_list(ctx->dir, admin_first_column, &o) < 0)
		return admin_fail(res, ADMIN_ERROR,
				  "cannot read the directory");
	return 0;
}

int
admin_login(const struct admin_ctx *ctx, const char *address,
	    const char *password)
{
	int r = directory_admin_check_password(ctx->dir, address, password);

	if (r != 0)
		return r < 0 ? -1 : 2;
	/* Not an administrator: a mail user may change its own password. */
	r = directory_check_password(ctx->dir, address, password);
	return r < 0 ? -1 : r;
}

int
admin_own_password(const struct admin_ctx *ctx, const char *address, bool admin,
		   const char *current, const char *password,
		   struct admin_result *res)
{
	int ok =
	    admin ? directory_admin_check_password(ctx->dir, address, current)
		  : directory_check_password(ctx->dir, address, current);

	if (ok < 0)
		return admin_fail(res, ADMIN_ERROR,
				  "cannot read the directory");
	if (ok == 0)
		return admin_fail(res, ADMIN_INVALID, "wrong current password");
	return admin ? admin_account_passwd(ctx, address, password, res)
		     : admin_user_passwd(ctx, address, password, res);
}

int
admin_token_add(const struct admin_ctx *ctx, const char *name,
		char token_r[ADMIN_TOKEN_LEN + 1], struct admin_result *res)
{
	char err[512];

	if (admin_random_hex(token_r, ADMIN_TOKEN_LEN / 2) < 0)
		return admin_fail(res, ADMIN_ERROR, "cannot get random bytes");
	int r = directory_token_add(ctx->dir, name, token_r, err, sizeof(err));
	if (r < 0)
		explicit_bzero(token_r, ADMIN_TOKEN_LEN + 1);
	return admin_directory_done(res, r, err);
}

int
admin_token_del(const struct admin_ctx *ctx, const char *name,
		struct admin_result *res)
{
	char err[512];
	return admin_directory_done(
	    res, directory_token_del(ctx->dir, name, err, sizeof(err)), err);
}

int
admin_token_list(const struct admin_ctx *ctx,
		 void (*cb)(const char *name, const char *created, void *arg),
		 void *arg, struct admin_result *res)
{
	if (directory_token_list(ctx->dir, cb, arg) < 0)
		return admin_fail(res, ADMIN_ERROR,
				  "cannot read the directory");
	return 0;
}
