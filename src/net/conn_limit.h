/*
 * conn_limit - live connections counted per client address, so one
 * address cannot take every slot (interface: max_connections_per_ip).
 */
#ifndef PETREL_NET_CONN_LIMIT_H
#define PETREL_NET_CONN_LIMIT_H

#include <stdbool.h>

struct conn_limit;

struct conn_limit *conn_limit_new(void);
void conn_limit_free(struct conn_limit **clp);

/* conn_limit_take - count one more for addr unless already at max. */
bool conn_limit_take(struct conn_limit *cl, const char *addr, unsigned max);
/* conn_limit_release - one connection from addr ended. */
void conn_limit_release(struct conn_limit *cl, const char *addr);

#endif
