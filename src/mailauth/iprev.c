#include "mailauth/iprev.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailauth/mauth_dns.h"
#include "util/xalloc.h"

#define MAX_NAMES 10

struct fwd {
	struct iprev *r;
	struct mauth_lookup *l;
	char name[MAUTH_NAME_MAX + 1];
	bool confirmed, temp;
};

struct iprev {
	struct dns *dns;
	unsigned timeout;
	iprev_cb *cb;
	void *arg;
	int family;
	uint8_t ip[16];
	struct mauth_lookup *ptr;
	size_t n, left;
	struct fwd fwd[MAX_NAMES];
};

const char *
iprev_result_name(enum iprev_result r)
{
	return r == IPREV_PASS	 ? "pass"
	       : r == IPREV_FAIL ? "fail"
				 : "temperror";
}

static void
finish(struct iprev *r, enum iprev_result res, const char *name)
{
	struct iprev_outcome o = {.result = res};
	iprev_cb *cb = r->cb;
	void *arg = r->arg;

	if (name)
		snprintf(o.name, sizeof(o.name), "%s", name);
	free(r);
	cb(&o, arg);
}

static void
fwd_done(enum mauth_dns_status status, const struct dns_wire_rr *rrs, size_t n,
	 void *arg)
{
	struct fwd *f = arg;
	struct iprev *r = f->r;
	size_t want = r->family == AF_INET ? 4 : 16;

	f->l = NULL;
	f->temp = status == MAUTH_DNS_TEMP;
	for (size_t i = 0; i < n; i++)
		if (rrs[i].len == want && memcmp(rrs[i].data, r->ip, want) == 0)
			f->confirmed = true;
	if (--r->left > 0)
		return;
	/* In PTR order: the first name that leads back. */
	bool temp = false;
	for (size_t i = 0; i < r->n; i++) {
		if (r->fwd[i].confirmed) {
			finish(r, IPREV_PASS, r->fwd[i].name);
			return;
		}
		temp = temp || r->fwd[i].temp;
	}
	finish(r, temp ? IPREV_TEMPERROR : IPREV_FAIL, NULL);
}

static void
ptr_done(enum mauth_dns_status status, const struct dns_wire_rr *rrs, size_t n,
	 void *arg)
{
	struct iprev *r = arg;
	int type = r->family == AF_INET ? DNS_T_A : DNS_T_AAAA;

	r->ptr = NULL;
	if (status == MAUTH_DNS_TEMP) {
		finish(r, IPREV_TEMPERROR, NULL);
		return;
	}
	for (size_t i = 0; i < n && r->n < MAX_NAMES; i++) {
		struct fwd *f = &r->fwd[r->n];
		if (!mauth_name_copy(rrs[i].data, rrs[i].len, f->name))
			continue; /* not a host name: cannot confirm */
		f->r = r;
		r->n++;
	}
	if (r->n == 0) {
		finish(r, IPREV_FAIL, NULL);
		return;
	}
	r->left = r->n;
	size_t started = r->n;
	for (size_t i = 0; i < started; i++) {
		struct fwd *f = &r->fwd[i];
		f->l = mauth_dns_lookup(r->dns, f->name, type, r->timeout,
					fwd_done, f);
		if (!f->l) {
			f->temp = true;
			if (--r->left == 0) {
				finish(r, IPREV_TEMPERROR, NULL);
				return;
			}
		}
	}
}

struct iprev *
iprev_start(struct dns *dns, const struct sockaddr *sa, unsigned timeout,
	    iprev_cb *cb, void *arg, struct iprev_outcome *now_r)
{
	struct iprev *r = xcalloc(1, sizeof(*r));
	char rev[80];

	r->dns = dns;
	r->timeout = timeout;
	r->cb = cb;
	r->arg = arg;
	if (sa->sa_family == AF_INET) {
		r->family = AF_INET;
		memcpy(r->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		const uint8_t *a =
		    ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			r->family = AF_INET;
			memcpy(r->ip, a + 12, 4);
		} else {
			r->family = AF_INET6;
			memcpy(r->ip, a, 16);
		}
	}
	mauth_reverse_name(r->family, r->ip, rev);
	r->ptr = mauth_dns_lookup(dns, rev, DNS_T_PTR, timeout, ptr_done, r);
	if (!r->ptr) {
		free(r);
		memset(now_r, 0, sizeof(*now_r));
		now_r->result = IPREV_TEMPERROR;
		return NULL;
	}
	return r;
}

void
iprev_cancel(struct iprev *r)
{
	if (!r)
		return;
	mauth_dns_cancel(r->ptr);
	for (size_t i = 0; i < r->n; i++)
		mauth_dns_cancel(r->fwd[i].l);
	free(r);
}
