/*
 * smtp_cmd_bdat - CHUNKING (RFC 3030): "BDAT size [LAST]" followed by
 * exactly size octets of message, with no dot-stuffing and no reply in
 * between.
 *
 * The octets are read straight from the input into the spool file
 * (smtp_msg_write) as they arrive, never gathered in memory: a chunk
 * may be any size. Every BDAT is answered after its octets, so a client
 * may pipeline chunk after chunk (and the next transaction) behind it.
 * A BDAT that cannot be taken (no transaction, no recipients, too big,
 * a bad end-marker) still has its octets read — they are not commands —
 * and thrown away, and then gets its error; only a size that cannot be
 * read leaves us no way to find the next command, so that session ends
 * after the 501. After an error inside a BDAT transaction the
 * transaction is over (§2: the client must consider it failed).
 */
#include "smtp/smtp_session.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <inttypes.h>

#include "conf/config.h"
#include "util/log.h"

/* skip - read and discard the chunk, then answer code (and maybe end). */
static void
skip(struct smtp_session *s, uint64_t size, int code, const char *enhanced,
     const char *text)
{
	s->bdat_skip = true;
	s->bdat_code = code;
	s->bdat_enhanced = enhanced;
	s->bdat_text = text;
	s->bdat_left = size;
	s->bdat_last = false;
	s->bdat_mark = 0;
	/* An error inside a BDAT transaction ends it (RFC 3030 §2). */
	if (s->bdat)
		smtp_transaction_reset(s);
	s->bdat_resume = s->state;
	s->state = SMTP_STATE_BDAT;
	smtp_session_deadline(s, s->srv->cfg->smtp_data_timeout);
}

void
smtp_bdat_cmd(struct smtp_session *s, const struct smtp_command *c)
{
	const struct config *cfg = s->srv->cfg;
	struct smtp_bdat_args args;
	struct smtp_parse_error e;

	if (smtp_parse_bdat(c->args, c->args_len, &args, &e) < 0) {
		if (!args.size_ok) {
			/* The octets that follow cannot be told from
			 * commands: answer and end the session. */
			log_info("[%s]: malformed BDAT command, disconnecting",
				 s->addr);
			smtp_reply(s, e.code, e.enhanced, "%s", e.text);
			smtp_session_close_after_reply(s);
			return;
		}
		skip(s, args.size, e.code, e.enhanced, e.text);
		return;
	}
	if (s->state == SMTP_STATE_GREETED) {
		skip(s, args.size, 503, "5.5.1", "Send HELO/EHLO first");
		return;
	}
	if (s->state == SMTP_STATE_READY) {
		skip(s, args.size, 503, "5.5.1", "Need MAIL command first");
		return;
	}
	if (s->state == SMTP_STATE_MAIL) {
		/* RFC 2920 §3.1 as for DATA: nobody to send it to. */
		skip(s, args.size, s->n_rcpt_failed > 0 ? 554 : 503, "5.5.1",
		     s->n_rcpt_failed > 0 ? "No valid recipients"
					  : "Need RCPT command first");
		return;
	}
	uint64_t total = s->bdat ? s->bdat_total : 0;
	if (args.size > cfg->max_message_size - total) {
		/* RFC 1870 §6.3 / RFC 3030 §2: too big; known before a
		 * single octet of it is read, so none is stored. */
		log_info("%s: reject: message size exceeds %" PRIu64, s->env.id,
			 cfg->max_message_size);
		skip(s, args.size, 552, "5.3.4",
		     "Message size exceeds fixed limit");
		return;
	}
	if (!s->bdat) {
		/* The first chunk: the message begins. */
		if (smtp_msg_begin(s) < 0) {
			skip(s, args.size, 451, "4.3.0",
			     "Local error in processing");
			return;
		}
		s->bdat = true;
		s->bdat_total = 0;
	}
	s->bdat_skip = false;
	s->bdat_left = args.size;
	s->bdat_last = args.last;
	s->state = SMTP_STATE_BDAT;
	smtp_session_deadline(s, cfg->smtp_data_timeout);
}

/* chunk_done - every octet of the chunk is in: answer it. */
static void
chunk_done(struct smtp_session *s)
{
	if (s->bdat_skip) {
		s->bdat_skip = false;
		s->state = s->bdat_resume;
		smtp_session_deadline(s, s->srv->cfg->smtp_timeout);
		smtp_reply(s, s->bdat_code, s->bdat_enhanced, "%s",
			   s->bdat_text);
		return;
	}
	if (s->bdat_last) {
		smtp_msg_end(s);
		return;
	}
	s->state = SMTP_STATE_RCPT;
	smtp_session_deadline(s, s->srv->cfg->smtp_timeout);
	smtp_reply(s, 250, "2.0.0", "Ok: %" PRIu64 " octets received",
		   s->bdat_total);
}

bool
smtp_bdat_data(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v;

	if (s->bdat_left > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return false;
		size_t n =
		    v.iov_len < SMTP_MSG_CHUNK ? v.iov_len : SMTP_MSG_CHUNK;
		if (n > s->bdat_left)
			n = (size_t)s->bdat_left;
		if (!s->bdat_skip) {
			smtp_msg_write(s, v.iov_base, n);
			s->bdat_total += n;
		} else if ((s->bdat_mark += n) >= SMTP_DATA_PROGRESS) {
			s->bdat_mark = 0;
			smtp_session_deadline(s,
					      s->srv->cfg->smtp_data_timeout);
		}
		evbuffer_drain(in, n);
		s->bdat_left -= n;
		if (s->bdat_left > 0)
			return true;
	}
	chunk_done(s);
	return true;
}
