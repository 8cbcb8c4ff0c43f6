/*
 * test_spf - SPF: the record parser (table of records, each parsed from
 * an exact-length copy) and the evaluator, driven by a fake resolver
 * over zone tables from the RFC 7208 test suite ("rfc7208-tests.yml",
 * 2014.5: sections include-mechanism-semantics-and-syntax,
 * macro-expansion-rules and processing-limits, with their zone data and
 * expected results transcribed; where the suite allows two results,
 * both are accepted). A zone line is "NAME TYPE VALUE"; VALUE TIMEOUT
 * makes the query fail temporarily; a name absent from the zone is
 * NXDOMAIN, a name present with other types is NODATA.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "mailauth/spf_eval.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_record.h"

#define S(x) x, sizeof(x) - 1
#define S_IR "%{ir}.%{v}._spf.%{d2}"

/* ---- record parser ---------------------------------------------------- */

struct rec_case {
	const char *in;
	int ok;
	size_t n_terms;
};

static const struct rec_case rec_cases[] = {
    {"v=spf1", 1, 0},
    {"v=spf1 ", 1, 0},
    {"V=SPF1 -ALL", 1, 1},
    {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx ptr -all", 1, 6},
    {"v=spf1 a:mail.example.com/24//64 mx:example.org//48 ~all", 1, 3},
    {"v=spf1 include:_spf.example.com exists:%{i}.%{l1r+-}._spf.%{d} ?all", 1,
     3},
    {"v=spf1 redirect=_spf.example.com", 1, 0},
    {"v=spf1 -all exp=explain._spf.%{d}", 1, 1},
    {"v=spf1 foo=bar -all", 1, 1},
    {"v=spf1 a:%{d}", 1, 1},
    {"v=spf1  a   mx  ", 1, 2},
    {"v=spf10", 0, 0},
    {"v=spf1 -", 0, 0},
    {"v=spf1 foo", 0, 0},
    {"v=spf1 a:museum", 0, 0},
    {"v=spf1 a:foo.123", 0, 0},
    {"v=spf1 a:foo.1-2", 1, 1},
    {"v=spf1 ip4:1.2.3.4/33", 0, 0},
    {"v=spf1 ip4:1.2.3.4/032", 0, 0},
    {"v=spf1 ip4:1.2.3", 0, 0},
    {"v=spf1 ip6:1.2.3.4", 0, 0},
    {"v=spf1 ip6:::1/129", 0, 0},
    {"v=spf1 a//129", 0, 0},
    {"v=spf1 a/", 0, 0},
    {"v=spf1 include", 0, 0},
    {"v=spf1 include:", 0, 0},
    {"v=spf1 include:example.com/24", 0, 0},
    {"v=spf1 redirect=a.example.com redirect=b.example.com", 0, 0},
    {"v=spf1 exp=a.example.com exp=b.example.com", 0, 0},
    {"v=spf1 all:foo", 0, 0},
    {"v=spf1 -exists:%(ir).sbl.example.com", 0, 0},
    {"v=spf1 exists:foo%.sbl.example.com", 0, 0},
    {"v=spf1 a:%{c}.example.com", 0, 0},
    {"v=spf1 a:%{d0}.example.com", 0, 0},
    {"v=spf1 a:%{x}.example.com", 0, 0},
    {"v=spf1 ptr:", 0, 0},
    {"v=spf1 a:ex\x01mple.com", 0, 0},
};

static void
test_record_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		size_t len = strlen(c->in);
		char *in = malloc(len);
		struct spf_record *r = malloc(sizeof(*r));
		const char *why = "";
		memcpy(in, c->in, len);
		int rc = spf_record_parse(in, len, r, &why);
		if ((rc == 0) != c->ok)
			fail_msg("case %zu '%s': rc %d (%s)", i, c->in, rc,
				 why);
		if (rc == 0)
			assert_int_equal(r->n, c->n_terms);
		free(r);
		free(in);
	}
	/* The fields of one record. */
	static const char t[] =
	    "v=spf1 -a:mail.example.com/24//64 ~ip6:2001:db8::/32";
	struct spf_record r;
	const char *why;
	assert_int_equal(spf_record_parse(t, sizeof(t) - 1, &r, &why), 0);
	assert_int_equal(r.m[0].qual, '-');
	assert_int_equal(r.m[0].kind, SPF_A);
	assert_int_equal(r.m[0].spec_len, strlen("mail.example.com"));
	assert_memory_equal(r.m[0].spec, "mail.example.com", r.m[0].spec_len);
	assert_int_equal(r.m[0].cidr4, 24);
	assert_int_equal(r.m[0].cidr6, 64);
	assert_int_equal(r.m[1].qual, '~');
	assert_int_equal(r.m[1].cidr6, 32);
	assert_int_equal(r.m[1].ip[0], 0x20);
}

/* ---- macros: RFC 7208 §7.4's examples --------------------------------- */

static void
test_macro_examples(void **state)
{
	struct spf_macro_ctx c = {
	    .sender = "strong-bad@email.example.com",
	    .local = "strong-bad",
	    .sender_domain = "email.example.com",
	    .domain = "email.example.com",
	    .ip = "192.0.2.3",
	    .ip_text = "192.0.2.3",
	    .v = "in-addr",
	    .helo = "mx.example.org",
	    .receiver = "mx.example.net",
	    .p = "mx.example.org",
	    .t = 12345,
	};
	static const char *const ex[][2] = {
	    {"%{s}", "strong-bad@email.example.com"},
	    {"%{o}", "email.example.com"},
	    {"%{d}", "email.example.com"},
	    {"%{d4}", "email.example.com"},
	    {"%{d3}", "email.example.com"},
	    {"%{d2}", "example.com"},
	    {"%{d1}", "com"},
	    {"%{dr}", "com.example.email"},
	    {"%{d2r}", "example.email"},
	    {"%{l}", "strong-bad"},
	    {"%{l-}", "strong.bad"},
	    {"%{lr}", "strong-bad"},
	    {"%{lr-}", "bad.strong"},
	    {"%{l1r-}", "strong"},
	    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
	    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
	    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
	    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
	    {"%{d2}.trusted-domains.example.net",
	     "example.com.trusted-domains.example.net"},
	    {"%%%_%-", "% %20"},
	    {"%{S}", "strong-bad%40email.example.com"},
	};
	char out[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		assert_int_equal(spf_macro_expand(ex[i][0], strlen(ex[i][0]),
						  &c, false, out, sizeof(out)),
				 SPF_MACRO_OK);
		assert_string_equal(out, ex[i][1]);
	}
	/* IPv6: dotted nibbles (§7.4's second example). */
	c.ip =
	    "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1";
	c.v = "ip6";
	assert_int_equal(
	    spf_macro_expand(S_IR, strlen(S_IR), &c, false, out, sizeof(out)),
	    SPF_MACRO_OK);
	assert_string_equal(out,
			    "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
			    "0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
	/* c, r, t only in explanations; %{p} unknown is asked for. */
	assert_int_equal(spf_macro_expand(S("%{c}"), &c, false, out, 64),
			 SPF_MACRO_SYNTAX);
	assert_int_equal(spf_macro_expand(S("%{t}"), &c, true, out, 64),
			 SPF_MACRO_OK);
	assert_string_equal(out, "12345");
	c.p = NULL;
	assert_int_equal(spf_macro_expand(S("%{p}"), &c, false, out, 64),
			 SPF_MACRO_NEED_P);
}

/* ---- the evaluator over a fake resolver ------------------------------- */

static const char *const zone_include[] = {
    "e1.example.com TXT v=spf1 include:ip5.example.com ~all",
    "e2.example.com TXT v=spf1 include:ip6.example.com all",
    "e3.example.com TXT v=spf1 include:ip7.example.com -all",
    "e4.example.com TXT v=spf1 include:ip8.example.com -all",
    "e5.example.com TXT v=spf1 include:e6.example.com -all",
    "e6.example.com TXT v=spf1 include +all",
    "e7.example.com TXT v=spf1 include:erehwon.example.com -all",
    "e8.example.com TXT v=spf1 include: -all",
    "e9.example.com TXT v=spf1 include:ip5.example.com/24 -all",
    "erehwon.example.com TXT v=spfl am not an SPF record",
    "ip5.example.com TXT v=spf1 ip4:1.2.3.5 -all",
    "ip6.example.com TXT v=spf1 ip4:1.2.3.6 ~all",
    "ip7.example.com TXT v=spf1 ip4:1.2.3.7 ?all",
    "ip8.example.com A TIMEOUT",
    "ip8.example.com AAAA TIMEOUT",
    "ip8.example.com MX TIMEOUT",
    "ip8.example.com PTR TIMEOUT",
    "ip8.example.com TXT TIMEOUT",
    "mail.example.com A 1.2.3.4",
    NULL,
};

static const char *const zone_macro[] = {
    "e1a.example.com TXT v=spf1 "
    "a:macro%%percent%_%_space%-url-space.example.com -all",
    "e1t.example.com TXT v=spf1 exists:foo%.sbl.example.com ?all",
    "msgbas2x.cos.example.com A 192.168.218.40",
    "e4msg.example.com TXT %{c} is queried as %{ir}.%{v}.arpa",
    "mx.e7.example.com A 192.168.218.42",
    "e1e.example.com TXT v=spf1 exists:foo%(ir).sbl.example.com ?all",
    "exp.example.com TXT v=spf1 exp=msg.example.com. -all",
    "macro%percent  space%20url-space.example.com A 1.2.3.4",
    "e5.example.com TXT v=spf1 a:%{a}.example.com -all",
    "mx.example.com A 192.168.218.41",
    "mx.example.com A 192.168.218.42",
    "mx.example.com AAAA CAFE:BABE::2",
    "mx.example.com AAAA CAFE:BABE::3",
    "e7.example.com TXT v=spf1 exists:%{p}.should.example.com "
    "~exists:%{p}.ok.example.com",
    "e6.example.com TXT v=spf1 -all exp=e6msg.example.com",
    "somewhat.long.exp.example.com.somewhat.long.exp.example.com.somewhat."
    "long.exp.example.com.somewhat.long.exp.example.com.somewhat.long.exp."
    "example.com.somewhat.long.exp.example.com.somewhat.long.exp.example."
    "com.somewhat.long.exp.example.com.example.com TXT Congratulations!  "
    "That was tricky.",
    "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6."
    "arpa PTR mx.example.com",
    "42.218.168.192.in-addr.arpa PTR mx.example.com",
    "42.218.168.192.in-addr.arpa PTR mx.e7.example.com",
    "bar.foo.user.example.com A 127.0.0.2",
    "msg8.example.com TXT http://example.com/why.html?l=%{L}",
    "40.218.168.192.example.com TXT Connections from %{c} not authorized.",
    "example.com.d.spf.example.com TXT v=spf1 redirect=a.spf.example.com",
    "mx.example.com.ok.example.com A 127.0.0.2",
    "e9.example.com TXT v=spf1 a:%{H} -all",
    "msg.example.com TXT This is a test.",
    "e10.example.com TXT v=spf1 -include:_spfh.%{d2} ip4:1.2.3.0/24 -all",
    "e2.example.com TXT v=spf1 -all exp=%{r}.example.com",
    "e12.example.com TXT v=spf1 exists:%{l2r+-}.user.%{d2}",
    "1.2.3.4.gladstone.philip.user.example.com A 127.0.0.2",
    "o.spf.example.com TXT v=spf1 ip4:192.168.218.40",
    "e1.example.com TXT v=spf1 -exists:%(ir).sbl.example.com ?all",
    "e4.example.com TXT v=spf1 -all exp=e4msg.example.com",
    "somewhat.long.exp.example.com TXT v=spf1 -all exp=foobar.%{o}.%{o}.%{o}."
    "%{o}.%{o}.%{o}.%{o}.%{o}.example.com",
    "e8.example.com TXT v=spf1 -all exp=msg8.%{D2}",
    "example.com TXT v=spf1 redirect=%{d}.d.spf.example.com.",
    "example.com A 192.168.90.76",
    "40.218.168.192.in-addr.arpa PTR mx.example.com",
    "e3.example.com TXT v=spf1 -all exp=%{ir}.example.com",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.B.A.B.E.F.A.C.ip6."
    "arpa PTR mx.example.com",
    "e11.example.com TXT v=spf1 exists:%{i}.%{l2r-}.user.%{d2}",
    "e6msg.example.com TXT connect from %{p}",
    "a.spf.example.com TXT v=spf1 include:o.spf.example.com. ~all",
    "41.218.168.192.in-addr.arpa PTR mx.example.com",
    "mx.e7.example.com.should.example.com A 127.0.0.2",
    "_spfh.example.com TXT v=spf1 -a:%{h} +all",
    NULL,
};

static const char *const zone_limits[] = {
    "5.3.2.1.in-addr.arpa PTR e1.example.com.",
    "5.3.2.1.in-addr.arpa PTR e2.example.com.",
    "5.3.2.1.in-addr.arpa PTR e3.example.com.",
    "5.3.2.1.in-addr.arpa PTR e4.example.com.",
    "5.3.2.1.in-addr.arpa PTR example.com.",
    "5.3.2.1.in-addr.arpa PTR e6.example.com.",
    "5.3.2.1.in-addr.arpa PTR e7.example.com.",
    "5.3.2.1.in-addr.arpa PTR e8.example.com.",
    "5.3.2.1.in-addr.arpa PTR e9.example.com.",
    "5.3.2.1.in-addr.arpa PTR e10.example.com.",
    "5.3.2.1.in-addr.arpa PTR e5.example.com.",
    "e1.example.com TXT v=spf1 ip4:1.1.1.1 redirect=e1.example.com",
    "e1.example.com A 1.2.3.6",
    "e10.example.com TXT v=spf1 a -all",
    "e10.example.com A 1.2.3.1",
    "e10.example.com A 1.2.3.2",
    "e10.example.com A 1.2.3.3",
    "e10.example.com A 1.2.3.4",
    "e10.example.com A 1.2.3.5",
    "e10.example.com A 1.2.3.6",
    "e10.example.com A 1.2.3.7",
    "e10.example.com A 1.2.3.8",
    "e10.example.com A 1.2.3.9",
    "e10.example.com A 1.2.3.10",
    "e10.example.com A 1.2.3.11",
    "e10.example.com A 1.2.3.12",
    "e11.example.com TXT v=spf1 a:err.example.com a:err1.example.com "
    "a:err2.example.com ?all",
    "e12.example.com TXT v=spf1 a:err.example.com a:err1.example.com ?all",
    "e2.example.com TXT v=spf1 include:e3.example.com",
    "e2.example.com A 1.2.3.7",
    "e3.example.com TXT v=spf1 include:e2.example.com",
    "e3.example.com A 1.2.3.8",
    "e4.example.com TXT v=spf1 mx",
    "e4.example.com MX 0 mail.example.com",
    "e4.example.com MX 1 mail.example.com",
    "e4.example.com MX 2 mail.example.com",
    "e4.example.com MX 3 mail.example.com",
    "e4.example.com MX 4 mail.example.com",
    "e4.example.com MX 5 mail.example.com",
    "e4.example.com MX 6 mail.example.com",
    "e4.example.com MX 7 mail.example.com",
    "e4.example.com MX 8 mail.example.com",
    "e4.example.com MX 9 mail.example.com",
    "e4.example.com MX 10 e4.example.com",
    "e4.example.com A 1.2.3.5",
    "e5.example.com TXT v=spf1 ptr",
    "e5.example.com A 1.2.3.5",
    "e6.example.com TXT v=spf1 a mx a mx a mx a mx a ptr ip4:1.2.3.4 -all",
    "e6.example.com A 1.2.3.8",
    "e6.example.com MX 10 e6.example.com",
    "e7.example.com TXT v=spf1 a mx a mx a mx a mx a ptr a ip4:1.2.3.4 -all",
    "e7.example.com A 1.2.3.20",
    "e8.example.com TXT v=spf1 a include:inc.example.com ip4:1.2.3.4 mx -all",
    "e8.example.com A 1.2.3.4",
    "e9.example.com TXT v=spf1 a include:inc.example.com a ip4:1.2.3.4 -all",
    "e9.example.com A 1.2.3.21",
    "inc.example.com TXT v=spf1 a a a a a a a a",
    "inc.example.com A 1.2.3.10",
    "mail.example.com A 1.2.3.4",
    NULL,
};

struct eval_case {
	const char *const *zone;
	const char *name, *sender, *helo, *ip;
	const char *results; /* "pass" or "neutral|pass" */
	const char *explanation;
};

static const struct eval_case eval_cases[] = {
    /* include-mechanism-semantics-and-syntax */
    {zone_include, "include-cidr", "foo@e9.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
    {zone_include, "include-empty-domain", "foo@e8.example.com",
     "mail.example.com", "1.2.3.4", "permerror", ""},
    {zone_include, "include-fail", "foo@e1.example.com", "mail.example.com",
     "1.2.3.4", "softfail", ""},
    {zone_include, "include-neutral", "foo@e3.example.com", "mail.example.com",
     "1.2.3.4", "fail", ""},
    {zone_include, "include-none", "foo@e7.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
    {zone_include, "include-permerror", "foo@e5.example.com",
     "mail.example.com", "1.2.3.4", "permerror", ""},
    {zone_include, "include-softfail", "foo@e2.example.com", "mail.example.com",
     "1.2.3.4", "pass", ""},
    {zone_include, "include-syntax-error", "foo@e6.example.com",
     "mail.example.com", "1.2.3.4", "permerror", ""},
    {zone_include, "include-temperror", "foo@e4.example.com",
     "mail.example.com", "1.2.3.4", "temperror", ""},
    /* macro-expansion-rules */
    {zone_macro, "domain-name-truncation", "test@somewhat.long.exp.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "fail",
     "Congratulations!  That was tricky."},
    {zone_macro, "exp-only-macro-char", "test@e2.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "permerror", ""},
    {zone_macro, "exp-txt-macro-char", "test@e3.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "fail",
     "Connections from 192.168.218.40 not authorized."},
    {zone_macro, "hello-domain-literal", "test@e9.example.com",
     "[192.168.218.40]", "192.168.218.40", "fail", ""},
    {zone_macro, "hello-macro", "test@e9.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "pass", ""},
    {zone_macro, "invalid-embedded-macro-char", "test@e1e.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "permerror", ""},
    {zone_macro, "invalid-hello-macro", "test@e9.example.com",
     "JUMPIN' JUPITER", "192.168.218.40", "fail", ""},
    {zone_macro, "invalid-macro-char", "test@e1.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "permerror", ""},
    {zone_macro, "invalid-trailing-macro-char", "test@e1t.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "permerror", ""},
    {zone_macro, "macro-mania-in-domain", "test@e1a.example.com",
     "mail.example.com", "1.2.3.4", "pass", ""},
    {zone_macro, "macro-multiple-delimiters",
     "foo-bar+zip+quux@e12.example.com", "mail.example.com", "1.2.3.4", "pass",
     ""},
    {zone_macro, "macro-reverse-split-on-dash",
     "philip-gladstone-test@e11.example.com", "mail.example.com", "1.2.3.4",
     "pass", ""},
    {zone_macro, "p-macro-ip4-novalid", "test@e6.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "fail",
     "connect from unknown"},
    {zone_macro, "p-macro-ip4-valid", "test@e6.example.com",
     "msgbas2x.cos.example.com", "192.168.218.41", "fail",
     "connect from mx.example.com"},
    {zone_macro, "p-macro-ip6-novalid", "test@e6.example.com",
     "msgbas2x.cos.example.com", "CAFE:BABE::1", "fail",
     "connect from unknown"},
    {zone_macro, "p-macro-ip6-valid", "test@e6.example.com",
     "msgbas2x.cos.example.com", "CAFE:BABE::3", "fail",
     "connect from mx.example.com"},
    {zone_macro, "p-macro-multiple", "test@e7.example.com",
     "msgbas2x.cos.example.com", "192.168.218.42", "pass|softfail", ""},
    {zone_macro, "require-valid-helo", "test@e10.example.com", "OEMCOMPUTER",
     "1.2.3.4", "fail", ""},
    {zone_macro, "trailing-dot-domain", "test@example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "pass", ""},
    {zone_macro, "trailing-dot-exp", "test@exp.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "fail", "This is a test."},
    {zone_macro, "undef-macro", "test@e5.example.com",
     "msgbas2x.cos.example.com", "CAFE:BABE::192.168.218.40", "permerror", ""},
    {zone_macro, "upper-macro", "jack&jill=up@e8.example.com",
     "msgbas2x.cos.example.com", "192.168.218.42", "fail",
     "http://example.com/why.html?l=jack%26jill%3Dup"},
    {zone_macro, "v-macro-ip4", "test@e4.example.com",
     "msgbas2x.cos.example.com", "192.168.218.40", "fail",
     "192.168.218.40 is queried as 40.218.168.192.in-addr.arpa"},
    {zone_macro, "v-macro-ip6", "test@e4.example.com",
     "msgbas2x.cos.example.com", "CAFE:BABE::1", "fail",
     "cafe:babe::1 is queried as 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
     "0.0.E.B.A.B.E.F.A.C.ip6.arpa"},
    /* processing-limits */
    {zone_limits, "false-a-limit", "foo@e10.example.com", "mail.example.com",
     "1.2.3.12", "pass", ""},
    {zone_limits, "include-at-limit", "foo@e8.example.com", "mail.example.com",
     "1.2.3.4", "pass", ""},
    {zone_limits, "include-loop", "foo@e2.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
    {zone_limits, "include-over-limit", "foo@e9.example.com",
     "mail.example.com", "1.2.3.4", "permerror", ""},
    {zone_limits, "mech-at-limit", "foo@e6.example.com", "mail.example.com",
     "1.2.3.4", "pass", ""},
    {zone_limits, "mech-over-limit", "foo@e7.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
    {zone_limits, "mx-limit", "foo@e4.example.com", "mail.example.com",
     "1.2.3.5", "permerror", ""},
    {zone_limits, "ptr-limit", "foo@e5.example.com", "mail.example.com",
     "1.2.3.5", "neutral|pass", ""},
    {zone_limits, "redirect-loop", "foo@e1.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
    {zone_limits, "void-at-limit", "foo@e12.example.com", "mail.example.com",
     "1.2.3.4", "neutral", ""},
    {zone_limits, "void-over-limit", "foo@e11.example.com", "mail.example.com",
     "1.2.3.4", "permerror", ""},
};

static int
type_code(const char *t, size_t n)
{
	static const struct {
		const char *name;
		int code;
	} types[] = {{"TXT", SPF_T_TXT},
		     {"A", SPF_T_A},
		     {"AAAA", SPF_T_AAAA},
		     {"MX", SPF_T_MX},
		     {"PTR", SPF_T_PTR}};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i].name) == n &&
		    memcmp(types[i].name, t, n) == 0)
			return types[i].code;
	return -1;
}

/* zone_split - "NAME TYPE VALUE" (NAME may hold spaces). */
static bool
zone_split(const char *line, char name[512], int *type, const char **value)
{
	for (const char *p = line; (p = strchr(p, ' ')); p++) {
		const char *t = p + 1, *e = strchr(t, ' ');
		if (!e)
			return false;
		int code = type_code(t, (size_t)(e - t));
		if (code < 0)
			continue;
		snprintf(name, 512, "%.*s", (int)(p - line), line);
		*type = code;
		*value = e + 1;
		return true;
	}
	return false;
}

static bool
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* fake_answer - answer one query from a zone table. */
static void
fake_answer(struct spf_eval *e, const char *const *zone,
	    const struct spf_query *q)
{
	struct spf_rr rrs[32];
	uint8_t addrs[32][16];
	char names[32][256];
	size_t n = 0;
	bool exists = false, timeout = false;

	for (size_t i = 0; zone[i]; i++) {
		char name[512];
		int type = 0;
		const char *value = "";
		assert_true(zone_split(zone[i], name, &type, &value));
		if (!same_name(name, q->name))
			continue;
		exists = true;
		if (type != q->type)
			continue;
		if (strcmp(value, "TIMEOUT") == 0) {
			timeout = true;
			continue;
		}
		assert_true(n < 32);
		if (type == SPF_T_TXT) {
			rrs[n].data = value;
			rrs[n].len = strlen(value);
		} else if (type == SPF_T_A || type == SPF_T_AAAA) {
			int af = type == SPF_T_A ? AF_INET : AF_INET6;
			assert_int_equal(inet_pton(af, value, addrs[n]), 1);
			rrs[n].data = (const char *)addrs[n];
			rrs[n].len = type == SPF_T_A ? 4 : 16;
		} else {
			const char *v = value;
			if (type == SPF_T_MX)
				v = strchr(value, ' ') + 1;
			snprintf(names[n], sizeof(names[n]), "%s", v);
			size_t l = strlen(names[n]);
			if (l > 0 && names[n][l - 1] == '.')
				names[n][--l] = '\0';
			rrs[n].data = names[n];
			rrs[n].len = l;
		}
		n++;
	}
	if (timeout)
		spf_eval_answer(e, q->name, q->type, SPF_DNS_TEMP, NULL, 0);
	else if (!exists)
		spf_eval_answer(e, q->name, q->type, SPF_DNS_NXDOMAIN, NULL, 0);
	else
		spf_eval_answer(e, q->name, q->type, SPF_DNS_OK, rrs, n);
}

/* run - evaluate with the fake resolver; returns the round trips. */
static unsigned
run(struct spf_eval *e, const char *const *zone)
{
	unsigned rounds = 0;

	while (!spf_eval_run(e)) {
		size_t n = spf_eval_n_queries(e);
		assert_true(n > 0);
		assert_true(++rounds < 100);
		struct spf_query qs[64];
		for (size_t i = 0; i < n; i++)
			qs[i] = *spf_eval_query(e, i);
		for (size_t i = 0; i < n; i++)
			fake_answer(e, zone, &qs[i]);
	}
	return rounds;
}

static void
params_for(const struct eval_case *c, struct spf_eval_params *p)
{
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, c->ip, p->ip) == 1) {
		p->family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, c->ip, p->ip), 1);
		p->family = AF_INET6;
	}
	p->sender = c->sender;
	p->helo = c->helo;
	const char *at = strrchr(c->sender, '@');
	p->domain = at ? at + 1 : c->helo;
	p->receiver = "receiver.example.net";
	p->now = 1000000000;
}

static void
test_rfc7208_suite(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]);
	     i++) {
		const struct eval_case *c = &eval_cases[i];
		struct spf_eval_params p;
		params_for(c, &p);
		struct spf_eval *e = spf_eval_new(&p);
		run(e, c->zone);
		const struct spf_outcome *o = spf_eval_outcome(e);
		const char *got = spf_result_name(o->result);
		bool ok = false;
		for (const char *r = c->results; r && *r;) {
			const char *bar = strchr(r, '|');
			size_t l = bar ? (size_t)(bar - r) : strlen(r);
			if (strlen(got) == l && strncmp(got, r, l) == 0)
				ok = true;
			r = bar ? bar + 1 : NULL;
		}
		if (!ok)
			fail_msg("%s: got %s (%s), want %s", c->name, got,
				 o->why, c->results);
		if (strcmp(o->explanation, c->explanation) != 0)
			fail_msg("%s: explanation '%s', want '%s'", c->name,
				 o->explanation, c->explanation);
		spf_eval_free(&e);
	}
}

/*
 * Queries are batched: an mx mechanism's host addresses go out together,
 * so "v=spf1 mx -all" with three MX hosts takes three round trips (TXT,
 * MX, then the three A look-ups at once).
 */
static void
test_batching(void **state)
{
	static const char *const zone[] = {
	    "b.example TXT v=spf1 mx -all",  "b.example MX 10 mx1.b.example",
	    "b.example MX 20 mx2.b.example", "b.example MX 30 mx3.b.example",
	    "mx1.b.example A 192.0.2.1",     "mx2.b.example A 192.0.2.2",
	    "mx3.b.example A 192.0.2.3",     NULL,
	};
	struct eval_case c = {
	    zone, "batch", "a@b.example", "h.example", "192.0.2.3", "pass", ""};
	struct spf_eval_params p;

	(void)state;
	params_for(&c, &p);
	struct spf_eval *e = spf_eval_new(&p);
	assert_int_equal(run(e, zone), 3);
	assert_int_equal(spf_eval_outcome(e)->result, SPF_RES_PASS);
	assert_int_equal(spf_eval_outcome(e)->queries, 5);
	assert_int_equal(spf_eval_outcome(e)->lookups, 1);
	assert_string_equal(spf_eval_outcome(e)->mechanism, "mx");
	spf_eval_free(&e);

	/* No record, NXDOMAIN, two records, an empty sender (HELO used). */
	static const char *const zone2[] = {
	    "two.example TXT v=spf1 -all",
	    "two.example TXT v=spf1 +all",
	    "plain.example TXT hello",
	    "h.example TXT v=spf1 ip4:192.0.2.0/24 -all",
	    NULL,
	};
	struct {
		const char *sender, *want;
	} more[] = {
	    {"a@two.example", "permerror"}, {"a@plain.example", "none"},
	    {"a@nx.example", "none"},	    {"", "pass"},
	    {"a@single", "none"},
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		struct eval_case d = {zone2,	   "more",	more[i].sender,
				      "h.example", "192.0.2.9", more[i].want,
				      ""};
		params_for(&d, &p);
		if (!more[i].sender[0])
			p.domain = "h.example";
		e = spf_eval_new(&p);
		run(e, zone2);
		assert_string_equal(
		    spf_result_name(spf_eval_outcome(e)->result), more[i].want);
		spf_eval_free(&e);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_parse),
	    cmocka_unit_test(test_macro_examples),
	    cmocka_unit_test(test_rfc7208_suite),
	    cmocka_unit_test(test_batching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
