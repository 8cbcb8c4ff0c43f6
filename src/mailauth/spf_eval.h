/*
 * spf_eval - check_host() of RFC 7208 §4, as a pure function of DNS
 * answers: it never resolves anything itself. The caller (the SMTP
 * session, on petrel's asynchronous resolver; a unit test, from a
 * table) loops:
 *
 *     e = spf_eval_new(&params);
 *     while (!spf_eval_run(e))
 *         for each spf_eval_query(e, i): look it up, then
 *             spf_eval_answer(e, name, type, status, records...)
 *     spf_eval_outcome(e)
 *
 * Each run evaluates from the start against the answers known so far
 * and stops at the first one it lacks, asking for every query it can
 * already name (all MX hosts' addresses at once, say), so a check costs
 * as many round trips as its longest chain of dependent look-ups. A
 * rerun is cheap (parsing a few records) next to a DNS round trip, and
 * it keeps the evaluator a plain recursive function of the RFC's text.
 *
 * Limits (§4.6.4): at most 10 mechanisms and modifiers that cause DNS
 * look-ups (include, a, mx, ptr, exists, redirect), at most 2 of them
 * answering NXDOMAIN or nothing ("void look-ups"), at most 10 MX or PTR
 * names per mechanism; past those, permerror.
 */
#ifndef PETREL_MAILAUTH_SPF_EVAL_H
#define PETREL_MAILAUTH_SPF_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPF_T_A	   1
#define SPF_T_PTR  12
#define SPF_T_MX   15
#define SPF_T_TXT  16
#define SPF_T_AAAA 28

#define SPF_MAX_LOOKUPS 10
#define SPF_MAX_VOIDS	2

enum spf_result {
	SPF_RES_NONE,
	SPF_RES_NEUTRAL,
	SPF_RES_PASS,
	SPF_RES_FAIL,
	SPF_RES_SOFTFAIL,
	SPF_RES_TEMPERROR,
	SPF_RES_PERMERROR,
};

enum spf_dns {
	SPF_DNS_OK,	  /* records (maybe none of the type asked) */
	SPF_DNS_NXDOMAIN, /* the name does not exist */
	SPF_DNS_TEMP,	  /* time-out, SERVFAIL: temperror */
};

struct spf_eval_params {
	int family;	      /* AF_INET or AF_INET6 (mapped IPv4 is IPv4) */
	uint8_t ip[16];	      /* the client's address */
	const char *sender;   /* MAIL FROM address; "" for <> */
	const char *helo;     /* the EHLO/HELO argument */
	const char *domain;   /* the identity: sender's domain, or the HELO */
	const char *receiver; /* our host name (%{r}) */
	uint64_t now;	      /* %{t} */
};

struct spf_query {
	char name[256];
	int type; /* SPF_T_* */
};

/* One record of an answer: TXT text (strings joined), an A (4 octets)
 * or AAAA (16) address, an MX or PTR target name. */
struct spf_rr {
	const char *data;
	size_t len;
};

struct spf_outcome {
	enum spf_result result;
	char mechanism[128];   /* the term that matched, or "default" */
	char why[96];	       /* for permerror/temperror */
	char explanation[256]; /* from exp= on a fail, else "" */
	unsigned lookups;      /* DNS-causing terms evaluated */
	unsigned voids;
	unsigned queries; /* distinct DNS queries made */
};

struct spf_eval;

struct spf_eval *spf_eval_new(const struct spf_eval_params *p);

/* spf_eval_run - true when the outcome is final. */
bool spf_eval_run(struct spf_eval *e);

size_t spf_eval_n_queries(const struct spf_eval *e);
const struct spf_query *spf_eval_query(const struct spf_eval *e, size_t i);

/*
 * spf_eval_answer - the answer to (name, type); the records are copied.
 * type-mismatched records are the caller's to filter (give only A
 * addresses for an A query).
 */
void spf_eval_answer(struct spf_eval *e, const char *name, int type,
		     enum spf_dns status, const struct spf_rr *rrs, size_t n);

const struct spf_outcome *spf_eval_outcome(const struct spf_eval *e);

void spf_eval_free(struct spf_eval **ep);

/* spf_result_name - "pass", "fail", ... (RFC 7208 §2.6, RFC 8601). */
const char *spf_result_name(enum spf_result r);

#endif
