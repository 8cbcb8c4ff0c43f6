/*
 * dkim_canon - DKIM canonicalization (RFC 6376 §3.4) and the body hash.
 *
 * Headers: "simple" leaves a field as it is; "relaxed" lower-cases the
 * name, unfolds, turns WSP runs into one SP and drops WSP at the ends of
 * the value and around the colon. Bodies: "simple" drops the empty lines
 * at the end (an empty body is one CRLF); "relaxed" also drops WSP at
 * line ends and turns WSP runs into one SP (an empty body stays empty,
 * RFC 6376 errata 1384/3797).
 *
 * The body canonicalizer is a streaming byte machine: feed any chunks
 * (a CRLF may be split between them), and it hashes the canonical form
 * with SHA-256 (the only hash RFC 8301 and RFC 8463 leave us), up to the
 * l= limit. A bare LF counts as a line end, as MTAs on the path turn it
 * into CRLF anyway; a bare CR is data.
 */
#ifndef PETREL_MAILAUTH_DKIM_CANON_H
#define PETREL_MAILAUTH_DKIM_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct evp_md_st;

enum dkim_canon { DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED };

#define DKIM_HASH_LEN 32 /* SHA-256 */

/*
 * dkim_sha256 - SHA-256, fetched from OpenSSL's provider once: the
 * implicit fetch behind EVP_sha256() takes locks on every use, a
 * measurable part of a small message's cost (bench/mailauth.c).
 */
const struct evp_md_st *dkim_sha256(void);

/*
 * dkim_canon_header - append the canonical form of one header field to
 * out: field is the whole field as in the message ("Name: value" with
 * any folds), without its final line end; with_crlf adds the CRLF (not
 * for the DKIM-Signature field being verified or made, §3.7).
 */
void dkim_canon_header(enum dkim_canon c, const char *field, size_t len,
		       bool with_crlf, struct strbuf *out);

struct dkim_body;

/*
 * dkim_body_new - a body hasher. limit: the l= count of canonical octets
 * to hash (UINT64_MAX = all).
 */
struct dkim_body *dkim_body_new(enum dkim_canon c, uint64_t limit);

/* dkim_body_feed - more body bytes, in order. */
void dkim_body_feed(struct dkim_body *b, const char *p, size_t len);

/*
 * dkim_body_final - end of body: the hash into hash_r. total_r (may be
 * NULL): the canonical length of the whole body, also past the limit
 * (a verifier compares it with l=, §3.5).
 */
void dkim_body_final(struct dkim_body *b, uint8_t hash_r[DKIM_HASH_LEN],
		     uint64_t *total_r);

void dkim_body_free(struct dkim_body **bp);

/*
 * dkim_canon_body - the whole canonical body into out (for tests and
 * fuzzing: the same machine as dkim_body_*, without the hash).
 */
void dkim_canon_body(enum dkim_canon c, const char *p, size_t len,
		     struct strbuf *out);

#endif
