/*
 * web_parse - the pure parsers of the admin web: everything that reads
 * bytes a browser or an API client sent (paths, query strings, cookies,
 * Authorization and Content-Type headers, JSON bodies) and the UTF-8
 * clean-up of what goes back out. No I/O, no globals: bytes and limits
 * in, a result out; unit-tested (tests/unit/test_web_parse.c) and fuzzed
 * (fuzz/fuzz_web_parse.c).
 */
#ifndef PETREL_WEB_WEB_PARSE_H
#define PETREL_WEB_WEB_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A request body larger than this is refused (413) before parsing. */
#define WEB_BODY_MAX (64 * 1024)
/* Each string in a body; a list's items. */
#define WEB_STRING_MAX 1024
#define WEB_LIST_MAX   1000
/* Path segments (/api/users/ADDRESS/quota is 4). */
#define WEB_SEGMENTS_MAX 8

/*
 * web_path_split - the path of a request URI ("/api/users/a%40b.org",
 * not decoded) into at most max segments, each percent-decoded (RFC 3986
 * §2.1) into buf. Strict: every '%' needs two hex digits; a decoded NUL
 * or control byte, an empty segment (except the whole path "/", which
 * has none) and "." or ".." are refused, as is a path not starting with
 * '/'. Returns 0 with *n_r segments, or -1.
 */
int web_path_split(const char *path, size_t len, char *buf, size_t buflen,
		   const char **segs, size_t max, size_t *n_r);

/*
 * web_query_get - the value of parameter name in a query string
 * ("domain=example.org&x=1"), '+' as space and %XX decoded, into out.
 * Returns 1 found, 0 absent, -1 malformed or too long for out.
 */
int web_query_get(const char *query, size_t len, const char *name, char *out,
		  size_t outlen);

/*
 * web_cookie_get - the first value of cookie name in a Cookie header
 * (RFC 6265 §4.2.1: "a=1; b=2"), not decoded. Returns 0 with the value
 * at *value_r (*len_r bytes, inside header), or -1.
 */
int web_cookie_get(const char *header, size_t len, const char *name,
		   const char **value_r, size_t *len_r);

/*
 * web_bearer - the token of "Authorization: Bearer TOKEN" (RFC 6750
 * §2.1; the scheme is case-insensitive, RFC 9110 §11.1). 0 with the
 * token at *tok_r (*len_r bytes), -1 for anything else.
 */
int web_bearer(const char *header, size_t len, const char **tok_r,
	       size_t *len_r);

/*
 * web_is_json - a Content-Type of application/json, with or without
 * parameters ("; charset=utf-8"), in any case (RFC 9110 §8.3.1).
 */
bool web_is_json(const char *content_type, size_t len);

/* What a body field may hold. */
enum web_type {
	WEB_STRING,  /* a string, 1 .. WEB_STRING_MAX bytes, no controls */
	WEB_TEXT,    /* a string, possibly empty */
	WEB_STRINGS, /* an array of 1 .. WEB_LIST_MAX such strings */
	WEB_SIZE,    /* a size: a number >= 0, a string ("500m"), or null */
};

struct web_field {
	const char *name;
	enum web_type type;
	bool required;
};

/*
 * web_body_parse - a JSON request body: one object whose members are all
 * among fields (NULL-name terminated), each of its type, every required
 * one present, no member twice. Returns the object (*obj_r, to be
 * json_decref'd) and 0, or -1 with a one-line reason in err. An empty
 * body is an empty object. fields NULL = the body must be empty or {}.
 */
int web_body_parse(const char *body, size_t len, const struct web_field *fields,
		   json_t **obj_r, char *err, size_t errlen);

/*
 * web_utf8_clean - s (len bytes) as valid UTF-8 (RFC 3629): every byte
 * that is not part of a well-formed sequence (overlongs, surrogates,
 * beyond U+10FFFF, truncated) becomes U+FFFD, and NUL too (JSON strings
 * carry no NUL here). Heap, NUL-terminated; length in *len_r.
 */
char *web_utf8_clean(const char *s, size_t len, size_t *len_r);

#endif
