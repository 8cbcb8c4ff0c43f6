/*
 * dkim_hash - what a DKIM signature covers (RFC 6376 §3.7): the header
 * fields named in h=, picked from the bottom up (§5.4.2), canonicalized,
 * then the DKIM-Signature field itself with an empty b= and no final
 * CRLF; hashed with SHA-256. Shared by signing and verifying, so the two
 * cannot disagree.
 *
 * And the signature primitive over that hash: RSASSA-PKCS1-v1_5 with
 * SHA-256 (§3.3.1), or Ed25519 over the SHA-256 digest (RFC 8463 §3).
 */
#ifndef PETREL_MAILAUTH_DKIM_HASH_H
#define PETREL_MAILAUTH_DKIM_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "mailauth/dkim_canon.h"
#include "mime/rfc5322.h"

#define DKIM_MSG_MAX_FIELDS 1000

/* A message's header section, split into fields (views). */
struct dkim_head {
	const char *buf;
	size_t n;
	struct rfc5322_field f[DKIM_MSG_MAX_FIELDS];
	size_t body; /* offset of the body in buf (= len if none) */
};

/*
 * dkim_head_parse - the fields of buf (the header section, or the whole
 * message). Returns 0, or -1 if it is not a header section we can sign
 * or verify (malformed, more than DKIM_MSG_MAX_FIELDS fields).
 */
int dkim_head_parse(const char *buf, size_t len, struct dkim_head *h);

/*
 * dkim_hash_headers - SHA-256 over the selected fields, then sigfield
 * (the whole DKIM-Signature field, "DKIM-Signature: ..." with folds, no
 * final CRLF) with its b= value removed. skip: a field of h not to pick
 * (the signature being verified, when it is itself among them), or
 * (size_t)-1.
 */
void dkim_hash_headers(const struct dkim_head *h, const char *const *names,
		       size_t n_names, enum dkim_canon c, const char *sigfield,
		       size_t siglen, size_t skip, uint8_t out[DKIM_HASH_LEN]);

/*
 * dkim_hash_sign - sign the 32-octet hash with key (RSA or Ed25519).
 * Returns the signature length or -1.
 */
long dkim_hash_sign(EVP_PKEY *key, const uint8_t hash[DKIM_HASH_LEN],
		    uint8_t *sig, size_t cap);

/* dkim_hash_verify - does sig match hash under key? */
bool dkim_hash_verify(EVP_PKEY *key, const uint8_t hash[DKIM_HASH_LEN],
		      const uint8_t *sig, size_t len);

#endif
