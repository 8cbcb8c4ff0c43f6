/*
 * dkim_sig - the DKIM-Signature header field (RFC 6376 §3.5) and the
 * DKIM key record in DNS (§3.6.1), parsed and checked (§6.1.1, §6.1.2).
 *
 * Pure: a field value or a TXT record in, a filled struct or a reason
 * out. Algorithms: rsa-sha256 and ed25519-sha256 (RFC 8463); rsa-sha1
 * is refused as RFC 8301 §3.1 requires.
 */
#ifndef PETREL_MAILAUTH_DKIM_SIG_H
#define PETREL_MAILAUTH_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mailauth/dkim_canon.h"
#include "mailauth/mauth_name.h"

enum dkim_alg { DKIM_ALG_RSA_SHA256, DKIM_ALG_ED25519_SHA256 };

#define DKIM_SIG_MAX_B	 1024 /* RSA up to 8192 bits */
#define DKIM_SIG_MAX_H	 64   /* names in h= */
#define DKIM_SIG_HBUF	 2048 /* their text */
#define DKIM_KEY_MAX_DER 1300 /* a SubjectPublicKeyInfo, RSA 8192 */

struct dkim_sig {
	enum dkim_alg alg;
	enum dkim_canon hcanon, bcanon;
	uint8_t b[DKIM_SIG_MAX_B];
	size_t b_len;
	uint8_t bh[DKIM_HASH_LEN];
	char d[MAUTH_NAME_MAX + 1];	   /* lower-cased */
	char s[MAUTH_NAME_MAX + 1];	   /* selector, lower-cased */
	char i_domain[MAUTH_NAME_MAX + 1]; /* the AUID's domain; d if no i= */
	char i[MAUTH_NAME_MAX + 66];	   /* the AUID as written, or "@d" */
	size_t n_h;
	const char *h[DKIM_SIG_MAX_H]; /* NUL-terminated, into hbuf */
	char hbuf[DKIM_SIG_HBUF];
	bool has_l, has_t, has_x;
	uint64_t l, t, x;
};

/*
 * dkim_sig_parse - the value of a DKIM-Signature field (after the
 * colon, folds included). Returns 0, or -1 with *why_r = a short reason
 * for Authentication-Results ("missing bh=", "rsa-sha1 is not accepted").
 */
int dkim_sig_parse(const char *value, size_t len, struct dkim_sig *sig,
		   const char **why_r);

enum dkim_key_type { DKIM_KEY_RSA, DKIM_KEY_ED25519 };

struct dkim_key_rec {
	enum dkim_key_type type;
	bool revoked; /* p= empty (§3.6.1) */
	bool testing; /* t=y */
	bool strict;  /* t=s: the AUID's domain must be d= itself */
	size_t key_len;
	uint8_t key[DKIM_KEY_MAX_DER]; /* RSA: DER SubjectPublicKeyInfo;
					  Ed25519: the 32 raw octets */
};

/*
 * dkim_key_parse - one TXT record (its strings joined) at
 * SELECTOR._domainkey.DOMAIN. Returns 0, or -1 with *why_r.
 */
int dkim_key_parse(const char *txt, size_t len, struct dkim_key_rec *key,
		   const char **why_r);

/* dkim_alg_name - "rsa-sha256" / "ed25519-sha256". */
const char *dkim_alg_name(enum dkim_alg a);

#endif
