#include "net/conn_limit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define BUCKETS 1024

struct conn_entry {
	struct conn_entry *next;
	unsigned count;
	char addr[];
};

struct conn_limit {
	struct conn_entry *buckets[BUCKETS];
};

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

struct conn_limit *
conn_limit_new(void)
{
	return xcalloc(1, sizeof(struct conn_limit));
}

void
conn_limit_free(struct conn_limit **clp)
{
	struct conn_limit *cl = *clp;
	if (cl == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct conn_entry *e = cl->buckets[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	free(cl);
	*clp = NULL;
}

bool
conn_limit_take(struct conn_limit *cl, const char *addr, unsigned max)
{
	struct conn_entry **head = &cl->buckets[hash(addr)], *e;
	for (e = *head; e != NULL; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			break;
	if (e == NULL) {
		size_t len = strlen(addr);
		e = xcalloc(1, sizeof(*e) + len + 1);
		memcpy(e->addr, addr, len + 1);
		e->next = *head;
		*head = e;
	}
	if (max != 0 && e->count >= max)
		return false;
	e->count++;
	return true;
}

void
conn_limit_release(struct conn_limit *cl, const char *addr)
{
	struct conn_entry **pp = &cl->buckets[hash(addr)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		struct conn_entry *e = *pp;
		if (strcmp(e->addr, addr) != 0)
			continue;
		if (e->count > 0)
			e->count--;
		if (e->count == 0) {
			*pp = e->next;
			free(e);
		}
		return;
	}
}
