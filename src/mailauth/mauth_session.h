/*
 * mauth_session - mail authentication for one SMTP session: the glue
 * between the session's events and the checks, all asynchronous on
 * petrel's resolver (the session waits for them at the end of DATA,
 * where it waits for the queue commit anyway; the loop never blocks):
 *
 *   connect  -> reverse DNS, forward-confirmed (iprev), every session
 *   EHLO     -> SPF for the HELO identity          (checked sessions)
 *   MAIL     -> SPF for the MAIL FROM identity     (checked sessions)
 *   DATA     -> the message streams through mauth_msg: held header,
 *               our Authentication-Results claims dropped, DKIM hashes
 *   end      -> DKIM key and DMARC policy look-ups in parallel, then the
 *               decision (mauth_policy) and the fields to put on top:
 *               Authentication-Results (checked) or DKIM-Signature
 *               (signed: authenticated submissions).
 *
 * "Checked" sessions are those on port 25 from clients that are neither
 * authenticated nor in relay_networks; the others are ours to sign.
 */
#ifndef PETREL_MAILAUTH_MAUTH_SESSION_H
#define PETREL_MAILAUTH_MAUTH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "mailauth/mauth_msg.h"
#include "mailauth/mauth_policy.h"

struct config;
struct dns;
struct event_base;
struct mauth_session;

struct mauth_session *mauth_session_new(struct event_base *base,
					struct dns *dns,
					const struct config *cfg,
					const struct sockaddr *peer);

void mauth_session_free(struct mauth_session **sp);

/* mauth_session_helo - EHLO/HELO name (starts its SPF check if check). */
void mauth_session_helo(struct mauth_session *s, const char *helo, bool check);

/* mauth_session_mail - a transaction begins: check its SPF if check. */
void mauth_session_mail(struct mauth_session *s, const char *sender,
			bool check);

/* mauth_session_rset - the transaction is over (RSET, after DATA). */
void mauth_session_rset(struct mauth_session *s);

/*
 * mauth_session_data - DATA: the message follows. check: verify it;
 * sign: it is ours (authenticated or relay client) to DKIM-sign.
 */
void mauth_session_data(struct mauth_session *s, bool check, bool sign);

void mauth_session_feed(struct mauth_session *s, const char *p, size_t len,
			mauth_emit_fn *emit, void *arg);

/* mauth_session_flush - the message is complete: what the gate still
 * holds is emitted (mauth_session_end does this too, if not done). */
void mauth_session_flush(struct mauth_session *s, mauth_emit_fn *emit,
			 void *arg);

/*
 * mauth_session_end_cb - the verdict: a->code 0 = accept, with fields
 * (len bytes, maybe 0: Authentication-Results or DKIM-Signature fields,
 * each ending in CRLF) to put on top of the message.
 */
typedef void mauth_session_end_cb(void *arg, const struct mauth_action *a,
				  const char *fields, size_t len);

/*
 * mauth_session_end - the message is complete (held bytes are emitted
 * now); cb runs later on the loop, once every check is in. id: the
 * queue id, for the log; sender_domain: for signing when From is not
 * one of ours.
 */
void mauth_session_end(struct mauth_session *s, const char *id,
		       const char *sender_domain, mauth_emit_fn *emit,
		       void *emit_arg, mauth_session_end_cb *cb, void *arg);

/* mauth_session_abort - forget a pending end (cb will not run). */
void mauth_session_abort(struct mauth_session *s);

/*
 * mauth_session_received_from - "HELO (RDNS [IP])" for our Received:
 * line, as Postfix writes it: RDNS is the forward-confirmed name or
 * "unknown". ready_r: false while the reverse DNS is still out (the
 * text then says "unknown").
 */
void mauth_session_received_from(const struct mauth_session *s,
				 const char *helo, char *out, size_t cap,
				 bool *ready_r);

/*
 * mauth_session_when_rdns - cb(arg) once the reverse DNS is in (later
 * on the loop; at once if it is already). One waiter at a time.
 */
void mauth_session_when_rdns(struct mauth_session *s, void (*cb)(void *arg),
			     void *arg);

#endif
