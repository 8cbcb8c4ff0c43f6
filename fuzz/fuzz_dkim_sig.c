/*
 * fuzz_dkim_sig - the DKIM tag-list parser, the DKIM-Signature and key
 * record parsers, and the verifier: the input is taken as a tag list
 * (every view must lie inside it), as a signature value, as a key
 * record, and as the DKIM-Signature of a small message whose key record
 * is the input too. The body canonicalizers must hash the same whole
 * and byte by byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/dkim_canon.h"
#include "mailauth/dkim_sig.h"
#include "mailauth/dkim_tags.h"
#include "mailauth/dkim_verify.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_tags(const char *in, size_t size)
{
	struct dkim_tags t;

	if (dkim_tags_parse(in, size, &t) != DKIM_TAGS_OK)
		return;
	for (size_t i = 0; i < t.n; i++) {
		const struct dkim_tag *g = &t.tag[i];
		if (g->name < in || g->name + g->name_len > in + size ||
		    g->value < in || g->value + g->value_len > in + size ||
		    g->name_len == 0)
			abort();
	}
}

/*
 * check_body - the streaming canonicalizer hashes the same fed whole,
 * byte by byte and in chunks of the input's own sizes, and its length
 * is that of the canonical text.
 */
static void
check_body(const char *in, size_t size)
{
	for (int c = 0; c < 2; c++) {
		uint8_t h[3][DKIM_HASH_LEN];
		uint64_t t[3];
		for (int way = 0; way < 3; way++) {
			struct dkim_body *x =
			    dkim_body_new((enum dkim_canon)c, UINT64_MAX);
			if (way == 0) {
				dkim_body_feed(x, in, size);
			} else {
				for (size_t i = 0, k = 0; i < size;) {
					size_t n =
					    way == 1 ? 1
						     : (unsigned char)
							       in[k++ % size] %
							   9;
					if (n == 0)
						n = 1; /* always advance */
					if (n > size - i)
						n = size - i;
					dkim_body_feed(x, in + i, n);
					i += n;
				}
			}
			dkim_body_final(x, h[way], &t[way]);
			dkim_body_free(&x);
		}
		struct strbuf sb = {0};
		dkim_canon_body((enum dkim_canon)c, in, size, &sb);
		if (memcmp(h[0], h[1], DKIM_HASH_LEN) != 0 ||
		    memcmp(h[0], h[2], DKIM_HASH_LEN) != 0 || t[0] != t[1] ||
		    t[0] != t[2] || t[0] != sb.len)
			abort();
		free(sb.p);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	struct dkim_sig *sig = malloc(sizeof(*sig));
	struct dkim_key_rec *key = malloc(sizeof(*key));
	const char *why;

	if (!in || !sig || !key)
		abort();
	memcpy(in, data, size);
	check_tags(in, size);
	(void)dkim_sig_parse(in, size, sig, &why);
	(void)dkim_key_parse(in, size, key, &why);
	check_body(in, size);

	struct strbuf msg = {0};
	strbuf_adds(&msg, "DKIM-Signature:");
	strbuf_add(&msg, in, size);
	strbuf_adds(&msg,
		    "\r\nFrom: a@example.org\r\nSubject: x\r\n\r\nbody\r\n");
	struct dkim_verify *v = dkim_verify_new(msg.p, msg.len, 1700000000);
	dkim_verify_body(v, "body\r\n", 6);
	dkim_verify_body_end(v);
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const char *txt = in;
		if (dkim_verify_key_name(v, i))
			dkim_verify_key(v, i, DKIM_DNS_OK, &txt, &size, 1);
		if (dkim_verify_verdict(v, i)->result == DKIM_PASS)
			abort(); /* a forged signature never passes */
	}
	dkim_verify_free(&v);
	free(msg.p);
	free(key);
	free(sig);
	free(in);
	return 0;
}
