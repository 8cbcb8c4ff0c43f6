#include "imap/imap_folder.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "server.h"
#include "store/notify.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* A burst of renames in cur/ (our own STOREs, another client's) is
 * folded into one sync this long after the first. */
#define DEBOUNCE_USEC 20000

enum { JOB_USER, JOB_LOAD, JOB_SYNC, JOB_COMPACT };

/*
 * The open folders of the process. Created with the first folder and
 * freed with the last (so nothing is left for the leak checker), owned
 * by the loop thread.
 */
static struct {
	struct imap_folder *list;
	size_t n;
	int ifd;
	struct event *iev;
	struct event_base *base;
} reg = {NULL, 0, -1, NULL, NULL};

static void run_next(struct imap_folder *fo);
static void folder_free_now(struct imap_folder *fo);

struct imap_folder *
imap_folder_find(const char *path)
{
	for (struct imap_folder *fo = reg.list; fo != NULL; fo = fo->next)
		if (strcmp(fo->path, path) == 0 && !fo->missing)
			return fo;
	return NULL;
}

/* --- inotify and deliveries --- */

static struct imap_folder *
by_wd(int wd, bool *is_new)
{
	for (struct imap_folder *fo = reg.list; fo != NULL; fo = fo->next) {
		if (fo->missing)
			continue;
		if (fo->wd_new == wd) {
			*is_new = true;
			return fo;
		}
		if (fo->wd_cur == wd) {
			*is_new = false;
			return fo;
		}
	}
	return NULL;
}

static void
debounce_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	imap_folder_sync(arg);
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	(void)what;
	(void)arg;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			p += sizeof(*e) + e->len;
			if (e->mask & IN_Q_OVERFLOW) {
				/* Lost events: look at every folder. */
				for (struct imap_folder *fo = reg.list; fo;
				     fo = fo->next)
					imap_folder_sync(fo);
				continue;
			}
			bool is_new;
			struct imap_folder *fo = by_wd(e->wd, &is_new);
			if (fo == NULL || fo->missing)
				continue;
			if (e->len > 0 && e->name[0] == '.')
				continue;
			if (is_new && (e->mask & (IN_CREATE | IN_MOVED_TO))) {
				/* New mail: at once (IDLE within 1 s). */
				imap_folder_sync(fo);
			} else if (!evtimer_pending(fo->debounce, NULL)) {
				struct timeval tv = {0, DEBOUNCE_USEC};
				evtimer_add(fo->debounce, &tv);
			}
		}
	}
}

static void
delivered_cb(const char *mailbox, void *arg)
{
	(void)arg;
	struct imap_folder *fo = imap_folder_find(mailbox);
	if (fo != NULL)
		imap_folder_sync(fo);
}

static void
watch(struct imap_folder *fo)
{
	char p[4096];
	if (reg.ifd < 0)
		return;
	snprintf(p, sizeof(p), "%s/new", fo->path);
	fo->wd_new = inotify_add_watch(reg.ifd, p,
				       IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_DELETE | IN_ONLYDIR);
	snprintf(p, sizeof(p), "%s/cur", fo->path);
	fo->wd_cur = inotify_add_watch(reg.ifd, p,
				       IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM |
					   IN_DELETE | IN_ONLYDIR);
	if (fo->wd_new < 0 || fo->wd_cur < 0)
		log_warn("%s: inotify: %s (changes by other programs are "
			 "seen at the next command)",
			 fo->path, strerror(errno));
}

static bool
wd_shared(const struct imap_folder *fo, int wd)
{
	for (const struct imap_folder *o = reg.list; o != NULL; o = o->next)
		if (o != fo && (o->wd_new == wd || o->wd_cur == wd))
			return true;
	return false;
}

static void
unwatch(struct imap_folder *fo)
{
	/* A watch descriptor is per inode: a folder deleted and made
	 * again while its old one lingers may share it. */
	if (reg.ifd >= 0 && fo->wd_new >= 0 && !wd_shared(fo, fo->wd_new))
		inotify_rm_watch(reg.ifd, fo->wd_new);
	if (reg.ifd >= 0 && fo->wd_cur >= 0 && !wd_shared(fo, fo->wd_cur))
		inotify_rm_watch(reg.ifd, fo->wd_cur);
	fo->wd_new = fo->wd_cur = -1;
}

static void
registry_up(struct server *srv)
{
	if (reg.n++ > 0)
		return;
	reg.base = srv->base;
	reg.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (reg.ifd < 0) {
		log_warn("inotify: %s", strerror(errno));
	} else {
		reg.iev = event_new(reg.base, reg.ifd, EV_READ | EV_PERSIST,
				    inotify_cb, NULL);
		event_add(reg.iev, NULL);
	}
	notify_listen(reg.base, delivered_cb, NULL);
}

static void
registry_down(void)
{
	if (--reg.n > 0)
		return;
	notify_unlisten();
	if (reg.iev != NULL)
		event_free(reg.iev);
	if (reg.ifd >= 0)
		close(reg.ifd);
	reg.iev = NULL;
	reg.ifd = -1;
}

/* --- folders --- */

struct imap_folder *
imap_folder_get(struct server *srv, const char *path, bool create)
{
	struct imap_folder *fo = imap_folder_find(path);
	if (fo != NULL) {
		fo->refs++;
		return fo;
	}
	fo = xcalloc(1, sizeof(*fo));
	fo->path = xstrdup(path);
	fo->create = create;
	fo->refs = 1;
	fo->srv = srv;
	fo->jobs_tail = &fo->jobs;
	fo->wd_new = fo->wd_cur = -1;
	registry_up(srv);
	fo->debounce = evtimer_new(reg.base, debounce_cb, fo);
	fo->next = reg.list;
	reg.list = fo;
	struct imap_job *j = xcalloc(1, sizeof(*j));
	j->fo = fo;
	j->kind = JOB_LOAD;
	*fo->jobs_tail = j;
	fo->jobs_tail = &j->next;
	/* Watched before it is read, so nothing arrives unseen between
	 * the two (a new INBOX is watched once loading has made it). */
	watch(fo);
	run_next(fo);
	return fo;
}

void
imap_folder_put(struct imap_folder **fop)
{
	struct imap_folder *fo = *fop;
	*fop = NULL;
	if (fo == NULL)
		return;
	if (--fo->refs == 0 && !fo->running)
		folder_free_now(fo);
}

static void
folder_free_now(struct imap_folder *fo)
{
	struct imap_folder **pp = &reg.list;
	while (*pp != fo)
		pp = &(*pp)->next;
	*pp = fo->next;
	/* Jobs still queued get their done (without the folder). */
	while (fo->jobs != NULL) {
		struct imap_job *j = fo->jobs;
		fo->jobs = j->next;
		folder_changes_free(&j->changes);
		folder_free(&j->loaded);
		free(j);
	}
	unwatch(fo);
	event_free(fo->debounce);
	folder_free(&fo->f);
	free(fo->path);
	free(fo);
	registry_down();
}

void
imap_folder_job(struct imap_folder *fo, imap_job_fn *work, imap_job_fn *done,
		void *arg)
{
	struct imap_job *j = xcalloc(1, sizeof(*j));
	j->fo = fo;
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->kind = JOB_USER;
	fo->refs++;
	*fo->jobs_tail = j;
	fo->jobs_tail = &j->next;
	run_next(fo);
}

void
imap_folder_sync(struct imap_folder *fo)
{
	if (fo->sync_queued || fo->missing)
		return;
	fo->sync_queued = true;
	if (evtimer_pending(fo->debounce, NULL))
		evtimer_del(fo->debounce);
	struct imap_job *j = xcalloc(1, sizeof(*j));
	j->fo = fo;
	j->kind = JOB_SYNC;
	*fo->jobs_tail = j;
	fo->jobs_tail = &j->next;
	run_next(fo);
}

/* --- running jobs --- */

static bool
on_disk(const char *path)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof(p), "%s/cur", path);
	return stat(p, &st) == 0;
}

static void
job_work(void *arg)
{
	struct imap_job *j = arg;
	struct imap_folder *fo = j->fo;
	switch (j->kind) {
	case JOB_LOAD:
		if (!fo->create && !on_disk(fo->path)) {
			snprintf(j->err, sizeof(j->err), "No such mailbox");
			return;
		}
		j->loaded = folder_load(fo->path, j->err, sizeof(j->err));
		return;
	case JOB_SYNC:
		if (fo->f == NULL)
			return;
		/* A folder removed underneath must not come back: the sync
		 * would make its Maildir again. */
		if (!fo->create && !on_disk(fo->path)) {
			snprintf(j->err, sizeof(j->err), "Mailbox was deleted");
			return;
		}
		j->changes = folder_sync(fo->f);
		return;
	case JOB_COMPACT:
		j->compacted = fo->f != NULL &&
			       folder_compact(fo->f, &j->gen, &j->snap) == 0;
		return;
	default:
		if (fo->f != NULL && j->work != NULL)
			j->work(j);
	}
}

static bool
keep_tombstone(const struct folder_msg *m, void *arg)
{
	return imap_view_needs(arg, m);
}

/* tell_views - the folder changed: every session that has it selected. */
static void
tell_views(struct imap_folder *fo)
{
	for (struct imap_view *v = fo->views, *next; v != NULL; v = next) {
		next = v->next;
		imap_session_changed(v->s);
	}
}

/* mark_missing - the folder is gone (deleted, renamed): views are told,
 * and a later get makes a new one. */
static void
mark_missing(struct imap_folder *fo)
{
	fo->missing = true;
	unwatch(fo);
	for (struct imap_view *v = fo->views, *next; v != NULL; v = next) {
		next = v->next;
		imap_bye(v->s, "Selected mailbox was deleted or renamed");
	}
}

static void
job_done(void *arg)
{
	struct imap_job *j = arg;
	struct imap_folder *fo = j->fo;

	fo->refs++; /* j->done may drop the last outside reference */
	switch (j->kind) {
	case JOB_LOAD:
		fo->f = j->loaded;
		j->loaded = NULL;
		if (fo->f == NULL) {
			snprintf(fo->err, sizeof(fo->err), "%s", j->err);
			fo->missing = true;
			unwatch(fo);
		} else if (fo->wd_new < 0 || fo->wd_cur < 0) {
			unwatch(fo);
			watch(fo);
			imap_folder_sync(fo);
		}
		break;
	case JOB_SYNC:
		if (j->err[0] != '\0') {
			mark_missing(fo);
			break;
		}
		/* fall through */
	case JOB_USER:
		if (j->changes != NULL && fo->f != NULL) {
			struct folder_changes *c = j->changes;
			bool reset = c->reset && c->replaced != NULL;
			bool any = c->n > 0 ||
				   c->highestmodseq != fo->f->highestmodseq;
			folder_apply(fo->f, c);
			fo->version++;
			if (reset) {
				/* New UIDVALIDITY: sessions must start over
				 * (RFC 3501 §2.3.1.1). */
				for (struct imap_view *v = fo->views, *nx; v;
				     v = nx) {
					nx = v->next;
					imap_bye(v->s, "Mailbox UIDVALIDITY "
						       "changed");
				}
			} else if (any) {
				tell_views(fo);
			}
			if (c->compact || folder_needs_compact(fo->f)) {
				struct imap_job *cj = xcalloc(1, sizeof(*cj));
				cj->fo = fo;
				cj->kind = JOB_COMPACT;
				*fo->jobs_tail = cj;
				fo->jobs_tail = &cj->next;
			}
		}
		break;
	case JOB_COMPACT:
		if (j->compacted && fo->f != NULL) {
			fo->f->gen = j->gen;
			fo->f->snap_size = j->snap;
			fo->f->log_size = 0;
		}
		break;
	}
	if (j->done != NULL)
		j->done(j);
	if (j->kind == JOB_USER)
		fo->refs--; /* the job's own reference */
	folder_changes_free(&j->changes);
	folder_free(&j->loaded);
	free(j);
	fo->running = false;
	/* Between jobs nothing reads the array: tombstones every view has
	 * reported can go now. */
	if (fo->f != NULL && fo->f->n != fo->f->n_live) {
		size_t before = fo->f->n;
		folder_drop_tombstones(fo->f, keep_tombstone, fo);
		if (fo->f->n != before)
			fo->version++;
	}
	if (--fo->refs == 0) {
		folder_free_now(fo);
		return;
	}
	run_next(fo);
}

static void
run_next(struct imap_folder *fo)
{
	if (fo->running || fo->jobs == NULL)
		return;
	struct imap_job *j = fo->jobs;
	fo->jobs = j->next;
	if (fo->jobs == NULL)
		fo->jobs_tail = &fo->jobs;
	j->next = NULL;
	fo->running = true;
	/* A change that comes while this sync runs may come after its
	 * scan: it must be able to queue another. */
	if (j->kind == JOB_SYNC)
		fo->sync_queued = false;
	workq_submit(fo->srv->workq, job_work, job_done, j);
}

void
imap_folder_gone(const char *path)
{
	size_t n = strlen(path);
	for (;;) {
		struct imap_folder *fo = reg.list;
		while (fo != NULL &&
		       (fo->missing || strncmp(fo->path, path, n) != 0 ||
			(fo->path[n] != '\0' && fo->path[n] != '.' &&
			 fo->path[n] != '/')))
			fo = fo->next;
		if (fo == NULL)
			return;
		/* Held while its sessions let go of it. */
		fo->refs++;
		mark_missing(fo);
		imap_folder_put(&fo);
	}
}
