/*
 * imap_bodystructure - ENVELOPE, BODY, BODYSTRUCTURE (first version:
 * strings only; the serializers follow).
 */
#include "imap/imap_bodystructure.h"

#include <stdio.h>

void
imap_bodystructure_nstring(const char *s, size_t len, struct strbuf *out)
{
	bool quote = true;
	char n[32];

	if (s == NULL) {
		strbuf_adds(out, "NIL");
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			quote = false;
	}
	if (!quote || len > 1024) {
		snprintf(n, sizeof(n), "{%zu}\r\n", len);
		strbuf_adds(out, n);
		for (size_t i = 0; i < len; i++)
			strbuf_add(out, s[i] == '\0' ? "\x80" : s + i, 1);
		return;
	}
	strbuf_add(out, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			strbuf_add(out, "\\", 1);
		strbuf_add(out, s + i, 1);
	}
	strbuf_add(out, "\"", 1);
}

void
imap_bodystructure_envelope(const struct mime_tree *t, uint32_t part,
			    struct strbuf *out)
{
	(void)t;
	(void)part;
	strbuf_adds(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
}

void
imap_bodystructure_write(const struct mime_tree *t, uint32_t part,
			 bool extended, struct strbuf *out)
{
	(void)t;
	(void)part;
	strbuf_adds(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL "
			 "NIL \"7bit\" 0 0");
	strbuf_adds(out, extended ? " NIL NIL NIL NIL)" : ")");
}
