/*
 * fuzz_spf_record - the SPF record parser and macro expander, and the
 * evaluator over a resolver that answers every TXT query with the input
 * itself (so include: and redirect= recurse into it), A with 127.0.0.1,
 * MX and PTR with fixed names. Every run must end within the RFC's
 * limits, so the loop over DNS rounds is bounded.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mailauth/spf_eval.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	struct spf_record *r = malloc(sizeof(*r));
	const char *why;
	struct spf_macro_ctx ctx = {
	    .sender = "a.b-c+d@example.org",
	    .local = "a.b-c+d",
	    .sender_domain = "example.org",
	    .domain = "example.org",
	    .ip = "192.0.2.1",
	    .ip_text = "192.0.2.1",
	    .v = "in-addr",
	    .helo = "helo.example.net",
	    .receiver = "mx.example.com",
	    .p = "unknown",
	    .t = 1,
	};
	char out[256], exp[300];

	if (!in || !r)
		abort();
	memcpy(in, data, size);
	if (spf_record_parse(in, size, r, &why) == 0)
		for (size_t i = 0; i < r->n; i++)
			if (r->m[i].spec &&
			    spf_macro_domain(r->m[i].spec, r->m[i].spec_len,
					     &ctx, out) == SPF_MACRO_OK &&
			    strlen(out) > 253)
				abort();
	(void)spf_macro_expand(in, size, &ctx, true, exp, sizeof(exp));
	if (strlen(exp) >= sizeof(exp))
		abort();

	struct spf_eval_params p = {.family = AF_INET,
				    .sender = "u@example.org",
				    .helo = "h.example.net",
				    .domain = "example.org",
				    .receiver = "mx.example.com"};
	inet_pton(AF_INET, "127.0.0.1", p.ip);
	struct spf_eval *e = spf_eval_new(&p);
	static const char lo[4] = {127, 0, 0, 1};
	for (int round = 0; !spf_eval_run(e); round++) {
		if (round > 300)
			abort(); /* the limits must stop it */
		struct spf_query qs[64];
		size_t n = spf_eval_n_queries(e);
		for (size_t i = 0; i < n; i++)
			qs[i] = *spf_eval_query(e, i);
		for (size_t i = 0; i < n; i++) {
			struct spf_rr rr = {in, size};
			if (qs[i].type == SPF_T_A)
				rr = (struct spf_rr){lo, 4};
			else if (qs[i].type == SPF_T_MX)
				rr = (struct spf_rr){"mx.example.org", 14};
			else if (qs[i].type == SPF_T_PTR)
				rr = (struct spf_rr){"ptr.example.org", 15};
			else if (qs[i].type != SPF_T_TXT)
				rr.len = 0;
			spf_eval_answer(e, qs[i].name, qs[i].type, SPF_DNS_OK,
					&rr, rr.len ? 1 : 0);
		}
	}
	if (spf_eval_outcome(e)->lookups > SPF_MAX_LOOKUPS + 1)
		abort();
	spf_eval_free(&e);
	free(r);
	free(in);
	return 0;
}
