#include "util/privdrop.h"

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

/*
 * privdrop_resolve - user (and group, or else the user's primary group)
 * to ids. getpwnam_r/getgrnam_r with a growing buffer, as entries from
 * NSS can exceed any fixed size. 0 or -1 with err naming what is unknown.
 */
static int
privdrop_resolve(const char *user, const char *group, uid_t *uid_r,
		 gid_t *gid_r, char *err, size_t errlen)
{
	size_t size = 1024;
	char *buf = NULL;
	int rc;

	for (;;) {
		struct passwd pw, *pwp = NULL;

		buf = xrealloc(buf, size);
		rc = getpwnam_r(user, &pw, buf, size, &pwp);
		if (rc == ERANGE && size < (1u << 20)) {
			size *= 2;
			continue;
		}
		if (pwp == NULL) {
			if (rc == 0 || rc == ENOENT || rc == ESRCH)
				snprintf(err, errlen, "unknown user '%s'",
					 user);
			else
				snprintf(err, errlen, "user '%s': %s", user,
					 strerror(rc));
			free(buf);
			return -1;
		}
		*uid_r = pw.pw_uid;
		*gid_r = pw.pw_gid;
		break;
	}
	while (group != NULL && *group != '\0') {
		struct group gr, *grp = NULL;

		buf = xrealloc(buf, size);
		rc = getgrnam_r(group, &gr, buf, size, &grp);
		if (rc == ERANGE && size < (1u << 20)) {
			size *= 2;
			continue;
		}
		if (grp == NULL) {
			if (rc == 0 || rc == ENOENT || rc == ESRCH)
				snprintf(err, errlen, "unknown group '%s'",
					 group);
			else
				snprintf(err, errlen, "group '%s': %s", group,
					 strerror(rc));
			free(buf);
			return -1;
		}
		*gid_r = gr.gr_gid;
		break;
	}
	free(buf);
	return 0;
}

/* nftw() passes no context to its callback: the walk's state lives here. */
static uid_t walk_uid;
static gid_t walk_gid;
static int walk_errno;
static char walk_path[4096];

/* privdrop_chown_one - lchown one entry unless it is already theirs. */
static int
privdrop_chown_one(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	/* What is in data_dir/maildrop/ keeps its owners: each file there
	 * belongs to the local user who submitted it with `petrel
	 * sendmail`, and that owner is the message's sender
	 * (deliver/pickup.c). The folder itself is the server's, but keeps
	 * its group: maildrop_setup gives it to sendmail_group. */
	bool drop = type == FTW_D && ftw->level == 1 &&
		    strcmp(path + ftw->base, "maildrop") == 0;
	int next = drop ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	gid_t gid = drop ? st->st_gid : walk_gid;
	if (type == FTW_NS || type == FTW_DNR) {
		/* Unreadable as root: something odd (a vanished file). */
		if (errno == ENOENT)
			return 0;
		walk_errno = errno != 0 ? errno : EACCES;
		snprintf(walk_path, sizeof(walk_path), "%s", path);
		return 1;
	}
	if (st->st_uid == walk_uid && st->st_gid == gid)
		return next;
	/* lchown: a symbolic link is re-owned itself, never its target. */
	if (lchown(path, walk_uid, gid) != 0 && errno != ENOENT) {
		walk_errno = errno;
		snprintf(walk_path, sizeof(walk_path), "%s", path);
		return FTW_STOP;
	}
	return next;
}

int
privdrop_ownership(const char *data_dir, const char *user, const char *group,
		   char *err, size_t errlen)
{
	int rc;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return 0;
	if (privdrop_resolve(user, group, &walk_uid, &walk_gid, err, errlen) !=
	    0)
		return -1;
	walk_errno = 0;
	walk_path[0] = '\0';
	/* FTW_PHYS: never follow a link out of data_dir; FTW_MOUNT: stay on
	 * its file system. */
	rc = nftw(data_dir, privdrop_chown_one, 32,
		  FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
	if (rc == 1) {
		snprintf(err, errlen, "%s: cannot give to %s: %s", walk_path,
			 user, strerror(walk_errno));
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", data_dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
privdrop_now(const char *user, const char *group, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	if (user == NULL || *user == '\0') {
		log_warn("running as root: set user = ... to drop privileges");
		return 0;
	}
	if (privdrop_resolve(user, group, &uid, &gid, err, errlen) != 0)
		return -1;
	if (uid == 0) {
		snprintf(err, errlen, "user '%s' is root: nothing to drop to",
			 user);
		return -1;
	}
	/*
	 * Supplementary groups first, while still root: only the one group,
	 * so none of root's (disk, adm, ...) survive. Then the group, then
	 * the user; as root, setgid/setuid set real, effective and saved ids
	 * alike, so there is no way back.
	 */
	if (setgroups(1, &gid) != 0) {
		snprintf(err, errlen, "setgroups(%lu): %s", (unsigned long)gid,
			 strerror(errno));
		return -1;
	}
	if (setgid(gid) != 0) {
		snprintf(err, errlen, "setgid(%lu): %s", (unsigned long)gid,
			 strerror(errno));
		return -1;
	}
	if (setuid(uid) != 0) {
		snprintf(err, errlen, "setuid(%lu): %s", (unsigned long)uid,
			 strerror(errno));
		return -1;
	}
	/* Trust, but verify: a half-done drop must not go unnoticed. */
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		snprintf(err, errlen, "privileges not dropped to %s as asked",
			 user);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		snprintf(err, errlen,
			 "root could be regained after becoming "
			 "%s",
			 user);
		return -1;
	}
	log_info("running as user %s (uid %lu, gid %lu)", user,
		 (unsigned long)uid, (unsigned long)gid);
	return 0;
}
