/*
 * test_dns - MX look-ups against a real DNS server.
 *
 * The group setup starts dnsmasq on a free port of 127.0.0.1 with a
 * generated zone under "ptest." (`local=/ptest/` makes dnsmasq
 * authoritative there, so unknown names get NXDOMAIN instead of
 * REFUSED). A silent UDP socket stands in for a dead server. Every wait
 * on the loop is bounded.
 *
 * Not ".test": unbound treats it (RFC 6761) as a default local zone and
 * would answer NXDOMAIN itself without asking the forwarder.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "deliver/dns.h"
#include "mailauth/iprev.h"
#include "mailauth/mauth_dns.h"

#define DNSMASQ "/usr/sbin/dnsmasq"

static const char zone[] =
    "local=/ptest/\n"
    "mx-host=a.ptest,mx1.a.ptest,10\n"
    "mx-host=a.ptest,mx2.a.ptest,20\n"
    "mx-host=a.ptest,mx3.a.ptest,20\n"
    "host-record=mx1.a.ptest,127.0.0.2,::2\n"
    "host-record=mx2.a.ptest,127.0.0.3\n"
    "host-record=mx3.a.ptest,127.0.0.4\n"
    /* No MX: the domain's own address (implicit MX). */
    "host-record=implicit.ptest,127.0.0.5\n"
    /* The domain is a CNAME; and an MX target that is one. */
    "cname=alias.ptest,a.ptest\n"
    "mx-host=c.ptest,mxalias.ptest,5\n"
    "cname=mxalias.ptest,mx2.a.ptest\n"
    /* RFC 7505 null MX: dnsmasq writes "." as the root label. */
    "mx-host=null.ptest,.,0\n"
    /* A "." beside a real MX (a broken zone): the real one is used. */
    "mx-host=mixed.ptest,.,0\n"
    "mx-host=mixed.ptest,mx2.a.ptest,10\n"
    /* Raw rdata: preference 10, target "a b." (not a host name). */
    "dns-rr=odd.ptest,15,000a03612062"
    "00\n"
    /* MX hosts that do not exist, alone and beside a good one. */
    "mx-host=dead.ptest,gone.dead.ptest,10\n"
    "mx-host=half.ptest,gone.half.ptest,5\n"
    "mx-host=half.ptest,mx3.a.ptest,10\n"
    /* A name that exists with neither MX nor address. */
    "txt-record=empty.ptest,\"nothing here\"\n"
    /* Mail authentication (raw queries): a TXT of two strings, which
     * are joined; an SPF record; PTR and its forward confirmation. */
    "txt-record=two.ptest,\"v=DKIM1; k=rsa; \",\"p=AAAA\"\n"
    "txt-record=spf.ptest,\"v=spf1 a:host5.ptest mx:a.ptest -all\"\n"
    "txt-record=spf.ptest,\"unrelated\"\n"
    "host-record=host5.ptest,127.0.0.5\n"
    "ptr-record=5.0.0.127.in-addr.arpa,host5.ptest\n"
    /* Authoritative for loopback reverse names: others NXDOMAIN. */
    "local=/127.in-addr.arpa/\n"
    /* A PTR whose name does not lead back (no A record). */
    "ptr-record=6.0.0.127.in-addr.arpa,liar.ptest\n";

static pid_t dnsmasq_pid;
static char tmpdir[] = "/tmp/petrel-test-dns-XXXXXX";
static char conf_path[256];
static char server[1][80];
static int silent_fd = -1;
static char silent_server[1][80];

static int
free_port(int type)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sin.sin_port);
}

/* dnsmasq_ready - true once a query to port gets any answer. */
static int
dnsmasq_ready(int port)
{
	static const unsigned char query[] = {
	    0x12, 0x34, 0x01, 0x00, 0,	 1,   0,   0,	0, 0,
	    0,	  0,	5,    'r',  'e', 'a', 'd', 'y', 5, 'p',
	    't',  'e',	's',  't',  0,	 0,   1,   0,	1};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	unsigned char buf[512];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ok = 0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (fd < 0)
		return 0;
	for (int i = 0; i < 100 && !ok; i++) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		(void)sendto(fd, query, sizeof(query), 0,
			     (struct sockaddr *)&sin, sizeof(sin));
		if (poll(&pfd, 1, 50) == 1 && recv(fd, buf, sizeof(buf), 0) > 0)
			ok = 1;
	}
	close(fd);
	return ok;
}

static int
group_setup(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	FILE *f;
	int port;

	(void)state;
	if (access(DNSMASQ, X_OK) != 0)
		return 0; /* every test skips */
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/dnsmasq.conf", tmpdir);
	f = fopen(conf_path, "w");
	if (!f || fputs(zone, f) < 0 || fclose(f) != 0)
		return -1;
	port = free_port(SOCK_DGRAM);
	if (port < 0)
		return -1;
	snprintf(server[0], sizeof(server[0]), "127.0.0.1:%d", port);

	dnsmasq_pid = fork();
	if (dnsmasq_pid < 0)
		return -1;
	if (dnsmasq_pid == 0) {
		char port_arg[32], conf_arg[300];
		int null = open("/dev/null", O_WRONLY);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		snprintf(port_arg, sizeof(port_arg), "--port=%d", port);
		snprintf(conf_arg, sizeof(conf_arg), "--conf-file=%s",
			 conf_path);
		execl(DNSMASQ, DNSMASQ, "--no-daemon", port_arg,
		      "--listen-address=127.0.0.1", "--bind-interfaces",
		      "--no-resolv", "--no-hosts", conf_arg, (char *)NULL);
		_exit(127);
	}
	if (!dnsmasq_ready(port)) {
		fprintf(stderr, "dnsmasq did not answer on port %d\n", port);
		return -1;
	}

	/* A server that never answers: a bound UDP socket nobody reads. */
	silent_fd = socket(AF_INET, SOCK_DGRAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (silent_fd < 0 ||
	    bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    getsockname(silent_fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	snprintf(silent_server[0], sizeof(silent_server[0]), "127.0.0.1:%d",
		 ntohs(sin.sin_port));
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (dnsmasq_pid > 0) {
		kill(dnsmasq_pid, SIGTERM);
		waitpid(dnsmasq_pid, NULL, 0);
	}
	if (silent_fd >= 0)
		close(silent_fd);
	if (conf_path[0])
		unlink(conf_path);
	rmdir(tmpdir);
	return 0;
}

static void
need_dnsmasq(void)
{
	if (dnsmasq_pid <= 0) {
		print_message("skipped: " DNSMASQ " not installed "
			      "(scripts/deps.sh installs dnsmasq-base)\n");
		skip();
	}
}

/* ---- helpers ------------------------------------------------------------ */

struct outcome {
	struct event_base *base;
	int calls;
	struct dns_result res;
};

static void
on_result(const struct dns_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->res = *res;
	event_base_loopbreak(o->base);
}

struct env {
	struct event_base *base;
	struct dns *dns;
};

static void
env_open(struct env *e, const char (*servers)[80])
{
	char err[256] = "";

	e->base = event_base_new();
	assert_non_null(e->base);
	e->dns = dns_new(e->base, servers, 1, err, sizeof(err));
	if (!e->dns)
		fail_msg("dns_new: %s", err);
}

static void
env_close(struct env *e)
{
	dns_free(&e->dns);
	assert_null(e->dns);
	event_base_free(e->base);
}

/* run_for - run the loop for at most ms, or until a loopbreak. */
static void
run_for(struct event_base *base, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000,
			     .tv_usec = (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

enum kind { MX, HOST };

/* resolve - one look-up, waited for at most 10 s. */
static void
resolve(struct env *e, enum kind kind, const char *name, struct outcome *o)
{
	struct dns_query *q;

	memset(o, 0, sizeof(*o));
	o->base = e->base;
	q = kind == MX ? dns_resolve_mx(e->dns, name, on_result, o)
		       : dns_resolve_host(e->dns, name, on_result, o);
	assert_non_null(q);
	assert_int_equal(o->calls, 0); /* never before it returns */
	run_for(e->base, 10000);
	if (o->calls != 1)
		fail_msg("%s: %d callbacks", name, o->calls);
}

static const char *
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	if (ss->ss_family == AF_INET)
		return inet_ntop(AF_INET,
				 &((const struct sockaddr_in *)ss)->sin_addr,
				 buf, (socklen_t)len);
	if (ss->ss_family == AF_INET6)
		return inet_ntop(AF_INET6,
				 &((const struct sockaddr_in6 *)ss)->sin6_addr,
				 buf, (socklen_t)len);
	return "?";
}

static void
assert_addr(const struct dns_host *h, size_t i, const char *want)
{
	char buf[INET6_ADDRSTRLEN];

	assert_true(i < h->n_addrs);
	assert_string_equal(addr_text(&h->addrs[i], buf, sizeof(buf)), want);
	/* The port is the caller's. */
	if (h->addrs[i].ss_family == AF_INET)
		assert_int_equal(
		    ((const struct sockaddr_in *)&h->addrs[i])->sin_port, 0);
	else
		assert_int_equal(
		    ((const struct sockaddr_in6 *)&h->addrs[i])->sin6_port, 0);
}

static void
assert_host(const struct dns_result *r, size_t i, const char *name,
	    unsigned preference)
{
	assert_true(i < r->n_hosts);
	assert_string_equal(r->hosts[i].name, name);
	assert_int_equal(r->hosts[i].preference, preference);
}

/* assert_a_ptest - the answer for a.ptest (or a CNAME to it). */
static void
assert_a_ptest(const struct dns_result *r)
{
	assert_int_equal(r->status, DNS_OK);
	assert_int_equal(r->n_hosts, 3);
	assert_host(r, 0, "mx1.a.ptest", 10);
	assert_int_equal(r->hosts[0].n_addrs, 2);
	assert_addr(&r->hosts[0], 0, "127.0.0.2"); /* IPv4 first */
	assert_addr(&r->hosts[0], 1, "::2");
	assert_int_equal(r->hosts[1].preference, 20);
	assert_int_equal(r->hosts[2].preference, 20);
	assert_int_equal(r->hosts[1].n_addrs, 1);
	assert_int_equal(r->hosts[2].n_addrs, 1);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_mx_order(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	resolve(&e, MX, "a.ptest", &o);
	assert_a_ptest(&o.res);
	env_close(&e);
}

/* RFC 5321 §5.1: equal preferences are tried in random order. */
static void
test_mx_equal_preference_shuffled(void **state)
{
	struct env e;
	struct outcome o;
	int mx2_first = 0, mx3_first = 0;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	for (int i = 0; i < 50; i++) {
		resolve(&e, MX, "a.ptest", &o);
		assert_a_ptest(&o.res);
		if (strcmp(o.res.hosts[1].name, "mx2.a.ptest") == 0) {
			assert_string_equal(o.res.hosts[2].name, "mx3.a.ptest");
			assert_addr(&o.res.hosts[1], 0, "127.0.0.3");
			mx2_first++;
		} else {
			assert_string_equal(o.res.hosts[1].name, "mx3.a.ptest");
			assert_string_equal(o.res.hosts[2].name, "mx2.a.ptest");
			assert_addr(&o.res.hosts[1], 0, "127.0.0.4");
			mx3_first++;
		}
	}
	assert_true(mx2_first > 0);
	assert_true(mx3_first > 0);
	env_close(&e);
}

static void
test_implicit_mx(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	resolve(&e, MX, "implicit.ptest", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_host(&o.res, 0, "implicit.ptest", 0);
	assert_int_equal(o.res.hosts[0].n_addrs, 1);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.5");
	env_close(&e);
}

static void
test_cname(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	/* The domain is a CNAME: its target's MX records count. */
	resolve(&e, MX, "alias.ptest", &o);
	assert_a_ptest(&o.res);
	/* An MX target that is a CNAME (RFC 2181 §10.3 says it must not
	 * be; we accept it as most MTAs do). */
	resolve(&e, MX, "c.ptest", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_host(&o.res, 0, "mxalias.ptest", 5);
	assert_int_equal(o.res.hosts[0].n_addrs, 1);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.3");
	env_close(&e);
}

static void
test_null_mx(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	resolve(&e, MX, "null.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_int_equal(o.res.n_hosts, 0);
	assert_non_null(strstr(o.res.error, "null MX"));
	assert_non_null(strstr(o.res.error, "null.ptest"));
	resolve(&e, MX, "mixed.ptest", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_host(&o.res, 0, "mx2.a.ptest", 10);
	/* The only MX names no possible host. */
	resolve(&e, MX, "odd.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_non_null(strstr(o.res.error, "no MX record names a valid"));
	env_close(&e);
}

static void
test_nxdomain(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	resolve(&e, MX, "nope.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_string_equal(o.res.error,
			    "nope.ptest: Host not found (NXDOMAIN)");
	/* A name that cannot be asked: permanent too, still via cb. */
	resolve(&e, MX, "a..ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_string_equal(o.res.error, "a..ptest: invalid domain name");
	env_close(&e);
}

static void
test_mx_hosts_without_address(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	/* The only MX host does not exist: nothing temporary, permanent. */
	resolve(&e, MX, "dead.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_non_null(strstr(o.res.error, "no MX host has an address"));
	/* One of two does not exist: skipped. */
	resolve(&e, MX, "half.ptest", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_host(&o.res, 0, "mx3.a.ptest", 10);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.4");
	/* Neither MX nor address. */
	resolve(&e, MX, "empty.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_non_null(strstr(o.res.error, "no MX and no address"));
	env_close(&e);
}

static void
test_silent_server_tempfail(void **state)
{
	struct env e;
	struct outcome o;
	struct timespec t0, t1;

	(void)state;
	need_dnsmasq();
	env_open(&e, silent_server);
	dns_set_timeout(e.dns, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	resolve(&e, MX, "a.ptest", &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(o.res.status, DNS_TEMPFAIL);
	assert_int_equal(o.res.n_hosts, 0);
	assert_true(t1.tv_sec - t0.tv_sec <= 4);
	/* The same for a smarthost. */
	resolve(&e, HOST, "mx1.a.ptest", &o);
	assert_int_equal(o.res.status, DNS_TEMPFAIL);
	env_close(&e);
}

static void
test_address_literal(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	/* A literal needs no server: the silent one proves it. */
	env_open(&e, silent_server);
	resolve(&e, MX, "[127.0.0.9]", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_string_equal(o.res.hosts[0].name, "[127.0.0.9]");
	assert_int_equal(o.res.hosts[0].n_addrs, 1);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.9");
	resolve(&e, MX, "[IPv6:::1]", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_addr(&o.res.hosts[0], 0, "::1");
	resolve(&e, MX, "[ipv6:2001:db8::5]", &o);
	assert_addr(&o.res.hosts[0], 0, "2001:db8::5");
	/* RFC 5321 §4.1.3: an IPv6 literal needs its tag. */
	resolve(&e, MX, "[::1]", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	resolve(&e, MX, "[300.1.1.1]", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	env_close(&e);
}

static void
test_resolve_host(void **state)
{
	struct env e;
	struct outcome o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	resolve(&e, HOST, "mx1.a.ptest", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_int_equal(o.res.n_hosts, 1);
	assert_host(&o.res, 0, "mx1.a.ptest", 0);
	assert_int_equal(o.res.hosts[0].n_addrs, 2);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.2");
	assert_addr(&o.res.hosts[0], 1, "::2");
	/* A host has no MX look-up: a.ptest has MX but no address. */
	resolve(&e, HOST, "a.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	resolve(&e, HOST, "mxalias.ptest.", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_string_equal(o.res.hosts[0].name, "mxalias.ptest");
	assert_addr(&o.res.hosts[0], 0, "127.0.0.3");
	resolve(&e, HOST, "nope.ptest", &o);
	assert_int_equal(o.res.status, DNS_PERMFAIL);
	assert_non_null(strstr(o.res.error, "NXDOMAIN"));
	/* IP addresses, with or without brackets. */
	resolve(&e, HOST, "127.0.0.7", &o);
	assert_int_equal(o.res.status, DNS_OK);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.7");
	resolve(&e, HOST, "[127.0.0.8]", &o);
	assert_addr(&o.res.hosts[0], 0, "127.0.0.8");
	resolve(&e, HOST, "::1", &o);
	assert_addr(&o.res.hosts[0], 0, "::1");
	resolve(&e, HOST, "[::1]", &o);
	assert_addr(&o.res.hosts[0], 0, "::1");
	resolve(&e, HOST, "[IPv6:::1]", &o);
	assert_addr(&o.res.hosts[0], 0, "::1");
	env_close(&e);
}

static void
test_cancel(void **state)
{
	struct env e;
	struct outcome o1, o2, o3, o4;
	struct dns_query *q;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	memset(&o1, 0, sizeof(o1));
	memset(&o2, 0, sizeof(o2));
	memset(&o3, 0, sizeof(o3));
	o1.base = o2.base = o3.base = e.base;
	q = dns_resolve_mx(e.dns, "a.ptest", on_result, &o1);
	assert_non_null(q);
	dns_cancel(e.dns, q);
	q = dns_resolve_mx(e.dns, "[127.0.0.1]", on_result, &o2);
	assert_non_null(q);
	dns_cancel(e.dns, q);
	/* Another query still completes; the cancelled ones stay quiet. */
	assert_non_null(
	    dns_resolve_mx(e.dns, "implicit.ptest", on_result, &o3));
	run_for(e.base, 10000);
	assert_int_equal(o3.calls, 1);
	run_for(e.base, 300);
	assert_int_equal(o1.calls, 0);
	assert_int_equal(o2.calls, 0);
	env_close(&e);

	/* Cancelled while its sub-queries wait on a silent server. */
	env_open(&e, silent_server);
	memset(&o4, 0, sizeof(o4));
	o4.base = e.base;
	q = dns_resolve_host(e.dns, "mx1.a.ptest", on_result, &o4);
	assert_non_null(q);
	run_for(e.base, 300);
	dns_cancel(e.dns, q);
	run_for(e.base, 300);
	assert_int_equal(o4.calls, 0);
	env_close(&e);
}

static void
test_free_in_flight(void **state)
{
	struct env e;
	struct outcome o[4];

	(void)state;
	need_dnsmasq();
	memset(o, 0, sizeof(o));

	/* Nothing run yet. */
	env_open(&e, server);
	assert_non_null(dns_resolve_mx(e.dns, "a.ptest", on_result, &o[0]));
	assert_non_null(dns_resolve_mx(e.dns, "[127.0.0.1]", on_result, &o[1]));
	env_close(&e);

	/* Sub-queries out to a server that will never answer. */
	env_open(&e, silent_server);
	assert_non_null(dns_resolve_mx(e.dns, "a.ptest", on_result, &o[2]));
	assert_non_null(dns_resolve_host(e.dns, "b.ptest", on_result, &o[3]));
	run_for(e.base, 300);
	env_close(&e);

	for (int i = 0; i < 4; i++)
		assert_int_equal(o[i].calls, 0);
}

static struct dns *free_me;

static void
on_result_free(const struct dns_result *res, void *arg)
{
	on_result(res, arg);
	dns_free(&free_me);
}

/* A callback may free the resolver, other queries still in flight. */
static void
test_free_from_callback(void **state)
{
	struct env e;
	struct outcome o[2];

	(void)state;
	need_dnsmasq();
	memset(o, 0, sizeof(o));
	env_open(&e, silent_server);
	o[0].base = o[1].base = e.base;
	free_me = e.dns;
	assert_non_null(dns_resolve_mx(e.dns, "a.ptest", on_result, &o[1]));
	assert_non_null(
	    dns_resolve_mx(e.dns, "[127.0.0.1]", on_result_free, &o[0]));
	run_for(e.base, 5000);
	assert_int_equal(o[0].calls, 1);
	assert_null(free_me);
	run_for(e.base, 300);
	assert_int_equal(o[1].calls, 0);
	e.dns = NULL;
	env_close(&e);
}

static void
test_server_syntax(void **state)
{
	static const char good[][80] = {"127.0.0.1", "127.0.0.1:5353", "::1",
					"[::1]", "[::1]:5353"};
	static const char bad[][80] = {
	    "localhost",       "127.0.0.1:", "[::1",
	    "127.0.0.1:99999", "[::1]x",     "1.2.3.4:53x"};
	struct event_base *base = event_base_new();
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct dns *dns = dns_new(base, &good[i], 1, err, sizeof(err));
		if (!dns)
			fail_msg("%s: %s", good[i], err);
		dns_free(&dns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		struct dns *dns = dns_new(base, &bad[i], 1, err, sizeof(err));
		if (dns)
			fail_msg("%s accepted", bad[i]);
		assert_non_null(strstr(err, bad[i]));
	}
	event_base_free(base);
}

/* ---- raw queries and the SPF driver (mail authentication) ------------- */

struct raw_out {
	struct event_base *base;
	int calls;
	enum mauth_dns_status status;
	size_t n;
	char data[4][300];
	size_t len[4];
};

static void
on_raw(enum mauth_dns_status status, const struct dns_wire_rr *rrs, size_t n,
       void *arg)
{
	struct raw_out *o = arg;

	o->calls++;
	o->status = status;
	o->n = n;
	for (size_t i = 0; i < n && i < 4; i++) {
		o->len[i] = rrs[i].len;
		memcpy(o->data[i], rrs[i].data, rrs[i].len);
	}
	event_base_loopbreak(o->base);
}

static void
raw(struct env *e, const char *name, int type, unsigned timeout,
    struct raw_out *o)
{
	memset(o, 0, sizeof(*o));
	o->base = e->base;
	assert_non_null(
	    mauth_dns_lookup(e->dns, name, type, timeout, on_raw, o));
	assert_int_equal(o->calls, 0); /* never inside the call */
	run_for(e->base, 10000);
	assert_int_equal(o->calls, 1);
}

static void
test_raw_records(void **state)
{
	struct env e;
	struct raw_out o;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	raw(&e, "two.ptest", DNS_T_TXT, 0, &o);
	assert_int_equal(o.status, MAUTH_DNS_OK);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.len[0], strlen("v=DKIM1; k=rsa; p=AAAA"));
	assert_memory_equal(o.data[0], "v=DKIM1; k=rsa; p=AAAA", o.len[0]);
	raw(&e, "spf.ptest", DNS_T_TXT, 0, &o);
	assert_int_equal(o.n, 2);
	raw(&e, "5.0.0.127.in-addr.arpa", DNS_T_PTR, 0, &o);
	assert_int_equal(o.status, MAUTH_DNS_OK);
	assert_int_equal(o.n, 1);
	assert_memory_equal(o.data[0], "host5.ptest", 11);
	raw(&e, "host5.ptest", DNS_T_A, 0, &o);
	assert_int_equal(o.n, 1);
	assert_memory_equal(o.data[0], "\x7f\0\0\x05", 4);
	raw(&e, "a.ptest", DNS_T_MX, 0, &o);
	assert_int_equal(o.n, 3);
	/* NODATA and NXDOMAIN. */
	raw(&e, "host5.ptest", DNS_T_TXT, 0, &o);
	assert_int_equal(o.status, MAUTH_DNS_OK);
	assert_int_equal(o.n, 0);
	raw(&e, "nope.ptest", DNS_T_TXT, 0, &o);
	assert_int_equal(o.status, MAUTH_DNS_NXDOMAIN);
	env_close(&e);

	/* A server that never answers: TEMP after the query's own 1 s. */
	env_open(&e, silent_server);
	time_t t0 = time(NULL);
	raw(&e, "spf.ptest", DNS_T_TXT, 1, &o);
	assert_int_equal(o.status, MAUTH_DNS_TEMP);
	assert_true(time(NULL) - t0 <= 3);
	env_close(&e);
}

struct spf_out {
	struct event_base *base;
	int calls;
	struct spf_outcome o;
};

static void
on_spf(const struct spf_outcome *o, void *arg)
{
	struct spf_out *so = arg;

	so->calls++;
	so->o = *o;
	event_base_loopbreak(so->base);
}

static enum spf_result
spf_run(struct env *e, const char *ip, const char *sender, unsigned timeout,
	struct spf_out *so)
{
	struct spf_eval_params p = {.family = AF_INET,
				    .sender = sender,
				    .helo = "client.ptest",
				    .domain = strchr(sender, '@') + 1,
				    .receiver = "mx.ptest"};
	struct spf_outcome now;

	assert_int_equal(inet_pton(AF_INET, ip, p.ip), 1);
	memset(so, 0, sizeof(*so));
	so->base = e->base;
	struct mauth_spf *s =
	    mauth_spf_start(e->dns, &p, timeout, on_spf, so, &now);
	if (!s)
		return now.result;
	run_for(e->base, 10000);
	assert_int_equal(so->calls, 1);
	return so->o.result;
}

static void
test_spf_driver(void **state)
{
	struct env e;
	struct spf_out so;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	assert_int_equal(spf_run(&e, "127.0.0.5", "a@spf.ptest", 0, &so),
			 SPF_RES_PASS);
	assert_string_equal(so.o.mechanism, "a:host5.ptest");
	/* mx:a.ptest: its three hosts' addresses asked at once. */
	assert_int_equal(spf_run(&e, "127.0.0.4", "a@spf.ptest", 0, &so),
			 SPF_RES_PASS);
	assert_int_equal(so.o.lookups, 2);
	assert_int_equal(spf_run(&e, "127.0.0.9", "a@spf.ptest", 0, &so),
			 SPF_RES_FAIL);
	assert_int_equal(spf_run(&e, "127.0.0.9", "a@nope.ptest", 0, &so),
			 SPF_RES_NONE);
	/* Not a domain at all: decided without DNS. */
	assert_int_equal(spf_run(&e, "127.0.0.9", "a@single", 0, &so),
			 SPF_RES_NONE);
	assert_int_equal(so.calls, 0);
	env_close(&e);
	/* DNS time-out: temperror, never a pass. */
	env_open(&e, silent_server);
	assert_int_equal(spf_run(&e, "127.0.0.5", "a@spf.ptest", 1, &so),
			 SPF_RES_TEMPERROR);
	/* Freeing the resolver with a check in flight calls back no one. */
	struct spf_eval_params p = {.family = AF_INET,
				    .sender = "a@spf.ptest",
				    .helo = "h.ptest",
				    .domain = "spf.ptest"};
	struct spf_outcome now;
	struct mauth_spf *s = mauth_spf_start(e.dns, &p, 5, on_spf, &so, &now);
	assert_non_null(s);
	mauth_spf_cancel(s);
	env_close(&e);
}

struct iprev_out {
	struct event_base *base;
	int calls;
	struct iprev_outcome o;
};

static void
on_iprev(const struct iprev_outcome *o, void *arg)
{
	struct iprev_out *io = arg;

	io->calls++;
	io->o = *o;
	event_base_loopbreak(io->base);
}

static enum iprev_result
iprev_run(struct env *e, const char *ip, struct iprev_out *io)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct iprev_outcome now;

	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	memset(io, 0, sizeof(*io));
	io->base = e->base;
	assert_non_null(iprev_start(e->dns, (struct sockaddr *)&sin, 1,
				    on_iprev, io, &now));
	run_for(e->base, 10000);
	assert_int_equal(io->calls, 1);
	return io->o.result;
}

static void
test_iprev(void **state)
{
	struct env e;
	struct iprev_out io;

	(void)state;
	need_dnsmasq();
	env_open(&e, server);
	assert_int_equal(iprev_run(&e, "127.0.0.5", &io), IPREV_PASS);
	assert_string_equal(io.o.name, "host5.ptest");
	assert_int_equal(iprev_run(&e, "127.0.0.6", &io), IPREV_FAIL);
	assert_string_equal(io.o.name, "");
	assert_int_equal(iprev_run(&e, "127.0.0.99", &io), IPREV_FAIL);
	env_close(&e);
	env_open(&e, silent_server);
	assert_int_equal(iprev_run(&e, "127.0.0.5", &io), IPREV_TEMPERROR);
	env_close(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_syntax),
	    cmocka_unit_test(test_mx_order),
	    cmocka_unit_test(test_mx_equal_preference_shuffled),
	    cmocka_unit_test(test_implicit_mx),
	    cmocka_unit_test(test_cname),
	    cmocka_unit_test(test_null_mx),
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_mx_hosts_without_address),
	    cmocka_unit_test(test_silent_server_tempfail),
	    cmocka_unit_test(test_address_literal),
	    cmocka_unit_test(test_resolve_host),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_free_in_flight),
	    cmocka_unit_test(test_free_from_callback),
	    cmocka_unit_test(test_raw_records),
	    cmocka_unit_test(test_spf_driver),
	    cmocka_unit_test(test_iprev),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
