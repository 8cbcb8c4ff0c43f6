#include "mailauth/dkim_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "mailauth/dkim_hash.h"
#include "mailauth/dkim_tags.h"
#include "util/xalloc.h"

/* RFC 8301 §3.2: verifiers MUST NOT accept RSA keys under 1024 bits. */
#define RSA_MIN_BITS 1024

struct vsig {
	struct dkim_sig sig;
	struct dkim_verdict verdict;
	bool pending; /* parsed and waiting for its key */
	size_t body;  /* index into v->bodies */
	uint8_t hhash[DKIM_HASH_LEN];
	char key_name[2 * MAUTH_NAME_MAX + 16];
};

struct vbody {
	enum dkim_canon canon;
	uint64_t limit;
	struct dkim_body *hasher;
	uint8_t hash[DKIM_HASH_LEN];
	uint64_t total;
	bool done;
};

struct dkim_verify {
	char *head;
	struct dkim_head *h;
	size_t n_sigs;
	struct vsig *sigs; /* as many as the message has, to DKIM_VERIFY_MAX */
	size_t n_bodies;
	struct vbody bodies[DKIM_VERIFY_MAX];
	bool body_done;
};

const char *
dkim_result_name(enum dkim_result r)
{
	static const char *const names[] = {
	    "none",    "pass",	    "fail",	 "policy",
	    "neutral", "temperror", "permerror",
	};
	return names[r];
}

static void
decide(struct vsig *s, enum dkim_result r, const char *why)
{
	s->verdict.result = r;
	snprintf(s->verdict.why, sizeof(s->verdict.why), "%s", why);
	s->pending = false;
}

/* body_for - the hasher for (c=, l=), shared by equal signatures. */
static size_t
body_for(struct dkim_verify *v, const struct dkim_sig *sig)
{
	uint64_t limit = sig->has_l ? sig->l : UINT64_MAX;

	for (size_t i = 0; i < v->n_bodies; i++)
		if (v->bodies[i].canon == sig->bcanon &&
		    v->bodies[i].limit == limit)
			return i;
	struct vbody *b = &v->bodies[v->n_bodies];
	b->canon = sig->bcanon;
	b->limit = limit;
	b->hasher = dkim_body_new(sig->bcanon, limit);
	return v->n_bodies++;
}

static void
sig_setup(struct dkim_verify *v, size_t field, time_t now)
{
	const struct rfc5322_field *f = &v->h->f[field];
	struct vsig *s = &v->sigs[v->n_sigs++];
	const char *why = NULL;

	memset(s, 0, sizeof(*s));
	if (dkim_sig_parse(f->value, f->value_len, &s->sig, &why) < 0) {
		decide(s, DKIM_PERMERROR, why);
		return;
	}
	/* memcpy: the sizes match (sig's strings are as long at most). */
	memcpy(s->verdict.d, s->sig.d, strlen(s->sig.d) + 1);
	memcpy(s->verdict.s, s->sig.s, strlen(s->sig.s) + 1);
	memcpy(s->verdict.i, s->sig.i, strlen(s->sig.i) + 1);
	snprintf(s->verdict.a, sizeof(s->verdict.a), "%s",
		 dkim_alg_name(s->sig.alg));
	/* header.b (RFC 6008): the first 8 base64 characters of b=. */
	struct dkim_tags tags;
	const struct dkim_tag *bt;
	if (dkim_tags_parse(f->value, f->value_len, &tags) == DKIM_TAGS_OK &&
	    (bt = dkim_tags_get(&tags, "b"))) {
		size_t n = 0;
		for (size_t k = 0; k < bt->value_len && n < 8; k++) {
			char c = bt->value[k];
			if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
				s->verdict.b[n++] = c;
		}
		s->verdict.b[n] = '\0';
	}
	if (s->sig.has_x && (uint64_t)now > s->sig.x) {
		decide(s, DKIM_POLICY, "signature expired");
		return;
	}
	size_t sl = strlen(s->sig.s), dl = strlen(s->sig.d);
	if (sl + dl + 12 > MAUTH_NAME_MAX) {
		decide(s, DKIM_PERMERROR, "key name too long");
		return;
	}
	memcpy(s->key_name, s->sig.s, sl);
	memcpy(s->key_name + sl, "._domainkey.", 12);
	memcpy(s->key_name + sl + 12, s->sig.d, dl + 1);
	dkim_hash_headers(v->h, s->sig.h, s->sig.n_h, s->sig.hcanon, f->name,
			  (size_t)(f->value - f->name) + f->value_len, field,
			  s->hhash);
	s->body = body_for(v, &s->sig);
	s->pending = true;
}

struct dkim_verify *
dkim_verify_new(const char *head, size_t len, time_t now)
{
	struct dkim_verify *v = xcalloc(1, sizeof(*v));
	size_t hl;

	v->h = xmalloc(sizeof(*v->h));
	/* Only the header section is kept: find where it ends first. */
	if (dkim_head_parse(head, len, v->h) < 0) {
		v->h->n = 0;
		return v;
	}
	hl = v->h->body;
	v->head = xmalloc(hl + 1);
	memcpy(v->head, head, hl);
	if (dkim_head_parse(v->head, hl, v->h) < 0)
		v->h->n = 0;
	size_t n = 0;
	for (size_t i = 0; i < v->h->n; i++)
		if (rfc5322_name_is(&v->h->f[i], "DKIM-Signature"))
			n++;
	if (n == 0)
		return v;
	v->sigs = xmalloc((n < DKIM_VERIFY_MAX ? n : DKIM_VERIFY_MAX) *
			  sizeof(*v->sigs));
	for (size_t i = 0; i < v->h->n && v->n_sigs < DKIM_VERIFY_MAX; i++)
		if (rfc5322_name_is(&v->h->f[i], "DKIM-Signature"))
			sig_setup(v, i, now);
	return v;
}

void
dkim_verify_body(struct dkim_verify *v, const char *p, size_t len)
{
	for (size_t i = 0; i < v->n_bodies; i++)
		dkim_body_feed(v->bodies[i].hasher, p, len);
}

void
dkim_verify_body_end(struct dkim_verify *v)
{
	for (size_t i = 0; i < v->n_bodies; i++) {
		struct vbody *b = &v->bodies[i];
		dkim_body_final(b->hasher, b->hash, &b->total);
		dkim_body_free(&b->hasher);
		b->done = true;
	}
	v->body_done = true;
}

size_t
dkim_verify_count(const struct dkim_verify *v)
{
	return v->n_sigs;
}

const char *
dkim_verify_key_name(const struct dkim_verify *v, size_t i)
{
	return i < v->n_sigs && v->sigs[i].pending ? v->sigs[i].key_name : NULL;
}

/* load_key - the record's key as an EVP_PKEY, or NULL with why. */
static EVP_PKEY *
load_key(const struct dkim_key_rec *k, enum dkim_alg alg, const char **why)
{
	EVP_PKEY *pkey = NULL;

	if ((alg == DKIM_ALG_ED25519_SHA256) != (k->type == DKIM_KEY_ED25519)) {
		*why = "key type does not match a=";
		return NULL;
	}
	if (k->type == DKIM_KEY_ED25519) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
						   k->key, k->key_len);
	} else {
		/* SubjectPublicKeyInfo (§3.6.1), or a bare RSAPublicKey as
		 * some publish; both are seen in the wild. */
		const unsigned char *p = k->key;
		pkey = d2i_PUBKEY(NULL, &p, (long)k->key_len);
		if (pkey && (p != k->key + k->key_len ||
			     EVP_PKEY_get_id(pkey) != EVP_PKEY_RSA)) {
			EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		if (!pkey) {
			p = k->key;
			pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p,
					     (long)k->key_len);
		}
	}
	if (!pkey)
		*why = "unusable public key";
	return pkey;
}

void
dkim_verify_key(struct dkim_verify *v, size_t i, enum dkim_dns status,
		const char *const *txt, const size_t *txt_len, size_t n)
{
	struct vsig *s;
	struct dkim_key_rec key;
	const char *why = "no key record";
	bool have = false;

	if (i >= v->n_sigs || !v->sigs[i].pending || !v->body_done)
		return;
	s = &v->sigs[i];
	if (status == DKIM_DNS_TEMP) {
		decide(s, DKIM_TEMPERROR, "key look-up failed");
		return;
	}
	for (size_t k = 0; k < n && !have; k++)
		have = dkim_key_parse(txt[k], txt_len[k], &key, &why) == 0;
	if (status != DKIM_DNS_OK || !have) {
		decide(s, DKIM_PERMERROR, why);
		return;
	}
	s->verdict.testing = key.testing;
	if (key.strict && strcmp(s->sig.i_domain, s->sig.d) != 0) {
		decide(s, DKIM_PERMERROR, "key forbids an i= subdomain (t=s)");
		return;
	}
	EVP_PKEY *pkey = load_key(&key, s->sig.alg, &why);
	if (!pkey) {
		decide(s, DKIM_PERMERROR, why);
		return;
	}
	if (key.type == DKIM_KEY_RSA &&
	    EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
		EVP_PKEY_free(pkey);
		decide(s, DKIM_POLICY, "RSA key shorter than 1024 bits");
		return;
	}
	const struct vbody *b = &v->bodies[s->body];
	if (s->sig.has_l && b->total < s->sig.l)
		decide(s, DKIM_FAIL, "l= is longer than the body");
	else if (CRYPTO_memcmp(b->hash, s->sig.bh, DKIM_HASH_LEN) != 0)
		decide(s, DKIM_FAIL, "body hash did not verify");
	else if (!dkim_hash_verify(pkey, s->hhash, s->sig.b, s->sig.b_len))
		decide(s, DKIM_FAIL, "signature did not verify");
	else
		decide(s, DKIM_PASS, "");
	EVP_PKEY_free(pkey);
}

const struct dkim_verdict *
dkim_verify_verdict(const struct dkim_verify *v, size_t i)
{
	return i < v->n_sigs ? &v->sigs[i].verdict : NULL;
}

void
dkim_verify_free(struct dkim_verify **vp)
{
	struct dkim_verify *v = *vp;

	if (!v)
		return;
	*vp = NULL;
	for (size_t i = 0; i < v->n_bodies; i++)
		dkim_body_free(&v->bodies[i].hasher);
	free(v->sigs);
	free(v->h);
	free(v->head);
	free(v);
}
