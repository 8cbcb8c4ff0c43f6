/*
 * test_config - value parsers, whole files (each fed NUL-terminated and
 * as an exact-length heap copy so ASan catches over-reads), overrides,
 * the print/parse round trip and relay network matching.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_sizes(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t bytes;
	} cases[] = {
	    {"0", 0, 0},
	    {"1", 0, 1},
	    {"1024", 0, 1024},
	    {"1k", 0, 1024},
	    {"1K", 0, 1024},
	    {"25m", 0, 25u * 1024 * 1024},
	    {"25M", 0, 25u * 1024 * 1024},
	    {"2g", 0, 2ull * 1024 * 1024 * 1024},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"18446744073709551616", -1, 0},
	    {"17179869184g", -1, 0},
	    {"", -1, 0},
	    {"k", -1, 0},
	    {"1t", -1, 0},
	    {"1kb", -1, 0},
	    {"-1", -1, 0},
	    {"+1", -1, 0},
	    {" 1", -1, 0},
	    {"1 k", -1, 0},
	    {"1.5m", -1, 0},
	    {"0x10", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		uint64_t v = 12345;
		int r = config_parse_size(cases[i].in, &v);
		if (r != cases[i].ret)
			fail_msg("size '%s': got %d", cases[i].in, r);
		if (r == 0)
			assert_int_equal(v, cases[i].bytes);
	}
}

static void
test_durations(void **state)
{
	static const struct {
		const char *in;
		int ret;
		unsigned secs;
	} cases[] = {
	    {"0", 0, 0},
	    {"30", 0, 30},
	    {"30s", 0, 30},
	    {"5m", 0, 300},
	    {"5M", 0, 300},
	    {"1h", 0, 3600},
	    {"5d", 0, 432000},
	    {"4294967295", 0, 4294967295u},
	    {"4294967296", -1, 0},
	    {"49711d", -1, 0},
	    {"49710d", 0, 49710u * 86400},
	    {"", -1, 0},
	    {"s", -1, 0},
	    {"1w", -1, 0},
	    {"1h30m", -1, 0},
	    {"-5", -1, 0},
	    {"5 m", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		unsigned v = 777;
		int r = config_parse_duration(cases[i].in, &v);
		if (r != cases[i].ret)
			fail_msg("duration '%s': got %d", cases[i].in, r);
		if (r == 0)
			assert_int_equal(v, cases[i].secs);
	}
}

static void
test_bools(void **state)
{
	static const struct {
		const char *in;
		int ret;
		bool v;
	} cases[] = {
	    {"yes", 0, true},	 {"YES", 0, true},    {"true", 0, true},
	    {"on", 0, true},	 {"1", 0, true},      {"no", 0, false},
	    {"false", 0, false}, {"Off", 0, false},   {"0", 0, false},
	    {"", -1, false},	 {"y", -1, false},    {"2", -1, false},
	    {"yess", -1, false}, {" yes", -1, false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		bool v = !cases[i].v;
		int r = config_parse_bool(cases[i].in, &v);
		if (r != cases[i].ret)
			fail_msg("bool '%s': got %d", cases[i].in, r);
		if (r == 0)
			assert_int_equal(v, cases[i].v);
	}
}

static void
test_listen(void **state)
{
	static const struct {
		const char *in;
		int ret;
		size_t n;
		const char *host0;
		unsigned port0;
		const char *host1;
		unsigned port1;
		const char *err;
	} cases[] = {
	    {"0.0.0.0:25", 0, 1, "0.0.0.0", 25, NULL, 0, NULL},
	    {"[::1]:25", 0, 1, "::1", 25, NULL, 0, NULL},
	    {"", 0, 0, NULL, 0, NULL, 0, NULL},
	    {"   ", 0, 0, NULL, 0, NULL, 0, NULL},
	    {"127.0.0.1:2525 ,  [::]:65535", 0, 2, "127.0.0.1", 2525,
	     "::", 65535, NULL},
	    {"127.0.0.1", -1, 0, NULL, 0, NULL, 0,
	     "missing port in '127.0.0.1'"},
	    {"[::1]", -1, 0, NULL, 0, NULL, 0, "missing port in '[::1]'"},
	    {"127.0.0.1:0", -1, 0, NULL, 0, NULL, 0,
	     "bad port in '127.0.0.1:0'"},
	    {"127.0.0.1:65536", -1, 0, NULL, 0, NULL, 0,
	     "bad port in '127.0.0.1:65536'"},
	    {"127.0.0.1:", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"127.0.0.1:x", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"::1:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"[::1:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"[::1]x:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"[127.0.0.1]:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"[]:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {":25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"localhost:25", -1, 0, NULL, 0, NULL, 0,
	     "not a literal IP address in 'localhost:25'"},
	    {"1.2.3.4:25,", -1, 0, NULL, 0, NULL, 0, "empty item in ''"},
	    {"1.2.3.4:25,,1.2.3.4:26", -1, 0, NULL, 0, NULL, 0, NULL},
	    {",1.2.3.4:25", -1, 0, NULL, 0, NULL, 0, NULL},
	    {"1.2.3.4:25 1.2.3.4:26", -1, 0, NULL, 0, NULL, 0, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct config_listen_list l;
		char err[128] = "";
		int r;

		l.n = 99;
		r = config_parse_listen(cases[i].in, &l, err, sizeof(err));
		if (r != cases[i].ret)
			fail_msg("listen '%s': got %d (%s)", cases[i].in, r,
				 err);
		if (r < 0) {
			assert_int_equal(l.n, 99); /* untouched */
			if (cases[i].err != NULL)
				assert_string_equal(err, cases[i].err);
			continue;
		}
		assert_int_equal(l.n, cases[i].n);
		if (l.n > 0) {
			assert_string_equal(l.items[0].host, cases[i].host0);
			assert_int_equal(l.items[0].port, cases[i].port0);
		}
		if (l.n > 1) {
			assert_string_equal(l.items[1].host, cases[i].host1);
			assert_int_equal(l.items[1].port, cases[i].port1);
		}
	}
}

static void
test_listen_too_many(void **state)
{
	struct config_listen_list l;
	char buf[2048] = "", err[128];
	int i;

	(void)state;
	for (i = 0; i < CONFIG_MAX_LISTEN; i++)
		sprintf(buf + strlen(buf), "%s127.0.0.1:%d", i ? "," : "",
			1000 + i);
	assert_int_equal(config_parse_listen(buf, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, CONFIG_MAX_LISTEN);
	strcat(buf, ",127.0.0.1:2000");
	assert_int_equal(config_parse_listen(buf, &l, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 16 addresses");
}

static void
test_nets(void **state)
{
	static const struct {
		const char *in;
		int ret;
		int family;
		unsigned prefix;
		const char *addr; /* after masking */
	} cases[] = {
	    {"127.0.0.1/32", 0, AF_INET, 32, "127.0.0.1"},
	    {"10.1.2.3/8", 0, AF_INET, 8, "10.0.0.0"},
	    {"192.168.77.1/20", 0, AF_INET, 20, "192.168.64.0"},
	    {"0.0.0.0/0", 0, AF_INET, 0, "0.0.0.0"},
	    {"1.2.3.4", 0, AF_INET, 32, "1.2.3.4"},
	    {"::1/128", 0, AF_INET6, 128, "::1"},
	    {"2001:db8::ff/33", 0, AF_INET6, 33, "2001:db8::"},
	    {"::/0", 0, AF_INET6, 0, "::"},
	    {"::1", 0, AF_INET6, 128, "::1"},
	    {"1.2.3.4/33", -1, 0, 0, NULL},
	    {"::1/129", -1, 0, 0, NULL},
	    {"1.2.3.4/", -1, 0, 0, NULL},
	    {"1.2.3.4/-1", -1, 0, 0, NULL},
	    {"1.2.3.4/08x", -1, 0, 0, NULL},
	    {"1.2.3.4/99999999999999999999", -1, 0, 0, NULL},
	    {"/8", -1, 0, 0, NULL},
	    {"", -1, 0, 0, NULL},
	    {"1.2.3/24", -1, 0, 0, NULL},
	    {"example.com/8", -1, 0, 0, NULL},
	    {"1.2.3.4/8/8", -1, 0, 0, NULL},
	    {"::1/1 28", -1, 0, 0, NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct config_net n;
		char buf[INET6_ADDRSTRLEN];
		int r = config_parse_net(cases[i].in, &n);

		if (r != cases[i].ret)
			fail_msg("net '%s': got %d", cases[i].in, r);
		if (r < 0)
			continue;
		assert_int_equal(n.family, cases[i].family);
		assert_int_equal(n.prefix, cases[i].prefix);
		assert_non_null(inet_ntop(n.family, n.addr, buf, sizeof(buf)));
		assert_string_equal(buf, cases[i].addr);
	}
}

static void
sa_from(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
}

static void
test_net_contains(void **state)
{
	static const struct {
		const char *net, *ip;
		bool in;
	} cases[] = {
	    {"127.0.0.1/32", "127.0.0.1", true},
	    {"127.0.0.1/32", "127.0.0.2", false},
	    {"10.0.0.0/8", "10.255.1.2", true},
	    {"10.0.0.0/8", "11.0.0.0", false},
	    {"192.168.64.0/20", "192.168.79.255", true},
	    {"192.168.64.0/20", "192.168.80.0", false},
	    {"0.0.0.0/0", "203.0.113.9", true},
	    {"0.0.0.0/0", "::1", false},
	    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
	    {"10.0.0.0/8", "::ffff:11.1.2.3", false},
	    {"10.0.0.0/8", "::10.1.2.3", false},
	    {"127.0.0.1/32", "::1", false},
	    {"::1/128", "::1", true},
	    {"::1/128", "127.0.0.1", false},
	    {"::1/128", "::2", false},
	    {"2001:db8::/33", "2001:db8:7fff::1", true},
	    {"2001:db8::/33", "2001:db8:8000::1", false},
	    {"::/0", "fe80::1", true},
	    {"::ffff:10.0.0.0/104", "10.9.9.9", true},
	    {"::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true},
	    {"::ffff:10.0.0.0/104", "11.9.9.9", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct config_net n;
		struct sockaddr_storage ss;

		assert_int_equal(config_parse_net(cases[i].net, &n), 0);
		sa_from(cases[i].ip, &ss);
		if (config_net_contains(&n, (struct sockaddr *)&ss) !=
		    cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].ip,
				 cases[i].net, cases[i].in);
	}
}

static void
test_relay_client(void **state)
{
	struct config cfg;
	struct sockaddr_storage ss;
	struct sockaddr sa_unix;
	char err[256];

	(void)state;
	config_init(&cfg);
	sa_from("127.0.0.1", &ss);
	assert_true(config_is_relay_client(&cfg, (struct sockaddr *)&ss));
	sa_from("::ffff:127.0.0.1", &ss);
	assert_true(config_is_relay_client(&cfg, (struct sockaddr *)&ss));
	sa_from("::1", &ss);
	assert_true(config_is_relay_client(&cfg, (struct sockaddr *)&ss));
	sa_from("127.0.0.2", &ss);
	assert_false(config_is_relay_client(&cfg, (struct sockaddr *)&ss));
	memset(&sa_unix, 0, sizeof(sa_unix));
	sa_unix.sa_family = AF_UNIX;
	assert_false(config_is_relay_client(&cfg, &sa_unix));
	assert_int_equal(
	    config_set(&cfg, "relay_networks", "", err, sizeof(err)), 0);
	assert_int_equal(cfg.n_relay_networks, 0);
	sa_from("127.0.0.1", &ss);
	assert_false(config_is_relay_client(&cfg, (struct sockaddr *)&ss));
	config_free(&cfg);
}

static void
test_defaults(void **state)
{
	struct config cfg;
	char host[256];

	(void)state;
	config_init(&cfg);
	assert_non_null(cfg.hostname);
	if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0')
		assert_string_equal(cfg.hostname, host);
	assert_string_equal(cfg.data_dir, "./petrel-data");
	assert_int_equal(cfg.smtp_listen.n, 1);
	assert_string_equal(cfg.smtp_listen.items[0].host, "0.0.0.0");
	assert_int_equal(cfg.smtp_listen.items[0].port, 25);
	assert_int_equal(cfg.submission_listen.items[0].port, 587);
	assert_int_equal(cfg.smtps_listen.items[0].port, 465);
	assert_int_equal(cfg.pop3_listen.items[0].port, 110);
	assert_int_equal(cfg.pop3s_listen.items[0].port, 995);
	assert_int_equal(cfg.imap_listen.items[0].port, 143);
	assert_int_equal(cfg.imaps_listen.items[0].port, 993);
	assert_string_equal(cfg.tls_cert, "");
	assert_string_equal(cfg.tls_key, "");
	assert_int_equal(cfg.n_relay_networks, 2);
	assert_int_equal(cfg.relay_networks[0].family, AF_INET);
	assert_int_equal(cfg.relay_networks[0].prefix, 32);
	assert_int_equal(cfg.relay_networks[1].family, AF_INET6);
	assert_int_equal(cfg.relay_networks[1].prefix, 128);
	assert_int_equal(cfg.max_message_size, 25u * 1024 * 1024);
	assert_int_equal(cfg.max_recipients, 1000);
	assert_int_equal(cfg.n_dns_servers, 0);
	assert_int_equal(cfg.outbound_port, 25);
	assert_string_equal(cfg.smarthost, "");
	assert_string_equal(cfg.smarthost_user, "");
	assert_string_equal(cfg.smarthost_password, "");
	assert_int_equal(cfg.n_retry_intervals, 6);
	assert_int_equal(cfg.retry_intervals[0], 300);
	assert_int_equal(cfg.retry_intervals[5], 4 * 3600);
	assert_int_equal(cfg.queue_lifetime, 5 * 86400);
	assert_string_equal(cfg.user, "");
	assert_string_equal(cfg.group, "");
	assert_false(cfg.smtp_vrfy_expn);
	assert_int_equal(cfg.max_connections, 10000);
	assert_int_equal(cfg.max_connections_per_ip, 50);
	assert_int_equal(cfg.max_errors, 10);
	assert_int_equal(cfg.max_received_headers, 50);
	assert_int_equal(cfg.smtp_timeout, 300);
	assert_int_equal(cfg.smtp_data_timeout, 600);
	assert_string_equal(cfg.log_level, "info");
	config_free(&cfg);
	assert_null(cfg.hostname);
	config_free(&cfg); /* twice is harmless */
}

/* parse_both - text NUL-terminated, then as an exact-length heap copy. */
static int
parse_both(struct config *cfg, const char *text, size_t len, char *err,
	   size_t errlen)
{
	struct config cfg2;
	char err2[256] = "";
	char *copy = malloc(len ? len : 1);
	int r1, r2;

	assert_non_null(copy);
	memcpy(copy, text, len);
	config_init(&cfg2);
	r2 = config_parse(&cfg2, copy, len, err2, sizeof(err2));
	config_free(&cfg2);
	free(copy);
	r1 = config_parse(cfg, text, len, err, errlen);
	assert_int_equal(r1, r2);
	if (r1 < 0)
		assert_string_equal(err, err2);
	return r1;
}

static void
test_files(void **state)
{
	static const struct {
		const char *text;
		size_t len;	 /* 0 = strlen */
		const char *err; /* NULL = success */
	} cases[] = {
	    {"", 0, NULL},
	    {"\n\n\n", 0, NULL},
	    {"# only a comment", 0, NULL},
	    {"hostname = mx.example.org", 0, NULL},
	    {"hostname=mx.example.org\n", 0, NULL},
	    {"  hostname\t=\tmx.example.org   # the name\n", 0, NULL},
	    {"hostname = mx.example.org\r\n", 0, NULL},
	    {"#hostname = bad name\n", 0, NULL},
	    {"smtp_lisen = 0.0.0.0:25\n", 0,
	     "line 1: unknown key 'smtp_lisen'"},
	    {"\n# c\nhostname = a\nfoo = bar\n", 0,
	     "line 4: unknown key 'foo'"},
	    {"hostname = a\nhostname\n", 0, "line 2: expected 'key = value'"},
	    {"hostname = a\n   # x = y\n   \n= x\n", 0, "line 4: missing key"},
	    {"queue_lifetime = x\n", 0,
	     "line 1: bad duration 'x' for queue_lifetime"},
	    {"queue_lifetime = 0\n", 0, NULL},
	    {"smtp_timeout = 0\n", 0,
	     "line 1: bad duration '0' for smtp_timeout"},
	    {"max_message_size = 0\n", 0,
	     "line 1: bad size '0' for max_message_size"},
	    {"max_message_size = 10q\n", 0,
	     "line 1: bad size '10q' for max_message_size"},
	    {"max_recipients = 0\n", 0,
	     "line 1: bad number '0' for max_recipients"},
	    {"max_recipients = 4294967296\n", 0,
	     "line 1: bad number '4294967296' for max_recipients"},
	    {"max_errors = -1\n", 0, "line 1: bad number '-1' for max_errors"},
	    {"outbound_port = 0\n", 0,
	     "line 1: bad port '0' for outbound_port"},
	    {"outbound_port = 65536\n", 0,
	     "line 1: bad port '65536' for outbound_port"},
	    {"outbound_port = 2525 # tests\n", 0, NULL},
	    {"smtp_listen = 0.0.0.0\n", 0,
	     "line 1: missing port in '0.0.0.0' for smtp_listen"},
	    {"smtp_listen =\nimap_listen = # off\n", 0, NULL},
	    {"relay_networks = 10.0.0.0/33\n", 0,
	     "line 1: bad network '10.0.0.0/33' for relay_networks"},
	    {"relay_networks = ::/129\n", 0,
	     "line 1: bad network '::/129' for relay_networks"},
	    {"dns_servers = 127.0.0.1:5353, ::1, [::1]:53, 9.9.9.9\n", 0, NULL},
	    {"dns_servers = 127.0.0.1:0\n", 0,
	     "line 1: bad dns server '127.0.0.1:0' for dns_servers"},
	    {"dns_servers = ns.example.com\n", 0,
	     "line 1: bad dns server 'ns.example.com' for dns_servers"},
	    {"dns_servers = ::1:53\n", 0, NULL}, /* the address ::1:53 */
	    {"dns_servers = 1.2.3.4:5:6\n", 0,
	     "line 1: bad dns server '1.2.3.4:5:6' for dns_servers"},
	    {"dns_servers = [::1]x\n", 0,
	     "line 1: bad dns server '[::1]x' for dns_servers"},
	    {"dns_servers = 1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,"
	     "6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9\n",
	     0, "line 1: more than 8 items for dns_servers"},
	    {"smarthost = relay.example.com\n", 0, NULL},
	    {"smarthost = relay.example.com:587\n", 0, NULL},
	    {"smarthost = [2001:db8::1]:587\n", 0, NULL},
	    {"smarthost = relay.example.com:0\n", 0,
	     "line 1: bad smarthost 'relay.example.com:0' (want host or "
	     "host:port)"},
	    {"smarthost = relay example\n", 0,
	     "line 1: bad smarthost 'relay example' (want host or "
	     "host:port)"},
	    {"smarthost = :25\n", 0,
	     "line 1: bad smarthost ':25' (want host or host:port)"},
	    {"retry_intervals = 1s\n", 0, NULL},
	    {"retry_intervals = 1s, 0, 5m\n", 0,
	     "line 1: bad duration '0' for retry_intervals"},
	    {"retry_intervals =\n", 0, "line 1: empty retry_intervals"},
	    {"smtp_vrfy_expn = maybe\n", 0,
	     "line 1: bad boolean 'maybe' for smtp_vrfy_expn"},
	    {"log_level = verbose\n", 0,
	     "line 1: bad log_level 'verbose' (debug, info, warning or "
	     "error)"},
	    {"log_level = WARNING\n", 0, NULL},
	    {"hostname =\n", 0, "line 1: bad host name '' for hostname"},
	    {"data_dir =\n", 0, "line 1: empty data_dir"},
	    {"hostname = a\0b\n", 15, "line 1: NUL byte"},
	    {"# ok\n\0", 6, "line 2: NUL byte"},
	    {"# \0 in a comment\n", 17, "line 1: NUL byte"},
	    {"smarthost_password = a\x01z\n", 0,
	     "line 1: control character in value for smarthost_password"},
	    {"HOSTNAME = a\n", 0, "line 1: unknown key 'HOSTNAME'"},
	    {"user = petrel\ngroup = mail\n", 0, NULL},
	    {"tls_cert = /etc/ssl/a b.pem\n", 0, NULL},
	    {"hostname = a = b\n", 0,
	     "line 1: bad host name 'a = b' for hostname"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct config cfg;
		char err[256] = "";
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].text);
		int r;

		config_init(&cfg);
		r = parse_both(&cfg, cases[i].text, len, err, sizeof(err));
		if (cases[i].err == NULL && r != 0)
			fail_msg("case %zu: unexpected error '%s'", i, err);
		if (cases[i].err != NULL) {
			if (r != -1)
				fail_msg("case %zu: expected '%s'", i,
					 cases[i].err);
			assert_string_equal(err, cases[i].err);
		}
		config_free(&cfg);
	}
}

static void
test_file_values(void **state)
{
	static const char text[] =
	    "# petrel.conf\n"
	    "hostname = mx.example.org   # comment\n"
	    "smtp_listen = 127.0.0.1:2525,[::1]:2525\n"
	    "submission_listen =\n"
	    "relay_networks = 10.0.0.0/8\n"
	    "max_message_size = 10k\n"
	    "dns_servers = 127.0.0.1:5353\n"
	    "retry_intervals = 1s,2s\n"
	    "smtp_vrfy_expn = yes\n"
	    "log_level = Debug\n"
	    "smarthost_password = pa ss"; /* no final newline */
	struct config cfg;
	char err[256];

	(void)state;
	config_init(&cfg);
	assert_int_equal(parse_both(&cfg, text, strlen(text), err, sizeof(err)),
			 0);
	assert_string_equal(cfg.hostname, "mx.example.org");
	assert_int_equal(cfg.smtp_listen.n, 2);
	assert_string_equal(cfg.smtp_listen.items[1].host, "::1");
	assert_int_equal(cfg.submission_listen.n, 0);
	assert_int_equal(cfg.smtps_listen.n, 1); /* default kept */
	assert_int_equal(cfg.n_relay_networks, 1);
	assert_int_equal(cfg.max_message_size, 10240);
	assert_int_equal(cfg.n_dns_servers, 1);
	assert_string_equal(cfg.dns_servers[0], "127.0.0.1:5353");
	assert_int_equal(cfg.n_retry_intervals, 2);
	assert_int_equal(cfg.retry_intervals[1], 2);
	assert_true(cfg.smtp_vrfy_expn);
	assert_string_equal(cfg.log_level, "debug");
	assert_string_equal(cfg.smarthost_password, "pa ss");
	config_free(&cfg);
}

static void
test_error_keeps_value(void **state)
{
	struct config cfg;
	char err[256];

	(void)state;
	config_init(&cfg);
	assert_int_equal(
	    config_set(&cfg, "smtp_listen", "1.2.3.4:1, x", err, sizeof(err)),
	    -1);
	assert_int_equal(cfg.smtp_listen.n, 1);
	assert_int_equal(cfg.smtp_listen.items[0].port, 25);
	assert_int_equal(config_set(&cfg, "relay_networks", "1.2.3.4/8, x", err,
				    sizeof(err)),
			 -1);
	assert_int_equal(cfg.n_relay_networks, 2);
	assert_int_equal(
	    config_set(&cfg, "retry_intervals", "1s, x", err, sizeof(err)), -1);
	assert_int_equal(cfg.n_retry_intervals, 6);
	/* A string key replaced twice leaks nothing (ASan/LSan checks). */
	assert_int_equal(config_set(&cfg, "tls_cert", "a", err, sizeof(err)),
			 0);
	assert_int_equal(config_set(&cfg, "tls_cert", "b", err, sizeof(err)),
			 0);
	assert_string_equal(cfg.tls_cert, "b");
	config_free(&cfg);
}

static void
test_override(void **state)
{
	static const struct {
		const char *kv;
		const char *err;
	} cases[] = {
	    {"hostname=mx.test", NULL},
	    {" outbound_port = 2525 ", NULL},
	    {"smtp_listen=", NULL},
	    {"smarthost_password=a#b", NULL}, /* no comments here */
	    {"hostname", "expected KEY=VALUE, not 'hostname'"},
	    {"nope=1", "unknown key 'nope'"},
	    {"=1", "unknown key ''"},
	    {"queue_lifetime=5y", "bad duration '5y' for queue_lifetime"},
	    {"hostname=a\nsmtp_listen=1.2.3.4:1",
	     "control character in value for hostname"},
	};
	struct config cfg;
	size_t i;

	(void)state;
	config_init(&cfg);
	for (i = 0; i < N(cases); i++) {
		char err[256] = "";
		int r = config_override(&cfg, cases[i].kv, err, sizeof(err));
		if (cases[i].err == NULL) {
			if (r != 0)
				fail_msg("'%s': %s", cases[i].kv, err);
		} else {
			assert_int_equal(r, -1);
			assert_string_equal(err, cases[i].err);
		}
	}
	assert_string_equal(cfg.hostname, "mx.test");
	assert_int_equal(cfg.outbound_port, 2525);
	assert_int_equal(cfg.smtp_listen.n, 0);
	assert_string_equal(cfg.smarthost_password, "a#b");
	config_free(&cfg);
}

static char *
print_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_print(cfg, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
assert_config_equal(const struct config *a, const struct config *b)
{
	const struct config_listen_list *la[] = {
	    &a->smtp_listen,  &a->submission_listen, &a->smtps_listen,
	    &a->pop3_listen,  &a->pop3s_listen,	     &a->imap_listen,
	    &a->imaps_listen,
	};
	const struct config_listen_list *lb[] = {
	    &b->smtp_listen,  &b->submission_listen, &b->smtps_listen,
	    &b->pop3_listen,  &b->pop3s_listen,	     &b->imap_listen,
	    &b->imaps_listen,
	};
	size_t i;

	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->data_dir, b->data_dir);
	for (i = 0; i < N(la); i++)
		assert_memory_equal(la[i], lb[i], sizeof(*la[i]));
	assert_string_equal(a->tls_cert, b->tls_cert);
	assert_string_equal(a->tls_key, b->tls_key);
	assert_int_equal(a->n_relay_networks, b->n_relay_networks);
	assert_memory_equal(a->relay_networks, b->relay_networks,
			    sizeof(a->relay_networks));
	assert_int_equal(a->max_message_size, b->max_message_size);
	assert_int_equal(a->max_recipients, b->max_recipients);
	assert_int_equal(a->n_dns_servers, b->n_dns_servers);
	assert_memory_equal(a->dns_servers, b->dns_servers,
			    sizeof(a->dns_servers));
	assert_int_equal(a->outbound_port, b->outbound_port);
	assert_string_equal(a->smarthost, b->smarthost);
	assert_string_equal(a->smarthost_user, b->smarthost_user);
	assert_string_equal(a->smarthost_password, b->smarthost_password);
	assert_int_equal(a->n_retry_intervals, b->n_retry_intervals);
	assert_memory_equal(a->retry_intervals, b->retry_intervals,
			    sizeof(a->retry_intervals));
	assert_int_equal(a->queue_lifetime, b->queue_lifetime);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->group, b->group);
	assert_int_equal(a->smtp_vrfy_expn, b->smtp_vrfy_expn);
	assert_int_equal(a->max_connections, b->max_connections);
	assert_int_equal(a->max_connections_per_ip, b->max_connections_per_ip);
	assert_int_equal(a->max_errors, b->max_errors);
	assert_int_equal(a->max_received_headers, b->max_received_headers);
	assert_int_equal(a->smtp_timeout, b->smtp_timeout);
	assert_int_equal(a->smtp_data_timeout, b->smtp_data_timeout);
	assert_string_equal(a->log_level, b->log_level);
	assert_memory_equal(&a->admin_listen, &b->admin_listen,
			    sizeof(a->admin_listen));
	assert_int_equal(a->admin_plain_http, b->admin_plain_http);
	assert_int_equal(a->admin_session_idle, b->admin_session_idle);
	assert_int_equal(a->admin_session_lifetime, b->admin_session_lifetime);
	assert_int_equal(a->metrics_networks.n, b->metrics_networks.n);
	assert_memory_equal(&a->metrics_networks, &b->metrics_networks,
			    sizeof(a->metrics_networks));
	assert_string_equal(a->admin_chartjs, b->admin_chartjs);
	assert_int_equal(a->admin_log_lines, b->admin_log_lines);
}

/* round_trip - parse(print(cfg)) into fresh defaults gives cfg again. */
static void
round_trip(const char *text)
{
	struct config a, b;
	char err[256];
	char *printed;

	config_init(&a);
	if (config_parse(&a, text, strlen(text), err, sizeof(err)) < 0)
		fail_msg("%s", err);
	printed = print_to_string(&a);
	config_init(&b);
	if (config_parse(&b, printed, strlen(printed), err, sizeof(err)) < 0)
		fail_msg("reparse: %s\n%s", err, printed);
	assert_config_equal(&a, &b);
	free(printed);
	config_free(&a);
	config_free(&b);
}

static void
test_round_trip(void **state)
{
	(void)state;
	round_trip("");
	round_trip("hostname = mx.example.org\n"
		   "data_dir = /var/lib/petrel data\n"
		   "smtp_listen = 127.0.0.1:2525, [::1]:2525, [::]:25\n"
		   "submission_listen =\n"
		   "smtps_listen =\n"
		   "pop3_listen = 10.0.0.1:110\n"
		   "pop3s_listen =\n"
		   "imap_listen = [fe80::1]:143\n"
		   "imaps_listen =\n"
		   "tls_cert = /etc/ssl/cert.pem\n"
		   "tls_key = /etc/ssl/key.pem\n"
		   "relay_networks = 10.9.8.7/8, 2001:db8::/32, 1.2.3.4\n"
		   "max_message_size = 1000001\n"
		   "max_recipients = 7\n"
		   "dns_servers = 127.0.0.1:5353, ::1, [::1]:53\n"
		   "outbound_port = 2525\n"
		   "smarthost = [2001:db8::1]:587\n"
		   "smarthost_user = bob\n"
		   "retry_intervals = 1s, 61s, 3600, 2d, 90m\n"
		   "queue_lifetime = 0\n"
		   "user = petrel\n"
		   "group = mail\n"
		   "smtp_vrfy_expn = on\n"
		   "max_connections = 1\n"
		   "max_connections_per_ip = 4294967295\n"
		   "max_errors = 3\n"
		   "max_received_headers = 100\n"
		   "smtp_timeout = 4294967295\n"
		   "smtp_data_timeout = 1d\n"
		   "log_level = error\n");
	round_trip("relay_networks =\nmax_message_size = 2g\n"
		   "retry_intervals = 86400\n");
	round_trip("admin_listen = 127.0.0.1:9443, [::1]:9443\n"
		   "admin_plain_http = yes\n"
		   "admin_session_idle = 90s\n"
		   "admin_session_lifetime = 2h\n"
		   "metrics_networks = 10.1.2.3/8, 2001:db8::/32\n"
		   "admin_chartjs = /opt/chart.js\n"
		   "admin_log_lines = 0\n");
	round_trip("metrics_networks =\n");
}

static void
test_print(void **state)
{
	static const char *const order[] = {
	    "hostname",
	    "data_dir",
	    "smtp_listen",
	    "submission_listen",
	    "smtps_listen",
	    "pop3_listen",
	    "pop3s_listen",
	    "imap_listen",
	    "imaps_listen",
	    "tls_cert",
	    "tls_key",
	    "relay_networks",
	    "max_message_size",
	    "max_recipients",
	    "dns_servers",
	    "outbound_port",
	    "smarthost",
	    "smarthost_user",
	    "smarthost_password",
	    "retry_intervals",
	    "queue_lifetime",
	    "user",
	    "group",
	    "smtp_vrfy_expn",
	    "max_connections",
	    "max_connections_per_ip",
	    "max_errors",
	    "max_received_headers",
	    "smtp_timeout",
	    "smtp_data_timeout",
	    "log_level",
	    "outbound_connections",
	    "outbound_connections_per_destination",
	    "outbound_tls_required",
	    "max_auth_failures",
	    "auth_failure_window",
	    "admin_listen",
	    "admin_plain_http",
	    "admin_session_idle",
	    "admin_session_lifetime",
	    "metrics_networks",
	    "admin_chartjs",
	    "admin_log_lines",
	};
	struct config cfg;
	char err[256], *out, *p;
	size_t i;

	(void)state;
	config_init(&cfg);
	out = print_to_string(&cfg);
	assert_non_null(strstr(out, "\nsmtp_listen = 0.0.0.0:25\n"));
	assert_non_null(strstr(out, "\nrelay_networks = 127.0.0.1/32, "
				    "::1/128\n"));
	assert_non_null(strstr(out, "\nmax_message_size = 25m\n"));
	assert_non_null(strstr(out, "\nretry_intervals = 5m, 10m, 30m, 1h, "
				    "2h, 4h\n"));
	assert_non_null(strstr(out, "\nqueue_lifetime = 5d\n"));
	assert_non_null(strstr(out, "\ntls_cert =\n"));
	assert_non_null(strstr(out, "\nsmarthost_password =\n"));
	assert_non_null(strstr(out, "\nsmtp_vrfy_expn = no\n"));
	/* Every key once, in order. */
	p = out;
	for (i = 0; i < N(order); i++) {
		size_t n = strlen(order[i]);
		if (strncmp(p, order[i], n) != 0 || strncmp(p + n, " =", 2))
			fail_msg("expected %s at: %.40s", order[i], p);
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	assert_string_equal(p, "");
	free(out);

	/* The password is hidden. */
	assert_int_equal(
	    config_set(&cfg, "smarthost_password", "hunter2", err, sizeof(err)),
	    0);
	out = print_to_string(&cfg);
	assert_null(strstr(out, "hunter2"));
	assert_non_null(strstr(out, "\nsmarthost_password = ********\n"));
	free(out);
	config_free(&cfg);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/test_config_XXXXXX";
	char err[512], want[512];
	struct config cfg;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("hostname = mx.example.org\n\nmax_recipients = x\n", f);
	fclose(f);
	config_init(&cfg);
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "%s: line 3: bad number 'x' for max_recipients", path);
	assert_string_equal(err, want);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("hostname = mx.example.org\nmax_recipients = 3", f);
	fclose(f);
	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.hostname, "mx.example.org");
	assert_int_equal(cfg.max_recipients, 3);
	unlink(path);

	assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "cannot read %s: No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(config_load_file(&cfg, "/", err, sizeof(err)), -1);
	assert_string_equal(err, "cannot read /: Is a directory");
	config_free(&cfg);
}

/* A tiny err buffer truncates the message but never overflows. */
static void
test_small_err(void **state)
{
	struct config cfg;
	char err[8];

	(void)state;
	config_init(&cfg);
	assert_int_equal(config_parse(&cfg, "foo = 1", 7, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "line 1:");
	assert_int_equal(config_parse(&cfg, "foo = 1", 7, NULL, 0), -1);
	config_free(&cfg);
}

/* config_apply_live: live keys change, the others are only named. */
struct restart_log {
	char keys[512];
};

static void
note_key(const char *key, void *arg)
{
	struct restart_log *l = arg;
	strncat(l->keys, key, sizeof(l->keys) - strlen(l->keys) - 2);
	strcat(l->keys, " ");
}

static void
test_apply_live(void **state)
{
	struct config running, fresh;
	struct restart_log log = {""};
	char err[256];

	(void)state;
	config_init(&running);
	config_init(&fresh);
	assert_int_equal(config_parse(&fresh,
				      "max_recipients = 7\n"
				      "relay_networks = 10.0.0.0/8\n"
				      "tls_cert = /x/c.pem\n"
				      "tls_key = /x/k.pem\n"
				      "smtp_listen = 127.0.0.1:2525\n"
				      "hostname = other.example\n"
				      "smarthost_password = s3cret\n",
				      168, err, sizeof(err)),
			 0);
	config_apply_live(&running, &fresh, note_key, &log);
	assert_int_equal(running.max_recipients, 7);
	assert_int_equal(running.n_relay_networks, 1);
	assert_string_equal(running.tls_cert, "/x/c.pem");
	assert_string_equal(running.tls_key, "/x/k.pem");
	/* Restart-only: unchanged, but reported. */
	assert_int_equal(running.smtp_listen.items[0].port, 25);
	assert_string_not_equal(running.hostname, "other.example");
	assert_non_null(strstr(log.keys, "smtp_listen "));
	assert_non_null(strstr(log.keys, "hostname "));
	assert_non_null(strstr(log.keys, "smarthost_password "));
	assert_null(strstr(log.keys, "max_recipients"));
	/* Nothing differs: nothing reported. */
	struct restart_log none = {""};
	config_apply_live(&running, &running, note_key, &none);
	assert_string_equal(none.keys, "");
	config_free(&running);
	config_free(&fresh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_bools),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_listen_too_many),
	    cmocka_unit_test(test_nets),
	    cmocka_unit_test(test_net_contains),
	    cmocka_unit_test(test_relay_client),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_files),
	    cmocka_unit_test(test_file_values),
	    cmocka_unit_test(test_error_keeps_value),
	    cmocka_unit_test(test_override),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_print),
	    cmocka_unit_test(test_apply_live),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_small_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
