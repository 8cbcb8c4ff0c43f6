/*
 * iprev - the client's reverse DNS, forward-confirmed (RFC 8601 §3,
 * "iprev"; RFC 1912 §2.1): the PTR names of its address, and the first
 * of them (at most 10 tried, as SPF's limit) whose A or AAAA records
 * include the address. Asynchronous on petrel's resolver; the session
 * starts it at connect, and it is normally done long before it is
 * needed, for the Received: line and Authentication-Results.
 */
#ifndef PETREL_MAILAUTH_IPREV_H
#define PETREL_MAILAUTH_IPREV_H

#include <stdint.h>
#include <sys/socket.h>

#include "mailauth/mauth_name.h"

struct dns;

enum iprev_result {
	IPREV_PASS,	 /* name confirmed */
	IPREV_FAIL,	 /* no PTR, or no PTR name leads back */
	IPREV_TEMPERROR, /* a look-up failed for now */
};

struct iprev_outcome {
	enum iprev_result result;
	char name[MAUTH_NAME_MAX + 1]; /* the confirmed name, or "" */
};

struct iprev;

typedef void iprev_cb(const struct iprev_outcome *o, void *arg);

/*
 * iprev_start - check the address in sa (AF_INET or AF_INET6; mapped
 * IPv4 taken as IPv4). cb runs later on the loop. NULL if nothing
 * could start (then *now_r holds a temperror and cb is never called).
 */
struct iprev *iprev_start(struct dns *dns, const struct sockaddr *sa,
			  unsigned timeout, iprev_cb *cb, void *arg,
			  struct iprev_outcome *now_r);

void iprev_cancel(struct iprev *r);

const char *iprev_result_name(enum iprev_result r);

#endif
