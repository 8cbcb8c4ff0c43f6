#include "deliver/maildrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "smtp/smtp_addr.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/* drop_gid - the sendmail_group's id, or -1 (none, or unknown). */
static gid_t
drop_gid(const struct config *cfg)
{
	char buf[4096];
	struct group gr, *grp = NULL;

	if (cfg->sendmail_group[0] == '\0' ||
	    getgrnam_r(cfg->sendmail_group, &gr, buf, sizeof(buf), &grp) != 0 ||
	    grp == NULL)
		return (gid_t)-1;
	return gr.gr_gid;
}

int
maildrop_setup(const struct config *cfg)
{
	char dir[PATH_MAX], buf[4096];
	gid_t gid = drop_gid(cfg);
	uid_t owner = geteuid();
	struct passwd pw, *pwp = NULL;

	/* Before the privilege drop: the folder is the server user's. */
	if (owner == 0 && cfg->user[0] != '\0' &&
	    getpwnam_r(cfg->user, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		owner = pw.pw_uid;
	snprintf(dir, sizeof(dir), "%s/maildrop", cfg->data_dir);
	if (gid == (gid_t)-1) {
		if (cfg->sendmail_group[0] == '\0')
			log_debug("sendmail_group is empty: only root and the "
				  "server's user can use sendmail");
		else
			log_info("sendmail_group '%s' is no group here: only "
				 "root and the server's user can use sendmail",
				 cfg->sendmail_group);
		return chmod(dir, 0700);
	}
	/* 1730: the group may create entries but not list or read them;
	 * the sticky bit keeps each user's file that user's (and ours). */
	if (chown(dir, owner, gid) < 0 || chmod(dir, 01730) < 0) {
		log_warn("%s: cannot hand to group %s: %s; only root and "
			 "the server's user can use sendmail",
			 dir, cfg->sendmail_group, strerror(errno));
		return -1;
	}
	/* Local users must be able to reach maildrop/: data_dir gets the
	 * search bit for all (0711), never the read bit, and everything in
	 * it keeps its own 0700/0600. */
	struct stat st;
	mode_t search = S_IXGRP | S_IXOTH; /* group too: a user may share it */
	if (stat(cfg->data_dir, &st) == 0 && (st.st_mode & search) != search &&
	    chmod(cfg->data_dir, (st.st_mode & 07777) | search) < 0)
		log_warn("%s: cannot open for sendmail: %s", cfg->data_dir,
			 strerror(errno));
	return 0;
}

char *
maildrop_read(const char *path, size_t max, uid_t *uid_r, char *login,
	      size_t loginlen, size_t *len_r, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "not a regular file");
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		snprintf(err, errlen, "not a regular file with one link");
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	*uid_r = st.st_uid;
	char buf[1024];
	struct passwd pw, *pwp = NULL;
	if (getpwuid_r(st.st_uid, &pw, buf, sizeof(buf), &pwp) != 0 ||
	    pwp == NULL || strlen(pw.pw_name) >= loginlen) {
		snprintf(err, errlen,
			 "written by uid %lu, which has no user name",
			 (unsigned long)st.st_uid);
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	snprintf(login, loginlen, "%s", pw.pw_name);
	char *text = fsutil_read_fd(fd, max, len_r);
	int saved = errno;
	close(fd);
	errno = saved;
	return text;
}

char *
maildrop_sender(const char *login, const char *hostname, const char *requested,
		bool trusted, char *out, size_t outlen)
{
	struct smtp_path p = {0};
	char own[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];

	snprintf(p.local, sizeof(p.local), "%s", login);
	snprintf(p.domain, sizeof(p.domain), "%s", hostname);
	if (login[0] == '\0' || smtp_addr_format(&p, own, sizeof(own)) < 0)
		snprintf(own, sizeof(own), "nobody@%s", hostname);
	if (requested == NULL) {
		snprintf(out, outlen, "%s", own);
		return NULL;
	}
	/* Their own address, or login+tag@hostname. */
	size_t ll = strlen(login), hl = strlen(hostname);
	const char *at = strrchr(requested, '@');
	bool mine =
	    strcasecmp(requested, own) == 0 ||
	    (at != NULL && ll > 0 && strncasecmp(requested, login, ll) == 0 &&
	     requested[ll] == '+' && (size_t)(at - requested) > ll + 1 &&
	     strlen(at + 1) == hl && strcasecmp(at + 1, hostname) == 0);
	if (trusted || mine) {
		snprintf(out, outlen, "%s", requested);
		return NULL;
	}
	snprintf(out, outlen, "%s", own);
	return xasprintf("X-Authentication-Warning: %s: %s set sender to <%s> "
			 "using -f\r\n",
			 hostname, login, requested);
}
