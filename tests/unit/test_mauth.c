/*
 * test_mauth - the streaming message gate (mauth_msg: held header
 * section, our Authentication-Results claims dropped, DKIM hashed on the
 * way; fed whole, byte by byte and split at every position) and the
 * policy table (mauth_policy: when petrel refuses, and the one
 * Authentication-Results field it writes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailauth/mauth_msg.h"
#include "mailauth/mauth_policy.h"
#include "util/strbuf.h"

static void
emit_sb(void *arg, const char *p, size_t len)
{
	strbuf_add(arg, p, len);
}

#define MSG                                                                    \
	"Authentication-Results: MX.example.org; dkim=pass (forged)\r\n"       \
	"From: Eve <eve@example.com>\r\n"                                      \
	"Authentication-Results: other.example.net;\r\n\tspf=pass\r\n"         \
	"authentication-results:\r\n mx.example.org; spf=pass\r\n"             \
	"Subject: hi\r\n"                                                      \
	"\r\n"                                                                 \
	"Authentication-Results: mx.example.org; in the body, kept\r\n"

#define KEPT                                                                   \
	"From: Eve <eve@example.com>\r\n"                                      \
	"Authentication-Results: other.example.net;\r\n\tspf=pass\r\n"         \
	"Subject: hi\r\n"                                                      \
	"\r\n"                                                                 \
	"Authentication-Results: mx.example.org; in the body, kept\r\n"

static void
test_gate(void **state)
{
	static const char msg[] = MSG;
	size_t len = sizeof(msg) - 1;

	(void)state;
	/* cut == len + 1: one byte at a time. */
	for (size_t cut = 0; cut <= len + 1; cut++) {
		struct mauth_msg *m =
		    mauth_msg_new(true, true, "mx.example.org", 1700000000);
		struct strbuf out = {0};
		if (cut == len + 1) {
			for (size_t i = 0; i < len; i++)
				mauth_msg_feed(m, msg + i, 1, emit_sb, &out);
		} else {
			mauth_msg_feed(m, msg, cut, emit_sb, &out);
			mauth_msg_feed(m, msg + cut, len - cut, emit_sb, &out);
		}
		mauth_msg_end(m, emit_sb, &out);
		assert_int_equal(out.len, sizeof(KEPT) - 1);
		assert_memory_equal(out.p, KEPT, out.len);
		assert_int_equal(mauth_msg_removed(m), 2);
		char d[256];
		assert_int_equal(mauth_msg_from_domain(m, d), 0);
		assert_string_equal(d, "example.com");
		assert_non_null(mauth_msg_verify(m));
		free(out.p);
		mauth_msg_free(&m);
	}
	/* No filtering without a host; a message that is all header. */
	struct mauth_msg *m = mauth_msg_new(false, false, NULL, 0);
	struct strbuf out = {0};
	mauth_msg_feed(m, MSG, sizeof(MSG) - 1, emit_sb, &out);
	mauth_msg_end(m, emit_sb, &out);
	assert_int_equal(out.len, sizeof(MSG) - 1);
	mauth_msg_free(&m);
	free(out.p);
	m = mauth_msg_new(true, false, "mx.example.org", 0);
	out = (struct strbuf){0};
	static const char only[] = "Subject: x\r\nAuthentication-Results: "
				   "mx.example.org; none\r\n";
	mauth_msg_feed(m, only, sizeof(only) - 1, emit_sb, &out);
	assert_int_equal(out.len, 0); /* held until the end */
	mauth_msg_end(m, emit_sb, &out);
	assert_int_equal(out.len, strlen("Subject: x\r\n"));
	mauth_msg_free(&m);
	free(out.p);
}

/* A header section past the limit passes unfiltered and unverified. */
static void
test_gate_huge_head(void **state)
{
	struct mauth_msg *m = mauth_msg_new(true, false, "mx.example.org", 0);
	struct strbuf out = {0};
	char line[1000];
	size_t fed = 0;

	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line, "X-Pad: ", 7);
	line[998] = '\r';
	line[999] = '\n';
	while (fed <= MAUTH_HEAD_MAX) {
		mauth_msg_feed(m, line, sizeof(line), emit_sb, &out);
		fed += sizeof(line);
	}
	mauth_msg_feed(m, "\r\nbody\r\n", 8, emit_sb, &out);
	mauth_msg_end(m, emit_sb, &out);
	assert_int_equal(out.len, fed + 8);
	assert_null(mauth_msg_verify(m));
	assert_true(mauth_msg_head_too_big(m));
	mauth_msg_free(&m);
	free(out.p);
}

/* ---- the policy table ------------------------------------------------- */

struct pol_case {
	const char *name;
	enum spf_result spf;
	enum dmarc_result dmarc; /* DMARC_NONE with checked = false: none */
	enum dmarc_policy applied;
	bool dkim_temp;
	bool spf_enforce, dmarc_enforce;
	int code;
	const char *enhanced;
};

static const struct pol_case pol_cases[] = {
    {"all none", SPF_RES_FAIL, DMARC_FAIL, DMARC_POLICY_REJECT, false, false,
     false, 0, NULL},
    {"spf fail enforced", SPF_RES_FAIL, DMARC_NONE, DMARC_POLICY_NONE, false,
     true, false, 550, "5.7.23"},
    {"spf fail, dmarc pass", SPF_RES_FAIL, DMARC_PASS, DMARC_POLICY_NONE, false,
     true, false, 0, NULL},
    {"spf softfail", SPF_RES_SOFTFAIL, DMARC_NONE, DMARC_POLICY_NONE, false,
     true, true, 0, NULL},
    {"spf permerror", SPF_RES_PERMERROR, DMARC_NONE, DMARC_POLICY_NONE, false,
     true, true, 0, NULL},
    {"spf temperror enforced", SPF_RES_TEMPERROR, DMARC_NONE, DMARC_POLICY_NONE,
     false, true, false, 451, "4.7.24"},
    {"spf temperror not enforced", SPF_RES_TEMPERROR, DMARC_NONE,
     DMARC_POLICY_NONE, false, false, true, 0, NULL},
    {"dmarc reject enforced", SPF_RES_PASS, DMARC_FAIL, DMARC_POLICY_REJECT,
     false, false, true, 550, "5.7.1"},
    {"dmarc reject, pct missed", SPF_RES_PASS, DMARC_FAIL,
     DMARC_POLICY_QUARANTINE, false, false, true, 0, NULL},
    {"dmarc quarantine", SPF_RES_PASS, DMARC_FAIL, DMARC_POLICY_QUARANTINE,
     false, false, true, 0, NULL},
    {"dmarc reject, dkim key temp", SPF_RES_PASS, DMARC_FAIL,
     DMARC_POLICY_REJECT, true, false, true, 451, "4.7.5"},
    {"dmarc temperror", SPF_RES_PASS, DMARC_TEMPERROR, DMARC_POLICY_NONE, false,
     false, true, 451, "4.7.5"},
    {"dmarc temperror not enforced", SPF_RES_PASS, DMARC_TEMPERROR,
     DMARC_POLICY_NONE, false, true, false, 0, NULL},
    {"dmarc reject, spf temp", SPF_RES_TEMPERROR, DMARC_FAIL,
     DMARC_POLICY_REJECT, false, false, true, 451, "4.7.5"},
};

static void
results_for(const struct pol_case *c, struct mauth_results *r,
	    struct dkim_verdict *dk)
{
	memset(r, 0, sizeof(*r));
	memset(dk, 0, sizeof(*dk));
	r->authserv_id = "mx.example.org";
	r->ip = "192.0.2.7";
	r->iprev.result = IPREV_PASS;
	strcpy(r->iprev.name, "client.example.com");
	r->mailfrom = "eve@example.com";
	r->helo = "client.example.com";
	r->spf.result = c->spf;
	r->n_dkim = 1;
	dk->result = c->dkim_temp ? DKIM_TEMPERROR : DKIM_FAIL;
	strcpy(dk->d, "example.com");
	strcpy(dk->s, "sel");
	strcpy(dk->a, "rsa-sha256");
	strcpy(dk->b, "abcdefgh");
	strcpy(dk->why, c->dkim_temp ? "key look-up failed"
				     : "body hash did not verify");
	r->dkim = dk;
	r->dmarc_checked = c->dmarc != DMARC_NONE;
	r->dmarc.result = c->dmarc;
	r->dmarc.policy = DMARC_POLICY_REJECT;
	r->dmarc.applied = c->applied;
	strcpy(r->dmarc.from, "example.com");
	strcpy(r->dmarc.why, "no aligned SPF or DKIM pass");
	r->spf_enforce = c->spf_enforce;
	r->dmarc_enforce = c->dmarc_enforce;
}

static void
test_policy(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pol_cases) / sizeof(pol_cases[0]); i++) {
		const struct pol_case *c = &pol_cases[i];
		struct mauth_results r;
		struct dkim_verdict dk;
		struct mauth_action a;
		results_for(c, &r, &dk);
		mauth_policy_decide(&r, &a);
		if (a.code != c->code)
			fail_msg("%s: code %d, want %d (%s)", c->name, a.code,
				 c->code, a.text);
		if (c->enhanced)
			assert_string_equal(a.enhanced, c->enhanced);
	}
}

static void
test_header(void **state)
{
	struct mauth_results r;
	struct dkim_verdict dk;
	struct strbuf sb = {0};

	(void)state;
	results_for(&pol_cases[7], &r, &dk);
	r.helo_checked = true;
	r.spf_helo.result = SPF_RES_NONE;
	mauth_policy_header(&r, &sb);
	assert_string_equal(
	    sb.p,
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tiprev=pass reason=client.example.com "
	    "policy.iprev=192.0.2.7;\r\n"
	    "\tspf=pass smtp.mailfrom=eve@example.com;\r\n"
	    "\tspf=none smtp.helo=client.example.com;\r\n"
	    "\tdkim=fail reason=\"body hash did not verify\" "
	    "header.d=example.com header.s=sel header.a=rsa-sha256 "
	    "header.b=abcdefgh;\r\n"
	    "\tdmarc=fail reason=\"no aligned SPF or DKIM pass; p=reject\" "
	    "header.from=example.com\r\n");
	free(sb.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gate),
	    cmocka_unit_test(test_gate_huge_head),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
