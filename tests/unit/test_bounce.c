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

/* --- issue 9: which recipients a report covers, and how (RFC 3461) --- */

static struct queue_rcpt *
add(struct queue_envelope *env, const char *addr, bool local,
    enum queue_rcpt_state st, unsigned notify, const char *err)
{
	struct queue_rcpt *r = queue_envelope_add_rcpt(
	    env, addr, "", local, local ? "x" : NULL, local ? "u" : NULL);
	r->state = st;
	r->notify = notify;
	r->last_error = err ? strdup(err) : NULL;
	return r;
}

static void
test_select(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[8];
	char status[8][16];
	(void)state;

	env_init(&env, "alice@example.org");
	/* 0: failed, no NOTIFY: reported. 1: failed, NOTIFY=NEVER: not.
	 * 2: failed, NOTIFY=SUCCESS only: not. 3: delivered here with
	 * SUCCESS: "delivered". 4: relayed to a hop without DSN with
	 * SUCCESS: "relayed". 5: done at a DSN hop with SUCCESS: that hop
	 * reports, not us. 6: pending, no NOTIFY. 7: pending, FAILURE only. */
	add(&env, "a@x", false, QUEUE_RCPT_FAILED, 0,
	    "host h said: 550 5.1.1 no");
	add(&env, "b@x", false, QUEUE_RCPT_FAILED, QUEUE_NOTIFY_NEVER, "5.0.0");
	add(&env, "c@x", false, QUEUE_RCPT_FAILED, QUEUE_NOTIFY_SUCCESS,
	    "5.0.0");
	add(&env, "d@x", true, QUEUE_RCPT_DONE,
	    QUEUE_NOTIFY_SUCCESS | QUEUE_NOTIFY_FAILURE,
	    "delivered to maildir");
	add(&env, "e@x", false, QUEUE_RCPT_DONE, QUEUE_NOTIFY_SUCCESS,
	    "250 2.0.0 ok")
	    ->relayed = true;
	add(&env, "f@x", false, QUEUE_RCPT_DONE, QUEUE_NOTIFY_SUCCESS,
	    "250 2.0.0 ok");
	add(&env, "g@x", false, QUEUE_RCPT_PENDING, 0,
	    "connect to h: 421 4.4.2 later");
	add(&env, "h@x", false, QUEUE_RCPT_PENDING, QUEUE_NOTIFY_FAILURE, NULL);

	size_t n = bounce_select(&env, BOUNCE_FINAL, f, status);
	assert_int_equal(n, 3);
	assert_string_equal(f[0].rcpt->address, "a@x");
	assert_string_equal(f[0].action, "failed");
	assert_string_equal(f[0].status, "5.1.1");
	assert_string_equal(f[1].rcpt->address, "d@x");
	assert_string_equal(f[1].action, "delivered");
	assert_string_equal(f[1].status, "2.0.0");
	assert_null(f[1].diagnostic); /* no SMTP reply to quote */
	assert_string_equal(f[2].rcpt->address, "e@x");
	assert_string_equal(f[2].action, "relayed");
	assert_string_equal(f[2].diagnostic, "250 2.0.0 ok");

	n = bounce_select(&env, BOUNCE_DELAY, f, status);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].rcpt->address, "g@x");
	assert_string_equal(f[0].action, "delayed");
	assert_string_equal(f[0].status, "4.4.2");

	/* The null sender is never told anything (§6.2). */
	free(env.sender);
	env.sender = strdup("");
	assert_int_equal(bounce_select(&env, BOUNCE_FINAL, f, status), 0);
	assert_int_equal(bounce_select(&env, BOUNCE_DELAY, f, status), 0);
	queue_envelope_free(&env);

	char st[16];
	bounce_status("no code here", '5', st, sizeof(st));
	assert_string_equal(st, "5.0.0");
	bounce_status("said 550 5.7.1 denied", '5', st, sizeof(st));
	assert_string_equal(st, "5.7.1");
	bounce_status("4.4.7 message expired", '5', st, sizeof(st));
	assert_string_equal(st, "5.4.7");
	bounce_status("x5.1.1 not at a word start", '4', st, sizeof(st));
	assert_string_equal(st, "4.0.0");
}

/* ENVID, ORCPT, Will-Retry-Until, the success subject. */
static void
test_report_fields(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[2];
	char status[2][16], *m, *bd;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org");
	env.envid = strdup("QQ314159");
	struct queue_rcpt *r =
	    add(&env, "bob@example.org", true, QUEUE_RCPT_DONE,
		QUEUE_NOTIFY_SUCCESS, "delivered to maildir");
	r->dsn_orcpt = strdup("rfc822;Bob+tag@example.org");
	assert_int_equal(bounce_select(&env, BOUNCE_FINAL, f, status), 1);
	struct bounce_options opt = {orig, sizeof(orig) - 1, true, false, 0};
	m = bounce_build_report("mx.example.org", &env, f, 1, &opt, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(
	    strstr(m, "\r\nSubject: Successful Mail Delivery Report\r\n"));
	assert_non_null(strstr(m, "\r\n\r\nOriginal-Envelope-Id: QQ314159\r\n"
				  "Reporting-MTA: dns; mx.example.org\r\n"));
	assert_non_null(
	    strstr(m, "Original-Recipient: rfc822;Bob+tag@example.org\r\n"
		      "Final-Recipient: rfc822;bob@example.org\r\n"
		      "Action: delivered\r\nStatus: 2.0.0\r\n"));
	assert_null(strstr(m, "Diagnostic-Code"));
	/* RET=FULL is for failures only (§4.3): the header comes back. */
	assert_non_null(strstr(m, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(m, "body line"));
	free(bd);
	free(m);

	/* A delay: Will-Retry-Until from the options. */
	r->state = QUEUE_RCPT_PENDING;
	r->notify = 0;
	free(r->last_error);
	r->last_error = NULL;
	assert_int_equal(bounce_select(&env, BOUNCE_DELAY, f, status), 1);
	opt.retry_until = NOW + 86400;
	m = bounce_build_report("h", &env, f, 1, &opt, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(
	    strstr(m, "Action: delayed\r\nStatus: 4.0.0\r\n"
		      "Will-Retry-Until: Sat, 23 Nov 2024 04:33:20 +0000\r\n"));
	free(bd);
	free(m);
	queue_envelope_free(&env);
}

/* RET=FULL on a failure: the whole original as message/rfc822, its line
 * ends made CRLF and over-long lines broken, so the report stays valid. */
static void
test_report_full(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[1];
	char status[1][16], *m, *bd, *long_line;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org");
	add(&env, "bob@example.net", false, QUEUE_RCPT_FAILED, 0,
	    "550 5.1.1 no");
	assert_int_equal(bounce_select(&env, BOUNCE_FINAL, f, status), 1);
	long_line = malloc(3000);
	assert_non_null(long_line);
	memset(long_line, 'z', 2999);
	long_line[2999] = '\0';
	char *whole = malloc(4096);
	assert_non_null(whole);
	snprintf(whole, 4096, "Subject: all\nX: y\r\n\r\nline one\nlast %s\r",
		 long_line);
	struct bounce_options opt = {whole, strlen(whole), true, false, 0};
	m = bounce_build_report("h", &env, f, 1, &opt, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(strstr(m, "Content-Type: message/rfc822\r\n\r\n"
				  "Subject: all\r\nX: y\r\n\r\nline one\r\n"
				  "last zzz"));
	assert_non_null(strstr(m, "It is attached below."));
	free(bd);
	free(m);
	free(whole);
	free(long_line);
	queue_envelope_free(&env);
}

/* RFC 6533: UTF-8 addresses make the report a global one. */
static void
test_report_utf8(void **state)
{
	struct queue_envelope env;
	struct bounce_failure f[1];
	char status[1][16], *m, *bd;
	size_t len;
	(void)state;

	env_init(&env, "alice@example.org");
	add(&env, "j\xc3\xb6rg@example.net", false, QUEUE_RCPT_FAILED, 0,
	    "553 5.6.7 SMTPUTF8 is required, but was not offered by host h");
	assert_int_equal(bounce_select(&env, BOUNCE_FINAL, f, status), 1);
	assert_string_equal(f[0].status, "5.6.7");
	struct bounce_options opt = {orig, sizeof(orig) - 1, false, false, 0};
	m = bounce_build_report("h", &env, f, 1, &opt, NOW, &len);
	bd = check_wellformed(m, len);
	assert_non_null(
	    strstr(m, "Content-Type: message/global-delivery-status\r\n"));
	assert_non_null(strstr(m, "Content-Type: message/global-headers\r\n"));
	assert_non_null(
	    strstr(m, "Final-Recipient: utf-8;j\xc3\xb6rg@example.net\r\n"));
	assert_non_null(strstr(m, "Content-Transfer-Encoding: 8bit\r\n"));
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
	    cmocka_unit_test(test_select),
	    cmocka_unit_test(test_report_fields),
	    cmocka_unit_test(test_report_full),
	    cmocka_unit_test(test_report_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
