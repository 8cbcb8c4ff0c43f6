/*
 * protocols - the protocol table: which configuration key opens listeners
 * for which protocol. server.c opens a listener for every ADDR:PORT of
 * every row and hands accepted sockets to the row's accept function; the
 * sessions then link themselves into the server's list (server.h,
 * server_session_add), so a new protocol joins as a row here and nowhere
 * else in the server.
 */
#ifndef PETREL_PROTOCOLS_H
#define PETREL_PROTOCOLS_H

#include <stddef.h>

#include "net/listener.h"

struct protocol_listen {
	const char *key; /* the *_listen configuration key */
	size_t offset;	 /* of its config_listen_list in struct config */
	/* NULL: not served by this version (a set key is warned about). */
	listener_accept_fn *accept;
};

extern const struct protocol_listen protocol_listeners[];
extern const size_t protocol_n_listeners;

#endif
