/*
 * admin_ops - what every action shares: results and their kinds.
 */
#include "admin/admin_ops.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int
admin_fail(struct admin_result *res, enum admin_status status, const char *fmt,
	   ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return -1;
}

int
admin_fail_directory(struct admin_result *res, const char *reason)
{
	enum admin_status st = ADMIN_INVALID;

	/* The wording is directory.h's (and pinned by test_admin_ops). */
	if (strncmp(reason, "unknown ", 8) == 0)
		st = ADMIN_NOT_FOUND;
	else if (strstr(reason, " already exists") != NULL ||
		 strstr(reason, " still has ") != NULL)
		st = ADMIN_CONFLICT;
	else if (strncmp(reason, "directory database", 18) == 0 ||
		 strncmp(reason, "cannot ", 7) == 0)
		st = ADMIN_ERROR;
	return admin_fail(res, st, "%s", reason);
}

int
admin_directory_done(struct admin_result *res, int r, const char *reason)
{
	return r < 0 ? admin_fail_directory(res, reason) : 0;
}

void
admin_first_column(const char *a, const char *b, void *col)
{
	struct admin_column *c = col;
	(void)b;
	c->cb(a, c->arg);
}

bool
admin_valid_queue_id(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len >= QUEUE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	return true;
}

int
admin_random_hex(char *out, size_t n)
{
	unsigned char buf[256];
	size_t got = 0;

	if (n > sizeof(buf))
		return -1;
	/* getrandom: the kernel CSPRNG, blocking only before it is seeded. */
	while (got < n) {
		ssize_t r = getrandom(buf + got, n - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}
