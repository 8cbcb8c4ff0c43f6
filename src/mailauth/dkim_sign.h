/*
 * dkim_sign - make DKIM-Signature fields (RFC 6376 §5): relaxed/relaxed,
 * SHA-256, RSA or Ed25519 (RFC 8463), t= set, no l= (a length limit
 * would let anyone append to the body). One body hash serves every key,
 * so signing with RSA and Ed25519 both costs one pass over the body.
 *
 * Signed fields: those of a fixed list that the message has, each
 * instance, and From, Subject, Date, To, Cc, Reply-To, Message-ID,
 * MIME-Version, Content-Type and Content-Transfer-Encoding once more
 * ("oversigned", §8.15): adding another instance of one of them later
 * breaks the signature instead of going unnoticed.
 */
#ifndef PETREL_MAILAUTH_DKIM_SIGN_H
#define PETREL_MAILAUTH_DKIM_SIGN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "mailauth/dkim_hash.h"
#include "mailauth/dkim_sig.h"

struct strbuf;

struct dkim_sign_key {
	char domain[MAUTH_NAME_MAX + 1];
	char selector[MAUTH_NAME_MAX + 1];
	enum dkim_alg alg;
	EVP_PKEY *pkey;
};

/*
 * dkim_sign_fields - append to out one DKIM-Signature field per key
 * (folded at 78 columns, each ending in CRLF), for the message whose
 * header section is head and whose relaxed body hash is bh (from a
 * dkim_body_new(DKIM_CANON_RELAXED, UINT64_MAX)). Returns 0, or -1 if a
 * key failed to sign (out then unchanged).
 */
int dkim_sign_fields(const struct dkim_sign_key *keys, size_t n_keys,
		     const struct dkim_head *head,
		     const uint8_t bh[DKIM_HASH_LEN], time_t now,
		     struct strbuf *out);

/*
 * dkim_sign_message - the same for a whole message in memory (header
 * section and body): parses, hashes the body, signs. -1 if the header
 * section cannot be parsed or a key fails.
 */
int dkim_sign_message(const struct dkim_sign_key *keys, size_t n_keys,
		      const char *msg, size_t len, time_t now,
		      struct strbuf *out);

#endif
