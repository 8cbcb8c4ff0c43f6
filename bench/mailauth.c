/*
 * bench/mailauth - CPU cost of mail authentication per message, with the
 * code the server runs: DKIM signing (the relaxed body hash, then one
 * signature per key) and verifying (parse, header and body hashes, key
 * record decode, the public-key check), RSA-2048 and Ed25519, for 1 KiB
 * and 64 KiB messages; and one SPF evaluation of a typical record over
 * answers already known (the parsing and matching, without the network).
 *
 *     make bench-mailauth     (and at the end of `make bench`)
 *
 * Figures are process CPU time per operation, the median of 5 rounds.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "mailauth/dkim_keys.h"
#include "mailauth/dkim_sign.h"
#include "mailauth/dkim_verify.h"
#include "mailauth/spf_eval.h"
#include "util/strbuf.h"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static char *
message(size_t body)
{
	struct strbuf sb = {0};
	static const char head[] =
	    "From: Alice <alice@example.org>\r\n"
	    "To: Bob <bob@example.net>\r\n"
	    "Subject: a benchmark message of a typical shape\r\n"
	    "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
	    "Message-ID: <bench.1@example.org>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "\r\n";

	strbuf_adds(&sb, head);
	while (sb.len < body + sizeof(head))
		strbuf_adds(&sb, "The quick brown fox jumps over the lazy dog "
				 "again and again, line after line.\r\n");
	return sb.p;
}

struct run {
	struct dkim_sign_key *keys;
	size_t n_keys;
	const char *msg;
	size_t len;
	const char *signed_msg;
	size_t signed_len;
	const char *const *names;
	const char *const *records;
};

static void
op_sign(const struct run *r)
{
	struct strbuf out = {0};

	if (dkim_sign_message(r->keys, r->n_keys, r->msg, r->len, 1800000000,
			      &out) < 0)
		abort();
	free(out.p);
}

static void
op_verify(const struct run *r)
{
	struct dkim_verify *v =
	    dkim_verify_new(r->signed_msg, r->signed_len, 1800000000);
	struct dkim_head *h = malloc(sizeof(*h));

	dkim_head_parse(r->signed_msg, r->signed_len, h);
	dkim_verify_body(v, r->signed_msg + h->body, r->signed_len - h->body);
	dkim_verify_body_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *name = dkim_verify_key_name(v, i);
		for (size_t k = 0; k < r->n_keys; k++)
			if (name && strcmp(name, r->names[k]) == 0) {
				size_t tl = strlen(r->records[k]);
				dkim_verify_key(v, i, DKIM_DNS_OK,
						&r->records[k], &tl, 1);
			}
		if (dkim_verify_verdict(v, i)->result != DKIM_PASS)
			abort();
	}
	free(h);
	dkim_verify_free(&v);
}

static double
measure(void (*op)(const struct run *), const struct run *r, int iters)
{
	double t[5];

	for (int round = 0; round < 5; round++) {
		double t0 = cpu_now();
		for (int i = 0; i < iters; i++)
			op(r);
		t[round] = (cpu_now() - t0) / iters;
	}
	qsort(t, 5, sizeof(t[0]), dcmp);
	return t[2];
}

static void
spf_once(void)
{
	static const char rec[] =
	    "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net"
	    " mx a:relay.example.org -all";
	static const char inc[] = "v=spf1 ip4:198.51.100.0/24 ~all";
	struct spf_eval_params p = {.family = AF_INET,
				    .sender = "alice@example.org",
				    .helo = "mail.example.org",
				    .domain = "example.org",
				    .receiver = "mx.example.net"};
	inet_pton(AF_INET, "203.0.113.7", p.ip);
	struct spf_eval *e = spf_eval_new(&p);
	static const char a[4] = {(char)203, 0, 113, 7};
	while (!spf_eval_run(e)) {
		struct spf_query qs[64];
		size_t n = spf_eval_n_queries(e);
		for (size_t i = 0; i < n; i++)
			qs[i] = *spf_eval_query(e, i);
		for (size_t i = 0; i < n; i++) {
			struct spf_rr rr = {a, 4};
			if (qs[i].type == SPF_T_TXT)
				rr =
				    strstr(qs[i].name, "_spf")
					? (struct spf_rr){inc, sizeof(inc) - 1}
					: (struct spf_rr){rec, sizeof(rec) - 1};
			else if (qs[i].type == SPF_T_MX)
				rr = (struct spf_rr){"mx.example.org", 14};
			spf_eval_answer(e, qs[i].name, qs[i].type, SPF_DNS_OK,
					&rr, 1);
		}
	}
	if (spf_eval_outcome(e)->result != SPF_RES_PASS)
		abort();
	spf_eval_free(&e);
}

static void
op_spf(const struct run *r)
{
	(void)r;
	spf_once();
}

int
main(void)
{
	struct dkim_sign_key keys[2] = {
	    {.domain = "example.org",
	     .selector = "r",
	     .alg = DKIM_ALG_RSA_SHA256},
	    {.domain = "example.org",
	     .selector = "e",
	     .alg = DKIM_ALG_ED25519_SHA256},
	};
	const char *names[2] = {"r._domainkey.example.org",
				"e._domainkey.example.org"};
	char *recs[2];
	const char *records[2];
	static const size_t sizes[] = {1024, 65536};

	keys[0].pkey = dkim_keys_generate(DKIM_ALG_RSA_SHA256);
	keys[1].pkey = dkim_keys_generate(DKIM_ALG_ED25519_SHA256);
	recs[0] = dkim_keys_record(keys[0].pkey);
	recs[1] = dkim_keys_record(keys[1].pkey);
	records[0] = recs[0];
	records[1] = recs[1];

	printf("%-34s %10s %10s\n", "operation (CPU per message)", "1 KiB",
	       "64 KiB");
	for (int which = 0; which < 3; which++) {
		const char *label = which == 0	 ? "RSA-2048"
				    : which == 1 ? "Ed25519"
						 : "RSA-2048 + Ed25519";
		size_t first = which == 1 ? 1 : 0, n = which == 2 ? 2 : 1;
		double sign_us[2], verify_us[2];
		for (int s = 0; s < 2; s++) {
			char *msg = message(sizes[s]);
			struct strbuf sm = {0};
			dkim_sign_message(keys + first, n, msg, strlen(msg),
					  1800000000, &sm);
			strbuf_adds(&sm, msg);
			struct run r = {keys + first,  n,
					msg,	       strlen(msg),
					sm.p,	       sm.len,
					names + first, records + first};
			int iters = s == 0 ? 200 : 50;
			sign_us[s] = measure(op_sign, &r, iters) * 1e6;
			verify_us[s] = measure(op_verify, &r, iters) * 1e6;
			free(sm.p);
			free(msg);
		}
		printf("sign   %-27s %8.0f us %8.0f us\n", label, sign_us[0],
		       sign_us[1]);
		printf("verify %-27s %8.0f us %8.0f us\n", label, verify_us[0],
		       verify_us[1]);
	}
	printf("%-34s %8.1f us\n", "SPF evaluation (answers known)",
	       measure(op_spf, NULL, 2000) * 1e6);
	dkim_keys_unload(keys, 2);
	free(recs[0]);
	free(recs[1]);
	return 0;
}
