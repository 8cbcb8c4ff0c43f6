/*
 * smtp_msg - the message of an SMTP transaction, DATA or BDAT alike.
 *
 * smtp_msg_begin opens queue/tmp/ID and writes what goes on top: the
 * Return-Path: from MAIL FROM (RFC 5321 §4.4; only local delivery keeps
 * it: its length is the envelope's trace, which every path onward
 * skips) and our Received: line. smtp_msg_write takes decoded message
 * bytes (from the dot decoder or a BDAT chunk) through the header filter
 * (arriving Return-Path: fields out, 8-bit headers noted) and the loop
 * counter into the file, enforcing max_message_size as they arrive: past
 * it nothing more is stored. smtp_msg_end refuses or hands the message
 * to the committer; commit_done answers the client once it is durable.
 */
#include "smtp/smtp_session.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "mailauth/mauth_session.h"
#include "net/tls.h"
#include "queue/commit.h"
#include "queue/queue.h"
#include "queue/scheduler.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xalloc.h"

void
smtp_msg_discard(struct smtp_session *s)
{
	if (s->spool_fd >= 0) {
		close(s->spool_fd);
		s->spool_fd = -1;
	}
	if (s->spool_path != NULL) {
		unlink(s->spool_path);
		free(s->spool_path);
		s->spool_path = NULL;
	}
}

/* received_line - our trace field (heap), RFC 5321 §4.4 and RFC 3848. */
static char *
received_line(struct smtp_session *s)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* RFC 3848: ESMTPS with TLS, ESMTPSA when also authenticated;
	 * like Postfix, the TLS version and cipher and the authenticated
	 * sender in comments. "for <rcpt>" only with one recipient. RFC
	 * 6531 §3.7.3: UTF8SMTP(S)(A) when the transaction was SMTPUTF8. */
	char tls_info[192] = "", auth_info[400] = "", for_info[600] = "";
	if (s->tls) {
		char d[160];
		tls_describe(bufferevent_openssl_get_ssl(s->bev), d, sizeof(d));
		snprintf(tls_info, sizeof(tls_info), "\t(using %s)\r\n", d);
	}
	if (s->authenticated)
		snprintf(auth_info, sizeof(auth_info),
			 "\t(Authenticated sender: %s)\r\n", s->auth_user);
	if (s->env.n_rcpts == 1)
		snprintf(for_info, sizeof(for_info), "\r\n\tfor <%s>",
			 s->env.rcpts[0].orcpt);
	const char *proto = !s->esmtp			 ? "SMTP"
			    : s->tls && s->authenticated ? "ESMTPSA"
			    : s->tls			 ? "ESMTPS"
			    : s->authenticated		 ? "ESMTPA"
							 : "ESMTP";
	bool utf8 = s->env.smtputf8 & QUEUE_UTF8_REQUESTED;
	/* Postfix's form, "from HELO (VERIFIED-NAME [IP])" (smtp_mauth.c). */
	char from[600];
	smtp_mauth_received_from(s, from, sizeof(from));
	return xasprintf("Received: from %s\r\n%s%s"
			 "\tby %s (petrel) with %s%s id %s%s;\r\n\t%s\r\n",
			 from, tls_info, auth_info, s->srv->cfg->hostname,
			 utf8 ? "UTF8" : "",
			 utf8 && s->esmtp ? proto + 1 : proto, s->env.id,
			 for_info, date);
}

int
smtp_msg_begin(struct smtp_session *s)
{
	char path[4096];

	s->spool_fd = queue_spool_open(s->srv->cfg->data_dir, s->env.id, path,
				       sizeof(path));
	if (s->spool_fd < 0) {
		log_err("%s: cannot create spool file: %s", s->env.id,
			strerror(errno));
		return -1;
	}
	s->spool_path = xstrdup(path);
	/* RFC 5321 §4.4: exactly one Return-Path, first, from MAIL FROM
	 * ("<>" for the null sender). */
	char *rp = xasprintf("Return-Path: <%s>\r\n", s->env.sender);
	char *rcv = received_line(s);
	size_t rlen = strlen(rp), hlen = strlen(rcv);
	if (fsutil_write_all(s->spool_fd, rp, rlen) < 0 ||
	    fsutil_write_all(s->spool_fd, rcv, hlen) < 0)
		s->write_errno = errno;
	/* Our own line can carry UTF-8 ("for <jörg@...>", an authenticated
	 * UTF-8 user): then the header needs SMTPUTF8 on the way on too. */
	if (!utf8_is_ascii(rcv))
		s->env.smtputf8 |= QUEUE_UTF8_HEADERS;
	free(rp);
	free(rcv);
	s->env.trace = rlen;
	s->data_size = rlen + hlen;
	s->data_mark = 0;
	s->too_big = false;
	smtp_hdrfilter_init(&s->hf);
	smtp_hops_init(&s->hops);
	s->hops.count = 1; /* ours */
	/* The message passes mail authentication's gate (smtp_mauth.c). */
	smtp_mauth_begin(s);
	return 0;
}

/* store - filtered bytes into the spool file, counted. */
static void
store(struct smtp_session *s, const char *buf, size_t len)
{
	if (len == 0)
		return;
	if (!s->too_big &&
	    s->data_size - s->env.trace + len > s->srv->cfg->max_message_size) {
		/* Keep reading to the end (RFC 1870 §6.3 allows refusing
		 * only after it), but store nothing more. */
		s->too_big = true;
		if (s->spool_fd >= 0 && ftruncate(s->spool_fd, 0) < 0)
			s->write_errno = errno;
	}
	s->data_size += len;
	if (!s->too_big) {
		smtp_hops_feed(&s->hops, buf, len);
		smtp_mauth_feed(s, buf, len);
	}
}

void
smtp_msg_write(struct smtp_session *s, const char *buf, size_t len)
{
	static char out[SMTP_MSG_CHUNK + SMTP_HDRFILTER_HOLD];

	/* Bounded: SMTP_MSG_CHUNK at a time. */
	while (len > 0) {
		size_t n = len < SMTP_MSG_CHUNK ? len : SMTP_MSG_CHUNK;
		store(s, out, smtp_hdrfilter_feed(&s->hf, buf, n, out));
		buf += n;
		len -= n;
	}
	if (s->data_size - s->data_mark >= SMTP_DATA_PROGRESS) {
		/* In DATA and BDAT the deadline moves on with progress only,
		 * so a client must keep sending to keep the session. */
		s->data_mark = s->data_size;
		smtp_session_deadline(s, s->srv->cfg->smtp_data_timeout);
	}
}

static void
commit_done(struct queue_commit *job)
{
	struct smtp_session *s = job->arg;
	const struct queue_envelope *env = &job->env;

	if (job->error == 0) {
		log_info("%s: from=<%s>, size=%" PRIu64 ", nrcpt=%zu (queue "
			 "%s)",
			 env->id, env->sender, env->size, env->n_rcpts,
			 job->queued ? "active" : "skipped, delivered");
		for (size_t i = 0; i < env->n_rcpts; i++) {
			const struct queue_rcpt *r = &env->rcpts[i];
			/* Queued ones: the scheduler logs their outcome. */
			if (r->state == QUEUE_RCPT_PENDING &&
			    r->last_error == NULL)
				continue;
			bool orig = strcasecmp(r->orcpt, r->address) != 0;
			log_info("%s: to=<%s>%s%s%s, status=%s (%s)", env->id,
				 r->address, orig ? ", orig_to=<" : "",
				 orig ? r->orcpt : "", orig ? ">" : "",
				 r->state == QUEUE_RCPT_DONE ? "sent"
							     : "deferred",
				 r->last_error ? r->last_error : "queued");
		}
	} else {
		log_err("%s: not accepted: %s", env->id, strerror(job->error));
	}
	if (job->error == 0 && job->queued)
		scheduler_add(((struct server *)job->ctx)->sched, env);
	if (s == NULL) { /* the client went away meanwhile */
		queue_commit_free(job);
		return;
	}
	s->job = NULL;
	if (job->error != 0)
		smtp_reply(s, 451, "4.3.0", "Local error in processing");
	else if (s->bdat)
		/* RFC 3030 §2: BDAT LAST is answered for the whole. */
		smtp_reply(s, 250, "2.0.0",
			   "Ok: %" PRIu64 " octets, queued as %s",
			   s->bdat_total, env->id);
	else
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", env->id);
	queue_commit_free(job);
	s->bdat = false;
	s->bdat_total = 0;
	s->state = SMTP_STATE_READY;
	smtp_session_deadline(s, s->srv->cfg->smtp_timeout);
	if (s->shutdown) {
		smtp_reply(s, 421, "4.3.2", "%s Service shutting down",
			   s->srv->cfg->hostname);
		smtp_session_close_after_reply(s);
		return;
	}
	smtp_session_resume(s);
}

/*
 * refused - the message will not be taken: say why, forget it. Returns
 * false (the transaction is over).
 */
static bool
refused(struct smtp_session *s, int code, const char *enhanced,
	const char *text)
{
	smtp_reply(s, code, enhanced, "%s", text);
	smtp_transaction_reset(s);
	return false;
}

bool
smtp_msg_end(struct smtp_session *s)
{
	const struct config *cfg = s->srv->cfg;
	char tail[SMTP_HDRFILTER_HOLD];

	/* A last line that never ended (BDAT only) may still be held. */
	store(s, tail, smtp_hdrfilter_finish(&s->hf, tail));
	if (!s->too_big)
		smtp_mauth_flush(s); /* what the gate held, into the file */
	if (s->too_big) {
		log_info("%s: reject: message size exceeds %" PRIu64, s->env.id,
			 cfg->max_message_size);
		return refused(s, 552, "5.3.4",
			       "Message size exceeds fixed limit");
	}
	if (s->hops.count > cfg->max_received_headers) {
		log_info("%s: reject: too many hops (%u Received: lines)",
			 s->env.id, s->hops.count);
		return refused(s, 554, "5.4.6",
			       "Too many hops: mail loop detected");
	}
	if (s->write_errno != 0) {
		log_err("%s: spool write failed: %s", s->env.id,
			strerror(s->write_errno));
		return refused(s, 452, "4.3.1", "Insufficient system storage");
	}
	if (s->hf.header_8bit)
		s->env.smtputf8 |= QUEUE_UTF8_HEADERS;
	/* SPF, DKIM, DMARC; then smtp_msg_commit() or a refusal. */
	s->state = SMTP_STATE_MAUTH;
	smtp_mauth_end(s);
	return true;
}

void
smtp_msg_commit(struct smtp_session *s, const char *top, size_t top_len)
{
	struct queue_commit *job = xcalloc(1, sizeof(*job));
	job->env = s->env; /* moves ownership */
	memset(&s->env, 0, sizeof(s->env));
	job->env.size = s->data_size;
	/* What is stored: forged Authentication-Results are gone. */
	struct stat st;
	if (s->spool_fd >= 0 && fstat(s->spool_fd, &st) == 0)
		job->env.size = (uint64_t)st.st_size;
	job->spool_fd = s->spool_fd;
	snprintf(job->spool_path, sizeof(job->spool_path), "%s", s->spool_path);
	s->spool_fd = -1;
	free(s->spool_path);
	s->spool_path = NULL;
	/*
	 * Fields known only now (Authentication-Results: on port 25,
	 * DKIM-Signature: on submission) go in job->top_fields: the
	 * committer puts them on top of the message, below Return-Path
	 * (queue_spool_add_top, queue/spool.h).
	 */
	if (top_len > 0) {
		job->top_fields = xstrndup(top, top_len);
		job->top_len = top_len;
	}
	job->done = commit_done;
	job->arg = s;
	job->ctx = s->srv;
	s->job = job;
	s->n_rcpt_ok = s->n_rcpt_failed = 0;
	s->state = SMTP_STATE_COMMIT;
	commit_submit(s->srv->commit, job);
}
