#include "mailauth/dkim_sign.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct sign_name {
	const char *name;
	bool oversign;
};

/* What an author or a submission client sets and a forger would alter. */
static const struct sign_name sign_names[] = {
    {"from", true},
    {"sender", false},
    {"reply-to", true},
    {"subject", true},
    {"date", true},
    {"to", true},
    {"cc", true},
    {"message-id", true},
    {"in-reply-to", false},
    {"references", false},
    {"mime-version", true},
    {"content-type", true},
    {"content-transfer-encoding", true},
    {"content-disposition", false},
    {"list-id", false},
    {"list-unsubscribe", false},
    {"list-unsubscribe-post", false},
};

#define N_SIGN_NAMES (sizeof(sign_names) / sizeof(sign_names[0]))
#define MAX_NAMES    (2 * N_SIGN_NAMES + DKIM_MSG_MAX_FIELDS)

/* pick_names - h=: each present instance, plus the oversigned extra. */
static size_t
pick_names(const struct dkim_head *head, const char **names, size_t cap)
{
	size_t n = 0;

	for (size_t k = 0; k < N_SIGN_NAMES; k++) {
		for (size_t i = 0; i < head->n && n < cap; i++)
			if (rfc5322_name_is(&head->f[i], sign_names[k].name))
				names[n++] = sign_names[k].name;
		if (sign_names[k].oversign && n < cap)
			names[n++] = sign_names[k].name;
	}
	return n;
}

/*
 * fold_add - append text to the field being built, breaking the line
 * before it (CRLF TAB) when it would pass 78 columns; *col tracks the
 * column. Breaks only where FWS is allowed: between tags, and inside
 * b= and h= (§3.2 tag-value, §3.5 h=).
 */
static void
fold_add(struct strbuf *sb, size_t *col, const char *text, size_t len)
{
	if (*col + len > 78 && *col > 1) {
		strbuf_add(sb, "\r\n\t", 3);
		*col = 1;
	}
	strbuf_add(sb, text, len);
	*col += len;
}

static int
sign_one(const struct dkim_sign_key *k, const struct dkim_head *head,
	 const char **names, size_t n_names, const char *bh64, time_t now,
	 struct strbuf *out)
{
	struct strbuf f = {0};
	size_t col = 0;
	char tmp[600];
	uint8_t hash[DKIM_HASH_LEN], sig[DKIM_SIG_MAX_B];
	char b64[DKIM_SIG_MAX_B * 2];
	int r = -1;

	snprintf(tmp, sizeof(tmp), "DKIM-Signature: v=1; a=%s;",
		 dkim_alg_name(k->alg));
	fold_add(&f, &col, tmp, strlen(tmp));
	fold_add(&f, &col, " c=relaxed/relaxed;", 19);
	snprintf(tmp, sizeof(tmp), " d=%s;", k->domain);
	fold_add(&f, &col, tmp, strlen(tmp));
	snprintf(tmp, sizeof(tmp), " s=%s;", k->selector);
	fold_add(&f, &col, tmp, strlen(tmp));
	snprintf(tmp, sizeof(tmp), " t=%" PRIu64 ";", (uint64_t)now);
	fold_add(&f, &col, tmp, strlen(tmp));
	for (size_t i = 0; i < n_names; i++) {
		snprintf(tmp, sizeof(tmp), "%s%s%s", i == 0 ? " h=" : "",
			 names[i], i + 1 == n_names ? ";" : ":");
		fold_add(&f, &col, tmp, strlen(tmp));
	}
	snprintf(tmp, sizeof(tmp), " bh=%s;", bh64);
	fold_add(&f, &col, tmp, strlen(tmp));
	fold_add(&f, &col, " b=", 3);

	dkim_hash_headers(head, names, n_names, DKIM_CANON_RELAXED, f.p, f.len,
			  (size_t)-1, hash);
	long n = dkim_hash_sign(k->pkey, hash, sig, sizeof(sig));
	if (n <= 0 || sasl_base64_encode(sig, (size_t)n, b64, sizeof(b64)) < 0)
		goto done;
	/* b= in pieces that fill the lines; FWS inside b= is ignored. */
	size_t len = strlen(b64);
	for (size_t off = 0; off < len;) {
		size_t room = col < 76 ? 76 - col : 0;
		if (room < 8) {
			strbuf_add(&f, "\r\n\t", 3);
			col = 1;
			continue;
		}
		size_t take = len - off < room ? len - off : room;
		strbuf_add(&f, b64 + off, take);
		col += take;
		off += take;
	}
	strbuf_add(&f, "\r\n", 2);
	strbuf_add(out, f.p, f.len);
	r = 0;
done:
	free(f.p);
	return r;
}

int
dkim_sign_fields(const struct dkim_sign_key *keys, size_t n_keys,
		 const struct dkim_head *head, const uint8_t bh[DKIM_HASH_LEN],
		 time_t now, struct strbuf *out)
{
	const char **names = xcalloc(MAX_NAMES, sizeof(*names));
	size_t n_names = pick_names(head, names, MAX_NAMES);
	struct strbuf all = {0};
	char bh64[64];
	int r = 0;

	sasl_base64_encode(bh, DKIM_HASH_LEN, bh64, sizeof(bh64));
	for (size_t i = 0; i < n_keys && r == 0; i++)
		r = sign_one(&keys[i], head, names, n_names, bh64, now, &all);
	if (r == 0 && all.len > 0)
		strbuf_add(out, all.p, all.len);
	free(all.p);
	free(names);
	return r;
}

int
dkim_sign_message(const struct dkim_sign_key *keys, size_t n_keys,
		  const char *msg, size_t len, time_t now, struct strbuf *out)
{
	struct dkim_head *head = xmalloc(sizeof(*head));
	uint8_t bh[DKIM_HASH_LEN];
	int r = -1;

	if (dkim_head_parse(msg, len, head) == 0) {
		struct dkim_body *b =
		    dkim_body_new(DKIM_CANON_RELAXED, UINT64_MAX);
		dkim_body_feed(b, msg + head->body, len - head->body);
		dkim_body_final(b, bh, NULL);
		dkim_body_free(&b);
		r = dkim_sign_fields(keys, n_keys, head, bh, now, out);
	}
	free(head);
	return r;
}
