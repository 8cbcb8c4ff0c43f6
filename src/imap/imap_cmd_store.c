/*
 * imap_cmd_store - the commands that change messages: STORE (with
 * UNCHANGEDSINCE, RFC 7162 §3.1.3), COPY and MOVE (RFC 6851) with
 * COPYUID (UIDPLUS, RFC 4315), EXPUNGE and UID EXPUNGE.
 *
 * Each runs as a job of the shared folder (store/folder.h does the disk
 * work: renames, links, unlinks, the index), so the other sessions on the
 * folder are told as soon as it is applied. MOVE is a COPY into the
 * target followed by an expunge in the source: a crash between the two
 * leaves the message in both folders, never in neither.
 */
#include <event2/buffer.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "imap/imap_folder.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "store/folders.h"
#include "store/quota.h"
#include "util/log.h"
#include "util/xalloc.h"

/* uids_of - the live messages of seqs[] as UIDs (and their sequence
 * numbers kept in order). */
static uint32_t *
uids_of(struct imap_view *v, const uint32_t *seqs, size_t n, size_t *n_r)
{
	uint32_t *u = xmalloc((n ? n : 1) * sizeof(*u));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct folder_msg *m = imap_view_msg(v, seqs[i]);
		if (m->expunged == 0)
			u[k++] = m->uid;
	}
	*n_r = k;
	return u;
}

/* --- STORE --- */

struct store_op {
	uint32_t *seqs;
	size_t n;
	uint32_t *uids;
	size_t n_uids;
	int op;
	unsigned sys;
	const char **kw;
	size_t n_kw;
	uint64_t unchangedsince;
	uint32_t sid;
	bool silent;
};

static void
store_free(void *arg)
{
	struct store_op *op = arg;
	free(op->seqs);
	free(op->uids);
	free(op->kw);
	free(op);
}

static void
store_work(struct imap_job *j, void *arg)
{
	struct store_op *op = arg;
	j->changes =
	    folder_store(j->fo->f, op->uids, op->n_uids, op->op, op->sys,
			 op->kw, op->n_kw, op->unchangedsince, op->sid);
}

static bool
has(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void
store_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct store_op *op = arg;
	struct imap_view *v = s->view;
	struct imap_reply r = {0};
	struct folder_changes *c = j->changes;

	if (c == NULL || (c->error != 0 && c->n == 0)) {
		imap_reply_set(&r, IMAP_NO,
			       c && c->error == ENOSPC ? "LIMIT" : NULL, "%s",
			       c ? c->err : "Mailbox is gone");
		store_free(op);
		imap_finish(s, &r);
		return;
	}
	/* RFC 3501 §6.4.6: the new flags of each message, unless .SILENT;
	 * with UNCHANGEDSINCE, not for those that were modified. */
	struct strbuf sb = {0};
	for (size_t i = 0; i < op->n && (!op->silent || s->condstore); i++) {
		const struct folder_msg *m = imap_view_msg(v, op->seqs[i]);
		if (m == NULL || m->expunged != 0 ||
		    has(c->failed, c->n_failed, m->uid))
			continue;
		if (op->silent) {
			/* RFC 7162 §3.1.3: with .SILENT, still tell the
			 * MODSEQ of what changed. */
			bool changed = false;
			for (size_t k = 0; k < c->n && !changed; k++)
				changed = c->v[k].msg.uid == m->uid;
			if (!changed)
				continue;
		}
		sb.len = 0;
		evbuffer_add_printf(imap_out(s), "* %" PRIu32 " FETCH (",
				    op->seqs[i]);
		if (s->cmd->uid)
			evbuffer_add_printf(imap_out(s), "UID %" PRIu32 " ",
					    m->uid);
		if (!op->silent) {
			imap_view_write_flags(v, m, &sb);
			evbuffer_add_printf(imap_out(s), "FLAGS %s", sb.p);
		}
		if (s->condstore)
			evbuffer_add_printf(imap_out(s),
					    "%sMODSEQ (%" PRIu64 ")",
					    op->silent ? "" : " ", m->modseq);
		evbuffer_add(imap_out(s), ")\r\n", 3);
	}
	free(sb.p);
	if (c->n_failed > 0) {
		/* RFC 7162 §3.1.3: [MODIFIED set] of the ones left alone. */
		struct strbuf set = {0};
		strbuf_adds(&set, "MODIFIED ");
		if (s->cmd->uid) {
			imap_view_uidset(c->failed, c->n_failed, &set);
		} else {
			uint32_t *seqs = xmalloc(c->n_failed * sizeof(*seqs));
			size_t n = 0;
			for (size_t i = 0; i < op->n; i++) {
				const struct folder_msg *m =
				    imap_view_msg(v, op->seqs[i]);
				if (m && has(c->failed, c->n_failed, m->uid))
					seqs[n++] = op->seqs[i];
			}
			imap_view_uidset(seqs, n, &set);
			free(seqs);
		}
		imap_reply_set(&r, IMAP_OK, set.p, "Conditional STORE failed");
		free(set.p);
	} else if (c->error != 0) {
		imap_reply_set(&r, IMAP_NO, NULL, "%s", c->err);
	} else {
		imap_reply_set(&r, IMAP_OK, NULL, "%sSTORE completed",
			       s->cmd->uid ? "UID " : "");
	}
	store_free(op);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_store(struct imap_session *s, const struct imap_command *c,
	       struct imap_reply *r)
{
	const struct imap_store_args *a = &c->u.store;
	struct imap_view *v = s->view;
	if (v->readonly) {
		imap_reply_set(r, IMAP_NO, "READ-ONLY", "Mailbox is read-only");
		return IMAP_NO;
	}
	struct store_op *op = xcalloc(1, sizeof(*op));
	if (imap_view_resolve(v, &a->set, c->uid, s->saved, s->n_saved,
			      &op->seqs, &op->n) < 0) {
		store_free(op);
		imap_reply_set(r, IMAP_BAD, NULL,
			       "Invalid message sequence set");
		return IMAP_BAD;
	}
	op->uids = uids_of(v, op->seqs, op->n, &op->n_uids);
	op->op = a->op;
	op->sys = a->flags.sys;
	op->n_kw = a->flags.n_kw;
	op->kw = xcalloc(op->n_kw ? op->n_kw : 1, sizeof(char *));
	for (size_t i = 0; i < op->n_kw; i++)
		op->kw[i] = a->flags.kw[i].p; /* in the command's arena */
	/* UNCHANGEDSINCE 0 lets nothing change (every MODSEQ is above). */
	op->unchangedsince =
	    a->unchangedsince_set ? a->unchangedsince : UINT64_MAX;
	if (a->unchangedsince_set)
		s->condstore = true; /* RFC 7162 §3.1: CONDSTORE enabling */
	op->sid = s->id;
	op->silent = a->silent;
	imap_async_folder(s, v->fo, store_work, store_done, op, store_free);
	return IMAP_ASYNC;
}

/* --- COPY / MOVE --- */

struct copy_op {
	bool move;
	char data_dir[PATH_MAX];
	char user[600];
	char src_folder[PATH_MAX];
	uint32_t src_uidvalidity;
	uint32_t *seqs; /* of the source messages, in order */
	size_t n;
	uint32_t *src_uids;
	struct folder_add *adds;
	char **paths, **bases;
	const char ***kws;
	uint64_t total;
	struct imap_folder *target;
	bool overquota;
	bool missing;
	uint32_t *dst_uids;
	uint32_t dst_uidvalidity;
	char err[256];
};

static void
copy_free(void *arg)
{
	struct copy_op *op = arg;
	for (size_t i = 0; i < op->n; i++) {
		free(op->paths[i]);
		free(op->bases[i]);
		free(op->kws[i]);
	}
	free(op->paths);
	free(op->bases);
	free(op->kws);
	free(op->adds);
	free(op->seqs);
	free(op->src_uids);
	free(op->dst_uids);
	imap_folder_put(&op->target);
	free(op);
}

static void
copy_work(struct imap_job *j, void *arg)
{
	struct copy_op *op = arg;
	/* A MOVE between folders of one user adds nothing to its usage. */
	if (!op->move && quota_would_exceed(op->data_dir, op->user, j->fo->path,
					    op->total)) {
		op->overquota = true;
		return;
	}
	j->changes = folder_add(j->fo->f, op->adds, op->n, 0);
}

static void
expunge_work(struct imap_job *j, void *arg)
{
	struct copy_op *op = arg;
	size_t n = 0;
	uint32_t *u = xmalloc((op->n ? op->n : 1) * sizeof(*u));
	for (size_t i = 0; i < op->n; i++)
		if (op->dst_uids[i] != 0)
			u[n++] = op->src_uids[i];
	j->changes = folder_expunge(j->fo->f, u, n);
	free(u);
}

/* joint_runs - the UIDs of side as ranges, cut wherever src and dst do not
 * both go on by one: the two sets of COPYUID then pair up in order. */
static void
joint_runs(const uint32_t *side, const uint32_t *src, const uint32_t *dst,
	   size_t k, struct strbuf *code)
{
	for (size_t i = 0; i < k;) {
		size_t e = i;
		while (e + 1 < k && src[e + 1] == src[e] + 1 &&
		       dst[e + 1] == dst[e] + 1)
			e++;
		strbuf_adds(code, i > 0 ? "," : "");
		if (e == i)
			strbuf_addf(code, "%" PRIu32, side[i]);
		else
			strbuf_addf(code, "%" PRIu32 ":%" PRIu32, side[i],
				    side[e]);
		i = e + 1;
	}
}

static void
copyuid(struct copy_op *op, struct strbuf *code)
{
	/* RFC 4315 §3: COPYUID uidvalidity source-uids dest-uids, the
	 * two sets in corresponding order. */
	strbuf_addf(code, "COPYUID %" PRIu32 " ", op->dst_uidvalidity);
	uint32_t *src = xmalloc((op->n ? op->n : 1) * sizeof(*src));
	uint32_t *dst = xmalloc((op->n ? op->n : 1) * sizeof(*dst));
	size_t k = 0;
	for (size_t i = 0; i < op->n; i++)
		if (op->dst_uids[i] != 0) {
			src[k] = op->src_uids[i];
			dst[k++] = op->dst_uids[i];
		}
	joint_runs(src, src, dst, k, code);
	strbuf_adds(code, " ");
	joint_runs(dst, src, dst, k, code);
	free(src);
	free(dst);
}

static void
moved_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct copy_op *op = arg;
	struct imap_reply r = {0};
	(void)j;
	/* RFC 6851 §3.3: the EXPUNGEs (or VANISHED) of the moved messages
	 * come before the tagged OK, even for MOVE by sequence number. */
	imap_session_updates(s, true);
	imap_reply_set(&r, IMAP_OK, NULL, "%sMOVE completed",
		       s->cmd->uid ? "UID " : "");
	copy_free(op);
	imap_finish(s, &r);
}

static void
copy_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct copy_op *op = arg;
	struct imap_reply r = {0};
	struct folder_changes *c = j->changes;
	const char *verb = op->move ? "MOVE" : "COPY";

	if (j->fo->f == NULL) {
		imap_reply_set(&r, IMAP_NO, "TRYCREATE",
			       "No such mailbox (create it first)");
	} else if (op->overquota) {
		imap_reply_set(&r, IMAP_NO, "OVERQUOTA",
			       "Not enough room in your mailbox");
	} else if (c == NULL || c->n_uids != op->n) {
		imap_reply_set(&r, IMAP_NO, NULL, "%s failed", verb);
	} else {
		op->dst_uids = xmalloc((op->n ? op->n : 1) * sizeof(uint32_t));
		memcpy(op->dst_uids, c->uids, op->n * sizeof(uint32_t));
		op->dst_uidvalidity = j->fo->f->uidvalidity;
		size_t ok = 0;
		for (size_t i = 0; i < op->n; i++)
			ok += op->dst_uids[i] != 0;
		if (ok < op->n && c->error != 0)
			log_err("imap: user=<%s>: %s: %s", s->user, verb,
				c->err);
		if (ok == 0 && op->n > 0) {
			imap_reply_set(&r, IMAP_NO, NULL, "%s failed: %s", verb,
				       c->err);
		} else if (op->move && s->view != NULL) {
			/* The copy is safe: now out of the source. */
			struct strbuf code = {0};
			copyuid(op, &code);
			imap_untagged(s, "OK [%s] Moved", code.p);
			free(code.p);
			imap_folder_put(&op->target);
			imap_async_folder(s, s->view->fo, expunge_work,
					  moved_done, op, copy_free);
			return;
		} else {
			imap_reply_set(&r, IMAP_OK, NULL, "%s completed", verb);
			if (ok > 0)
				copyuid(op, &r.code);
		}
	}
	copy_free(op);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_copy(struct imap_session *s, const struct imap_command *c,
	      struct imap_reply *r)
{
	struct imap_view *v = s->view;
	const struct folder *f = v->fo->f;
	bool move = c->cmd == IMAP_CMD_MOVE;
	char path[PATH_MAX];
	const char *name = c->u.copy.mbox.p;

	if (move && v->readonly) {
		imap_reply_set(r, IMAP_NO, "READ-ONLY", "Mailbox is read-only");
		return IMAP_NO;
	}
	if (!imap_mailbox_name_valid(name, strlen(name)) ||
	    folders_path(s->root, name, path, sizeof(path)) < 0) {
		imap_reply_set(r, IMAP_NO, "TRYCREATE", "Invalid mailbox name");
		return IMAP_NO;
	}
	struct copy_op *op = xcalloc(1, sizeof(*op));
	op->move = move;
	snprintf(op->data_dir, sizeof(op->data_dir), "%s", imap_data_dir(s));
	snprintf(op->user, sizeof(op->user), "%s", s->user);
	snprintf(op->src_folder, sizeof(op->src_folder), "%s", f->path);
	uint32_t *seqs;
	size_t n;
	if (imap_view_resolve(v, &c->u.copy.set, c->uid, s->saved, s->n_saved,
			      &seqs, &n) < 0) {
		copy_free(op);
		imap_reply_set(r, IMAP_BAD, NULL,
			       "Invalid message sequence set");
		return IMAP_BAD;
	}
	op->seqs = seqs;
	op->src_uids = xmalloc((n ? n : 1) * sizeof(uint32_t));
	op->adds = xcalloc(n ? n : 1, sizeof(*op->adds));
	op->paths = xcalloc(n ? n : 1, sizeof(char *));
	op->bases = xcalloc(n ? n : 1, sizeof(char *));
	op->kws = xcalloc(n ? n : 1, sizeof(char **));
	for (size_t i = 0; i < n; i++) {
		const struct folder_msg *m = imap_view_msg(v, seqs[i]);
		if (m->expunged != 0)
			continue;
		size_t k = op->n++;
		char p[PATH_MAX];
		folder_msg_path(f, m, p, sizeof(p));
		op->paths[k] = xstrdup(p);
		op->bases[k] = xstrndup(m->name, strcspn(m->name, ":"));
		/* Keywords travel by name: the target has its own table. */
		op->kws[k] = xcalloc(FOLDER_MAX_KEYWORDS, sizeof(char *));
		size_t nk = 0;
		for (size_t b = 0; b < f->n_kw; b++)
			if (m->kw & (uint64_t)1 << b)
				op->kws[k][nk++] = f->kw[b];
		op->src_uids[k] = m->uid;
		op->adds[k] = (struct folder_add){
		    .src = op->paths[k],
		    .sys = m->flags,
		    .n_kw = nk,
		    .kw = op->kws[k],
		    .size = m->size,
		    .src_base = op->bases[k],
		    .src_folder = op->src_folder,
		};
		op->total += m->size;
	}
	if (op->n == 0) {
		copy_free(op);
		/* RFC 4315: no COPYUID when nothing was copied. */
		imap_reply_set(r, IMAP_OK, NULL, "No messages to %s",
			       move ? "move" : "copy");
		return IMAP_OK;
	}
	op->target = imap_folder_get(s->srv, path, strcmp(name, "INBOX") == 0);
	imap_async_folder(s, op->target, copy_work, copy_done, op, copy_free);
	return IMAP_ASYNC;
}

/* --- EXPUNGE --- */

struct expunge_op {
	uint32_t *uids;
	size_t n;
};

static void
xp_free(void *arg)
{
	struct expunge_op *op = arg;
	free(op->uids);
	free(op);
}

static void
xp_work(struct imap_job *j, void *arg)
{
	struct expunge_op *op = arg;
	j->changes = folder_expunge(j->fo->f, op->uids, op->n);
}

static void
xp_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct imap_reply r = {0};
	struct folder_changes *c = j->changes;
	if (c != NULL && c->error != 0)
		imap_reply_set(&r, IMAP_NO, NULL, "%s", c->err);
	else
		imap_reply_set(&r, IMAP_OK, NULL, "%sEXPUNGE completed",
			       s->cmd->uid ? "UID " : "");
	xp_free(arg);
	/* The EXPUNGEs go out with the completion (EXPUNGE may have them). */
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_expunge(struct imap_session *s, const struct imap_command *c,
		 struct imap_reply *r)
{
	struct imap_view *v = s->view;
	if (v->readonly) {
		imap_reply_set(r, IMAP_NO, "READ-ONLY", "Mailbox is read-only");
		return IMAP_NO;
	}
	struct expunge_op *op = xcalloc(1, sizeof(*op));
	op->uids = xmalloc((v->exists ? v->exists : 1) * sizeof(uint32_t));
	const struct folder *f = v->fo->f;
	uint32_t max = f->uidnext > 0 ? f->uidnext - 1 : 0;
	for (uint32_t seq = 1; seq <= v->exists; seq++) {
		const struct folder_msg *m = imap_view_msg(v, seq);
		if (!(m->flags & FOLDER_DELETED) || m->expunged != 0)
			continue;
		/* UID EXPUNGE (RFC 4315 §2.1): only those in the set. */
		if (c->uid && c->u.expunge.saved) {
			bool in = false;
			for (size_t k = 0; k < s->n_saved && !in; k++)
				in = s->saved[k] == m->uid;
			if (!in)
				continue;
		} else if (c->uid &&
			   !imap_seqset_contains(&c->u.expunge, m->uid, max)) {
			continue;
		}
		op->uids[op->n++] = m->uid;
	}
	if (op->n == 0) {
		xp_free(op);
		imap_reply_set(r, IMAP_OK, NULL, "%sEXPUNGE completed",
			       c->uid ? "UID " : "");
		return IMAP_OK;
	}
	imap_async_folder(s, v->fo, xp_work, xp_done, op, xp_free);
	return IMAP_ASYNC;
}
