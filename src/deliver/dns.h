/*
 * dns - where mail for a domain goes: MX look-up with libunbound,
 * asynchronous on the event loop (ub_fd), forwarding to `dns_servers`
 * or to the system's resolv.conf. DNSSEC-ready (the validator can be
 * switched on later for DANE without a new resolver).
 *
 * RFC 5321 §5.1: MX records in preference order (random among equal
 * preferences); no MX → the domain's own A/AAAA (implicit MX); a null MX
 * (RFC 7505: one MX "." preference 0) or NXDOMAIN → the mail cannot be
 * delivered (permanent); a time-out or SERVFAIL → try later (temporary).
 * CNAMEs are followed (unbound resolves the chain).
 */
#ifndef PETREL_DELIVER_DNS_H
#define PETREL_DELIVER_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;
struct dns;

#define DNS_MAX_HOSTS 16
#define DNS_MAX_ADDRS 8

/*
 * One host to try: an MX target (or the domain itself, preference 0, for
 * an implicit MX; the literal as written for an address literal). addrs:
 * IPv4 first, then IPv6; a host with no address is never returned.
 */
struct dns_host {
	char name[256];
	unsigned preference;
	size_t n_addrs;
	struct sockaddr_storage addrs[DNS_MAX_ADDRS]; /* port left 0 */
};

enum dns_status {
	DNS_OK = 0,	  /* hosts[] in the order to try them */
	DNS_TEMPFAIL = 1, /* time-out, SERVFAIL (also for an MX host) */
	DNS_PERMFAIL = 2, /* NXDOMAIN, null MX, no MX and no address,
			     no MX host has an address (all NXDOMAIN or
			     NODATA: nothing temporary seen) */
};

struct dns_result {
	enum dns_status status;
	char error[256]; /* e.g. "example.net: Host not found (NXDOMAIN)" */
	size_t n_hosts;
	struct dns_host hosts[DNS_MAX_HOSTS];
};

typedef void dns_mx_cb(const struct dns_result *result, void *arg);

/*
 * dns_new - a resolver on base. servers: n entries "ADDR" or "ADDR:PORT"
 * or "[V6]:PORT" (config dns_servers); none = /etc/resolv.conf.
 * Returns NULL with err.
 */
struct dns *dns_new(struct event_base *base, const char (*servers)[80],
		    size_t n_servers, char *err, size_t errlen);
/*
 * dns_free - cancels every query in flight (no callback runs) and frees
 * the resolver. Call it before event_base_free(base).
 */
void dns_free(struct dns **dnsp);

/*
 * dns_resolve_mx - look up where mail for domain goes; cb runs later on
 * the loop (never before this returns). An address literal
 * ("[127.0.0.1]", "[IPv6:::1]") resolves to itself without DNS.
 * Returns a handle for dns_cancel, or NULL if the query could not start
 * (cb is then never called).
 */
struct dns_query *dns_resolve_mx(struct dns *dns, const char *domain,
				 dns_mx_cb *cb, void *arg);

/*
 * dns_resolve_host - A/AAAA of one host (a smarthost): one dns_host. An
 * IP address, bracketed or not ("192.0.2.1", "[::1]", "[IPv6:::1]"),
 * resolves to itself.
 */
struct dns_query *dns_resolve_host(struct dns *dns, const char *host,
				   dns_mx_cb *cb, void *arg);

/*
 * dns_cancel - cb will not be called. Only for a query whose cb has not
 * run yet (the handle is gone once it has).
 */
void dns_cancel(struct dns *dns, struct dns_query *q);

/*
 * dns_raw_cb - a raw answer: status DNS_OK with the packet (pkt, len:
 * the answer as unbound returns it, for src/deliver/dns_wire.h to
 * decode), DNS_PERMFAIL for NXDOMAIN (pkt may be NULL), DNS_TEMPFAIL for
 * a time-out, SERVFAIL and the like (pkt NULL). rcode: the DNS rcode
 * (-1 on a time-out).
 */
typedef void dns_raw_cb(enum dns_status status, int rcode, const uint8_t *pkt,
			size_t len, void *arg);

struct dns_raw;

/*
 * dns_query_raw - one query of any type (TXT, PTR, A, AAAA, MX for mail
 * authentication) on the same resolver. timeout: seconds, 0 = the
 * resolver's. cb runs later on the loop, never before this returns.
 * Returns a handle for dns_raw_cancel, or NULL (cb never called).
 */
struct dns_raw *dns_query_raw(struct dns *dns, const char *name, int type,
			      unsigned timeout, dns_raw_cb *cb, void *arg);

/* dns_raw_cancel - cb will not be called (only before it has run). */
void dns_raw_cancel(struct dns_raw *r);

/*
 * dns_set_timeout - the hard cap on one dns_resolve_* (default 30 s;
 * unbound's own retries run inside it). Expiry gives DNS_TEMPFAIL
 * "DOMAIN: DNS lookup timed out". For tests and impatient callers.
 */
void dns_set_timeout(struct dns *dns, unsigned seconds);

#endif
