/*
 * imap_cmd_append - APPEND (RFC 3501 §6.3.11) with flags, keywords and a
 * date, APPENDUID (UIDPLUS, RFC 4315), APPENDLIMIT (RFC 7889) and
 * [OVERQUOTA] (RFC 9208).
 *
 * The message literal never sits in memory: as the command reader hands
 * its bytes over they are written to a file in the user's Maildir tmp/
 * (bare LF line ends made CRLF, as every message petrel stores has them,
 * so sizes and BODY[] agree), and the command then moves that file into
 * the target folder — fsync first, one rename, the folder's UID list and
 * index on the worker pool. A literal over the size limit is refused
 * before a byte of it is read ([TOOBIG]); the quota is checked with the
 * whole message in hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "imap/imap_folder.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_session.h"
#include "store/folders.h"
#include "store/maildir.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

struct imap_spool {
	int fd;
	char path[PATH_MAX];
	uint64_t written;
	bool cr; /* the last byte written was CR */
	bool failed;
	char buf[8192];
	size_t buffered;
};

int
imap_append_literal(struct imap_session *s, uint32_t size)
{
	if (s->state == IMAP_STATE_NOTAUTH) {
		s->refuse_status = IMAP_BAD;
		s->refuse_text = "APPEND needs LOGIN first";
		return -1;
	}
	if (size > s->srv->cfg->max_message_size) {
		/* RFC 7889 §4: TOOBIG, before the client sends it. */
		s->refuse_status = IMAP_NO;
		s->refuse_text = "[TOOBIG] Message too large";
		return -1;
	}
	imap_append_abort(s);
	struct imap_spool *sp = xcalloc(1, sizeof(*sp));
	char name[256];
	maildir_unique_name(size, name, sizeof(name));
	snprintf(sp->path, sizeof(sp->path), "%s/tmp/%s.append", s->root, name);
	sp->fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sp->fd < 0 && errno == ENOENT && maildir_create(s->root) == 0)
		sp->fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      0600);
	if (sp->fd < 0) {
		log_err("imap: user=<%s>: %s: %s", s->user, sp->path,
			strerror(errno));
		free(sp);
		s->refuse_status = IMAP_NO;
		s->refuse_text = "[SERVERBUG] Cannot store the message";
		return -1;
	}
	s->spool = sp;
	return 0;
}

static void
spool_flush(struct imap_spool *sp)
{
	if (sp->buffered > 0 && !sp->failed &&
	    fsutil_write_all(sp->fd, sp->buf, sp->buffered) < 0)
		sp->failed = true;
	sp->buffered = 0;
}

static void
spool_byte(struct imap_spool *sp, char c)
{
	if (sp->buffered == sizeof(sp->buf))
		spool_flush(sp);
	sp->buf[sp->buffered++] = c;
	sp->written++;
}

void
imap_append_spool(struct imap_session *s, const char *data, size_t len)
{
	struct imap_spool *sp = s->spool;
	if (sp == NULL)
		return;
	for (size_t i = 0; i < len; i++) {
		/* A bare LF becomes CRLF. */
		if (data[i] == '\n' && !sp->cr)
			spool_byte(sp, '\r');
		spool_byte(sp, data[i]);
		sp->cr = data[i] == '\r';
	}
	spool_flush(sp);
}

void
imap_append_abort(struct imap_session *s)
{
	struct imap_spool *sp = s->spool;
	if (sp == NULL)
		return;
	close(sp->fd);
	unlink(sp->path);
	free(sp);
	s->spool = NULL;
}

struct append_op {
	struct imap_spool *sp;
	struct imap_folder *fo;
	char data_dir[PATH_MAX];
	char user[600];
	struct folder_add add;
	const char **kw;
	bool overquota;
	bool io_error;
};

static void
append_free(void *arg)
{
	struct append_op *op = arg;
	if (op->sp != NULL) {
		close(op->sp->fd);
		unlink(op->sp->path);
		free(op->sp);
	}
	imap_folder_put(&op->fo);
	free(op->kw);
	free(op);
}

static void
append_work(struct imap_job *j, void *arg)
{
	struct append_op *op = arg;
	if (quota_would_exceed(op->data_dir, op->user, j->fo->path,
			       op->add.size)) {
		op->overquota = true;
		return;
	}
	/* On disk before it gets a name in the folder. */
	if (fsync(op->sp->fd) < 0) {
		op->io_error = true;
		return;
	}
	j->changes = folder_add(j->fo->f, &op->add, 1, 0);
}

static void
append_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct append_op *op = arg;
	struct imap_reply r = {0};
	struct folder_changes *c = j->changes;
	if (j->fo->f == NULL) {
		imap_reply_set(&r, IMAP_NO, "TRYCREATE",
			       "No such mailbox (create it first)");
	} else if (op->overquota) {
		imap_reply_set(&r, IMAP_NO, "OVERQUOTA",
			       "Not enough room in your mailbox");
	} else if (op->io_error || c == NULL || c->n_uids != 1 ||
		   c->uids[0] == 0) {
		log_err("imap: user=<%s>: APPEND: %s", s->user,
			c ? c->err : "cannot write the message");
		imap_reply_set(&r, IMAP_NO, "SERVERBUG",
			       "Cannot store the message");
	} else {
		char code[64];
		/* Renamed into the folder: no spool left to remove. */
		close(op->sp->fd);
		free(op->sp);
		op->sp = NULL;
		snprintf(code, sizeof(code), "APPENDUID %" PRIu32 " %" PRIu32,
			 j->fo->f->uidvalidity, c->uids[0]);
		imap_reply_set(&r, IMAP_OK, code, "APPEND completed");
	}
	append_free(op);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_append(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	const struct imap_append_args *a = &c->u.append;
	char path[PATH_MAX];
	struct imap_spool *sp = s->spool;

	if (!a->ext || sp == NULL) {
		imap_reply_set(r, IMAP_BAD, NULL, "Message literal missing");
		return IMAP_BAD;
	}
	s->spool = NULL;
	spool_flush(sp);
	if (sp->failed) {
		close(sp->fd);
		unlink(sp->path);
		free(sp);
		imap_reply_set(r, IMAP_NO, "SERVERBUG",
			       "Cannot store the message");
		return IMAP_NO;
	}
	const char *name = a->mbox.p;
	if (!imap_mailbox_name_valid(name, strlen(name)) ||
	    folders_path(s->root, name, path, sizeof(path)) < 0) {
		close(sp->fd);
		unlink(sp->path);
		free(sp);
		imap_reply_set(r, IMAP_NO, "TRYCREATE", "Invalid mailbox name");
		return IMAP_NO;
	}
	struct append_op *op = xcalloc(1, sizeof(*op));
	op->sp = sp;
	snprintf(op->data_dir, sizeof(op->data_dir), "%s", imap_data_dir(s));
	snprintf(op->user, sizeof(op->user), "%s", s->user);
	op->kw = xcalloc(a->flags.n_kw ? a->flags.n_kw : 1, sizeof(char *));
	for (size_t i = 0; i < a->flags.n_kw; i++)
		op->kw[i] = a->flags.kw[i].p; /* in the command's arena */
	op->add = (struct folder_add){
	    .src = sp->path,
	    .rename = true,
	    .sys = a->flags.sys & FOLDER_SYSFLAGS,
	    .n_kw = a->flags.n_kw,
	    .kw = op->kw,
	    .date = a->has_date ? (int64_t)a->date : 0,
	    .size = sp->written,
	};
	op->fo = imap_folder_get(s->srv, path, strcmp(name, "INBOX") == 0);
	imap_async_folder(s, op->fo, append_work, append_done, op, append_free);
	return IMAP_ASYNC;
}
