/*
 * imap_cmd_idle - IDLE (RFC 2177): the client waits, the server speaks.
 *
 * While IDLE, every change of the selected folder is written the moment
 * it is applied (imap_session_changed): mail delivered by SMTP reaches
 * an idling client as soon as the committer has made it durable and the
 * folder is synced (store/notify.h), other sessions' flag changes and
 * expunges as soon as they are done. "DONE" ends it.
 */
#include <strings.h>

#include "imap/imap_session.h"

enum imap_status
imap_cmd_idle(struct imap_session *s, const struct imap_command *c,
	      struct imap_reply *r)
{
	(void)c;
	(void)r;
	imap_untagged_plus(s, "idling");
	s->mode = IMAP_MODE_IDLE;
	/* An idler may wait for hours: it keeps no command buffer. */
	if (imap_reader_idle(&s->rd))
		imap_reader_reset(&s->rd);
	/* What happened before it started is told at once. */
	imap_session_updates(s, true);
	return IMAP_ASYNC;
}

void
imap_idle_line(struct imap_session *s, const char *line, size_t len)
{
	struct imap_reply r = {0};
	s->mode = IMAP_MODE_BUSY;
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
		imap_reply_set(&r, IMAP_OK, NULL, "IDLE terminated");
	else
		imap_reply_set(&r, IMAP_BAD, NULL, "Expected DONE");
	imap_complete(s, &r);
}
