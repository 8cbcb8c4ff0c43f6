/*
 * imap_cmd_quota - QUOTA (RFC 9208): GETQUOTAROOT, GETQUOTA, SETQUOTA.
 *
 * One quota root per user, "", over all its folders, with the STORAGE
 * resource (KiB) from the directory's per-user limit (`petrel user quota
 * ADDRESS SIZE`) and the usage of store/quota.h. A user without a limit
 * has no quota root. Limits are the administrator's: SETQUOTA is refused.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_session.h"
#include "store/directory.h"
#include "store/folders.h"
#include "store/quota.h"
#include "util/xalloc.h"

struct quota_op {
	char data_dir[PATH_MAX];
	char user[600];
	char root[PATH_MAX];
	char mbox[FOLDERS_NAME_MAX + 1];
	bool root_cmd; /* GETQUOTAROOT (else GETQUOTA) */
	bool exists;
	int result;
	uint64_t limit, bytes, count;
};

static void
quota_work(struct imap_job *j, void *arg)
{
	struct quota_op *op = arg;
	(void)j;
	struct directory *dir = directory_for_thread(op->data_dir);
	op->result = -1;
	if (dir == NULL || quota_limit(dir, op->user, &op->limit) < 0)
		return;
	if (op->root_cmd)
		op->exists = folders_exists(op->root, op->mbox);
	op->result =
	    op->limit > 0 ? quota_usage(op->root, &op->bytes, &op->count) : 0;
}

static void
quota_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct quota_op *op = arg;
	struct imap_reply r = {0};
	(void)j;
	if (op->result < 0) {
		imap_reply_set(&r, IMAP_NO, "UNAVAILABLE",
			       "Quota is not available now");
	} else if (op->root_cmd && !op->exists) {
		imap_reply_set(&r, IMAP_NO, "NONEXISTENT", "No such mailbox");
	} else if (!op->root_cmd && op->limit == 0) {
		imap_reply_set(&r, IMAP_NO, "NONEXISTENT",
			       "No such quota root");
	} else {
		if (op->root_cmd) {
			struct strbuf sb = {0};
			imap_bodystructure_nstring(op->mbox, strlen(op->mbox),
						   &sb);
			imap_untagged(s, "QUOTAROOT %s%s", sb.p,
				      op->limit > 0 ? " \"\"" : "");
			free(sb.p);
		}
		/* RFC 9208 §5.1: STORAGE in units of 1024 octets. */
		if (op->limit > 0)
			imap_untagged(
			    s, "QUOTA \"\" (STORAGE %" PRIu64 " %" PRIu64 ")",
			    (op->bytes + 1023) / 1024, op->limit / 1024);
		imap_reply_set(&r, IMAP_OK, NULL, "%s completed",
			       op->root_cmd ? "GETQUOTAROOT" : "GETQUOTA");
	}
	free(op);
	imap_finish(s, &r);
}

static enum imap_status
start(struct imap_session *s, const char *mbox, bool root_cmd)
{
	struct quota_op *op = xcalloc(1, sizeof(*op));
	snprintf(op->data_dir, sizeof(op->data_dir), "%s", imap_data_dir(s));
	snprintf(op->user, sizeof(op->user), "%s", s->user);
	snprintf(op->root, sizeof(op->root), "%s", s->root);
	snprintf(op->mbox, sizeof(op->mbox), "%s", mbox);
	op->root_cmd = root_cmd;
	imap_async_task(s, quota_work, quota_done, op, free);
	return IMAP_ASYNC;
}

enum imap_status
imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *c,
		      struct imap_reply *r)
{
	if (!folders_name_ok(c->u.mbox.p)) {
		imap_reply_set(r, IMAP_NO, "NONEXISTENT", "No such mailbox");
		return IMAP_NO;
	}
	return start(s, c->u.mbox.p, true);
}

enum imap_status
imap_cmd_getquota(struct imap_session *s, const struct imap_command *c,
		  struct imap_reply *r)
{
	if (c->u.mbox.len != 0) {
		imap_reply_set(r, IMAP_NO, "NONEXISTENT", "No such quota root");
		return IMAP_NO;
	}
	return start(s, "INBOX", false);
}

enum imap_status
imap_cmd_setquota(struct imap_session *s, const struct imap_command *c,
		  struct imap_reply *r)
{
	(void)s;
	(void)c;
	imap_reply_set(r, IMAP_NO, "NOPERM",
		       "Quotas are set by the administrator");
	return IMAP_NO;
}
