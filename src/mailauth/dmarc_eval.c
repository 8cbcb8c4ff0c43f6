#include "mailauth/dmarc_eval.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "util/xalloc.h"

enum phase { PH_FROM, PH_ORG, PH_DONE };

struct dmarc_eval {
	char from[MAUTH_NAME_MAX + 1], org[MAUTH_NAME_MAX + 1];
	char query[MAUTH_NAME_MAX + 8];
	enum phase phase;
	bool found, temp, bad, from_org; /* from_org: record is the org's */
	const char *why;
	struct dmarc_record rec;
};

const char *
dmarc_result_name(enum dmarc_result r)
{
	static const char *const names[] = {"none", "pass", "fail", "temperror",
					    "permerror"};
	return names[r];
}

/* The list is read once (psl_latest: the newer of libpsl's built-in
 * copy and Debian's /usr/share/publicsuffix) and kept for the process;
 * lookups on it are thread-safe. */
static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void
psl_init(void)
{
	psl = psl_latest(NULL);
	if (!psl)
		psl = psl_builtin();
}

void
dmarc_org_domain(const char *name, char out[MAUTH_NAME_MAX + 1])
{
	const char *reg = NULL;

	pthread_once(&psl_once, psl_init);
	if (psl)
		reg = psl_registrable_domain(psl, name);
	snprintf(out, MAUTH_NAME_MAX + 1, "%s", reg ? reg : name);
}

struct from_acc {
	int n;
	char domain[MAUTH_NAME_MAX + 1];
	bool bad;
};

static void
from_cb(const char *addr, size_t len, void *arg)
{
	struct from_acc *a = arg;
	const char *at = NULL;

	for (size_t i = len; i > 0; i--)
		if (addr[i - 1] == '@') {
			at = addr + i - 1;
			break;
		}
	if (a->n++ > 0)
		return;
	if (!at ||
	    !mauth_name_copy(at + 1, len - (size_t)(at + 1 - addr), a->domain))
		a->bad = true;
}

int
dmarc_from_domain(const struct dkim_head *h, char out[MAUTH_NAME_MAX + 1])
{
	struct from_acc a = {0};
	int fields = 0;

	for (size_t i = 0; i < h->n; i++) {
		if (!rfc5322_name_is(&h->f[i], "From"))
			continue;
		if (fields++ > 0)
			return -1;
		if (rfc5322_parse_addresses(h->f[i].value, h->f[i].value_len,
					    from_cb, &a) < 0)
			return -1;
	}
	if (fields == 0 || a.n == 0)
		return 1;
	if (a.n > 1 || a.bad)
		return -1;
	memcpy(out, a.domain, strlen(a.domain) + 1);
	return 0;
}

static void
set_query(struct dmarc_eval *e, const char *d)
{
	snprintf(e->query, sizeof(e->query), "_dmarc.%s", d);
}

struct dmarc_eval *
dmarc_eval_new(const char *from_domain)
{
	struct dmarc_eval *e = xcalloc(1, sizeof(*e));

	if (!mauth_name_copy(from_domain, strlen(from_domain), e->from)) {
		e->phase = PH_DONE;
		e->bad = true;
		e->why = "bad From domain";
		return e;
	}
	dmarc_org_domain(e->from, e->org);
	set_query(e, e->from);
	e->phase = PH_FROM;
	return e;
}

const char *
dmarc_eval_query(const struct dmarc_eval *e)
{
	return e->phase == PH_DONE ? NULL : e->query;
}

void
dmarc_eval_answer(struct dmarc_eval *e, enum dmarc_dns status,
		  const char *const *txt, const size_t *len, size_t n)
{
	size_t found = 0, which = 0;

	if (e->phase == PH_DONE)
		return;
	if (status == DMARC_DNS_TEMP) {
		e->temp = true;
		e->phase = PH_DONE;
		return;
	}
	for (size_t i = 0; status == DMARC_DNS_OK && i < n; i++)
		if (dmarc_record_is_dmarc1(txt[i], len[i])) {
			found++;
			which = i;
		}
	/* §6.6.3: exactly one record, else this name has no policy. */
	if (found == 1) {
		const char *why = NULL;
		if (dmarc_record_parse(txt[which], len[which], &e->rec, &why) ==
		    0) {
			e->found = true;
			e->from_org = e->phase == PH_ORG;
			e->phase = PH_DONE;
			return;
		}
		e->why = why;
	}
	if (e->phase == PH_FROM && strcmp(e->from, e->org) != 0) {
		set_query(e, e->org);
		e->phase = PH_ORG;
		return;
	}
	e->phase = PH_DONE;
}

/* aligned - §3.1: strict = the same name; relaxed = the same org. */
static bool
aligned(const char *from, const char *from_org, const char *id, bool strict)
{
	char org[MAUTH_NAME_MAX + 1], d[MAUTH_NAME_MAX + 1];

	if (!id || !mauth_name_copy(id, strlen(id), d))
		return false;
	if (strcmp(d, from) == 0)
		return true;
	if (strict)
		return false;
	dmarc_org_domain(d, org);
	return strcasecmp(org, from_org) == 0;
}

static enum dmarc_policy
milder(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE
					: DMARC_POLICY_NONE;
}

void
dmarc_eval_finish(const struct dmarc_eval *e, const struct dmarc_auth *a,
		  unsigned roll, struct dmarc_outcome *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->from, sizeof(out->from), "%s", e->from);
	if (e->bad) {
		out->result = DMARC_PERMERROR;
		snprintf(out->why, sizeof(out->why), "%s", e->why);
		return;
	}
	if (e->temp) {
		out->result = DMARC_TEMPERROR;
		snprintf(out->why, sizeof(out->why), "policy look-up failed");
		return;
	}
	if (!e->found) {
		out->result = DMARC_NONE;
		if (e->why)
			snprintf(out->why, sizeof(out->why), "%s", e->why);
		return;
	}
	out->spf_aligned =
	    a->spf == SPF_RES_PASS &&
	    aligned(e->from, e->org, a->spf_domain, e->rec.aspf_strict);
	for (size_t i = 0; i < a->n_dkim && !out->dkim_aligned; i++)
		out->dkim_aligned = aligned(e->from, e->org, a->dkim_domains[i],
					    e->rec.adkim_strict);
	/* §6.6.3 step 5: sp= for a subdomain whose policy is the org's. */
	out->policy = e->from_org ? e->rec.sp : e->rec.p;
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		out->applied = DMARC_POLICY_NONE;
		return;
	}
	out->result = DMARC_FAIL;
	out->applied = roll < e->rec.pct ? out->policy : milder(out->policy);
	snprintf(out->why, sizeof(out->why), "no aligned SPF or DKIM pass");
}

void
dmarc_eval_free(struct dmarc_eval **ep)
{
	free(*ep);
	*ep = NULL;
}
