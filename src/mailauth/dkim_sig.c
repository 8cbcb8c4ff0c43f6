#include "mailauth/dkim_sig.h"

#include <string.h>
#include <strings.h>

#include "mailauth/dkim_tags.h"

const char *
dkim_alg_name(enum dkim_alg a)
{
	return a == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* parse_uint - 1*76DIGIT (§3.5 l=, t=, x=); past 2^64-1 it saturates. */
static bool
parse_uint(const struct dkim_tag *t, uint64_t *v_r)
{
	uint64_t v = 0;

	if (t->value_len == 0 || t->value_len > 76)
		return false;
	for (size_t i = 0; i < t->value_len; i++) {
		char c = t->value[i];
		if (c < '0' || c > '9')
			return false;
		unsigned d = (unsigned)(c - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
	}
	*v_r = v;
	return true;
}

static bool
parse_canon_word(const char *p, size_t n, enum dkim_canon *c_r)
{
	if (n == 6 && memcmp(p, "simple", 6) == 0)
		*c_r = DKIM_CANON_SIMPLE;
	else if (n == 7 && memcmp(p, "relaxed", 7) == 0)
		*c_r = DKIM_CANON_RELAXED;
	else
		return false;
	return true;
}

/* parse_c - "header[/body]", body simple when absent (§3.5 c=). */
static bool
parse_c(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *slash = memchr(t->value, '/', t->value_len);
	size_t hn = slash ? (size_t)(slash - t->value) : t->value_len;

	sig->bcanon = DKIM_CANON_SIMPLE;
	if (!parse_canon_word(t->value, hn, &sig->hcanon))
		return false;
	return !slash ||
	       parse_canon_word(slash + 1, t->value_len - hn - 1, &sig->bcanon);
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * next_item - the next item of a colon-separated list in t from *pos,
 * FWS around it trimmed: [*a_r, *b_r). false at the end of the list.
 */
static bool
next_item(const struct dkim_tag *t, size_t *pos, size_t *a_r, size_t *b_r)
{
	size_t i = *pos, end = i;

	if (i > t->value_len)
		return false;
	while (end < t->value_len && t->value[end] != ':')
		end++;
	size_t a = i, b = end;
	while (a < b && is_ws(t->value[a]))
		a++;
	while (b > a && is_ws(t->value[b - 1]))
		b--;
	*a_r = a;
	*b_r = b;
	*pos = end + 1;
	return true;
}

/*
 * parse_h - colon-separated field names, FWS allowed around them. ftext
 * = %d33-57 / %d59-126 (RFC 5322 §3.6.8).
 */
static bool
parse_h(const struct dkim_tag *t, struct dkim_sig *sig)
{
	size_t w = 0, pos = 0, a, b;
	bool from = false;

	sig->n_h = 0;
	while (next_item(t, &pos, &a, &b)) {
		if (a == b || sig->n_h == DKIM_SIG_MAX_H ||
		    w + (b - a) + 1 > sizeof(sig->hbuf))
			return false;
		for (size_t k = a; k < b; k++) {
			unsigned char c = (unsigned char)t->value[k];
			if (c < 33 || c > 126 || c == ':')
				return false;
		}
		memcpy(sig->hbuf + w, t->value + a, b - a);
		sig->hbuf[w + (b - a)] = '\0';
		sig->h[sig->n_h++] = sig->hbuf + w;
		if (strcasecmp(sig->hbuf + w, "from") == 0)
			from = true;
		w += b - a + 1;
	}
	return from; /* §5.4: From MUST be signed */
}

/* parse_i - [ Local-part ] "@" domain-name; returns false if malformed. */
static bool
parse_i(const struct dkim_tag *t, struct dkim_sig *sig)
{
	const char *at = NULL;

	for (size_t k = t->value_len; k > 0; k--)
		if (t->value[k - 1] == '@') {
			at = t->value + k - 1;
			break;
		}
	if (!at || t->value_len >= sizeof(sig->i))
		return false;
	size_t dl = t->value_len - (size_t)(at + 1 - t->value);
	if (!mauth_name_copy(at + 1, dl, sig->i_domain))
		return false;
	memcpy(sig->i, t->value, t->value_len);
	sig->i[t->value_len] = '\0';
	return true;
}

/* has_word - does the colon list hold word (q=, h= of keys, t=, s=)? */
static bool
has_word(const struct dkim_tag *t, const char *word)
{
	size_t wl = strlen(word), pos = 0, a, b;

	while (next_item(t, &pos, &a, &b))
		if (b - a == wl && strncasecmp(t->value + a, word, wl) == 0)
			return true;
	return false;
}

int
dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
	       const char **why_r)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;
	long n;

	memset(sig, 0, sizeof(*sig));
	if (dkim_tags_parse(value, len, &tags) != DKIM_TAGS_OK) {
		*why_r = "signature syntax error";
		return -1;
	}
#define REQUIRE(name)                                                          \
	if (!(t = dkim_tags_get(&tags, name))) {                               \
		*why_r = "missing " name "=";                                  \
		return -1;                                                     \
	}
	REQUIRE("v");
	if (!dkim_tag_is(t, "1")) {
		*why_r = "unknown signature version";
		return -1;
	}
	REQUIRE("a");
	if (dkim_tag_is_ci(t, "rsa-sha256")) {
		sig->alg = DKIM_ALG_RSA_SHA256;
	} else if (dkim_tag_is_ci(t, "ed25519-sha256")) {
		sig->alg = DKIM_ALG_ED25519_SHA256;
	} else if (dkim_tag_is_ci(t, "rsa-sha1")) {
		*why_r = "rsa-sha1 is not accepted (RFC 8301)";
		return -1;
	} else {
		*why_r = "unknown algorithm";
		return -1;
	}
	REQUIRE("b");
	n = mauth_b64_decode(t->value, t->value_len, sig->b, sizeof(sig->b));
	if (n <= 0) {
		*why_r = "bad b=";
		return -1;
	}
	sig->b_len = (size_t)n;
	REQUIRE("bh");
	if (mauth_b64_decode(t->value, t->value_len, sig->bh,
			     sizeof(sig->bh)) != DKIM_HASH_LEN) {
		*why_r = "bad bh=";
		return -1;
	}
	REQUIRE("d");
	if (!mauth_name_copy(t->value, t->value_len, sig->d)) {
		*why_r = "bad d=";
		return -1;
	}
	REQUIRE("h");
	if (!parse_h(t, sig)) {
		*why_r = "bad h= (From must be signed)";
		return -1;
	}
	REQUIRE("s");
	if (!mauth_name_copy(t->value, t->value_len, sig->s)) {
		*why_r = "bad s=";
		return -1;
	}
#undef REQUIRE
	sig->hcanon = sig->bcanon = DKIM_CANON_SIMPLE;
	if ((t = dkim_tags_get(&tags, "c")) && !parse_c(t, sig)) {
		*why_r = "bad c=";
		return -1;
	}
	if ((t = dkim_tags_get(&tags, "i"))) {
		if (!parse_i(t, sig)) {
			*why_r = "bad i=";
			return -1;
		}
		/* §6.1.1: the AUID must be in d='s domain or below it. */
		if (!mauth_name_within(sig->i_domain, sig->d)) {
			*why_r = "i= domain is not within d=";
			return -1;
		}
	} else {
		memcpy(sig->i_domain, sig->d, sizeof(sig->d));
		sig->i[0] = '@';
		memcpy(sig->i + 1, sig->d, strlen(sig->d) + 1);
	}
	if ((t = dkim_tags_get(&tags, "l"))) {
		if (!parse_uint(t, &sig->l)) {
			*why_r = "bad l=";
			return -1;
		}
		sig->has_l = true;
	}
	if ((t = dkim_tags_get(&tags, "q")) && !has_word(t, "dns/txt")) {
		*why_r = "unsupported q=";
		return -1;
	}
	if ((t = dkim_tags_get(&tags, "t"))) {
		if (!parse_uint(t, &sig->t)) {
			*why_r = "bad t=";
			return -1;
		}
		sig->has_t = true;
	}
	if ((t = dkim_tags_get(&tags, "x"))) {
		if (!parse_uint(t, &sig->x)) {
			*why_r = "bad x=";
			return -1;
		}
		sig->has_x = true;
	}
	/* §3.5 x=: "MUST be greater than the value of the t= tag". */
	if (sig->has_t && sig->has_x && sig->x <= sig->t) {
		*why_r = "x= is not after t=";
		return -1;
	}
	return 0;
}

int
dkim_key_parse(const char *txt, size_t len, struct dkim_key_rec *key,
	       const char **why_r)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;

	memset(key, 0, sizeof(*key));
	if (dkim_tags_parse(txt, len, &tags) != DKIM_TAGS_OK) {
		*why_r = "key record syntax error";
		return -1;
	}
	/* §3.6.1 v=: if present it MUST be the first tag, "DKIM1". */
	if ((t = dkim_tags_get(&tags, "v")) &&
	    (t != &tags.tag[0] || !dkim_tag_is(t, "DKIM1"))) {
		*why_r = "bad key record version";
		return -1;
	}
	if ((t = dkim_tags_get(&tags, "h")) && !has_word(t, "sha256")) {
		*why_r = "key does not allow sha256";
		return -1;
	}
	key->type = DKIM_KEY_RSA;
	if ((t = dkim_tags_get(&tags, "k"))) {
		if (dkim_tag_is(t, "rsa"))
			key->type = DKIM_KEY_RSA;
		else if (dkim_tag_is(t, "ed25519"))
			key->type = DKIM_KEY_ED25519;
		else {
			*why_r = "unknown key type";
			return -1;
		}
	}
	if ((t = dkim_tags_get(&tags, "s")) && !has_word(t, "*") &&
	    !has_word(t, "email")) {
		*why_r = "key is not for email";
		return -1;
	}
	if ((t = dkim_tags_get(&tags, "t"))) {
		key->testing = has_word(t, "y");
		key->strict = has_word(t, "s");
	}
	if (!(t = dkim_tags_get(&tags, "p"))) {
		*why_r = "key record without p=";
		return -1;
	}
	size_t plain = 0;
	for (size_t k = 0; k < t->value_len; k++)
		if (!is_ws(t->value[k]))
			plain++;
	if (plain == 0) {
		key->revoked = true;
		*why_r = "key revoked";
		return -1;
	}
	long n = mauth_b64_decode(t->value, t->value_len, key->key,
				  sizeof(key->key));
	if (n <= 0) {
		*why_r = "bad p=";
		return -1;
	}
	key->key_len = (size_t)n;
	if (key->type == DKIM_KEY_ED25519 && key->key_len != 32) {
		*why_r = "Ed25519 key is not 32 octets";
		return -1;
	}
	return 0;
}
