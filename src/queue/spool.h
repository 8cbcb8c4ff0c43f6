/*
 * spool - changes to a message file after it was received, before it is
 * committed: where the fields known only at the end of the data go.
 *
 * A message file in queue/tmp/ starts with its trace prefix (the
 * Return-Path: line, env.trace bytes), then our Received: and the
 * message. Authentication-Results: (RFC 8601, port 25) and
 * DKIM-Signature: (RFC 6376, submission) can only be computed once the
 * whole message is in, yet belong on top. The one place to add them is
 * queue_spool_add_top(), which the committer calls for every job whose
 * top_fields is set (queue/commit.h), just before the message is linked
 * into Maildirs and the queue.
 *
 * Cost: a header cannot grow in place, so the message is copied once:
 * a new file next to the old one gets the trace prefix, the fields and
 * the rest of the old one through copy_file_range (an in-kernel copy, no
 * user-space buffer; a reflink where the file system can), and the old
 * one is unlinked. The new file takes a new name rather than being
 * renamed over the old: on ext4 a rename that replaces a file starts the
 * new file's writeback at once (auto_da_alloc), which costs more than the
 * copy. One file creation and one copy of the message, paid only by
 * messages that have top fields; the data is flushed by the batch's one
 * syncfs like everything else.
 */
#ifndef PETREL_QUEUE_SPOOL_H
#define PETREL_QUEUE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * queue_spool_add_top - insert fields (whole header fields, each ending
 * in CRLF) into the spool file at path_io (open as *fd_io, *size_io
 * bytes) after its first trace bytes. On success path_io (PATH_MAX
 * bytes) names the new file and *fd_io is its descriptor (the old file
 * is unlinked and closed), *size_io grows by len, and 0 is returned; on
 * failure -1 with errno, and everything is as it was.
 */
int queue_spool_add_top(char *path_io, int *fd_io, uint64_t *size_io,
			uint64_t trace, const char *fields, size_t len);

#endif
