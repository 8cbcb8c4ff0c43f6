/*
 * smtp_mauth - mail authentication in the SMTP session: the glue between
 * smtp_server.c / smtp_msg.c and src/mailauth/mauth_session.c.
 *
 * Which sessions are checked: port 25 (the MX role) from clients that
 * are neither authenticated nor in relay_networks; they get SPF for
 * HELO and MAIL FROM, DKIM, DMARC and one Authentication-Results field.
 * Which are signed: authenticated submissions and relay_networks
 * clients (our own mail), when the From domain has a DKIM key. Every
 * session gets the reverse DNS for its Received: line.
 *
 * The two waits (SMTP_STATE_MAUTH): before the 354 of DATA if the
 * reverse DNS is still out (it started at connect, so this is rare; a
 * BDAT transaction does not wait, and its Received: says "unknown" if
 * the name is not in by its first chunk), and at the end of the data
 * until the checks are in, where the session would wait for the queue
 * commit anyway. Neither blocks the loop.
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
	/* Authentication-Results: or DKIM-Signature: go on top, below the
	 * Return-Path (the committer, queue/spool.h). */
	smtp_msg_commit(s, fields, len);
}

void
smtp_mauth_begin(struct smtp_session *s)
{
	/* From smtp_msg_begin, for DATA and BDAT alike. */
	mauth_session_data(s->mauth, smtp_mauth_checked(s), signs(s));
}

void
smtp_mauth_flush(struct smtp_session *s)
{
	mauth_session_flush(s->mauth, spool_emit, s);
}

void
smtp_mauth_end(struct smtp_session *s)
{
	const char *at = s->env.sender ? strrchr(s->env.sender, '@') : NULL;

	mauth_session_end(s->mauth, s->env.id, at ? at + 1 : "", spool_emit, s,
			  verdict, s);
}
