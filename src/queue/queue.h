/*
 * queue - the durable queue: a `250` after DATA is a promise.
 *
 * Layout under data_dir/queue/:
 *   tmp/ID      the message while it is received (never acknowledged)
 *   msg/ID      the message of a queued envelope (exact bytes to deliver)
 *   env/ID      the envelope: the commit marker (queue/envelope.h)
 *
 * A message's life: the SMTP session streams it into tmp/ID; at the end
 * of DATA it becomes a queue_commit job for the committer thread
 * (queue/commit.c), which hard-links it into each local recipient's
 * Maildir and, for whatever is left (remote recipients, temporary
 * failures), moves it to msg/ID and writes env/ID. One syncfs() then makes
 * a whole batch of messages durable at once (group commit) and only then
 * are their 250s sent. After a crash, tmp/ files and msg/ files without an
 * env/ are debris of unacknowledged transactions and are removed.
 */
#ifndef PETREL_QUEUE_QUEUE_H
#define PETREL_QUEUE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "queue/envelope.h"

struct config;

/* queue_id_new - a new unique, time-ordered id (16 upper-case hex). */
void queue_id_new(char id_r[QUEUE_ID_MAX]);

/* queue_path - "data_dir/queue/SUB/ID" (sub "tmp", "msg" or "env"). */
int queue_path(const char *data_dir, const char *sub, const char *id, char *out,
	       size_t outlen);

/*
 * queue_setup - create data_dir (0700) and its folders (queue/{tmp,msg,
 * env}, mail/, pickup/, badmail/). Refuses a world-writable data_dir.
 * Returns 0 or -1 with err.
 */
int queue_setup(const char *data_dir, char *err, size_t errlen);

/* queue_recover - remove debris of unacknowledged transactions. */
void queue_recover(const char *data_dir);

/*
 * queue_spool_open - create queue/tmp/ID for writing (0600). Returns the
 * fd or -1; the path goes to path_r.
 */
int queue_spool_open(const char *data_dir, const char *id, char *path_r,
		     size_t pathlen);

/*
 * queue_load - read and parse env/ID. Returns 0 or -1 (err set).
 */
int queue_load(const char *data_dir, const char *id,
	       struct queue_envelope *env_r, char *err, size_t errlen);

/* queue_ids - the ids in env/, sorted; *n_r entries (heap array). */
char **queue_ids(const char *data_dir, size_t *n_r);
void queue_ids_free(char **ids, size_t n);

#endif
