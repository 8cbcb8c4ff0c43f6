/*
 * config - defaults, the `key = value` file and `-o KEY=VALUE` overrides.
 *
 * Every key is a row of one table (name, kind, where it lives, lower
 * bound); config_set() looks the row up and runs the kind's parser into a
 * temporary, so a bad value leaves the struct untouched. config_print()
 * walks the same table, so every key is printed in a form config_parse()
 * accepts again.
 */
#include "conf/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/num.h"
#include "util/xalloc.h"

/* A config file larger than this is certainly a mistake. */
#define CONFIG_MAX_FILE (16u * 1024 * 1024)

enum config_kind {
	KIND_STR,      /* any text without control characters */
	KIND_NAME,     /* non-empty, no white space (hostname) */
	KIND_PATH,     /* non-empty text (data_dir) */
	KIND_LISTEN,   /* list of ADDR:PORT, empty = off */
	KIND_NETS,     /* relay_networks */
	KIND_NETLIST,  /* a struct config_net_list (metrics_networks) */
	KIND_SIZE,     /* 25m */
	KIND_UINT,     /* decimal, >= min */
	KIND_DNS,      /* dns_servers */
	KIND_PORT,     /* 1..65535 */
	KIND_HOSTPORT, /* smarthost: "" or host[:port] */
	KIND_RETRIES,  /* list of durations, each >= 1 */
	KIND_DURATION, /* 30s, 5m, 1h, 5d; >= min */
	KIND_BOOL,
	KIND_LOGLEVEL,
};

struct config_key {
	const char *name;
	enum config_kind kind;
	size_t offset;
	uint64_t min; /* KIND_UINT, KIND_SIZE, KIND_DURATION */
};

#define OFF(field) offsetof(struct config, field)

/* The order of interface.md, then the petrel extensions. */
static const struct config_key config_keys[] = {
    {"hostname", KIND_NAME, OFF(hostname), 0},
    {"data_dir", KIND_PATH, OFF(data_dir), 0},
    {"smtp_listen", KIND_LISTEN, OFF(smtp_listen), 0},
    {"submission_listen", KIND_LISTEN, OFF(submission_listen), 0},
    {"smtps_listen", KIND_LISTEN, OFF(smtps_listen), 0},
    {"pop3_listen", KIND_LISTEN, OFF(pop3_listen), 0},
    {"pop3s_listen", KIND_LISTEN, OFF(pop3s_listen), 0},
    {"imap_listen", KIND_LISTEN, OFF(imap_listen), 0},
    {"imaps_listen", KIND_LISTEN, OFF(imaps_listen), 0},
    {"tls_cert", KIND_STR, OFF(tls_cert), 0},
    {"tls_key", KIND_STR, OFF(tls_key), 0},
    {"relay_networks", KIND_NETS, 0, 0},
    {"max_message_size", KIND_SIZE, OFF(max_message_size), 1},
    {"max_recipients", KIND_UINT, OFF(max_recipients), 1},
    {"dns_servers", KIND_DNS, 0, 0},
    {"outbound_port", KIND_PORT, OFF(outbound_port), 0},
    {"smarthost", KIND_HOSTPORT, OFF(smarthost), 0},
    {"smarthost_user", KIND_STR, OFF(smarthost_user), 0},
    {"smarthost_password", KIND_STR, OFF(smarthost_password), 0},
    {"retry_intervals", KIND_RETRIES, 0, 0},
    {"queue_lifetime", KIND_DURATION, OFF(queue_lifetime), 0},
    {"user", KIND_STR, OFF(user), 0},
    {"group", KIND_STR, OFF(group), 0},
    {"smtp_vrfy_expn", KIND_BOOL, OFF(smtp_vrfy_expn), 0},
    {"max_connections", KIND_UINT, OFF(max_connections), 1},
    {"max_connections_per_ip", KIND_UINT, OFF(max_connections_per_ip), 1},
    {"max_errors", KIND_UINT, OFF(max_errors), 1},
    {"max_received_headers", KIND_UINT, OFF(max_received_headers), 1},
    {"smtp_timeout", KIND_DURATION, OFF(smtp_timeout), 1},
    {"smtp_data_timeout", KIND_DURATION, OFF(smtp_data_timeout), 1},
    {"log_level", KIND_LOGLEVEL, OFF(log_level), 0},
    {"outbound_connections", KIND_UINT, OFF(outbound_connections), 1},
    {"outbound_connections_per_destination", KIND_UINT,
     OFF(outbound_connections_per_destination), 1},
    {"outbound_tls_required", KIND_BOOL, OFF(outbound_tls_required), 0},
    {"max_auth_failures", KIND_UINT, OFF(max_auth_failures), 1},
    {"auth_failure_window", KIND_DURATION, OFF(auth_failure_window), 1},
    {"admin_listen", KIND_LISTEN, OFF(admin_listen), 0},
    {"admin_plain_http", KIND_BOOL, OFF(admin_plain_http), 0},
    {"admin_session_idle", KIND_DURATION, OFF(admin_session_idle), 1},
    {"admin_session_lifetime", KIND_DURATION, OFF(admin_session_lifetime), 1},
    {"metrics_networks", KIND_NETLIST, OFF(metrics_networks), 0},
    {"admin_chartjs", KIND_PATH, OFF(admin_chartjs), 0},
    {"admin_log_lines", KIND_UINT, OFF(admin_log_lines), 0},
};

#define N_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static const char *const log_levels[] = {"debug", "info", "warning", "error"};

/* The defaults of interface.md, applied through config_set(). */
static const struct {
	const char *key, *value;
} config_defaults[] = {
    {"data_dir", "./petrel-data"},
    {"smtp_listen", "0.0.0.0:25"},
    {"submission_listen", "0.0.0.0:587"},
    {"smtps_listen", "0.0.0.0:465"},
    {"pop3_listen", "0.0.0.0:110"},
    {"pop3s_listen", "0.0.0.0:995"},
    {"imap_listen", "0.0.0.0:143"},
    {"imaps_listen", "0.0.0.0:993"},
    {"tls_cert", ""},
    {"tls_key", ""},
    {"relay_networks", "127.0.0.1/32, ::1/128"},
    {"max_message_size", "25m"},
    {"max_recipients", "1000"},
    {"dns_servers", ""},
    {"outbound_port", "25"},
    {"smarthost", ""},
    {"smarthost_user", ""},
    {"smarthost_password", ""},
    {"retry_intervals", "5m, 10m, 30m, 1h, 2h, 4h"},
    {"queue_lifetime", "5d"},
    {"user", ""},
    {"group", ""},
    {"smtp_vrfy_expn", "no"},
    {"max_connections", "10000"},
    {"max_connections_per_ip", "50"},
    {"max_errors", "10"},
    {"max_received_headers", "50"},
    {"smtp_timeout", "5m"},
    {"smtp_data_timeout", "10m"},
    {"log_level", "info"},
    {"outbound_connections", "100"},
    {"outbound_connections_per_destination", "10"},
    {"outbound_tls_required", "no"},
    {"max_auth_failures", "10"},
    {"auth_failure_window", "1h"},
    {"admin_listen", "127.0.0.1:8443"},
    {"admin_plain_http", "no"},
    {"admin_session_idle", "30m"},
    {"admin_session_lifetime", "12h"},
    {"metrics_networks", "127.0.0.1/32, ::1/128"},
    {"admin_chartjs", "/usr/share/javascript/chart.js/chart.min.js"},
    {"admin_log_lines", "10000"},
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * quote - a value made safe to show in an error message: at most 60
 * bytes, control and non-ASCII bytes as '?'. buf must hold 64 bytes.
 */
static const char *
quote(const char *s, char *buf)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 60; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' ||
	       c == '\n';
}

/* trim_dup - copy s[0..len) without surrounding white space to the heap. */
static char *
trim_dup(const char *s, size_t len)
{
	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	return xstrndup(s, len);
}

/* parse_suffixed - "NUMBER[suffix]" where suffix multiplies by mult[]. */
static int
parse_suffixed(const char *s, const char *suffixes, const uint64_t *mult,
	       uint64_t max, uint64_t *r)
{
	size_t len = strlen(s);
	uint64_t m = 1, v;
	const char *p;

	if (len > 0 && (s[len - 1] < '0' || s[len - 1] > '9')) {
		p = strchr(suffixes, tolower((unsigned char)s[len - 1]));
		if (p == NULL)
			return -1;
		m = mult[p - suffixes];
		len--;
	}
	if (num_parse(s, len, UINT64_MAX, &v) < 0 || v > max / m)
		return -1;
	*r = v * m;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *bytes_r)
{
	static const uint64_t mult[] = {1024, 1024 * 1024, 1024 * 1024 * 1024};

	return parse_suffixed(s, "kmg", mult, UINT64_MAX, bytes_r);
}

int
config_parse_duration(const char *s, unsigned *seconds_r)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};
	uint64_t v;

	if (parse_suffixed(s, "smhd", mult, UINT_MAX, &v) < 0)
		return -1;
	*seconds_r = (unsigned)v;
	return 0;
}

int
config_parse_bool(const char *s, bool *value_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	return -1;
}

/*
 * list_start, list_next - walk a comma-separated list: each item comes
 * back trimmed, on the heap, NULL after the last. An all-blank value has
 * no items; an empty item inside ("a,,b", "a,") comes back as "" for the
 * caller to reject.
 */
static const char *
list_start(const char *s)
{
	const char *p = s;

	while (is_space(*p))
		p++;
	return *p == '\0' ? NULL : s;
}

static char *
list_next(const char **pos)
{
	const char *p = *pos, *end;

	if (p == NULL)
		return NULL;
	end = strchr(p, ',');
	if (end == NULL) {
		*pos = NULL;
		return trim_dup(p, strlen(p));
	}
	*pos = end + 1;
	return trim_dup(p, (size_t)(end - p));
}

/* parse_port - "1".."65535". */
static int
parse_port(const char *s, size_t len, uint16_t *port_r)
{
	uint64_t v;

	if (len > 5 || num_parse(s, len, 65535, &v) < 0 || v == 0)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

/*
 * split_hostport - "[v6]:port", "[v6]", "host:port", "host" into host
 * (brackets removed, into host_r of hostlen) and port (0 if absent).
 * bracketed_r says whether the host was in brackets.
 */
static int
split_hostport(const char *s, char *host_r, size_t hostlen, uint16_t *port_r,
	       bool *bracketed_r, const char **why_r)
{
	const char *h, *rest, *colon;
	size_t hl;

	*port_r = 0;
	*bracketed_r = s[0] == '[';
	if (s[0] == '[') {
		h = s + 1;
		rest = strchr(h, ']');
		if (rest == NULL) {
			*why_r = "missing ']'";
			return -1;
		}
		hl = (size_t)(rest - h);
		rest++;
		if (*rest != '\0' && *rest != ':') {
			*why_r = "junk after ']'";
			return -1;
		}
	} else {
		h = s;
		colon = strrchr(s, ':');
		rest = colon != NULL ? colon : s + strlen(s);
		hl = (size_t)(rest - h);
	}
	if (*rest == ':' &&
	    parse_port(rest + 1, strlen(rest + 1), port_r) < 0) {
		*why_r = "bad port";
		return -1;
	}
	if (hl == 0 || hl >= hostlen) {
		*why_r = "bad address";
		return -1;
	}
	memcpy(host_r, h, hl);
	host_r[hl] = '\0';
	return 0;
}

static bool
is_ip(int family, const char *s)
{
	unsigned char buf[16];

	return inet_pton(family, s, buf) == 1;
}

/* parse_listen_item - one "ADDR:PORT" or "[V6]:PORT". */
static int
parse_listen_item(const char *s, struct config_listen *l, const char **why_r)
{
	bool br;

	if (s[0] == '\0') {
		*why_r = "empty item";
		return -1;
	}
	if (split_hostport(s, l->host, sizeof(l->host), &l->port, &br, why_r) <
	    0)
		return -1;
	if (!br && strchr(l->host, ':') != NULL) {
		*why_r = "IPv6 address needs brackets, as in [::1]:25";
		return -1;
	}
	if (l->port == 0) {
		*why_r = "missing port";
		return -1;
	}
	if (!is_ip(br ? AF_INET6 : AF_INET, l->host)) {
		*why_r = "not a literal IP address";
		return -1;
	}
	return 0;
}

int
config_parse_listen(const char *s, struct config_listen_list *list_r, char *err,
		    size_t errlen)
{
	struct config_listen_list list;
	const char *pos = list_start(s), *why = NULL;
	char *item, q[64];

	memset(&list, 0, sizeof(list));
	while ((item = list_next(&pos)) != NULL) {
		if (list.n == CONFIG_MAX_LISTEN) {
			free(item);
			set_err(err, errlen, "more than %d addresses",
				CONFIG_MAX_LISTEN);
			return -1;
		}
		if (parse_listen_item(item, &list.items[list.n], &why) < 0) {
			set_err(err, errlen, "%s in '%s'", why, quote(item, q));
			free(item);
			return -1;
		}
		list.n++;
		free(item);
	}
	*list_r = list;
	return 0;
}

static int
family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

int
config_parse_net(const char *s, struct config_net *net_r)
{
	struct config_net net;
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	char addr[INET6_ADDRSTRLEN + 1];
	uint64_t prefix;
	unsigned i;

	memset(&net, 0, sizeof(net));
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	net.family = memchr(addr, ':', alen) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(net.family, addr, net.addr) != 1)
		return -1;
	prefix = (uint64_t)family_bits(net.family);
	if (slash != NULL &&
	    (num_parse(slash + 1, strlen(slash + 1), 255, &prefix) < 0 ||
	     prefix > (uint64_t)family_bits(net.family)))
		return -1;
	net.prefix = (unsigned)prefix;
	/* Clear host bits, so "10.1.2.3/8" is stored (and printed) as 10/8. */
	for (i = 0; i < 16; i++) {
		unsigned lo = i * 8;
		if (lo >= net.prefix)
			net.addr[i] = 0;
		else if (net.prefix - lo < 8)
			net.addr[i] &= (uint8_t)(0xff00u >> (net.prefix - lo));
	}
	*net_r = net;
	return 0;
}

/* prefix_match - do the first bits of a and b agree? */
static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff00u >> rest);
	return (a[full] & mask) == (b[full] & mask);
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/*
 * config_net_contains - an IPv4 client seen through an IPv6 socket
 * (::ffff:a.b.c.d) matches IPv4 networks, and a plain IPv4 client
 * matches an IPv6 network written in the mapped form.
 */
bool
config_net_contains(const struct config_net *net, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family;

	if (net == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &sin.sin_addr, 4);
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(a, &sin6.sin6_addr, 16);
		family = AF_INET6;
	} else {
		return false;
	}
	if (net->family == AF_INET) {
		if (family == AF_INET6 && memcmp(a, v4mapped, 12) != 0)
			return false;
		return prefix_match(a + 12, net->addr, net->prefix);
	}
	if (net->family == AF_INET6)
		return prefix_match(a, net->addr, net->prefix);
	return false;
}

bool
config_net_list_contains(const struct config_net_list *list,
			 const struct sockaddr *sa)
{
	for (size_t i = 0; i < list->n; i++)
		if (config_net_contains(&list->items[i], sa))
			return true;
	return false;
}

bool
config_is_relay_client(const struct config *cfg, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < cfg->n_relay_networks; i++)
		if (config_net_contains(&cfg->relay_networks[i], sa))
			return true;
	return false;
}

/* dns_server_ok - "ADDR", "ADDR:PORT", "V6", "[V6]", "[V6]:PORT". */
static bool
dns_server_ok(const char *s)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *why;
	uint16_t port;
	bool br;

	if (s[0] != '[' && is_ip(AF_INET6, s))
		return true;
	if (split_hostport(s, host, sizeof(host), &port, &br, &why) < 0)
		return false;
	return is_ip(br ? AF_INET6 : AF_INET, host);
}

/* hostname_ok - letters, digits, '-', '.', '_' (RFC 1123, leniently). */
static bool
hostname_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.' && s[i] != '_')
			return false;
	return i > 0 && i <= 253;
}

/* smarthost_ok - "host", "host:port", "[v6]", "[v6]:port". */
static bool
smarthost_ok(const char *s)
{
	char host[256];
	const char *why;
	uint16_t port;
	bool br;

	if (s[0] == '\0')
		return true;
	if (split_hostport(s, host, sizeof(host), &port, &br, &why) < 0)
		return false;
	return br ? is_ip(AF_INET6, host) : hostname_ok(host);
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static const struct config_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

static void
replace_str(struct config *cfg, const struct config_key *k, const char *v)
{
	char **slot = (char **)((char *)cfg + k->offset);

	free(*slot);
	*slot = xstrdup(v);
}

/* set_list - the list-valued keys other than *_listen. */
static int
set_list(struct config *cfg, const struct config_key *k, const char *value,
	 char *err, size_t errlen)
{
	struct config_net list[CONFIG_MAX_NETS];
	char dns[CONFIG_MAX_DNS][80];
	unsigned retries[CONFIG_MAX_RETRIES];
	size_t n = 0, max;
	const char *pos = list_start(value), *what;
	bool ok;
	char *item, q[64];

	memset(list, 0, sizeof(list));
	memset(dns, 0, sizeof(dns));
	memset(retries, 0, sizeof(retries));
	bool nets = k->kind == KIND_NETS || k->kind == KIND_NETLIST;
	max = nets		    ? CONFIG_MAX_NETS
	      : k->kind == KIND_DNS ? CONFIG_MAX_DNS
				    : CONFIG_MAX_RETRIES;
	what = nets		     ? "network"
	       : k->kind == KIND_DNS ? "dns server"
				     : "duration";
	while ((item = list_next(&pos)) != NULL) {
		if (n == max) {
			free(item);
			set_err(err, errlen, "more than %zu items for %s", max,
				k->name);
			return -1;
		}
		if (nets)
			ok = config_parse_net(item, &list[n]) == 0;
		else if (k->kind == KIND_DNS)
			ok = strlen(item) < sizeof(dns[n]) &&
			     dns_server_ok(item);
		else
			ok = config_parse_duration(item, &retries[n]) == 0 &&
			     retries[n] > 0;
		if (!ok) {
			set_err(err, errlen, "bad %s '%s' for %s", what,
				quote(item, q), k->name);
			free(item);
			return -1;
		}
		if (k->kind == KIND_DNS)
			strcpy(dns[n], item);
		free(item);
		n++;
	}
	if (k->kind == KIND_NETS) {
		memcpy(cfg->relay_networks, list, sizeof(list));
		cfg->n_relay_networks = n;
	} else if (k->kind == KIND_NETLIST) {
		struct config_net_list *nl =
		    (struct config_net_list *)((char *)cfg + k->offset);
		memcpy(nl->items, list, sizeof(list));
		nl->n = n;
	} else if (k->kind == KIND_DNS) {
		memcpy(cfg->dns_servers, dns, sizeof(dns));
		cfg->n_dns_servers = n;
	} else {
		/* "The last repeats", so there must be one. */
		if (n == 0) {
			set_err(err, errlen, "empty %s", k->name);
			return -1;
		}
		memcpy(cfg->retry_intervals, retries, sizeof(retries));
		cfg->n_retry_intervals = n;
	}
	return 0;
}

int
config_set(struct config *cfg, const char *key, const char *value, char *err,
	   size_t errlen)
{
	const struct config_key *k = find_key(key);
	void *field;
	char q[64], why[160];
	uint64_t u;
	unsigned d;
	uint16_t port;
	size_t i;
	bool b;

	if (k == NULL) {
		set_err(err, errlen, "unknown key '%s'", quote(key, q));
		return -1;
	}
	field = (char *)cfg + k->offset;
	if (has_control(value)) {
		set_err(err, errlen, "control character in value for %s",
			k->name);
		return -1;
	}
	switch (k->kind) {
	case KIND_NAME:
		if (!hostname_ok(value)) {
			set_err(err, errlen, "bad host name '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		replace_str(cfg, k, value);
		return 0;
	case KIND_PATH:
		if (value[0] == '\0') {
			set_err(err, errlen, "empty %s", k->name);
			return -1;
		}
		replace_str(cfg, k, value);
		return 0;
	case KIND_STR:
		replace_str(cfg, k, value);
		return 0;
	case KIND_HOSTPORT:
		if (!smarthost_ok(value)) {
			set_err(err, errlen,
				"bad %s '%s' (want host or host:port)", k->name,
				quote(value, q));
			return -1;
		}
		replace_str(cfg, k, value);
		return 0;
	case KIND_LISTEN:
		if (config_parse_listen(value, field, why, sizeof(why)) < 0) {
			set_err(err, errlen, "%s for %s", why, k->name);
			return -1;
		}
		return 0;
	case KIND_NETS:
	case KIND_NETLIST:
	case KIND_DNS:
	case KIND_RETRIES:
		return set_list(cfg, k, value, err, errlen);
	case KIND_SIZE:
		if (config_parse_size(value, &u) < 0 || u < k->min) {
			set_err(err, errlen, "bad size '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		*(uint64_t *)field = u;
		return 0;
	case KIND_UINT:
		if (num_parse(value, strlen(value), UINT_MAX, &u) < 0 ||
		    u < k->min) {
			set_err(err, errlen, "bad number '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		*(unsigned *)field = (unsigned)u;
		return 0;
	case KIND_PORT:
		if (parse_port(value, strlen(value), &port) < 0) {
			set_err(err, errlen, "bad port '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		*(uint16_t *)field = port;
		return 0;
	case KIND_DURATION:
		if (config_parse_duration(value, &d) < 0 || d < k->min) {
			set_err(err, errlen, "bad duration '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		*(unsigned *)field = d;
		return 0;
	case KIND_BOOL:
		if (config_parse_bool(value, &b) < 0) {
			set_err(err, errlen, "bad boolean '%s' for %s",
				quote(value, q), k->name);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case KIND_LOGLEVEL:
		for (i = 0; i < 4; i++)
			if (strcasecmp(value, log_levels[i]) == 0)
				break;
		if (i == 4) {
			set_err(err, errlen,
				"bad log_level '%s' (debug, info, warning or "
				"error)",
				quote(value, q));
			return -1;
		}
		replace_str(cfg, k, log_levels[i]);
		return 0;
	}
	return -1;
}

void
config_init(struct config *cfg)
{
	char host[256], err[256];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(config_defaults) / sizeof(config_defaults[0]);
	     i++) {
		if (config_set(cfg, config_defaults[i].key,
			       config_defaults[i].value, err, sizeof(err)) < 0)
			abort(); /* a bug in the table above */
	}
	/* The system name may be anything; fall back rather than fail. */
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (config_set(cfg, "hostname", host, err, sizeof(err)) < 0)
		cfg->hostname = xstrdup("localhost");
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->kind == KIND_STR || k->kind == KIND_NAME ||
		    k->kind == KIND_PATH || k->kind == KIND_HOSTPORT ||
		    k->kind == KIND_LOGLEVEL) {
			char **slot = (char **)((char *)cfg + k->offset);
			free(*slot);
			*slot = NULL;
		}
	}
}

/*
 * config_parse - one line at a time, bounded by len: the text need not
 * end in NUL or newline, and a NUL inside it is an error, not an end.
 */
int
config_parse(struct config *cfg, const char *text, size_t len, char *err,
	     size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;
	char reason[256];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end;
		const char *hash, *eq;
		char *key, *value;
		int r;

		lineno++;
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
			set_err(err, errlen, "line %u: NUL byte", lineno);
			return -1;
		}
		hash = memchr(p, '#', (size_t)(eol - p));
		if (hash != NULL)
			eol = hash;
		eq = memchr(p, '=', (size_t)(eol - p));
		if (eq == NULL) {
			const char *q = p;
			while (q < eol && is_space(*q))
				q++;
			if (q != eol) {
				set_err(err, errlen,
					"line %u: expected 'key = value'",
					lineno);
				return -1;
			}
		} else {
			key = trim_dup(p, (size_t)(eq - p));
			value = trim_dup(eq + 1, (size_t)(eol - eq - 1));
			if (key[0] == '\0') {
				set_err(err, errlen, "line %u: missing key",
					lineno);
				r = -1;
			} else {
				r = config_set(cfg, key, value, reason,
					       sizeof(reason));
				if (r < 0)
					set_err(err, errlen, "line %u: %s",
						lineno, reason);
			}
			free(key);
			free(value);
			if (r < 0)
				return -1;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, reason[320];
	size_t len = 0, cap = 0;
	int fd, r;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "cannot read %s: %s", path,
			strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= CONFIG_MAX_FILE) {
				set_err(err, errlen,
					"cannot read %s: too large", path);
				free(buf);
				close(fd);
				return -1;
			}
			cap = cap == 0 ? 4096 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "cannot read %s: %s", path,
				strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	r = config_parse(cfg, buf, len, reason, sizeof(reason));
	if (r < 0)
		set_err(err, errlen, "%s: %s", path, reason);
	free(buf);
	return r;
}

int
config_override(struct config *cfg, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	char *key, *value, q[64];
	int r;

	if (eq == NULL) {
		set_err(err, errlen, "expected KEY=VALUE, not '%s'",
			quote(kv, q));
		return -1;
	}
	key = trim_dup(kv, (size_t)(eq - kv));
	value = trim_dup(eq + 1, strlen(eq + 1));
	r = config_set(cfg, key, value, err, errlen);
	free(key);
	free(value);
	return r;
}

/* print_scaled - v in the largest unit that divides it exactly. */
static void
print_scaled(FILE *out, uint64_t v, const char *suffixes, const uint64_t *mult,
	     size_t n)
{
	size_t i;

	for (i = n; i-- > 0;) {
		if (v != 0 && v % mult[i] == 0) {
			fprintf(out, "%llu%c",
				(unsigned long long)(v / mult[i]), suffixes[i]);
			return;
		}
	}
	fprintf(out, "%llu", (unsigned long long)v);
}

static void
print_duration(FILE *out, unsigned v)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	print_scaled(out, v, "smhd", mult, 4);
}

/*
 * config_print - what check-config shows. smarthost_password is shown
 * as "********" when set, so the output can be pasted into a bug report;
 * that one line therefore does not round-trip.
 */
void
config_print(const struct config *cfg, FILE *out)
{
	static const uint64_t size_mult[] = {1024, 1024 * 1024,
					     1024 * 1024 * 1024};
	char addr[INET6_ADDRSTRLEN];
	size_t i, j;

	for (i = 0; i < N_KEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const void *field = (const char *)cfg + k->offset;

		fprintf(out, "%s =", k->name);
		switch (k->kind) {
		case KIND_STR:
		case KIND_NAME:
		case KIND_PATH:
		case KIND_HOSTPORT:
		case KIND_LOGLEVEL: {
			const char *s = *(char *const *)field;
			if (s == NULL || s[0] == '\0')
				break;
			if (strcmp(k->name, "smarthost_password") == 0)
				s = "********";
			fprintf(out, " %s", s);
			break;
		}
		case KIND_LISTEN: {
			const struct config_listen_list *l = field;
			for (j = 0; j < l->n; j++) {
				const struct config_listen *it = &l->items[j];
				bool v6 = strchr(it->host, ':') != NULL;
				fprintf(out, "%s %s%s%s:%u", j ? "," : "",
					v6 ? "[" : "", it->host, v6 ? "]" : "",
					(unsigned)it->port);
			}
			break;
		}
		case KIND_NETS:
		case KIND_NETLIST: {
			const struct config_net *nets = cfg->relay_networks;
			size_t n = cfg->n_relay_networks;
			if (k->kind == KIND_NETLIST) {
				const struct config_net_list *nl = field;
				nets = nl->items;
				n = nl->n;
			}
			for (j = 0; j < n; j++) {
				const struct config_net *nt = &nets[j];
				if (inet_ntop(nt->family, nt->addr, addr,
					      sizeof(addr)) == NULL)
					strcpy(addr, "?");
				fprintf(out, "%s %s/%u", j ? "," : "", addr,
					nt->prefix);
			}
			break;
		}
		case KIND_DNS:
			for (j = 0; j < cfg->n_dns_servers; j++)
				fprintf(out, "%s %s", j ? "," : "",
					cfg->dns_servers[j]);
			break;
		case KIND_RETRIES:
			for (j = 0; j < cfg->n_retry_intervals; j++) {
				fputs(j ? ", " : " ", out);
				print_duration(out, cfg->retry_intervals[j]);
			}
			break;
		case KIND_SIZE:
			fputc(' ', out);
			print_scaled(out, *(const uint64_t *)field, "kmg",
				     size_mult, 3);
			break;
		case KIND_UINT:
			fprintf(out, " %u", *(const unsigned *)field);
			break;
		case KIND_PORT:
			fprintf(out, " %u", (unsigned)*(const uint16_t *)field);
			break;
		case KIND_DURATION:
			fputc(' ', out);
			print_duration(out, *(const unsigned *)field);
			break;
		case KIND_BOOL:
			fputs(*(const bool *)field ? " yes" : " no", out);
			break;
		}
		fputc('\n', out);
	}
}

/* The keys SIGHUP applies at once (see config_apply_live). */
static const char *const live_keys[] = {
    "relay_networks",
    "max_message_size",
    "max_recipients",
    "max_connections",
    "max_connections_per_ip",
    "max_errors",
    "max_received_headers",
    "smtp_timeout",
    "smtp_data_timeout",
    "smtp_vrfy_expn",
    "queue_lifetime",
    "outbound_connections",
    "outbound_connections_per_destination",
    "outbound_tls_required",
    "tls_cert",
    "tls_key",
    "log_level",
    "admin_session_idle",
    "admin_session_lifetime",
    "metrics_networks",
};

static bool
is_live(const char *key, size_t len)
{
	for (size_t i = 0; i < sizeof(live_keys) / sizeof(live_keys[0]); i++)
		if (strlen(live_keys[i]) == len &&
		    strncmp(live_keys[i], key, len) == 0)
			return true;
	return false;
}

static char *
print_all(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	config_print(cfg, f);
	fclose(f);
	return text;
}

void
config_apply_live(struct config *running, const struct config *fresh,
		  void (*restart)(const char *key, void *arg), void *arg)
{
	char *a = print_all(running), *b = print_all(fresh);
	char err[256], key[64];

	/* Both print every key once, in the same order, one per line. */
	for (char *la = a, *lb = b; la != NULL && lb != NULL && *la && *lb;) {
		char *ea = strchr(la, '\n'), *eb = strchr(lb, '\n');
		if (ea == NULL || eb == NULL)
			break;
		*ea = *eb = '\0';
		if (strcmp(la, lb) != 0) {
			size_t klen = strcspn(lb, " ");
			const char *value = lb + klen;
			value += strspn(value, " =");
			if (is_live(lb, klen)) {
				snprintf(key, sizeof(key), "%.*s", (int)klen,
					 lb);
				/* Printed values parse back (config_print). */
				if (config_set(running, key, value, err,
					       sizeof(err)) < 0)
					restart(key, arg);
			} else if (klen < sizeof(key)) {
				snprintf(key, sizeof(key), "%.*s", (int)klen,
					 lb);
				restart(key, arg);
			}
		}
		la = ea + 1;
		lb = eb + 1;
	}
	/* The password prints as ********: compare it itself. */
	if (strcmp(running->smarthost_password, fresh->smarthost_password) != 0)
		restart("smarthost_password", arg);
	free(a);
	free(b);
}
