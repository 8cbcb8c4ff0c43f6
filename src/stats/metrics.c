#include "stats/metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/strbuf.h"

enum counter {
	C_RECEIVED,
	C_DELIVERED,
	C_DEFERRED,
	C_BOUNCED,
	C_TLS_SERVER_OK,
	C_TLS_SERVER_FAILED,
	C_TLS_CLIENT_OK,
	C_TLS_CLIENT_FAILED,
	C_AUTH_FAILURES,
	N_COUNTERS
};

/* A histogram with fixed upper bounds (the last bucket is +Inf). */
#define MAX_BUCKETS 12
struct histogram {
	const char *name, *help;
	size_t n;
	const uint64_t *le;
	atomic_uint_fast64_t bucket[MAX_BUCKETS]; /* not cumulative */
	atomic_uint_fast64_t sum, count;
};

/* Group commits: jobs per sync, powers of two. */
static const uint64_t batch_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
/* Arrival to delivery, seconds: local mail is in the first bucket. */
static const uint64_t latency_le[] = {1,   5,	 15,	60,   300,
				      900, 3600, 14400, 86400};

struct protocol {
	const char *name;
	atomic_uint open;
	atomic_uint_fast64_t total;
};

static atomic_uint_fast64_t counters[N_COUNTERS];
static struct histogram batch_hist = {
    "petrel_commit_batch_size",
    "Jobs (messages and queue tasks) made durable by one group commit.",
    sizeof(batch_le) / sizeof(batch_le[0]),
    batch_le,
    {0},
    0,
    0};
static struct histogram latency_hist = {
    "petrel_delivery_latency_seconds",
    "Time from a message's arrival to a recipient's delivery.",
    sizeof(latency_le) / sizeof(latency_le[0]),
    latency_le,
    {0},
    0,
    0};
static struct protocol protocols[METRICS_MAX_PROTOCOLS];
static size_t n_protocols;
static time_t start_time;

/* The history: loop thread only. */
static struct metrics_minute ring[METRICS_HISTORY_MINUTES];
static size_t ring_n, ring_head; /* head: next slot to write */
static int64_t cur_minute;	 /* the minute being counted, 0 = none */
static uint64_t base[4];	 /* counters at cur_minute's start */

static void
inc(enum counter c)
{
	atomic_fetch_add_explicit(&counters[c], 1, memory_order_relaxed);
}

static uint64_t
get(enum counter c)
{
	return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

static void
observe(struct histogram *h, uint64_t v)
{
	size_t i = 0;

	while (i < h->n && v > h->le[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

void
metrics_received(void)
{
	inc(C_RECEIVED);
}

void
metrics_rcpt_outcome(enum queue_rcpt_state state, time_t arrival)
{
	if (state == QUEUE_RCPT_DONE) {
		time_t now = time(NULL);
		inc(C_DELIVERED);
		observe(&latency_hist,
			now > arrival ? (uint64_t)(now - arrival) : 0);
	} else if (state == QUEUE_RCPT_FAILED) {
		inc(C_BOUNCED);
	} else {
		inc(C_DEFERRED);
	}
}

void
metrics_commit_batch(unsigned long n)
{
	observe(&batch_hist, n);
}

void
metrics_tls_handshake(bool server, bool ok)
{
	inc(server ? (ok ? C_TLS_SERVER_OK : C_TLS_SERVER_FAILED)
		   : (ok ? C_TLS_CLIENT_OK : C_TLS_CLIENT_FAILED));
}

void
metrics_auth_failure(void)
{
	inc(C_AUTH_FAILURES);
}

/* protocol_of - the row for name, made on first use if create (NULL when
 * there is none, or the table is full). */
static struct protocol *
protocol_of(const char *name, bool create)
{
	for (size_t i = 0; i < n_protocols; i++)
		if (strcmp(protocols[i].name, name) == 0)
			return &protocols[i];
	if (!create || n_protocols == METRICS_MAX_PROTOCOLS)
		return NULL;
	protocols[n_protocols].name = name;
	return &protocols[n_protocols++];
}

void
metrics_session_open(const char *protocol)
{
	struct protocol *p = protocol_of(protocol, true);

	if (p == NULL)
		return;
	atomic_fetch_add(&p->open, 1);
	atomic_fetch_add(&p->total, 1);
}

void
metrics_session_close(const char *protocol)
{
	struct protocol *p = protocol_of(protocol, false);

	if (p != NULL && atomic_load(&p->open) > 0)
		atomic_fetch_sub(&p->open, 1);
}

unsigned
metrics_sessions_now(void)
{
	unsigned n = 0;

	for (size_t i = 0; i < n_protocols; i++)
		n += atomic_load(&protocols[i].open);
	return n;
}

/* --- exposition --- */

static void __attribute__((format(printf, 2, 3)))
addf(struct strbuf *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		strbuf_add(out, line,
			   (size_t)n < sizeof(line) ? (size_t)n
						    : sizeof(line) - 1);
}

static void
head(struct strbuf *out, const char *name, const char *type, const char *help)
{
	addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
format_histogram(struct strbuf *out, struct histogram *h)
{
	uint64_t cum = 0;

	head(out, h->name, "histogram", h->help);
	for (size_t i = 0; i <= h->n; i++) {
		cum +=
		    atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		if (i < h->n)
			addf(out, "%s_bucket{le=\"%" PRIu64 "\"} %" PRIu64 "\n",
			     h->name, h->le[i], cum);
		else
			addf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n",
			     h->name, cum);
	}
	addf(out, "%s_sum %" PRIu64 "\n%s_count %" PRIu64 "\n", h->name,
	     (uint64_t)atomic_load(&h->sum), h->name,
	     (uint64_t)atomic_load(&h->count));
}

void
metrics_format(struct strbuf *out, const struct metrics_gauges *g)
{
	if (start_time == 0)
		start_time = time(NULL);
	head(out, "petrel_start_time_seconds", "gauge",
	     "When this process started, as Unix time.");
	addf(out, "petrel_start_time_seconds %lld\n", (long long)start_time);

	head(out, "petrel_sessions", "gauge", "Open sessions by protocol.");
	for (size_t i = 0; i < n_protocols; i++)
		addf(out, "petrel_sessions{protocol=\"%s\"} %u\n",
		     protocols[i].name, atomic_load(&protocols[i].open));
	head(out, "petrel_sessions_total", "counter",
	     "Sessions accepted by protocol.");
	for (size_t i = 0; i < n_protocols; i++)
		addf(out,
		     "petrel_sessions_total{protocol=\"%s\"} %" PRIu64 "\n",
		     protocols[i].name,
		     (uint64_t)atomic_load(&protocols[i].total));

	head(out, "petrel_messages_received_total", "counter",
	     "Messages accepted into the queue or mailboxes (SMTP, "
	     "pickup).");
	addf(out, "petrel_messages_received_total %" PRIu64 "\n",
	     get(C_RECEIVED));
	head(out, "petrel_deliveries_total", "counter",
	     "Recipient delivery attempts by outcome.");
	addf(out,
	     "petrel_deliveries_total{status=\"sent\"} %" PRIu64 "\n"
	     "petrel_deliveries_total{status=\"deferred\"} %" PRIu64 "\n"
	     "petrel_deliveries_total{status=\"bounced\"} %" PRIu64 "\n",
	     get(C_DELIVERED), get(C_DEFERRED), get(C_BOUNCED));
	format_histogram(out, &latency_hist);

	head(out, "petrel_queue_messages", "gauge",
	     "Messages in the queue (queue/env).");
	addf(out, "petrel_queue_messages %u\n", g->queue_messages);
	head(out, "petrel_queue_recipients", "gauge",
	     "Recipients still pending in the queue.");
	addf(out, "petrel_queue_recipients %u\n", g->queue_rcpts);
	head(out, "petrel_queue_oldest_age_seconds", "gauge",
	     "Age of the oldest queued message (0 when empty).");
	addf(out, "petrel_queue_oldest_age_seconds %lld\n", g->queue_oldest_s);
	format_histogram(out, &batch_hist);

	head(out, "petrel_tls_handshakes_total", "counter",
	     "TLS handshakes by side and result.");
	addf(out,
	     "petrel_tls_handshakes_total{side=\"server\",result=\"ok\"} "
	     "%" PRIu64 "\n"
	     "petrel_tls_handshakes_total{side=\"server\",result=\"failed\"} "
	     "%" PRIu64 "\n"
	     "petrel_tls_handshakes_total{side=\"client\",result=\"ok\"} "
	     "%" PRIu64 "\n"
	     "petrel_tls_handshakes_total{side=\"client\",result=\"failed\"} "
	     "%" PRIu64 "\n",
	     get(C_TLS_SERVER_OK), get(C_TLS_SERVER_FAILED),
	     get(C_TLS_CLIENT_OK), get(C_TLS_CLIENT_FAILED));
	head(out, "petrel_auth_failures_total", "counter",
	     "Failed logins (SMTP AUTH, POP3, admin web).");
	addf(out, "petrel_auth_failures_total %" PRIu64 "\n",
	     get(C_AUTH_FAILURES));
	head(out, "petrel_admin_sessions", "gauge",
	     "Logged-in admin web sessions.");
	addf(out, "petrel_admin_sessions %u\n", g->admin_sessions);
}

/* --- history --- */

static void
ring_push(const struct metrics_minute *m)
{
	ring[ring_head] = *m;
	ring_head = (ring_head + 1) % METRICS_HISTORY_MINUTES;
	if (ring_n < METRICS_HISTORY_MINUTES)
		ring_n++;
}

/* current - the counts of the minute being counted, so far. */
static void
current(struct metrics_minute *m, unsigned queue, unsigned sessions)
{
	m->minute = cur_minute;
	m->received = (uint32_t)(get(C_RECEIVED) - base[0]);
	m->delivered = (uint32_t)(get(C_DELIVERED) - base[1]);
	m->deferred = (uint32_t)(get(C_DEFERRED) - base[2]);
	m->bounced = (uint32_t)(get(C_BOUNCED) - base[3]);
	m->queue = queue;
	m->sessions = sessions;
}

void
metrics_tick(time_t now, unsigned queue, unsigned sessions)
{
	int64_t minute = (int64_t)now / 60;
	struct metrics_minute m;

	if (minute == cur_minute)
		return;
	if (cur_minute != 0 && minute > cur_minute) {
		current(&m, queue, sessions);
		ring_push(&m);
		/* Minutes nobody ticked in: nothing was counted in them. */
		int64_t gap = minute - cur_minute - 1;
		if (gap > METRICS_HISTORY_MINUTES)
			gap = METRICS_HISTORY_MINUTES;
		for (int64_t i = gap; i > 0; i--) {
			memset(&m, 0, sizeof(m));
			m.minute = minute - i;
			m.queue = queue;
			m.sessions = sessions;
			ring_push(&m);
		}
	}
	/* A clock stepped back starts afresh from the new minute. */
	cur_minute = minute;
	base[0] = get(C_RECEIVED);
	base[1] = get(C_DELIVERED);
	base[2] = get(C_DEFERRED);
	base[3] = get(C_BOUNCED);
}

size_t
metrics_history(struct metrics_minute *out, size_t max, time_t now,
		unsigned queue, unsigned sessions)
{
	size_t n = 0, skip;

	metrics_tick(now, queue, sessions);
	if (max == 0)
		return 0;
	/* The newest max - 1 complete minutes, then the current one. */
	skip = ring_n + 1 > max ? ring_n + 1 - max : 0;
	for (size_t i = skip; i < ring_n; i++) {
		size_t slot =
		    (ring_head + METRICS_HISTORY_MINUTES - ring_n + i) %
		    METRICS_HISTORY_MINUTES;
		out[n++] = ring[slot];
	}
	current(&out[n++], queue, sessions);
	return n;
}

void
metrics_reset(void)
{
	for (size_t i = 0; i < N_COUNTERS; i++)
		atomic_store(&counters[i], 0);
	struct histogram *hs[] = {&batch_hist, &latency_hist};
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < MAX_BUCKETS; i++)
			atomic_store(&hs[k]->bucket[i], 0);
		atomic_store(&hs[k]->sum, 0);
		atomic_store(&hs[k]->count, 0);
	}
	for (size_t i = 0; i < n_protocols; i++) {
		atomic_store(&protocols[i].open, 0);
		atomic_store(&protocols[i].total, 0);
	}
	n_protocols = 0;
	ring_n = ring_head = 0;
	cur_minute = 0;
	memset(base, 0, sizeof(base));
}
