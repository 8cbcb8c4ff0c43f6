/*
 * test_dmarc - DMARC records (RFC 7489 §6.3), the organizational domain
 * from the Public Suffix List, policy discovery (§6.6.3), alignment
 * (§3.1) and pct= (§6.6.4); and Authentication-Results (RFC 8601):
 * building the field and recognising one that claims our name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/auth_results.h"
#include "mailauth/dmarc_eval.h"
#include "mailauth/dmarc_record.h"
#include "util/strbuf.h"

struct rec_case {
	const char *in;
	int ok;
	enum dmarc_policy p, sp;
	unsigned pct;
	bool adkim_strict, aspf_strict;
};

static const struct rec_case rec_cases[] = {
    {"v=DMARC1; p=reject", 1, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 100,
     false, false},
    {"v=DMARC1;p=quarantine;sp=none;pct=20;adkim=s;aspf=s;", 1,
     DMARC_POLICY_QUARANTINE, DMARC_POLICY_NONE, 20, true, true},
    {"V = dmarc1 ; P = Reject ; RUA=mailto:x@example.com", 1,
     DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 100, false, false},
    /* §6.6.3: no valid p= but a rua=: p=none. */
    {"v=DMARC1; rua=mailto:d@example.com", 1, DMARC_POLICY_NONE,
     DMARC_POLICY_NONE, 100, false, false},
    {"v=DMARC1; p=bogus; rua=mailto:d@example.com", 1, DMARC_POLICY_NONE,
     DMARC_POLICY_NONE, 100, false, false},
    {"v=DMARC1; p=reject; sp=bogus", 1, DMARC_POLICY_REJECT,
     DMARC_POLICY_REJECT, 100, false, false},
    {"v=DMARC1", 0, 0, 0, 0, false, false},
    {"v=DMARC1; p=bogus", 0, 0, 0, 0, false, false},
    {"p=reject; v=DMARC1", 0, 0, 0, 0, false, false},
    {"v=DMARC2; p=reject", 0, 0, 0, 0, false, false},
    {"v=DMARC1x; p=reject", 0, 0, 0, 0, false, false},
    {"v=DMARC1; p=reject; pct=101", 0, 0, 0, 0, false, false},
    {"v=DMARC1; p=reject; pct=x", 0, 0, 0, 0, false, false},
    {"v=DMARC1; p=reject; adkim=x", 0, 0, 0, 0, false, false},
    {"v=DMARC1; p=reject; p=none", 0, 0, 0, 0, false, false},
    {"v=spf1 -all", 0, 0, 0, 0, false, false},
};

static void
test_record(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		size_t len = strlen(c->in);
		char *in = malloc(len);
		struct dmarc_record r;
		const char *why = "";
		memcpy(in, c->in, len);
		int rc = dmarc_record_parse(in, len, &r, &why);
		if ((rc == 0) != c->ok)
			fail_msg("case %zu '%s': %d (%s)", i, c->in, rc, why);
		if (rc == 0) {
			assert_int_equal(r.p, c->p);
			assert_int_equal(r.sp, c->sp);
			assert_int_equal(r.pct, c->pct);
			assert_int_equal(r.adkim_strict, c->adkim_strict);
			assert_int_equal(r.aspf_strict, c->aspf_strict);
		}
		free(in);
	}
}

static void
test_org_domain(void **state)
{
	static const char *const cases[][2] = {
	    {"example.com", "example.com"},
	    {"mail.example.com", "example.com"},
	    {"a.b.c.example.co.uk", "example.co.uk"},
	    {"co.uk", "co.uk"},
	    {"com", "com"},
	    {"foo.blogspot.com", "foo.blogspot.com"},
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dmarc_org_domain(cases[i][0], out);
		assert_string_equal(out, cases[i][1]);
	}
}

static void
test_from_domain(void **state)
{
	struct dkim_head *h = malloc(sizeof(*h));
	char d[256];
	static const struct {
		const char *msg;
		int r;
		const char *domain;
	} cases[] = {
	    {"From: Alice <alice@Mail.Example.COM>\r\n\r\n", 0,
	     "mail.example.com"},
	    {"Subject: x\r\n\r\n", 1, NULL},
	    {"From: a@example.com, b@example.org\r\n\r\n", -1, NULL},
	    {"From: a@example.com\r\nFrom: b@example.com\r\n\r\n", -1, NULL},
	    {"From: undisclosed\r\n\r\n", -1, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
		    dkim_head_parse(cases[i].msg, strlen(cases[i].msg), h), 0);
		int r = dmarc_from_domain(h, d);
		if (r != cases[i].r)
			fail_msg("case %zu: %d", i, r);
		if (r == 0)
			assert_string_equal(d, cases[i].domain);
	}
	free(h);
}

/* discover - run the evaluator against a table name -> TXT. */
static struct dmarc_eval *
discover(const char *from, const char *const (*table)[2], size_t n,
	 char **asked, size_t *n_asked)
{
	struct dmarc_eval *e = dmarc_eval_new(from);
	const char *q;

	*n_asked = 0;
	while ((q = dmarc_eval_query(e))) {
		asked[(*n_asked)++] = strdup(q);
		const char *txt[4];
		size_t len[4], k = 0;
		bool temp = false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(table[i][0], q) == 0) {
				if (strcmp(table[i][1], "TIMEOUT") == 0)
					temp = true;
				txt[k] = table[i][1];
				len[k++] = strlen(table[i][1]);
			}
		dmarc_eval_answer(e,
				  temp	  ? DMARC_DNS_TEMP
				  : k > 0 ? DMARC_DNS_OK
					  : DMARC_DNS_NONE,
				  txt, len, k);
	}
	return e;
}

static void
test_eval(void **state)
{
	static const char *const table[][2] = {
	    {"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine"},
	    {"_dmarc.example.com", "some other text"},
	    {"_dmarc.strict.example", "v=DMARC1; p=reject; adkim=s; aspf=s"},
	    {"_dmarc.half.example", "v=DMARC1; p=reject; pct=50"},
	    {"_dmarc.two.example", "v=DMARC1; p=reject"},
	    {"_dmarc.two.example", "v=DMARC1; p=none"},
	    {"_dmarc.slow.example", "TIMEOUT"},
	};
	char *asked[4];
	size_t n_asked;
	struct dmarc_outcome o;
	const char *dk[] = {"example.com"};
	const char *dk_sub[] = {"news.example.com"};
	const char *dk_other[] = {"example.net"};

	(void)state;
#define RUN(from)                                                              \
	do {                                                                   \
		struct dmarc_eval *e_ =                                        \
		    discover(from, table, sizeof(table) / sizeof(table[0]),    \
			     asked, &n_asked);                                 \
		dmarc_eval_finish(e_, &a, roll, &o);                           \
		dmarc_eval_free(&e_);                                          \
		for (size_t k_ = 0; k_ < n_asked; k_++)                        \
			free(asked[k_]);                                       \
	} while (0)
	unsigned roll = 0;

	/* Aligned DKIM (relaxed: a subdomain's signature counts). */
	struct dmarc_auth a = {SPF_RES_FAIL, "example.net", 1, dk_sub};
	RUN("example.com");
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.dkim_aligned && !o.spf_aligned);
	/* Aligned SPF. */
	a = (struct dmarc_auth){SPF_RES_PASS, "bounce.example.com", 0, NULL};
	RUN("example.com");
	assert_int_equal(o.result, DMARC_PASS);
	assert_true(o.spf_aligned);
	/* SPF pass for another domain, DKIM for another: fail, reject. */
	a = (struct dmarc_auth){SPF_RES_PASS, "example.net", 1, dk_other};
	RUN("example.com");
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.applied, DMARC_POLICY_REJECT);
	/* A subdomain without its own record: the org's sp= applies, and
	 * both names were asked, in order. */
	RUN("mail.example.com");
	assert_int_equal(n_asked, 2);
	assert_int_equal(o.result, DMARC_FAIL);
	assert_int_equal(o.policy, DMARC_POLICY_QUARANTINE);
	/* Strict alignment: a subdomain's signature does not count. */
	const char *dk_strict_sub[] = {"mail.strict.example"};
	a = (struct dmarc_auth){SPF_RES_NONE, NULL, 1, dk_strict_sub};
	RUN("strict.example");
	assert_int_equal(o.result, DMARC_FAIL);
	const char *dk_strict[] = {"STRICT.example"};
	a = (struct dmarc_auth){SPF_RES_NONE, NULL, 1, dk_strict};
	RUN("strict.example");
	assert_int_equal(o.result, DMARC_PASS);
	/* pct=50: roll 49 applies, roll 50 softens reject to quarantine. */
	a = (struct dmarc_auth){SPF_RES_FAIL, "x.example", 0, NULL};
	roll = 49;
	RUN("half.example");
	assert_int_equal(o.applied, DMARC_POLICY_REJECT);
	roll = 50;
	RUN("half.example");
	assert_int_equal(o.applied, DMARC_POLICY_QUARANTINE);
	roll = 0;
	/* Two records: no policy. None at all: none. Time-out: temperror. */
	RUN("two.example");
	assert_int_equal(o.result, DMARC_NONE);
	RUN("nothing.example");
	assert_int_equal(o.result, DMARC_NONE);
	RUN("slow.example");
	assert_int_equal(o.result, DMARC_TEMPERROR);
	(void)dk;
#undef RUN
}

static void
test_auth_results(void **state)
{
	struct strbuf sb = {0};
	char id[64];
	static const char *const props[] = {"header.d", "example.com",
					    "header.s", "sel", NULL};

	(void)state;
	auth_results_begin(&sb, "mx.example.org");
	auth_results_add(&sb, "dkim", "fail", "body hash did not verify",
			 props);
	static const char *const sprops[] = {"smtp.mailfrom", "a@example.com",
					     NULL};
	auth_results_add(&sb, "spf", "pass", NULL, sprops);
	auth_results_end(&sb, 2);
	assert_string_equal(sb.p, "Authentication-Results: mx.example.org;\r\n"
				  "\tdkim=fail reason=\"body hash did not "
				  "verify\" header.d=example.com "
				  "header.s=sel;\r\n"
				  "\tspf=pass smtp.mailfrom=a@example.com\r\n");
	free(sb.p);
	sb = (struct strbuf){0};
	auth_results_begin(&sb, "mx.example.org");
	auth_results_end(&sb, 0);
	assert_string_equal(sb.p,
			    "Authentication-Results: mx.example.org; none\r\n");
	free(sb.p);

	assert_true(auth_results_authserv_id(" (c) mx.example.org; spf=pass",
					     30, id, sizeof(id)));
	assert_string_equal(id, "mx.example.org");
	assert_true(auth_results_authserv_id(" \"mx.example.org\" 1; none", 25,
					     id, sizeof(id)));
	assert_string_equal(id, "mx.example.org");
#define CL(v)                                                                  \
	auth_results_claims("Authentication-Results", 22, v, strlen(v),        \
			    "MX.example.org")
	assert_true(CL(" mx.example.org; dkim=pass"));
	assert_true(CL("\r\n\t(forged)\r\n MX.EXAMPLE.ORG.; dkim=pass"));
	assert_true(CL(" "));
	assert_false(CL(" mx.example.org.evil; dkim=pass"));
	assert_false(CL(" other.example.net; dkim=pass"));
	assert_false(auth_results_claims("X-Authentication-Results", 24,
					 " mx.example.org", 15,
					 "mx.example.org"));
#undef CL
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record),
	    cmocka_unit_test(test_org_domain),
	    cmocka_unit_test(test_from_domain),
	    cmocka_unit_test(test_eval),
	    cmocka_unit_test(test_auth_results),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
