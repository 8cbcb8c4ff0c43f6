/*
 * imap_msg_search - SEARCH HEADER/BODY/TEXT over a message's bytes,
 * with its part table from imap_msg.
 */
#include "imap/imap_msg_search.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_decode.h"
#include "mime/mime_parse.h"

#define SEARCH_CHUNK (64 * 1024) /* body bytes decoded at a time */

/* search_clip - the part of [off, off+n) inside the message (the store
 * may hand a shorter file than the one parsed; never read past it). */
static bool
search_clip(size_t len, uint64_t off, uint64_t n, size_t *off_r, size_t *n_r)
{
	if (off >= len)
		return false;
	*off_r = (size_t)off;
	*n_r = n > len - off ? len - (size_t)off : (size_t)n;
	return true;
}

/*
 * search_fields - does a field of the header block hdr[0..len) named
 * field (NULL: any field, its name counting as text too) contain the
 * needle after decoding?
 */
static bool
search_fields(const char *hdr, size_t len, const char *field,
	      const struct mime_needle *needle)
{
	struct strbuf dec = {0};
	struct mime_field f;
	size_t pos = 0;
	bool blank, found = false;

	while (!found && mime_header_next(hdr, len, &pos, &f, &blank)) {
		if (!f.has_colon)
			continue;
		if (field != NULL &&
		    (strlen(field) != f.name_len ||
		     strncasecmp(f.name, field, f.name_len) != 0))
			continue;
		if (mime_needle_empty(needle)) {
			found = true;
			break;
		}
		dec.len = 0;
		if (field == NULL) {
			strbuf_add(&dec, f.name, f.name_len);
			strbuf_add(&dec, ": ", 2);
		}
		mime_decode_header(f.value, f.value_len, &dec);
		found = mime_needle_in(needle, dec.p, dec.len);
	}
	free(dec.p);
	return found;
}

bool
imap_msg_search_header(const char *msg, size_t len, const struct imap_msg *m,
		       const char *field, const struct mime_needle *needle)
{
	const struct imap_msg_part *root = &m->parts[0];
	size_t off, n;

	if (!search_clip(len, root->hdr_off, root->hdr_len, &off, &n))
		return false;
	return search_fields(msg + off, n, field, needle);
}

/* search_is_text - a leaf whose body is text to search: type text, and
 * type message other than an embedded message (delivery-status), as in
 * Dovecot; images, application/... are not. */
static bool
search_is_text(const struct imap_msg_part *p)
{
	if ((p->flags & (MIME_PART_MULTIPART | MIME_PART_LIMIT)) != 0)
		return false;
	/* an embedded message is searched as its child; message/global
	 * is a plain part to IMAP4rev1, its text searched whole */
	if ((p->flags & (MIME_PART_MESSAGE | MIME_PART_GLOBAL)) ==
		MIME_PART_MESSAGE &&
	    p->child != MIME_NONE)
		return false;
	return (p->flags & (MIME_PART_TEXT | MIME_PART_TYPE_MESSAGE)) != 0;
}

/* search_part_body - stream the decoded body of p through a matcher. */
static bool
search_part_body(const char *msg, size_t len, const struct imap_msg_part *p,
		 const struct mime_needle *needle)
{
	struct mime_decoder *d;
	struct mime_match mt;
	struct strbuf out = {0};
	size_t off, n;
	bool found;

	if (!search_clip(len, p->body_off, p->body_len, &off, &n))
		return false;
	d = mime_decoder_new(p->cte, p->charset);
	mime_match_init(&mt, needle);
	found = mt.found;
	for (size_t i = 0; i < n && !found; i += SEARCH_CHUNK) {
		size_t k = n - i < SEARCH_CHUNK ? n - i : SEARCH_CHUNK;
		out.len = 0;
		mime_decoder_feed(d, msg + off + i, k, &out);
		found = mime_match_feed(&mt, out.p, out.len);
	}
	if (!found) {
		out.len = 0;
		mime_decoder_finish(d, &out);
		mime_match_feed(&mt, out.p, out.len);
		found = mime_match_finish(&mt);
	}
	mime_match_done(&mt);
	mime_decoder_free(&d);
	free(out.p);
	return found;
}

bool
imap_msg_search_body(const char *msg, size_t len, const struct imap_msg *m,
		     const struct mime_needle *needle)
{
	for (uint32_t i = 0; i < m->nparts; i++) {
		const struct imap_msg_part *p = &m->parts[i];
		if (search_is_text(p) && search_part_body(msg, len, p, needle))
			return true;
	}
	return false;
}

bool
imap_msg_search_text(const char *msg, size_t len, const struct imap_msg *m,
		     const struct mime_needle *needle)
{
	/* every header: the message's, its parts' MIME headers, those of
	 * embedded messages (Dovecot) */
	for (uint32_t i = 0; i < m->nparts; i++) {
		const struct imap_msg_part *p = &m->parts[i];
		size_t off, n;
		if (search_clip(len, p->hdr_off, p->hdr_len, &off, &n) &&
		    search_fields(msg + off, n, NULL, needle))
			return true;
	}
	return imap_msg_search_body(msg, len, m, needle);
}
