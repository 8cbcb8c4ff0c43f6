#include "mailauth/mauth_policy.h"

#include <stdio.h>
#include <string.h>

#include "mailauth/auth_results.h"
#include "util/strbuf.h"

/* may_be_temporary - a DMARC failure that a retry could turn. */
static bool
may_be_temporary(const struct mauth_results *r)
{
	if (r->spf.result == SPF_RES_TEMPERROR)
		return true;
	for (size_t i = 0; i < r->n_dkim; i++)
		if (r->dkim[i].result == DKIM_TEMPERROR)
			return true;
	return false;
}

void
mauth_policy_decide(const struct mauth_results *r, struct mauth_action *a)
{
	bool dmarc_pass = r->dmarc_checked && r->dmarc.result == DMARC_PASS;

	memset(a, 0, sizeof(*a));
	if (r->dmarc_enforce && r->dmarc_checked) {
		const struct dmarc_outcome *d = &r->dmarc;
		if (d->result == DMARC_TEMPERROR) {
			a->code = 451;
			a->enhanced = "4.7.5";
			snprintf(a->text, sizeof(a->text),
				 "DMARC: temporary DNS failure looking up the "
				 "policy of %s; try again later",
				 d->from);
			return;
		}
		if (d->result == DMARC_FAIL &&
		    d->applied == DMARC_POLICY_REJECT) {
			if (may_be_temporary(r)) {
				a->code = 451;
				a->enhanced = "4.7.5";
				snprintf(a->text, sizeof(a->text),
					 "DMARC: cannot authenticate %s now "
					 "(temporary DNS failure); try again "
					 "later",
					 d->from);
			} else {
				a->code = 550;
				a->enhanced = "5.7.1";
				snprintf(
				    a->text, sizeof(a->text),
				    "DMARC: the policy of %s rejects this "
				    "message (no aligned SPF or DKIM pass)",
				    d->from);
			}
			return;
		}
	}
	if (r->spf_enforce && !dmarc_pass) {
		const char *who = r->mailfrom[0] ? r->mailfrom : r->helo;
		if (r->spf.result == SPF_RES_FAIL) {
			a->code = 550;
			a->enhanced = "5.7.23"; /* RFC 7372 §3.2 */
			if (r->spf.explanation[0])
				snprintf(a->text, sizeof(a->text),
					 "SPF: %s is not allowed to send for "
					 "%s: %s",
					 r->ip, who, r->spf.explanation);
			else
				snprintf(a->text, sizeof(a->text),
					 "SPF: %s is not allowed to send for "
					 "%s",
					 r->ip, who);
			return;
		}
		if (r->spf.result == SPF_RES_TEMPERROR) {
			a->code = 451;
			a->enhanced = "4.7.24"; /* RFC 7372 §3.3 */
			snprintf(a->text, sizeof(a->text),
				 "SPF: temporary DNS failure checking %s; try "
				 "again later",
				 who);
			return;
		}
	}
}

static void
add_spf(struct strbuf *sb, const struct spf_outcome *o, const char *ptype,
	const char *value)
{
	const char *props[] = {ptype, value, NULL};
	const char *reason =
	    o->result == SPF_RES_PERMERROR || o->result == SPF_RES_TEMPERROR
		? o->why
		: NULL;

	auth_results_add(sb, "spf", spf_result_name(o->result), reason, props);
}

void
mauth_policy_header(const struct mauth_results *r, struct strbuf *out)
{
	size_t n = 0;

	auth_results_begin(out, r->authserv_id);
	{
		/* RFC 8601 §3: iprev, the address as policy.iprev. */
		const char *props[] = {"policy.iprev", r->ip, NULL};
		char reason[300] = "";
		if (r->iprev.result == IPREV_PASS)
			snprintf(reason, sizeof(reason), "%s", r->iprev.name);
		auth_results_add(out, "iprev",
				 iprev_result_name(r->iprev.result),
				 reason[0] ? reason : NULL, props);
		n++;
	}
	char mf[600];
	snprintf(mf, sizeof(mf), "%s", r->mailfrom[0] ? r->mailfrom : "<>");
	add_spf(out, &r->spf, "smtp.mailfrom", mf);
	n++;
	if (r->helo_checked) {
		add_spf(out, &r->spf_helo, "smtp.helo", r->helo);
		n++;
	}
	if (r->n_dkim == 0) {
		auth_results_add(out, "dkim", "none", NULL, NULL);
		n++;
	}
	for (size_t i = 0; i < r->n_dkim; i++) {
		const struct dkim_verdict *v = &r->dkim[i];
		const char *props[] = {"header.d", v->d,       "header.s",
				       v->s,	   "header.a", v->a,
				       "header.b", v->b,       NULL};
		auth_results_add(out, "dkim", dkim_result_name(v->result),
				 v->why[0] ? v->why : NULL, props);
		n++;
	}
	if (r->dmarc_checked) {
		const struct dmarc_outcome *d = &r->dmarc;
		const char *props[] = {"header.from", d->from, NULL};
		char reason[160] = "";
		if (d->result == DMARC_FAIL)
			snprintf(reason, sizeof(reason), "%s; p=%s%s", d->why,
				 dmarc_policy_name(d->policy),
				 d->applied != d->policy ? ", pct not hit"
							 : "");
		else if (d->why[0])
			snprintf(reason, sizeof(reason), "%s", d->why);
		auth_results_add(out, "dmarc", dmarc_result_name(d->result),
				 reason[0] ? reason : NULL, props);
		n++;
	}
	auth_results_end(out, n);
}
