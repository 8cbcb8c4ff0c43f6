#include "mailauth/spf_eval.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "mailauth/mauth_name.h"
#include "mailauth/spf_macro.h"
#include "mailauth/spf_record.h"
#include "util/xalloc.h"

/* More distinct queries than this in one check: something is looping. */
#define MAX_QUERIES 200
#define MAX_NAMES   10 /* §4.6.4: MX and PTR names used per mechanism */

struct entry {
	char name[256];
	int type;
	bool answered;
	enum spf_dns status;
	size_t n;
	struct spf_rr *rrs; /* data in blob */
	char *blob;
};

/* Internal results: the RFC's, plus "an answer is missing". */
enum r {
	R_NONE = SPF_RES_NONE,
	R_NEUTRAL = SPF_RES_NEUTRAL,
	R_PASS = SPF_RES_PASS,
	R_FAIL = SPF_RES_FAIL,
	R_SOFTFAIL = SPF_RES_SOFTFAIL,
	R_TEMPERROR = SPF_RES_TEMPERROR,
	R_PERMERROR = SPF_RES_PERMERROR,
	R_MISS,
	R_MATCH,
	R_NOMATCH,
};

struct exp_info {
	char domain[256];
	char spec[512];
	bool set;
};

struct spf_eval {
	struct spf_eval_params p;
	char sender[512], local[256], sender_domain[256], helo[256];
	char receiver[256], ip_dotted[80], ip_text[64], rev[80];
	char domain[256];
	size_t n_entries, cap_entries;
	struct entry *entries;
	size_t n_want;
	struct spf_query want[64];
	bool want_overflow;
	/* per run */
	unsigned lookups, voids;
	bool done;
	struct spf_outcome out;
};

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = {
	    "none",	"neutral",   "pass",	  "fail",
	    "softfail", "temperror", "permerror",
	};
	return names[r];
}

/* ---- the answer cache ------------------------------------------------- */

static struct entry *
find(struct spf_eval *e, const char *name, int type)
{
	for (size_t i = 0; i < e->n_entries; i++)
		if (e->entries[i].type == type &&
		    strcasecmp(e->entries[i].name, name) == 0)
			return &e->entries[i];
	return NULL;
}

/*
 * lookup - the answer to (name, type), or NULL if it is not in yet: the
 * query is then added to the run's wants (the caller goes on gathering
 * what else it can ask, then returns R_MISS).
 */
static const struct entry *
lookup(struct spf_eval *e, const char *name, int type)
{
	struct entry *en = find(e, name, type);

	if (en && en->answered)
		return en;
	for (size_t i = 0; i < e->n_want; i++)
		if (e->want[i].type == type &&
		    strcasecmp(e->want[i].name, name) == 0)
			return NULL;
	if (e->n_want == sizeof(e->want) / sizeof(e->want[0])) {
		e->want_overflow = true;
		return NULL;
	}
	struct spf_query *q = &e->want[e->n_want++];
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->type = type;
	return NULL;
}

void
spf_eval_answer(struct spf_eval *e, const char *name, int type,
		enum spf_dns status, const struct spf_rr *rrs, size_t n)
{
	struct entry *en = find(e, name, type);
	size_t total = 0;

	if (!en) {
		if (e->n_entries == e->cap_entries) {
			e->cap_entries =
			    e->cap_entries ? 2 * e->cap_entries : 16;
			e->entries = xrealloc(
			    e->entries, e->cap_entries * sizeof(*e->entries));
		}
		en = &e->entries[e->n_entries++];
		memset(en, 0, sizeof(*en));
		snprintf(en->name, sizeof(en->name), "%s", name);
		en->type = type;
	}
	if (en->answered)
		return;
	en->answered = true;
	en->status = status;
	if (status != SPF_DNS_OK)
		n = 0;
	for (size_t i = 0; i < n; i++)
		total += rrs[i].len + 1;
	en->rrs = xcalloc(n ? n : 1, sizeof(*en->rrs));
	en->blob = xmalloc(total ? total : 1);
	en->n = n;
	for (size_t i = 0, off = 0; i < n; i++) {
		memcpy(en->blob + off, rrs[i].data, rrs[i].len);
		en->blob[off + rrs[i].len] = '\0';
		en->rrs[i].data = en->blob + off;
		en->rrs[i].len = rrs[i].len;
		off += rrs[i].len + 1;
	}
}

/* ---- helpers ---------------------------------------------------------- */

static bool
is_void(const struct entry *en)
{
	return en->status == SPF_DNS_NXDOMAIN ||
	       (en->status == SPF_DNS_OK && en->n == 0);
}

/* addr_match - does the client's address fall in addr/bits? */
static bool
addr_match(const struct spf_eval *e, const void *addr, size_t len,
	   unsigned bits)
{
	const uint8_t *a = addr, *b = e->p.ip;
	size_t want = e->p.family == AF_INET ? 4 : 16;

	if (len != want)
		return false;
	for (size_t i = 0; i < want && bits > 0; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		uint8_t mask = (uint8_t)(0xff << (8 - take));
		if ((a[i] & mask) != (b[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

static int
addr_type(const struct spf_eval *e)
{
	return e->p.family == AF_INET ? SPF_T_A : SPF_T_AAAA;
}

/*
 * valid_target - a name we would look up: two labels or more, each 1-63
 * octets, 253 in all, of printable ASCII (an expanded macro may hold
 * any, and the DNS carries any octet; RFC 7208 test "macro-mania").
 */
static bool
valid_target(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 1;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > MAUTH_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			labels++;
		} else if (c < 0x20 || c > 0x7e || ++label > 63) {
			return false;
		}
	}
	return label > 0 && labels >= 2;
}

/*
 * validated_names - §5.5: PTR names of the client whose A/AAAA records
 * lead back to it (the first 10 names only, §4.6.4). Returns R_MISS,
 * or R_MATCH with names[] filled (maybe none).
 */
static enum r
validated_names(struct spf_eval *e, const char *names[MAX_NAMES], size_t *n_r,
		bool *ptr_void_r)
{
	const struct entry *ptr = lookup(e, e->rev, SPF_T_PTR);
	bool miss = false;

	*n_r = 0;
	if (ptr_void_r)
		*ptr_void_r = false;
	if (!ptr)
		return R_MISS;
	if (ptr->status != SPF_DNS_OK)
		return R_MATCH; /* an error or none: no names */
	if (ptr_void_r)
		*ptr_void_r = ptr->n == 0;
	for (size_t i = 0; i < ptr->n && i < MAX_NAMES; i++) {
		const char *name = ptr->rrs[i].data;
		if (!valid_target(name))
			continue;
		const struct entry *a = lookup(e, name, addr_type(e));
		if (!a) {
			miss = true;
			continue;
		}
		for (size_t k = 0; k < a->n; k++)
			if (addr_match(e, a->rrs[k].data, a->rrs[k].len,
				       e->p.family == AF_INET ? 32 : 128)) {
				names[(*n_r)++] = name;
				break;
			}
	}
	return miss ? R_MISS : R_MATCH;
}

/* p_macro - §7.3 %{p}: a validated name, one within domain preferred. */
static enum r
p_macro(struct spf_eval *e, const char *domain, char out[256])
{
	const char *names[MAX_NAMES];
	size_t n;

	if (validated_names(e, names, &n, NULL) == R_MISS)
		return R_MISS;
	snprintf(out, 256, "unknown");
	for (size_t i = 0; i < n; i++)
		if (mauth_name_within(names[i], domain)) {
			snprintf(out, 256, "%s", names[i]);
			return R_MATCH;
		}
	if (n > 0)
		snprintf(out, 256, "%s", names[0]);
	return R_MATCH;
}

static void
ctx_init(struct spf_eval *e, const char *domain, struct spf_macro_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->sender = e->sender;
	c->local = e->local;
	c->sender_domain = e->sender_domain;
	c->domain = domain;
	c->ip = e->ip_dotted;
	c->ip_text = e->ip_text;
	c->v = e->p.family == AF_INET ? "in-addr" : "ip6";
	c->helo = e->helo;
	c->receiver = e->receiver;
	c->t = e->p.now;
}

/* expand - a domain-spec of the record at domain; %{p} looked up. */
static enum r
expand(struct spf_eval *e, const char *domain, const char *spec, size_t len,
       char out[256])
{
	struct spf_macro_ctx c;
	char p[256];

	ctx_init(e, domain, &c);
	enum spf_macro_status st = spf_macro_domain(spec, len, &c, out);
	if (st == SPF_MACRO_NEED_P) {
		if (p_macro(e, domain, p) == R_MISS)
			return R_MISS;
		c.p = p;
		st = spf_macro_domain(spec, len, &c, out);
	}
	return st == SPF_MACRO_OK ? R_MATCH : R_PERMERROR;
}

static enum r
fail_why(struct spf_eval *e, enum r r, const char *why)
{
	if (e->out.why[0] == '\0')
		snprintf(e->out.why, sizeof(e->out.why), "%s", why);
	return r;
}

/* count_lookup - §4.6.4: one more DNS-causing term. */
static bool
count_lookup(struct spf_eval *e)
{
	return ++e->lookups <= SPF_MAX_LOOKUPS;
}

static bool
count_void(struct spf_eval *e)
{
	return ++e->voids <= SPF_MAX_VOIDS;
}

static enum r check_host(struct spf_eval *e, const char *domain, int depth,
			 struct exp_info *exp);

/* ---- mechanisms (§5) -------------------------------------------------- */

/*
 * answer_state - what an answer means before its records are looked
 * at: R_MISS (not in), R_TEMPERROR, R_NOMATCH for a void answer that
 * the limit allows (R_PERMERROR past it), R_MATCH: records to look at.
 */
static enum r
answer_state(struct spf_eval *e, const struct entry *en)
{
	if (!en)
		return R_MISS;
	if (en->status == SPF_DNS_TEMP)
		return fail_why(e, R_TEMPERROR, "DNS failure");
	if (is_void(en))
		return count_void(e)
			   ? R_NOMATCH
			   : fail_why(e, R_PERMERROR, "too many void look-ups");
	return R_MATCH;
}

static enum r
mech_addrs(struct spf_eval *e, const char *target, const struct spf_mech *m)
{
	const struct entry *en = lookup(e, target, addr_type(e));
	unsigned bits = e->p.family == AF_INET ? m->cidr4 : m->cidr6;
	enum r st = answer_state(e, en);

	if (st != R_MATCH)
		return st;
	for (size_t i = 0; i < en->n; i++)
		if (addr_match(e, en->rrs[i].data, en->rrs[i].len, bits))
			return R_MATCH;
	return R_NOMATCH;
}

static enum r
mech_mx(struct spf_eval *e, const char *target, const struct spf_mech *m)
{
	const struct entry *mx = lookup(e, target, SPF_T_MX);
	unsigned bits = e->p.family == AF_INET ? m->cidr4 : m->cidr6;
	bool miss = false, temp = false;
	enum r st = answer_state(e, mx);

	if (st != R_MATCH)
		return st;
	if (mx->n > MAX_NAMES)
		return fail_why(e, R_PERMERROR, "more than 10 MX records");
	for (size_t i = 0; i < mx->n; i++) {
		const char *host = mx->rrs[i].data;
		if (!valid_target(host))
			continue; /* the null MX "." among others */
		const struct entry *a = lookup(e, host, addr_type(e));
		if (!a) {
			miss = true;
			continue;
		}
		if (a->status == SPF_DNS_TEMP)
			temp = true;
		for (size_t k = 0; k < a->n; k++)
			if (addr_match(e, a->rrs[k].data, a->rrs[k].len, bits))
				return R_MATCH;
	}
	if (miss)
		return R_MISS;
	return temp ? fail_why(e, R_TEMPERROR, "DNS failure") : R_NOMATCH;
}

static enum r
mech_ptr(struct spf_eval *e, const char *target)
{
	const char *names[MAX_NAMES];
	size_t n;
	bool v;

	if (validated_names(e, names, &n, &v) == R_MISS)
		return R_MISS;
	if (v && !count_void(e))
		return fail_why(e, R_PERMERROR, "too many void look-ups");
	for (size_t i = 0; i < n; i++)
		if (mauth_name_within(names[i], target))
			return R_MATCH;
	return R_NOMATCH;
}

static enum r
mech_include(struct spf_eval *e, const char *target, int depth)
{
	enum r r = check_host(e, target, depth + 1, NULL);

	switch (r) {
	case R_PASS:
		return R_MATCH;
	case R_FAIL:
	case R_SOFTFAIL:
	case R_NEUTRAL:
		return R_NOMATCH;
	case R_NONE:
		/* §5.2: an include without a record is a permerror. */
		return fail_why(e, R_PERMERROR, "include without SPF record");
	default:
		return r; /* temperror, permerror, miss */
	}
}

static enum r
mech_exists(struct spf_eval *e, const char *target)
{
	/* §5.7: any A record is a match, whatever its address. */
	return answer_state(e, lookup(e, target, SPF_T_A));
}

static enum r
eval_mech(struct spf_eval *e, const char *domain, const struct spf_mech *m,
	  int depth)
{
	char target[256];

	switch (m->kind) {
	case SPF_ALL:
		return R_MATCH;
	case SPF_IP4:
		return e->p.family == AF_INET &&
			       addr_match(e, m->ip, 4, m->cidr4)
			   ? R_MATCH
			   : R_NOMATCH;
	case SPF_IP6:
		return e->p.family == AF_INET6 &&
			       addr_match(e, m->ip, 16, m->cidr6)
			   ? R_MATCH
			   : R_NOMATCH;
	default:
		break;
	}
	if (!count_lookup(e))
		return fail_why(e, R_PERMERROR, "more than 10 DNS look-ups");
	if (m->spec) {
		enum r r = expand(e, domain, m->spec, m->spec_len, target);
		if (r != R_MATCH)
			return r == R_PERMERROR ? fail_why(e, r, "bad macro")
						: r;
	} else {
		snprintf(target, sizeof(target), "%s", domain);
	}
	/* An expansion that is no DNS name matches nothing (§4.8). */
	if (!valid_target(target))
		return m->kind == SPF_INCLUDE
			   ? fail_why(e, R_PERMERROR, "bad include target")
			   : R_NOMATCH;
	switch (m->kind) {
	case SPF_A:
		return mech_addrs(e, target, m);
	case SPF_MX:
		return mech_mx(e, target, m);
	case SPF_PTR:
		return mech_ptr(e, target);
	case SPF_INCLUDE:
		return mech_include(e, target, depth);
	case SPF_EXISTS:
		return mech_exists(e, target);
	default:
		return R_NOMATCH;
	}
}

static enum r
qual_result(char q)
{
	switch (q) {
	case '-':
		return R_FAIL;
	case '~':
		return R_SOFTFAIL;
	case '?':
		return R_NEUTRAL;
	default:
		return R_PASS;
	}
}

/* ---- check_host (§4) -------------------------------------------------- */

static enum r
check_host(struct spf_eval *e, const char *domain, int depth,
	   struct exp_info *exp)
{
	const struct entry *txt;
	const struct spf_rr *rec = NULL;
	size_t n_spf = 0;
	enum r r = R_NEUTRAL;

	/* §4.3: a malformed or single-label domain has no record. */
	if (!valid_target(domain))
		return R_NONE;
	if (!(txt = lookup(e, domain, SPF_T_TXT)))
		return R_MISS;
	if (txt->status == SPF_DNS_TEMP)
		return fail_why(e, R_TEMPERROR, "DNS failure fetching record");
	for (size_t i = 0; i < txt->n; i++)
		if (spf_record_is_spf1(txt->rrs[i].data, txt->rrs[i].len)) {
			rec = &txt->rrs[i];
			n_spf++;
		}
	if (n_spf == 0)
		return R_NONE;
	if (n_spf > 1)
		return fail_why(e, R_PERMERROR, "more than one SPF record");

	struct spf_record *sr = xmalloc(sizeof(*sr));
	const char *why = NULL;
	if (spf_record_parse(rec->data, rec->len, sr, &why) < 0) {
		free(sr);
		return fail_why(e, R_PERMERROR, why);
	}
	for (size_t i = 0; i < sr->n; i++) {
		const struct spf_mech *m = &sr->m[i];
		enum r mr = eval_mech(e, domain, m, depth);
		if (mr == R_NOMATCH)
			continue;
		if (mr == R_MATCH) {
			r = qual_result(m->qual);
			if (depth == 0 || exp) {
				snprintf(e->out.mechanism,
					 sizeof(e->out.mechanism), "%.*s",
					 (int)m->text_len, m->text);
			}
			if (r == R_FAIL && exp && sr->exp) {
				exp->set = true;
				snprintf(exp->domain, sizeof(exp->domain), "%s",
					 domain);
				snprintf(exp->spec, sizeof(exp->spec), "%.*s",
					 (int)sr->exp_len, sr->exp);
			}
		} else {
			r = mr;
		}
		free(sr);
		return r;
	}
	/* §6.1: no mechanism matched; redirect= takes over. */
	if (sr->redirect) {
		char target[256];
		if (!count_lookup(e)) {
			free(sr);
			return fail_why(e, R_PERMERROR,
					"more than 10 DNS look-ups");
		}
		r = expand(e, domain, sr->redirect, sr->redirect_len, target);
		free(sr);
		if (r == R_MISS || r == R_PERMERROR)
			return r == R_PERMERROR ? fail_why(e, r, "bad redirect")
						: r;
		r = check_host(e, target, depth + 1, exp);
		if (r == R_NONE)
			return fail_why(e, R_PERMERROR,
					"redirect to a domain without SPF");
		return r;
	}
	free(sr);
	if (depth == 0 || exp)
		snprintf(e->out.mechanism, sizeof(e->out.mechanism), "default");
	return R_NEUTRAL;
}

/*
 * explain - §6.2: the exp= text, macro-expanded, when everything about
 * it works out; any error leaves the explanation empty. Returns R_MISS
 * while its look-ups are out.
 */
static enum r
explain(struct spf_eval *e, const struct exp_info *x)
{
	char target[256], p[256];
	struct spf_macro_ctx c;

	enum r r = expand(e, x->domain, x->spec, strlen(x->spec), target);
	if (r != R_MATCH || !valid_target(target))
		return r == R_MISS ? R_MISS : R_MATCH;
	const struct entry *txt = lookup(e, target, SPF_T_TXT);
	if (!txt)
		return R_MISS;
	if (txt->status != SPF_DNS_OK || txt->n != 1)
		return R_MATCH;
	ctx_init(e, x->domain, &c);
	enum spf_macro_status st =
	    spf_macro_expand(txt->rrs[0].data, txt->rrs[0].len, &c, true,
			     e->out.explanation, sizeof(e->out.explanation));
	if (st == SPF_MACRO_NEED_P) {
		if (p_macro(e, x->domain, p) == R_MISS) {
			e->out.explanation[0] = '\0';
			return R_MISS;
		}
		c.p = p;
		st = spf_macro_expand(txt->rrs[0].data, txt->rrs[0].len, &c,
				      true, e->out.explanation,
				      sizeof(e->out.explanation));
	}
	if (st != SPF_MACRO_OK)
		e->out.explanation[0] = '\0';
	return R_MATCH;
}

bool
spf_eval_run(struct spf_eval *e)
{
	struct exp_info x = {0};
	enum r r;

	if (e->done)
		return true;
	e->n_want = 0;
	e->want_overflow = false;
	e->lookups = e->voids = 0;
	memset(&e->out, 0, sizeof(e->out));
	r = check_host(e, e->p.domain, 0, &x);
	if (r == R_FAIL && x.set && explain(e, &x) == R_MISS)
		r = R_MISS;
	e->out.lookups = e->lookups;
	e->out.voids = e->voids;
	e->out.queries = (unsigned)e->n_entries;
	if (r == R_MISS && (e->want_overflow || e->n_entries > MAX_QUERIES)) {
		r = fail_why(e, R_PERMERROR, "too many DNS queries");
		e->n_want = 0;
	}
	if (r == R_MISS)
		return false;
	e->out.result = (enum spf_result)r;
	e->n_want = 0;
	e->done = true;
	return true;
}

size_t
spf_eval_n_queries(const struct spf_eval *e)
{
	return e->n_want;
}

const struct spf_query *
spf_eval_query(const struct spf_eval *e, size_t i)
{
	return i < e->n_want ? &e->want[i] : NULL;
}

const struct spf_outcome *
spf_eval_outcome(const struct spf_eval *e)
{
	return &e->out;
}

/* reverse_names - %{i} and the PTR owner (§7.3, RFC 3596 §2.5). */
static void
reverse_names(struct spf_eval *e)
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *a = e->p.ip;

	if (e->p.family == AF_INET) {
		snprintf(e->ip_dotted, sizeof(e->ip_dotted), "%u.%u.%u.%u",
			 a[0], a[1], a[2], a[3]);
		mauth_reverse_name(AF_INET, a, e->rev);
		inet_ntop(AF_INET, a, e->ip_text, sizeof(e->ip_text));
		return;
	}
	size_t w = 0;
	for (int i = 0; i < 16; i++) {
		e->ip_dotted[w++] = hex[a[i] >> 4];
		e->ip_dotted[w++] = '.';
		e->ip_dotted[w++] = hex[a[i] & 15];
		e->ip_dotted[w++] = '.';
	}
	e->ip_dotted[w - 1] = '\0';
	mauth_reverse_name(AF_INET6, a, e->rev);
	inet_ntop(AF_INET6, a, e->ip_text, sizeof(e->ip_text));
}

struct spf_eval *
spf_eval_new(const struct spf_eval_params *p)
{
	struct spf_eval *e = xcalloc(1, sizeof(*e));
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};

	e->p = *p;
	/* An IPv4-mapped IPv6 client is the IPv4 client it maps. */
	if (p->family == AF_INET6 && memcmp(p->ip, mapped, 12) == 0) {
		e->p.family = AF_INET;
		memmove(e->p.ip, p->ip + 12, 4);
	}
	snprintf(e->helo, sizeof(e->helo), "%s", p->helo ? p->helo : "");
	snprintf(e->receiver, sizeof(e->receiver), "%s",
		 p->receiver ? p->receiver : "unknown");
	/* §4.3: no sender (<>) is postmaster@HELO; no local part is
	 * "postmaster". */
	const char *s = p->sender && p->sender[0] ? p->sender : NULL;
	const char *at = s ? strrchr(s, '@') : NULL;
	if (!s) {
		snprintf(e->local, sizeof(e->local), "postmaster");
		snprintf(e->sender_domain, sizeof(e->sender_domain), "%s",
			 e->helo);
	} else if (!at) {
		snprintf(e->local, sizeof(e->local), "postmaster");
		snprintf(e->sender_domain, sizeof(e->sender_domain), "%s", s);
	} else {
		snprintf(e->local, sizeof(e->local), "%.*s",
			 at == s ? 10 : (int)(at - s),
			 at == s ? "postmaster" : s);
		snprintf(e->sender_domain, sizeof(e->sender_domain), "%s",
			 at + 1);
	}
	snprintf(e->sender, sizeof(e->sender), "%s@%s", e->local,
		 e->sender_domain);
	snprintf(e->domain, sizeof(e->domain), "%s",
		 p->domain ? p->domain : "");
	size_t dl = strlen(e->domain);
	if (dl > 0 && e->domain[dl - 1] == '.')
		e->domain[dl - 1] = '\0';
	/* The caller's strings need not outlive this call. */
	e->p.domain = e->domain;
	e->p.sender = e->sender;
	e->p.helo = e->helo;
	e->p.receiver = e->receiver;
	reverse_names(e);
	return e;
}

void
spf_eval_free(struct spf_eval **ep)
{
	struct spf_eval *e = *ep;

	if (!e)
		return;
	*ep = NULL;
	for (size_t i = 0; i < e->n_entries; i++) {
		free(e->entries[i].rrs);
		free(e->entries[i].blob);
	}
	free(e->entries);
	free(e);
}
