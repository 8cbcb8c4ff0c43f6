/*
 * test_bounce - the DSN is a well-formed multipart/report whatever the
 * envelope and the remote replies contain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queue/bounce.h"
#include "queue/envelope.h"

#define NOW ((time_t)1732250000)

static const char orig[] = "Received: from x by y\n"
			   "From: alice@example.org\r\n"
			   "To: bob@example.net\n"
			   "Subject: hello\r\n"
			   "\r\n"
			   "body line\r\n";

static void
env_init(struct queue_envelope *env, const char *sender)
{
	memset(env, 0, sizeof(*env));
	strcpy(env->id, "0193A7C1D2E3F4");
	env->arrival = NOW - 3600;
	env->sender = strdup(sender);
	env->client = strdup("127.0.0.1");
	env->helo = strdup("client.example.org");
}

static char *
nul_terminated(const char *s, size_t len)
{
	char *c = malloc(len + 1);
	assert_non_null(c);
	memcpy(c, s, len);
	c[len] = '\0';
	return c;
}

/* The structural checks every DSN must pass; returns the boundary. */
static char *
check_wellformed(const char *m, size_t len)
{
	const char *p, *b, *e;
	char *bd, *delim, *close;
	size_t line = 0, nparts = 0;

	assert_int_equal(strlen(m), len);
	/* CRLF only, no line over 998 octets. */
	for (size_t i = 0; i < len; i++) {
		if (m[i] == '\n') {
			if (i == 0 || m[i - 1] != '\r')
				fail_msg("bare LF at %zu", i);
			line = 0;
		} else if (m[i] == '\r') {
			if (i + 1 >= len || m[i + 1] != '\n')
				fail_msg("bare CR at %zu", i);
		} else if (++line > 998) {
			fail_msg("line over 998 at %zu", i);
		}
	}
	assert_true(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n');
	/* The header section ends before the first empty line. */
	e = strstr(m, "\r\n\r\n");
	assert_non_null(e);
	b = strstr(m, "boundary=\"");
	assert_non_null(b);
	assert_true(b < e);
	b += strlen("boundary=\"");
	p = strchr(b, '"');
	assert_non_null(p);
	assert_true(p - b > 0 && p - b <= 70);
	bd = nul_terminated(b, (size_t)(p - b));
	assert_non_null(strstr(m, "Content-Type: multipart/report; "
				  "report-type=delivery-status;"));
	assert_non_null(strstr(m, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(m, "Auto-Submitted: auto-replied\r\n"));
	/* Exactly three delimiter lines, then the close delimiter last. */
	delim = malloc(strlen(bd) + 8);
	close = malloc(strlen(bd) + 10);
	assert_non_null(delim);
	assert_non_null(close);
	sprintf(delim, "\r\n--%s\r\n", bd);
	sprintf(close, "\r\n--%s--\r\n", bd);
	for (p = m; (p = strstr(p, delim)) != NULL; p++)
		nparts++;
	assert_int_equal(nparts, 3);
	assert_true(strlen(close) <= len);
	assert_string_equal(m + len - strlen(close), close);
	/* The boundary occurs nowhere else. */
	{
		size_t seen = 0;
		for (p = e; (p = strstr(p, bd)) != NULL; p++)
			seen++;
		assert_int_equal(seen, 4);
	}
	free(delim);
	free(close);
	return bd;
}

/* The part after the n-th delimiter (0-based), up to the next one. */
static char *
part(const char *m, const char *bd, int n)
{
	char delim[128];
	const char *p = m, *q;

	snprintf(delim, sizeof(delim), "\r\n--%s", bd);
	for (int i = 0; i <= n; i++) {
		p = strstr(p, delim);
		assert_non_null(p);
		p += strlen(delim);
	}
	q = strstr(p, delim);
	assert_non_null(q);
	return nul_terminated(p, (size_t)(q - p));
}

static void
test_basic(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[2];
	char *m, *bd, *p1, *p2, *p3;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org");
	queue_envelope_add_rcpt(&env, "bob@example.net", "", false, NULL, NULL);
	queue_envelope_add_rcpt(&env, "carol@example.com", "list@example.org",
				false, NULL, NULL);
	f[0] =
	    (struct bounce_failure){&env.rcpts[0], "5.1.1", "mx.example.net",
				    "smtp; 550 5.1.1 no such user", "failed"};
	f[1] = (struct bounce_failure){&env.rcpts[1], "5.7.1", NULL,
				       "554 5.7.1 rejected", NULL};
	m = bounce_build("mail.example.org", &env, f, 2, orig, sizeof(orig) - 1,
			 NOW, &len);
	bd = check_wellformed(m, len);

	assert_non_null(strstr(m, "From: Mail Delivery System "
				  "<MAILER-DAEMON@mail.example.org>\r\n"));
	assert_non_null(strstr(m, "\r\nTo: <alice@example.org>\r\n"));
	assert_non_null(strstr(m, "\r\nSubject: Undelivered Mail Returned to "
				  "Sender\r\n"));
	assert_non_null(strstr(m, "Date: Fri, 22 Nov 2024 04:33:20 +0000\r\n"));
	assert_non_null(strstr(m, "\r\nMessage-ID: "
				  "<0193A7C1D2E3F4.1732250000@"
				  "mail.example.org>\r\n"));

	p1 = part(m, bd, 0);
	assert_non_null(strstr(p1, "Content-Type: text/plain"));
	assert_non_null(strstr(p1, "<bob@example.net>: smtp; 550 5.1.1 no "
				   "such user\r\n"));
	assert_non_null(strstr(p1, "<carol@example.com>: 554 5.7.1"));

	p2 = part(m, bd, 1);
	assert_non_null(strstr(p2,
			       "Content-Type: message/delivery-status\r\n"
			       "\r\n"
			       "Reporting-MTA: dns; mail.example.org\r\n"
			       "X-Petrel-Queue-ID: 0193A7C1D2E3F4\r\n"
			       "Arrival-Date: Fri, 22 Nov 2024 03:33:20 "
			       "+0000\r\n"
			       "\r\n"
			       "Final-Recipient: rfc822;bob@example.net\r\n"
			       "Action: failed\r\n"
			       "Status: 5.1.1\r\n"
			       "Remote-MTA: dns; mx.example.net\r\n"
			       "Diagnostic-Code: smtp; 550 5.1.1 no such "
			       "user\r\n"
			       "\r\n"
			       "Original-Recipient: rfc822;list@example.org\r\n"
			       "Final-Recipient: rfc822;carol@example.com\r\n"
			       "Action: failed\r\n"
			       "Status: 5.7.1\r\n"
			       "Diagnostic-Code: smtp; 554 5.7.1 "
			       "rejected\r\n"));

	p3 = part(m, bd, 2);
	assert_non_null(strstr(p3, "Content-Type: text/rfc822-headers\r\n"
				   "\r\n"
				   "Received: from x by y\r\n"
				   "From: alice@example.org\r\n"
				   "To: bob@example.net\r\n"
				   "Subject: hello\r\n"));
	/* The header section only, not the body. */
	assert_null(strstr(m, "body line"));

	free(p1);
	free(p2);
	free(p3);
	free(bd);
	free(m);
	queue_envelope_free(&env);
}

static void
test_delayed_subject(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[2];
	char *m, *bd;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org");
	queue_envelope_add_rcpt(&env, "a@x", "", false, NULL, NULL);
	queue_envelope_add_rcpt(&env, "b@x", "", false, NULL, NULL);
	f[0] = (struct bounce_failure){&env.rcpts[0], "4.4.1", NULL,
				       "smtp; 421 try later", "delayed"};
	f[1] = (struct bounce_failure){&env.rcpts[1], "4.4.1", NULL, NULL,
				       "delayed"};
	m = bounce_build("h", &env, f, 2, orig, sizeof(orig) - 1, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(
	    strstr(m, "\r\nSubject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(m, "Action: delayed\r\nStatus: 4.4.1\r\n"));
	free(bd);
	free(m);

	/* One failed among the delayed: it is a bounce. */
	f[1].action = "failed";
	f[1].status = "5.0.0";
	m = bounce_build("h", &env, f, 2, orig, sizeof(orig) - 1, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(
	    strstr(m, "\r\nSubject: Undelivered Mail Returned to Sender\r\n"));
	free(bd);
	free(m);
	queue_envelope_free(&env);
}

/* CR/LF in what a remote server said must not make new fields, parts or
 * a boundary line; neither may an address. */
static void
test_injection(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f;
	char *m, *bd, *p2;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org\r\nBcc: victim@example.com");
	queue_envelope_add_rcpt(&env, "bob@example.net\r\nAction: delivered",
				"", false, NULL, NULL);
	f = (struct bounce_failure){
	    &env.rcpts[0], "5.1.1\r\nX-Evil: 1", "mx\nRemote-MTA: dns; evil",
	    "smtp; 550 no\r\n\r\n--=_petrel\r\nContent-Type: text/html\r\n"
	    "\r\n<script>\0",
	    "failed"};
	m = bounce_build("host\r\nX-Injected: yes", &env, &f, 1, orig,
			 sizeof(orig) - 1, NOW, &len);
	bd = check_wellformed(m, len);
	assert_null(strstr(m, "\r\nBcc:"));
	assert_null(strstr(m, "\r\nX-Injected:"));
	assert_null(strstr(m, "\r\nAction: delivered"));
	assert_null(strstr(m, "\r\nX-Evil:"));
	assert_null(strstr(m, "\r\nContent-Type: text/html"));
	assert_null(strstr(m, "\r\nRemote-MTA: dns; evil"));
	p2 = part(m, bd, 1);
	assert_non_null(strstr(p2, "\r\nDiagnostic-Code: smtp; 550 no "
				   "--=_petrel Content-Type: text/html "
				   "<script>\r\n"));
	free(p2);
	free(bd);
	free(m);
	queue_envelope_free(&env);
}

/* A diagnostic of 5000 bytes without a space and another of many words:
 * folded, no line over 998. */
static void
test_long_lines(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[2];
	char *diag = malloc(5001), *words = malloc(6001), *hdr, *m, *bd;
	size_t len, hl = 3000 + 40;
	(void)state;

	assert_non_null(diag);
	assert_non_null(words);
	memset(diag, 'x', 5000);
	diag[5000] = '\0';
	for (size_t i = 0; i < 6000; i++)
		words[i] = i % 7 == 6 ? ' ' : 'w';
	words[6000] = '\0';
	hdr = malloc(hl);
	assert_non_null(hdr);
	memcpy(hdr, "X-Long: ", 8);
	memset(hdr + 8, 'h', hl - 8 - 1);
	hdr[hl - 1] = '\n';

	env_init(&env, "a@b");
	queue_envelope_add_rcpt(&env, "c@d", "", false, NULL, NULL);
	queue_envelope_add_rcpt(&env, "e@f", "", false, NULL, NULL);
	f[0] = (struct bounce_failure){&env.rcpts[0], "5.0.0", diag, diag,
				       "failed"};
	f[1] = (struct bounce_failure){&env.rcpts[1], "5.0.0", NULL, words,
				       "failed"};
	m = bounce_build("h", &env, f, 2, hdr, hl, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(strstr(m, "\r\nX-Long: hhh"));
	free(bd);
	free(m);
	free(hdr);
	free(diag);
	free(words);
	queue_envelope_free(&env);
}

/* Original headers that contain the boundary the bounce would use. */
static void
test_boundary_collision(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f;
	char *m, *bd, *bd2, hdr[512];
	size_t len;
	(void)state;

	env_init(&env, "a@b");
	queue_envelope_add_rcpt(&env, "c@d", "", false, NULL, NULL);
	f = (struct bounce_failure){&env.rcpts[0], "5.0.0", NULL, NULL,
				    "failed"};
	m = bounce_build("h", &env, &f, 1, NULL, 0, NOW, &len);
	bd = check_wellformed(m, len);
	free(m);

	/* Put that boundary, and its variants, into the headers. */
	snprintf(hdr, sizeof(hdr),
		 "X-A: %s\r\nX-B: --%s/1\r\nX-C: %s/2--\r\n\r\n", bd, bd, bd);
	m = bounce_build("h", &env, &f, 1, hdr, strlen(hdr), NOW, &len);
	bd2 = check_wellformed(m, len);
	assert_string_not_equal(bd, bd2);
	assert_null(strstr(hdr, bd2));
	free(bd2);
	free(m);

	/* And in the diagnostic. */
	f.diagnostic = bd;
	m = bounce_build("h", &env, &f, 1, NULL, 0, NOW, &len);
	bd2 = check_wellformed(m, len);
	assert_string_not_equal(bd, bd2);
	free(bd2);
	free(m);

	/* Unique per queue id and time. */
	m = bounce_build("h", &env, &f, 1, NULL, 0, NOW + 1, &len);
	bd2 = check_wellformed(m, len);
	assert_string_not_equal(bd, bd2);
	free(bd2);
	free(m);
	free(bd);
	queue_envelope_free(&env);
}

/* Odd inputs: null sender, no headers, LF-only and lone CR headers, 8-bit. */
static void
test_odd_inputs(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f;
	static const char h[] = "A: 1\r\rB: 2\nC: \xc3\xa9\n\nbody";
	char *m, *bd;
	size_t len;
	(void)state;

	env_init(&env, "");
	queue_envelope_add_rcpt(&env, "c@d", "c@d", false, NULL, NULL);
	f = (struct bounce_failure){&env.rcpts[0], NULL, "", "", NULL};
	m = bounce_build("", &env, &f, 1, h, sizeof(h) - 1, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(strstr(m, "\r\nTo: undisclosed-recipients:;\r\n"));
	assert_non_null(strstr(m, "A: 1  B: 2\r\nC: \xc3\xa9\r\n"));
	assert_non_null(strstr(m, "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(m, "Action: failed\r\nStatus: 5.0.0\r\n"));
	/* orcpt equal to the address: no Original-Recipient. */
	assert_null(strstr(m, "Original-Recipient"));
	assert_null(strstr(m, "Remote-MTA"));
	assert_null(strstr(m, "Diagnostic-Code"));
	assert_null(strstr(m, "body"));
	free(bd);
	free(m);
	queue_envelope_free(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_delayed_subject),
	    cmocka_unit_test(test_injection),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_boundary_collision),
	    cmocka_unit_test(test_odd_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
