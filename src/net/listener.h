/*
 * listener - listening sockets on the event loop. One per `ADDR:PORT` of
 * a *_listen key; accepted sockets go to the protocol's accept function.
 */
#ifndef PETREL_NET_LISTENER_H
#define PETREL_NET_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct config_listen;
struct listener;

typedef void listener_accept_fn(int fd, const struct sockaddr *sa,
				socklen_t salen, void *arg);

/*
 * listener_open - bind and listen (SO_REUSEADDR, backlog 4096, so a burst
 * of connects waits in the kernel rather than being refused). NULL with
 * err on failure.
 */
struct listener *listener_open(struct event_base *base,
			       const struct config_listen *addr,
			       listener_accept_fn *fn, void *arg, char *err,
			       size_t errlen);
void listener_free(struct listener **lp);

#endif
