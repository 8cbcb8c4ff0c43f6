#include "pop3/pop3_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth_limit.h"
#include "auth/sasl.h"
#include "conf/config.h"
#include "net/bev.h"
#include "net/conn_limit.h"
#include "net/line_reader.h"
#include "pop3/pop3_parse.h"
#include "server.h"
#include "smtp/smtp_addr.h"
#include "smtp/smtp_dot.h"
#include "store/mailbox.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/* RFC 2449 §4 allows 255 octets for commands; SASL responses (RFC 5034
 * §4) may be longer, so the reader's limit is generous. */
#define POP3_READ_MAX	 1024
#define POP3_CHUNK	 65536
#define POP3_OUTPUT_HIGH (256 * 1024)
/* RFC 1939 §3: the autologout timer must be at least 10 minutes. */
#define POP3_TIMEOUT	       600
#define POP3_AUTH_DELAY	       1 /* seconds before answering a failed login */
#define POP3_MAX_AUTH_FAILURES 3
#define POP3_MAX_ERRORS	       20
#define POP3_USER_MAX	       (SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2)

enum pop3_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_AUTH_WAIT, /* password check / delay in progress */
	POP3_STATE_SASL,      /* waiting for an AUTH PLAIN response */
	POP3_STATE_TRANSACTION,
	POP3_STATE_SENDING, /* RETR/TOP streaming */
	POP3_STATE_CLOSING,
};

struct pop3_auth_job;

struct pop3_session {
	struct server *srv;
	struct bufferevent *bev;
	struct server_session link; /* in the server's session list */
	enum pop3_state state;
	char addr[INET6_ADDRSTRLEN];
	bool line_overflow;
	bool tls;	      /* STLS done, or POP3S */
	unsigned close_polls; /* closing: waits for the flush */
	unsigned errors;
	unsigned auth_failures;
	char user[POP3_USER_MAX + 1];
	bool have_user;
	struct pop3_auth_job *auth;
	struct event *delay_ev;

	/* TRANSACTION */
	struct mailbox *mb;
	int lock_fd;
	bool *deleted;

	/* RETR / TOP streaming */
	int send_fd;
	uint64_t send_off, send_size;
	bool send_line_start; /* dot-stuffer state */
	bool send_last_lf;    /* last byte sent was LF */
	long top_lines;	      /* -1: whole message; else body lines left */
	int top_hdr;	      /* TOP: bytes of CRLFCRLF matched; 4 = body */
};

struct pop3_auth_job {
	struct pop3_session *s; /* NULL once the session is gone */
	char data_dir[PATH_MAX];
	char user[POP3_USER_MAX + 1];
	char pass[256];
	int result; /* 1 ok, 0 bad, -1 error */
	bool in_use;
	char err[256];
	struct mailbox *mb;
	int lock_fd;
};

static void pop3_session_process(struct pop3_session *s);
static void pop3_session_free(struct pop3_session *s);
static void pop3_session_shutdown(void *arg);
static void pop3_session_destroy(void *arg);

static const struct server_proto pop3_proto = {
    "pop3",
    pop3_session_shutdown,
    pop3_session_destroy,
};

/* --- replies --- */

static void __attribute__((format(printf, 2, 3)))
ok(struct pop3_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;
	evbuffer_add(out, "+OK ", 4);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

static void __attribute__((format(printf, 2, 3)))
err(struct pop3_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	va_list ap;
	evbuffer_add(out, "-ERR ", 5);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	s->errors++;
}

static void
close_after_reply(struct pop3_session *s)
{
	s->state = POP3_STATE_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
}

/* --- authorization --- */

static void
auth_work(void *arg)
{
	struct pop3_auth_job *j = arg;
	char mbox[PATH_MAX];

	j->lock_fd = -1;
	j->result = auth_check_password(j->data_dir, j->user, j->pass);
	explicit_bzero(j->pass, sizeof(j->pass));
	if (j->result != 1)
		return;
	if (auth_mailbox_of(j->data_dir, j->user, mbox, sizeof(mbox)) < 0) {
		j->result = -1;
		snprintf(j->err, sizeof(j->err), "bad mailbox name");
		return;
	}
	j->mb = mailbox_open(mbox, j->err, sizeof(j->err));
	if (j->mb == NULL) {
		j->result = -1;
		return;
	}
	j->lock_fd = mailbox_lock_exclusive(mbox);
	if (j->lock_fd < 0) {
		if (errno == EWOULDBLOCK)
			j->in_use = true;
		else
			snprintf(j->err, sizeof(j->err), "lock: %s",
				 strerror(errno));
		mailbox_free(&j->mb);
		j->result = -1;
		return;
	}
	/* Sync once more under the lock: the snapshot this session works
	 * on is the one no other POP3 session can change. */
	mailbox_free(&j->mb);
	j->mb = mailbox_open(mbox, j->err, sizeof(j->err));
	if (j->mb == NULL) {
		close(j->lock_fd);
		j->lock_fd = -1;
		j->result = -1;
	}
}

static void
auth_fail_reply(evutil_socket_t fd, short what, void *arg)
{
	struct pop3_session *s = arg;
	(void)fd;
	(void)what;
	if (s->state == POP3_STATE_CLOSING) {
		/* Closing: this timer polls until the last reply has left
		 * (through TLS too), then frees. Bounded: 5 s. */
		if (bev_flushed(s->bev) || ++s->close_polls > 250) {
			pop3_session_free(s);
			return;
		}
		struct timeval tv = {0, 20000};
		evtimer_add(s->delay_ev, &tv);
		return;
	}
	err(s, "[AUTH] Authentication failed");
	if (s->auth_failures >= POP3_MAX_AUTH_FAILURES) {
		close_after_reply(s);
		return;
	}
	s->state = POP3_STATE_AUTHORIZATION;
	pop3_session_process(s);
}

/*
 * auth_failed - count a failed login and answer it after the delay. A
 * wrong password and an unknown user look the same, and both wait before
 * the answer (RFC 1939 §13); the session reads nothing meanwhile.
 */
static void
auth_failed(struct pop3_session *s)
{
	struct timeval tv = {POP3_AUTH_DELAY, 0};
	s->auth_failures++;
	/* Counted for the address with SMTP's and IMAP's failures. */
	auth_limit_fail(s->srv->auth_limit, s->addr, time(NULL));
	s->state = POP3_STATE_AUTH_WAIT;
	evtimer_add(s->delay_ev, &tv);
}

static void
auth_done(void *arg)
{
	struct pop3_auth_job *j = arg;
	struct pop3_session *s = j->s;

	if (s != NULL && s->state == POP3_STATE_CLOSING) {
		/* Shut down while the check ran (its "-ERR [SYS/TEMP]" is
		 * still draining): drop the result like a departed client's,
		 * so the session neither answers again nor stops closing. */
		s->auth = NULL;
		s = NULL;
	}
	if (s == NULL) { /* the client left meanwhile */
		if (j->lock_fd >= 0)
			close(j->lock_fd);
		mailbox_free(&j->mb);
		free(j);
		return;
	}
	s->auth = NULL;
	if (j->result == 1) {
		s->mb = j->mb;
		s->lock_fd = j->lock_fd;
		s->deleted = xcalloc(s->mb->n + 1, sizeof(bool));
		s->state = POP3_STATE_TRANSACTION;
		log_info("pop3: login user=<%s> [%s], %zu messages", j->user,
			 s->addr, s->mb->n);
		ok(s, "Logged in, %zu messages", s->mb->n);
		free(j);
		pop3_session_process(s);
		return;
	}
	if (j->in_use) {
		log_info("pop3: user=<%s> [%s]: mailbox in use", j->user,
			 s->addr);
		err(s, "[IN-USE] Mailbox is locked by another session");
		s->state = POP3_STATE_AUTHORIZATION;
	} else if (j->result < 0 && j->err[0] != '\0') {
		log_err("pop3: user=<%s> [%s]: %s", j->user, s->addr, j->err);
		err(s, "[SYS/TEMP] Cannot open the mailbox, try again later");
		s->state = POP3_STATE_AUTHORIZATION;
	} else {
		log_warn("pop3: authentication failed for <%s> from [%s]",
			 j->user, s->addr);
		auth_failed(s);
		free(j);
		return;
	}
	free(j);
	pop3_session_process(s);
}

static void
start_auth(struct pop3_session *s, const char *user, const char *pass)
{
	if (auth_limit_blocked(s->srv->auth_limit, s->addr, time(NULL))) {
		log_warn("pop3: [%s] login refused: too many failed logins",
			 s->addr);
		err(s, "[SYS/TEMP] Too many failed logins, try again later");
		s->state = POP3_STATE_AUTHORIZATION;
		return;
	}
	struct pop3_auth_job *j = xcalloc(1, sizeof(*j));
	j->s = s;
	j->lock_fd = -1;
	snprintf(j->data_dir, sizeof(j->data_dir), "%s", s->srv->cfg->data_dir);
	snprintf(j->user, sizeof(j->user), "%s", user);
	snprintf(j->pass, sizeof(j->pass), "%s", pass);
	s->auth = j;
	s->state = POP3_STATE_AUTH_WAIT;
	workq_submit(s->srv->workq, auth_work, auth_done, j);
}

static void
cmd_user(struct pop3_session *s, const struct pop3_command *c)
{
	if (c->arg_lens[0] > POP3_USER_MAX) {
		err(s, "[AUTH] Authentication failed");
		return;
	}
	memcpy(s->user, c->args[0], c->arg_lens[0]);
	s->user[c->arg_lens[0]] = '\0';
	s->have_user = true;
	ok(s, "Send your password");
}

static void
cmd_pass(struct pop3_session *s, const struct pop3_command *c)
{
	char pass[256];
	if (!s->have_user) {
		err(s, "Send USER first");
		return;
	}
	s->have_user = false;
	if (c->arg_lens[0] >= sizeof(pass)) {
		/* Cannot be right, but it is a failed login like any other:
		 * the same delay, the same answer, and it counts towards the
		 * limit. (Defensive: the 255-octet command line limit keeps
		 * PASS arguments below this size today.) */
		log_warn("pop3: authentication failed for <%s> from [%s]",
			 s->user, s->addr);
		auth_failed(s);
		return;
	}
	memcpy(pass, c->args[0], c->arg_lens[0]);
	pass[c->arg_lens[0]] = '\0';
	start_auth(s, s->user, pass);
	explicit_bzero(pass, sizeof(pass));
}

/* sasl_plain - check an AUTH PLAIN response (base64). */
static void
sasl_plain(struct pop3_session *s, const char *b64, size_t len)
{
	char user[POP3_USER_MAX + 1], pass[256];

	if (len == 1 && b64[0] == '=') /* RFC 5034 §4: empty response */
		len = 0;
	if (sasl_plain_decode(b64, len, user, sizeof(user), pass,
			      sizeof(pass)) < 0) {
		s->state = POP3_STATE_AUTHORIZATION;
		err(s, "[AUTH] Malformed AUTH PLAIN response");
		return;
	}
	start_auth(s, user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
cmd_auth(struct pop3_session *s, const struct pop3_command *c)
{
	if (c->n_args == 0) {
		/* The mechanism list, as many clients probe it. */
		ok(s, "Mechanisms follow");
		evbuffer_add(bufferevent_get_output(s->bev), "PLAIN\r\n.\r\n",
			     10);
		return;
	}
	if (c->arg_lens[0] != 5 || strncasecmp(c->args[0], "PLAIN", 5) != 0) {
		err(s, "Unsupported authentication mechanism");
		return;
	}
	if (c->n_args == 2) {
		sasl_plain(s, c->args[1], c->arg_lens[1]);
		return;
	}
	s->state = POP3_STATE_SASL;
	evbuffer_add(bufferevent_get_output(s->bev), "+ \r\n", 4);
}

/* --- transaction --- */

/* message - the 1-based message number in arg, if it names a live one. */
static struct mailbox_msg *
message(struct pop3_session *s, const char *arg, size_t len, size_t *i_r)
{
	uint32_t n;
	if (pop3_parse_number(arg, len, &n) < 0 || n == 0 || n > s->mb->n) {
		err(s, "No such message");
		return NULL;
	}
	if (s->deleted[n - 1]) {
		err(s, "Message %" PRIu32 " already deleted", n);
		return NULL;
	}
	*i_r = n - 1;
	return &s->mb->msgs[n - 1];
}

static void
cmd_stat(struct pop3_session *s, const struct pop3_command *c)
{
	size_t n = 0;
	uint64_t size = 0;
	(void)c;
	for (size_t i = 0; i < s->mb->n; i++)
		if (!s->deleted[i]) {
			n++;
			size += s->mb->msgs[i].size;
		}
	ok(s, "%zu %" PRIu64, n, size);
}

static void
cmd_list_uidl(struct pop3_session *s, const struct pop3_command *c)
{
	bool uidl = c->cmd == POP3_CMD_UIDL;
	struct evbuffer *out = bufferevent_get_output(s->bev);
	const struct mailbox *mb = s->mb;

	if (c->n_args == 1) {
		size_t i;
		const struct mailbox_msg *m =
		    message(s, c->args[0], c->arg_lens[0], &i);
		if (m == NULL)
			return;
		if (uidl)
			ok(s, "%zu %08" PRIX32 "%08" PRIX32, i + 1,
			   mb->uidvalidity, m->uid);
		else
			ok(s, "%zu %" PRIu64, i + 1, m->size);
		return;
	}
	ok(s, "Listing follows");
	for (size_t i = 0; i < mb->n; i++) {
		if (s->deleted[i])
			continue;
		if (uidl)
			evbuffer_add_printf(
			    out, "%zu %08" PRIX32 "%08" PRIX32 "\r\n", i + 1,
			    mb->uidvalidity, mb->msgs[i].uid);
		else
			evbuffer_add_printf(out, "%zu %" PRIu64 "\r\n", i + 1,
					    mb->msgs[i].size);
	}
	evbuffer_add(out, ".\r\n", 3);
}

/*
 * top_cut - for TOP: how many bytes of buf to send. Tracks the end of
 * the header section (the first CRLFCRLF, or LFLF) and then counts body
 * lines; sets *done when the last wanted line is complete.
 */
static size_t
top_cut(struct pop3_session *s, const char *buf, size_t len, bool *done)
{
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (s->top_hdr < 4) {
			/* Matching "\r\n\r\n" loosely: CR optional. */
			if (ch == '\n')
				s->top_hdr = s->top_hdr >= 1 ? 4 : 1;
			else if (ch != '\r')
				s->top_hdr = 0;
			if (s->top_hdr == 4 && s->top_lines == 0) {
				*done = true;
				return i + 1;
			}
			continue;
		}
		if (ch == '\n' && --s->top_lines <= 0) {
			*done = true;
			return i + 1;
		}
	}
	return len;
}

/* send_more - stream the message being sent while the output has room. */
static void
send_more(struct pop3_session *s)
{
	static char in[POP3_CHUNK], out[2 * POP3_CHUNK];
	struct evbuffer *o = bufferevent_get_output(s->bev);
	bool done = false;

	while (!done && evbuffer_get_length(o) < POP3_OUTPUT_HIGH) {
		ssize_t n = 0;
		if (s->send_off < s->send_size) {
			n = pread(s->send_fd, in, sizeof(in),
				  (off_t)s->send_off);
			if (n < 0 && errno == EINTR)
				continue;
		}
		if (n <= 0) {
			/* End of file (or an error we cannot report in the
			 * middle of a multi-line answer: end it cleanly). */
			if (n < 0)
				log_err("pop3: read error: %s",
					strerror(errno));
			done = true;
			break;
		}
		s->send_off += (uint64_t)n;
		size_t len = (size_t)n;
		if (s->top_lines >= 0)
			len = top_cut(s, in, len, &done);
		if (len > 0) {
			size_t olen =
			    smtp_dot_encode(in, len, out, &s->send_line_start);
			evbuffer_add(o, out, olen);
			s->send_last_lf = in[len - 1] == '\n';
		}
	}
	if (!done)
		return; /* write_cb calls again when the output drains */
	close(s->send_fd);
	s->send_fd = -1;
	if (!s->send_last_lf)
		evbuffer_add(o, "\r\n", 2);
	evbuffer_add(o, ".\r\n", 3);
	s->state = POP3_STATE_TRANSACTION;
}

static void
cmd_retr_top(struct pop3_session *s, const struct pop3_command *c)
{
	size_t i;
	uint32_t lines = 0;
	const struct mailbox_msg *m =
	    message(s, c->args[0], c->arg_lens[0], &i);
	if (m == NULL)
		return;
	if (c->cmd == POP3_CMD_TOP &&
	    pop3_parse_number(c->args[1], c->arg_lens[1], &lines) < 0) {
		err(s, "Bad line count");
		return;
	}
	s->send_fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (s->send_fd < 0) {
		/* Gone under us (another client, IMAP expunge). */
		err(s, "[SYS/TEMP] Message %zu is no longer available", i + 1);
		return;
	}
	s->send_off = 0;
	s->send_size = m->size;
	s->send_line_start = true;
	s->send_last_lf = true;
	s->top_lines = c->cmd == POP3_CMD_TOP ? (long)lines : -1;
	s->top_hdr = 1; /* the headers start at a line start */
	ok(s, "%" PRIu64 " octets", m->size);
	s->state = POP3_STATE_SENDING;
	send_more(s);
}

static void
cmd_dele(struct pop3_session *s, const struct pop3_command *c)
{
	size_t i;
	if (message(s, c->args[0], c->arg_lens[0], &i) == NULL)
		return;
	s->deleted[i] = true;
	ok(s, "Message %zu deleted", i + 1);
}

static void
cmd_rset(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	memset(s->deleted, 0, s->mb->n * sizeof(bool));
	ok(s, "%zu messages", s->mb->n);
}

static void
cmd_noop(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	ok(s, "Ok");
}

static void
cmd_quit(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	if (s->mb == NULL) {
		ok(s, "Bye");
		close_after_reply(s);
		return;
	}
	/* RFC 1939 §6: the UPDATE state. */
	size_t removed = 0, failed = 0;
	for (size_t i = 0; i < s->mb->n; i++) {
		if (!s->deleted[i])
			continue;
		if (mailbox_delete(s->mb, i) == 0)
			removed++;
		else
			failed++;
	}
	log_info("pop3: logout user=<%s> [%s], deleted %zu", s->user, s->addr,
		 removed);
	if (failed > 0)
		err(s, "[SYS/PERM] %zu messages could not be deleted", failed);
	else
		ok(s, "Bye, %zu messages deleted", removed);
	close_after_reply(s);
}

static void
cmd_capa(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	ok(s, "Capability list follows");
	/* RFC 2595 §4: STLS until TLS is on (and only before login). */
	if (!s->tls && s->mb == NULL && s->srv->tls_server != NULL)
		evbuffer_add(bufferevent_get_output(s->bev), "STLS\r\n", 6);
	evbuffer_add_printf(bufferevent_get_output(s->bev),
			    "TOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\n"
			    "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
			    "IMPLEMENTATION petrel\r\n.\r\n");
}

static void
cmd_apop(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	/* APOP needs the plaintext password; petrel stores only hashes. */
	err(s, "APOP is not supported; use USER/PASS or AUTH PLAIN");
}

static void setup_bev(struct pop3_session *s);

/*
 * cmd_stls - RFC 2595 §4. As with SMTP STARTTLS, anything the client sent
 * after STLS before the handshake is discarded unread (CVE-2011-0411), and
 * the session starts over in AUTHORIZATION with no USER given.
 */
static void
cmd_stls(struct pop3_session *s, const struct pop3_command *c)
{
	(void)c;
	if (s->tls) {
		err(s, "TLS is already active");
		return;
	}
	SSL *ssl = s->srv->tls_server ? SSL_new(s->srv->tls_server) : NULL;
	if (ssl == NULL) {
		err(s, "[SYS/TEMP] TLS is not available");
		return;
	}
	ok(s, "Begin TLS negotiation");
	struct evbuffer *in = bufferevent_get_input(s->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    s->srv->base, s->bev, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		close_after_reply(s);
		return;
	}
	s->bev = tls;
	s->tls = true;
	s->have_user = false;
	s->line_overflow = false;
	setup_bev(s);
}

enum {
	IN_AUTH = 1 << 0,  /* AUTHORIZATION */
	IN_TRANS = 1 << 1, /* TRANSACTION */
};

static const struct pop3_cmd_def {
	enum pop3_cmd cmd;
	unsigned states;
	void (*handler)(struct pop3_session *s, const struct pop3_command *c);
} pop3_commands[] = {
    {POP3_CMD_USER, IN_AUTH, cmd_user},
    {POP3_CMD_PASS, IN_AUTH, cmd_pass},
    {POP3_CMD_AUTH, IN_AUTH, cmd_auth},
    {POP3_CMD_APOP, IN_AUTH, cmd_apop},
    {POP3_CMD_STLS, IN_AUTH, cmd_stls},
    {POP3_CMD_CAPA, IN_AUTH | IN_TRANS, cmd_capa},
    {POP3_CMD_QUIT, IN_AUTH | IN_TRANS, cmd_quit},
    {POP3_CMD_STAT, IN_TRANS, cmd_stat},
    {POP3_CMD_LIST, IN_TRANS, cmd_list_uidl},
    {POP3_CMD_UIDL, IN_TRANS, cmd_list_uidl},
    {POP3_CMD_RETR, IN_TRANS, cmd_retr_top},
    {POP3_CMD_TOP, IN_TRANS, cmd_retr_top},
    {POP3_CMD_DELE, IN_TRANS, cmd_dele},
    {POP3_CMD_NOOP, IN_TRANS, cmd_noop},
    {POP3_CMD_RSET, IN_TRANS, cmd_rset},
    {POP3_CMD_UNKNOWN, 0, NULL},
};

static void
pop3_session_command(struct pop3_session *s, const char *line, size_t len)
{
	struct pop3_command c;
	const char *why;

	if (s->state == POP3_STATE_SASL) {
		if (len == 1 && line[0] == '*') {
			s->state = POP3_STATE_AUTHORIZATION;
			err(s, "[AUTH] Authentication cancelled");
			return;
		}
		sasl_plain(s, line, len);
		return;
	}
	if (pop3_parse_command(line, len, &c, &why) < 0) {
		err(s, "%s", why);
		return;
	}
	const struct pop3_cmd_def *def = pop3_commands;
	while (def->cmd != POP3_CMD_UNKNOWN && def->cmd != c.cmd)
		def++;
	if (def->handler == NULL) {
		err(s, "Unknown command");
		return;
	}
	unsigned here = s->state == POP3_STATE_TRANSACTION ? IN_TRANS : IN_AUTH;
	if (!(def->states & here)) {
		err(s, "%s is not allowed %s", pop3_cmd_name(c.cmd),
		    here == IN_AUTH ? "before login" : "after login");
		return;
	}
	def->handler(s, &c);
}

static void
pop3_session_process(struct pop3_session *s)
{
	static char line[POP3_READ_MAX + 1];
	struct evbuffer *in = bufferevent_get_input(s->bev);

	while (s->state == POP3_STATE_AUTHORIZATION ||
	       s->state == POP3_STATE_SASL ||
	       s->state == POP3_STATE_TRANSACTION) {
		if (s->errors > POP3_MAX_ERRORS) {
			err(s, "Too many errors");
			close_after_reply(s);
			return;
		}
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    POP3_OUTPUT_HIGH)
			return; /* write_cb resumes */
		size_t len;
		enum line_status st =
		    line_read(in, line, POP3_READ_MAX, &len, &s->line_overflow);
		if (st == LINE_NONE)
			return;
		if (st == LINE_TOO_LONG) {
			if (s->state == POP3_STATE_SASL)
				s->state = POP3_STATE_AUTHORIZATION;
			err(s, "Line too long");
			continue;
		}
		pop3_session_command(s, line, len);
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pop3_session_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct pop3_session *s = arg;
	if (s->state == POP3_STATE_CLOSING) {
		if (bev_flushed(bev)) {
			pop3_session_free(s);
		} else if (evbuffer_get_length(bufferevent_get_output(bev)) ==
			       0 &&
			   !evtimer_pending(s->delay_ev, NULL)) {
			struct timeval tv = {0, 20000};
			evtimer_add(s->delay_ev, &tv);
		}
		return;
	}
	if (s->state == POP3_STATE_SENDING)
		send_more(s);
	pop3_session_process(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pop3_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		err(s, "Autologout: idle too long");
		close_after_reply(s);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		pop3_session_free(s); /* no UPDATE: nothing deleted */
}

static void
pop3_session_free(struct pop3_session *s)
{
	struct server *srv = s->srv;

	if (s->auth != NULL)
		s->auth->s = NULL;
	if (s->send_fd >= 0)
		close(s->send_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	mailbox_free(&s->mb);
	free(s->deleted);
	event_free(s->delay_ev);
	conn_limit_release(srv->per_ip, s->addr);
	bufferevent_free(s->bev);
	server_session_remove(srv, &s->link);
	free(s);
}

static void
session_accept(struct server *srv, int fd, const struct sockaddr *sa,
	       bool implicit_tls)
{
	char addr[INET6_ADDRSTRLEN], busy[160];
	bool relay = false;
	const char *why = server_admit(srv, sa, addr, sizeof(addr), &relay);
	if (why != NULL) {
		int n =
		    snprintf(busy, sizeof(busy), "-ERR [SYS/TEMP] %s\r\n", why);
		ssize_t w =
		    send(fd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		close(fd);
		return;
	}
	struct pop3_session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->state = POP3_STATE_AUTHORIZATION;
	s->lock_fd = -1;
	s->send_fd = -1;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->tls = implicit_tls;
	s->bev = server_bev_new(srv, fd, implicit_tls);
	if (s->bev == NULL) {
		server_release(srv, addr);
		close(fd);
		free(s);
		return;
	}
	s->delay_ev = evtimer_new(srv->base, auth_fail_reply, s);
	server_session_add(srv, &s->link, &pop3_proto, s);
	setup_bev(s);
	ok(s, "petrel POP3 server ready");
}

void
pop3_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		   void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, false);
}

void
pop3s_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, true);
}

static void
setup_bev(struct pop3_session *s)
{
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 64 * 1024);
	bufferevent_setwatermark(s->bev, EV_WRITE, POP3_OUTPUT_HIGH / 4, 0);
	struct timeval tv = {POP3_TIMEOUT, 0};
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
pop3_session_shutdown(void *arg)
{
	struct pop3_session *s = arg;

	if (s->state == POP3_STATE_CLOSING)
		return;
	if (s->state == POP3_STATE_SENDING) {
		/* Cut the answer short; nothing is deleted without QUIT. */
		close(s->send_fd);
		s->send_fd = -1;
	}
	err(s, "[SYS/TEMP] Server shutting down");
	close_after_reply(s);
}

static void
pop3_session_destroy(void *arg)
{
	pop3_session_free(arg);
}
