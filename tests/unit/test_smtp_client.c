/*
 * test_smtp_client - the outbound SMTP client against a scriptable fake
 * server on 127.0.0.x, both on one libevent loop.
 *
 * The fake records every command line with the connection and the read
 * (batch) it arrived in, so a test can check the order of commands, that
 * a pipelined group came in one read, and the exact (dot-stuffed) bytes
 * of each message. Every loop run is bounded by a 10 s guard timer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtp/smtp_client.h"
#include "util/log.h"

#define MAX_CMDS  512
#define MAX_MSGS  8
#define MAX_FAKES 3

/* --- the fake server --- */

struct fake_cmd {
	char line[600];
	int conn;
	int batch;
	bool tls;
};

struct fake {
	struct event_base *base;
	struct evconnlistener *lev;
	/* The script. */
	int greeting;	    /* 220; 0 = never greet */
	const char *caps;   /* "PIPELINING|SIZE 100"; NULL: EHLO gets 502 */
	int mail_code;	    /* 0 = 250 */
	int rcpt_codes[16]; /* by RCPT position in the transaction; 0 = 250 */
	int dot_code;	    /* 0 = 250 */
	int auth_code;	    /* final AUTH reply; 0 = 235 */
	bool drop_in_data;  /* close when message bytes arrive */
	SSL_CTX *ssl_ctx;   /* STARTTLS works when set */
	/* What happened. */
	int n_conns;
	int n_batches;
	size_t n_cmds;
	struct fake_cmd cmds[MAX_CMDS];
	size_t n_msgs;
	char *msgs[MAX_MSGS]; /* raw DATA bytes up to and with ".\r\n" */
	char sni[256];
	struct fake_conn *conns[16]; /* open ones, freed with the fake */
};

struct fake_conn {
	struct fake *f;
	struct bufferevent *bev;
	int id;
	bool tls;
	bool in_data;
	bool closing;
	int auth_step;	  /* AUTH LOGIN: 1 = user next, 2 = password next */
	size_t bdat_left; /* BDAT octets still to come */
	bool bdat_last;
	struct evbuffer *data;
	int n_rcpt, n_rcpt_ok;
	bool mail_ok;
};

static void fake_read_cb(struct bufferevent *bev, void *arg);

static void
fake_conn_free(struct fake_conn *fc)
{
	for (size_t i = 0; i < 16; i++)
		if (fc->f->conns[i] == fc)
			fc->f->conns[i] = NULL;
	bufferevent_free(fc->bev);
	evbuffer_free(fc->data);
	free(fc);
}

static void fake_reply(struct fake_conn *fc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fake_reply(struct fake_conn *fc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(fc->bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(fc->bev), "\r\n", 2);
}

static const char *
code_text(int code)
{
	switch (code) {
	case 250:
		return "250 2.1.5 Ok";
	case 450:
		return "450 4.2.0 <x>: mailbox busy";
	case 550:
		return "550 5.1.1 <x>: no such user";
	case 452:
		return "452 4.5.3 too many recipients";
	default:
		return NULL;
	}
}

/* fake_bdat_done - a whole chunk is in: keep the message at LAST. */
static void
fake_bdat_done(struct fake_conn *fc)
{
	struct fake *f = fc->f;

	if (!fc->bdat_last) {
		fake_reply(fc, "250 2.0.0 Ok: chunk");
		return;
	}
	size_t len = evbuffer_get_length(fc->data);
	char *copy = malloc(len + 1);
	assert_non_null(copy);
	evbuffer_remove(fc->data, copy, len);
	copy[len] = '\0';
	if (f->n_msgs < MAX_MSGS)
		f->msgs[f->n_msgs++] = copy;
	else
		free(copy);
	fc->mail_ok = false;
	fake_reply(fc, "250 2.0.0 Ok: queued as Q%zu", f->n_msgs);
}

/* fake_command - one line; false when fc was freed or replaced. */
static bool
fake_command(struct fake_conn *fc, const char *line, int batch)
{
	struct fake *f = fc->f;

	if (f->n_cmds < MAX_CMDS) {
		struct fake_cmd *c = &f->cmds[f->n_cmds++];
		snprintf(c->line, sizeof(c->line), "%s", line);
		c->conn = fc->id;
		c->batch = batch;
		c->tls = fc->tls;
	}
	if (fc->auth_step == 1) {
		fc->auth_step = 2;
		fake_reply(fc, "334 UGFzc3dvcmQ6");
	} else if (fc->auth_step == 2) {
		fc->auth_step = 0;
		fake_reply(fc, "%d auth", f->auth_code ? f->auth_code : 235);
	} else if (strncasecmp(line, "EHLO", 4) == 0) {
		if (f->caps == NULL) {
			fake_reply(fc,
				   "502 5.5.2 Error: command not recognized");
			return true;
		}
		char caps[512];
		snprintf(caps, sizeof(caps), "%s", f->caps);
		fake_reply(fc, "250-fake.test");
		char *save = NULL;
		char *tok = strtok_r(caps, "|", &save);
		while (tok != NULL) {
			char *nexttok = strtok_r(NULL, "|", &save);
			if (fc->tls && strcmp(tok, "STARTTLS") == 0) {
				tok = nexttok;
				continue;
			}
			fake_reply(fc, "250%c%s", nexttok ? '-' : ' ', tok);
			tok = nexttok;
		}
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		fake_reply(fc, "250 fake.test");
	} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
		fake_reply(fc, "220 2.0.0 Ready to start TLS");
		struct bufferevent *tls = bufferevent_openssl_filter_new(
		    f->base, fc->bev, SSL_new(f->ssl_ctx),
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		assert_non_null(tls);
		fc->bev = tls;
		fc->tls = true;
		bufferevent_setcb(tls, fake_read_cb, NULL, NULL, fc);
		bufferevent_enable(tls, EV_READ | EV_WRITE);
		return false;
	} else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
		fake_reply(fc, "%d auth", f->auth_code ? f->auth_code : 235);
	} else if (strncasecmp(line, "AUTH LOGIN", 10) == 0) {
		fc->auth_step = 1;
		fake_reply(fc, "334 VXNlcm5hbWU6");
	} else if (strncasecmp(line, "MAIL", 4) == 0) {
		fc->n_rcpt = fc->n_rcpt_ok = 0;
		int code = f->mail_code ? f->mail_code : 250;
		fc->mail_ok = code == 250;
		fake_reply(fc, "%d %s", code,
			   code == 250 ? "2.1.0 Ok" : "5.7.1 sender refused");
	} else if (strncasecmp(line, "RCPT", 4) == 0 && !fc->mail_ok) {
		fake_reply(fc, "503 5.5.1 Error: need MAIL command");
	} else if (strncasecmp(line, "RCPT", 4) == 0) {
		int code = fc->n_rcpt < 16 ? f->rcpt_codes[fc->n_rcpt] : 0;
		fc->n_rcpt++;
		if (code == 0)
			code = 250;
		if (code == 250)
			fc->n_rcpt_ok++;
		fake_reply(fc, "%s", code_text(code));
	} else if (strncasecmp(line, "DATA", 4) == 0) {
		if (fc->n_rcpt_ok == 0) {
			fake_reply(fc, "554 5.5.1 Error: no valid recipients");
			return true;
		}
		fc->in_data = true;
		fake_reply(fc, "354 End data with <CR><LF>.<CR><LF>");
	} else if (strncasecmp(line, "BDAT ", 5) == 0) {
		/* RFC 3030: exactly n octets follow, no reply until then. */
		char *end = NULL;
		fc->bdat_left = strtoul(line + 5, &end, 10);
		fc->bdat_last = end != NULL && strcasecmp(end, " LAST") == 0;
		if (fc->bdat_left == 0)
			fake_bdat_done(fc);
	} else if (strncasecmp(line, "RSET", 4) == 0) {
		fc->mail_ok = false;
		fake_reply(fc, "250 2.0.0 Ok");
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		fake_reply(fc, "221 2.0.0 Bye");
		fc->closing = true;
	} else {
		fake_reply(fc, "502 5.5.2 Error: command not recognized");
	}
	return true;
}

/* fake_data - DATA bytes; true when the end mark was seen. */
static bool
fake_data(struct fake_conn *fc, struct evbuffer *in)
{
	struct fake *f = fc->f;

	evbuffer_add_buffer(fc->data, in);
	size_t len = evbuffer_get_length(fc->data);
	const char *p = (const char *)evbuffer_pullup(fc->data, -1);
	bool end = (len == 3 && memcmp(p, ".\r\n", 3) == 0) ||
		   (len >= 5 && memcmp(p + len - 5, "\r\n.\r\n", 5) == 0);
	if (!end)
		return false;
	if (f->n_msgs < MAX_MSGS) {
		char *copy = malloc(len + 1);
		assert_non_null(copy);
		memcpy(copy, p, len);
		copy[len] = '\0';
		f->msgs[f->n_msgs++] = copy;
	}
	evbuffer_drain(fc->data, len);
	fc->in_data = false;
	fc->mail_ok = false;
	int code = f->dot_code ? f->dot_code : 250;
	if (code == 250)
		fake_reply(fc, "250 2.0.0 Ok: queued as Q%zu", f->n_msgs);
	else
		fake_reply(fc, "%d %s", code,
			   code >= 500 ? "5.7.1 content rejected"
				       : "4.3.0 try again later");
	return true;
}

static void
fake_read_cb(struct bufferevent *bev, void *arg)
{
	struct fake_conn *fc = arg;
	struct fake *f = fc->f;
	struct evbuffer *in = bufferevent_get_input(bev);
	int batch = ++f->n_batches;

	for (int guard = 0; guard < 10000; guard++) {
		if (fc->bdat_left > 0) {
			size_t n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > fc->bdat_left)
				n = fc->bdat_left;
			evbuffer_remove_buffer(in, fc->data, n);
			fc->bdat_left -= n;
			if (fc->bdat_left == 0)
				fake_bdat_done(fc);
			continue;
		}
		if (fc->in_data) {
			if (evbuffer_get_length(in) == 0)
				return;
			if (f->drop_in_data) {
				fake_conn_free(fc);
				return;
			}
			if (!fake_data(fc, in))
				return;
			continue;
		}
		size_t n;
		char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL)
			return;
		bool go_on = fake_command(fc, line, batch);
		free(line);
		if (!go_on)
			return;
	}
}

static void
fake_write_cb(struct bufferevent *bev, void *arg)
{
	struct fake_conn *fc = arg;
	if (fc->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		fake_conn_free(fc);
}

static void
fake_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_conn_free(arg);
}

static void
fake_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
	    int salen, void *arg)
{
	struct fake *f = arg;
	struct fake_conn *fc = calloc(1, sizeof(*fc));
	(void)lev;
	(void)sa;
	(void)salen;

	assert_non_null(fc);
	fc->f = f;
	fc->id = ++f->n_conns;
	fc->data = evbuffer_new();
	for (size_t i = 0; i < 16; i++)
		if (f->conns[i] == NULL) {
			f->conns[i] = fc;
			break;
		}
	fc->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(fc->bev, fake_read_cb, fake_write_cb, fake_event_cb,
			  fc);
	bufferevent_enable(fc->bev, EV_READ | EV_WRITE);
	if (f->greeting != 0)
		fake_reply(fc, "%d %s", f->greeting,
			   f->greeting == 220 ? "fake.test ESMTP"
					      : "fake.test go away");
}

static int
fake_listen(struct fake *f, struct event_base *base, const char *ip,
	    uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	f->base = base;
	f->lev = evconnlistener_new_bind(
	    base, fake_accept, f, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
	    (struct sockaddr *)&sin, sizeof(sin));
	if (f->lev == NULL)
		return -1;
	struct sockaddr_in got;
	socklen_t len = sizeof(got);
	getsockname(evconnlistener_get_fd(f->lev), (struct sockaddr *)&got,
		    &len);
	return ntohs(got.sin_port);
}

static void
fake_free(struct fake *f)
{
	if (f->lev != NULL)
		evconnlistener_free(f->lev);
	for (size_t i = 0; i < 16; i++)
		if (f->conns[i] != NULL)
			fake_conn_free(f->conns[i]);
	for (size_t i = 0; i < f->n_msgs; i++)
		free(f->msgs[i]);
}

/* --- the scheduler's side --- */

struct rig {
	struct event_base *base;
	struct event *guard;
	bool timed_out;
	struct fake fakes[MAX_FAKES];
	uint16_t port;
	char dir[64];
	/* Messages handed out by next(). */
	struct smtp_client_msg msgs[MAX_MSGS];
	struct smtp_client_rcpt rcpts[MAX_MSGS][8];
	size_t n_msgs, next_i;
	int n_next, n_done;
	struct smtp_client_msg *done_order[MAX_MSGS];
	bool closed;
	char error[1024];
	bool permanent;
	struct smtp_client *client;
	bool abort_in_done;
};

static struct smtp_client_msg *
ops_next(void *arg)
{
	struct rig *r = arg;
	r->n_next++;
	if (r->next_i >= r->n_msgs)
		return NULL;
	return &r->msgs[r->next_i++];
}

static void
ops_done(struct smtp_client_msg *msg, void *arg)
{
	struct rig *r = arg;
	if (r->n_done < MAX_MSGS)
		r->done_order[r->n_done] = msg;
	r->n_done++;
	if (r->abort_in_done)
		smtp_client_abort(r->client);
}

static void
ops_closed(const char *error, bool permanent, void *arg)
{
	struct rig *r = arg;
	assert_false(r->closed);
	r->closed = true;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
	r->permanent = permanent;
	event_base_loopexit(r->base, NULL);
}

static const struct smtp_client_ops ops = {ops_next, ops_done, ops_closed};

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rig *r = arg;
	(void)fd;
	(void)what;
	r->timed_out = true;
	event_base_loopbreak(r->base);
}

/* rig_new - n fakes on 127.0.0.1, .2, ... sharing one port. */
static struct rig *
rig_new(size_t n_fakes)
{
	struct rig *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->base = event_base_new();
	assert_non_null(r->base);
	for (int attempt = 0; attempt < 20; attempt++) {
		memset(r->fakes, 0, sizeof(r->fakes));
		int port = fake_listen(&r->fakes[0], r->base, "127.0.0.1", 0);
		assert_true(port > 0);
		size_t ok = 1;
		for (size_t i = 1; i < n_fakes; i++) {
			char ip[32];
			snprintf(ip, sizeof(ip), "127.0.0.%zu", i + 1);
			if (fake_listen(&r->fakes[i], r->base, ip,
					(uint16_t)port) < 0)
				break;
			ok++;
		}
		if (ok == n_fakes) {
			r->port = (uint16_t)port;
			break;
		}
		for (size_t i = 0; i < ok; i++)
			fake_free(&r->fakes[i]);
	}
	assert_true(r->port != 0);
	for (size_t i = 0; i < MAX_FAKES; i++)
		r->fakes[i].greeting = 220;
	snprintf(r->dir, sizeof(r->dir), "/tmp/petrel-smtpc-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	r->guard = evtimer_new(r->base, guard_cb, r);
	return r;
}

static void
rig_free(struct rig *r)
{
	for (size_t i = 0; i < MAX_FAKES; i++)
		fake_free(&r->fakes[i]);
	for (size_t i = 0; i < r->n_msgs; i++) {
		unlink(r->msgs[i].path);
		free((char *)(uintptr_t)r->msgs[i].path);
	}
	rmdir(r->dir);
	event_free(r->guard);
	event_base_free(r->base);
	free(r);
}

/* rig_msg - a message file with content, to n rcpts r0@x.test, ... */
static struct smtp_client_msg *
rig_msg(struct rig *r, const char *content, size_t len, size_t n_rcpts)
{
	size_t i = r->n_msgs++;
	struct smtp_client_msg *m = &r->msgs[i];
	char path[128];

	assert_true(i < MAX_MSGS);
	snprintf(path, sizeof(path), "%s/m%zu", r->dir, i);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, len, fp), len);
	fclose(fp);
	static char addrs[MAX_MSGS][8][32];
	for (size_t k = 0; k < n_rcpts; k++) {
		snprintf(addrs[i][k], sizeof(addrs[i][k]), "r%zu@x.test", k);
		r->rcpts[i][k].address = addrs[i][k];
	}
	m->id = "TESTID";
	m->sender = "s@y.test";
	m->path = strdup(path);
	m->size = len;
	m->n_rcpts = n_rcpts;
	m->rcpts = r->rcpts[i];
	return m;
}

static void
add_host(struct dns_result *d, const char *name, const char *ip)
{
	struct dns_host *h = NULL;
	for (size_t i = 0; i < d->n_hosts; i++)
		if (strcmp(d->hosts[i].name, name) == 0)
			h = &d->hosts[i];
	if (h == NULL) {
		h = &d->hosts[d->n_hosts++];
		snprintf(h->name, sizeof(h->name), "%s", name);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&h->addrs[h->n_addrs++];
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
}

static void
rig_run(struct rig *r, const struct dns_result *d, SSL_CTX *tls)
{
	struct smtp_client_options opt = {
	    .helo_name = "client.test",
	    .port = r->port,
	    .tls_ctx = tls,
	    .timeout = 5,
	    .data_timeout = 5,
	};
	struct timeval tv = {10, 0};
	evtimer_add(r->guard, &tv);
	r->client = smtp_client_start(r->base, d, &opt, &ops, r);
	event_base_dispatch(r->base);
	assert_false(r->timed_out);
	assert_true(r->closed);
}

static void
run_one_host(struct rig *r, SSL_CTX *tls)
{
	static struct dns_result d;
	memset(&d, 0, sizeof(d));
	add_host(&d, "mx.test", "127.0.0.1");
	rig_run(r, &d, tls);
}

/* cmd_index - the position of the first command starting with prefix
 * at or after from, or -1. */
static int
cmd_index(const struct fake *f, const char *prefix, size_t from)
{
	for (size_t i = from; i < f->n_cmds; i++)
		if (strncmp(f->cmds[i].line, prefix, strlen(prefix)) == 0)
			return (int)i;
	return -1;
}

static size_t
count_cmds(const struct fake *f, const char *prefix)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n_cmds; i++)
		if (strncmp(f->cmds[i].line, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

#define MSG1 "Subject: one\r\n\r\nhello\r\n"

/* --- the tests --- */

/* Three messages over one connection, pipelined, in order. */
static void
test_reuse_pipelining(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING|SIZE 100000|8BITMIME";
	rig_msg(r, MSG1, strlen(MSG1), 1);
	rig_msg(r, MSG1, strlen(MSG1), 2)->eightbit = true;
	rig_msg(r, MSG1, strlen(MSG1), 3);
	run_one_host(r, NULL);

	struct fake *f = &r->fakes[0];
	assert_string_equal(r->error, "");
	assert_false(r->permanent);
	assert_int_equal(f->n_conns, 1);
	assert_int_equal(r->n_done, 3);
	assert_int_equal(r->n_next, 4);
	assert_int_equal(f->n_msgs, 3);
	static const char *const want[] = {
	    "EHLO client.test",
	    "MAIL FROM:<s@y.test> SIZE=23",
	    "RCPT TO:<r0@x.test>",
	    "DATA",
	    "MAIL FROM:<s@y.test> SIZE=23 BODY=8BITMIME",
	    "RCPT TO:<r0@x.test>",
	    "RCPT TO:<r1@x.test>",
	    "DATA",
	    "MAIL FROM:<s@y.test> SIZE=23",
	    "RCPT TO:<r0@x.test>",
	    "RCPT TO:<r1@x.test>",
	    "RCPT TO:<r2@x.test>",
	    "DATA",
	    "QUIT",
	};
	assert_int_equal(f->n_cmds, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f->n_cmds; i++)
		assert_string_equal(f->cmds[i].line, want[i]);
	/* RFC 2920: MAIL, the RCPTs and DATA arrive in one read. */
	for (size_t i = 2; i <= 3; i++)
		assert_int_equal(f->cmds[i].batch, f->cmds[1].batch);
	for (size_t i = 9; i <= 12; i++)
		assert_int_equal(f->cmds[i].batch, f->cmds[8].batch);
	for (size_t m = 0; m < 3; m++) {
		char want_text[64];
		assert_ptr_equal(r->done_order[m], &r->msgs[m]);
		assert_string_equal(f->msgs[m], MSG1 ".\r\n");
		snprintf(want_text, sizeof(want_text),
			 "250 2.0.0 Ok: queued as Q%zu", m + 1);
		for (size_t k = 0; k < r->msgs[m].n_rcpts; k++) {
			assert_int_equal(r->msgs[m].rcpts[k].result,
					 SMTP_CLIENT_OK);
			assert_int_equal(r->msgs[m].rcpts[k].code, 250);
			assert_string_equal(r->msgs[m].rcpts[k].text,
					    want_text);
		}
	}
	rig_free(r);
}

/* Per-recipient outcomes, with and without PIPELINING. */
static void
test_rcpt_mix(void **state)
{
	(void)state;
	for (int pipelining = 0; pipelining < 2; pipelining++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = pipelining ? "PIPELINING" : "8BITMIME";
		f->rcpt_codes[1] = 550;
		f->rcpt_codes[2] = 450;
		struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 4);
		run_one_host(r, NULL);

		assert_int_equal(r->n_done, 1);
		assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
		assert_string_equal(m->rcpts[0].text,
				    "250 2.0.0 Ok: queued as Q1");
		assert_int_equal(m->rcpts[1].result, SMTP_CLIENT_PERM);
		assert_int_equal(m->rcpts[1].code, 550);
		assert_string_equal(m->rcpts[1].text,
				    "550 5.1.1 <x>: no such user");
		assert_int_equal(m->rcpts[2].result, SMTP_CLIENT_TEMP);
		assert_int_equal(m->rcpts[2].code, 450);
		assert_string_equal(m->rcpts[2].text,
				    "450 4.2.0 <x>: mailbox busy");
		assert_int_equal(m->rcpts[3].result, SMTP_CLIENT_OK);
		/* No SIZE announced: no SIZE= parameter. */
		assert_string_equal(f->cmds[1].line, "MAIL FROM:<s@y.test>");
		int mail = cmd_index(f, "MAIL", 0);
		int data = cmd_index(f, "DATA", 0);
		assert_int_equal(data - mail, 5);
		if (pipelining)
			assert_int_equal(f->cmds[data].batch,
					 f->cmds[mail].batch);
		else
			/* Step by step: each command after a reply. */
			for (int i = mail + 1; i <= data; i++)
				assert_true(f->cmds[i].batch >
					    f->cmds[i - 1].batch);
		rig_free(r);
	}
}

/* No recipient accepted: no message data; RSET; the next one goes. */
static void
test_no_rcpt_accepted(void **state)
{
	(void)state;
	for (int pipelining = 0; pipelining < 2; pipelining++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = pipelining ? "PIPELINING" : "SIZE";
		f->rcpt_codes[0] = 550;
		f->rcpt_codes[1] = 450;
		struct smtp_client_msg *m1 = rig_msg(r, MSG1, strlen(MSG1), 2);
		struct smtp_client_msg *m2 = rig_msg(r, MSG1, strlen(MSG1), 1);
		run_one_host(r, NULL);

		assert_int_equal(r->n_done, 2);
		assert_int_equal(m1->rcpts[0].result, SMTP_CLIENT_PERM);
		assert_int_equal(m1->rcpts[1].result, SMTP_CLIENT_TEMP);
		/* The second transaction's first RCPT is refused too. */
		assert_int_equal(m2->rcpts[0].result, SMTP_CLIENT_PERM);
		assert_int_equal(f->n_msgs, 0);
		assert_int_equal(count_cmds(f, "RSET"), 2);
		assert_int_equal(count_cmds(f, "DATA"), pipelining ? 2 : 0);
		assert_int_equal(count_cmds(f, "MAIL"), 2);
		assert_int_equal(f->n_conns, 1);
		rig_free(r);
	}
}

/* MAIL refused: every recipient gets its reply. */
static void
test_mail_refused(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING";
	r->fakes[0].mail_code = 550;
	struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 2);
	run_one_host(r, NULL);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(m->rcpts[k].result, SMTP_CLIENT_PERM);
		assert_string_equal(m->rcpts[k].text,
				    "550 5.7.1 sender refused");
	}
	assert_int_equal(r->fakes[0].n_msgs, 0);
	assert_int_equal(count_cmds(&r->fakes[0], "QUIT"), 1);
	rig_free(r);
}

/* EHLO refused: HELO, and plain MAIL. */
static void
test_helo_fallback(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = NULL;
	struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 1);
	m->eightbit = true;
	run_one_host(r, NULL);
	struct fake *f = &r->fakes[0];
	assert_string_equal(f->cmds[0].line, "EHLO client.test");
	assert_string_equal(f->cmds[1].line, "HELO client.test");
	assert_string_equal(f->cmds[2].line, "MAIL FROM:<s@y.test>");
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
	assert_int_equal(f->n_msgs, 1);
	rig_free(r);
}

/* SIZE: a message over the limit is refused without sending it. */
static void
test_size_limit(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING|SIZE 100";
	char big[300];
	memset(big, 'x', sizeof(big));
	struct smtp_client_msg *m1 = rig_msg(r, big, sizeof(big), 2);
	struct smtp_client_msg *m2 = rig_msg(r, MSG1, strlen(MSG1), 1);
	run_one_host(r, NULL);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(m1->rcpts[k].result, SMTP_CLIENT_PERM);
		assert_int_equal(m1->rcpts[k].code, 552);
		assert_string_equal(m1->rcpts[k].text,
				    "552 5.3.4 message too big for remote "
				    "server (limit 100)");
	}
	assert_int_equal(m2->rcpts[0].result, SMTP_CLIENT_OK);
	assert_int_equal(count_cmds(&r->fakes[0], "MAIL"), 1);
	assert_int_equal(r->fakes[0].n_msgs, 1);
	rig_free(r);
}

/* stuff - the expected wire form (test's own simple encoder). */
static char *
stuff(const char *in, size_t len)
{
	char *out = malloc(2 * len + 8);
	size_t o = 0;
	bool bol = true;
	assert_non_null(out);
	for (size_t i = 0; i < len; i++) {
		if (bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		bol = in[i] == '\n';
	}
	if (len > 0 &&
	    !(len >= 2 && in[len - 2] == '\r' && in[len - 1] == '\n')) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 4);
	return out;
}

/* Leading dots are doubled; a missing final CRLF is added; a message of
 * several chunks streams whole. */
static void
test_dot_stuffing(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING";
	static const char small[] = ".leading\r\nmid\r\n..two\r\n.\r\nx.\r\n.";
	rig_msg(r, small, sizeof(small) - 1, 1);
	size_t biglen = 3 * 65536 + 1234;
	char *big = malloc(biglen);
	assert_non_null(big);
	for (size_t i = 0; i < biglen; i++)
		big[i] = "ab.\r\n.c\r\n"[i % 9];
	rig_msg(r, big, biglen, 1);
	rig_msg(r, "", 0, 1);
	run_one_host(r, NULL);

	struct fake *f = &r->fakes[0];
	assert_int_equal(f->n_msgs, 3);
	char *want = stuff(small, sizeof(small) - 1);
	assert_string_equal(f->msgs[0],
			    "..leading\r\nmid\r\n...two\r\n..\r\nx.\r\n..\r\n"
			    ".\r\n");
	assert_string_equal(f->msgs[0], want);
	free(want);
	want = stuff(big, biglen);
	assert_int_equal(strlen(f->msgs[1]), strlen(want));
	assert_true(strcmp(f->msgs[1], want) == 0);
	free(want);
	assert_string_equal(f->msgs[2], ".\r\n");
	for (size_t m = 0; m < 3; m++)
		assert_int_equal(r->msgs[m].rcpts[0].result, SMTP_CLIENT_OK);
	free(big);
	rig_free(r);
}

/* A 4xx greeting: the next host is used. */
static void
test_greeting_4xx_next_host(void **state)
{
	(void)state;
	struct rig *r = rig_new(2);
	r->fakes[0].caps = "PIPELINING";
	r->fakes[1].caps = "PIPELINING";
	r->fakes[1].greeting = 421;
	rig_msg(r, MSG1, strlen(MSG1), 1);
	static struct dns_result d;
	memset(&d, 0, sizeof(d));
	add_host(&d, "mx1.test", "127.0.0.2");
	add_host(&d, "mx2.test", "127.0.0.1");
	rig_run(r, &d, NULL);
	assert_int_equal(r->fakes[1].n_conns, 1);
	assert_int_equal(r->fakes[1].n_cmds, 0);
	assert_int_equal(r->fakes[0].n_conns, 1);
	assert_int_equal(r->fakes[0].n_msgs, 1);
	assert_int_equal(r->msgs[0].rcpts[0].result, SMTP_CLIENT_OK);
	assert_string_equal(r->error, "");
	rig_free(r);
}

/* Connection refused: the next address of the same host. */
static void
test_refused_next_address(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING";
	rig_msg(r, MSG1, strlen(MSG1), 1);
	static struct dns_result d;
	memset(&d, 0, sizeof(d));
	add_host(&d, "mx.test", "127.0.0.3");
	add_host(&d, "mx.test", "127.0.0.1");
	rig_run(r, &d, NULL);
	assert_int_equal(r->fakes[0].n_msgs, 1);
	assert_int_equal(r->msgs[0].rcpts[0].result, SMTP_CLIENT_OK);
	rig_free(r);
}

/* Nothing reachable: closed(error), no message pulled. */
static void
test_all_down(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	rig_msg(r, MSG1, strlen(MSG1), 1);
	static struct dns_result d;
	memset(&d, 0, sizeof(d));
	add_host(&d, "mx1.test", "127.0.0.3");
	add_host(&d, "mx2.test", "127.0.0.4");
	rig_run(r, &d, NULL);
	assert_int_equal(r->n_next, 0);
	assert_int_equal(r->n_done, 0);
	assert_false(r->permanent);
	assert_non_null(strstr(r->error, "connect to mx2.test[127.0.0.4]:"));
	assert_non_null(strstr(r->error, "Connection refused"));
	rig_free(r);

	/* No host at all. */
	r = rig_new(1);
	memset(&d, 0, sizeof(d));
	rig_run(r, &d, NULL);
	assert_int_equal(r->n_next, 0);
	assert_true(strlen(r->error) > 0);
	rig_free(r);
}

/* Every host greets 5xx: permanent; a 4xx among them: temporary. */
static void
test_all_5xx(void **state)
{
	(void)state;
	for (int mixed = 0; mixed < 2; mixed++) {
		struct rig *r = rig_new(2);
		r->fakes[0].greeting = 554;
		r->fakes[1].greeting = mixed ? 421 : 554;
		static struct dns_result d;
		memset(&d, 0, sizeof(d));
		add_host(&d, "mx1.test", "127.0.0.1");
		add_host(&d, "mx2.test", "127.0.0.2");
		rig_run(r, &d, NULL);
		assert_int_equal(r->n_next, 0);
		assert_int_equal(r->fakes[0].n_conns, 1);
		assert_int_equal(r->fakes[1].n_conns, 1);
		assert_true(r->permanent == !mixed);
		assert_non_null(strstr(r->error, "refused to talk to me"));
		rig_free(r);
	}
}

/* Dropped during DATA: the message is deferred, the connection over. */
static void
test_drop_in_data(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].caps = "PIPELINING";
	r->fakes[0].drop_in_data = true;
	r->fakes[0].rcpt_codes[1] = 550;
	struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 2);
	rig_msg(r, MSG1, strlen(MSG1), 1);
	run_one_host(r, NULL);
	assert_int_equal(r->n_done, 1);
	assert_int_equal(r->n_next, 1);
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_TEMP);
	assert_int_equal(m->rcpts[0].code, 0);
	assert_non_null(strstr(m->rcpts[0].text, "lost connection"));
	/* The refused one keeps its own answer. */
	assert_int_equal(m->rcpts[1].result, SMTP_CLIENT_PERM);
	assert_false(r->permanent);
	assert_non_null(strstr(r->error, "lost connection with mx.test"));
	rig_free(r);
}

/* The dot gets 4xx / 5xx. */
static void
test_dot_reply(void **state)
{
	(void)state;
	for (int perm = 0; perm < 2; perm++) {
		struct rig *r = rig_new(1);
		r->fakes[0].caps = "PIPELINING";
		r->fakes[0].dot_code = perm ? 554 : 451;
		struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 1);
		run_one_host(r, NULL);
		assert_int_equal(m->rcpts[0].result,
				 perm ? SMTP_CLIENT_PERM : SMTP_CLIENT_TEMP);
		assert_string_equal(m->rcpts[0].text,
				    perm ? "554 5.7.1 content rejected"
					 : "451 4.3.0 try again later");
		rig_free(r);
	}
}

/* A server that never greets, aborted from outside; and abort from
 * inside done(). */
static void
abort_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rig *r = arg;
	(void)fd;
	(void)what;
	smtp_client_abort(r->client);
}

static void
test_abort(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	r->fakes[0].greeting = 0;
	rig_msg(r, MSG1, strlen(MSG1), 1);
	struct event *ev = evtimer_new(r->base, abort_cb, r);
	struct timeval tv = {0, 200000};
	evtimer_add(ev, &tv);
	run_one_host(r, NULL);
	assert_int_equal(r->n_next, 0);
	assert_string_equal(r->error, "connection aborted");
	event_free(ev);
	rig_free(r);

	r = rig_new(1);
	r->fakes[0].caps = "PIPELINING";
	r->abort_in_done = true;
	rig_msg(r, MSG1, strlen(MSG1), 1);
	rig_msg(r, MSG1, strlen(MSG1), 1);
	run_one_host(r, NULL);
	assert_int_equal(r->n_next, 1);
	assert_int_equal(r->n_done, 1);
	assert_int_equal(r->msgs[0].rcpts[0].result, SMTP_CLIENT_OK);
	assert_string_equal(r->error, "connection aborted");
	rig_free(r);
}

/* AUTH PLAIN, AUTH LOGIN, and a 535 ending the connection attempt. */
static void
test_auth(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = mode == 1 ? "PIPELINING|AUTH LOGIN"
				    : "PIPELINING|AUTH=LOGIN PLAIN";
		if (mode == 2)
			f->auth_code = 535;
		struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 1);
		static struct dns_result d;
		memset(&d, 0, sizeof(d));
		add_host(&d, "smarthost.test", "127.0.0.1");
		struct smtp_client_options opt = {
		    .helo_name = "client.test",
		    .port = r->port,
		    .auth_user = "user@x.test",
		    .auth_password = "secret",
		    .timeout = 5,
		};
		struct timeval tv = {10, 0};
		evtimer_add(r->guard, &tv);
		r->client = smtp_client_start(r->base, &d, &opt, &ops, r);
		event_base_dispatch(r->base);
		assert_false(r->timed_out);
		assert_true(r->closed);
		if (mode == 0) {
			/* base64("\0user@x.test\0secret") */
			assert_string_equal(
			    f->cmds[1].line,
			    "AUTH PLAIN AHVzZXJAeC50ZXN0AHNlY3JldA==");
		} else if (mode == 1) {
			assert_string_equal(f->cmds[1].line, "AUTH LOGIN");
			assert_string_equal(f->cmds[2].line,
					    "dXNlckB4LnRlc3Q=");
			assert_string_equal(f->cmds[3].line, "c2VjcmV0");
		}
		if (mode < 2) {
			assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
			assert_string_equal(r->error, "");
		} else {
			assert_int_equal(r->n_next, 0);
			assert_true(r->permanent);
			assert_non_null(strstr(r->error, "535"));
		}
		rig_free(r);
	}
}

/* STARTTLS with a self-signed certificate (opportunistic), SNI set,
 * EHLO again inside TLS. */
static int
sni_cb(SSL *ssl, int *al, void *arg)
{
	struct fake *f = arg;
	const char *n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	(void)al;
	snprintf(f->sni, sizeof(f->sni), "%s", n ? n : "");
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
server_ctx(struct fake *f)
{
	EVP_PKEY *pkey = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(pkey);
	assert_non_null(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"mx.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, f);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

static SSL_CTX *
client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void
test_starttls(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	struct fake *f = &r->fakes[0];
	f->caps = "PIPELINING|STARTTLS|SIZE 100000";
	f->ssl_ctx = server_ctx(f);
	SSL_CTX *cctx = client_ctx();
	struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 1);
	rig_msg(r, ".dot\r\n", 6, 1);
	run_one_host(r, cctx);

	assert_string_equal(r->error, "");
	assert_string_equal(f->sni, "mx.test");
	assert_string_equal(f->cmds[0].line, "EHLO client.test");
	assert_string_equal(f->cmds[1].line, "STARTTLS");
	assert_false(f->cmds[1].tls);
	assert_string_equal(f->cmds[2].line, "EHLO client.test");
	assert_true(f->cmds[2].tls);
	assert_string_equal(f->cmds[3].line, "MAIL FROM:<s@y.test> SIZE=23");
	assert_true(f->cmds[3].tls);
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
	assert_int_equal(f->n_msgs, 2);
	assert_string_equal(f->msgs[1], "..dot\r\n.\r\n");
	SSL_CTX_free(cctx);
	SSL_CTX_free(f->ssl_ctx);
	rig_free(r);
}

/* tls_required and no STARTTLS: the host fails, the next one is used. */
static void
test_tls_required(void **state)
{
	(void)state;
	struct rig *r = rig_new(2);
	r->fakes[0].caps = "PIPELINING";
	r->fakes[1].caps = "PIPELINING|STARTTLS";
	r->fakes[1].ssl_ctx = server_ctx(&r->fakes[1]);
	SSL_CTX *cctx = client_ctx();
	rig_msg(r, MSG1, strlen(MSG1), 1);
	static struct dns_result d;
	memset(&d, 0, sizeof(d));
	add_host(&d, "mx1.test", "127.0.0.1");
	add_host(&d, "mx2.test", "127.0.0.2");
	struct smtp_client_options opt = {
	    .helo_name = "client.test",
	    .port = r->port,
	    .tls_ctx = cctx,
	    .tls_required = true,
	    .timeout = 5,
	};
	struct timeval tv = {10, 0};
	evtimer_add(r->guard, &tv);
	r->client = smtp_client_start(r->base, &d, &opt, &ops, r);
	event_base_dispatch(r->base);
	assert_false(r->timed_out);
	assert_true(r->closed);
	/* mx1 offers no STARTTLS: refused. mx2's self-signed certificate
	 * does not verify (required TLS checks it): refused too. */
	assert_int_equal(r->fakes[0].n_msgs, 0);
	assert_int_equal(count_cmds(&r->fakes[0], "MAIL"), 0);
	assert_int_equal(r->fakes[1].n_msgs, 0);
	assert_int_equal(r->n_next, 0);
	assert_false(r->permanent);
	assert_non_null(strstr(r->error, "TLS"));
	SSL_CTX_free(cctx);
	SSL_CTX_free(r->fakes[1].ssl_ctx);
	rig_free(r);
}

/* --- issue 9: BDAT, the trace offset, SMTPUTF8, DSN, BINARYMIME --- */

#define RPATH	"Return-Path: <s@y.test>\r\n"
#define MSG_DOT "Subject: dots\r\n\r\n.starts with a dot\r\nend\r\n"

/* CHUNKING: one BDAT LAST of exactly the bytes past the trace prefix, no
 * dot-stuffing, no DATA; MAIL and RCPT still pipelined. */
static void
test_bdat(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	struct fake *f = &r->fakes[0];
	f->caps = "PIPELINING|CHUNKING|SIZE 100000|8BITMIME";
	struct smtp_client_msg *m =
	    rig_msg(r, RPATH MSG_DOT, strlen(RPATH MSG_DOT), 2);
	m->offset = strlen(RPATH);
	m->size = strlen(MSG_DOT);
	m->eightbit = true;
	run_one_host(r, NULL);

	char want_mail[80], want_bdat[40];
	snprintf(want_mail, sizeof(want_mail),
		 "MAIL FROM:<s@y.test> SIZE=%zu BODY=8BITMIME",
		 strlen(MSG_DOT));
	snprintf(want_bdat, sizeof(want_bdat), "BDAT %zu LAST",
		 strlen(MSG_DOT));
	assert_string_equal(f->cmds[1].line, want_mail);
	assert_string_equal(f->cmds[2].line, "RCPT TO:<r0@x.test>");
	assert_string_equal(f->cmds[3].line, "RCPT TO:<r1@x.test>");
	assert_int_equal(f->cmds[2].batch, f->cmds[1].batch);
	assert_int_equal(f->cmds[3].batch, f->cmds[1].batch);
	assert_string_equal(f->cmds[4].line, want_bdat);
	assert_int_equal(count_cmds(f, "DATA"), 0);
	assert_int_equal(count_cmds(f, "BDAT"), 1);
	assert_int_equal(f->n_msgs, 1);
	assert_string_equal(f->msgs[0], MSG_DOT);
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
	assert_int_equal(m->rcpts[1].result, SMTP_CLIENT_OK);
	assert_false(m->rcpts[0].dsn_passed);
	rig_free(r);

	/* One nobody takes: no BDAT and no data at all, then RSET. */
	r = rig_new(1);
	f = &r->fakes[0];
	f->caps = "PIPELINING|CHUNKING";
	f->rcpt_codes[0] = 550;
	m = rig_msg(r, MSG1, strlen(MSG1), 1);
	run_one_host(r, NULL);
	assert_int_equal(count_cmds(f, "BDAT"), 0);
	assert_int_equal(f->n_msgs, 0);
	assert_true(cmd_index(f, "RSET", 0) > 0);
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_PERM);
	rig_free(r);
}

/* Without CHUNKING the trace prefix is skipped all the same. */
static void
test_offset_data(void **state)
{
	(void)state;
	struct rig *r = rig_new(1);
	struct fake *f = &r->fakes[0];
	f->caps = "PIPELINING|SIZE 100000";
	struct smtp_client_msg *m =
	    rig_msg(r, RPATH MSG_DOT, strlen(RPATH MSG_DOT), 1);
	m->offset = strlen(RPATH);
	m->size = strlen(MSG_DOT);
	run_one_host(r, NULL);
	assert_int_equal(f->n_msgs, 1);
	assert_string_equal(f->msgs[0], "Subject: dots\r\n\r\n"
					"..starts with a dot\r\nend\r\n.\r\n");
	assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
	rig_free(r);
}

/* RFC 6531 §3.2: SMTPUTF8 only when needed; a recipient that needs it
 * fails with 5.6.7 at a server without it, the others go on. */
static void
test_smtputf8(void **state)
{
	(void)state;
	for (int offered = 0; offered < 2; offered++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = offered ? "PIPELINING|SMTPUTF8" : "PIPELINING";
		struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 2);
		m->smtputf8 = true;
		m->rcpts[1].address = "j\xc3\xb6rg@x.test";
		/* Asked for SMTPUTF8 but all ASCII: no parameter. */
		struct smtp_client_msg *m2 = rig_msg(r, MSG1, strlen(MSG1), 1);
		m2->smtputf8 = true;
		/* The header is UTF-8: every recipient needs it. */
		struct smtp_client_msg *m3 = rig_msg(r, MSG1, strlen(MSG1), 1);
		m3->smtputf8 = true;
		m3->utf8_always = true;
		run_one_host(r, NULL);

		int mail = cmd_index(f, "MAIL", 0);
		assert_true(mail > 0);
		if (offered) {
			assert_string_equal(f->cmds[mail].line,
					    "MAIL FROM:<s@y.test> SMTPUTF8");
			assert_string_equal(f->cmds[mail + 2].line,
					    "RCPT TO:<j\xc3\xb6rg@x.test>");
			assert_int_equal(m->rcpts[1].result, SMTP_CLIENT_OK);
			assert_int_equal(m3->rcpts[0].result, SMTP_CLIENT_OK);
			assert_int_equal(count_cmds(f, "MAIL"), 3);
		} else {
			assert_string_equal(f->cmds[mail].line,
					    "MAIL FROM:<s@y.test>");
			assert_int_equal(m->rcpts[1].result, SMTP_CLIENT_PERM);
			assert_int_equal(m->rcpts[1].code, 553);
			assert_non_null(strstr(
			    m->rcpts[1].text,
			    "553 5.6.7 SMTPUTF8 is required, but was not "
			    "offered by host mx.test[127.0.0.1]"));
			assert_int_equal(m3->rcpts[0].result, SMTP_CLIENT_PERM);
			assert_non_null(strstr(m3->rcpts[0].text, "5.6.7"));
			/* m3 never got a MAIL: two transactions. */
			assert_int_equal(count_cmds(f, "MAIL"), 2);
			assert_int_equal(count_cmds(f, "RCPT TO:<j"), 0);
		}
		assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
		assert_int_equal(m2->rcpts[0].result, SMTP_CLIENT_OK);
		int mail2 = cmd_index(f, "MAIL", (size_t)mail + 1);
		assert_string_equal(f->cmds[mail2].line,
				    "MAIL FROM:<s@y.test>");
		rig_free(r);
	}
}

/* RFC 3461 §5.2: the request passes on to a DSN server, and only to one. */
static void
test_dsn_passed_on(void **state)
{
	(void)state;
	for (int offered = 0; offered < 2; offered++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = offered ? "DSN" : "8BITMIME";
		struct smtp_client_msg *m = rig_msg(r, MSG1, strlen(MSG1), 2);
		m->ret = 2;
		m->envid = "QQ+314 159";
		m->rcpts[0].notify = 1 | 2; /* SUCCESS,FAILURE */
		m->rcpts[0].orcpt = "rfc822;a+b=c@x.test";
		m->rcpts[1].notify = 8; /* NEVER */
		m->rcpts[1].orcpt = "utf-8;j\\x{F6}@x.test";
		run_one_host(r, NULL);
		if (offered) {
			assert_string_equal(f->cmds[1].line,
					    "MAIL FROM:<s@y.test> RET=HDRS "
					    "ENVID=QQ+2B314+20159");
			assert_string_equal(f->cmds[2].line,
					    "RCPT TO:<r0@x.test> "
					    "NOTIFY=SUCCESS,FAILURE "
					    "ORCPT=rfc822;a+2Bb+3Dc@x.test");
			assert_string_equal(f->cmds[3].line,
					    "RCPT TO:<r1@x.test> NOTIFY=NEVER "
					    "ORCPT=utf-8;j\\x{F6}@x.test");
		} else {
			assert_string_equal(f->cmds[1].line,
					    "MAIL FROM:<s@y.test>");
			assert_string_equal(f->cmds[2].line,
					    "RCPT TO:<r0@x.test>");
		}
		for (size_t k = 0; k < 2; k++) {
			assert_int_equal(m->rcpts[k].result, SMTP_CLIENT_OK);
			assert_int_equal(m->rcpts[k].dsn_passed, offered);
		}
		rig_free(r);
	}
}

/* RFC 3030 §3: BINARYMIME only by BDAT to a BINARYMIME server. */
static void
test_binarymime(void **state)
{
	static const char bin[] = "Subject: b\r\n\r\n\x01\x00\xff\r\n.\r\nx";
	(void)state;
	for (int offered = 0; offered < 3; offered++) {
		struct rig *r = rig_new(1);
		struct fake *f = &r->fakes[0];
		f->caps = offered == 2	 ? "CHUNKING|BINARYMIME|8BITMIME"
			  : offered == 1 ? "BINARYMIME|8BITMIME"
					 : "CHUNKING|8BITMIME";
		struct smtp_client_msg *m = rig_msg(r, bin, sizeof(bin) - 1, 1);
		m->body = SMTP_CLIENT_BINARYMIME;
		m->eightbit = true;
		run_one_host(r, NULL);
		if (offered == 2) {
			assert_string_equal(f->cmds[1].line,
					    "MAIL FROM:<s@y.test> "
					    "BODY=BINARYMIME");
			assert_int_equal(f->n_msgs, 1);
			assert_memory_equal(f->msgs[0], bin, sizeof(bin) - 1);
			assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_OK);
		} else {
			assert_int_equal(count_cmds(f, "MAIL"), 0);
			assert_int_equal(m->rcpts[0].result, SMTP_CLIENT_PERM);
			assert_non_null(strstr(m->rcpts[0].text, "5.6.3"));
		}
		rig_free(r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reuse_pipelining),
	    cmocka_unit_test(test_rcpt_mix),
	    cmocka_unit_test(test_no_rcpt_accepted),
	    cmocka_unit_test(test_mail_refused),
	    cmocka_unit_test(test_helo_fallback),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_dot_stuffing),
	    cmocka_unit_test(test_greeting_4xx_next_host),
	    cmocka_unit_test(test_refused_next_address),
	    cmocka_unit_test(test_all_down),
	    cmocka_unit_test(test_all_5xx),
	    cmocka_unit_test(test_drop_in_data),
	    cmocka_unit_test(test_dot_reply),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_starttls),
	    cmocka_unit_test(test_tls_required),
	    cmocka_unit_test(test_bdat),
	    cmocka_unit_test(test_offset_data),
	    cmocka_unit_test(test_smtputf8),
	    cmocka_unit_test(test_dsn_passed_on),
	    cmocka_unit_test(test_binarymime),
	};
	if (getenv("PETREL_TEST_DEBUG") != NULL)
		log_set_level(LOG_LEVEL_DEBUG);
	else
		log_set_level(LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
