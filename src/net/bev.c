#include "net/bev.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

bool
bev_flushed(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return false;
	struct bufferevent *under = bufferevent_get_underlying(bev);
	return under == NULL ||
	       evbuffer_get_length(bufferevent_get_output(under)) == 0;
}
