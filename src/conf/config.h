/*
 * config - petrel's settings: defaults, the `key = value` file and the
 * `-o KEY=VALUE` overrides (see interface.md, "Configuration file").
 *
 * Parsing is pure: config_parse() takes text and fills a struct, touching
 * no file, socket or global, so it is unit-tested and fuzzed directly.
 * Errors name the line ("line 7: unknown key 'smtp_lisen'").
 */
#ifndef PETREL_CONF_CONFIG_H
#define PETREL_CONF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CONFIG_MAX_LISTEN  16
#define CONFIG_MAX_NETS	   64
#define CONFIG_MAX_DNS	   8
#define CONFIG_MAX_RETRIES 32

/* One `ADDR:PORT` listen item: "0.0.0.0:25", "[::1]:25". */
struct config_listen {
	char host[64]; /* literal address, without brackets */
	uint16_t port;
};

struct config_listen_list {
	size_t n;
	struct config_listen items[CONFIG_MAX_LISTEN];
};

/* One CIDR network from relay_networks: "127.0.0.0/8", "::1/128". */
struct config_net {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network bytes (4 used for AF_INET) */
	unsigned prefix;  /* prefix length in bits */
};

/* A list of networks (metrics_networks). */
struct config_net_list {
	size_t n;
	struct config_net items[CONFIG_MAX_NETS];
};

struct config {
	char *hostname;
	char *data_dir;

	struct config_listen_list smtp_listen;
	struct config_listen_list submission_listen;
	struct config_listen_list smtps_listen;
	struct config_listen_list pop3_listen;
	struct config_listen_list pop3s_listen;
	struct config_listen_list imap_listen;
	struct config_listen_list imaps_listen;

	char *tls_cert; /* "" = none */
	char *tls_key;

	size_t n_relay_networks;
	struct config_net relay_networks[CONFIG_MAX_NETS];

	uint64_t max_message_size; /* bytes */
	unsigned max_recipients;

	size_t n_dns_servers;
	char dns_servers[CONFIG_MAX_DNS][80]; /* "127.0.0.1:5353" as given */

	uint16_t outbound_port;
	char *smarthost; /* "" = deliver by MX */
	char *smarthost_user;
	char *smarthost_password;

	size_t n_retry_intervals;
	unsigned retry_intervals[CONFIG_MAX_RETRIES]; /* seconds */
	unsigned queue_lifetime;		      /* seconds */

	char *user; /* "" = do not drop privileges */
	char *group;

	/* --- petrel extensions, documented in the README --- */
	bool smtp_vrfy_expn;		 /* default no: VRFY 252, EXPN 502 */
	unsigned max_connections;	 /* default 10000 */
	unsigned max_connections_per_ip; /* default 50; relay_networks exempt */
	unsigned max_errors;		 /* default 10: then 421 and close */
	unsigned max_received_headers;	 /* default 50: more = mail loop, 554 */
	unsigned smtp_timeout;		 /* default 5m: wait for a command */
	unsigned smtp_data_timeout;	 /* default 10m: between DATA bytes */
	char *log_level; /* debug|info|warning|error, default info */
	unsigned outbound_connections; /* default 100, all destinations */
	unsigned outbound_connections_per_destination; /* default 10 */
	bool outbound_tls_required;   /* default no: STARTTLS when offered */
	unsigned max_auth_failures;   /* default 10 per address and window */
	unsigned auth_failure_window; /* default 1h */

	/* The admin web (src/web/), documented in the README. */
	struct config_listen_list admin_listen;	 /* default 127.0.0.1:8443 */
	bool admin_plain_http;			 /* default no; loopback only */
	unsigned admin_session_idle;		 /* default 30m */
	unsigned admin_session_lifetime;	 /* default 12h */
	struct config_net_list metrics_networks; /* /metrics without token */
	char *admin_chartjs;	  /* the installed Chart.js file */
	unsigned admin_log_lines; /* recent log lines kept, 10000 */
};

/*
 * config_init - fill *cfg with built-in defaults. hostname defaults to the
 * system host name (gethostname); everything else per interface.md.
 */
void config_init(struct config *cfg);

/* config_free - release what config_init/config_parse allocated. */
void config_free(struct config *cfg);

/*
 * config_set - set one key from its textual value. Returns 0, or -1 with
 * a one-line reason in err ("unknown key 'x'", "bad size 'xx' for
 * max_message_size").
 */
int config_set(struct config *cfg, const char *key, const char *value,
	       char *err, size_t errlen);

/*
 * config_parse - apply every `key = value` line of text (len bytes, need
 * not be NUL-terminated). '#' starts a comment; blank lines are skipped.
 * Returns 0, or -1 with err = "line N: reason".
 */
int config_parse(struct config *cfg, const char *text, size_t len, char *err,
		 size_t errlen);

/*
 * config_load_file - read path and config_parse it. err starts with the
 * path: "petrel.conf: line 3: ...".
 */
int config_load_file(struct config *cfg, const char *path, char *err,
		     size_t errlen);

/*
 * config_override - apply one "-o KEY=VALUE". Returns 0 or -1 with err.
 */
int config_override(struct config *cfg, const char *kv, char *err,
		    size_t errlen);

/*
 * config_apply_live - SIGHUP: copy from fresh into running the settings
 * that take effect at once — limits, timeouts, relay_networks,
 * smtp_vrfy_expn, queue_lifetime, outbound limits, max_message_size,
 * tls_cert/tls_key (the certificates are reloaded with them), log_level.
 * They are the ones read only on the event-loop thread (or handed to
 * workers per job), so the copy races with nothing. For every other key
 * whose value differs, restart(key, arg) is called: it takes effect at
 * the next start (listeners, data_dir, hostname, user, dns_servers, the
 * smarthost, retry_intervals, the AUTH failure limits).
 */
void config_apply_live(struct config *running, const struct config *fresh,
		       void (*restart)(const char *key, void *arg), void *arg);

/* config_print - the effective settings, one `key = value` line each. */
void config_print(const struct config *cfg, FILE *out);

/* Pure value parsers, exported for tests. Return 0 or -1. */
int config_parse_size(const char *s, uint64_t *bytes_r);
int config_parse_duration(const char *s, unsigned *seconds_r);
int config_parse_bool(const char *s, bool *value_r);
int config_parse_listen(const char *s, struct config_listen_list *list_r,
			char *err, size_t errlen);
int config_parse_net(const char *s, struct config_net *net_r);

/* config_net_contains - is the address (sockaddr_in/in6) inside net? */
bool config_net_contains(const struct config_net *net,
			 const struct sockaddr *sa);

/* config_net_list_contains - is sa in any network of list? */
bool config_net_list_contains(const struct config_net_list *list,
			      const struct sockaddr *sa);

/* config_is_relay_client - is sa in any of cfg->relay_networks? */
bool config_is_relay_client(const struct config *cfg,
			    const struct sockaddr *sa);

#endif
