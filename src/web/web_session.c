#include "web/web_session.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/admin_ops.h"
#include "util/xalloc.h"

struct web_sessions {
	struct web_session *head, *tail;
	size_t n;
};

struct web_sessions *
web_sessions_new(void)
{
	return xcalloc(1, sizeof(struct web_sessions));
}

static void
unlink_session(struct web_sessions *ws, struct web_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		ws->head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	else
		ws->tail = s->prev;
	s->prev = s->next = NULL;
}

static void
push_front(struct web_sessions *ws, struct web_session *s)
{
	s->prev = NULL;
	s->next = ws->head;
	if (ws->head != NULL)
		ws->head->prev = s;
	ws->head = s;
	if (ws->tail == NULL)
		ws->tail = s;
}

void
web_sessions_end(struct web_sessions *ws, struct web_session *s)
{
	unlink_session(ws, s);
	ws->n--;
	explicit_bzero(s, sizeof(*s));
	free(s);
}

void
web_sessions_free(struct web_sessions **wsp)
{
	struct web_sessions *ws = *wsp;

	if (ws == NULL)
		return;
	while (ws->head != NULL)
		web_sessions_end(ws, ws->head);
	free(ws);
	*wsp = NULL;
}

struct web_session *
web_sessions_create(struct web_sessions *ws, const char *user, bool admin,
		    time_t now)
{
	struct web_session *s = xcalloc(1, sizeof(*s));

	if (admin_random_hex(s->id, WEB_SECRET_LEN / 2) < 0 ||
	    admin_random_hex(s->csrf, WEB_SECRET_LEN / 2) < 0) {
		free(s);
		return NULL;
	}
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->admin = admin;
	s->created = s->seen = now;
	if (ws->n == WEB_SESSIONS_MAX)
		web_sessions_end(ws, ws->tail);
	push_front(ws, s);
	ws->n++;
	return s;
}

time_t
web_session_expires(const struct web_session *s, unsigned idle,
		    unsigned lifetime)
{
	time_t a = s->seen + (time_t)idle, b = s->created + (time_t)lifetime;
	return a < b ? a : b;
}

bool
web_secret_equal(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && CRYPTO_memcmp(a, b, alen) == 0;
}

struct web_session *
web_sessions_find(struct web_sessions *ws, const char *id, size_t len,
		  time_t now, unsigned idle, unsigned lifetime)
{
	struct web_session *s;

	if (len != WEB_SECRET_LEN)
		return NULL;
	/* Every live id is compared in full, in constant time each. */
	for (s = ws->head; s != NULL; s = s->next)
		if (web_secret_equal(id, len, s->id))
			break;
	if (s == NULL)
		return NULL;
	if (now >= web_session_expires(s, idle, lifetime)) {
		web_sessions_end(ws, s);
		return NULL;
	}
	s->seen = now;
	unlink_session(ws, s);
	push_front(ws, s);
	return s;
}

void
web_sessions_end_user(struct web_sessions *ws, const char *user,
		      const struct web_session *keep)
{
	struct web_session *s = ws->head, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		if (s != keep && strcasecmp(s->user, user) == 0)
			web_sessions_end(ws, s);
	}
}

size_t
web_sessions_expire(struct web_sessions *ws, time_t now, unsigned idle,
		    unsigned lifetime)
{
	struct web_session *s = ws->head, *next;

	for (; s != NULL; s = next) {
		next = s->next;
		if (now >= web_session_expires(s, idle, lifetime))
			web_sessions_end(ws, s);
	}
	return ws->n;
}
