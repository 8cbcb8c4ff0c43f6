#include "web/web_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf/config.h"
#include "util/xalloc.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * decode - percent-decode s[0..len) into out (plus as space when asked);
 * -1 on a bad escape, a decoded control byte or no room.
 */
static int
decode(const char *s, size_t len, bool plus, char *out, size_t outlen,
       size_t *n_r)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	*n_r = n;
	return 0;
}

int
web_path_split(const char *path, size_t len, char *buf, size_t buflen,
	       const char **segs, size_t max, size_t *n_r)
{
	size_t used = 0, n = 0, i = 1;

	*n_r = 0;
	if (len == 0 || path[0] != '/')
		return -1;
	if (len == 1)
		return 0;
	while (i <= len) {
		size_t j = i;
		while (j < len && path[j] != '/')
			j++;
		if (j == i || n == max)
			return -1; /* empty segment, or too many */
		size_t got;
		if (used >= buflen || decode(path + i, j - i, false, buf + used,
					     buflen - used, &got) < 0)
			return -1;
		if (strcmp(buf + used, ".") == 0 ||
		    strcmp(buf + used, "..") == 0)
			return -1;
		segs[n++] = buf + used;
		used += got + 1;
		i = j + 1;
	}
	*n_r = n;
	return 0;
}

int
web_query_get(const char *query, size_t len, const char *name, char *out,
	      size_t outlen)
{
	size_t nlen = strlen(name), i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && query[j] != '&')
			j++;
		const char *eq = memchr(query + i, '=', j - i);
		size_t klen = eq != NULL ? (size_t)(eq - (query + i)) : j - i;
		if (klen == nlen && memcmp(query + i, name, nlen) == 0) {
			size_t got;
			const char *v = eq != NULL ? eq + 1 : query + j;
			if (decode(v, (size_t)(query + j - v), true, out,
				   outlen, &got) < 0)
				return -1;
			return 1;
		}
		i = j + 1;
	}
	return 0;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int
web_cookie_get(const char *header, size_t len, const char *name,
	       const char **value_r, size_t *len_r)
{
	size_t nlen = strlen(name), i = 0;

	while (i < len) {
		while (i < len && is_ows(header[i]))
			i++;
		size_t j = i;
		while (j < len && header[j] != ';')
			j++;
		/* cookie-pair = cookie-name "=" cookie-value */
		const char *eq = memchr(header + i, '=', j - i);
		if (eq != NULL && (size_t)(eq - (header + i)) == nlen &&
		    memcmp(header + i, name, nlen) == 0) {
			const char *v = eq + 1;
			size_t vlen = (size_t)(header + j - v);
			while (vlen > 0 && is_ows(v[vlen - 1]))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			*value_r = v;
			*len_r = vlen;
			return 0;
		}
		i = j + 1;
	}
	return -1;
}

int
web_bearer(const char *header, size_t len, const char **tok_r, size_t *len_r)
{
	size_t i = 0;

	if (len < 7 || strncasecmp(header, "Bearer ", 7) != 0)
		return -1;
	i = 7;
	while (i < len && header[i] == ' ')
		i++;
	size_t j = i;
	/* token68 (RFC 9110 §11.2): ALPHA DIGIT - . _ ~ + / then '='s. */
	while (j < len) {
		char c = header[j];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		      c == '_' || c == '~' || c == '+' || c == '/' || c == '='))
			break;
		j++;
	}
	size_t end = j;
	while (j < len && header[j] == ' ')
		j++;
	if (end == i || j != len)
		return -1;
	*tok_r = header + i;
	*len_r = end - i;
	return 0;
}

bool
web_is_json(const char *ct, size_t len)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	while (len > 0 && is_ows(*ct)) {
		ct++;
		len--;
	}
	if (len < n || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	len -= n;
	while (len > 0 && is_ows(*ct)) {
		ct++;
		len--;
	}
	return len == 0 || *ct == ';';
}

/* check_string - a string member of the right length. */
static bool
check_string(const json_t *v, bool may_be_empty)
{
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	if (n > WEB_STRING_MAX || (!may_be_empty && n == 0))
		return false;
	/* No control characters: these strings end up in the directory
	 * and in log lines (which fail2ban and people read). */
	for (const unsigned char *p =
		 (const unsigned char *)json_string_value(v);
	     n > 0; p++, n--)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static const char *
check_value(const json_t *v, enum web_type type)
{
	uint64_t bytes;

	switch (type) {
	case WEB_STRING:
		return check_string(v, false)
			   ? NULL
			   : "a string of 1 to 1024 bytes, no control "
			     "characters";
	case WEB_TEXT:
		return check_string(v, true)
			   ? NULL
			   : "a string of at most 1024 bytes, no control "
			     "characters";
	case WEB_STRINGS:
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > WEB_LIST_MAX)
			return "a list of 1 to 1000 strings";
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!check_string(json_array_get(v, i), false))
				return "a list of 1 to 1000 strings";
		return NULL;
	case WEB_SIZE:
		if (json_is_null(v))
			return NULL;
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			return NULL;
		if (check_string(v, false) &&
		    (strcmp(json_string_value(v), "none") == 0 ||
		     config_parse_size(json_string_value(v), &bytes) == 0))
			return NULL;
		return "a size: bytes, \"500m\", \"none\" or null";
	}
	return "unknown";
}

int
web_body_parse(const char *body, size_t len, const struct web_field *fields,
	       json_t **obj_r, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj;
	const char *key;
	json_t *v;
	size_t i;

	*obj_r = NULL;
	for (i = 0; i < len; i++)
		if (!(body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
		      body[i] == '\n'))
			break;
	if (i == len) {
		obj = json_object();
	} else {
		if (len > WEB_BODY_MAX) {
			snprintf(err, errlen, "body too large");
			return -1;
		}
		obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
		if (obj == NULL) {
			snprintf(err, errlen, "bad JSON: %s", jerr.text);
			return -1;
		}
		if (!json_is_object(obj)) {
			json_decref(obj);
			snprintf(err, errlen, "the body must be a JSON object");
			return -1;
		}
	}
	json_object_foreach(obj, key, v)
	{
		const struct web_field *f = NULL;
		for (i = 0; fields != NULL && fields[i].name != NULL; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		if (f == NULL) {
			snprintf(err, errlen, "unknown field '%.64s'", key);
			json_decref(obj);
			return -1;
		}
		const char *want = check_value(v, f->type);
		if (want != NULL) {
			snprintf(err, errlen, "field '%s' must be %s", f->name,
				 want);
			json_decref(obj);
			return -1;
		}
	}
	for (i = 0; fields != NULL && fields[i].name != NULL; i++)
		if (fields[i].required &&
		    json_object_get(obj, fields[i].name) == NULL) {
			snprintf(err, errlen, "missing field '%s'",
				 fields[i].name);
			json_decref(obj);
			return -1;
		}
	*obj_r = obj;
	return 0;
}

/* utf8_seq - length of the well-formed sequence at s, or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c >= 0x01 && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0; /* NUL, continuation, 0xc0/0xc1, 0xf5.. */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode (RFC 3629 §3). */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

char *
web_utf8_clean(const char *s, size_t len, size_t *len_r)
{
	const unsigned char *u = (const unsigned char *)s;
	/* Worst case: every byte becomes the 3-byte U+FFFD. */
	char *out = xmalloc(len * 3 + 1);
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(u + i, len - i);
		if (k == 0) {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		} else {
			memcpy(out + n, s + i, k);
			n += k;
			i += k;
		}
	}
	out[n] = '\0';
	*len_r = n;
	return out;
}
