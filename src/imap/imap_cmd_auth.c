/*
 * imap_cmd_auth - the commands of any state and of logging in:
 * CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161), STARTTLS,
 * LOGIN, AUTHENTICATE PLAIN with SASL-IR (RFC 4959), COMPRESS=DEFLATE
 * (RFC 4978).
 *
 * Passwords are only accepted over TLS: before STARTTLS, CAPABILITY says
 * LOGINDISABLED and no AUTH= (RFC 3501 §6.2.3, §7.2.1), and LOGIN and
 * AUTHENTICATE are refused with [PRIVACYREQUIRED] (RFC 5530). The check
 * runs on the worker pool as for SMTP and POP3; a failure is answered
 * after a delay that stalls only this session, logged with the address,
 * and counted with the SMTP and POP3 failures of that address
 * (max_auth_failures); three in one session end it.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/auth_limit.h"
#include "auth/sasl.h"
#include "conf/config.h"
#include "imap/imap_session.h"
#include "smtp/smtp_addr.h"
#include "store/folders.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

#define IMAP_AUTH_DELAY	       1 /* seconds before a failed login's NO */
#define IMAP_MAX_AUTH_FAILURES 3 /* in one session, then BYE */
#define IMAP_USER_MAX	       (SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2)

struct imap_auth_job {
	struct imap_session *s; /* NULL once the session is gone */
	char data_dir[PATH_MAX];
	char user[IMAP_USER_MAX + 1];
	char pass[256];
	char root[PATH_MAX];
	const char *mech;
	int result; /* 1 ok, 0 bad, -1 error */
	char err[256];
	struct event *delay;
};

void
imap_capabilities(struct imap_session *s, struct strbuf *out)
{
	strbuf_adds(out, "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE");
	if (s->state == IMAP_STATE_NOTAUTH) {
		if (!s->tls && s->srv->tls_server != NULL)
			strbuf_adds(out, " STARTTLS");
		/* RFC 3501 §6.2.3 / RFC 4959: no password in the clear. */
		strbuf_adds(out, s->tls ? " AUTH=PLAIN" : " LOGINDISABLED");
		return;
	}
	char limit[64];
	snprintf(limit, sizeof(limit), " APPENDLIMIT=%llu",
		 (unsigned long long)(s->srv->cfg->max_message_size > UINT32_MAX
					  ? UINT32_MAX
					  : s->srv->cfg->max_message_size));
	strbuf_adds(out, " IDLE NAMESPACE UIDPLUS MOVE UNSELECT CHILDREN"
			 " SPECIAL-USE LIST-EXTENDED LIST-STATUS CONDSTORE"
			 " QRESYNC ESEARCH SEARCHRES WITHIN QUOTA"
			 " QUOTA=RES-STORAGE STATUS=SIZE");
	strbuf_adds(out, limit);
	if (!s->compressed)
		strbuf_adds(out, " COMPRESS=DEFLATE");
}

enum imap_status
imap_cmd_capability(struct imap_session *s, const struct imap_command *c,
		    struct imap_reply *r)
{
	struct strbuf caps = {0};
	(void)c;
	imap_capabilities(s, &caps);
	imap_untagged(s, "CAPABILITY %s", caps.p);
	free(caps.p);
	imap_reply_set(r, IMAP_OK, NULL, "CAPABILITY completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_noop(struct imap_session *s, const struct imap_command *c,
	      struct imap_reply *r)
{
	(void)s;
	(void)c;
	/* The changes of the folder go out with the completion. */
	imap_reply_set(r, IMAP_OK, NULL, "NOOP completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_logout(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	(void)c;
	/* RFC 3501 §6.1.3: BYE, then the tagged OK; then the session
	 * closes, once they have left. */
	imap_untagged(s, "BYE Logging out");
	s->close_after = true;
	imap_reply_set(r, IMAP_OK, NULL, "LOGOUT completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_id(struct imap_session *s, const struct imap_command *c,
	    struct imap_reply *r)
{
	/* RFC 2971: say who we are; what the client says is logged. */
	if (c->u.id.n > 0) {
		struct strbuf sb = {0};
		for (size_t i = 0; i < c->u.id.n && i < 8; i++) {
			const struct imap_str *k = &c->u.id.kv[2 * i];
			const struct imap_str *v = &c->u.id.kv[2 * i + 1];
			char tmp[200];
			snprintf(tmp, sizeof(tmp), "%s%.*s=%.*s", i ? ", " : "",
				 (int)(k->len > 40 ? 40 : k->len), k->p,
				 (int)(c->u.id.nil[i] ? 3
				       : v->len > 60  ? 60
						      : v->len),
				 c->u.id.nil[i] ? "NIL" : v->p);
			for (char *p = tmp; *p; p++)
				if ((unsigned char)*p < 0x20)
					*p = '?';
			strbuf_adds(&sb, tmp);
		}
		log_info("imap: [%s] ID %s", s->addr, sb.p ? sb.p : "");
		free(sb.p);
	}
	imap_untagged(s, "ID (\"name\" \"petrel\" \"vendor\" \"petrel\")");
	imap_reply_set(r, IMAP_OK, NULL, "ID completed");
	return IMAP_OK;
}

enum imap_status
imap_cmd_enable(struct imap_session *s, const struct imap_command *c,
		struct imap_reply *r)
{
	struct strbuf on = {0};
	for (size_t i = 0; i < c->u.enable.n; i++) {
		const char *cap = c->u.enable.caps[i].p;
		if (strcasecmp(cap, "CONDSTORE") == 0 && !s->condstore) {
			s->condstore = true;
			strbuf_adds(&on, " CONDSTORE");
		} else if (strcasecmp(cap, "QRESYNC") == 0 && !s->qresync) {
			/* RFC 7162 §3.2.3: QRESYNC implies CONDSTORE. */
			if (!s->condstore)
				strbuf_adds(&on, " CONDSTORE");
			s->condstore = s->qresync = true;
			strbuf_adds(&on, " QRESYNC");
		}
		/* Unknown capabilities are ignored (RFC 5161 §3.1). */
	}
	imap_untagged(s, "ENABLED%s", on.p ? on.p : "");
	free(on.p);
	imap_reply_set(r, IMAP_OK, NULL, "ENABLE completed");
	return IMAP_OK;
}

/* --- STARTTLS and COMPRESS: answer, then the new layer --- */

static void
write_ok(struct imap_session *s, const char *text)
{
	evbuffer_add_printf(imap_out(s), "%s OK %s\r\n", s->cmd->tag, text);
}

/*
 * imap_cmd_starttls - RFC 3501 §6.2.1. Bytes the client sent after the
 * command, before the handshake, are discarded unread (the STARTTLS
 * command injection class, CVE-2011-0411); the session starts over in
 * the not-authenticated state with a new capability list.
 */
enum imap_status
imap_cmd_starttls(struct imap_session *s, const struct imap_command *c,
		  struct imap_reply *r)
{
	(void)c;
	if (s->tls) {
		imap_reply_set(r, IMAP_BAD, NULL, "TLS is already active");
		return IMAP_BAD;
	}
	SSL *ssl = s->srv->tls_server ? SSL_new(s->srv->tls_server) : NULL;
	if (ssl == NULL) {
		imap_reply_set(r, IMAP_NO, "UNAVAILABLE",
			       "TLS is not available");
		return IMAP_NO;
	}
	write_ok(s, "Begin TLS negotiation now");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t junk = evbuffer_get_length(in);
	if (junk > 0) {
		log_warn("imap: [%s] %zu bytes pipelined after STARTTLS "
			 "discarded",
			 s->addr, junk);
		evbuffer_drain(in, junk);
	}
	imap_reader_reset(&s->rd);
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    s->srv->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	imap_complete_silent(s);
	if (tls == NULL) {
		SSL_free(ssl);
		imap_bye(s, "TLS failed");
		return IMAP_ASYNC;
	}
	s->tls = true;
	imap_session_set_bev(s, tls);
	return IMAP_ASYNC;
}

enum imap_status
imap_cmd_compress(struct imap_session *s, const struct imap_command *c,
		  struct imap_reply *r)
{
	if (strcasecmp(c->u.compress.p, "DEFLATE") != 0) {
		imap_reply_set(r, IMAP_BAD, NULL, "Unknown compression");
		return IMAP_BAD;
	}
	if (s->compressed) {
		/* RFC 4978 §3. */
		imap_reply_set(r, IMAP_NO, "COMPRESSIONACTIVE",
			       "Already compressing");
		return IMAP_NO;
	}
	write_ok(s, "DEFLATE active");
	/* What the client sent after the command is compressed already: it
	 * stays in the input, below the new layer, which inflates it. */
	struct bufferevent *z = imap_compress_new(s->bev);
	imap_complete_silent(s);
	if (z == NULL) {
		imap_bye(s, "COMPRESS failed");
		return IMAP_ASYNC;
	}
	s->compressed = true;
	imap_session_set_bev(s, z);
	return IMAP_ASYNC;
}

/* --- logging in --- */

static void
auth_work(void *arg)
{
	struct imap_auth_job *j = arg;
	j->result = auth_check_password(j->data_dir, j->user, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
	if (j->result != 1)
		return;
	if (auth_mailbox_of(j->data_dir, j->user, j->root, sizeof(j->root)) <
	    0) {
		j->result = -1;
		snprintf(j->err, sizeof(j->err), "bad mailbox name");
		return;
	}
	/* A mailbox new to IMAP gets its special folders. */
	if (folders_init(j->root) < 0) {
		j->result = -1;
		snprintf(j->err, sizeof(j->err), "cannot make the folders: %m");
	}
}

static void
auth_answer(struct imap_session *s, struct imap_auth_job *j)
{
	struct imap_reply r = {0};
	if (j->result == 1) {
		s->user = xstrdup(j->user);
		s->root = xstrdup(j->root);
		s->state = IMAP_STATE_AUTH;
		imap_session_logged_in(s);
		log_info("imap: login user=<%s> [%s] method=%s", j->user,
			 s->addr, j->mech);
		struct strbuf caps = {0};
		imap_capabilities(s, &caps);
		imap_reply_set(&r, IMAP_OK, NULL, "Logged in");
		strbuf_adds(&r.code, "CAPABILITY ");
		strbuf_adds(&r.code, caps.p);
		free(caps.p);
	} else if (j->result < 0) {
		log_err("imap: user=<%s> [%s]: %s", j->user, s->addr,
			j->err[0] ? j->err : "directory error");
		imap_reply_set(&r, IMAP_NO, "UNAVAILABLE",
			       "Temporary authentication failure");
	} else {
		imap_reply_set(&r, IMAP_NO, "AUTHENTICATIONFAILED",
			       "Authentication failed");
	}
	imap_complete(s, &r);
	if (j->result == 0 && s->auth_failures >= IMAP_MAX_AUTH_FAILURES)
		imap_bye(s, "Too many failed logins");
}

static void
auth_free(struct imap_auth_job *j)
{
	if (j->delay != NULL)
		event_free(j->delay);
	explicit_bzero(j, sizeof(*j));
	free(j);
}

static void
delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_auth_job *j = arg;
	struct imap_session *s = j->s;
	(void)fd;
	(void)what;
	if (s != NULL) {
		s->auth = NULL;
		auth_answer(s, j);
		imap_process(s);
	}
	auth_free(j);
}

static void
auth_done(void *arg)
{
	struct imap_auth_job *j = arg;
	struct imap_session *s = j->s;
	if (s == NULL) {
		auth_free(j);
		return;
	}
	if (j->result != 0) {
		s->auth = NULL;
		auth_answer(s, j);
		auth_free(j);
		imap_process(s);
		return;
	}
	/* A wrong password and an unknown user look alike, are counted
	 * for the address with SMTP's and POP3's, and are answered late. */
	s->auth_failures++;
	unsigned n = auth_limit_fail(s->srv->auth_limit, s->addr, time(NULL));
	log_warn("imap: authentication failed for <%s> from [%s] (%u in this "
		 "window)",
		 j->user, s->addr, n);
	j->delay = evtimer_new(s->srv->base, delay_cb, j);
	struct timeval tv = {IMAP_AUTH_DELAY, 0};
	evtimer_add(j->delay, &tv);
}

/* check - hand credentials to the worker pool; the command waits. */
static enum imap_status
check(struct imap_session *s, const char *mech, const char *user,
      const char *pass, struct imap_reply *r)
{
	if (auth_limit_blocked(s->srv->auth_limit, s->addr, time(NULL))) {
		log_warn("imap: [%s] login refused: too many failed logins",
			 s->addr);
		imap_reply_set(r, IMAP_NO, "UNAVAILABLE",
			       "Too many failed logins, try again later");
		return IMAP_NO;
	}
	if (strlen(user) > IMAP_USER_MAX || strlen(pass) >= 256) {
		/* Cannot be right; answered like any failure, later. */
		user = "";
		pass = "";
	}
	struct imap_auth_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->mech = mech;
	snprintf(j->data_dir, sizeof(j->data_dir), "%s", imap_data_dir(s));
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->pass, sizeof(j->pass), "%s", pass);
	s->auth = j;
	workq_submit(s->srv->workq, auth_work, auth_done, j);
	return IMAP_ASYNC;
}

void
imap_auth_detach(struct imap_session *s)
{
	if (s->auth != NULL)
		s->auth->s = NULL;
	s->auth = NULL;
}

enum imap_status
imap_cmd_login(struct imap_session *s, const struct imap_command *c,
	       struct imap_reply *r)
{
	if (!s->tls) {
		imap_reply_set(r, IMAP_NO, "PRIVACYREQUIRED",
			       "LOGIN is disabled before STARTTLS");
		return IMAP_NO;
	}
	return check(s, "LOGIN", c->u.login.user.p, c->u.login.pass.p, r);
}

/* plain - an AUTHENTICATE PLAIN response (base64, "=" for empty). */
static enum imap_status
plain(struct imap_session *s, const char *b64, size_t len, struct imap_reply *r)
{
	char user[IMAP_USER_MAX + 1], pass[256];
	if (len == 1 && b64[0] == '=')
		len = 0;
	if (sasl_plain_decode(b64, len, user, sizeof(user), pass,
			      sizeof(pass)) < 0) {
		imap_reply_set(r, IMAP_BAD, NULL,
			       "Invalid AUTHENTICATE PLAIN response");
		return IMAP_BAD;
	}
	enum imap_status st = check(s, "PLAIN", user, pass, r);
	explicit_bzero(pass, sizeof(pass));
	return st;
}

enum imap_status
imap_cmd_authenticate(struct imap_session *s, const struct imap_command *c,
		      struct imap_reply *r)
{
	if (strcasecmp(c->u.auth.mech.p, "PLAIN") != 0) {
		imap_reply_set(r, IMAP_NO, NULL,
			       "Unsupported authentication mechanism");
		return IMAP_NO;
	}
	if (!s->tls) {
		imap_reply_set(r, IMAP_NO, "PRIVACYREQUIRED",
			       "AUTHENTICATE needs STARTTLS first");
		return IMAP_NO;
	}
	if (c->u.auth.has_ir) /* SASL-IR, RFC 4959 */
		return plain(s, c->u.auth.ir.p, c->u.auth.ir.len, r);
	s->mode = IMAP_MODE_SASL;
	imap_untagged_plus(s, "");
	return IMAP_ASYNC;
}

void
imap_auth_sasl_line(struct imap_session *s, const char *line, size_t len)
{
	struct imap_reply r = {0};
	s->mode = IMAP_MODE_BUSY;
	if (len == 1 && line[0] == '*') {
		/* RFC 3501 §6.2.2: cancelled is BAD. */
		imap_reply_set(&r, IMAP_BAD, NULL, "Authentication cancelled");
		imap_complete(s, &r);
		return;
	}
	if (plain(s, line, len, &r) != IMAP_ASYNC)
		imap_complete(s, &r);
}
