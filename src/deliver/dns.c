/*
 * dns - MX and address look-ups with libunbound on our event loop.
 *
 * The unbound context is created with ub_ctx_create_event(), so unbound
 * registers its own sockets and timers on our libevent base and runs in
 * this thread: no resolver thread, no forked helper, no ub_fd pipe. The
 * price is that answers come back as wire-format packets, which we
 * decode here (names with compression, CNAME chains, MX/A/AAAA rdata).
 *
 * A query is a small state machine:
 *
 *     MX ──(records)──> ADDRS ──> done
 *      └─(no MX: implicit MX, RFC 5321 §5.1)─┘
 *
 * Sub-queries (the MX, then A and AAAA for every host, in parallel) only
 * record their outcome; when the last one is in, the query's step event
 * is activated and the next phase runs from the loop. That keeps our
 * code out of unbound's call stack (it may even answer from local data
 * before ub_resolve_event returns) and makes the user's callback always
 * run later, never inside dns_resolve_*.
 */
#include "deliver/dns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include "util/xalloc.h"

#define T_A	1
#define T_CNAME 5
#define T_MX	15
#define T_AAAA	28
#define C_IN	1

#define RCODE_NOERROR  0
#define RCODE_NXDOMAIN 3
#define RCODE_BADNAME  (-1) /* ours: unbound refused the name's syntax */

/* Unbound's "sec" argument: 1 = bogus (DNSSEC validation failed). */
#define SEC_BOGUS 1

#define DNS_DEFAULT_TIMEOUT 30
/* MX records read before sorting; the best DNS_MAX_HOSTS are kept. */
#define DNS_MAX_MX   64
#define DNS_MAX_SUBS (1 + 2 * DNS_MAX_HOSTS)

enum sub_outcome { SUB_PENDING, SUB_OK, SUB_NODATA, SUB_NXDOMAIN, SUB_TEMP };

struct dns_sub {
	struct dns_query *q;
	int type;
	size_t host; /* index in q->res.hosts, for A/AAAA */
	int id;	     /* unbound's async id while pending, else 0 */
	enum sub_outcome outcome;
	int rcode;
	size_t n_raw;
	uint8_t raw[DNS_MAX_ADDRS][16];
};

struct dns_mx {
	unsigned preference;
	uint32_t key; /* random, orders equal preferences */
	char name[256];
};

enum query_kind { Q_MX, Q_HOST };
enum query_phase { PH_MX, PH_ADDRS, PH_DONE };

struct dns_query {
	struct dns *dns;
	struct dns_query *prev, *next;
	enum query_kind kind;
	enum query_phase phase;
	bool implicit; /* no MX: the domain itself is the host */
	char domain[256];
	dns_mx_cb *cb;
	void *arg;
	struct event *step_ev;
	struct event *timer_ev;
	size_t n_subs, n_pending;
	struct dns_sub subs[DNS_MAX_SUBS];
	size_t n_mx;
	bool null_mx;
	struct dns_mx mx[DNS_MAX_MX];
	struct dns_result res;
};

struct dns {
	struct event_base *base;
	struct ub_ctx *ctx;
	struct dns_query *queries;
	struct dns_raw *raws; /* dns_query_raw, below */
	unsigned timeout;
	bool closing;
};

/* ---- wire format ------------------------------------------------------ */

/*
 * pkt_name - decode the name at off (RFC 1035 §4.1.4 compression
 * allowed) into out as "a.b.c" (root = ""). end_r: where the name ends
 * in place. A byte that cannot be in a host name (a space, a dot inside
 * a label, ...) is written '?' and odd_r set, so what we hand on is
 * always printable and the caller can skip such a name.
 */
static bool
pkt_name(const uint8_t *p, size_t len, size_t off, char out[256], size_t *end_r,
	 bool *odd_r)
{
	size_t o = 0, jumps = 0;
	bool jumped = false;

	*odd_r = false;

	for (;;) {
		if (off >= len)
			return false;
		uint8_t c = p[off];
		if ((c & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > 64)
				return false;
			if (!jumped)
				*end_r = off + 2;
			jumped = true;
			off = (size_t)(c & 0x3f) << 8 | p[off + 1];
			continue;
		}
		if (c & 0xc0)
			return false; /* obsolete label types */
		if (c == 0) {
			if (!jumped)
				*end_r = off + 1;
			out[o] = '\0';
			return true;
		}
		if (off + 1 + c > len || o + c + 1 > 255)
			return false;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < c; i++) {
			uint8_t b = p[off + 1 + i];
			bool ok = (b >= 'a' && b <= 'z') ||
				  (b >= 'A' && b <= 'Z') ||
				  (b >= '0' && b <= '9') || b == '-' ||
				  b == '_' || b == '*';
			if (!ok)
				*odd_r = true;
			out[o++] = ok ? (char)b : '?';
		}
		off += 1 + (size_t)c;
	}
}

struct rr_iter {
	const uint8_t *p;
	size_t len, off;
	unsigned left; /* answer records not yet read */
};

struct rr {
	char owner[256];
	uint16_t type, klass;
	size_t rd_off;
	uint16_t rdlen;
};

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* rr_start - position it on the answer section; qname_r gets the question. */
static bool
rr_start(struct rr_iter *it, const uint8_t *p, size_t len, char qname_r[256])
{
	size_t end;
	bool odd;

	if (len < 12 || get16(p + 4) != 1)
		return false;
	if (!pkt_name(p, len, 12, qname_r, &end, &odd) || end + 4 > len)
		return false;
	it->p = p;
	it->len = len;
	it->off = end + 4;
	it->left = get16(p + 6);
	return true;
}

/* rr_next - 1 with the next answer record, 0 at the end, -1 malformed. */
static int
rr_next(struct rr_iter *it, struct rr *rr)
{
	size_t end;
	bool odd;

	if (it->left == 0)
		return 0;
	if (!pkt_name(it->p, it->len, it->off, rr->owner, &end, &odd))
		return -1;
	if (end + 10 > it->len)
		return -1;
	rr->type = (uint16_t)get16(it->p + end);
	rr->klass = (uint16_t)get16(it->p + end + 2);
	rr->rdlen = (uint16_t)get16(it->p + end + 8);
	rr->rd_off = end + 10;
	if (rr->rd_off + rr->rdlen > it->len)
		return -1;
	it->off = rr->rd_off + rr->rdlen;
	it->left--;
	return 1;
}

/*
 * answer_owner - the name the answer's records of interest belong to:
 * the question's name at the end of its CNAME chain. Unbound puts the
 * chain in the answer section; we follow it rather than trust order.
 */
static bool
answer_owner(const uint8_t *p, size_t len, char name[256])
{
	struct rr_iter it;
	struct rr rr;
	char target[256];
	size_t end;
	bool odd;
	int r;

	if (!rr_start(&it, p, len, name))
		return false;
	for (int hops = 0; hops < 16; hops++) {
		bool moved = false;
		if (!rr_start(&it, p, len, target))
			return false;
		while ((r = rr_next(&it, &rr)) == 1) {
			if (rr.type != T_CNAME || rr.klass != C_IN ||
			    strcasecmp(rr.owner, name) != 0)
				continue;
			if (!pkt_name(p, len, rr.rd_off, target, &end, &odd))
				return false;
			memcpy(name, target, sizeof(target));
			moved = true;
			break;
		}
		if (r < 0)
			return false;
		if (!moved)
			return true;
	}
	return false; /* a CNAME loop */
}

/* sub_parse - read the records of s->type; false if malformed. */
static bool
sub_parse(struct dns_sub *s, const uint8_t *p, size_t len, size_t *count_r)
{
	struct dns_query *q = s->q;
	struct rr_iter it;
	struct rr rr;
	char owner[256], qname[256];
	size_t end;
	bool odd;
	int r;

	*count_r = 0;
	if (!answer_owner(p, len, owner) || !rr_start(&it, p, len, qname))
		return false;
	while ((r = rr_next(&it, &rr)) == 1) {
		if (rr.type != s->type || rr.klass != C_IN ||
		    strcasecmp(rr.owner, owner) != 0)
			continue;
		if (s->type == T_MX) {
			char target[256];
			if (rr.rdlen < 3 ||
			    !pkt_name(p, len, rr.rd_off + 2, target, &end,
				      &odd) ||
			    end != rr.rd_off + rr.rdlen)
				return false;
			(*count_r)++;
			if (odd)
				continue; /* not a host name: unusable */
			if (target[0] == '\0') {
				/* RFC 7505: the null MX "." */
				q->null_mx = true;
				continue;
			}
			if (q->n_mx == DNS_MAX_MX)
				continue;
			struct dns_mx *mx = &q->mx[q->n_mx++];
			mx->preference = get16(p + rr.rd_off);
			mx->key = arc4random();
			memcpy(mx->name, target, sizeof(target));
		} else {
			size_t want = s->type == T_A ? 4 : 16;
			if (rr.rdlen != want)
				return false;
			(*count_r)++;
			if (s->n_raw < DNS_MAX_ADDRS)
				memcpy(s->raw[s->n_raw++], p + rr.rd_off, want);
		}
	}
	return r == 0;
}

/* ---- queries ---------------------------------------------------------- */

static void
query_unlink(struct dns_query *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else if (q->dns->queries == q)
		q->dns->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

/* query_stop_subs - unbound will call none of the pending sub-queries. */
static void
query_stop_subs(struct dns_query *q)
{
	for (size_t i = 0; i < q->n_subs; i++) {
		struct dns_sub *s = &q->subs[i];
		if (s->outcome != SUB_PENDING)
			continue;
		if (s->id != 0)
			(void)ub_cancel(q->dns->ctx, s->id);
		s->id = 0;
		s->outcome = SUB_TEMP;
	}
	q->n_pending = 0;
}

static void
query_free(struct dns_query *q)
{
	event_free(q->step_ev);
	event_free(q->timer_ev);
	free(q);
}

static void __attribute__((format(printf, 3, 4)))
query_fail(struct dns_query *q, enum dns_status status, const char *fmt, ...)
{
	va_list ap;

	q->res.status = status;
	q->res.n_hosts = 0;
	va_start(ap, fmt);
	vsnprintf(q->res.error, sizeof(q->res.error), fmt, ap);
	va_end(ap);
	q->phase = PH_DONE;
}

/*
 * query_deliver - hand the result over and forget the query. It is
 * unlinked first, so the callback may cancel other queries or even free
 * the resolver.
 */
static void
query_deliver(struct dns_query *q)
{
	query_stop_subs(q);
	query_unlink(q);
	q->cb(&q->res, q->arg);
	query_free(q);
}

static void
sub_cb(void *arg, int rcode, void *packet, int packet_len, int sec,
       char *why_bogus, int was_ratelimited)
{
	struct dns_sub *s = arg;
	struct dns_query *q = s->q;
	const uint8_t *p = packet;
	size_t n = 0;

	(void)why_bogus;
	(void)was_ratelimited;
	if (q->dns->closing || s->outcome != SUB_PENDING)
		return;
	s->id = 0;
	if (rcode == RCODE_NOERROR && p && packet_len >= 12)
		rcode = p[3] & 0x0f;
	s->rcode = rcode;
	if (rcode == RCODE_NXDOMAIN)
		s->outcome = SUB_NXDOMAIN;
	else if (rcode != RCODE_NOERROR || !p || packet_len < 12)
		s->outcome = SUB_TEMP;
	else if (sec == SEC_BOGUS)
		s->outcome = SUB_TEMP; /* like SERVFAIL: maybe fixed later */
	else if (!sub_parse(s, p, (size_t)packet_len, &n))
		s->outcome = SUB_TEMP;
	else
		s->outcome = n > 0 ? SUB_OK : SUB_NODATA;
	if (--q->n_pending == 0)
		event_active(q->step_ev, 0, 0);
}

/* query_add_sub - declare a sub-query; query_start_subs sends them. */
static void
query_add_sub(struct dns_query *q, int type, size_t host)
{
	struct dns_sub *s = &q->subs[q->n_subs++];

	memset(s, 0, sizeof(*s));
	s->q = q;
	s->type = type;
	s->host = host;
	s->outcome = SUB_PENDING;
}

static void
query_start_subs(struct dns_query *q, size_t from)
{
	q->n_pending = q->n_subs - from;
	for (size_t i = from; i < q->n_subs; i++) {
		struct dns_sub *s = &q->subs[i];
		const char *name =
		    s->type == T_MX ? q->domain : q->res.hosts[s->host].name;
		int id = 0;
		int err = ub_resolve_event(q->dns->ctx, name, s->type, C_IN, s,
					   sub_cb, &id);
		if (err != 0 && s->outcome == SUB_PENDING) {
			/* A name unbound cannot parse will never resolve. */
			s->outcome = err == UB_SYNTAX ? SUB_NXDOMAIN : SUB_TEMP;
			s->rcode = err == UB_SYNTAX ? RCODE_BADNAME : 0;
			q->n_pending--;
		} else if (s->outcome == SUB_PENDING) {
			s->id = id;
		}
	}
	if (q->n_pending == 0)
		event_active(q->step_ev, 0, 0);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static void
query_want_addrs(struct dns_query *q)
{
	size_t from = q->n_subs;

	for (size_t i = 0; i < q->res.n_hosts; i++) {
		query_add_sub(q, T_A, i);
		query_add_sub(q, T_AAAA, i);
	}
	q->phase = PH_ADDRS;
	query_start_subs(q, from);
}

static const char *
rcode_text(int rcode)
{
	switch (rcode) {
	case 2:
		return "SERVFAIL";
	case 5:
		return "REFUSED";
	default:
		return "no answer";
	}
}

/* step_mx - the MX answer is in: pick the hosts (RFC 5321 §5.1). */
static void
step_mx(struct dns_query *q)
{
	struct dns_sub *s = &q->subs[0];

	switch (s->outcome) {
	case SUB_NXDOMAIN:
		if (s->rcode == RCODE_BADNAME)
			query_fail(q, DNS_PERMFAIL, "%s: invalid domain name",
				   q->domain);
		else
			query_fail(q, DNS_PERMFAIL,
				   "%s: Host not found (NXDOMAIN)", q->domain);
		return;
	case SUB_TEMP:
		query_fail(q, DNS_TEMPFAIL,
			   "%s: temporary DNS failure looking up MX (%s)",
			   q->domain, rcode_text(s->rcode));
		return;
	case SUB_NODATA:
		/* No MX: the domain is its own mail host, preference 0. */
		q->implicit = true;
		snprintf(q->res.hosts[0].name, sizeof(q->res.hosts[0].name),
			 "%s", q->domain);
		q->res.n_hosts = 1;
		query_want_addrs(q);
		return;
	case SUB_OK:
	case SUB_PENDING:
		break;
	}
	/*
	 * RFC 7505 §3: a null MX is the only MX of its domain. With other
	 * records beside it (a broken zone) we ignore the "." and use the
	 * rest, as mail can still be delivered.
	 */
	if (q->n_mx == 0) {
		if (q->null_mx)
			query_fail(q, DNS_PERMFAIL,
				   "%s: domain does not accept mail (null MX)",
				   q->domain);
		else
			query_fail(q, DNS_PERMFAIL,
				   "%s: no MX record names a valid host",
				   q->domain);
		return;
	}
	qsort(q->mx, q->n_mx, sizeof(q->mx[0]), mx_cmp);
	for (size_t i = 0; i < q->n_mx && q->res.n_hosts < DNS_MAX_HOSTS; i++) {
		bool dup = false;
		for (size_t j = 0; j < q->res.n_hosts; j++)
			if (strcasecmp(q->res.hosts[j].name, q->mx[i].name) ==
			    0)
				dup = true;
		if (dup)
			continue; /* the better preference is already in */
		struct dns_host *h = &q->res.hosts[q->res.n_hosts++];
		memcpy(h->name, q->mx[i].name, sizeof(h->name));
		h->preference = q->mx[i].preference;
	}
	query_want_addrs(q);
}

static void
host_add(struct dns_host *h, int type, const uint8_t *raw)
{
	struct sockaddr_storage *ss;

	if (h->n_addrs == DNS_MAX_ADDRS)
		return;
	ss = &h->addrs[h->n_addrs++];
	memset(ss, 0, sizeof(*ss));
	if (type == T_A) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, raw, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, raw, 16);
	}
}

/*
 * step_addrs - every A and AAAA answer is in. IPv4 addresses first, then
 * IPv6 (a host without IPv6 routes still gets a fast first try). Hosts
 * without any address are dropped; the rest keep their order.
 */
static void
step_addrs(struct dns_query *q)
{
	bool temp = false, nx = false;
	size_t kept = 0;

	for (size_t i = 0; i < q->res.n_hosts; i++)
		q->res.hosts[i].n_addrs = 0;
	for (size_t i = 0; i < q->n_subs; i++) {
		struct dns_sub *s = &q->subs[i];
		if (s->type == T_MX)
			continue;
		if (s->outcome == SUB_TEMP)
			temp = true;
		if (s->outcome == SUB_NXDOMAIN)
			nx = true;
	}
	for (int pass = 0; pass < 2; pass++) {
		int type = pass == 0 ? T_A : T_AAAA;
		for (size_t i = 0; i < q->n_subs; i++) {
			struct dns_sub *s = &q->subs[i];
			if (s->type != type || s->outcome != SUB_OK)
				continue;
			for (size_t k = 0; k < s->n_raw; k++)
				host_add(&q->res.hosts[s->host], type,
					 s->raw[k]);
		}
	}
	for (size_t i = 0; i < q->res.n_hosts; i++) {
		if (q->res.hosts[i].n_addrs == 0)
			continue;
		if (kept != i)
			q->res.hosts[kept] = q->res.hosts[i];
		kept++;
	}
	q->res.n_hosts = kept;
	q->phase = PH_DONE;
	if (kept > 0) {
		q->res.status = DNS_OK;
		q->res.error[0] = '\0';
		return;
	}
	if (temp)
		query_fail(q, DNS_TEMPFAIL,
			   "%s: temporary DNS failure looking up %s", q->domain,
			   q->kind == Q_MX && !q->implicit ? "the MX hosts"
							   : "its address");
	else if (q->kind == Q_MX && !q->implicit)
		query_fail(q, DNS_PERMFAIL, "%s: no MX host has an address",
			   q->domain);
	else if (nx)
		query_fail(q, DNS_PERMFAIL, "%s: Host not found (NXDOMAIN)",
			   q->domain);
	else if (q->kind == Q_MX)
		query_fail(q, DNS_PERMFAIL, "%s: no MX and no address record",
			   q->domain);
	else
		query_fail(q, DNS_PERMFAIL, "%s: no address record", q->domain);
}

static void
on_step(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	if (q->n_pending > 0)
		return; /* a sub answered early; the others are still out */
	switch (q->phase) {
	case PH_MX:
		step_mx(q);
		break;
	case PH_ADDRS:
		step_addrs(q);
		break;
	case PH_DONE:
		break;
	}
	if (q->phase == PH_DONE)
		query_deliver(q);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	query_fail(q, DNS_TEMPFAIL, "%s: DNS lookup timed out", q->domain);
	query_deliver(q);
}

static struct dns_query *
query_new(struct dns *dns, enum query_kind kind, const char *name,
	  dns_mx_cb *cb, void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->dns = dns;
	q->kind = kind;
	q->cb = cb;
	q->arg = arg;
	snprintf(q->domain, sizeof(q->domain), "%s", name);
	q->step_ev = event_new(dns->base, -1, 0, on_step, q);
	q->timer_ev = evtimer_new(dns->base, on_timeout, q);
	if (!q->step_ev || !q->timer_ev) {
		if (q->step_ev)
			event_free(q->step_ev);
		if (q->timer_ev)
			event_free(q->timer_ev);
		free(q);
		return NULL;
	}
	q->next = dns->queries;
	if (q->next)
		q->next->prev = q;
	dns->queries = q;
	return q;
}

/*
 * parse_literal - "1.2.3.4", "::1", "IPv6:::1" (brackets already
 * removed) into ss. RFC 5321 §4.1.3: IPv6 literals carry the tag.
 */
static bool
parse_literal(const char *s, bool need_tag, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strncasecmp(s, "IPv6:", 5) == 0) {
		sin6->sin6_family = AF_INET6;
		return inet_pton(AF_INET6, s + 5, &sin6->sin6_addr) == 1;
	}
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (need_tag)
		return false;
	sin6->sin6_family = AF_INET6;
	return inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1;
}

/* query_literal - answer without DNS, still from the loop. */
static void
query_literal(struct dns_query *q, const char *text, bool need_tag)
{
	char inner[256];
	size_t len = strlen(text);
	struct dns_host *h = &q->res.hosts[0];

	if (text[0] == '[' && len >= 2 && text[len - 1] == ']') {
		snprintf(inner, sizeof(inner), "%.*s", (int)(len - 2),
			 text + 1);
	} else {
		snprintf(inner, sizeof(inner), "%s", text);
	}
	if (parse_literal(inner, need_tag, &h->addrs[0])) {
		snprintf(h->name, sizeof(h->name), "%s", text);
		h->n_addrs = 1;
		q->res.n_hosts = 1;
		q->res.status = DNS_OK;
		q->phase = PH_DONE;
	} else {
		query_fail(q, DNS_PERMFAIL, "%s: invalid address literal",
			   text);
	}
	event_active(q->step_ev, 0, 0);
}

static void
query_arm_timer(struct dns_query *q)
{
	struct timeval tv = {.tv_sec = q->dns->timeout, .tv_usec = 0};

	evtimer_add(q->timer_ev, &tv);
}

struct dns_query *
dns_resolve_mx(struct dns *dns, const char *domain, dns_mx_cb *cb, void *arg)
{
	struct dns_query *q;
	size_t len = strlen(domain);

	if (len == 0 || len > 255)
		return NULL;
	q = query_new(dns, Q_MX, domain, cb, arg);
	if (!q)
		return NULL;
	if (domain[0] == '[') {
		query_literal(q, domain, true);
		return q;
	}
	q->phase = PH_MX;
	query_add_sub(q, T_MX, 0);
	query_arm_timer(q);
	query_start_subs(q, 0);
	return q;
}

struct dns_query *
dns_resolve_host(struct dns *dns, const char *host, dns_mx_cb *cb, void *arg)
{
	struct dns_query *q;
	struct sockaddr_storage ss;
	struct dns_host *h;
	size_t len = strlen(host);

	if (len == 0 || len > 255)
		return NULL;
	q = query_new(dns, Q_HOST, host, cb, arg);
	if (!q)
		return NULL;
	if (host[0] == '[' || parse_literal(host, false, &ss) ||
	    strncasecmp(host, "IPv6:", 5) == 0) {
		query_literal(q, host, false);
		return q;
	}
	h = &q->res.hosts[0];
	snprintf(h->name, sizeof(h->name), "%s", host);
	if (len > 1 && h->name[len - 1] == '.')
		h->name[len - 1] = '\0'; /* "mx.example." is "mx.example" */
	q->res.n_hosts = 1;
	query_arm_timer(q);
	query_want_addrs(q);
	return q;
}

void
dns_cancel(struct dns *dns, struct dns_query *q)
{
	(void)dns;
	if (!q)
		return;
	query_stop_subs(q);
	query_unlink(q);
	query_free(q);
}

void
dns_set_timeout(struct dns *dns, unsigned seconds)
{
	dns->timeout = seconds > 0 ? seconds : 1;
}

/*
 * fwd_addr - config's "ADDR", "ADDR:PORT", "[V6]", "[V6]:PORT" into
 * unbound's "ADDR@PORT".
 */
static bool
fwd_addr(const char *in, char *out, size_t outlen)
{
	char addr[80];
	const char *port = NULL;
	unsigned char buf[16];

	if (in[0] == '[') {
		const char *end = strchr(in, ']');
		if (!end || (size_t)(end - in - 1) >= sizeof(addr))
			return false;
		memcpy(addr, in + 1, (size_t)(end - in - 1));
		addr[end - in - 1] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return false;
	} else {
		const char *colon = strchr(in, ':');
		snprintf(addr, sizeof(addr), "%s", in);
		/* One colon: IPv4 with a port; more: a bare IPv6 address. */
		if (colon && !strchr(colon + 1, ':')) {
			addr[colon - in] = '\0';
			port = colon + 1;
		}
	}
	if (inet_pton(AF_INET, addr, buf) != 1 &&
	    inet_pton(AF_INET6, addr, buf) != 1)
		return false;
	if (port) {
		char *end;
		unsigned long n = strtoul(port, &end, 10);
		if (*port == '\0' || *end != '\0' || n == 0 || n > 65535)
			return false;
		snprintf(out, outlen, "%s@%lu", addr, n);
	} else {
		snprintf(out, outlen, "%s", addr);
	}
	return true;
}

struct dns *
dns_new(struct event_base *base, const char (*servers)[80], size_t n_servers,
	char *err, size_t errlen)
{
	/*
	 * do-not-query-localhost: a local forwarder (dnsmasq, systemd's
	 * 127.0.0.53) is the common case. No trust anchor is set, so the
	 * validator module passes answers as insecure until one is added.
	 */
	static const char *const options[][2] = {
	    {"do-not-query-localhost:", "no"},
	    /* Reverse look-ups (the SMTP client's PTR, SPF's ptr) go to
	     * the forwarder also for loopback and private addresses,
	     * which unbound would otherwise answer itself (RFC 6303). */
	    {"local-zone:", "127.in-addr.arpa. transparent"},
	    {"unblock-lan-zones:", "yes"},
	    {"insecure-lan-zones:", "yes"},
	};
	struct dns *dns;
	int r;

	dns = xcalloc(1, sizeof(*dns));
	dns->base = base;
	dns->timeout = DNS_DEFAULT_TIMEOUT;
	dns->ctx = ub_ctx_create_event(base);
	if (!dns->ctx) {
		snprintf(err, errlen, "cannot create the DNS resolver");
		free(dns);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		r = ub_ctx_set_option(dns->ctx, options[i][0], options[i][1]);
		if (r != 0) {
			snprintf(err, errlen, "DNS option %s %s: %s",
				 options[i][0], options[i][1], ub_strerror(r));
			goto fail;
		}
	}
	for (size_t i = 0; i < n_servers; i++) {
		char fwd[128];
		if (!fwd_addr(servers[i], fwd, sizeof(fwd))) {
			snprintf(err, errlen, "dns_servers: bad address '%s'",
				 servers[i]);
			goto fail;
		}
		r = ub_ctx_set_fwd(dns->ctx, fwd);
		if (r != 0) {
			snprintf(err, errlen, "dns_servers: '%s': %s",
				 servers[i], ub_strerror(r));
			goto fail;
		}
	}
	if (n_servers == 0) {
		/* Not /etc/hosts: an MX look-up must see the real DNS. */
		r = ub_ctx_resolvconf(dns->ctx, NULL);
		if (r != 0) {
			snprintf(err, errlen, "/etc/resolv.conf: %s",
				 ub_strerror(r));
			goto fail;
		}
	}
	return dns;
fail:
	ub_ctx_delete(dns->ctx);
	free(dns);
	return NULL;
}

void
dns_free(struct dns **dnsp)
{
	struct dns *dns = *dnsp;
	struct dns_query *q, *next;

	if (!dns)
		return;
	*dnsp = NULL;
	/* Cancelled first, so tearing the context down calls back no one. */
	for (q = dns->queries; q; q = q->next)
		query_stop_subs(q);
	while (dns->raws)
		dns_raw_cancel(dns->raws);
	dns->closing = true;
	ub_ctx_delete(dns->ctx);
	for (q = dns->queries; q; q = next) {
		next = q->next;
		query_free(q);
	}
	free(dns);
}

/* ---- raw queries (mail authentication: TXT, PTR, A, AAAA, MX) -------- */

/*
 * A raw query hands the packet over undecoded; like the MX queries it
 * answers from an event (never inside unbound's callback or before
 * dns_query_raw returns) and has its own time-out, as SPF and DKIM
 * want a shorter one than delivery (RFC 7208 §4.6.4: about 20 s).
 */
struct dns_raw {
	struct dns *dns;
	struct dns_raw *prev, *next;
	int id; /* unbound's async id while pending; -1 once answered */
	dns_raw_cb *cb;
	void *arg;
	struct event *done_ev, *timer_ev;
	enum dns_status status;
	int rcode;
	uint8_t *pkt;
	size_t len;
};

static void
raw_unlink_free(struct dns_raw *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->dns->raws = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->id > 0)
		(void)ub_cancel(r->dns->ctx, r->id);
	if (r->done_ev)
		event_free(r->done_ev);
	if (r->timer_ev)
		event_free(r->timer_ev);
	free(r->pkt);
	free(r);
}

static void
raw_done(evutil_socket_t fd, short what, void *arg)
{
	struct dns_raw *r = arg;
	dns_raw_cb *cb = r->cb;
	void *cb_arg = r->arg;
	enum dns_status status = r->status;
	int rcode = r->rcode;
	uint8_t *pkt = r->pkt;
	size_t len = r->len;

	(void)fd;
	(void)what;
	r->pkt = NULL;
	raw_unlink_free(r); /* the callback may free the resolver */
	cb(status, rcode, pkt, len, cb_arg);
	free(pkt);
}

static void
raw_cb(void *arg, int rcode, void *packet, int packet_len, int sec,
       char *why_bogus, int was_ratelimited)
{
	struct dns_raw *r = arg;
	const uint8_t *p = packet;

	(void)why_bogus;
	(void)was_ratelimited;
	if (r->dns->closing || r->id == -1)
		return;
	r->id = -1; /* answered: nothing to cancel */
	if (rcode == RCODE_NOERROR && p && packet_len >= 12)
		rcode = p[3] & 0x0f;
	r->rcode = rcode;
	if (rcode == RCODE_NXDOMAIN) {
		r->status = DNS_PERMFAIL;
	} else if (rcode != RCODE_NOERROR || !p || packet_len < 12 ||
		   sec == SEC_BOGUS) {
		r->status = DNS_TEMPFAIL;
	} else {
		r->status = DNS_OK;
		r->len = (size_t)packet_len;
		r->pkt = xmalloc(r->len);
		memcpy(r->pkt, p, r->len);
	}
	evtimer_del(r->timer_ev);
	event_active(r->done_ev, 0, 0);
}

static void
raw_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dns_raw *r = arg;

	(void)fd;
	(void)what;
	if (r->id > 0)
		(void)ub_cancel(r->dns->ctx, r->id);
	r->id = -1;
	r->status = DNS_TEMPFAIL;
	r->rcode = -1;
	event_active(r->done_ev, 0, 0);
}

struct dns_raw *
dns_query_raw(struct dns *dns, const char *name, int type, unsigned timeout,
	      dns_raw_cb *cb, void *arg)
{
	struct dns_raw *r;
	struct timeval tv = {.tv_sec = timeout ? timeout : dns->timeout};
	int id = 0, err;

	if (strlen(name) == 0 || strlen(name) > 255)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->dns = dns;
	r->cb = cb;
	r->arg = arg;
	r->done_ev = event_new(dns->base, -1, 0, raw_done, r);
	r->timer_ev = evtimer_new(dns->base, raw_timeout, r);
	r->next = dns->raws;
	if (r->next)
		r->next->prev = r;
	dns->raws = r;
	if (!r->done_ev || !r->timer_ev) {
		raw_unlink_free(r);
		return NULL;
	}
	evtimer_add(r->timer_ev, &tv);
	err = ub_resolve_event(dns->ctx, name, type, C_IN, r, raw_cb, &id);
	if (err != 0 && r->id != -1) {
		/* A name unbound cannot parse will never resolve. */
		r->id = -1;
		r->status = err == UB_SYNTAX ? DNS_PERMFAIL : DNS_TEMPFAIL;
		r->rcode = err == UB_SYNTAX ? RCODE_NXDOMAIN : 2;
		evtimer_del(r->timer_ev);
		event_active(r->done_ev, 0, 0);
	} else if (r->id != -1) {
		r->id = id;
	}
	return r;
}

void
dns_raw_cancel(struct dns_raw *r)
{
	raw_unlink_free(r);
}
