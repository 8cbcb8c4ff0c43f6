/*
 * smtp_mauth - mail authentication in the SMTP session: the glue between
 * smtp_server.c and src/mailauth/mauth_session.c.
 *
 * Which sessions are checked: port 25 (the MX role) from clients that
 * are neither authenticated nor in relay_networks; they get SPF for
 * HELO and MAIL FROM, DKIM, DMARC and one Authentication-Results field.
 * Which are signed: authenticated submissions and relay_networks
 * clients (our own mail), when the From domain has a DKIM key. Every
 * session gets the reverse DNS for its Received: line.
 *
 * The two waits (SMTP_STATE_MAUTH): before the 354 of DATA if the
 * reverse DNS is still out (it started at connect, so this is rare), and
 * at the end of data until the checks are in, where the session would
 * wait for the queue commit anyway. Neither blocks the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/config.h"
#include "mailauth/mauth_session.h"
#include "smtp/smtp_session.h"
#include "util/fsutil.h"
#include "util/log.h"

bool
smtp_mauth_checked(const struct smtp_session *s)
{
	return s->role == SMTP_ROLE_MX && !s->relay_client && !s->authenticated;
}

static bool
signs(const struct smtp_session *s)
{
	return s->authenticated || s->relay_client;
}

void
smtp_mauth_received_from(const struct smtp_session *s, char *out, size_t cap)
{
	mauth_session_received_from(s->mauth, s->helo, out, cap, NULL);
}

static void
rdns_ready(void *arg)
{
	struct smtp_session *s = arg;

	if (s->state != SMTP_STATE_MAUTH)
		return;
	s->state = SMTP_STATE_RCPT;
	smtp_data_begin(s);
	smtp_session_resume(s);
}

void
smtp_mauth_data(struct smtp_session *s)
{
	char from[600];
	bool ready;

	mauth_session_data(s->mauth, smtp_mauth_checked(s), signs(s));
	mauth_session_received_from(s->mauth, s->helo, from, sizeof(from),
				    &ready);
	if (ready) {
		smtp_data_begin(s);
		return;
	}
	s->state = SMTP_STATE_MAUTH;
	mauth_session_when_rdns(s->mauth, rdns_ready, s);
}

static void
spool_emit(void *arg, const char *p, size_t len)
{
	struct smtp_session *s = arg;

	if (s->write_errno == 0 && s->spool_fd >= 0 &&
	    fsutil_write_all(s->spool_fd, p, len) < 0)
		s->write_errno = errno;
}

void
smtp_mauth_feed(struct smtp_session *s, const char *p, size_t len)
{
	mauth_session_feed(s->mauth, p, len, spool_emit, s);
}

/*
 * prepend - put fields on top of the spool file: a new file with them,
 * then the old content copied in the kernel (copy_file_range), renamed
 * over the old. The committer's sync makes it durable with the rest.
 */
static int
prepend(struct smtp_session *s, const char *fields, size_t len)
{
	char tmp[PATH_MAX + 8];
	struct stat st;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.auth", s->spool_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fstat(s->spool_fd, &st) < 0 ||
	    fsutil_write_all(fd, fields, len) < 0)
		goto fail;
	loff_t in = 0;
	while (in < st.st_size) {
		ssize_t n = copy_file_range(s->spool_fd, &in, fd, NULL,
					    (size_t)(st.st_size - in), 0);
		if (n <= 0) {
			/* Not supported here: read and write. */
			if (n < 0 && lseek(s->spool_fd, in, SEEK_SET) >= 0) {
				char buf[65536];
				ssize_t r;
				while ((r = read(s->spool_fd, buf,
						 sizeof(buf))) > 0) {
					if (fsutil_write_all(fd, buf,
							     (size_t)r) < 0)
						goto fail;
					in += r;
				}
				if (r == 0 && in == st.st_size)
					break;
			}
			goto fail;
		}
	}
	if (rename(tmp, s->spool_path) < 0)
		goto fail;
	close(s->spool_fd);
	s->spool_fd = fd;
	return 0;
fail:
	close(fd);
	unlink(tmp);
	return -1;
}

static void
verdict(void *arg, const struct mauth_action *a, const char *fields, size_t len)
{
	struct smtp_session *s = arg;

	if (a->code != 0) {
		smtp_reply(s, a->code, a->enhanced, "%s", a->text);
		smtp_transaction_reset(s);
		s->state = SMTP_STATE_READY;
		smtp_session_resume(s);
		return;
	}
	if (len > 0 && prepend(s, fields, len) < 0) {
		log_err("%s: cannot add the authentication header: %s",
			s->env.id, strerror(errno));
		s->write_errno = errno ? errno : EIO;
	}
	/* The size is what is stored: fields added, forged claims gone. */
	struct stat st;
	if (s->write_errno == 0 && s->spool_fd >= 0 &&
	    fstat(s->spool_fd, &st) == 0)
		s->data_size = (uint64_t)st.st_size;
	smtp_data_commit(s);
}

void
smtp_mauth_data_end(struct smtp_session *s)
{
	const char *at = s->env.sender ? strrchr(s->env.sender, '@') : NULL;

	s->state = SMTP_STATE_MAUTH;
	mauth_session_end(s->mauth, s->env.id, at ? at + 1 : "", spool_emit, s,
			  verdict, s);
}
