/*
 * fuzz_web_parse - the input through every admin-web parser at once, as
 * a path, a query string, a Cookie, an Authorization and a Content-Type
 * header and a JSON body, with invariants: every segment is decoded
 * text without control bytes and not "." or "..", a found value lies
 * inside its header, a parsed body is an object with only known fields,
 * and the UTF-8 cleaner's output is valid UTF-8 (jansson accepts it)
 * that it leaves as it is.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/web_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct web_field fields[] = {
    {"address", WEB_STRING, true},
    {"targets", WEB_STRINGS, false},
    {"quota", WEB_SIZE, false},
    {"note", WEB_TEXT, false},
    {NULL, 0, false},
};

static void
check_span(const char *v, size_t n, const char *in, size_t size)
{
	if (v < in || v + n > in + size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *segs[WEB_SEGMENTS_MAX], *v;
	char buf[512], out[128], err[256];
	size_t n;
	json_t *obj;

	if (web_path_split(in, size, buf, sizeof(buf), segs, WEB_SEGMENTS_MAX,
			   &n) == 0) {
		if (n > WEB_SEGMENTS_MAX)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (segs[i][0] == '\0' || strcmp(segs[i], ".") == 0 ||
			    strcmp(segs[i], "..") == 0)
				abort();
			for (const unsigned char *p =
				 (const unsigned char *)segs[i];
			     *p; p++)
				if (*p < 0x20 || *p == 0x7f)
					abort();
		}
	}
	if (web_query_get(in, size, "domain", out, sizeof(out)) == 1 &&
	    strlen(out) >= sizeof(out))
		abort();
	if (web_cookie_get(in, size, "__Host-petrel", &v, &n) == 0)
		check_span(v, n, in, size);
	if (web_bearer(in, size, &v, &n) == 0) {
		check_span(v, n, in, size);
		if (n == 0 || memchr(v, ' ', n) != NULL)
			abort();
	}
	(void)web_is_json(in, size);
	if (web_body_parse(in, size, fields, &obj, err, sizeof(err)) == 0) {
		const char *key;
		json_t *val;
		if (!json_is_object(obj) ||
		    json_object_get(obj, "address") == NULL)
			abort();
		json_object_foreach(obj, key, val)
		{
			size_t k;
			for (k = 0; fields[k].name != NULL; k++)
				if (strcmp(fields[k].name, key) == 0)
					break;
			if (fields[k].name == NULL)
				abort();
			if (json_is_string(val))
				for (const unsigned char *p =
					 (const unsigned char *)
					     json_string_value(val);
				     *p; p++)
					if (*p < 0x20 || *p == 0x7f)
						abort();
		}
		json_decref(obj);
	}
	char *clean = web_utf8_clean(in, size, &n);
	json_t *s = json_stringn(clean, n);
	if (s == NULL)
		abort();
	json_decref(s);
	size_t n2;
	char *again = web_utf8_clean(clean, n, &n2);
	if (n2 != n || memcmp(again, clean, n) != 0)
		abort();
	free(again);
	free(clean);
	return 0;
}
