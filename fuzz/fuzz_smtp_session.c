/*
 * fuzz_smtp_session - a whole SMTP server session, in memory: the input
 * is what a client sends, fed through a socketpair into the real session
 * (smtp_server.c, smtp_auth.c) running on its own event loop, with the
 * real directory, committer, worker pool, scheduler and TLS context.
 *
 * Input layout:
 *   byte 0   bits 0-1: listener (0,1 port 25, 2 submission, 3 smtps);
 *            bits 2-3: client address (127.0.0.2, 127.0.0.1, ::1,
 *            2001:db8::1); bit 4: the harness is a real TLS client
 *            (STARTTLS first, or TLS at once on smtps), so the rest
 *            travels inside TLS and AUTH is reachable
 *   byte 1   how the rest is cut into writes: 0 = one write, otherwise
 *            the seed of a generator of chunk sizes 1..(byte 1 % 64 + 1)
 *   rest     the client's bytes
 *
 * Between writes the loop runs and the server's replies are read and
 * thrown away; a session waiting for its commit is waited for, so the
 * pipelined commands behind DATA are processed too. At the end the client
 * half-closes and the session must go away; one that does not is
 * destroyed, so every input frees what it allocated (LeakSanitizer).
 *
 * relay_networks is 127.0.0.1 and ::1, so relaying is explored; the
 * scheduler is real but stopped at once (as in a server shutting down):
 * mail queued for remote hosts stays on disk and nothing ever goes out to
 * the network. The data_dir is a fresh temporary directory (tmpfs when
 * there is one), removed at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/auth_limit.h"
#include "conf/config.h"
#include "deliver/dns.h"
#include "net/conn_limit.h"
#include "net/tls.h"
#include "queue/commit.h"
#include "queue/queue.h"
#include "queue/scheduler.h"
#include "server.h"
#include "smtp/smtp_server.h"
#include "smtp/smtp_session.h"
#include "store/directory.h"
#include "util/log.h"
#include "util/workq.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX   65536
#define WAIT_ROUNDS 2000 /* x 50 us: a commit or a close */
#define CLEAN_EVERY 512	 /* inputs between clean-ups of spent mail */

static struct config cfg;
static struct server srv;
static char data_dir[64];
static unsigned n_inputs;
static bool verbose;	/* PETREL_FUZZ_LOG: log lines and replies */
static SSL *client_ssl; /* this input's TLS client, or NULL: plain */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
remove_data_dir(void)
{
	if (data_dir[0] != '\0')
		nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* rm_spent - delivered and queued messages, files only (mailboxes and
 * queue directories stay valid). */
static int
rm_spent(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F &&
	    (strstr(path, "/new/") != NULL || strstr(path, "/cur/") != NULL ||
	     strstr(path, "/queue/msg/") != NULL ||
	     strstr(path, "/queue/env/") != NULL))
		unlink(path);
	return 0;
}

/*
 * nx_cb - a DNS server in the harness's own loop that answers every
 * query at once with NXDOMAIN: the session's mail authentication
 * (reverse DNS at connect, SPF, DKIM keys, DMARC) runs its real code
 * path to the end without a network, and without waiting out a
 * time-out on every input.
 */
static void
nx_cb(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[512];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
			     &fl)) >= 12) {
		buf[2] = (uint8_t)(0x80 | (buf[2] & 0x01)); /* QR, keep RD */
		buf[3] = 0x83;				    /* RA, NXDOMAIN */
		memset(buf + 6, 0, 6); /* no answer, authority, additional */
		/* The question stays; anything after it (EDNS) goes. */
		size_t q = 12;
		while (q < (size_t)n && buf[q] != 0)
			q += (size_t)buf[q] + 1;
		q += 5;
		if (q <= (size_t)n)
			(void)sendto(fd, buf, q, 0, (struct sockaddr *)&from,
				     fl);
		fl = sizeof(from);
	}
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_smtp_session: %s: %s\n", what, err);
	remove_data_dir();
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512], path[PATH_MAX];
	(void)argc;
	(void)argv;

	signal(SIGPIPE, SIG_IGN);
	/* Quiet (refusals are the point); PETREL_FUZZ_LOG=1 for every line. */
	verbose = getenv("PETREL_FUZZ_LOG") != NULL;
	log_set_level(verbose ? LOG_LEVEL_DEBUG
			      : (enum log_level)(LOG_LEVEL_ERR + 1));
	/* tmpfs when there is one: the committer's syncfs is then free. */
	snprintf(data_dir, sizeof(data_dir), "/dev/shm/petrel-fuzz-XXXXXX");
	if (mkdtemp(data_dir) == NULL) {
		snprintf(data_dir, sizeof(data_dir), "/tmp/petrel-fuzz-XXXXXX");
		if (mkdtemp(data_dir) == NULL)
			die("mkdtemp", strerror(errno));
	}
	atexit(remove_data_dir);

	config_init(&cfg);
	if (config_set(&cfg, "hostname", "mx.example.org", err, sizeof(err)) <
		0 ||
	    config_set(&cfg, "data_dir", data_dir, err, sizeof(err)) < 0 ||
	    config_set(&cfg, "max_message_size", "32k", err, sizeof(err)) < 0 ||
	    config_set(&cfg, "relay_networks", "127.0.0.1/32, ::1/128", err,
		       sizeof(err)) < 0 ||
	    config_set(&cfg, "max_recipients", "20", err, sizeof(err)) < 0)
		die("config", err);
	cfg.smtp_vrfy_expn = true; /* VRFY/EXPN reach the directory */
	if (queue_setup(data_dir, err, sizeof(err)) < 0)
		die("queue_setup", err);

	snprintf(path, sizeof(path), "%s/directory.db", data_dir);
	srv.dir = directory_open(path, true, err, sizeof(err));
	if (srv.dir == NULL)
		die("directory", err);
	const char *targets[] = {"alice@example.org", "postmaster@example.org"};
	const char *loop[] = {"loop2@example.org"};
	const char *loop2[] = {"loop@example.org"};
	if (directory_domain_add(srv.dir, "example.org", err, sizeof(err)) <
		0 ||
	    directory_user_add(srv.dir, "alice@example.org", "secret", err,
			       sizeof(err)) < 0 ||
	    directory_alias_add(srv.dir, "team@example.org", targets, 2, err,
				sizeof(err)) < 0 ||
	    directory_alias_add(srv.dir, "loop@example.org", loop, 1, err,
				sizeof(err)) < 0 ||
	    directory_alias_add(srv.dir, "loop2@example.org", loop2, 1, err,
				sizeof(err)) < 0)
		die("directory", err);

	srv.cfg = &cfg;
	srv.base = event_base_new();
	if (srv.base == NULL)
		die("event_base_new", "failed");
	srv.tls_server = tls_server_ctx_new(&cfg, err, sizeof(err));
	if (srv.tls_server == NULL)
		die("TLS", err);
	srv.per_ip = conn_limit_new();
	srv.auth_limit =
	    auth_limit_new(cfg.max_auth_failures, cfg.auth_failure_window);
	srv.commit = commit_start(srv.base, &cfg);
	srv.workq = workq_new(srv.base, 2);
	/* The scheduler is stopped before it could ask; the sessions' mail
	 * authentication asks nx_cb. */
	static char dns_servers[1][80];
	struct sockaddr_in nx = {.sin_family = AF_INET};
	socklen_t nxl = sizeof(nx);
	int nxfd =
	    socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	nx.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (nxfd < 0 || bind(nxfd, (struct sockaddr *)&nx, sizeof(nx)) < 0 ||
	    getsockname(nxfd, (struct sockaddr *)&nx, &nxl) < 0)
		die("DNS socket", strerror(errno));
	snprintf(dns_servers[0], sizeof(dns_servers[0]), "127.0.0.1:%u",
		 ntohs(nx.sin_port));
	struct event *nxev =
	    event_new(srv.base, nxfd, EV_READ | EV_PERSIST, nx_cb, NULL);
	if (nxev == NULL || event_add(nxev, NULL) < 0)
		die("DNS event", "failed");
	srv.dns = dns_new(srv.base, dns_servers, 1, err, sizeof(err));
	if (srv.dns == NULL)
		die("DNS", err);
	srv.sched = scheduler_new(&srv);
	/* commit_done still calls scheduler_add, which then leaves the
	 * message in the queue: no delivery attempt, no DNS, no timers. */
	scheduler_stop(srv.sched);
	return 0;
}

/* drain - read and discard whatever the server has written. */
static void
drain(int fd)
{
	char buf[16384];
	int n;
	if (client_ssl == NULL) {
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (verbose)
				fwrite(buf, 1, (size_t)r, stderr);
		return;
	}
	while ((n = SSL_read(client_ssl, buf, sizeof(buf))) > 0)
		if (verbose)
			fwrite(buf, 1, (size_t)n, stderr);
}

/* pump - run the loop n times without blocking, reading the replies. */
static void
pump(int fd, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		drain(fd);
	}
}

/* busy - is the session waiting for a thread (commit, password)? */
static bool
busy(void)
{
	const struct smtp_session *s =
	    srv.sessions != NULL ? srv.sessions->owner : NULL;
	return s != NULL &&
	       (s->state == SMTP_STATE_COMMIT || s->state == SMTP_STATE_MAUTH ||
		(s->state == SMTP_STATE_AUTH && s->auth_job));
}

static void
wait_idle(int fd)
{
	for (unsigned i = 0; i < WAIT_ROUNDS && busy(); i++) {
		pump(fd, 1);
		if (busy())
			usleep(50);
	}
}

/* client_write - one write, plain or TLS: bytes taken, 0 = try again
 * later, -1 = the connection is gone. */
static ssize_t
client_write(int fd, const uint8_t *p, size_t len)
{
	if (client_ssl == NULL) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return w;
	}
	int w = SSL_write(client_ssl, p, len > INT_MAX ? INT_MAX : (int)len);
	if (w > 0)
		return w;
	int e = SSL_get_error(client_ssl, w);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* send_all - write len bytes, running the server while the pipe is full;
 * false once the server has closed. */
static bool
send_all(int fd, const uint8_t *p, size_t len)
{
	unsigned stalls = 0;
	while (len > 0) {
		ssize_t w = client_write(fd, p, len);
		if (w > 0) {
			p += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 || srv.sessions == NULL || ++stalls > 100)
			return false;
		pump(fd, 2);
		wait_idle(fd);
	}
	return true;
}

/*
 * client_tls - be a real TLS client on fd: after "STARTTLS" (sent here,
 * in clear) or at once on the smtps port. The fuzz bytes then travel
 * inside TLS, so AUTH, and MAIL after AUTH, are reachable. false if the
 * handshake did not complete.
 */
static bool
client_tls(int fd, bool starttls)
{
	static SSL_CTX *ctx;
	static SSL_SESSION *resume;

	if (ctx == NULL) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (ctx == NULL)
			die("SSL_CTX_new", "failed");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
					  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	if (starttls) {
		static const char cmd[] = "STARTTLS\r\n";
		if (!send_all(fd, (const uint8_t *)cmd, sizeof(cmd) - 1))
			return false;
		pump(fd, 3); /* the 220, in clear */
	}
	SSL *ssl = SSL_new(ctx);
	if (ssl == NULL)
		die("SSL_new", "failed");
	SSL_set_fd(ssl, fd);
	if (resume != NULL)
		SSL_set_session(ssl, resume);
	for (unsigned i = 0; i < 200 && srv.sessions != NULL; i++) {
		int r = SSL_connect(ssl);
		if (r == 1) {
			client_ssl = ssl;
			/* A TLS 1.3 ticket arrives after the handshake. */
			pump(fd, 2);
			SSL_SESSION *sess = SSL_get1_session(ssl);
			if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
				SSL_SESSION_free(resume);
				resume = sess;
			} else {
				SSL_SESSION_free(sess);
			}
			return true;
		}
		int e = SSL_get_error(ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			if (verbose) {
				fprintf(stderr, "client handshake: %d\n", e);
				ERR_print_errors_fp(stderr);
			}
			break;
		}
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
	}
	SSL_free(ssl);
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size > INPUT_MAX)
		return 0;
	uint8_t mode = data[0], cut = data[1];
	data += 2;
	size -= 2;

	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof(ss));
	switch ((mode >> 2) & 3) {
	case 0:
	case 1: {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
		inet_pton(AF_INET, (mode >> 2) & 1 ? "127.0.0.1" : "127.0.0.2",
			  &sin->sin_addr);
		sslen = sizeof(*sin);
		break;
	}
	default: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40000);
		inet_pton(AF_INET6, (mode >> 2) & 1 ? "2001:db8::1" : "::1",
			  &sin6->sin6_addr);
		sslen = sizeof(*sin6);
		break;
	}
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) < 0)
		die("socketpair", strerror(errno));
	const struct sockaddr *sa = (const struct sockaddr *)&ss;
	switch (mode & 3) {
	case 2:
		smtp_submission_accept(sv[0], sa, sslen, &srv);
		break;
	case 3:
		smtps_accept(sv[0], sa, sslen, &srv);
		break;
	default:
		smtp_server_accept(sv[0], sa, sslen, &srv);
		break;
	}
	int fd = sv[1];
	pump(fd, 2);
	if ((mode & 0x10) && !client_tls(fd, (mode & 3) != 3))
		goto done;

	/* The client's bytes, in chunks: splits inside lines, several
	 * commands in one read (pipelining), DATA across reads. */
	uint32_t rng = 0x9e3779b9u ^ cut;
	size_t off = 0;
	while (off < size && srv.sessions != NULL) {
		size_t n = size - off;
		if (cut != 0) {
			rng ^= rng << 13;
			rng ^= rng >> 17;
			rng ^= rng << 5;
			size_t max = (size_t)(cut % 64) + 1;
			size_t want = rng % max + 1;
			if (want < n)
				n = want;
		}
		if (!send_all(fd, data + off, n))
			break;
		off += n;
		pump(fd, 2);
		wait_idle(fd);
	}

done:
	/* The client is done: the session must finish and go. */
	if (client_ssl != NULL)
		SSL_shutdown(client_ssl);
	shutdown(fd, SHUT_WR);
	for (unsigned i = 0; i < WAIT_ROUNDS && srv.sessions != NULL; i++) {
		pump(fd, 1);
		if (srv.sessions != NULL)
			usleep(50);
	}
	if (srv.sessions != NULL)
		srv.sessions->proto->destroy(srv.sessions->owner);
	/* libevent finalizes freed bufferevents on the next iteration. */
	pump(fd, 2);
	SSL_free(client_ssl);
	client_ssl = NULL;
	ERR_clear_error();
	close(fd);

	if (++n_inputs % CLEAN_EVERY == 0) {
		nftw(data_dir, rm_spent, 16, FTW_PHYS);
	}
	return 0;
}
