#include "auth/auth_limit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats/metrics.h"
#include "util/xalloc.h"

#define BUCKETS 1024
/* Entries older than a window are dropped when their bucket is visited,
 * so memory stays bounded by recent offenders. */

struct entry {
	struct entry *next;
	time_t start; /* when this window began */
	unsigned count;
	char addr[];
};

struct auth_limit {
	unsigned max, window;
	struct entry *buckets[BUCKETS];
};

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

struct auth_limit *
auth_limit_new(unsigned max_failures, unsigned window)
{
	struct auth_limit *al = xcalloc(1, sizeof(*al));
	al->max = max_failures;
	al->window = window;
	return al;
}

void
auth_limit_free(struct auth_limit **alp)
{
	struct auth_limit *al = *alp;
	if (al == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct entry *e = al->buckets[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	free(al);
	*alp = NULL;
}

/* find - the live entry for addr, expiring stale ones on the way. */
static struct entry *
find(struct auth_limit *al, const char *addr, time_t now)
{
	struct entry **pp = &al->buckets[hash(addr)];
	while (*pp != NULL) {
		struct entry *e = *pp;
		if (now - e->start >= (time_t)al->window) {
			*pp = e->next;
			free(e);
			continue;
		}
		if (strcmp(e->addr, addr) == 0)
			return e;
		pp = &e->next;
	}
	return NULL;
}

bool
auth_limit_blocked(struct auth_limit *al, const char *addr, time_t now)
{
	struct entry *e = find(al, addr, now);
	return e != NULL && e->count >= al->max;
}

unsigned
auth_limit_fail(struct auth_limit *al, const char *addr, time_t now)
{
	struct entry *e = find(al, addr, now);
	metrics_auth_failure();
	if (e == NULL) {
		size_t len = strlen(addr);
		e = xcalloc(1, sizeof(*e) + len + 1);
		memcpy(e->addr, addr, len + 1);
		e->start = now;
		unsigned h = hash(addr);
		e->next = al->buckets[h];
		al->buckets[h] = e;
	}
	return ++e->count;
}
