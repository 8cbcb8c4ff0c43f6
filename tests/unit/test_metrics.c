/*
 * test_metrics - the counters, histograms, exposition text and the
 * per-minute history (stats/metrics.h), and the log ring
 * (util/log_ring.h) the admin page reads a queue id's lines from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/metrics.h"
#include "util/log_ring.h"
#include "util/strbuf.h"

static char *
format(void)
{
	struct metrics_gauges g = {3, 5, 42, 1};
	struct strbuf sb = {0};

	metrics_format(&sb, &g);
	return sb.p;
}

static void
has(const char *text, const char *line)
{
	char want[256];

	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(text, want) == NULL)
		fail_msg("missing '%s' in:\n%s", line, text);
}

static void
test_counters_and_format(void **state)
{
	(void)state;
	metrics_reset();
	metrics_received();
	metrics_received();
	time_t now = time(NULL);
	metrics_rcpt_outcome(QUEUE_RCPT_DONE, now);	  /* 0 s */
	metrics_rcpt_outcome(QUEUE_RCPT_DONE, now - 100); /* 100 s */
	metrics_rcpt_outcome(QUEUE_RCPT_DONE, now + 50);  /* clock: 0 s */
	metrics_rcpt_outcome(QUEUE_RCPT_PENDING, now);
	metrics_rcpt_outcome(QUEUE_RCPT_FAILED, now);
	metrics_commit_batch(1);
	metrics_commit_batch(3);
	metrics_commit_batch(1000);
	metrics_tls_handshake(true, true);
	metrics_tls_handshake(true, false);
	metrics_tls_handshake(false, true);
	metrics_auth_failure();
	metrics_session_open("smtp");
	metrics_session_open("smtp");
	metrics_session_open("pop3");
	metrics_session_close("smtp");
	metrics_session_close("imap"); /* never opened: harmless */
	assert_int_equal(metrics_sessions_now(), 2);

	char *t = format();
	has(t, "petrel_messages_received_total 2");
	has(t, "petrel_deliveries_total{status=\"sent\"} 3");
	has(t, "petrel_deliveries_total{status=\"deferred\"} 1");
	has(t, "petrel_deliveries_total{status=\"bounced\"} 1");
	has(t, "petrel_delivery_latency_seconds_bucket{le=\"1\"} 2");
	has(t, "petrel_delivery_latency_seconds_bucket{le=\"60\"} 2");
	has(t, "petrel_delivery_latency_seconds_bucket{le=\"300\"} 3");
	has(t, "petrel_delivery_latency_seconds_bucket{le=\"+Inf\"} 3");
	has(t, "petrel_delivery_latency_seconds_count 3");
	has(t, "petrel_commit_batch_size_bucket{le=\"1\"} 1");
	has(t, "petrel_commit_batch_size_bucket{le=\"4\"} 2");
	has(t, "petrel_commit_batch_size_bucket{le=\"256\"} 2");
	has(t, "petrel_commit_batch_size_bucket{le=\"+Inf\"} 3");
	has(t, "petrel_commit_batch_size_sum 1004");
	has(t, "petrel_commit_batch_size_count 3");
	has(t, "petrel_tls_handshakes_total{side=\"server\",result=\"ok\"} 1");
	has(t,
	    "petrel_tls_handshakes_total{side=\"server\",result=\"failed\"} 1");
	has(t, "petrel_tls_handshakes_total{side=\"client\",result=\"ok\"} 1");
	has(t, "petrel_auth_failures_total 1");
	has(t, "petrel_sessions{protocol=\"smtp\"} 1");
	has(t, "petrel_sessions{protocol=\"pop3\"} 1");
	assert_null(strstr(t, "imap"));
	has(t, "petrel_sessions_total{protocol=\"smtp\"} 2");
	has(t, "petrel_queue_messages 3");
	has(t, "petrel_queue_recipients 5");
	has(t, "petrel_queue_oldest_age_seconds 42");
	has(t, "petrel_admin_sessions 1");
	has(t, "# TYPE petrel_delivery_latency_seconds histogram");
	has(t, "# TYPE petrel_messages_received_total counter");
	has(t, "# TYPE petrel_queue_messages gauge");
	/* Every sample line: name{labels} value. */
	for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
		if (line[0] != '#')
			assert_non_null(strchr(line, ' '));
	free(t);
}

static void *
bump(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100000; i++) {
		metrics_received();
		metrics_commit_batch(2);
	}
	return NULL;
}

/* Four threads at once lose no count (C11 atomics). */
static void
test_threads(void **state)
{
	pthread_t t[4];
	(void)state;

	metrics_reset();
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, bump, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	char *text = format();
	has(text, "petrel_messages_received_total 400000");
	has(text, "petrel_commit_batch_size_count 400000");
	has(text, "petrel_commit_batch_size_sum 800000");
	free(text);
}

static void
test_history(void **state)
{
	static struct metrics_minute h[METRICS_HISTORY_MINUTES + 1];
	time_t t0 = 1800000000 / 60 * 60; /* a minute's start */
	size_t n;
	(void)state;

	metrics_reset();
	metrics_tick(t0, 0, 0);
	metrics_received();
	metrics_received();
	metrics_rcpt_outcome(QUEUE_RCPT_DONE, t0);
	metrics_tick(t0 + 30, 1, 1); /* same minute: nothing yet */
	n = metrics_history(h, 10, t0 + 59, 1, 2);
	assert_int_equal(n, 1);
	assert_int_equal(h[0].minute, t0 / 60);
	assert_int_equal(h[0].received, 2);
	assert_int_equal(h[0].delivered, 1);
	assert_int_equal(h[0].sessions, 2);
	/* The next minute closes the first. */
	metrics_tick(t0 + 61, 4, 3);
	metrics_rcpt_outcome(QUEUE_RCPT_PENDING, t0);
	metrics_rcpt_outcome(QUEUE_RCPT_FAILED, t0);
	n = metrics_history(h, 10, t0 + 70, 4, 3);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].received, 2);
	assert_int_equal(h[0].queue, 4);
	assert_int_equal(h[1].minute, t0 / 60 + 1);
	assert_int_equal(h[1].received, 0);
	assert_int_equal(h[1].deferred, 1);
	assert_int_equal(h[1].bounced, 1);
	/* Five minutes without a tick are five empty minutes. */
	n = metrics_history(h, 100, t0 + 7 * 60 + 5, 0, 0);
	assert_int_equal(n, 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(h[i].minute, t0 / 60 + (int64_t)i);
	assert_int_equal(h[1].deferred, 1);
	for (size_t i = 2; i < 8; i++)
		assert_int_equal(h[i].received + h[i].deferred, 0);
	/* max: the newest ones. */
	n = metrics_history(h, 3, t0 + 7 * 60 + 5, 0, 0);
	assert_int_equal(n, 3);
	assert_int_equal(h[2].minute, t0 / 60 + 7);
	/* Days later: the ring holds 24 hours, no more. */
	n = metrics_history(h, METRICS_HISTORY_MINUTES + 1, t0 + 3 * 86400, 0,
			    0);
	assert_int_equal(n, METRICS_HISTORY_MINUTES + 1);
	assert_int_equal(h[n - 1].minute, (t0 + 3 * 86400) / 60);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(h[i].minute, h[i - 1].minute + 1);
	/* A clock stepped back starts afresh. */
	n = metrics_history(h, 5, t0, 0, 0);
	assert_true(n >= 1);
	assert_int_equal(h[n - 1].minute, t0 / 60);
}

static void
collect(const char *line, void *arg)
{
	struct strbuf *sb = arg;
	strbuf_adds(sb, line);
	strbuf_adds(sb, "|");
}

static void
test_log_ring(void **state)
{
	struct strbuf sb = {0};
	char big[2000];
	(void)state;

	/* Off: nothing is kept. */
	log_ring_add("AAAA: x", 7);
	assert_int_equal(log_ring_find("AAAA", 10, collect, &sb), 0);
	log_ring_enable(4);
	log_ring_add("AAAA: one\n", 10);
	log_ring_add("BBBB: two", 9);
	log_ring_add("AAAA: three", 11);
	assert_int_equal(log_ring_find("AAAA", 10, collect, &sb), 2);
	assert_string_equal(sb.p, "AAAA: one|AAAA: three|");
	free(sb.p);
	sb = (struct strbuf){0};
	/* The oldest goes first; at most max, the newest. */
	log_ring_add("AAAA: four", 10);
	log_ring_add("AAAA: five", 10);
	assert_int_equal(log_ring_find("AAAA", 2, collect, &sb), 2);
	assert_string_equal(sb.p, "AAAA: four|AAAA: five|");
	free(sb.p);
	sb = (struct strbuf){0};
	assert_int_equal(log_ring_find("AAAA", 10, collect, &sb), 3);
	assert_string_equal(sb.p, "AAAA: three|AAAA: four|AAAA: five|");
	free(sb.p);
	sb = (struct strbuf){0};
	/* Long lines are cut. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "CCCC:", 5);
	log_ring_add(big, sizeof(big));
	assert_int_equal(log_ring_find("CCCC", 10, collect, &sb), 1);
	assert_int_equal(strlen(sb.p), LOG_RING_LINE_MAX + 1);
	free(sb.p);
	log_ring_enable(0);
	sb = (struct strbuf){0};
	assert_int_equal(log_ring_find("AAAA", 10, collect, &sb), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counters_and_format),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_log_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
