/*
 * imap_msg_search - SEARCH text keys (first version: no matches; the
 * decoders follow).
 */
#include "imap/imap_msg_search.h"

bool
imap_msg_search_header(const char *msg, size_t len, const struct imap_msg *m,
		       const char *field, const struct mime_needle *needle)
{
	(void)msg;
	(void)len;
	(void)m;
	(void)field;
	(void)needle;
	return false;
}

bool
imap_msg_search_body(const char *msg, size_t len, const struct imap_msg *m,
		     const struct mime_needle *needle)
{
	(void)msg;
	(void)len;
	(void)m;
	(void)needle;
	return false;
}

bool
imap_msg_search_text(const char *msg, size_t len, const struct imap_msg *m,
		     const struct mime_needle *needle)
{
	return imap_msg_search_header(msg, len, m, "", needle) ||
	       imap_msg_search_body(msg, len, m, needle);
}
