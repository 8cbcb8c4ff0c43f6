/*
 * imap_cmd_mailbox - the mailbox commands: SELECT and EXAMINE (with
 * CONDSTORE and QRESYNC, RFC 7162), CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, LIST and LSUB (with LIST-EXTENDED, RFC 5258; CHILDREN,
 * RFC 3348; SPECIAL-USE, RFC 6154; LIST-STATUS, RFC 5819), STATUS,
 * NAMESPACE (RFC 2342), CHECK, CLOSE, UNSELECT (RFC 3691).
 *
 * Names are checked here (modified UTF-7, Maildir++ rules) and mapped to
 * folders by store/folders.h; the disk work runs on the worker pool, and
 * everything about a folder's messages through its shared imap_folder.
 */
#include <event2/buffer.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_bodystructure.h"
#include "imap/imap_folder.h"
#include "imap/imap_mailbox_name.h"
#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "store/folders.h"
#include "util/log.h"
#include "util/xalloc.h"

/* --- names --- */

/*
 * folder_of - the Maildir of mailbox name for this user into out; NULL,
 * or why the name is refused (for a NO: RFC 3501 lets a server refuse
 * names it cannot hold).
 */
static const char *
folder_of(struct imap_session *s, const char *name, char *out, size_t outlen)
{
	if (!imap_mailbox_name_valid(name, strlen(name)))
		return "Mailbox name is not valid modified UTF-7";
	if (folders_path(s->root, name, out, outlen) < 0)
		return "Invalid mailbox name";
	return NULL;
}

static void
add_name(struct strbuf *sb, const char *name)
{
	imap_bodystructure_nstring(name, strlen(name), sb);
}

/* --- SELECT / EXAMINE --- */

struct select_op {
	struct imap_folder *fo;
	bool readonly;
	char name[FOLDERS_NAME_MAX + 1];
	struct imap_select_args args;
};

static void
select_free(void *arg)
{
	struct select_op *op = arg;
	imap_folder_put(&op->fo);
	free(op);
}

static void
sync_work(struct imap_job *j, void *arg)
{
	(void)arg;
	j->changes = folder_sync(j->fo->f);
}

static void
note_vanished(uint32_t lo, uint32_t hi, void *arg)
{
	struct strbuf *sb = arg;
	char tmp[32];
	if (sb->len > 0)
		strbuf_add(sb, ",", 1);
	if (lo == hi)
		snprintf(tmp, sizeof(tmp), "%" PRIu32, lo);
	else
		snprintf(tmp, sizeof(tmp), "%" PRIu32 ":%" PRIu32, lo, hi);
	strbuf_adds(sb, tmp);
}

/*
 * qresync - RFC 7162 §3.2.5: what changed since the client's MODSEQ: the
 * UIDs expunged since (VANISHED (EARLIER), limited to the UIDs it knows
 * when it said), then the messages changed since, with UID and MODSEQ.
 */
static void
qresync(struct imap_session *s, const struct imap_select_args *a)
{
	struct imap_view *v = s->view;
	const struct folder *f = v->fo->f;
	if (a->uidvalidity != f->uidvalidity)
		return; /* it must resynchronize everything */
	struct strbuf van = {0};
	folder_vanished_since(f, a->modseq, note_vanished, &van);
	if (van.len > 0 && a->known_uids.n > 0) {
		/* Keep only the known UIDs: walk the vanished ranges once
		 * more, intersected with known_uids. */
		van.len = 0;
		for (size_t i = 0; i < f->n_van; i++) {
			if (f->van[i].modseq <= a->modseq)
				continue;
			for (size_t k = 0; k < a->known_uids.n; k++) {
				uint32_t lo = a->known_uids.r[k].lo,
					 hi = a->known_uids.r[k].hi;
				if (lo == 0)
					lo = f->uidnext;
				if (hi == 0)
					hi = f->uidnext;
				if (lo > hi) {
					uint32_t t = lo;
					lo = hi;
					hi = t;
				}
				uint32_t a_lo =
				    lo > f->van[i].lo ? lo : f->van[i].lo;
				uint32_t a_hi =
				    hi < f->van[i].hi ? hi : f->van[i].hi;
				if (a_lo <= a_hi)
					note_vanished(a_lo, a_hi, &van);
			}
		}
	}
	if (van.len > 0)
		evbuffer_add_printf(imap_out(s), "* VANISHED (EARLIER) %s\r\n",
				    van.p);
	free(van.p);
	struct strbuf sb = {0};
	for (uint32_t seq = 1; seq <= v->exists; seq++) {
		const struct folder_msg *m = imap_view_msg(v, seq);
		if (m->modseq <= a->modseq)
			continue;
		if (a->known_uids.n > 0 &&
		    !imap_seqset_contains(&a->known_uids, m->uid, f->uidnext))
			continue;
		sb.len = 0;
		imap_view_write_flags(v, m, &sb);
		evbuffer_add_printf(imap_out(s),
				    "* %" PRIu32 " FETCH (UID %" PRIu32
				    " FLAGS %s MODSEQ (%" PRIu64 "))\r\n",
				    seq, m->uid, sb.p, m->modseq);
	}
	free(sb.p);
}

static void
flag_list(const struct folder *f, struct strbuf *sb, bool perm)
{
	strbuf_adds(sb, "(\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < f->n_kw; i++) {
		strbuf_adds(sb, " ");
		strbuf_adds(sb, f->kw[i]);
	}
	if (perm && f->n_kw < FOLDER_MAX_KEYWORDS)
		strbuf_adds(sb, " \\*"); /* new keywords may be made */
	strbuf_adds(sb, ")");
}

static void
select_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct select_op *op = arg;
	struct imap_reply r = {0};
	struct imap_folder *fo = op->fo;
	(void)j;

	if (fo->f == NULL) {
		imap_reply_set(&r, IMAP_NO, fo->missing ? "NONEXISTENT" : NULL,
			       "%s", fo->err[0] ? fo->err : "No such mailbox");
		select_free(op);
		imap_finish(s, &r);
		return;
	}
	s->view = xmalloc(sizeof(*s->view));
	imap_view_attach(s->view, fo, s, s->id, op->readonly);
	op->fo = NULL; /* the view's reference now */
	s->state = IMAP_STATE_SELECTED;
	if (op->args.condstore)
		s->condstore = true; /* RFC 7162 §3.1: CONDSTORE enabling */
	const struct folder *f = fo->f;
	struct imap_view *v = s->view;
	struct strbuf sb = {0};
	flag_list(f, &sb, false);
	imap_untagged(s, "FLAGS %s", sb.p);
	sb.len = 0;
	if (op->readonly) {
		strbuf_adds(&sb, "()");
	} else {
		flag_list(f, &sb, true);
	}
	imap_untagged(s, "OK [PERMANENTFLAGS %s] Limited", sb.p);
	free(sb.p);
	imap_untagged(s, "%" PRIu32 " EXISTS", v->exists);
	imap_untagged(s, "%" PRIu32 " RECENT", imap_view_recent_count(v));
	for (uint32_t seq = 1; seq <= v->exists; seq++)
		if (!(imap_view_msg(v, seq)->flags & FOLDER_SEEN)) {
			imap_untagged(s, "OK [UNSEEN %" PRIu32 "] First unseen",
				      seq);
			break;
		}
	imap_untagged(s, "OK [UIDVALIDITY %" PRIu32 "] UIDs valid",
		      f->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %" PRIu32 "] Predicted next UID",
		      f->uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest",
		      f->highestmodseq);
	if (op->args.qresync)
		qresync(s, &op->args);
	imap_reply_set(&r, IMAP_OK, op->readonly ? "READ-ONLY" : "READ-WRITE",
		       "%s completed", op->readonly ? "EXAMINE" : "SELECT");
	select_free(op);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_select(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	const struct imap_select_args *a = &c->u.select;
	char path[PATH_MAX];

	if (a->qresync && !s->qresync) {
		/* RFC 7162 §3.2.5: only once ENABLEd. */
		imap_reply_set(r, IMAP_BAD, NULL, "QRESYNC is not enabled");
		return IMAP_BAD;
	}
	/* RFC 3501 §6.3.1: a new SELECT closes the selected mailbox first
	 * (without expunging); QRESYNC clients are told (RFC 7162
	 * §3.2.11). */
	if (s->view != NULL) {
		imap_session_unselect(s);
		if (s->qresync)
			imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	const char *why = folder_of(s, a->mbox.p, path, sizeof(path));
	if (why != NULL) {
		imap_reply_set(r, IMAP_NO, "NONEXISTENT", "%s", why);
		return IMAP_NO;
	}
	struct select_op *op = xcalloc(1, sizeof(*op));
	op->readonly = c->cmd == IMAP_CMD_EXAMINE;
	snprintf(op->name, sizeof(op->name), "%s", a->mbox.p);
	op->args = *a; /* its sets live in the command's arena */
	op->fo = imap_folder_get(s->srv, path, strcmp(a->mbox.p, "INBOX") == 0);
	/* Synced first, so the client starts from what is on disk now. */
	imap_async_folder(s, op->fo, sync_work, select_done, op, select_free);
	return IMAP_ASYNC;
}

/* --- management: CREATE, DELETE, RENAME, SUBSCRIBE --- */

struct manage_op {
	enum imap_cmd cmd;
	char root[PATH_MAX];
	char a[FOLDERS_NAME_MAX + 1], b[FOLDERS_NAME_MAX + 1];
	char pa[PATH_MAX];
	int result;
	const char *code;
	char err[200];
};

static void
manage_work(struct imap_job *j, void *arg)
{
	struct manage_op *op = arg;
	(void)j;
	switch (op->cmd) {
	case IMAP_CMD_CREATE:
		op->result = folders_create(op->root, op->a, &op->code, op->err,
					    sizeof(op->err));
		break;
	case IMAP_CMD_DELETE:
		op->result = folders_delete(op->root, op->a, &op->code, op->err,
					    sizeof(op->err));
		break;
	case IMAP_CMD_RENAME:
		op->result = folders_rename(op->root, op->a, op->b, &op->code,
					    op->err, sizeof(op->err));
		break;
	default: {
		bool on = op->cmd == IMAP_CMD_SUBSCRIBE;
		op->result = folders_subscribe(op->root, op->a, on);
		if (op->result < 0)
			snprintf(op->err, sizeof(op->err), "%m");
		op->code = NULL;
	}
	}
}

static void
manage_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct manage_op *op = arg;
	struct imap_reply r = {0};
	(void)j;
	if (op->result < 0) {
		if (op->code == NULL)
			log_err("imap: user=<%s>: %s %s: %s", s->user,
				imap_cmd_name(op->cmd), op->a, op->err);
		imap_reply_set(&r, IMAP_NO, op->code ? op->code : "SERVERBUG",
			       "%s", op->code ? op->err : "Internal error");
	} else {
		/* Sessions that had it selected must not go on with a
		 * folder that moved or went (INBOX stays: RENAME INBOX only
		 * empties it). */
		if ((op->cmd == IMAP_CMD_DELETE ||
		     op->cmd == IMAP_CMD_RENAME) &&
		    strcmp(op->a, "INBOX") != 0)
			imap_folder_gone(op->pa);
		imap_reply_set(&r, IMAP_OK, NULL, "%s completed",
			       imap_cmd_name(op->cmd));
	}
	free(op);
	imap_finish(s, &r);
}

static enum imap_status
manage(struct imap_session *s, enum imap_cmd cmd, const char *a, const char *b,
       struct imap_reply *r)
{
	struct manage_op *op = xcalloc(1, sizeof(*op));
	char path[PATH_MAX];
	op->cmd = cmd;
	snprintf(op->root, sizeof(op->root), "%s", s->root);
	snprintf(op->a, sizeof(op->a), "%s", a);
	if (b != NULL)
		snprintf(op->b, sizeof(op->b), "%s", b);
	/* Subscriptions may name folders that do not exist (RFC 3501
	 * §6.3.6), but only valid names. */
	const char *why = folder_of(s, a, op->pa, sizeof(op->pa));
	if (why == NULL && b != NULL)
		why = folder_of(s, b, path, sizeof(path));
	if (why != NULL) {
		imap_reply_set(r, IMAP_NO, "CANNOT", "%s", why);
		free(op);
		return IMAP_NO;
	}
	imap_async_task(s, manage_work, manage_done, op, free);
	return IMAP_ASYNC;
}

enum imap_status
imap_cmd_create(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	char name[FOLDERS_NAME_MAX + 2];
	snprintf(name, sizeof(name), "%s", c->u.mbox.p);
	/* RFC 3501 §6.3.3: a trailing delimiter only declares the intent
	 * to make children; the name is the rest. */
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == IMAP_MAILBOX_SEP)
		name[n - 1] = '\0';
	return manage(s, IMAP_CMD_CREATE, name, NULL, r);
}

enum imap_status
imap_cmd_delete(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	/* Deleting the selected mailbox: this session lets go of it first
	 * (others are told when it is gone). */
	if (s->view != NULL) {
		char path[PATH_MAX];
		if (folder_of(s, c->u.mbox.p, path, sizeof(path)) == NULL &&
		    strcmp(path, s->view->fo->path) == 0)
			imap_session_unselect(s);
	}
	return manage(s, IMAP_CMD_DELETE, c->u.mbox.p, NULL, r);
}

enum imap_status
imap_cmd_rename(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	return manage(s, IMAP_CMD_RENAME, c->u.rename.from.p, c->u.rename.to.p,
		      r);
}

enum imap_status
imap_cmd_subscribe(struct imap_session *s, const struct imap_command *c,
		   struct imap_reply *r)
{
	return manage(s, c->cmd, c->u.mbox.p, NULL, r);
}

/* --- STATUS (also for LIST-STATUS) --- */

/* status_items - "(MESSAGES 3 UNSEEN 1 ...)" of a loaded folder. */
static void
status_items(const struct folder *f, unsigned items, struct strbuf *sb)
{
	uint64_t unseen = 0, size = 0, deleted = 0, recent = 0;
	uint32_t recent_uid = atomic_load(&f->recent_uid);
	for (size_t i = 0; i < f->n; i++) {
		const struct folder_msg *m = &f->msgs[i];
		if (m->expunged != 0)
			continue;
		unseen += !(m->flags & FOLDER_SEEN);
		deleted += !!(m->flags & FOLDER_DELETED);
		recent += m->uid > recent_uid;
		size += m->size;
	}
	char tmp[64];
	const char *sep = "";
	strbuf_adds(sb, "(");
#define ITEM(bit, name, val)                                                   \
	if (items & (bit)) {                                                   \
		snprintf(tmp, sizeof(tmp), "%s" name " %" PRIu64, sep,         \
			 (uint64_t)(val));                                     \
		strbuf_adds(sb, tmp);                                          \
		sep = " ";                                                     \
	}
	ITEM(IMAP_STATUS_MESSAGES, "MESSAGES", f->n_live)
	ITEM(IMAP_STATUS_RECENT, "RECENT", recent)
	ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT", f->uidnext)
	ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY", f->uidvalidity)
	ITEM(IMAP_STATUS_UNSEEN, "UNSEEN", unseen)
	ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ", f->highestmodseq)
	ITEM(IMAP_STATUS_SIZE, "SIZE", size)
	ITEM(IMAP_STATUS_DELETED, "DELETED", deleted)
#undef ITEM
	strbuf_adds(sb, ")");
}

/* A queue of STATUS lookups: STATUS has one, LIST-STATUS one per listed
 * mailbox, done one after the other through the shared folders. */
struct status_op {
	unsigned items;
	size_t n, next;
	char **names;
	char **paths;
	struct strbuf out; /* LIST-STATUS: LIST and STATUS lines */
	size_t *at;	   /* where each name's STATUS goes in out */
	bool list;	   /* LIST-STATUS (else the STATUS command) */
	struct imap_folder *fo;
	bool failed;
	char err[200];
	bool nonexistent;
};

static void
status_free(void *arg)
{
	struct status_op *op = arg;
	for (size_t i = 0; i < op->n; i++) {
		free(op->names[i]);
		free(op->paths[i]);
	}
	free(op->names);
	free(op->paths);
	free(op->at);
	free(op->out.p);
	imap_folder_put(&op->fo);
	free(op);
}

static void status_next(struct imap_session *s, struct status_op *op);

static void
status_write(struct imap_session *s, struct status_op *op, size_t i,
	     const struct folder *f)
{
	struct strbuf sb = {0};
	strbuf_adds(&sb, "* STATUS ");
	add_name(&sb, op->names[i]);
	strbuf_adds(&sb, " ");
	status_items(f, op->items, &sb);
	strbuf_adds(&sb, "\r\n");
	if (op->list) {
		/* After its LIST line (RFC 5819 §2). */
		size_t at = op->at[i];
		struct strbuf merged = {0};
		strbuf_add(&merged, op->out.p, at);
		strbuf_add(&merged, sb.p, sb.len);
		strbuf_add(&merged, op->out.p + at, op->out.len - at);
		for (size_t k = i + 1; k < op->n; k++)
			op->at[k] += sb.len;
		free(op->out.p);
		op->out = merged;
	} else {
		evbuffer_add(imap_out(s), sb.p, sb.len);
	}
	free(sb.p);
	(void)s;
}

static void
status_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct status_op *op = arg;
	(void)j;
	if (op->fo->f != NULL)
		status_write(s, op, op->next, op->fo->f);
	else if (!op->list) {
		op->failed = true;
		op->nonexistent = op->fo->missing;
		snprintf(op->err, sizeof(op->err), "%s",
			 op->fo->err[0] ? op->fo->err : "No such mailbox");
	}
	imap_folder_put(&op->fo);
	op->next++;
	status_next(s, op);
}

static void
status_next(struct imap_session *s, struct status_op *op)
{
	while (op->next < op->n) {
		size_t i = op->next;
		/* The selected mailbox: from memory (RFC 3501 §6.3.10 warns
		 * STATUS of it may be costly; here it is not). */
		if (s->view != NULL &&
		    strcmp(s->view->fo->path, op->paths[i]) == 0) {
			status_write(s, op, i, s->view->fo->f);
			op->next++;
			continue;
		}
		op->fo = imap_folder_get(s->srv, op->paths[i],
					 strcmp(op->names[i], "INBOX") == 0);
		imap_async_folder(s, op->fo, sync_work, status_done, op,
				  status_free);
		return;
	}
	struct imap_reply r = {0};
	if (op->list) {
		evbuffer_add(imap_out(s), op->out.p, op->out.len);
		imap_reply_set(&r, IMAP_OK, NULL, "LIST completed");
	} else if (op->failed) {
		imap_reply_set(&r, IMAP_NO,
			       op->nonexistent ? "NONEXISTENT" : NULL, "%s",
			       op->err);
	} else {
		imap_reply_set(&r, IMAP_OK, NULL, "STATUS completed");
	}
	status_free(op);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_status(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	char path[PATH_MAX];
	const char *why = folder_of(s, c->u.status.mbox.p, path, sizeof(path));
	if (why != NULL) {
		imap_reply_set(r, IMAP_NO, "NONEXISTENT", "%s", why);
		return IMAP_NO;
	}
	struct status_op *op = xcalloc(1, sizeof(*op));
	op->items = c->u.status.items;
	op->n = 1;
	op->names = xmalloc(sizeof(char *));
	op->paths = xmalloc(sizeof(char *));
	op->names[0] = xstrdup(c->u.status.mbox.p);
	op->paths[0] = xstrdup(path);
	status_next(s, op);
	return IMAP_ASYNC;
}

/* --- LIST / LSUB --- */

struct list_op {
	char root[PATH_MAX];
	struct imap_list_args args; /* patterns: copies below */
	char *pat[IMAP_LIST_MAX_PATTERNS];
	bool lsub;
	struct folders_list l;
	int result;
};

static void
list_free(void *arg)
{
	struct list_op *op = arg;
	for (size_t i = 0; i < op->args.n_pat; i++)
		free(op->pat[i]);
	folders_list_free(&op->l);
	free(op);
}

static void
list_work(struct imap_job *j, void *arg)
{
	struct list_op *op = arg;
	(void)j;
	op->result = folders_list(op->root, &op->l);
}

static bool
matches(const struct list_op *op, const char *name)
{
	for (size_t i = 0; i < op->args.n_pat; i++)
		if (imap_mailbox_name_match(op->pat[i], name))
			return true;
	return false;
}

/* selected - does entry e pass the selection options? */
static bool
selected(const struct list_op *op, const struct folders_entry *e)
{
	unsigned o = op->args.opts;
	if (op->lsub || (o & IMAP_LIST_SEL_SUBSCRIBED))
		return e->subscribed;
	if (e->nonexistent)
		return false;
	if ((o & IMAP_LIST_SEL_SPECIAL_USE) && e->special == 0)
		return false;
	return true;
}

static void
list_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct list_op *op = arg;
	struct imap_reply r = {0};
	(void)j;
	if (op->result < 0) {
		imap_reply_set(&r, IMAP_NO, "SERVERBUG",
			       "Cannot list mailboxes");
		list_free(op);
		imap_finish(s, &r);
		return;
	}
	unsigned o = op->args.opts;
	const char *verb = op->lsub ? "LSUB" : "LIST";
	struct status_op *st = NULL;
	if (o & IMAP_LIST_RET_STATUS) {
		st = xcalloc(1, sizeof(*st));
		st->items = op->args.status_items;
		st->list = true;
		st->names = xcalloc(op->l.n ? op->l.n : 1, sizeof(char *));
		st->paths = xcalloc(op->l.n ? op->l.n : 1, sizeof(char *));
		st->at = xcalloc(op->l.n ? op->l.n : 1, sizeof(size_t));
	}
	struct strbuf out = {0};
	for (size_t i = 0; i < op->l.n; i++) {
		const struct folders_entry *e = &op->l.v[i];
		if (!matches(op, e->name))
			continue;
		bool sel = selected(op, e);
		bool childinfo = false;
		if (!sel && (o & IMAP_LIST_SEL_RECURSIVEMATCH)) {
			/* RFC 5258 §3.5: a parent of a selected mailbox, with
			 * CHILDINFO saying why it is listed. */
			size_t nl = strlen(e->name);
			for (size_t k = 0; k < op->l.n && !childinfo; k++)
				childinfo = strncmp(op->l.v[k].name, e->name,
						    nl) == 0 &&
					    op->l.v[k].name[nl] == '.' &&
					    selected(op, &op->l.v[k]);
		}
		if (!sel && !childinfo)
			continue;
		/* LSUB shows a subscribed folder that is gone as \Noselect
		 * (RFC 3501 §6.3.9). */
		strbuf_adds(&out, "* ");
		strbuf_adds(&out, verb);
		strbuf_adds(&out, " (");
		const char *sep = "";
#define ATTR(cond, name)                                                       \
	if (cond) {                                                            \
		strbuf_adds(&out, sep);                                        \
		strbuf_adds(&out, name);                                       \
		sep = " ";                                                     \
	}
		ATTR(e->nonexistent && !op->lsub, "\\NonExistent")
		ATTR(e->noselect || (e->nonexistent && op->lsub), "\\Noselect")
		if (!e->nonexistent) {
			ATTR(e->children, "\\HasChildren")
			ATTR(!e->children, "\\HasNoChildren")
		}
		ATTR(!op->lsub && e->subscribed &&
			 (o & (IMAP_LIST_RET_SUBSCRIBED |
			       IMAP_LIST_SEL_SUBSCRIBED)),
		     "\\Subscribed")
		ATTR(e->special & FOLDERS_SENT, "\\Sent")
		ATTR(e->special & FOLDERS_DRAFTS, "\\Drafts")
		ATTR(e->special & FOLDERS_TRASH, "\\Trash")
		ATTR(e->special & FOLDERS_JUNK, "\\Junk")
		ATTR(e->special & FOLDERS_ARCHIVE, "\\Archive")
#undef ATTR
		strbuf_adds(&out, ") \".\" ");
		add_name(&out, e->name);
		if (childinfo)
			strbuf_adds(&out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
		strbuf_adds(&out, "\r\n");
		if (st != NULL && !e->noselect && !e->nonexistent) {
			char path[PATH_MAX];
			if (folders_path(s->root, e->name, path,
					 sizeof(path)) == 0) {
				st->names[st->n] = xstrdup(e->name);
				st->paths[st->n] = xstrdup(path);
				st->at[st->n] = out.len;
				st->n++;
			}
		}
	}
	list_free(op);
	if (st != NULL) {
		st->out = out;
		status_next(s, st);
		return;
	}
	if (out.len > 0)
		evbuffer_add(imap_out(s), out.p, out.len);
	free(out.p);
	imap_reply_set(&r, IMAP_OK, NULL, "%s completed", verb);
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_list(struct imap_session *s, const struct imap_command *c,
	      struct imap_reply *r)
{
	const struct imap_list_args *a = &c->u.list;
	bool lsub = c->cmd == IMAP_CMD_LSUB;
	/* RFC 3501 §6.3.8: an empty pattern asks for the delimiter. */
	if (a->n_pat == 1 && a->pat[0].len == 0 &&
	    !(a->opts & IMAP_LIST_EXTENDED)) {
		if (!lsub)
			imap_untagged(s, "LIST (\\Noselect) \".\" \"\"");
		imap_reply_set(r, IMAP_OK, NULL, "%s completed",
			       lsub ? "LSUB" : "LIST");
		return IMAP_OK;
	}
	struct list_op *op = xcalloc(1, sizeof(*op));
	snprintf(op->root, sizeof(op->root), "%s", s->root);
	op->args = *a;
	op->lsub = lsub;
	for (size_t i = 0; i < a->n_pat; i++) {
		/* The reference is a prefix of the pattern (§6.3.8). */
		op->pat[i] = xasprintf("%s%s", a->ref.p, a->pat[i].p);
		op->args.pat[i].p = op->pat[i];
	}
	imap_async_task(s, list_work, list_done, op, list_free);
	return IMAP_ASYNC;
}

/* --- the rest --- */

enum imap_status
imap_cmd_namespace(struct imap_session *s, const struct imap_command *c,
		   struct imap_reply *r)
{
	(void)c;
	/* RFC 2342: one personal namespace, no prefix, "." delimiter. */
	imap_untagged(s, "NAMESPACE ((\"\" \".\")) NIL NIL");
	imap_reply_set(r, IMAP_OK, NULL, "NAMESPACE completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_check(struct imap_session *s, const struct imap_command *c,
	       struct imap_reply *r)
{
	(void)s;
	(void)c;
	/* Every change is durable before its OK: nothing to do. */
	imap_reply_set(r, IMAP_OK, NULL, "CHECK completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_unselect(struct imap_session *s, const struct imap_command *c,
		  struct imap_reply *r)
{
	(void)c;
	imap_session_unselect(s);
	imap_reply_set(r, IMAP_OK, NULL, "UNSELECT completed");
	return IMAP_OK;
}

struct close_op {
	uint32_t *uids;
	size_t n;
};

static void
close_free(void *arg)
{
	struct close_op *op = arg;
	free(op->uids);
	free(op);
}

static void
close_work(struct imap_job *j, void *arg)
{
	struct close_op *op = arg;
	j->changes = folder_expunge(j->fo->f, op->uids, op->n);
}

static void
close_done(struct imap_session *s, struct imap_job *j, void *arg)
{
	struct imap_reply r = {0};
	(void)j;
	close_free(arg);
	/* RFC 3501 §6.4.2: no untagged EXPUNGE for CLOSE. */
	imap_session_unselect(s);
	imap_reply_set(&r, IMAP_OK, NULL, "CLOSE completed");
	imap_finish(s, &r);
}

enum imap_status
imap_cmd_close(struct imap_session *s, const struct imap_command *c,
	       struct imap_reply *r)
{
	(void)c;
	struct imap_view *v = s->view;
	struct close_op *op = xcalloc(1, sizeof(*op));
	if (!v->readonly) {
		op->uids =
		    xmalloc((v->exists ? v->exists : 1) * sizeof(uint32_t));
		for (uint32_t seq = 1; seq <= v->exists; seq++) {
			const struct folder_msg *m = imap_view_msg(v, seq);
			if ((m->flags & FOLDER_DELETED) && m->expunged == 0)
				op->uids[op->n++] = m->uid;
		}
	}
	if (op->n == 0) {
		close_free(op);
		imap_session_unselect(s);
		imap_reply_set(r, IMAP_OK, NULL, "CLOSE completed");
		return IMAP_OK;
	}
	imap_async_folder(s, v->fo, close_work, close_done, op, close_free);
	return IMAP_ASYNC;
}
