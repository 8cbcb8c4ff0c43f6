/*
 * web_session - the admin web's logged-in sessions, in memory (a restart
 * logs everybody out). A session is named by 256 random bits from the
 * OS CSPRNG (the cookie) and carries its own CSRF token (another 256
 * bits), who logged in, and whether as an administrator. It ends after
 * idle seconds without a request, or lifetime seconds after the login,
 * whichever comes first; at most WEB_SESSIONS_MAX live at once (the
 * least recently used goes first).
 */
#ifndef PETREL_WEB_WEB_SESSION_H
#define PETREL_WEB_WEB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define WEB_SESSIONS_MAX 1024
#define WEB_SECRET_LEN	 64 /* hex of 32 random bytes */

struct web_session {
	char id[WEB_SECRET_LEN + 1];
	char csrf[WEB_SECRET_LEN + 1];
	char user[320];
	bool admin;
	time_t created, seen;
	struct web_session *prev, *next; /* most recently used first */
};

struct web_sessions;

struct web_sessions *web_sessions_new(void);
void web_sessions_free(struct web_sessions **wsp);

/* web_sessions_create - a new session (NULL if the CSPRNG fails). */
struct web_session *web_sessions_create(struct web_sessions *ws,
					const char *user, bool admin,
					time_t now);

/*
 * web_sessions_find - the live session named id (len bytes), marked used
 * now; NULL if there is none or it expired (then it is ended).
 */
struct web_session *web_sessions_find(struct web_sessions *ws, const char *id,
				      size_t len, time_t now, unsigned idle,
				      unsigned lifetime);

/* web_sessions_end - log out. */
void web_sessions_end(struct web_sessions *ws, struct web_session *s);

/* web_sessions_end_user - end every session of user but keep (may be NULL). */
void web_sessions_end_user(struct web_sessions *ws, const char *user,
			   const struct web_session *keep);

/* web_sessions_expire - end every expired session; returns how many live. */
size_t web_sessions_expire(struct web_sessions *ws, time_t now, unsigned idle,
			   unsigned lifetime);

/* web_session_expires - when s ends unless used again. */
time_t web_session_expires(const struct web_session *s, unsigned idle,
			   unsigned lifetime);

/* web_secret_equal - compare two secrets in constant time. */
bool web_secret_equal(const char *a, size_t alen, const char *b);

#endif
