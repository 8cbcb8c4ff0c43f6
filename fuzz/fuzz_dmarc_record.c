/*
 * fuzz_dmarc_record - the DMARC record parser and the evaluator with
 * the input as the answer to its policy look-ups.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dmarc_eval.h"
#include "mailauth/dmarc_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	struct dmarc_record r;
	const char *why;

	if (!in)
		abort();
	memcpy(in, data, size);
	if (dmarc_record_parse(in, size, &r, &why) == 0 && r.pct > 100)
		abort();

	struct dmarc_eval *e = dmarc_eval_new("mail.example.co.uk");
	const char *txt = in;
	for (int i = 0; dmarc_eval_query(e); i++) {
		if (i > 2)
			abort(); /* at most the domain and its org domain */
		dmarc_eval_answer(e, DMARC_DNS_OK, &txt, &size, 1);
	}
	const char *dk[] = {"mail.example.co.uk"};
	struct dmarc_auth a = {SPF_RES_PASS, "other.example", 1, dk};
	struct dmarc_outcome o;
	dmarc_eval_finish(e, &a, size % 100, &o);
	if (o.result == DMARC_FAIL)
		abort(); /* the DKIM domain is the From domain: aligned */
	dmarc_eval_free(&e);
	free(in);
	return 0;
}
