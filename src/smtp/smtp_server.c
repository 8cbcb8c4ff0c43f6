#include "smtp/smtp_server.h"
#include "smtp/smtp_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "net/bev.h"
#include "net/conn_limit.h"
#include "net/line_reader.h"
#include "net/tls.h"
#include "queue/commit.h"
#include "queue/queue.h"
#include "queue/scheduler.h"
#include "server.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_hops.h"
#include "smtp/smtp_parse.h"
#include "mailauth/mauth_session.h"
#include "store/directory.h"
#include "store/quota.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * RFC 5321 §4.5.3.1.4 sets 512 octets for a command line; extensions
 * (SIZE, AUTH=, long parameters) make longer ones legitimate, so the hard
 * limit is a little more generous, as Postfix's is.
 */
#define SMTP_LINE_MAX 2048
/* RFC 4954 §4: AUTH lines (and SASL responses) may be up to 12288. */
#define SMTP_AUTH_LINE_MAX 12288
/* Stop reading a client whose replies are not being read, and do not
 * buffer more than this much unprocessed input. */
#define SMTP_OUTPUT_HIGH (64 * 1024)
#define SMTP_INPUT_HIGH	 (256 * 1024)

struct smtp_cmd_def {
	enum smtp_verb verb;
	unsigned states; /* where it is legal */
	void (*handler)(struct smtp_session *s, const struct smtp_command *c);
};

static void smtp_session_process(struct smtp_session *s);
static void smtp_session_free(struct smtp_session *s);
static void smtp_session_shutdown(void *arg);
static void smtp_session_destroy(void *arg);

static const struct server_proto smtp_proto = {
    "smtp",
    smtp_session_shutdown,
    smtp_session_destroy,
};

/* --- replies --- */

/*
 * reply - append one reply line. code < 0 means a continuation line
 * ("250-..."). Every 4xx/5xx counts towards the session's error limit.
 */
void
smtp_reply(struct smtp_session *s, int code, const char *enhanced,
	   const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	char text[512];
	va_list ap;
	bool more = code < 0;

	if (more)
		code = -code;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (enhanced != NULL)
		evbuffer_add_printf(out, "%d%c%s %s\r\n", code,
				    more ? '-' : ' ', enhanced, text);
	else
		evbuffer_add_printf(out, "%d%c%s\r\n", code, more ? '-' : ' ',
				    text);
	if (!more && code >= 400)
		s->errors++;
}

static void
reply_error(struct smtp_session *s, const struct smtp_parse_error *e)
{
	smtp_reply(s, e->code, e->enhanced, "%s", e->text);
}

void
smtp_session_close_after_reply(struct smtp_session *s)
{
	s->state = SMTP_STATE_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	/* Every caller has just appended a reply, so write_cb will run
	 * once it is flushed and free the session there. */
}

/* --- the deadline --- */

/*
 * The session's one timer. Waiting for a command it is the RFC 5321
 * §4.5.3.2 server timeout, restarted only when a whole command has been
 * processed (not by each byte, so a client that trickles a line a byte a
 * minute still runs out of time); in DATA it moves on with every
 * SMTP_DATA_PROGRESS bytes. While an AUTH failure is being answered it is
 * the delay before the 535.
 */
void
smtp_session_deadline(struct smtp_session *s, unsigned seconds)
{
	struct timeval tv = {seconds, 0};
	evtimer_add(s->deadline, &tv);
}

static bool
flushed(struct smtp_session *s)
{
	return bev_flushed(s->bev);
}

/* state_doing - what a lost or timed-out session was doing, for logs. */
static const char *
state_doing(const struct smtp_session *s)
{
	return s->state == SMTP_STATE_DATA   ? "DATA"
	       : s->state == SMTP_STATE_BDAT ? "BDAT"
					     : "command";
}

/* How long (in 20 ms steps) a closing session waits for its flush. */
#define SMTP_CLOSE_POLLS 250

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)fd;
	(void)what;
	if (s->state == SMTP_STATE_CLOSING) {
		if (flushed(s) || ++s->close_polls > SMTP_CLOSE_POLLS) {
			smtp_session_free(s);
			return;
		}
		struct timeval tv = {0, 20000};
		evtimer_add(s->deadline, &tv);
		return;
	}
	if (s->state == SMTP_STATE_AUTH && s->auth_job == NULL) {
		/* The delay after a failed AUTH is over. */
		s->state = SMTP_STATE_READY;
		smtp_reply(s, 535, "5.7.8",
			   "Authentication credentials invalid");
		smtp_session_resume(s);
		return;
	}
	if (s->state == SMTP_STATE_COMMIT || s->state == SMTP_STATE_AUTH ||
	    s->state == SMTP_STATE_MAUTH) {
		/* Our own work is pending, not the client's. */
		smtp_session_deadline(s, s->srv->cfg->smtp_timeout);
		return;
	}
	log_info("%s%s[%s]: timeout after %s", s->env.id,
		 s->env.id[0] != '\0' ? ": from " : "", s->addr,
		 state_doing(s));
	/* RFC 5321 §4.5.3.2: the server may close after a timeout; 421
	 * tells the client why. */
	smtp_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
		   s->srv->cfg->hostname);
	smtp_session_close_after_reply(s);
}

/* --- the transaction --- */

void
smtp_transaction_reset(struct smtp_session *s)
{
	if (s->mauth)
		mauth_session_rset(s->mauth);
	smtp_msg_discard(s);
	queue_envelope_free(&s->env);
	s->n_rcpt_ok = 0;
	s->n_rcpt_failed = 0;
	s->body = SMTP_BODY_NONE;
	s->smtputf8 = false;
	s->data_size = 0;
	s->too_big = false;
	s->write_errno = 0;
	s->bdat = false;
	s->bdat_total = 0;
	if (s->state & (SMTP_STATE_MAIL | SMTP_STATE_RCPT | SMTP_STATE_DATA))
		s->state = SMTP_STATE_READY;
}

/* --- command handlers --- */

static void
ehlo_reply(struct smtp_session *s, bool esmtp)
{
	const struct config *cfg = s->srv->cfg;
	if (!esmtp) {
		smtp_reply(s, 250, NULL, "%s", cfg->hostname);
		return;
	}
	smtp_reply(s, -250, NULL, "%s Hello %s [%s]", cfg->hostname, s->helo,
		   s->addr);
	smtp_reply(s, -250, NULL, "PIPELINING");
	smtp_reply(s, -250, NULL, "SIZE %" PRIu64, cfg->max_message_size);
	if (cfg->smtp_vrfy_expn)
		smtp_reply(s, -250, NULL, "VRFY");
	smtp_reply(s, -250, NULL, "ENHANCEDSTATUSCODES");
	smtp_reply(s, -250, NULL, "DSN");	 /* RFC 3461 */
	smtp_reply(s, -250, NULL, "SMTPUTF8");	 /* RFC 6531 */
	smtp_reply(s, -250, NULL, "CHUNKING");	 /* RFC 3030 */
	smtp_reply(s, -250, NULL, "BINARYMIME"); /* RFC 3030 §3 */
	/* RFC 3207: STARTTLS until TLS is on; RFC 4954: AUTH only once it
	 * is, so no password ever crosses the wire in clear. */
	if (!s->tls && s->srv->tls_server != NULL)
		smtp_reply(s, -250, NULL, "STARTTLS");
	if (s->tls && !s->authenticated)
		smtp_reply(s, -250, NULL, "AUTH PLAIN LOGIN");
	smtp_reply(s, 250, NULL, "8BITMIME");
}

static void
cmd_helo(struct smtp_session *s, const struct smtp_command *c)
{
	if (c->args_len == 0) {
		smtp_reply(s, 501, "5.5.4", "Syntax: %s hostname",
			   smtp_verb_name(c->verb));
		return;
	}
	size_t n = c->args_len < sizeof(s->helo) - 1 ? c->args_len
						     : sizeof(s->helo) - 1;
	/* Only printable ASCII goes into logs and the Received: line. */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c->args[i];
		s->helo[i] = ch > 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	s->helo[n] = '\0';
	/* RFC 5321 §4.1.4: EHLO/HELO also resets any transaction. */
	smtp_transaction_reset(s);
	mauth_session_helo(s->mauth, s->helo, smtp_mauth_checked(s));
	s->esmtp = c->verb == SMTP_VERB_EHLO;
	s->state = SMTP_STATE_READY;
	ehlo_reply(s, s->esmtp);
}

static void
cmd_mail(struct smtp_session *s, const struct smtp_command *c)
{
	const struct config *cfg = s->srv->cfg;
	struct smtp_mail_args args;
	struct smtp_parse_error e;
	char sender[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];

	if (s->role != SMTP_ROLE_MX && !s->authenticated) {
		/* RFC 6409 §4.3 / RFC 8314: submission needs AUTH. */
		smtp_reply(s, 530, "5.7.0", "Authentication required");
		return;
	}
	if (smtp_parse_mail(c->args, c->args_len, &args, &e) < 0) {
		reply_error(s, &e);
		return;
	}
	/* RFC 1870 §6.2: refuse at once a message declared too big. */
	if (args.has_size && args.size > cfg->max_message_size) {
		smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
		return;
	}
	if (args.path.utf8 && !args.smtputf8) {
		/* RFC 6531 §3.5: a UTF-8 address needs SMTPUTF8. */
		smtp_reply(s, 553, "5.6.7",
			   "Non-ASCII sender address needs SMTPUTF8");
		return;
	}
	if (args.path.null_path)
		sender[0] = '\0';
	else if (smtp_addr_format(&args.path, sender, sizeof(sender)) < 0) {
		smtp_reply(s, 501, "5.1.7", "Bad sender address syntax");
		return;
	}
	if (s->authenticated && !smtp_sender_owned(s, sender)) {
		log_warn("[%s]: sender <%s> refused: not owned by "
			 "sasl_username=%s",
			 s->addr, sender, s->auth_user);
		smtp_reply(s, 553, "5.7.1",
			   "<%s>: Sender address rejected: not owned by user "
			   "%s",
			   sender, s->auth_user);
		return;
	}
	smtp_transaction_reset(s);
	queue_id_new(s->env.id);
	s->env.sender = xstrdup(sender);
	s->env.client = xstrdup(s->addr);
	s->env.helo = xstrdup(s->helo);
	s->env.arrival = time(NULL);
	s->body = args.body;
	s->smtputf8 = args.smtputf8;
	/* What the queue keeps of MAIL's parameters (RFC 3461, 6531). */
	s->env.body = (enum queue_body)args.body;
	s->env.smtputf8 = args.smtputf8 ? QUEUE_UTF8_REQUESTED : 0;
	s->env.ret = (enum queue_ret)args.ret;
	s->env.envid = args.has_envid ? xstrdup(args.envid) : NULL;
	s->declared_size = args.has_size ? args.size : 0;
	s->state = SMTP_STATE_MAIL;
	mauth_session_mail(s->mauth, sender, smtp_mauth_checked(s));
	log_info("%s: client=[%s], helo=%s, from=<%s>", s->env.id, s->addr,
		 s->helo, sender);
	smtp_reply(s, 250, "2.1.0", "Ok");
}

/* add_target - one final destination, once per transaction, with the
 * RCPT's DSN request (RFC 3461 §4.1, §4.2). */
static void
add_target(struct smtp_session *s, const struct directory_target *t,
	   const char *orcpt, const struct smtp_rcpt_args *args)
{
	for (size_t i = 0; i < s->env.n_rcpts; i++)
		if (strcasecmp(s->env.rcpts[i].address, t->address) == 0)
			return;
	struct queue_rcpt *r = queue_envelope_add_rcpt(
	    &s->env, t->address, orcpt, t->local, t->domain, t->localpart);
	r->notify = args->notify;
	r->dsn_orcpt = args->orcpt[0] != '\0' ? xstrdup(args->orcpt) : NULL;
}

/*
 * rcpt_resolve - decide a recipient at RCPT time: local user, alias,
 * relay or refusal. Returns the reply code it answered with.
 */
static int
rcpt_resolve(struct smtp_session *s, const struct smtp_rcpt_args *args,
	     const char *rcpt)
{
	const struct smtp_path *p = &args->path;
	struct server *srv = s->srv;
	struct directory_targets t = {0};
	char address[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];

	if (p->postmaster_only) {
		/* RFC 5321 §4.5.1: <postmaster> with no domain is always
		 * accepted; it means this server's postmaster. */
		snprintf(address, sizeof(address), "postmaster@%s",
			 srv->cfg->hostname);
	} else {
		snprintf(address, sizeof(address), "%s", rcpt);
	}
	enum directory_result r = directory_expand(srv->dir, address, &t);
	if (r == DIRECTORY_NOT_LOCAL && p->postmaster_only) {
		struct directory_target pm = {
		    .address = address,
		    .local = true,
		    .domain = srv->cfg->hostname,
		    .localpart = (char *)"postmaster",
		};
		add_target(s, &pm, rcpt, args);
		directory_targets_free(&t);
		smtp_reply(s, 250, "2.1.5", "Ok");
		return 250;
	}
	switch (r) {
	case DIRECTORY_OK: {
		/* A full mailbox: 452 4.2.2, or 552 5.2.2 if the declared
		 * size cannot fit (store/quota.h). */
		struct quota_reply q;
		quota_rcpt(srv->dir, srv->cfg->data_dir, &t, s->declared_size,
			   &q);
		if (q.code != 0) {
			smtp_reply(s, q.code, q.enh, "<%s>: %s", rcpt, q.text);
			directory_targets_free(&t);
			return q.code;
		}
		for (size_t i = 0; i < t.n; i++)
			add_target(s, &t.items[i], rcpt, args);
		smtp_reply(s, 250, "2.1.5", "Ok");
		break;
	}
	case DIRECTORY_NOT_LOCAL:
		/* An address literal, '%', '!' or a source route never gets
		 * here for a local name: the parser keeps only the final
		 * mailbox, and relaying is decided by the client alone. */
		if (!s->relay_client && !s->authenticated) {
			directory_targets_free(&t);
			smtp_reply(s, 554, "5.7.1", "<%s>: Relay access denied",
				   rcpt);
			return 554;
		}
		for (size_t i = 0; i < t.n; i++)
			add_target(s, &t.items[i], rcpt, args);
		smtp_reply(s, 250, "2.1.5", "Ok");
		break;
	case DIRECTORY_NO_SUCH_USER:
		smtp_reply(s, 550, "5.1.1",
			   "<%s>: Recipient address rejected: User unknown",
			   rcpt);
		break;
	case DIRECTORY_LOOP:
		smtp_reply(s, 550, "5.4.6", "<%s>: Alias expansion loop", rcpt);
		break;
	case DIRECTORY_TEMPFAIL:
	default:
		smtp_reply(s, 451, "4.3.0",
			   "<%s>: Temporary lookup failure, try again later",
			   rcpt);
		break;
	}
	directory_targets_free(&t);
	return r == DIRECTORY_OK || r == DIRECTORY_NOT_LOCAL ? 250 : 550;
}

static void
cmd_rcpt(struct smtp_session *s, const struct smtp_command *c)
{
	struct smtp_rcpt_args args;
	struct smtp_parse_error e;
	char rcpt[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];

	if (s->n_rcpt_ok >= s->srv->cfg->max_recipients) {
		/* RFC 5321 §4.5.3.1.10: 452 for too many recipients. */
		smtp_reply(s, 452, "4.5.3", "Too many recipients");
		return;
	}
	if (s->bdat) {
		/* RFC 3030 §2: after BDAT only BDAT (or RSET) belongs. */
		smtp_reply(s, 503, "5.5.1", "RCPT not allowed after BDAT");
		return;
	}
	if (smtp_parse_rcpt(c->args, c->args_len, &args, &e) < 0) {
		s->n_rcpt_failed++;
		reply_error(s, &e);
		return;
	}
	if (args.path.utf8 && !s->smtputf8) {
		/* RFC 6531 §3.5 */
		s->n_rcpt_failed++;
		smtp_reply(s, 553, "5.6.7",
			   "Non-ASCII recipient address needs SMTPUTF8");
		return;
	}
	if (args.path.postmaster_only)
		snprintf(rcpt, sizeof(rcpt), "postmaster");
	else if (smtp_addr_format(&args.path, rcpt, sizeof(rcpt)) < 0) {
		s->n_rcpt_failed++;
		smtp_reply(s, 501, "5.1.3", "Bad recipient address syntax");
		return;
	}
	if (rcpt_resolve(s, &args, rcpt) == 250) {
		s->n_rcpt_ok++;
		s->state = SMTP_STATE_RCPT;
	} else {
		s->n_rcpt_failed++;
		log_info("%s: reject: RCPT from [%s]: <%s>", s->env.id, s->addr,
			 rcpt);
	}
}

static void
cmd_data(struct smtp_session *s, const struct smtp_command *c)
{
	if (c->args_len != 0) {
		smtp_reply(s, 501, "5.5.4", "Syntax: DATA");
		return;
	}
	if (s->bdat) {
		/* RFC 3030 §2: DATA and BDAT do not mix in a transaction. */
		smtp_reply(s, 503, "5.5.1", "DATA not allowed after BDAT");
		return;
	}
	if (s->state != SMTP_STATE_RCPT) {
		/* RFC 2920 §3.1 / RFC 5321 §3.3: no valid recipients, so
		 * no DATA, even when pipelined after failed RCPTs. */
		if (s->n_rcpt_failed > 0)
			smtp_reply(s, 554, "5.5.1", "No valid recipients");
		else
			smtp_reply(s, 503, "5.5.1", "Need RCPT command first");
		return;
	}
	if (s->body == SMTP_BODY_BINARYMIME) {
		/* RFC 3030 §3: binary data has no line structure to
		 * dot-stuff; it can only come by BDAT. */
		smtp_reply(s, 503, "5.5.1", "BODY=BINARYMIME requires BDAT");
		return;
	}
	/* The Received: line names the client's verified host name: wait
	 * for the reverse DNS if it is not in yet (smtp_mauth.c). */
	smtp_mauth_data(s);
}

/* smtp_data_begin - DATA goes ahead: the spool file, then 354. */
void
smtp_data_begin(struct smtp_session *s)
{
	if (smtp_msg_begin(s) < 0) {
		smtp_reply(s, 451, "4.3.0", "Local error in processing");
		return;
	}
	smtp_dot_init(&s->dot);
	s->state = SMTP_STATE_DATA;
	smtp_session_deadline(s, s->srv->cfg->smtp_data_timeout);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void
cmd_rset(struct smtp_session *s, const struct smtp_command *c)
{
	(void)c;
	smtp_transaction_reset(s);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_noop(struct smtp_session *s, const struct smtp_command *c)
{
	(void)c;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

static void
cmd_quit(struct smtp_session *s, const struct smtp_command *c)
{
	(void)c;
	smtp_reply(s, 221, "2.0.0", "Bye");
	smtp_session_close_after_reply(s);
}

static void
cmd_help(struct smtp_session *s, const struct smtp_command *c)
{
	(void)c;
	smtp_reply(s, -214, "2.0.0", "petrel ESMTP. Commands:");
	smtp_reply(s, -214, "2.0.0",
		   "HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT");
	smtp_reply(s, 214, "2.0.0", "HELP VRFY EXPN STARTTLS AUTH");
}

/* parse_vrfy_arg - "<a@b>", "a@b" or a bare local name. */
static int
parse_vrfy_arg(struct smtp_session *s, const struct smtp_command *c,
	       char *address, size_t len)
{
	struct smtp_path p;
	size_t used;
	if (c->args_len == 0)
		return -1;
	/* RFC 5321 §3.5.1: VRFY may name a bare user: the one here at our
	 * host name, as for <postmaster>. */
	bool bare = memchr(c->args, '@', c->args_len) == NULL &&
		    c->args[0] != '<' && c->args_len <= SMTP_LOCAL_MAX;
	if (bare) {
		char mailbox[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];
		snprintf(mailbox, sizeof(mailbox), "%.*s@%s", (int)c->args_len,
			 c->args, s->srv->cfg->hostname);
		if (smtp_addr_parse_mailbox(mailbox, strlen(mailbox), &p) < 0)
			return -1;
		return smtp_addr_format(&p, address, len) < 0 ? -1 : 0;
	}
	if (smtp_addr_parse_path(c->args, c->args_len,
				 SMTP_ADDR_ALLOW_NO_BRACKETS |
				     SMTP_ADDR_ALLOW_POSTMASTER,
				 &p, &used) < 0 ||
	    used != c->args_len)
		return -1;
	if (p.postmaster_only)
		snprintf(address, len, "postmaster@%s", s->srv->cfg->hostname);
	else if (smtp_addr_format(&p, address, len) < 0)
		return -1;
	return 0;
}

static void
cmd_vrfy_expn(struct smtp_session *s, const struct smtp_command *c)
{
	char address[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];
	bool expn = c->verb == SMTP_VERB_EXPN;

	if (c->args_len == 0) {
		/* RFC 5321 §4.1.1.6: VRFY takes a string; none is a syntax
		 * error whatever the policy. */
		smtp_reply(s, 501, "5.5.4", "Syntax: %s address",
			   smtp_verb_name(c->verb));
		return;
	}
	if (!s->srv->cfg->smtp_vrfy_expn) {
		/* RFC 5321 §3.5.3: 252 when VRFY is turned off by policy;
		 * EXPN may be refused outright. */
		if (expn)
			smtp_reply(s, 502, "5.5.1", "Command not implemented");
		else
			smtp_reply(s, 252, "2.5.2",
				   "Cannot VRFY user, but will accept message "
				   "and attempt delivery");
		return;
	}
	if (parse_vrfy_arg(s, c, address, sizeof(address)) < 0) {
		smtp_reply(s, 501, "5.5.4", "Syntax: %s address",
			   smtp_verb_name(c->verb));
		return;
	}
	struct directory_targets t = {0};
	enum directory_result r = directory_expand(s->srv->dir, address, &t);
	if (r == DIRECTORY_OK) {
		if (!expn) {
			smtp_reply(s, 250, "2.1.5", "<%s>", address);
		} else {
			for (size_t i = 0; i < t.n; i++)
				smtp_reply(s, i + 1 < t.n ? -250 : 250, "2.1.5",
					   "<%s>", t.items[i].address);
		}
	} else if (r == DIRECTORY_NOT_LOCAL) {
		smtp_reply(s, 252, "2.5.2", "Not a local address: <%s>",
			   address);
	} else if (r == DIRECTORY_TEMPFAIL) {
		smtp_reply(s, 451, "4.3.0", "Temporary lookup failure");
	} else if (r == DIRECTORY_LOOP) {
		smtp_reply(s, 550, "5.4.6", "<%s>: Alias expansion loop",
			   address);
	} else {
		smtp_reply(s, 550, "5.1.1", "<%s>: User unknown", address);
	}
	directory_targets_free(&t);
}

static void session_setup_bev(struct smtp_session *s);

/*
 * cmd_starttls - RFC 3207. Whatever the client sent after STARTTLS in the
 * same packet is thrown away unread (CVE-2011-0411: plaintext pipelined
 * after STARTTLS must never run inside the TLS session), the socket's
 * bufferevent is wrapped in an OpenSSL filter, and the session starts
 * over: no HELO, no transaction, EHLO required.
 */
static void
cmd_starttls(struct smtp_session *s, const struct smtp_command *c)
{
	if (s->tls) {
		smtp_reply(s, 503, "5.5.1", "TLS already active");
		return;
	}
	if (c->args_len != 0) {
		smtp_reply(s, 501, "5.5.4", "Syntax: STARTTLS");
		return;
	}
	SSL *ssl = s->srv->tls_server ? SSL_new(s->srv->tls_server) : NULL;
	if (ssl == NULL) {
		smtp_reply(s, 454, "4.7.0", "TLS not available");
		return;
	}
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t dropped = evbuffer_get_length(in);
	if (dropped > 0) {
		log_warn("[%s]: discarded %zu bytes pipelined after "
			 "STARTTLS",
			 s->addr, dropped);
		evbuffer_drain(in, dropped);
	}
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    s->srv->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		smtp_session_close_after_reply(s);
		return;
	}
	s->bev = tls;
	s->tls = true;
	s->line_overflow = false;
	smtp_transaction_reset(s);
	s->state = SMTP_STATE_GREETED;
	s->esmtp = false;
	snprintf(s->helo, sizeof(s->helo), "unknown");
	session_setup_bev(s);
}

/*
 * The command table: which states each verb is legal in. The dispatcher
 * checks legality once, so handlers do not. The unknown verb is the
 * sentinel row.
 */
static const struct smtp_cmd_def smtp_commands[] = {
    {SMTP_VERB_HELO, SMTP_STATES_ANY, cmd_helo},
    {SMTP_VERB_EHLO, SMTP_STATES_ANY, cmd_helo},
    {SMTP_VERB_MAIL, SMTP_STATE_READY, cmd_mail},
    {SMTP_VERB_RCPT, SMTP_STATE_MAIL | SMTP_STATE_RCPT, cmd_rcpt},
    {SMTP_VERB_DATA, SMTP_STATE_MAIL | SMTP_STATE_RCPT, cmd_data},
    {SMTP_VERB_RSET, SMTP_STATES_ANY, cmd_rset},
    {SMTP_VERB_NOOP, SMTP_STATES_ANY, cmd_noop},
    {SMTP_VERB_QUIT, SMTP_STATES_ANY, cmd_quit},
    {SMTP_VERB_HELP, SMTP_STATES_ANY, cmd_help},
    {SMTP_VERB_VRFY, SMTP_STATES_ANY, cmd_vrfy_expn},
    {SMTP_VERB_EXPN, SMTP_STATES_ANY, cmd_vrfy_expn},
    {SMTP_VERB_STARTTLS, SMTP_STATES_ANY, cmd_starttls},
    {SMTP_VERB_AUTH, SMTP_STATES_ANY, smtp_auth_cmd},
    /* Legal anywhere: its octets must be read even when refused. */
    {SMTP_VERB_BDAT, SMTP_STATES_ANY, smtp_bdat_cmd},
    {SMTP_VERB_UNKNOWN, 0, NULL},
};

/* bad_sequence - the 503 for a verb used in the wrong state. */
static void
bad_sequence(struct smtp_session *s, enum smtp_verb verb)
{
	if (s->state == SMTP_STATE_GREETED &&
	    (verb == SMTP_VERB_MAIL || verb == SMTP_VERB_RCPT ||
	     verb == SMTP_VERB_DATA))
		smtp_reply(s, 503, "5.5.1", "Send HELO/EHLO first");
	else if (verb == SMTP_VERB_MAIL)
		smtp_reply(s, 503, "5.5.1", "Nested MAIL command");
	else if (verb == SMTP_VERB_RCPT)
		smtp_reply(s, 503, "5.5.1", "Need MAIL command first");
	else
		smtp_reply(s, 503, "5.5.1", "Need MAIL command first");
}

static void
smtp_session_command(struct smtp_session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	struct smtp_parse_error e;

	if (smtp_parse_command(line, len, &cmd, &e) < 0) {
		reply_error(s, &e);
		return;
	}
	const struct smtp_cmd_def *def = smtp_commands;
	while (def->verb != SMTP_VERB_UNKNOWN && def->verb != cmd.verb)
		def++;
	if (def->handler == NULL) {
		smtp_reply(s, 500, "5.5.1", "Command unrecognized");
		return;
	}
	if (!(def->states & s->state)) {
		if (def->verb == SMTP_VERB_DATA && s->n_rcpt_failed > 0 &&
		    s->state == SMTP_STATE_MAIL)
			def->handler(s, &cmd); /* answers 554 */
		else
			bad_sequence(s, cmd.verb);
		return;
	}
	def->handler(s, &cmd);
}

/* --- DATA --- */

/*
 * smtp_session_data - feed buffered input through the dot decoder into
 * the spool file. Returns true if it made progress and should be called
 * again (more input, or the message ended).
 */
static bool
smtp_session_data(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	static char out[SMTP_MSG_CHUNK + 4];
	struct evbuffer_iovec v;

	if (evbuffer_peek(in, SMTP_MSG_CHUNK, NULL, &v, 1) < 1 ||
	    v.iov_len == 0)
		return false;
	size_t inlen = v.iov_len < SMTP_MSG_CHUNK ? v.iov_len : SMTP_MSG_CHUNK;
	size_t outlen, consumed;
	enum smtp_dot_status st = smtp_dot_decode(&s->dot, v.iov_base, inlen,
						  out, &outlen, &consumed);
	evbuffer_drain(in, consumed);
	smtp_msg_write(s, out, outlen);
	if (st == SMTP_DOT_DONE)
		smtp_msg_end(s);
	return true;
}

/* --- input --- */

static void
smtp_session_process(struct smtp_session *s)
{
	static char line[SMTP_AUTH_LINE_MAX + 1];

	while (s->state != SMTP_STATE_CLOSING &&
	       s->state != SMTP_STATE_COMMIT && s->state != SMTP_STATE_AUTH &&
	       s->state != SMTP_STATE_MAUTH) {
		if (s->errors > s->srv->cfg->max_errors) {
			log_info("[%s]: too many errors, disconnecting",
				 s->addr);
			smtp_reply(s, 421, "4.7.0", "%s Error: too many errors",
				   s->srv->cfg->hostname);
			smtp_session_close_after_reply(s);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    SMTP_OUTPUT_HIGH) {
			/* The client is not reading our replies: wait for
			 * the output to drain before doing more work. */
			s->paused = true;
			return;
		}
		if (s->state == SMTP_STATE_DATA) {
			if (!smtp_session_data(s))
				return;
			continue;
		}
		if (s->state == SMTP_STATE_BDAT) {
			if (!smtp_bdat_data(s))
				return;
			continue;
		}
		/* Fetched each time: STARTTLS replaces the bufferevent. */
		struct evbuffer *in = bufferevent_get_input(s->bev);
		size_t len;
		enum line_status st = line_read(in, line, SMTP_AUTH_LINE_MAX,
						&len, &s->line_overflow);
		if (st == LINE_NONE)
			return;
		smtp_session_deadline(s, s->srv->cfg->smtp_timeout);
		/* Only AUTH and its SASL responses may use the longer
		 * limit; every other command keeps RFC 5321's. */
		if (st == LINE_TOO_LONG ||
		    (len > SMTP_LINE_MAX && s->sasl == SMTP_SASL_NONE &&
		     strncasecmp(line, "AUTH ", 5) != 0)) {
			s->sasl = SMTP_SASL_NONE;
			smtp_reply(s, 500, "5.5.2", "Line too long");
			continue;
		}
		if (s->sasl != SMTP_SASL_NONE)
			smtp_auth_continue(s, line, len);
		else
			smtp_session_command(s, line, len);
		explicit_bzero(line, len);
		if (s->shutdown && s->state != SMTP_STATE_CLOSING &&
		    s->state != SMTP_STATE_COMMIT &&
		    s->state != SMTP_STATE_DATA &&
		    s->state != SMTP_STATE_BDAT) {
			smtp_reply(s, 421, "4.3.2", "%s Service shutting down",
				   s->srv->cfg->hostname);
			smtp_session_close_after_reply(s);
			return;
		}
	}
}

void
smtp_session_resume(struct smtp_session *s)
{
	smtp_session_process(s);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	smtp_session_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;
	(void)bev;
	if (s->state == SMTP_STATE_CLOSING) {
		if (flushed(s)) {
			smtp_session_free(s);
		} else if (evbuffer_get_length(
			       bufferevent_get_output(s->bev)) == 0) {
			/* TLS: poll until the socket layer is empty too. */
			struct timeval tv = {0, 20000};
			evtimer_add(s->deadline, &tv);
		}
		return;
	}
	if (s->paused) {
		s->paused = false;
		smtp_session_process(s);
	}
}

/*
 * tls_error - a TLS failure (a refused handshake: TLS 1.1, no shared
 * cipher; a bad record). Log it with the address, as for every refusal,
 * and after STARTTLS push out what OpenSSL queued for the client (its
 * alert, e.g. protocol_version) from the socket layer beneath the filter,
 * which would otherwise be freed unsent: the client would only see EOF.
 */
static void
tls_error(struct smtp_session *s)
{
	unsigned long e, first = 0;
	while ((e = bufferevent_get_openssl_error(s->bev)) != 0)
		if (first == 0)
			first = e;
	const char *why = first != 0 ? ERR_reason_error_string(first) : NULL;
	log_info("[%s]: TLS error: %s", s->addr,
		 why != NULL ? why : "connection failed");
	struct bufferevent *under = bufferevent_get_underlying(s->bev);
	if (under == NULL)
		return;
	/* A plain, non-blocking send: evbuffer_write() on this buffer
	 * returns -1 at this point, and the session is freed next. */
	struct evbuffer *out = bufferevent_get_output(under);
	size_t n = evbuffer_get_length(out);
	unsigned char *bytes = n > 0 ? evbuffer_pullup(out, -1) : NULL;
	if (bytes != NULL)
		(void)send(bufferevent_getfd(under), bytes, n,
			   MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		/* Inside a transaction the line is about a message, so it
		 * starts with its queue id, like every other such line. */
		log_info("%s%s[%s]: timeout after %s%s", s->env.id,
			 s->env.id[0] != '\0' ? ": from " : "", s->addr,
			 state_doing(s),
			 what & BEV_EVENT_WRITING ? " (client not reading)"
						  : "");
		if ((what & BEV_EVENT_WRITING) ||
		    s->state == SMTP_STATE_CLOSING) {
			/* Our output has not moved for a whole timeout: the
			 * client reads nothing, so a 421 would never reach
			 * it, and libevent has just disabled writing, so
			 * waiting for the flush would keep the session (and
			 * its per-address slot) forever. Drop it now. */
			if (s->state == SMTP_STATE_DATA ||
			    s->state == SMTP_STATE_BDAT)
				log_info("%s: lost connection after %s "
					 "from [%s]",
					 s->env.id, state_doing(s), s->addr);
			smtp_session_free(s);
			return;
		}
		/* RFC 5321 §4.5.3.2: the server may close after a timeout;
		 * 421 tells the client why. */
		smtp_reply(s, 421, "4.4.2", "%s Error: timeout exceeded",
			   s->srv->cfg->hostname);
		smtp_session_close_after_reply(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT)
			log_info("%s: lost connection after %s from [%s]",
				 s->env.id, state_doing(s), s->addr);
		if (s->tls && (what & BEV_EVENT_ERROR))
			tls_error(s);
		smtp_session_free(s);
	}
}

/* --- life cycle --- */

static void
smtp_session_free(struct smtp_session *s)
{
	struct server *srv = s->srv;

	if (s->job != NULL)
		s->job->arg = NULL; /* it completes without us */
	log_debug("disconnect from [%s]", s->addr);
	smtp_auth_detach(s);
	mauth_session_free(&s->mauth);
	event_free(s->deadline);
	smtp_msg_discard(s);
	queue_envelope_free(&s->env);
	conn_limit_release(srv->per_ip, s->addr);
	bufferevent_free(s->bev);
	server_session_remove(srv, &s->link);
	free(s);
}

/* refuse - answer 421 on a socket we will not serve, and close it. */
static void
refuse(int fd, const char *hostname, const char *why)
{
	char msg[256];
	int n =
	    snprintf(msg, sizeof(msg), "421 4.7.0 %s %s\r\n", hostname, why);
	ssize_t w = send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;
	close(fd);
}

/* session_setup_bev - callbacks, limits and timeouts of s->bev. */
static void
session_setup_bev(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_INPUT_HIGH);
	bufferevent_setwatermark(s->bev, EV_WRITE, SMTP_OUTPUT_HIGH / 4, 0);
	/* Reading is bounded by the session's deadline; writing by this. */
	struct timeval tv = {s->srv->cfg->smtp_timeout, 0};
	bufferevent_set_timeouts(s->bev, NULL, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
session_accept(struct server *srv, int fd, const struct sockaddr *sa,
	       enum smtp_role role)
{
	const struct config *cfg = srv->cfg;
	char addr[INET6_ADDRSTRLEN];
	bool relay = false;
	const char *why = server_admit(srv, sa, addr, sizeof(addr), &relay);
	if (why != NULL) {
		refuse(fd, cfg->hostname, why);
		return;
	}

	struct smtp_session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->role = role;
	s->spool_fd = -1;
	s->relay_client = relay;
	s->state = SMTP_STATE_GREETED;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	snprintf(s->helo, sizeof(s->helo), "unknown");
	s->tls = role == SMTP_ROLE_SMTPS;
	s->bev = server_bev_new(srv, fd, s->tls);
	if (s->bev == NULL) {
		server_release(srv, addr);
		close(fd);
		free(s);
		return;
	}
	s->deadline = evtimer_new(srv->base, deadline_cb, s);
	/* The reverse DNS starts now; it is wanted at DATA at the latest. */
	s->mauth = mauth_session_new(srv->base, srv->dns, cfg, sa);
	server_session_add(srv, &s->link, &smtp_proto, s);

	session_setup_bev(s);
	smtp_session_deadline(s, cfg->smtp_timeout);
	log_debug("connect from [%s]", addr);
	smtp_reply(s, 220, NULL, "%s ESMTP petrel", cfg->hostname);
}

void
smtp_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		   void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, SMTP_ROLE_MX);
}

void
smtp_submission_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		       void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, SMTP_ROLE_SUBMISSION);
}

void
smtps_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, SMTP_ROLE_SMTPS);
}

static void
smtp_session_shutdown(void *arg)
{
	struct smtp_session *s = arg;

	s->shutdown = true;
	if (s->state == SMTP_STATE_COMMIT || s->state == SMTP_STATE_CLOSING)
		return;
	if (s->state == SMTP_STATE_MAUTH) {
		/* Nothing was promised yet: the checks are dropped. */
		mauth_session_abort(s->mauth);
		smtp_transaction_reset(s);
	}
	s->sasl = SMTP_SASL_NONE;
	smtp_reply(s, 421, "4.3.2", "%s Service shutting down",
		   s->srv->cfg->hostname);
	smtp_session_close_after_reply(s);
}

static void
smtp_session_destroy(void *arg)
{
	smtp_session_free(arg);
}
