#include "mailauth/auth_results.h"

#include <string.h>
#include <strings.h>

#include "util/strbuf.h"

/* skip_cfws - white space, folds and (nested) comments. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		char c = s[i];
		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			i++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
		} else if (c == '(') {
			depth++;
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* RFC 2045 token: printable ASCII but SP, CTLs and tspecials. */
static bool
is_token_char(char c)
{
	return c > 0x20 && c < 0x7f && !strchr("()<>@,;:\\\"/[]?=", c);
}

bool
auth_results_authserv_id(const char *value, size_t len, char *out, size_t cap)
{
	size_t i = skip_cfws(value, len, 0), w = 0;

	if (cap == 0 || i >= len)
		return false;
	if (value[i] == '"') {
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && i + 1 < len)
				i++;
			if (w + 1 < cap)
				out[w++] = value[i];
		}
		if (i >= len)
			return false;
	} else {
		/* A domain name in an authserv-id holds '.', a token char. */
		while (i < len && is_token_char(value[i])) {
			if (w + 1 < cap)
				out[w++] = value[i];
			i++;
		}
	}
	out[w] = '\0';
	return w > 0;
}

bool
auth_results_claims(const char *name, size_t name_len, const char *value,
		    size_t value_len, const char *host)
{
	char id[256];

	if (name_len != 22 ||
	    strncasecmp(name, "Authentication-Results", 22) != 0)
		return false;
	/* An id we cannot read might be ours too: remove it (§5). */
	if (!auth_results_authserv_id(value, value_len, id, sizeof(id)))
		return true;
	size_t hl = strlen(host), il = strlen(id);
	if (il > 0 && id[il - 1] == '.')
		il--;
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	return il == hl && strncasecmp(id, host, il) == 0;
}

void
auth_results_begin(struct strbuf *out, const char *host)
{
	strbuf_adds(out, "Authentication-Results: ");
	strbuf_adds(out, host);
}

static void
add_value(struct strbuf *out, const char *v)
{
	bool token = *v != '\0';

	for (const char *p = v; *p; p++)
		if (!is_token_char(*p) && *p != '@' && *p != '/')
			token = false;
	/* '@' and '/' appear in pvalues (RFC 8601 §2.2 allows an addr-spec
	 * and base64 data), so they need no quoting. */
	if (token) {
		strbuf_adds(out, v);
		return;
	}
	strbuf_adds(out, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_add(out, "\\", 1);
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			strbuf_add(out, p, 1);
	}
	strbuf_adds(out, "\"");
}

void
auth_results_add(struct strbuf *out, const char *method, const char *result,
		 const char *reason, const char *const *props)
{
	strbuf_adds(out, ";\r\n\t");
	strbuf_adds(out, method);
	strbuf_adds(out, "=");
	strbuf_adds(out, result);
	if (reason && *reason) {
		strbuf_adds(out, " reason=");
		add_value(out, reason);
	}
	for (size_t i = 0; props && props[i]; i += 2) {
		if (!props[i + 1] || !*props[i + 1])
			continue;
		strbuf_adds(out, " ");
		strbuf_adds(out, props[i]);
		strbuf_adds(out, "=");
		add_value(out, props[i + 1]);
	}
}

void
auth_results_end(struct strbuf *out, size_t n_added)
{
	if (n_added == 0)
		strbuf_adds(out, "; none");
	strbuf_adds(out, "\r\n");
}
