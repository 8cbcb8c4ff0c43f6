/*
 * privdrop - started as root, petrel binds its ports and then becomes the
 * configured `user`/`group` for good (setgroups, setgid, setuid, each
 * checked, and checked again that root cannot be regained).
 *
 * Before dropping, everything under data_dir is handed to that user
 * (files the admin CLI made as root included), so the server can still
 * write its queue, mailboxes and directory.db afterwards.
 */
#ifndef PETREL_UTIL_PRIVDROP_H
#define PETREL_UTIL_PRIVDROP_H

#include <stddef.h>

/*
 * privdrop_ownership - chown data_dir and what is under it to user/group
 * (only entries not already theirs), except data_dir/maildrop/, whose
 * files belong to the users who submitted them. A no-op unless running as root
 * with user set. The admin CLI calls it too after creating files as root. 0 or
 * -1 with err.
 */
int privdrop_ownership(const char *data_dir, const char *user,
		       const char *group, char *err, size_t errlen);

/*
 * privdrop_now - become user (and group, default: the user's primary
 * group) for good. A no-op returning 0 unless running as root with user
 * set; running as root with no user set logs a warning. 0 or -1 with err.
 */
int privdrop_now(const char *user, const char *group, char *err, size_t errlen);

#endif
