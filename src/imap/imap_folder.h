/*
 * imap_folder - one open folder shared by every IMAP session of the
 * process that uses it: the store's struct folder (store/folder.h), the
 * sessions that have it selected (their views, imap_view.h), and a queue
 * of disk jobs.
 *
 * One process serves every session, so a folder's state lives in memory
 * once, and a change made by one session (or found on disk) is applied
 * once and then told to every view: that is how sessions on one folder
 * see each other's changes, and how an IDLE client hears of new mail.
 *
 * Jobs run on the worker pool, one at a time per folder, in order: a
 * job's work reads the folder (nothing changes it meanwhile) and
 * returns a change set; the loop applies it, wakes the views, then runs
 * the job's done. Different folders' jobs run in parallel.
 *
 * What changes a folder from outside is noticed two ways: the committer
 * thread says which Maildir it delivered into (store/notify.h: a sync
 * starts at once), and inotify watches new/ and cur/ of every open
 * folder for other processes (POP3 in this one, other programs): a
 * short debounce folds a burst of renames into one sync.
 */
#ifndef PETREL_IMAP_IMAP_FOLDER_H
#define PETREL_IMAP_IMAP_FOLDER_H

#include <stdbool.h>
#include <stdint.h>

#include "store/folder.h"

struct server;
struct imap_view;
struct imap_job;
struct event;

typedef void imap_job_fn(struct imap_job *j);

struct imap_job {
	struct imap_folder *fo;
	imap_job_fn *work; /* worker: read fo->f, set changes */
	imap_job_fn *done; /* loop, after the changes are applied */
	void *arg;
	struct folder_changes *changes;
	struct imap_job *next;
	/* internal */
	int kind;
	struct folder *loaded;
	uint64_t gen, snap; /* compaction's result */
	bool compacted;
	char err[200];
};

struct imap_folder {
	char *path;
	struct folder *f; /* NULL until loaded, or if loading failed */
	char err[200];	  /* why it could not be loaded */
	bool missing;	  /* it is not (or no longer) a folder */
	bool create;	  /* may be created by loading (INBOX) */
	unsigned refs;
	struct imap_view *views;
	struct imap_job *jobs, **jobs_tail;
	bool running;
	bool sync_queued;
	uint32_t version; /* bumped when f->msgs changes (views' maps) */
	int wd_new, wd_cur;
	struct event *debounce;
	struct server *srv;
	struct imap_folder *next;
};

/*
 * imap_folder_get - the shared folder at path, with a reference; loaded
 * in the background (the first job queued runs after the load). create:
 * a Maildir may be made there (INBOX); else a missing folder fails to
 * load with fo->missing.
 */
struct imap_folder *imap_folder_get(struct server *srv, const char *path,
				    bool create);

/* imap_folder_put - drop a reference; *fop = NULL. */
void imap_folder_put(struct imap_folder **fop);

/* imap_folder_job - queue a job; done runs even if the folder could not
 * be loaded (check j->fo->f). The job holds a reference until done. */
void imap_folder_job(struct imap_folder *fo, imap_job_fn *work,
		     imap_job_fn *done, void *arg);

/* imap_folder_sync - look at the disk soon (a sync job, queued once). */
void imap_folder_sync(struct imap_folder *fo);

/* imap_folder_gone - folders at path or below it were deleted or renamed
 * by this server: their sessions are told, and they are not recreated. */
void imap_folder_gone(const char *path);

/* imap_folder_find - the open folder at path, or NULL (no reference). */
struct imap_folder *imap_folder_find(const char *path);

#endif
