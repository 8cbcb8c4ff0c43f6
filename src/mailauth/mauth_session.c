#include "mailauth/mauth_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "conf/config.h"
#include "mailauth/iprev.h"
#include "mailauth/mauth_dns.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct mauth_session {
	struct event_base *base;
	struct dns *dns;
	const struct config *cfg;
	int family;
	uint8_t ip[16];
	char ip_text[64];

	struct iprev *iprev;
	bool iprev_done;
	struct iprev_outcome iprev_o;
	void (*rdns_cb)(void *arg);
	void *rdns_arg;
	struct event *rdns_ev;

	char helo[256];
	struct mauth_spf *spf_helo;
	bool helo_checked, helo_done;
	struct spf_outcome helo_o;

	char sender[600];
	struct mauth_spf *spf_mf;
	bool mf_checked, mf_done;
	struct spf_outcome mf_o;

	struct mauth_msg *msg;
	bool check, sign;

	/* the end of a message */
	bool ending;
	char id[64];
	char sender_domain[MAUTH_NAME_MAX + 1];
	mauth_session_end_cb *cb;
	void *cb_arg;
	struct mauth_dkim *dkim;
	bool dkim_done;
	struct dmarc_eval *de;
	struct mauth_dmarc *dmarc;
	bool dmarc_done;
	struct event *deadline_ev, *finish_ev;
	struct mauth_action action;
	struct strbuf fields;
};

static void try_finish(struct mauth_session *s);

/* ---- reverse DNS ------------------------------------------------------ */

static void
rdns_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mauth_session *s = arg;
	void (*cb)(void *) = s->rdns_cb;

	(void)fd;
	(void)what;
	s->rdns_cb = NULL;
	if (cb)
		cb(s->rdns_arg);
}

static void
iprev_done(const struct iprev_outcome *o, void *arg)
{
	struct mauth_session *s = arg;

	s->iprev = NULL;
	s->iprev_o = *o;
	s->iprev_done = true;
	if (s->rdns_cb)
		event_active(s->rdns_ev, 0, 0);
	try_finish(s);
}

struct mauth_session *
mauth_session_new(struct event_base *base, struct dns *dns,
		  const struct config *cfg, const struct sockaddr *peer)
{
	struct mauth_session *s = xcalloc(1, sizeof(*s));
	struct iprev_outcome now;

	s->base = base;
	s->dns = dns;
	s->cfg = cfg;
	if (peer->sa_family == AF_INET) {
		s->family = AF_INET;
		memcpy(s->ip, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	} else {
		s->family = AF_INET6;
		memcpy(s->ip, &((const struct sockaddr_in6 *)peer)->sin6_addr,
		       16);
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(s->ip, mapped, 12) == 0) {
			s->family = AF_INET;
			memmove(s->ip, s->ip + 12, 4);
		}
	}
	inet_ntop(s->family, s->ip, s->ip_text, sizeof(s->ip_text));
	s->rdns_ev = event_new(base, -1, 0, rdns_fire, s);
	s->iprev = iprev_start(dns, peer, cfg->mailauth_dns_timeout, iprev_done,
			       s, &now);
	if (!s->iprev) {
		s->iprev_o = now;
		s->iprev_done = true;
	}
	return s;
}

void
mauth_session_received_from(const struct mauth_session *s, const char *helo,
			    char *out, size_t cap, bool *ready_r)
{
	const char *name = s->iprev_done && s->iprev_o.result == IPREV_PASS
			       ? s->iprev_o.name
			       : "unknown";

	if (ready_r)
		*ready_r = s->iprev_done;
	if (s->family == AF_INET6)
		snprintf(out, cap, "%s (%s [IPv6:%s])", helo, name, s->ip_text);
	else
		snprintf(out, cap, "%s (%s [%s])", helo, name, s->ip_text);
}

void
mauth_session_when_rdns(struct mauth_session *s, void (*cb)(void *arg),
			void *arg)
{
	s->rdns_cb = cb;
	s->rdns_arg = arg;
	if (s->iprev_done)
		event_active(s->rdns_ev, 0, 0);
}

/* ---- SPF -------------------------------------------------------------- */

static void
spf_params(const struct mauth_session *s, const char *sender,
	   const char *domain, struct spf_eval_params *p)
{
	memset(p, 0, sizeof(*p));
	p->family = s->family;
	memcpy(p->ip, s->ip, 16);
	p->sender = sender;
	p->helo = s->helo;
	p->domain = domain;
	p->receiver = s->cfg->hostname;
	p->now = (uint64_t)time(NULL);
}

static void
helo_spf_done(const struct spf_outcome *o, void *arg)
{
	struct mauth_session *s = arg;

	s->spf_helo = NULL;
	s->helo_o = *o;
	s->helo_done = true;
	try_finish(s);
}

static void
mf_spf_done(const struct spf_outcome *o, void *arg)
{
	struct mauth_session *s = arg;

	s->spf_mf = NULL;
	s->mf_o = *o;
	s->mf_done = true;
	try_finish(s);
}

void
mauth_session_helo(struct mauth_session *s, const char *helo, bool check)
{
	struct spf_eval_params p;

	mauth_spf_cancel(s->spf_helo);
	s->spf_helo = NULL;
	snprintf(s->helo, sizeof(s->helo), "%s", helo);
	s->helo_checked = check && helo[0] != '[';
	s->helo_done = !s->helo_checked;
	if (!s->helo_checked)
		return;
	/* RFC 7208 §2.3: the HELO identity, as postmaster@HELO. */
	char sender[300];
	snprintf(sender, sizeof(sender), "postmaster@%s", helo);
	spf_params(s, sender, helo, &p);
	s->spf_helo = mauth_spf_start(s->dns, &p, s->cfg->mailauth_dns_timeout,
				      helo_spf_done, s, &s->helo_o);
	s->helo_done = s->spf_helo == NULL;
}

void
mauth_session_mail(struct mauth_session *s, const char *sender, bool check)
{
	struct spf_eval_params p;

	mauth_session_rset(s);
	snprintf(s->sender, sizeof(s->sender), "%s", sender);
	s->mf_checked = check;
	s->mf_done = !check;
	if (!check)
		return;
	/* §2.4: for <> the identity is postmaster@HELO. */
	const char *at = strrchr(sender, '@');
	const char *domain = sender[0] && at ? at + 1 : s->helo;
	spf_params(s, sender, domain, &p);
	s->spf_mf = mauth_spf_start(s->dns, &p, s->cfg->mailauth_dns_timeout,
				    mf_spf_done, s, &s->mf_o);
	s->mf_done = s->spf_mf == NULL;
}

/* ---- the message ------------------------------------------------------ */

static void
end_clear(struct mauth_session *s)
{
	mauth_dkim_cancel(s->dkim);
	s->dkim = NULL;
	mauth_dmarc_cancel(s->dmarc);
	s->dmarc = NULL;
	dmarc_eval_free(&s->de);
	if (s->deadline_ev)
		event_free(s->deadline_ev);
	if (s->finish_ev)
		event_free(s->finish_ev);
	s->deadline_ev = s->finish_ev = NULL;
	free(s->fields.p);
	memset(&s->fields, 0, sizeof(s->fields));
	s->ending = false;
	s->cb = NULL;
}

void
mauth_session_rset(struct mauth_session *s)
{
	end_clear(s);
	mauth_spf_cancel(s->spf_mf);
	s->spf_mf = NULL;
	s->mf_checked = false;
	s->mf_done = true;
	mauth_msg_free(&s->msg);
}

void
mauth_session_abort(struct mauth_session *s)
{
	mauth_session_rset(s);
}

void
mauth_session_data(struct mauth_session *s, bool check, bool sign)
{
	mauth_msg_free(&s->msg);
	s->check = check;
	s->sign = sign;
	/* Our own users' mail is not checked, but a forged claim of our
	 * name is dropped from every message. */
	s->msg = mauth_msg_new(check, sign, s->cfg->hostname, time(NULL));
}

void
mauth_session_feed(struct mauth_session *s, const char *p, size_t len,
		   mauth_emit_fn *emit, void *arg)
{
	if (s->msg)
		mauth_msg_feed(s->msg, p, len, emit, arg);
	else
		emit(arg, p, len);
}

void
mauth_session_flush(struct mauth_session *s, mauth_emit_fn *emit, void *arg)
{
	if (s->msg)
		mauth_msg_end(s->msg, emit, arg);
}

static void
dkim_done(void *arg)
{
	struct mauth_session *s = arg;

	s->dkim = NULL;
	s->dkim_done = true;
	try_finish(s);
}

static void
dmarc_done(void *arg)
{
	struct mauth_session *s = arg;

	s->dmarc = NULL;
	s->dmarc_done = true;
	try_finish(s);
}

static void
finish_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mauth_session *s = arg;
	mauth_session_end_cb *cb = s->cb;
	void *cb_arg = s->cb_arg;
	struct mauth_action a = s->action;
	struct strbuf f = s->fields;

	(void)fd;
	(void)what;
	memset(&s->fields, 0, sizeof(s->fields));
	end_clear(s);
	mauth_msg_free(&s->msg);
	/* The callback may free the session: nothing of s after it. */
	cb(cb_arg, &a, f.p ? f.p : "", f.len);
	free(f.p);
}

/* deadline - what is still out after the time allowed is temporary. */
static void
deadline_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mauth_session *s = arg;

	(void)fd;
	(void)what;
	if (!s->iprev_done) {
		iprev_cancel(s->iprev);
		s->iprev = NULL;
		s->iprev_done = true;
		s->iprev_o.result = IPREV_TEMPERROR;
		s->iprev_o.name[0] = '\0';
	}
	if (!s->helo_done) {
		mauth_spf_cancel(s->spf_helo);
		s->spf_helo = NULL;
		s->helo_done = true;
		s->helo_o.result = SPF_RES_TEMPERROR;
		snprintf(s->helo_o.why, sizeof(s->helo_o.why), "timed out");
	}
	if (!s->mf_done) {
		mauth_spf_cancel(s->spf_mf);
		s->spf_mf = NULL;
		s->mf_done = true;
		s->mf_o.result = SPF_RES_TEMPERROR;
		snprintf(s->mf_o.why, sizeof(s->mf_o.why), "timed out");
	}
	if (!s->dkim_done) {
		/* The verifier keeps pending signatures as they were:
		 * dkim_verify_key with a temporary failure closes them. */
		mauth_dkim_cancel(s->dkim);
		s->dkim = NULL;
		struct dkim_verify *v = mauth_msg_verify(s->msg);
		for (size_t i = 0; v && i < dkim_verify_count(v); i++)
			if (dkim_verify_key_name(v, i))
				dkim_verify_key(v, i, DKIM_DNS_TEMP, NULL, NULL,
						0);
		s->dkim_done = true;
	}
	if (!s->dmarc_done) {
		mauth_dmarc_cancel(s->dmarc);
		s->dmarc = NULL;
		if (s->de)
			dmarc_eval_answer(s->de, DMARC_DNS_TEMP, NULL, NULL, 0);
		s->dmarc_done = true;
	}
	try_finish(s);
}

/*
 * helo_check - the HELO argument against the client: an address literal
 * is its address or not; a name is the forward-confirmed reverse DNS
 * name or not. RFC 5321 §4.1.4 forbids refusing a mismatch, so it is
 * only recorded (the Received: line shows all three, as Postfix's does;
 * the log says which way they compare).
 */
static const char *
helo_check(const struct mauth_session *s)
{
	const char *h = s->helo;

	if (h[0] == '[') {
		char lit[128];
		uint8_t a[16];
		bool v6 = strncasecmp(h + 1, "IPv6:", 5) == 0;
		snprintf(lit, sizeof(lit), "%s", h + (v6 ? 6 : 1));
		char *end = strchr(lit, ']');
		if (end)
			*end = '\0';
		int fam = v6 ? AF_INET6 : AF_INET;
		if (inet_pton(fam, lit, a) == 1 && fam == s->family &&
		    memcmp(a, s->ip, fam == AF_INET ? 4 : 16) == 0)
			return "literal-matches-ip";
		return "literal-differs";
	}
	if (s->iprev_o.result == IPREV_PASS &&
	    strcasecmp(h, s->iprev_o.name) == 0)
		return "matches-rdns";
	return s->iprev_o.result == IPREV_PASS ? "differs-from-rdns"
					       : "unverified";
}

static void
log_results(const struct mauth_session *s, const struct mauth_results *r)
{
	struct strbuf d = {0};

	for (size_t i = 0; i < r->n_dkim; i++) {
		if (i > 0)
			strbuf_adds(&d, ",");
		strbuf_adds(&d, dkim_result_name(r->dkim[i].result));
	}
	log_info("%s: auth: iprev=%s%s%s%s helo=%s spf=%s (queries=%u "
		 "lookups=%u) helo-spf=%s dkim=%s dmarc=%s%s%s",
		 s->id, iprev_result_name(r->iprev.result),
		 r->iprev.name[0] ? " (" : "", r->iprev.name,
		 r->iprev.name[0] ? ")" : "", helo_check(s),
		 spf_result_name(r->spf.result), r->spf.queries, r->spf.lookups,
		 r->helo_checked ? spf_result_name(r->spf_helo.result) : "-",
		 d.p ? d.p : "none",
		 r->dmarc_checked ? dmarc_result_name(r->dmarc.result) : "-",
		 r->dmarc_checked ? " header.from=" : "",
		 r->dmarc_checked ? r->dmarc.from : "");
	free(d.p);
}

/* decide - every check is in: the verdict and the fields. */
static void
decide(struct mauth_session *s)
{
	struct mauth_results r;
	struct dkim_verdict *verdicts = NULL;
	const char *passing[DKIM_VERIFY_MAX];
	size_t n_pass = 0;
	struct dkim_verify *v = mauth_msg_verify(s->msg);

	memset(&r, 0, sizeof(r));
	r.authserv_id = s->cfg->hostname;
	r.ip = s->ip_text;
	r.iprev = s->iprev_o;
	r.mailfrom = s->sender;
	r.helo = s->helo;
	r.spf = s->mf_o;
	r.helo_checked = s->helo_checked;
	r.spf_helo = s->helo_o;
	r.spf_enforce = s->cfg->spf_enforce;
	r.dmarc_enforce = s->cfg->dmarc_enforce;
	if (v && dkim_verify_count(v) > 0) {
		r.n_dkim = dkim_verify_count(v);
		verdicts = xcalloc(r.n_dkim, sizeof(*verdicts));
		for (size_t i = 0; i < r.n_dkim; i++) {
			verdicts[i] = *dkim_verify_verdict(v, i);
			if (verdicts[i].result == DKIM_PASS)
				passing[n_pass++] = verdicts[i].d;
		}
		r.dkim = verdicts;
	}
	if (s->de) {
		const char *at = strrchr(s->sender, '@');
		struct dmarc_auth a = {
		    .spf = s->mf_o.result,
		    .spf_domain = s->sender[0] && at ? at + 1 : s->helo,
		    .n_dkim = n_pass,
		    .dkim_domains = passing,
		};
		dmarc_eval_finish(s->de, &a, (unsigned)(arc4random() % 100),
				  &r.dmarc);
		r.dmarc_checked = true;
	}
	mauth_policy_decide(&r, &s->action);
	mauth_policy_header(&r, &s->fields);
	log_results(s, &r);
	if (mauth_msg_removed(s->msg) > 0)
		log_info("%s: removed %u Authentication-Results field(s) "
			 "claiming %s",
			 s->id, mauth_msg_removed(s->msg), s->cfg->hostname);
	if (s->action.code != 0)
		log_info("%s: reject: %d %s %s", s->id, s->action.code,
			 s->action.enhanced, s->action.text);
	free(verdicts);
}

static void
try_finish(struct mauth_session *s)
{
	if (!s->ending || !s->finish_ev)
		return;
	if (!s->iprev_done || !s->helo_done || !s->mf_done || !s->dkim_done ||
	    !s->dmarc_done)
		return;
	evtimer_del(s->deadline_ev);
	if (s->check)
		decide(s);
	event_active(s->finish_ev, 0, 0);
	s->ending = false; /* decided: later events change nothing */
}

void
mauth_session_end(struct mauth_session *s, const char *id,
		  const char *sender_domain, mauth_emit_fn *emit,
		  void *emit_arg, mauth_session_end_cb *cb, void *arg)
{
	unsigned to = s->cfg->mailauth_dns_timeout;
	/* SPF may chain ten look-ups; past this everything left is a
	 * temporary failure (RFC 7208 §4.6.4 suggests 20 s for SPF). */
	struct timeval tv = {.tv_sec = 2 * (time_t)to + 2};

	end_clear(s);
	memset(&s->action, 0, sizeof(s->action));
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->sender_domain, sizeof(s->sender_domain), "%s",
		 sender_domain ? sender_domain : "");
	s->cb = cb;
	s->cb_arg = arg;
	s->finish_ev = event_new(s->base, -1, 0, finish_fire, s);
	s->deadline_ev = evtimer_new(s->base, deadline_fire, s);
	if (!s->msg)
		s->msg = mauth_msg_new(false, false, NULL, time(NULL));
	mauth_msg_end(s->msg, emit, emit_arg);
	s->dkim_done = s->dmarc_done = true;
	if (mauth_msg_head_too_big(s->msg)) {
		s->action.code = 552;
		s->action.enhanced = "5.3.4";
		snprintf(s->action.text, sizeof(s->action.text),
			 "Message header section exceeds %d KiB",
			 MAUTH_HEAD_MAX / 1024);
		log_info("%s: reject: header section over %d KiB", id,
			 MAUTH_HEAD_MAX / 1024);
		s->check = s->sign = false;
		s->ending = true;
		try_finish(s);
		return;
	}
	if (s->sign) {
		char d[MAUTH_NAME_MAX + 1];
		size_t n = mauth_msg_sign(s->msg, s->cfg->data_dir,
					  s->sender_domain, &s->fields, d);
		if (n > 0)
			log_info("%s: dkim-signed d=%s (%zu signature%s)", id,
				 d, n, n > 1 ? "s" : "");
	}
	if (s->check) {
		struct dkim_verify *v = mauth_msg_verify(s->msg);
		char from[MAUTH_NAME_MAX + 1];
		if (v) {
			s->dkim = mauth_dkim_start(s->dns, v, to, dkim_done, s);
			s->dkim_done = s->dkim == NULL;
		}
		if (mauth_msg_from_domain(s->msg, from) == 0) {
			s->de = dmarc_eval_new(from);
			s->dmarc =
			    mauth_dmarc_start(s->dns, s->de, to, dmarc_done, s);
			s->dmarc_done = s->dmarc == NULL;
		}
	}
	s->ending = true;
	evtimer_add(s->deadline_ev, &tv);
	try_finish(s);
}

void
mauth_session_free(struct mauth_session **sp)
{
	struct mauth_session *s = *sp;

	if (!s)
		return;
	*sp = NULL;
	mauth_session_rset(s);
	iprev_cancel(s->iprev);
	mauth_spf_cancel(s->spf_helo);
	if (s->rdns_ev)
		event_free(s->rdns_ev);
	free(s);
}
