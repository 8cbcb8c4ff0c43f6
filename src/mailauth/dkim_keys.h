/*
 * dkim_keys - the DKIM signing keys on disk, data_dir/dkim/:
 *
 *     dkim/DOMAIN/SELECTOR.pem   private key, PKCS#8 PEM, mode 0600
 *     dkim/DOMAIN/active         the selectors that sign, one a line
 *
 * A domain may hold several keys (rotation: make a new selector, publish
 * its record, then activate it; delete the old one once mail signed
 * with it has been delivered). At most one key per algorithm is active:
 * the domain's mail is signed once with the active RSA key and once with
 * the active Ed25519 key, when it has them (RFC 8463 §4 suggests both,
 * as not every verifier knows Ed25519). The first key of an algorithm
 * made for a domain becomes active at once; later ones wait for
 * `petrel dkim activate`.
 */
#ifndef PETREL_MAILAUTH_DKIM_KEYS_H
#define PETREL_MAILAUTH_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "mailauth/dkim_sign.h"

struct dkim_key_info {
	char domain[MAUTH_NAME_MAX + 1];
	char selector[MAUTH_NAME_MAX + 1];
	enum dkim_alg alg;
	int bits; /* RSA modulus size; 256 for Ed25519 */
	bool active;
	time_t created; /* the key file's mtime */
	char *record;	/* the TXT record to publish (heap) */
};

struct dkim_key_list {
	size_t n;
	struct dkim_key_info *items;
};

/* dkim_keys_generate - a fresh RSA-2048 or Ed25519 key, or NULL. */
EVP_PKEY *dkim_keys_generate(enum dkim_alg alg);

/* dkim_keys_record - "v=DKIM1; k=rsa; p=..." for key's public half. */
char *dkim_keys_record(EVP_PKEY *key);

/*
 * dkim_keys_create - make and store a key for domain/selector (both
 * checked, lower-cased). Refuses an existing selector. active_r: whether
 * it signs now (first of its algorithm). 0, or -1 with err.
 */
int dkim_keys_create(const char *data_dir, const char *domain,
		     const char *selector, enum dkim_alg alg, bool *active_r,
		     char *err, size_t errlen);

/*
 * dkim_keys_list - the keys of domain (NULL: of every domain), sorted
 * by domain then selector, appended to *out. 0, or -1 with err.
 */
int dkim_keys_list(const char *data_dir, const char *domain,
		   struct dkim_key_list *out, char *err, size_t errlen);

void dkim_key_list_free(struct dkim_key_list *l);

/*
 * dkim_keys_activate - make selector the signing key of its algorithm
 * (the one it replaces stays on disk, unused). 0, or -1 with err.
 */
int dkim_keys_activate(const char *data_dir, const char *domain,
		       const char *selector, char *err, size_t errlen);

/* dkim_keys_delete - remove an inactive key. 0, or -1 with err. */
int dkim_keys_delete(const char *data_dir, const char *domain,
		     const char *selector, char *err, size_t errlen);

/*
 * dkim_keys_load - the active keys of domain into keys_r (at most 2:
 * RSA first, then Ed25519), each with its EVP_PKEY (free with
 * dkim_keys_unload). Returns how many; 0 when the domain has none.
 */
size_t dkim_keys_load(const char *data_dir, const char *domain,
		      struct dkim_sign_key keys_r[2]);

void dkim_keys_unload(struct dkim_sign_key *keys, size_t n);

#endif
