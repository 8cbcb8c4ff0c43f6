/*
 * mime_decode - header and body decoding to UTF-8 (first version: pass
 * through; base64, QP, RFC 2047 and iconv follow).
 */
#include "mime/mime_decode.h"

#include <stdlib.h>

#include "util/xalloc.h"

struct mime_decoder {
	int cte;
};

void
mime_decode_header(const char *v, size_t len, struct strbuf *out)
{
	strbuf_add(out, v, len);
}

void
mime_decode_utf8(const char *charset, const char *s, size_t len,
		 struct strbuf *out)
{
	(void)charset;
	strbuf_add(out, s, len);
}

struct mime_decoder *
mime_decoder_new(int cte, const char *charset)
{
	struct mime_decoder *d = xcalloc(1, sizeof(*d));

	(void)charset;
	d->cte = cte;
	return d;
}

void
mime_decoder_feed(struct mime_decoder *d, const char *in, size_t len,
		  struct strbuf *out)
{
	(void)d;
	strbuf_add(out, in, len);
}

void
mime_decoder_finish(struct mime_decoder *d, struct strbuf *out)
{
	(void)d;
	(void)out;
}

void
mime_decoder_free(struct mime_decoder **dp)
{
	free(*dp);
	*dp = NULL;
}
