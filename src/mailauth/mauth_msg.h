/*
 * mauth_msg - a message as it streams in (the decoded DATA of an SMTP
 * transaction, or a pickup file): its header section is collected (up
 * to MAUTH_HEAD_MAX), its body hashed as it passes, so neither DKIM
 * signing nor verifying reads the spool file again.
 *
 *   verify: every DKIM-Signature's headers and body hashed (dkim_verify);
 *   sign:   the relaxed body hash that dkim_sign_fields needs.
 *
 * It is also a gate for the bytes going to the spool: the header
 * section is held until it is complete, then passed on without the
 * Authentication-Results fields that claim our host name (RFC 8601 §5:
 * only we may say what we verified); the body passes at once.
 */
#ifndef PETREL_MAILAUTH_MAUTH_MSG_H
#define PETREL_MAILAUTH_MAUTH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "mailauth/dkim_verify.h"
#include "mailauth/mauth_name.h"

/*
 * The header section held per message. Past it the message cannot be
 * checked nor cleaned of forged Authentication-Results, so the SMTP
 * session refuses it (552 5.3.4; Postfix's header_size_limit is 100 KiB,
 * real header sections are a few KiB). It bounds the memory a session
 * can make petrel hold.
 */
#define MAUTH_HEAD_MAX (256 * 1024)

struct strbuf;
struct mauth_msg;

/*
 * mauth_msg_new - verify and/or sign (either may be false). host: the
 * authserv-id whose Authentication-Results fields are dropped (NULL:
 * keep all).
 */
struct mauth_msg *mauth_msg_new(bool verify, bool sign, const char *host,
				time_t now);

/* The bytes to store, in order (into the spool file). */
typedef void mauth_emit_fn(void *arg, const char *p, size_t len);

void mauth_msg_feed(struct mauth_msg *m, const char *p, size_t len,
		    mauth_emit_fn *emit, void *arg);

/* mauth_msg_end - the message is complete (held bytes are emitted). */
void mauth_msg_end(struct mauth_msg *m, mauth_emit_fn *emit, void *arg);

/* mauth_msg_head_too_big - the header section passed MAUTH_HEAD_MAX. */
bool mauth_msg_head_too_big(const struct mauth_msg *m);

/* mauth_msg_removed - how many Authentication-Results fields went. */
unsigned mauth_msg_removed(const struct mauth_msg *m);

/* mauth_msg_verify - the verifier (NULL if not verifying, or the header
 * section was too large or malformed). Owned by m. */
struct dkim_verify *mauth_msg_verify(struct mauth_msg *m);

/*
 * mauth_msg_from_domain - the RFC5322.From domain (0), none (1), or
 * several / unparseable (-1), as dmarc_from_domain().
 */
int mauth_msg_from_domain(const struct mauth_msg *m,
			  char out[MAUTH_NAME_MAX + 1]);

/*
 * mauth_msg_sign - append DKIM-Signature fields to out, made with the
 * active keys of the From domain if petrel holds any, else of
 * fallback_domain (the envelope sender's); data_dir: the key store.
 * Returns the number of signatures (0: no key, nothing appended), and
 * the signing domain in domain_r.
 */
size_t mauth_msg_sign(struct mauth_msg *m, const char *data_dir,
		      const char *fallback_domain, struct strbuf *out,
		      char domain_r[MAUTH_NAME_MAX + 1]);

void mauth_msg_free(struct mauth_msg **mp);

#endif
