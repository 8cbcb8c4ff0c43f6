/*
 * imap_compress - COMPRESS=DEFLATE (RFC 4978): a libevent filter
 * bufferevent that inflates what the client sends and deflates what the
 * session writes, with zlib, in raw DEFLATE (no zlib header, §3).
 *
 * Output is deflated without flushing as the session writes, and the
 * session flushes (bufferevent_flush BEV_FLUSH: Z_SYNC_FLUSH) when a
 * batch of responses is complete, so the client gets whole responses
 * without a flush per line. The deflate side uses a 4 KiB window and a
 * small hash (about 24 KiB per session, not zlib's default 256 KiB);
 * the inflate side must take any window the client chose (32 KiB).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "imap/imap_session.h"
#include "util/log.h"
#include "util/xalloc.h"

struct zctx {
	z_stream in, out;
	bool broken;
	bool dirty; /* deflated input not flushed yet */
};

static enum bufferevent_filter_result
run(z_stream *z, struct evbuffer *src, struct evbuffer *dst, int flushmode,
    bool inflating)
{
	for (;;) {
		struct evbuffer_iovec v;
		int have = evbuffer_peek(src, -1, NULL, &v, 1);
		z->next_in = have > 0 ? v.iov_base : NULL;
		z->avail_in = have > 0 ? (uInt)v.iov_len : 0;
		if (z->avail_in == 0 && flushmode == Z_NO_FLUSH)
			return BEV_OK;
		struct evbuffer_iovec o;
		if (evbuffer_reserve_space(dst, 16384, &o, 1) < 1)
			return BEV_ERROR;
		z->next_out = o.iov_base;
		z->avail_out = (uInt)o.iov_len;
		int r = inflating ? inflate(z, Z_SYNC_FLUSH)
				  : deflate(z, flushmode);
		size_t used = (have > 0 ? v.iov_len : 0) - z->avail_in;
		o.iov_len -= z->avail_out;
		evbuffer_commit_space(dst, &o, 1);
		if (used > 0)
			evbuffer_drain(src, used);
		if (r == Z_STREAM_ERROR || r == Z_DATA_ERROR ||
		    r == Z_MEM_ERROR || r == Z_NEED_DICT)
			return BEV_ERROR;
		if (r == Z_STREAM_END)
			return BEV_OK;
		if (used == 0 && o.iov_len == 0)
			return BEV_OK; /* no progress: wait for more */
		/* Done when the input is used up and zlib had room to spare
		 * (nothing more is pending inside it). */
		if (z->avail_out > 0 && evbuffer_get_length(src) == 0)
			return BEV_OK;
		if (r == Z_BUF_ERROR && z->avail_out > 0 &&
		    evbuffer_get_length(src) == 0)
			return BEV_OK;
	}
}

static enum bufferevent_filter_result
filter_in(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
	  enum bufferevent_flush_mode mode, void *arg)
{
	struct zctx *z = arg;
	(void)lim;
	(void)mode;
	if (z->broken)
		return BEV_ERROR;
	enum bufferevent_filter_result r =
	    run(&z->in, src, dst, Z_SYNC_FLUSH, true);
	if (r == BEV_ERROR)
		z->broken = true;
	return r;
}

static enum bufferevent_filter_result
filter_out(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t lim,
	   enum bufferevent_flush_mode mode, void *arg)
{
	struct zctx *z = arg;
	(void)lim;
	if (z->broken)
		return BEV_ERROR;
	int flushmode = mode == BEV_NORMAL ? Z_NO_FLUSH : Z_SYNC_FLUSH;
	bool input = evbuffer_get_length(src) > 0;
	/* Nothing new and nothing held back: no empty flush block (a
	 * client may read it as the end of the uncompressed stream). */
	if (!input && !(flushmode == Z_SYNC_FLUSH && z->dirty))
		return BEV_OK;
	z->dirty = flushmode == Z_NO_FLUSH;
	enum bufferevent_filter_result r =
	    run(&z->out, src, dst, flushmode, false);
	if (r == BEV_ERROR)
		z->broken = true;
	return r;
}

static void
zfree(void *arg)
{
	struct zctx *z = arg;
	inflateEnd(&z->in);
	deflateEnd(&z->out);
	free(z);
}

struct bufferevent *
imap_compress_new(struct bufferevent *under)
{
	struct zctx *z = xcalloc(1, sizeof(*z));
	if (inflateInit2(&z->in, -15) != Z_OK) {
		free(z);
		return NULL;
	}
	if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 5,
			 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&z->in);
		free(z);
		return NULL;
	}
	struct bufferevent *bev = bufferevent_filter_new(
	    under, filter_in, filter_out, BEV_OPT_CLOSE_ON_FREE, zfree, z);
	if (bev == NULL)
		zfree(z);
	return bev;
}
