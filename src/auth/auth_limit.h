/*
 * auth_limit - failed authentications counted per client address, so a
 * password-guessing client is refused for a while (interface:
 * max_auth_failures per auth_failure_window), whichever protocol it uses.
 */
#ifndef PETREL_AUTH_AUTH_LIMIT_H
#define PETREL_AUTH_AUTH_LIMIT_H

#include <stdbool.h>
#include <time.h>

struct auth_limit;

struct auth_limit *auth_limit_new(unsigned max_failures, unsigned window);
void auth_limit_free(struct auth_limit **alp);

/* auth_limit_blocked - has addr used up its failures in this window? */
bool auth_limit_blocked(struct auth_limit *al, const char *addr, time_t now);
/* auth_limit_fail - count one failure; returns the count in the window. */
unsigned auth_limit_fail(struct auth_limit *al, const char *addr, time_t now);

#endif
