#include "mailauth/dkim_hash.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rsa.h>

#include "mailauth/dkim_tags.h"
#include "util/log.h"
#include "util/strbuf.h"

int
dkim_head_parse(const char *buf, size_t len, struct dkim_head *h)
{
	size_t pos = 0;

	h->buf = buf;
	h->n = 0;
	for (;;) {
		struct rfc5322_field f;
		enum rfc5322_status st =
		    rfc5322_next_field(buf, len, pos, &f, &h->body);
		if (st == RFC5322_END)
			return 0;
		if (st == RFC5322_ERROR || h->n == DKIM_MSG_MAX_FIELDS)
			return -1;
		h->f[h->n++] = f;
		pos = f.end;
	}
}

/* field_len - the field's text without its final line end. */
static size_t
field_len(const struct rfc5322_field *f)
{
	return (size_t)(f->value - f->name) + f->value_len;
}

/*
 * blank_b - sigfield with the b= tag's value removed (§3.5 b=: "the b=
 * tag value is treated as an empty string"): everything from after the
 * '=' up to the next ';' or the end, as other verifiers do, so white
 * space around the value is gone too.
 */
static void
blank_b(const char *f, size_t len, struct strbuf *out)
{
	const char *colon = memchr(f, ':', len);
	struct dkim_tags tags;
	const struct dkim_tag *b;

	if (!colon ||
	    dkim_tags_parse(colon + 1, len - (size_t)(colon + 1 - f), &tags) !=
		DKIM_TAGS_OK ||
	    !(b = dkim_tags_get(&tags, "b"))) {
		strbuf_add(out, f, len);
		return;
	}
	const char *eq = b->name + b->name_len;
	while (*eq != '=')
		eq++;
	const char *end = b->value + b->value_len;
	while (end < f + len && *end != ';')
		end++;
	strbuf_add(out, f, (size_t)(eq + 1 - f));
	strbuf_add(out, end, (size_t)(f + len - end));
}

void
dkim_hash_headers(const struct dkim_head *h, const char *const *names,
		  size_t n_names, enum dkim_canon c, const char *sigfield,
		  size_t siglen, size_t skip, uint8_t out[DKIM_HASH_LEN])
{
	struct strbuf sb = {0};
	struct strbuf blank = {0};
	bool used[DKIM_MSG_MAX_FIELDS] = {false};
	unsigned int n = 0;

	if (skip < h->n)
		used[skip] = true;

	for (size_t k = 0; k < n_names; k++) {
		/* §5.4.2: the last unused instance; none = nothing. */
		for (size_t i = h->n; i > 0; i--) {
			const struct rfc5322_field *f = &h->f[i - 1];
			if (used[i - 1] || !rfc5322_name_is(f, names[k]))
				continue;
			used[i - 1] = true;
			dkim_canon_header(c, f->name, field_len(f), true, &sb);
			break;
		}
	}
	blank_b(sigfield, siglen, &blank);
	dkim_canon_header(c, blank.p ? blank.p : "", blank.len, false, &sb);
	free(blank.p);
	if (EVP_Digest(sb.p, sb.len, out, &n, dkim_sha256(), NULL) != 1 ||
	    n != DKIM_HASH_LEN)
		fatal("SHA-256 failed");
	free(sb.p);
}

/*
 * Signing a SHA-256 digest: RSA with PKCS#1 v1.5 padding and the
 * digest's DigestInfo (EVP_PKEY_sign with the md set); Ed25519 signs the
 * 32 octets as its message (RFC 8463 §3: PureEdDSA over the SHA-256
 * hash), through EVP_DigestSign with no digest of its own.
 */
static bool
is_ed25519(EVP_PKEY *key)
{
	return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
}

long
dkim_hash_sign(EVP_PKEY *key, const uint8_t hash[DKIM_HASH_LEN], uint8_t *sig,
	       size_t cap)
{
	size_t len = cap;
	long r = -1;

	if (is_ed25519(key)) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		if (md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
		    EVP_DigestSign(md, sig, &len, hash, DKIM_HASH_LEN) == 1)
			r = (long)len;
		EVP_MD_CTX_free(md);
		return r;
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, dkim_sha256()) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &len, hash, DKIM_HASH_LEN) == 1)
		r = (long)len;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

bool
dkim_hash_verify(EVP_PKEY *key, const uint8_t hash[DKIM_HASH_LEN],
		 const uint8_t *sig, size_t len)
{
	bool ok = false;

	if (is_ed25519(key)) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ok = md &&
		     EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestVerify(md, sig, len, hash, DKIM_HASH_LEN) == 1;
		EVP_MD_CTX_free(md);
		return ok;
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_signature_md(ctx, dkim_sha256()) == 1 &&
	     EVP_PKEY_verify(ctx, sig, len, hash, DKIM_HASH_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}
