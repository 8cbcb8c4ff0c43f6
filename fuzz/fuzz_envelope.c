/*
 * fuzz_envelope - the queue record parser on arbitrary bytes (an
 * exact-size copy, so ASan sees overreads). A file that parses is
 * formatted again and reparsed: both parses must agree on every field.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
env_eq(const struct queue_envelope *a, const struct queue_envelope *b)
{
	if (strcmp(a->id, b->id) != 0 || a->arrival != b->arrival ||
	    a->size != b->size || !str_eq(a->client, b->client) ||
	    !str_eq(a->helo, b->helo) || !str_eq(a->sender, b->sender) ||
	    a->n_rcpts != b->n_rcpts)
		return false;
	for (size_t i = 0; i < a->n_rcpts; i++) {
		const struct queue_rcpt *x = &a->rcpts[i], *y = &b->rcpts[i];
		if (!str_eq(x->address, y->address) ||
		    !str_eq(x->orcpt, y->orcpt) || x->local != y->local ||
		    !str_eq(x->domain, y->domain) ||
		    !str_eq(x->localpart, y->localpart))
			return false;
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_envelope env, again;
	char err[128];
	char *in = malloc(size > 0 ? size : 1), *text;
	size_t len;

	if (in == NULL)
		abort();
	memcpy(in, data, size);
	if (queue_envelope_parse(in, size, &env, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		free(in);
		return 0;
	}
	free(in);

	/* format() writes the recipients, not their history; replay the
	 * history as update lines so the states must agree too. */
	text = queue_envelope_format(&env, &len);
	for (size_t i = 0; i < env.n_rcpts; i++) {
		const struct queue_rcpt *r = &env.rcpts[i];
		size_t ulen;
		char *u;
		if (r->state == QUEUE_RCPT_PENDING && r->attempts == 0)
			continue;
		u = queue_envelope_format_update(
		    i, r->state, 1, r->next_attempt, r->last_error, &ulen);
		text = realloc(text, len + ulen + 1);
		if (text == NULL)
			abort();
		memcpy(text + len, u, ulen + 1);
		len += ulen;
		free(u);
	}
	if (queue_envelope_parse(text, len, &again, err, sizeof(err)) < 0)
		abort();
	if (!env_eq(&env, &again))
		abort();
	for (size_t i = 0; i < env.n_rcpts; i++) {
		const struct queue_rcpt *x = &env.rcpts[i],
					*y = &again.rcpts[i];
		/* The replay is one update per recipient: compare what
		 * one update carries, not the attempt count. */
		if (x->state != y->state ||
		    (x->attempts > 0) != (y->attempts > 0) ||
		    !str_eq(x->last_error, y->last_error))
			abort();
		if (x->state == QUEUE_RCPT_PENDING &&
		    x->next_attempt != y->next_attempt)
			abort();
	}
	if (queue_envelope_pending(&env) != queue_envelope_pending(&again))
		abort();
	queue_envelope_free(&env);
	queue_envelope_free(&again);
	free(text);
	return 0;
}
