#include "smtp/smtp_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sasl.h"
#include "net/line_reader.h"
#include "smtp/smtp_dot.h"
#include "smtp/smtp_parse.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/xalloc.h"

/*
 * RFC 5321 §4.5.3.1.5 sets 512 octets for a reply line; some servers send
 * longer ones (long EHLO greetings, verbose rejections), so accept more.
 */
#define CLIENT_LINE_MAX 4096
/* The message is read from disk in chunks as the output drains. */
#define CLIENT_CHUNK	   (64 * 1024)
#define CLIENT_OUTPUT_HIGH (64 * 1024)
#define CLIENT_OUTPUT_LOW  (16 * 1024)
#define CONNECT_TIMEOUT	   30
#define DEFAULT_TIMEOUT	   300
#define DEFAULT_DATA_TO	   600
#define ERRLEN		   1400

enum client_state {
	ST_START,
	ST_CONNECTING,
	ST_GREETING,
	ST_EHLO,
	ST_HELO,
	ST_STARTTLS,
	ST_TLS_HANDSHAKE,
	ST_AUTH_PLAIN,
	ST_AUTH_LOGIN_USER,
	ST_AUTH_LOGIN_PASS,
	ST_AUTH_LOGIN_DONE,
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_BODY,
	ST_BDAT,
	ST_DOT,
	ST_DOT_IGNORE,
	ST_RSET,
	ST_IDLE,
	ST_QUIT,
	ST_DEAD,
};

static const char *const state_names[] = {
    [ST_START] = "START",
    [ST_CONNECTING] = "CONNECTING",
    [ST_GREETING] = "GREETING",
    [ST_EHLO] = "EHLO",
    [ST_HELO] = "HELO",
    [ST_STARTTLS] = "STARTTLS",
    [ST_TLS_HANDSHAKE] = "TLS_HANDSHAKE",
    [ST_AUTH_PLAIN] = "AUTH_PLAIN",
    [ST_AUTH_LOGIN_USER] = "AUTH_LOGIN_USER",
    [ST_AUTH_LOGIN_PASS] = "AUTH_LOGIN_PASS",
    [ST_AUTH_LOGIN_DONE] = "AUTH_LOGIN_DONE",
    [ST_MAIL] = "MAIL",
    [ST_RCPT] = "RCPT",
    [ST_DATA] = "DATA",
    [ST_BODY] = "BODY",
    [ST_BDAT] = "BDAT",
    [ST_DOT] = "DOT",
    [ST_DOT_IGNORE] = "DOT_IGNORE",
    [ST_RSET] = "RSET",
    [ST_IDLE] = "IDLE",
    [ST_QUIT] = "QUIT",
    [ST_DEAD] = "DEAD",
};

/* What a lost connection interrupted, Postfix's wording. */
static const char *const state_doing[] = {
    [ST_START] = "connecting",
    [ST_CONNECTING] = "connecting",
    [ST_GREETING] = "receiving the initial server greeting",
    [ST_EHLO] = "performing the EHLO handshake",
    [ST_HELO] = "performing the HELO handshake",
    [ST_STARTTLS] = "sending STARTTLS",
    [ST_TLS_HANDSHAKE] = "performing the TLS handshake",
    [ST_AUTH_PLAIN] = "authenticating",
    [ST_AUTH_LOGIN_USER] = "authenticating",
    [ST_AUTH_LOGIN_PASS] = "authenticating",
    [ST_AUTH_LOGIN_DONE] = "authenticating",
    [ST_MAIL] = "sending MAIL FROM",
    [ST_RCPT] = "sending RCPT TO",
    [ST_DATA] = "sending DATA command",
    [ST_BODY] = "sending message body",
    [ST_BDAT] = "sending message body (BDAT)",
    [ST_DOT] = "sending end of data -- message may be sent more than once",
    [ST_DOT_IGNORE] = "sending end of data",
    [ST_RSET] = "sending RSET",
    [ST_IDLE] = "waiting for more mail",
    [ST_QUIT] = "sending QUIT",
    [ST_DEAD] = "closing",
};

struct smtp_client {
	struct event_base *base;
	struct smtp_client_ops ops;
	void *arg;
	struct smtp_client_options opt; /* strings point to copies */
	struct dns_result *hosts;
	size_t host_i, addr_i;

	struct bufferevent *bev;
	struct event *timer; /* deferred start, connect timeout */
	enum client_state state;
	char peer[320]; /* "name[addr]" */
	char line[CLIENT_LINE_MAX + 1];
	bool line_overflow;
	struct smtp_reply reply;

	/* What this server offers (EHLO). */
	bool esmtp, pipelining, starttls, eightbitmime, has_size;
	bool auth_plain, auth_login;
	bool dsn, smtputf8, chunking, binarymime; /* issue 9 */
	uint64_t size_limit;
	bool tls_on;
	bool no_tls; /* handshake failed: this address again, plaintext */
	bool ready;  /* messages are being pulled: no more fallback */

	/* Failures before any host was ready, for closed(). */
	unsigned n_failures;
	bool all_perm;
	char error[512];

	/* The message in flight. */
	struct smtp_client_msg *msg;
	bool *accepted;
	size_t *send_idx; /* the rcpts given a RCPT command, in order */
	size_t n_send;
	size_t n_accepted, rcpt_i; /* rcpt_i: index into send_idx */
	bool pipelined, mail_ok;
	bool bdat;	    /* the data goes as BDAT (RFC 3030) */
	uint64_t bdat_size; /* its size: what is left of the file */
	int fd;
	bool at_line_start;
	char tail[2];
	uint64_t body_bytes;

	/* Callbacks into the scheduler may ask to abort: done later. */
	int depth;
	bool abort_requested, aborting;
	bool wake; /* smtp_client_wake while idle: pull again */
};

static void client_try_next(struct smtp_client *c);
static bool next_message(struct smtp_client *c);
static void send_quit(struct smtp_client *c);
static bool client_process(struct smtp_client *c);
static bool client_after_ehlo(struct smtp_client *c);

/* --- the pure reply parser --- */

enum smtp_reply_status
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	bool more;

	/* RFC 5321 §4.2: three digits, then SP or "-" or the end. */
	if (len < 3)
		return SMTP_REPLY_ERROR;
	for (size_t i = 0; i < 3; i++)
		if (line[i] < '0' || line[i] > '9')
			return SMTP_REPLY_ERROR;
	int code =
	    (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 100 || code > 599)
		return SMTP_REPLY_ERROR;
	if (len == 3)
		more = false;
	else if (line[3] == '-')
		more = true;
	else if (line[3] == ' ')
		more = false;
	else
		return SMTP_REPLY_ERROR;
	/* §4.2.1: every line of a multi-line reply has the same code. */
	if (r->n_lines > 0 && code != r->code)
		return SMTP_REPLY_ERROR;
	r->code = code;

	const char *text = len > 4 ? line + 4 : "";
	size_t tlen = len > 4 ? len - 4 : 0;
	size_t have = strlen(r->text);
	if (have > 0 && tlen > 0 && have < sizeof(r->text) - 1)
		r->text[have++] = ' ';
	for (size_t i = 0; i < tlen && have < sizeof(r->text) - 1; i++) {
		char ch = text[i];
		r->text[have++] = ch == '\0' ? ' ' : ch;
	}
	r->text[have] = '\0';
	r->n_lines++;
	return more ? SMTP_REPLY_MORE : SMTP_REPLY_DONE;
}

/* --- small helpers --- */

static void
set_state(struct smtp_client *c, enum client_state st)
{
	log_debug("smtp %s: %s -> %s", c->peer, state_names[c->state],
		  state_names[st]);
	c->state = st;
}

/* set_timeouts - seconds; 0 means none. Also on the socket under TLS. */
static void
set_timeouts(struct smtp_client *c, unsigned rd, unsigned wr)
{
	struct timeval trd = {(time_t)rd, 0}, twr = {(time_t)wr, 0};
	bufferevent_set_timeouts(c->bev, rd ? &trd : NULL, wr ? &twr : NULL);
	if (c->tls_on || c->state == ST_TLS_HANDSHAKE) {
		struct bufferevent *u = bufferevent_get_underlying(c->bev);
		if (u != NULL)
			bufferevent_set_timeouts(u, rd ? &trd : NULL,
						 wr ? &twr : NULL);
	}
}

/* send_line - one command; shown is what the debug log prints. */
static void send_line(struct smtp_client *c, const char *shown, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

static void
send_line(struct smtp_client *c, const char *shown, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_debug("smtp %s: > %s", c->peer, shown != NULL ? shown : line);
	evbuffer_add_printf(out, "%s\r\n", line);
}

/* copy_str - truncating copy; dst always terminated. */
static void
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
set_rcpt(struct smtp_client_rcpt *r, int code, const char *text)
{
	r->code = code;
	if (code >= 200 && code < 300)
		r->result = SMTP_CLIENT_OK;
	else if (code >= 500 && code < 600)
		r->result = SMTP_CLIENT_PERM;
	else
		r->result = SMTP_CLIENT_TEMP;
	copy_str(r->text, sizeof(r->text), text);
}

static void
reply_text(const struct smtp_reply *r, char *buf, size_t len)
{
	if (r->text[0] != '\0')
		snprintf(buf, len, "%d %s", r->code, r->text);
	else
		snprintf(buf, len, "%d", r->code);
}

static bool
is_ip_literal(const char *name)
{
	unsigned char tmp[sizeof(struct in6_addr)];
	return name[0] == '\0' || name[0] == '[' ||
	       inet_pton(AF_INET, name, tmp) == 1 ||
	       inet_pton(AF_INET6, name, tmp) == 1;
}

/* --- the end of a connection --- */

static void
close_bev(struct smtp_client *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	evtimer_del(c->timer);
	c->line_overflow = false;
	memset(&c->reply, 0, sizeof(c->reply));
	c->tls_on = false;
	c->esmtp = c->pipelining = c->starttls = c->eightbitmime = false;
	c->has_size = c->auth_plain = c->auth_login = false;
	c->dsn = c->smtputf8 = c->chunking = c->binarymime = false;
	c->size_limit = 0;
}

/* client_end - closed() and free. */
static void
client_end(struct smtp_client *c, const char *error, bool permanent)
{
	close_bev(c);
	c->state = ST_DEAD;
	if (c->fd >= 0)
		close(c->fd);
	free(c->accepted);
	free(c->send_idx);
	c->depth++;
	c->ops.closed(error, permanent, c->arg);
	event_free(c->timer);
	free((char *)(uintptr_t)c->opt.helo_name);
	free((char *)(uintptr_t)c->opt.auth_user);
	free((char *)(uintptr_t)c->opt.auth_password);
	free(c->hosts);
	free(c);
}

static void client_do_abort(struct smtp_client *c);

/*
 * finish_message - hand the message back with done(). Returns false when
 * the client is gone (the scheduler aborted it from inside done()).
 */
static bool
finish_message(struct smtp_client *c)
{
	struct smtp_client_msg *msg = c->msg;

	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	free(c->accepted);
	c->accepted = NULL;
	free(c->send_idx);
	c->send_idx = NULL;
	c->n_send = 0;
	c->msg = NULL;
	if (msg == NULL)
		return true;
	for (size_t i = 0; i < msg->n_rcpts; i++)
		if (msg->rcpts[i].result == SMTP_CLIENT_PENDING)
			set_rcpt(&msg->rcpts[i], 0,
				 "internal error: no result");
	c->depth++;
	c->ops.done(msg, c->arg);
	c->depth--;
	if (c->abort_requested && !c->aborting) {
		client_do_abort(c);
		return false;
	}
	return true;
}

/* fail_pending - every rcpt without a result gets TEMP code/text. */
static bool
fail_pending(struct smtp_client *c, int code, const char *text)
{
	if (c->msg == NULL)
		return true;
	for (size_t i = 0; i < c->msg->n_rcpts; i++) {
		struct smtp_client_rcpt *r = &c->msg->rcpts[i];
		if (r->result == SMTP_CLIENT_PENDING) {
			set_rcpt(r, code, text);
			r->result = SMTP_CLIENT_TEMP;
		}
	}
	return finish_message(c);
}

static void
client_do_abort(struct smtp_client *c)
{
	c->aborting = true;
	if (c->bev != NULL && c->state != ST_DEAD)
		log_info("smtp %s: connection aborted", c->peer);
	fail_pending(c, 0, "connection aborted");
	client_end(c, "connection aborted", false);
}

/*
 * host_fail - this address failed before any message was pulled: note
 * why and try the next address (RFC 5321 §5.1). retry_plain: the same
 * address again without STARTTLS.
 */
static void
host_fail(struct smtp_client *c, bool permanent, bool retry_plain,
	  const char *error)
{
	log_info("%s", error);
	copy_str(c->error, sizeof(c->error), error);
	c->n_failures++;
	if (!permanent)
		c->all_perm = false;
	close_bev(c);
	if (retry_plain) {
		c->no_tls = true;
	} else {
		c->no_tls = false;
		c->addr_i++;
	}
	c->state = ST_START;
	client_try_next(c);
}

/*
 * conn_failed - the connection broke (EOF, error, time-out, garbage).
 * Before any message: the next address. Otherwise the message in flight
 * is deferred and the connection is over.
 */
static void
conn_failed(struct smtp_client *c, int code, const char *error)
{
	if (c->state == ST_QUIT || c->state == ST_IDLE) {
		/* An idle connection the server closed: nothing lost. */
		client_end(c, NULL, false);
		return;
	}
	if (!c->ready) {
		host_fail(c, false, false, error);
		return;
	}
	log_info("%s", error);
	close_bev(c);
	if (!fail_pending(c, code, error))
		return;
	client_end(c, error, false);
}

static bool __attribute__((format(printf, 2, 3)))
protocol_error(struct smtp_client *c, const char *fmt, ...)
{
	char error[ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	conn_failed(c, 0, error);
	return false;
}

/* --- connecting --- */

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* connect_addr - start connecting; -1 (error in c->error) if it failed
 * at once. */
static int
connect_addr(struct smtp_client *c, const struct dns_host *h,
	     const struct sockaddr_storage *ss)
{
	struct sockaddr_storage sa = *ss;
	socklen_t salen;
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sa;
		sin->sin_port = htons(c->opt.port);
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		salen = sizeof(*sin);
	} else if (sa.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sa;
		sin6->sin6_port = htons(c->opt.port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		salen = sizeof(*sin6);
	} else {
		snprintf(c->error, sizeof(c->error),
			 "connect to %s: unsupported address family", h->name);
		return -1;
	}
	snprintf(c->peer, sizeof(c->peer), "%s[%s]", h->name, addr);
	c->state = ST_CONNECTING;
	log_debug("smtp %s: connecting to port %u", c->peer,
		  (unsigned)c->opt.port);

	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		snprintf(c->error, sizeof(c->error),
			 "connect to %s:%u: cannot create socket", c->peer,
			 (unsigned)c->opt.port);
		return -1;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sa,
				       (int)salen) < 0) {
		int err = errno;
		bufferevent_free(c->bev);
		c->bev = NULL;
		snprintf(c->error, sizeof(c->error), "connect to %s:%u: %s",
			 c->peer, (unsigned)c->opt.port,
			 strerror(err != 0 ? err : ECONNREFUSED));
		return -1;
	}
	/* No Nagle: pipelined commands and the final dot go out at once
	 * (see net/listener.c for what the 40 ms stalls cost). */
	int one = 1;
	setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one,
		   sizeof(one));
	struct timeval tv = {CONNECT_TIMEOUT, 0};
	evtimer_add(c->timer, &tv);
	return 0;
}

/* client_try_next - connect to the current address or the next one that
 * can be started; when none is left, the connection attempt is over. */
static void
client_try_next(struct smtp_client *c)
{
	/* Bounded: every turn advances addr_i or host_i. */
	while (c->host_i < c->hosts->n_hosts) {
		const struct dns_host *h = &c->hosts->hosts[c->host_i];
		if (c->addr_i >= h->n_addrs || c->addr_i >= DNS_MAX_ADDRS) {
			c->host_i++;
			c->addr_i = 0;
			continue;
		}
		if (connect_addr(c, h, &h->addrs[c->addr_i]) == 0)
			return;
		log_info("%s", c->error);
		c->n_failures++;
		c->all_perm = false;
		c->no_tls = false;
		c->addr_i++;
	}
	if (c->n_failures == 0)
		snprintf(c->error, sizeof(c->error),
			 "no address to connect to");
	client_end(c, c->error, c->n_failures > 0 && c->all_perm);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_client *c = arg;
	(void)fd;
	(void)what;
	if (c->state == ST_IDLE) {
		/* Woken: pull again (may go idle again); else time's up. */
		bool wake = c->wake;
		c->wake = false;
		if (wake)
			next_message(c);
		else
			send_quit(c);
		return;
	}
	if (c->state == ST_START) {
		client_try_next(c);
		return;
	}
	if (c->state == ST_CONNECTING) {
		char error[ERRLEN];
		snprintf(error, sizeof(error), "connect to %s:%u: %s", c->peer,
			 (unsigned)c->opt.port, "Connection timed out");
		host_fail(c, false, false, error);
	}
}

/* --- TLS --- */

static bool
start_tls(struct smtp_client *c)
{
	const struct dns_host *h = &c->hosts->hosts[c->host_i];
	char error[ERRLEN];
	SSL *ssl = SSL_new(c->opt.tls_ctx);

	if (ssl == NULL) {
		snprintf(error, sizeof(error), "%s: cannot start TLS", c->peer);
		host_fail(c, false, false, error);
		return false;
	}
	/* RFC 6066 §3: SNI carries a host name, never an address. */
	if (!is_ip_literal(h->name)) {
		SSL_set_tlsext_host_name(ssl, h->name);
		if (c->opt.tls_required)
			SSL_set1_host(ssl, h->name);
	}
	/* Opportunistic TLS (RFC 7435) takes any certificate; required
	 * TLS checks it against the context's trust anchors. */
	if (c->opt.tls_required)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	struct bufferevent *tls = bufferevent_openssl_filter_new(
	    c->base, c->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		snprintf(error, sizeof(error), "%s: cannot start TLS", c->peer);
		host_fail(c, false, false, error);
		return false;
	}
	c->bev = tls;
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	bufferevent_setcb(tls, read_cb, write_cb, event_cb, c);
	bufferevent_enable(tls, EV_READ | EV_WRITE);
	set_state(c, ST_TLS_HANDSHAKE);
	set_timeouts(c, c->opt.timeout, c->opt.timeout);
	return false;
}

static void
tls_failed(struct smtp_client *c)
{
	char error[ERRLEN], why[256] = "handshake failed";
	unsigned long e = bufferevent_get_openssl_error(c->bev);

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	snprintf(error, sizeof(error), "%s: TLS handshake failed: %s", c->peer,
		 why);
	/* Opportunistic: the same address again without STARTTLS. */
	host_fail(c, false, !c->opt.tls_required, error);
}

/* --- messages --- */

static void
send_ehlo(struct smtp_client *c)
{
	c->esmtp = c->pipelining = c->starttls = c->eightbitmime = false;
	c->has_size = c->auth_plain = c->auth_login = false;
	c->dsn = c->smtputf8 = c->chunking = c->binarymime = false;
	c->size_limit = 0;
	send_line(c, NULL, "EHLO %s", c->opt.helo_name);
	set_state(c, ST_EHLO);
}

/* ehlo_line - one EHLO keyword line (RFC 5321 §4.1.1.1). */
static void
ehlo_line(struct smtp_client *c, const char *line, size_t len)
{
	if (len <= 4)
		return;
	const char *p = line + 4, *end = line + len;
	size_t kw = 0;
	while (p + kw < end && p[kw] != ' ' && p[kw] != '=')
		kw++;
	const char *args = p + kw < end ? p + kw + 1 : end;

	if (kw == 10 && strncasecmp(p, "PIPELINING", kw) == 0) {
		c->pipelining = true;
	} else if (kw == 8 && strncasecmp(p, "STARTTLS", kw) == 0) {
		c->starttls = true;
	} else if (kw == 8 && strncasecmp(p, "8BITMIME", kw) == 0) {
		c->eightbitmime = true;
	} else if (kw == 3 && strncasecmp(p, "DSN", kw) == 0) {
		c->dsn = true; /* RFC 3461 */
	} else if (kw == 8 && strncasecmp(p, "SMTPUTF8", kw) == 0) {
		c->smtputf8 = true; /* RFC 6531 */
	} else if (kw == 8 && strncasecmp(p, "CHUNKING", kw) == 0) {
		c->chunking = true; /* RFC 3030 */
	} else if (kw == 10 && strncasecmp(p, "BINARYMIME", kw) == 0) {
		c->binarymime = true; /* RFC 3030 §3 */
	} else if (kw == 4 && strncasecmp(p, "SIZE", kw) == 0) {
		/* RFC 1870: "SIZE" alone or "SIZE 0" means no fixed limit. */
		uint64_t n = 0;
		for (; args < end && *args >= '0' && *args <= '9'; args++) {
			if (n > (UINT64_MAX - 9) / 10)
				break;
			n = n * 10 + (uint64_t)(*args - '0');
		}
		c->has_size = true;
		c->size_limit = n;
	} else if (kw == 4 && strncasecmp(p, "AUTH", kw) == 0) {
		/* "AUTH PLAIN LOGIN", or the old "AUTH=PLAIN LOGIN". */
		while (args < end) {
			while (args < end && *args == ' ')
				args++;
			size_t n = 0;
			while (args + n < end && args[n] != ' ')
				n++;
			if (n == 5 && strncasecmp(args, "PLAIN", 5) == 0)
				c->auth_plain = true;
			if (n == 5 && strncasecmp(args, "LOGIN", 5) == 0)
				c->auth_login = true;
			args += n;
		}
	}
}

static bool
send_b64(struct smtp_client *c, const char *prefix, const unsigned char *in,
	 size_t len)
{
	char b64[1200];
	if (sasl_base64_encode(in, len, b64, sizeof(b64)) < 0) {
		char error[ERRLEN];
		snprintf(error, sizeof(error),
			 "%s: credentials too long for AUTH", c->peer);
		host_fail(c, false, false, error);
		return false;
	}
	send_line(c, prefix[0] != '\0' ? "AUTH PLAIN ********" : "********",
		  "%s%s", prefix, b64);
	return true;
}

static bool
start_auth(struct smtp_client *c)
{
	char error[ERRLEN];

	if (c->auth_plain) {
		/* RFC 4616: authzid NUL authcid NUL passwd. */
		unsigned char buf[800];
		size_t ul = strlen(c->opt.auth_user);
		size_t pl = strlen(c->opt.auth_password);
		if (ul + pl + 2 > sizeof(buf)) {
			snprintf(error, sizeof(error),
				 "%s: credentials too long for AUTH", c->peer);
			host_fail(c, false, false, error);
			return false;
		}
		buf[0] = '\0';
		memcpy(buf + 1, c->opt.auth_user, ul);
		buf[1 + ul] = '\0';
		memcpy(buf + 2 + ul, c->opt.auth_password, pl);
		bool ok = send_b64(c, "AUTH PLAIN ", buf, ul + pl + 2);
		explicit_bzero(buf, sizeof(buf));
		if (!ok)
			return false;
		set_state(c, ST_AUTH_PLAIN);
		return true;
	}
	if (c->auth_login) {
		send_line(c, NULL, "AUTH LOGIN");
		set_state(c, ST_AUTH_LOGIN_USER);
		return true;
	}
	snprintf(error, sizeof(error),
		 "%s: authentication required, but the server offers no "
		 "AUTH PLAIN or LOGIN",
		 c->peer);
	host_fail(c, false, false, error);
	return false;
}

static void
send_quit(struct smtp_client *c)
{
	send_line(c, NULL, "QUIT");
	set_state(c, ST_QUIT);
	set_timeouts(c, c->opt.timeout, c->opt.timeout);
}

static bool
client_ready(struct smtp_client *c)
{
	c->ready = true;
	log_debug("smtp %s: ready%s%s%s", c->peer, c->esmtp ? " ESMTP" : "",
		  c->tls_on ? " TLS" : "", c->pipelining ? " PIPELINING" : "");
	return next_message(c);
}

static bool
client_after_ehlo(struct smtp_client *c)
{
	char error[ERRLEN];

	if (!c->tls_on && c->opt.tls_ctx != NULL && c->starttls && !c->no_tls) {
		send_line(c, NULL, "STARTTLS");
		set_state(c, ST_STARTTLS);
		return true;
	}
	if (!c->tls_on && c->opt.tls_required) {
		snprintf(error, sizeof(error), "%s: TLS is required, but %s",
			 c->peer,
			 c->opt.tls_ctx == NULL ? "no TLS context is set up"
			 : c->no_tls		? "the TLS handshake failed"
				     : "the server did not offer STARTTLS");
		host_fail(c, false, false, error);
		return false;
	}
	if (c->opt.auth_user != NULL && c->opt.auth_user[0] != '\0')
		return start_auth(c);
	return client_ready(c);
}

/* needs_utf8 - does this recipient need SMTPUTF8 (RFC 6531 §3.2)? */
static bool
needs_utf8(const struct smtp_client_msg *m, const struct smtp_client_rcpt *r)
{
	return m->smtputf8 && (m->utf8_always || !utf8_is_ascii(r->address));
}

/* rcpt_line - "RCPT TO:<a>" with the DSN request passed on when the
 * server offers DSN (RFC 3461 §5.2.1, §4.2's 500-character ORCPT). */
static void
send_rcpt(struct smtp_client *c, const struct smtp_client_rcpt *r)
{
	char notify[64] = "", orcpt[SMTP_ORCPT_MAX + 16] = "";

	if (c->dsn && r->notify != 0) {
		static const struct {
			unsigned bit;
			const char *name;
		} w[] = {
		    {8, "NEVER"}, {1, "SUCCESS"}, {2, "FAILURE"}, {4, "DELAY"}};
		size_t o = (size_t)snprintf(notify, sizeof(notify), " NOTIFY=");
		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
			if (r->notify & w[i].bit)
				o += (size_t)snprintf(
				    notify + o, sizeof(notify) - o, "%s%s",
				    notify[o - 1] == '=' ? "" : ",", w[i].name);
	}
	if (c->dsn && r->orcpt != NULL) {
		const char *semi = strchr(r->orcpt, ';');
		char x[SMTP_ORCPT_MAX + 1];
		if (semi != NULL && (size_t)(semi - r->orcpt) == 6 &&
		    strncmp(r->orcpt, "rfc822", 6) == 0) {
			/* The rfc822 form is kept decoded: xtext again. */
			if (smtp_xtext_encode(semi + 1, x, sizeof(x) - 7) >= 0)
				snprintf(orcpt, sizeof(orcpt),
					 " ORCPT=rfc822;%s", x);
		} else if (semi != NULL && strlen(r->orcpt) <= SMTP_ORCPT_MAX &&
			   (c->smtputf8 || utf8_is_ascii(r->orcpt))) {
			snprintf(orcpt, sizeof(orcpt), " ORCPT=%s", r->orcpt);
		}
	}
	send_line(c, NULL, "RCPT TO:<%s>%s%s", r->address, notify, orcpt);
}

/* send_transaction - MAIL, and with PIPELINING every RCPT (and DATA) in
 * the same write (RFC 2920 §3.1: DATA ends the group). With CHUNKING no
 * DATA: the BDAT follows once the RCPT replies are in, so no data is
 * sent for a transaction nobody accepted. */
static void
send_transaction(struct smtp_client *c)
{
	struct smtp_client_msg *m = c->msg;
	char size[40] = "", envid[3 * SMTP_ENVID_MAX + 16] = "";
	const char *body = "", *ret = "", *utf8 = "";

	if (c->has_size)
		snprintf(size, sizeof(size), " SIZE=%" PRIu64, m->size);
	if (m->body == SMTP_CLIENT_BINARYMIME)
		body = " BODY=BINARYMIME";
	else if (m->eightbit && c->eightbitmime)
		body = " BODY=8BITMIME";
	if (c->smtputf8) {
		/* §3.2: only when the message needs it. */
		bool need = false;
		for (size_t k = 0; k < c->n_send; k++)
			need = need || needs_utf8(m, &m->rcpts[c->send_idx[k]]);
		if (need || (m->smtputf8 && !utf8_is_ascii(m->sender)))
			utf8 = " SMTPUTF8";
	}
	if (c->dsn) {
		ret = m->ret == 1   ? " RET=FULL"
		      : m->ret == 2 ? " RET=HDRS"
				    : "";
		if (m->envid != NULL) {
			char x[3 * SMTP_ENVID_MAX + 1];
			if (smtp_xtext_encode(m->envid, x, sizeof(x)) > 0 &&
			    strlen(x) <= SMTP_ENVID_MAX)
				snprintf(envid, sizeof(envid), " ENVID=%s", x);
		}
	}
	send_line(c, NULL, "MAIL FROM:<%s>%s%s%s%s%s", m->sender, size, body,
		  utf8, ret, envid);
	c->bdat = c->chunking;
	c->pipelined = c->pipelining;
	if (c->pipelined) {
		for (size_t k = 0; k < c->n_send; k++)
			send_rcpt(c, &m->rcpts[c->send_idx[k]]);
		if (!c->bdat)
			send_line(c, NULL, "DATA");
	}
	set_state(c, ST_MAIL);
	set_timeouts(c, c->opt.timeout, c->opt.timeout);
}

/*
 * refuse_unsendable - what this server cannot take is failed here, before
 * any command: a BINARYMIME message without BINARYMIME and CHUNKING
 * (RFC 3030 §3: no conversion, 5.6.3), a recipient needing SMTPUTF8
 * without SMTPUTF8 (RFC 6531 §3.2: 5.6.7). The rest go in send_idx.
 */
static void
refuse_unsendable(struct smtp_client *c, struct smtp_client_msg *m)
{
	char text[600];

	c->send_idx = xcalloc(m->n_rcpts + 1, sizeof(*c->send_idx));
	c->n_send = 0;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		struct smtp_client_rcpt *r = &m->rcpts[i];
		if (m->body == SMTP_CLIENT_BINARYMIME &&
		    !(c->binarymime && c->chunking)) {
			snprintf(text, sizeof(text),
				 "554 5.6.3 BINARYMIME message, but host %s "
				 "does not offer BINARYMIME and CHUNKING",
				 c->peer);
			set_rcpt(r, 554, text);
		} else if (!c->smtputf8 && needs_utf8(m, r)) {
			snprintf(text, sizeof(text),
				 "553 5.6.7 SMTPUTF8 is required, but was not "
				 "offered by host %s",
				 c->peer);
			set_rcpt(r, 553, text);
		} else {
			c->send_idx[c->n_send++] = i;
		}
	}
}

/* next_message - pull messages until one is sent, or QUIT. */
static bool
next_message(struct smtp_client *c)
{
	/* Bounded by what the scheduler has for this destination. */
	for (;;) {
		c->depth++;
		struct smtp_client_msg *m = c->ops.next(c->arg);
		c->depth--;
		if (m != NULL) {
			c->msg = m;
			c->accepted = xcalloc(m->n_rcpts + 1, sizeof(bool));
			c->n_accepted = 0;
			c->rcpt_i = 0;
			c->mail_ok = false;
			for (size_t i = 0; i < m->n_rcpts; i++) {
				m->rcpts[i].result = SMTP_CLIENT_PENDING;
				m->rcpts[i].code = 0;
				m->rcpts[i].text[0] = '\0';
				m->rcpts[i].dsn_passed = false;
			}
		}
		if (c->abort_requested) {
			client_do_abort(c);
			return false;
		}
		if (m == NULL && c->opt.idle_timeout > 0) {
			/* Keep the connection for mail that comes soon
			 * (smtp_client_wake), QUIT when the time is up. */
			set_state(c, ST_IDLE);
			set_timeouts(c, 0, 0);
			struct timeval tv = {(time_t)c->opt.idle_timeout, 0};
			evtimer_add(c->timer, &tv);
			return true;
		}
		if (m == NULL) {
			send_quit(c);
			return true;
		}
		if (m->n_rcpts == 0) {
			if (!finish_message(c))
				return false;
			continue;
		}
		if (c->has_size && c->size_limit > 0 &&
		    m->size > c->size_limit) {
			/* RFC 1870 §6.1: do not send what will be refused. */
			char text[200];
			snprintf(text, sizeof(text),
				 "552 5.3.4 message too big for remote server "
				 "(limit %" PRIu64 ")",
				 c->size_limit);
			for (size_t i = 0; i < m->n_rcpts; i++)
				set_rcpt(&m->rcpts[i], 552, text);
			if (!finish_message(c))
				return false;
			continue;
		}
		refuse_unsendable(c, m);
		if (c->n_send == 0) {
			if (!finish_message(c))
				return false;
			continue;
		}
		c->fd = open(m->path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (c->fd >= 0 &&
		    (fstat(c->fd, &st) < 0 ||
		     (uint64_t)st.st_size < m->offset ||
		     lseek(c->fd, (off_t)m->offset, SEEK_SET) < 0)) {
			close(c->fd);
			c->fd = -1;
			errno = EIO;
		}
		if (c->fd < 0) {
			char text[600];
			snprintf(text, sizeof(text),
				 "cannot open message file %s: %s", m->path,
				 strerror(errno));
			log_warn("%s: %s", m->id, text);
			for (size_t k = 0; k < c->n_send; k++) {
				struct smtp_client_rcpt *r =
				    &m->rcpts[c->send_idx[k]];
				set_rcpt(r, 0, text);
				r->result = SMTP_CLIENT_TEMP;
			}
			if (!finish_message(c))
				return false;
			continue;
		}
		c->bdat_size = (uint64_t)st.st_size - m->offset;
		send_transaction(c);
		return true;
	}
}

/* after_transaction - the message is done; RSET if a transaction is
 * still open on the server, else the next message. */
static bool
after_transaction(struct smtp_client *c, bool rset)
{
	if (!finish_message(c))
		return false;
	if (rset) {
		send_line(c, NULL, "RSET");
		set_state(c, ST_RSET);
		return true;
	}
	return next_message(c);
}

/* pump - feed the message file to the output while it has room. */
static bool
pump(struct smtp_client *c)
{
	static char in[CLIENT_CHUNK];
	static char out[2 * CLIENT_CHUNK];
	struct evbuffer *ob = bufferevent_get_output(c->bev);

	/* Bounded: each turn reads a chunk or ends. */
	while (evbuffer_get_length(ob) < CLIENT_OUTPUT_HIGH) {
		size_t want = sizeof(in);
		if (c->bdat) {
			/* Exactly the announced octets, as they are. */
			uint64_t left = c->bdat_size - c->body_bytes;
			if (left == 0) {
				log_debug("smtp %s: > (%" PRIu64 " bytes)",
					  c->peer, c->body_bytes);
				close(c->fd);
				c->fd = -1;
				bufferevent_setwatermark(c->bev, EV_WRITE, 0,
							 0);
				set_state(c, ST_DOT);
				set_timeouts(c, c->opt.data_timeout,
					     c->opt.timeout);
				return true;
			}
			if (want > left)
				want = (size_t)left;
		}
		ssize_t n = read(c->fd, in, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* Closing without the dot makes the server drop the
			 * partial message. */
			char error[ERRLEN];
			snprintf(error, sizeof(error),
				 "error reading message file %s: %s",
				 c->msg->path, strerror(errno));
			return protocol_error(c, "%s", error);
		}
		if (n == 0 && c->bdat)
			/* Shorter than announced: the chunk cannot be
			 * finished, so the connection must go. */
			return protocol_error(c, "message file %s shrank",
					      c->msg->path);
		if (n > 0 && c->bdat) {
			evbuffer_add(ob, in, (size_t)n);
			c->body_bytes += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			/* RFC 5321 §4.1.1.4: the data ends with CRLF before
			 * the final dot. */
			if (c->body_bytes > 0 &&
			    !(c->tail[0] == '\r' && c->tail[1] == '\n'))
				evbuffer_add(ob, "\r\n", 2);
			evbuffer_add(ob, ".\r\n", 3);
			log_debug("smtp %s: > (%" PRIu64 " bytes) .", c->peer,
				  c->body_bytes);
			close(c->fd);
			c->fd = -1;
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
			set_state(c, ST_DOT);
			set_timeouts(c, c->opt.data_timeout, c->opt.timeout);
			return true;
		}
		if (n >= 2) {
			c->tail[0] = in[n - 2];
			c->tail[1] = in[n - 1];
		} else {
			c->tail[0] = c->tail[1];
			c->tail[1] = in[0];
		}
		size_t m =
		    smtp_dot_encode(in, (size_t)n, out, &c->at_line_start);
		evbuffer_add(ob, out, m);
		c->body_bytes += (uint64_t)n;
	}
	return true;
}

static bool
start_body(struct smtp_client *c)
{
	set_state(c, ST_BODY);
	c->at_line_start = true;
	c->tail[0] = c->tail[1] = '\0';
	c->body_bytes = 0;
	/* No reply is due while the body goes out: only the output must
	 * keep moving. */
	set_timeouts(c, 0, c->opt.timeout);
	bufferevent_setwatermark(c->bev, EV_WRITE, CLIENT_OUTPUT_LOW, 0);
	return pump(c);
}

/* start_bdat - RFC 3030 §2: the whole message as one last chunk. */
static bool
start_bdat(struct smtp_client *c)
{
	send_line(c, NULL, "BDAT %" PRIu64 " LAST", c->bdat_size);
	set_state(c, ST_BDAT);
	c->body_bytes = 0;
	set_timeouts(c, 0, c->opt.timeout);
	bufferevent_setwatermark(c->bev, EV_WRITE, CLIENT_OUTPUT_LOW, 0);
	return pump(c);
}

/* --- replies --- */

static bool
host_said(struct smtp_client *c, const struct smtp_reply *r, const char *cmd,
	  bool permanent)
{
	char error[ERRLEN];
	snprintf(error, sizeof(error), "host %s said: %d %s (in reply to %s)",
		 c->peer, r->code, r->text, cmd);
	host_fail(c, permanent, false, error);
	return false;
}

static bool
auth_failed(struct smtp_client *c, const struct smtp_reply *r)
{
	char error[ERRLEN];
	snprintf(error, sizeof(error),
		 "host %s said: %d %s (in reply to AUTH command)", c->peer,
		 r->code, r->text);
	if (r->code >= 500) {
		/* Wrong credentials are wrong for every host. */
		log_info("%s", error);
		client_end(c, error, true);
		return false;
	}
	host_fail(c, false, false, error);
	return false;
}

static bool
handle_reply(struct smtp_client *c, const struct smtp_reply *r)
{
	struct smtp_client_msg *m = c->msg;
	char text[600];
	int code = r->code;
	bool ok = code >= 200 && code < 300;

	reply_text(r, text, sizeof(text));
	log_debug("smtp %s: < %s", c->peer, text);

	if (c->state == ST_IDLE) {
		/* Unasked (a 421 before the server closes): just go. */
		client_end(c, NULL, false);
		return false;
	}

	/* §3.8: 421 means the server is closing the channel. */
	if (code == 421 && c->ready && c->state != ST_QUIT) {
		char error[ERRLEN];
		snprintf(error, sizeof(error), "host %s said: %s", c->peer,
			 text);
		log_info("%s", error);
		close_bev(c);
		if (!fail_pending(c, 421, text))
			return false;
		client_end(c, error, false);
		return false;
	}

	switch (c->state) {
	case ST_GREETING:
		if (!ok) {
			char error[ERRLEN];
			snprintf(error, sizeof(error),
				 "host %s refused to talk to me: %s", c->peer,
				 text);
			host_fail(c, code >= 500, false, error);
			return false;
		}
		send_ehlo(c);
		return true;
	case ST_EHLO:
		if (ok) {
			c->esmtp = true;
			return client_after_ehlo(c);
		}
		if (code >= 500 && !c->tls_on) {
			/* RFC 5321 §3.2: fall back to HELO. */
			send_line(c, NULL, "HELO %s", c->opt.helo_name);
			set_state(c, ST_HELO);
			return true;
		}
		return host_said(c, r, "EHLO command", false);
	case ST_HELO:
		if (!ok)
			return host_said(c, r, "HELO command", code >= 500);
		return client_after_ehlo(c);
	case ST_STARTTLS:
		if (code == 220) {
			/* Anything after the 220 was sent before TLS and
			 * must not be read as if protected (CVE-2011-0411). */
			if (evbuffer_get_length(bufferevent_get_input(c->bev)) >
			    0)
				return protocol_error(
				    c, "%s: data after STARTTLS reply",
				    c->peer);
			return start_tls(c);
		}
		if (c->opt.tls_required)
			return host_said(c, r, "STARTTLS command", false);
		c->starttls = false;
		return client_after_ehlo(c);
	case ST_AUTH_PLAIN:
	case ST_AUTH_LOGIN_DONE:
		if (code == 235)
			return client_ready(c);
		return auth_failed(c, r);
	case ST_AUTH_LOGIN_USER:
		if (code != 334)
			return auth_failed(c, r);
		if (!send_b64(c, "", (const unsigned char *)c->opt.auth_user,
			      strlen(c->opt.auth_user)))
			return false;
		set_state(c, ST_AUTH_LOGIN_PASS);
		return true;
	case ST_AUTH_LOGIN_PASS:
		if (code != 334)
			return auth_failed(c, r);
		if (!send_b64(c, "",
			      (const unsigned char *)c->opt.auth_password,
			      strlen(c->opt.auth_password)))
			return false;
		set_state(c, ST_AUTH_LOGIN_DONE);
		return true;
	case ST_MAIL:
		c->mail_ok = ok;
		if (!ok)
			for (size_t k = 0; k < c->n_send; k++)
				set_rcpt(&m->rcpts[c->send_idx[k]], code, text);
		if (!c->pipelined) {
			if (!ok)
				return after_transaction(c, false);
			send_rcpt(c, &m->rcpts[c->send_idx[0]]);
		}
		c->rcpt_i = 0;
		set_state(c, ST_RCPT);
		return true;
	case ST_RCPT: {
		size_t i = c->send_idx[c->rcpt_i];
		if (c->mail_ok) {
			if (ok) {
				c->accepted[i] = true;
				c->n_accepted++;
			} else {
				set_rcpt(&m->rcpts[i], code, text);
			}
		}
		c->rcpt_i++;
		if (c->rcpt_i < c->n_send) {
			if (!c->pipelined)
				send_rcpt(c, &m->rcpts[c->send_idx[c->rcpt_i]]);
			return true;
		}
		if (c->bdat) {
			/* RFC 3030: the data, unless nobody takes it. */
			if (c->n_accepted == 0 || !c->mail_ok)
				return after_transaction(c, c->mail_ok);
			return start_bdat(c);
		}
		if (!c->pipelined) {
			if (c->n_accepted == 0)
				return after_transaction(c, true);
			send_line(c, NULL, "DATA");
		}
		set_state(c, ST_DATA);
		return true;
	}
	case ST_DATA:
		if (c->n_accepted == 0 || !c->mail_ok) {
			/* Pipelined DATA with nobody accepted: expect 503
			 * or 554; RFC 2920 §3.1 says to send the dot if it
			 * was 354 anyway. */
			if (code == 354) {
				evbuffer_add(bufferevent_get_output(c->bev),
					     ".\r\n", 3);
				set_state(c, ST_DOT_IGNORE);
				return finish_message(c);
			}
			return after_transaction(c, c->mail_ok);
		}
		if (code == 354)
			return start_body(c);
		for (size_t i = 0; i < m->n_rcpts; i++)
			if (c->accepted[i])
				set_rcpt(&m->rcpts[i], ok ? 451 : code,
					 ok ? "451 4.5.0 unexpected reply to "
					      "DATA"
					    : text);
		return after_transaction(c, true);
	case ST_DOT:
		for (size_t i = 0; i < m->n_rcpts; i++)
			if (c->accepted[i]) {
				set_rcpt(&m->rcpts[i], code, text);
				/* RFC 3461 §5.2: a DSN server reports on. */
				m->rcpts[i].dsn_passed = c->dsn;
			}
		log_debug("%s: sent to %s: %s", m->id, c->peer, text);
		return after_transaction(c, false);
	case ST_DOT_IGNORE:
		return next_message(c);
	case ST_RSET:
		if (!ok) {
			send_line(c, NULL, "QUIT");
			set_state(c, ST_QUIT);
			return true;
		}
		return next_message(c);
	case ST_QUIT:
		client_end(c, NULL, false);
		return false;
	default:
		return protocol_error(c, "%s: unexpected reply in state %s",
				      c->peer, state_names[c->state]);
	}
}

/* client_process - every complete reply in the input, in order.
 * Returns false when c is gone or its bufferevent was replaced. */
static bool
client_process(struct smtp_client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	/* Bounded by the input buffer: each turn takes one line. */
	for (;;) {
		switch (c->state) {
		case ST_START:
		case ST_CONNECTING:
		case ST_TLS_HANDSHAKE:
		case ST_BODY:
		case ST_BDAT:
		case ST_DEAD:
			return true;
		default:
			break;
		}
		size_t len = 0;
		enum line_status ls = line_read(in, c->line, CLIENT_LINE_MAX,
						&len, &c->line_overflow);
		if (ls == LINE_NONE)
			return true;
		if (ls == LINE_TOO_LONG)
			return protocol_error(c, "%s: reply line too long",
					      c->peer);
		enum smtp_reply_status rs =
		    smtp_reply_feed(&c->reply, c->line, len);
		if (rs == SMTP_REPLY_ERROR)
			return protocol_error(c, "%s: malformed reply: %.100s",
					      c->peer, c->line);
		if (c->state == ST_EHLO && c->reply.n_lines > 1)
			ehlo_line(c, c->line, len);
		if (rs == SMTP_REPLY_MORE)
			continue;
		struct smtp_reply r = c->reply;
		memset(&c->reply, 0, sizeof(c->reply));
		if (!handle_reply(c, &r))
			return false;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_client *c = arg;
	(void)bev;
	if (c->state != ST_BODY && c->state != ST_BDAT)
		return;
	if (!pump(c))
		return;
	if (c->state == ST_DOT)
		client_process(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_client *c = arg;
	char error[ERRLEN];
	(void)bev;

	if (c->state == ST_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED) {
			evtimer_del(c->timer);
			set_state(c, ST_GREETING);
			set_timeouts(c, c->opt.timeout, c->opt.timeout);
			return;
		}
		int err = EVUTIL_SOCKET_ERROR();
		snprintf(error, sizeof(error), "connect to %s:%u: %s", c->peer,
			 (unsigned)c->opt.port,
			 what & BEV_EVENT_TIMEOUT ? "Connection timed out"
			 : err != 0		  ? strerror(err)
						  : "Connection refused");
		host_fail(c, false, false, error);
		return;
	}
	if (c->state == ST_TLS_HANDSHAKE) {
		if (what & BEV_EVENT_CONNECTED) {
			c->tls_on = true;
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			log_info("smtp %s: TLS established: %s %s", c->peer,
				 SSL_get_version(ssl),
				 SSL_get_cipher_name(ssl));
			send_ehlo(c);
			return;
		}
		tls_failed(c);
		return;
	}
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(error, sizeof(error),
			 "conversation with %s timed out while %s", c->peer,
			 state_doing[c->state]);
	else if (what & BEV_EVENT_EOF)
		snprintf(error, sizeof(error),
			 "lost connection with %s while %s", c->peer,
			 state_doing[c->state]);
	else
		snprintf(error, sizeof(error),
			 "lost connection with %s while %s: %s", c->peer,
			 state_doing[c->state],
			 strerror(EVUTIL_SOCKET_ERROR()));
	conn_failed(c, 0, error);
}

/* --- life cycle --- */

struct smtp_client *
smtp_client_start(struct event_base *base, const struct dns_result *hosts,
		  const struct smtp_client_options *opt,
		  const struct smtp_client_ops *ops, void *arg)
{
	struct smtp_client *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->ops = *ops;
	c->arg = arg;
	c->opt = *opt;
	c->opt.helo_name =
	    xstrdup(opt->helo_name != NULL ? opt->helo_name : "localhost");
	c->opt.auth_user = opt->auth_user != NULL && opt->auth_user[0] != '\0'
			       ? xstrdup(opt->auth_user)
			       : NULL;
	c->opt.auth_password =
	    c->opt.auth_user != NULL
		? xstrdup(opt->auth_password != NULL ? opt->auth_password : "")
		: NULL;
	if (c->opt.port == 0)
		c->opt.port = 25;
	if (c->opt.timeout == 0)
		c->opt.timeout = DEFAULT_TIMEOUT;
	if (c->opt.data_timeout == 0)
		c->opt.data_timeout = DEFAULT_DATA_TO;
	c->hosts = xmalloc(sizeof(*c->hosts));
	*c->hosts = *hosts;
	if (c->hosts->n_hosts > DNS_MAX_HOSTS)
		c->hosts->n_hosts = DNS_MAX_HOSTS;
	c->fd = -1;
	c->all_perm = true;
	c->state = ST_START;
	snprintf(c->peer, sizeof(c->peer), "(none)");
	c->timer = evtimer_new(base, timer_cb, c);
	if (c->timer == NULL)
		fatal("smtp_client: cannot create a timer");
	/* Every callback happens later on the loop. */
	struct timeval now = {0, 0};
	evtimer_add(c->timer, &now);
	return c;
}

void
smtp_client_wake(struct smtp_client *c)
{
	if (c->state != ST_IDLE || c->wake)
		return;
	c->wake = true;
	struct timeval now = {0, 0};
	evtimer_add(c->timer, &now); /* later on the loop, never now */
}

void
smtp_client_abort(struct smtp_client *c)
{
	if (c->state == ST_DEAD || c->aborting)
		return;
	if (c->depth > 0) {
		c->abort_requested = true;
		return;
	}
	client_do_abort(c);
}
