/*
 * smtp_auth - SMTP AUTH (RFC 4954) with SASL PLAIN (RFC 4616) and LOGIN,
 * checked against the directory's yescrypt hashes on the worker pool.
 *
 * Offered and accepted only over TLS (538 5.7.11 otherwise), never twice
 * in a session (503), not inside a mail transaction (503). "*" cancels
 * (501). A failure is answered 535 5.7.8 after a delay that stalls only
 * this session, and counts against the client's address: past
 * max_auth_failures in auth_failure_window, AUTH is refused with 454
 * without looking at the credentials.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/auth_limit.h"
#include "auth/sasl.h"
#include "conf/config.h"
#include "server.h"
#include "smtp/smtp_session.h"
#include "store/directory.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* How long a failed AUTH waits before its 535. */
#define SMTP_AUTH_FAIL_DELAY 1

struct smtp_auth_job {
	struct smtp_session *s; /* NULL once the session is gone */
	char data_dir[PATH_MAX];
	char user[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
	char pass[256];
	const char *mech;
	int result; /* 1 ok, 0 bad, -1 error */
};

static void
auth_work(void *arg)
{
	struct smtp_auth_job *j = arg;
	j->result = auth_check_password(j->data_dir, j->user, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
}

static void
auth_done(void *arg)
{
	struct smtp_auth_job *j = arg;
	struct smtp_session *s = j->s;

	if (s == NULL) {
		free(j);
		return;
	}
	s->auth_job = NULL;
	if (j->result == 1) {
		s->authenticated = true;
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", j->user);
		log_info("[%s]: sasl_method=%s, sasl_username=%s", s->addr,
			 j->mech, j->user);
		s->state = SMTP_STATE_READY;
		smtp_reply(s, 235, "2.7.0", "Authentication successful");
		smtp_session_resume(s);
	} else if (j->result < 0) {
		s->state = SMTP_STATE_READY;
		smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
		smtp_session_resume(s);
	} else {
		unsigned n =
		    auth_limit_fail(s->srv->auth_limit, s->addr, time(NULL));
		/* Every failure is logged with the address (fail2ban and
		 * the like read this line). */
		log_warn("[%s]: SASL %s authentication failed for <%s> "
			 "(%u in this window)",
			 s->addr, j->mech, j->user, n);
		struct timeval tv = {SMTP_AUTH_FAIL_DELAY, 0};
		/* The deadline timer doubles as the delay: AUTH state means
		 * "answer 535 when it fires" (smtp_server.c). */
		evtimer_add(s->deadline, &tv);
	}
	free(j);
}

/* check - hand the credentials to the worker pool. */
static void
check(struct smtp_session *s, const char *mech, const char *user,
      const char *pass)
{
	struct smtp_auth_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->mech = mech;
	snprintf(j->data_dir, sizeof(j->data_dir), "%s", s->srv->cfg->data_dir);
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->pass, sizeof(j->pass), "%s", pass);
	s->auth_job = j;
	s->state = SMTP_STATE_AUTH;
	workq_submit(s->srv->workq, auth_work, auth_done, j);
}

/* decode_line - one base64 SASL line into out (NUL-terminated). */
static bool
decode_line(const char *b64, size_t len, char *out, size_t outlen)
{
	long n = sasl_base64_decode(b64, len, (unsigned char *)out, outlen - 1);
	if (n < 0)
		return false;
	out[n] = '\0';
	return strlen(out) == (size_t)n; /* no NUL inside */
}

static void
plain_response(struct smtp_session *s, const char *b64, size_t len)
{
	char user[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2], pass[256];
	if (len == 1 && b64[0] == '=')
		len = 0; /* RFC 4954 §4: "=" is an empty initial response */
	if (sasl_plain_decode(b64, len, user, sizeof(user), pass,
			      sizeof(pass)) < 0) {
		smtp_reply(s, 501, "5.5.2", "Invalid AUTH PLAIN response");
		return;
	}
	check(s, "PLAIN", user, pass);
	explicit_bzero(pass, sizeof(pass));
}

void
smtp_auth_continue(struct smtp_session *s, const char *line, size_t len)
{
	enum smtp_sasl step = s->sasl;
	s->sasl = SMTP_SASL_NONE;
	if (len == 1 && line[0] == '*') {
		smtp_reply(s, 501, "5.0.0", "Authentication cancelled");
		return;
	}
	if (step == SMTP_SASL_PLAIN) {
		plain_response(s, line, len);
		return;
	}
	char buf[256];
	if (!decode_line(line, len, buf, sizeof(buf))) {
		smtp_reply(s, 501, "5.5.2", "Invalid base64 data");
		return;
	}
	if (step == SMTP_SASL_LOGIN_USER) {
		snprintf(s->sasl_user, sizeof(s->sasl_user), "%s", buf);
		s->sasl = SMTP_SASL_LOGIN_PASS;
		smtp_reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
		return;
	}
	check(s, "LOGIN", s->sasl_user, buf);
	explicit_bzero(buf, sizeof(buf));
}

/* known_mech - one of ours; the 538/504 choice depends on it. */
static bool
known_mech(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0;
}

void
smtp_auth_cmd(struct smtp_session *s, const struct smtp_command *c)
{
	/* RFC 4422 §3.1: a mechanism name is 1 to 20 characters. */
	char mech[24];
	const char *arg = c->args, *end = c->args + c->args_len;
	size_t mlen = 0;

	while (arg + mlen < end && arg[mlen] != ' ')
		mlen++;
	if (mlen == 0 || mlen > 20) {
		smtp_reply(s, 501, "5.5.4", "Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, arg, mlen);
	mech[mlen] = '\0';
	if (!known_mech(mech)) {
		/* RFC 4954 §6: not one we offer, in any state. */
		smtp_reply(s, 504, "5.5.4",
			   "Unrecognized authentication mechanism");
		return;
	}
	if (!s->tls) {
		smtp_reply(s, 538, "5.7.11",
			   "Encryption required for requested authentication "
			   "mechanism");
		return;
	}
	if (s->authenticated) {
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return;
	}
	if (s->state != SMTP_STATE_READY) {
		smtp_reply(s, 503, "5.5.1",
			   s->state == SMTP_STATE_GREETED
			       ? "Send EHLO first"
			       : "AUTH not allowed in a mail transaction");
		return;
	}
	if (auth_limit_blocked(s->srv->auth_limit, s->addr, time(NULL))) {
		log_warn("[%s]: AUTH refused: too many failed "
			 "authentications",
			 s->addr);
		smtp_reply(s, 454, "4.7.0",
			   "Too many failed authentications, try later");
		return;
	}
	const char *ir = arg + mlen;
	while (ir < end && *ir == ' ')
		ir++;
	size_t irlen = (size_t)(end - ir);

	if (strcasecmp(mech, "PLAIN") == 0) {
		if (irlen > 0) {
			plain_response(s, ir, irlen);
			return;
		}
		s->sasl = SMTP_SASL_PLAIN;
		/* RFC 4954 §4: an empty challenge is "334 " (one space; the
		 * reply format adds it), not "334  ". */
		smtp_reply(s, 334, NULL, "%s", "");
	} else if (strcasecmp(mech, "LOGIN") == 0) {
		if (irlen > 0) {
			s->sasl = SMTP_SASL_LOGIN_USER;
			smtp_auth_continue(s, ir, irlen);
			return;
		}
		s->sasl = SMTP_SASL_LOGIN_USER;
		smtp_reply(s, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
	}
}

void
smtp_auth_detach(struct smtp_session *s)
{
	if (s->auth_job != NULL)
		s->auth_job->s = NULL;
	s->auth_job = NULL;
	explicit_bzero(s->sasl_user, sizeof(s->sasl_user));
}

bool
smtp_sender_owned(struct smtp_session *s, const char *sender)
{
	struct directory_targets mine = {0}, theirs = {0};
	bool owned = false;

	if (sender[0] == '\0')
		return false;
	/* The sender is owned when it leads (itself, with +tag, or as an
	 * alias or list) to the user's own mailbox. */
	if (directory_expand(s->srv->dir, s->auth_user, &mine) !=
		DIRECTORY_OK ||
	    directory_expand(s->srv->dir, sender, &theirs) != DIRECTORY_OK)
		goto out;
	for (size_t i = 0; i < mine.n && !owned; i++) {
		if (!mine.items[i].local)
			continue;
		for (size_t k = 0; k < theirs.n && !owned; k++)
			owned = theirs.items[k].local &&
				strcasecmp(theirs.items[k].domain,
					   mine.items[i].domain) == 0 &&
				strcasecmp(theirs.items[k].localpart,
					   mine.items[i].localpart) == 0;
	}
out:
	directory_targets_free(&mine);
	directory_targets_free(&theirs);
	return owned;
}
