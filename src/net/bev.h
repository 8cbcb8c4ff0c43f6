/*
 * bev - small helpers over libevent bufferevents shared by the sessions.
 */
#ifndef PETREL_NET_BEV_H
#define PETREL_NET_BEV_H

#include <stdbool.h>

struct bufferevent;

/*
 * bev_flushed - has everything written left the process? With STARTTLS a
 * TLS filter sits on top of the socket bufferevent: the filter's output
 * empties into the socket layer's, so both must be empty before a
 * closing session may be freed, or its last reply is lost.
 */
bool bev_flushed(struct bufferevent *bev);

#endif
