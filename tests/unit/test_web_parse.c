/*
 * test_web_parse - the admin web's parsers, table-driven. Every input is
 * given in an exact-length heap copy (no NUL after it), so a parser that
 * reads one byte too far trips AddressSanitizer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "web/web_parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* exact - a copy of s without its NUL. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);
	memcpy(p, s, len);
	return p;
}

/* --- paths --- */

struct path_case {
	const char *in;
	int ok;
	const char *segs[4]; /* NULL-terminated */
};

static const struct path_case path_cases[] = {
    {"/", 0, {NULL}},
    {"/api", 0, {"api", NULL}},
    {"/api/users/a%40b.org", 0, {"api", "users", "a@b.org", NULL}},
    {"/api/users/%22a%20b%22@x", 0, {"api", "users", "\"a b\"@x", NULL}},
    {"/a+b", 0, {"a+b", NULL}}, /* '+' is not a space in a path */
    {"/%2F", 0, {"/", NULL}},	/* decoded after splitting */
    {"/%7e%7E", 0, {"~~", NULL}},
    {"", -1, {NULL}},
    {"api", -1, {NULL}},
    {"//", -1, {NULL}},
    {"/api/", -1, {NULL}},
    {"/api//x", -1, {NULL}},
    {"/%", -1, {NULL}},
    {"/%4", -1, {NULL}},
    {"/%zz", -1, {NULL}},
    {"/%4g", -1, {NULL}},
    {"/%00", -1, {NULL}},
    {"/a%0Ab", -1, {NULL}},
    {"/%7f", -1, {NULL}},
    {"/a\tb", -1, {NULL}},
    {"/.", -1, {NULL}},
    {"/..", -1, {NULL}},
    {"/a/../b", -1, {NULL}},
    {"/%2e%2e", -1, {NULL}},
    {"/...", 0, {"...", NULL}},
    {"/1/2/3/4/5/6/7/8", 0, {"1", "2", "3", NULL}},
    {"/1/2/3/4/5/6/7/8/9", -1, {NULL}},
};

static void
test_path_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(path_cases); i++) {
		const struct path_case *c = &path_cases[i];
		size_t len = strlen(c->in), n = 99;
		char *in = exact(c->in, len), buf[256];
		const char *segs[WEB_SEGMENTS_MAX];
		int r = web_path_split(in, len, buf, sizeof(buf), segs,
				       WEB_SEGMENTS_MAX, &n);
		if (r != c->ok)
			fail_msg("'%s': %d, want %d", c->in, r, c->ok);
		for (size_t k = 0; r == 0 && c->segs[k] != NULL; k++) {
			assert_true(k < n);
			assert_string_equal(segs[k], c->segs[k]);
		}
		free(in);
	}
	/* A buffer too small is an error, never an overflow. */
	const char *segs[WEB_SEGMENTS_MAX];
	char small[4];
	size_t n;
	assert_int_equal(web_path_split("/abcd", 5, small, sizeof(small), segs,
					WEB_SEGMENTS_MAX, &n),
			 -1);
	assert_int_equal(
	    web_path_split("/abc", 4, small, sizeof(small), segs, 8, &n), 0);
	assert_string_equal(segs[0], "abc");
}

/* --- query strings --- */

struct query_case {
	const char *in, *name;
	int r;
	const char *value;
};

static const struct query_case query_cases[] = {
    {"domain=example.org", "domain", 1, "example.org"},
    {"a=1&domain=x%2Ey&b=2", "domain", 1, "x.y"},
    {"domain=a+b", "domain", 1, "a b"},
    {"domain=", "domain", 1, ""},
    {"domain", "domain", 1, ""},
    {"domainx=1", "domain", 0, NULL},
    {"xdomain=1", "domain", 0, NULL},
    {"", "domain", 0, NULL},
    {"&&", "domain", 0, NULL},
    {"domain=%zz", "domain", -1, NULL},
    {"domain=%0a", "domain", -1, NULL},
    {"domain=1&domain=2", "domain", 1, "1"},
    {"minutes=60", "minutes", 1, "60"},
};

static void
test_query_get(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(query_cases); i++) {
		const struct query_case *c = &query_cases[i];
		size_t len = strlen(c->in);
		char *in = exact(c->in, len), out[64];
		int r = web_query_get(in, len, c->name, out, sizeof(out));
		if (r != c->r)
			fail_msg("'%s': %d, want %d", c->in, r, c->r);
		if (r == 1)
			assert_string_equal(out, c->value);
		free(in);
	}
	char tiny[3];
	assert_int_equal(web_query_get("d=abc", 5, "d", tiny, sizeof(tiny)),
			 -1);
}

/* --- cookies, bearer tokens, content types --- */

struct cookie_case {
	const char *header;
	int r;
	const char *value;
};

static const struct cookie_case cookie_cases[] = {
    {"__Host-petrel=abc", 0, "abc"},
    {"a=1; __Host-petrel=abc; b=2", 0, "abc"},
    {"a=1;__Host-petrel=abc", 0, "abc"},
    {"__Host-petrel=\"abc\"", 0, "abc"},
    {"__Host-petrel=abc  ", 0, "abc"},
    {"__Host-petrel=", 0, ""},
    {"__Host-petrel=1; __Host-petrel=2", 0, "1"},
    {"x__Host-petrel=abc", -1, NULL},
    {"__Host-petrelx=abc", -1, NULL},
    {"__Host-petrel", -1, NULL},
    {"", -1, NULL},
    {";;;", -1, NULL},
    {"petrel=abc", -1, NULL},
};

static void
test_cookie_get(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(cookie_cases); i++) {
		const struct cookie_case *c = &cookie_cases[i];
		size_t len = strlen(c->header), vlen;
		char *in = exact(c->header, len);
		const char *v;
		int r = web_cookie_get(in, len, "__Host-petrel", &v, &vlen);
		if (r != c->r)
			fail_msg("'%s': %d, want %d", c->header, r, c->r);
		if (r == 0) {
			assert_int_equal(vlen, strlen(c->value));
			assert_memory_equal(v, c->value, vlen);
		}
		free(in);
	}
}

static const struct cookie_case bearer_cases[] = {
    {"Bearer abc123", 0, "abc123"},
    {"bearer abc123", 0, "abc123"},
    {"BEARER  abc123  ", 0, "abc123"},
    {"Bearer a-b.c_d~e+f/g==", 0, "a-b.c_d~e+f/g=="},
    {"Bearer", -1, NULL},
    {"Bearer ", -1, NULL},
    {"Bearer a b", -1, NULL},
    {"Bearer a\tb", -1, NULL},
    {"Bearer a\"b", -1, NULL},
    {"Basic YWxhZGRpbjpvcGVuc2VzYW1l", -1, NULL},
    {"Bearerabc", -1, NULL},
    {"", -1, NULL},
};

static void
test_bearer(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bearer_cases); i++) {
		const struct cookie_case *c = &bearer_cases[i];
		size_t len = strlen(c->header), tlen;
		char *in = exact(c->header, len);
		const char *t;
		int r = web_bearer(in, len, &t, &tlen);
		if (r != c->r)
			fail_msg("'%s': %d, want %d", c->header, r, c->r);
		if (r == 0) {
			assert_int_equal(tlen, strlen(c->value));
			assert_memory_equal(t, c->value, tlen);
		}
		free(in);
	}
}

static void
test_is_json(void **state)
{
	static const struct {
		const char *in;
		bool ok;
	} cases[] = {
	    {"application/json", true},
	    {"Application/JSON", true},
	    {"application/json; charset=utf-8", true},
	    {"application/json;charset=UTF-8", true},
	    {" application/json ", true},
	    {"application/jsonx", false},
	    {"application/json-patch+json", false},
	    {"text/json", false},
	    {"application/x-www-form-urlencoded", false},
	    {"multipart/form-data; boundary=x", false},
	    {"text/plain", false},
	    {"", false},
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		size_t len = strlen(cases[i].in);
		char *in = exact(cases[i].in, len);
		if (web_is_json(in, len) != cases[i].ok)
			fail_msg("'%s'", cases[i].in);
		free(in);
	}
}

/* --- bodies --- */

static const struct web_field fields[] = {
    {"address", WEB_STRING, true},
    {"targets", WEB_STRINGS, false},
    {"quota", WEB_SIZE, false},
    {"note", WEB_TEXT, false},
    {NULL, 0, false},
};

struct body_case {
	const char *in;
	int ok;
	const char *err; /* part of the reason */
};

static const struct body_case body_cases[] = {
    {"{\"address\":\"a@b\"}", 0, NULL},
    {" {\"address\" : \"a@b\" }\r\n", 0, NULL},
    {"{\"address\":\"a@b\",\"targets\":[\"x@y\",\"z@w\"]}", 0, NULL},
    {"{\"address\":\"a@b\",\"quota\":null}", 0, NULL},
    {"{\"address\":\"a@b\",\"quota\":0}", 0, NULL},
    {"{\"address\":\"a@b\",\"quota\":\"500m\"}", 0, NULL},
    {"{\"address\":\"a@b\",\"quota\":\"none\"}", 0, NULL},
    {"{\"address\":\"a@b\",\"note\":\"\"}", 0, NULL},
    {"{\"address\":\"caf\xc3\xa9@b\"}", 0, NULL},
    {"", -1, "missing field 'address'"},
    {"   ", -1, "missing field 'address'"},
    {"{}", -1, "missing field 'address'"},
    {"{", -1, "bad JSON"},
    {"{\"address\":\"a@b\"} x", -1, "bad JSON"},
    {"{\"address\":\"a@b\"}{}", -1, "bad JSON"},
    {"[]", -1, "JSON object"},
    {"\"x\"", -1, "bad JSON"},
    {"null", -1, "bad JSON"},
    {"{\"address\":\"a@b\",\"address\":\"c@d\"}", -1, "bad JSON"},
    {"{\"address\":\"a@b\",\"other\":1}", -1, "unknown field 'other'"},
    {"{\"Address\":\"a@b\"}", -1, "unknown field 'Address'"},
    {"{\"address\":1}", -1, "field 'address' must be"},
    {"{\"address\":\"\"}", -1, "field 'address' must be"},
    {"{\"address\":null}", -1, "field 'address' must be"},
    {"{\"address\":[\"a\"]}", -1, "field 'address' must be"},
    {"{\"address\":\"a\\u0000b\"}", -1, "bad JSON"},
    {"{\"address\":\"\xff\"}", -1, "bad JSON"},
    {"{\"address\":\"\xed\xa0\x80\"}", -1, "bad JSON"}, /* surrogate */
    {"{\"address\":\"a@b\",\"targets\":[]}", -1, "field 'targets'"},
    {"{\"address\":\"a@b\",\"targets\":[1]}", -1, "field 'targets'"},
    {"{\"address\":\"a@b\",\"targets\":[\"\"]}", -1, "field 'targets'"},
    {"{\"address\":\"a@b\",\"targets\":\"x@y\"}", -1, "field 'targets'"},
    {"{\"address\":\"a@b\",\"quota\":-1}", -1, "field 'quota'"},
    {"{\"address\":\"a@b\",\"quota\":1.5}", -1, "field 'quota'"},
    {"{\"address\":\"a@b\",\"quota\":\"lots\"}", -1, "field 'quota'"},
    {"{\"address\":\"a@b\",\"quota\":true}", -1, "field 'quota'"},
    {"{\"address\":\"a@b\",\"note\":5}", -1, "field 'note'"},
    /* Control characters never get into the directory or a log line. */
    {"{\"address\":\"a\\nb\"}", -1, "field 'address' must be"},
    {"{\"address\":\"a\\u001b[31m\"}", -1, "field 'address' must be"},
    {"{\"address\":\"a\\u007f\"}", -1, "field 'address' must be"},
    {"{\"address\":\"a@b\",\"targets\":[\"x\\ty\"]}", -1, "field 'targets'"},
    {"{\"address\":\"a@b\",\"note\":\"\\r\"}", -1, "field 'note'"},
};

static void
test_body_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(body_cases); i++) {
		const struct body_case *c = &body_cases[i];
		size_t len = strlen(c->in);
		char *in = exact(c->in, len), err[256] = "";
		json_t *obj = (json_t *)1;
		int r = web_body_parse(in, len, fields, &obj, err, sizeof(err));
		if (r != c->ok)
			fail_msg("'%s': %d (%s)", c->in, r, err);
		if (r == 0) {
			assert_non_null(obj);
			assert_true(json_is_object(obj));
			json_decref(obj);
		} else {
			assert_null(obj);
			if (strstr(err, c->err) == NULL)
				fail_msg("'%s': '%s', want '%s'", c->in, err,
					 c->err);
		}
		free(in);
	}
}

static void
test_body_limits(void **state)
{
	char err[256];
	json_t *obj;
	(void)state;

	/* No fields: empty, {} or nothing else. */
	assert_int_equal(web_body_parse("", 0, NULL, &obj, err, sizeof(err)),
			 0);
	json_decref(obj);
	assert_int_equal(web_body_parse("{}", 2, NULL, &obj, err, sizeof(err)),
			 0);
	json_decref(obj);
	assert_int_equal(
	    web_body_parse("{\"a\":1}", 7, NULL, &obj, err, sizeof(err)), -1);
	/* A string of WEB_STRING_MAX is fine, one more is not. */
	size_t n = WEB_STRING_MAX + 20;
	char *big = malloc(n + 1);
	for (size_t k = 0; k < 2; k++) {
		size_t slen = WEB_STRING_MAX + k;
		int w = snprintf(big, n + 1, "{\"address\":\"%*s\"}", (int)slen,
				 "x");
		assert_int_equal(web_body_parse(big, (size_t)w, fields, &obj,
						err, sizeof(err)),
				 k == 0 ? 0 : -1);
		if (k == 0)
			json_decref(obj);
	}
	free(big);
	/* Over WEB_BODY_MAX: refused before parsing. */
	char *huge = malloc(WEB_BODY_MAX + 2);
	memset(huge, ' ', WEB_BODY_MAX + 1);
	huge[0] = '{';
	huge[WEB_BODY_MAX] = '}';
	assert_int_equal(web_body_parse(huge, WEB_BODY_MAX + 1, fields, &obj,
					err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "too large"));
	free(huge);
	/* Deep nesting is bad JSON (a limit inside jansson), not a crash. */
	char deep[5001];
	memset(deep, '[', 5000);
	assert_int_equal(
	    web_body_parse(deep, 5000, fields, &obj, err, sizeof(err)), -1);
}

/* --- UTF-8 --- */

struct utf8_case {
	const char *in;
	size_t len;
	const char *out;
};

#define U(x) x, sizeof(x) - 1
#define R    "\xef\xbf\xbd"

static const struct utf8_case utf8_cases[] = {
    {U("plain"), "plain"},
    {U("caf\xc3\xa9"), "caf\xc3\xa9"},
    {U("\xe2\x82\xac \xf0\x9f\x90\xa7"), "\xe2\x82\xac \xf0\x9f\x90\xa7"},
    {U("a\xffz"), "a" R "z"},
    {U("\xc3"), R},		      /* truncated */
    {U("\xc0\xaf"), R R},	      /* overlong '/' */
    {U("\xe0\x80\xaf"), R R R},	      /* overlong */
    {U("\xed\xa0\x80"), R R R},	      /* surrogate */
    {U("\xf4\x90\x80\x80"), R R R R}, /* > U+10FFFF */
    {U("\xf5\x80"), R R},
    {U("a\0b"), "a" R "b"},
    {U("\x80"), R},
    {U(""), ""},
};

static void
test_utf8_clean(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(utf8_cases); i++) {
		const struct utf8_case *c = &utf8_cases[i];
		char *in = exact(c->in, c->len);
		size_t n;
		char *out = web_utf8_clean(in, c->len, &n);
		assert_int_equal(n, strlen(c->out));
		assert_string_equal(out, c->out);
		/* What comes out is what jansson takes as a string. */
		json_t *j = json_stringn(out, n);
		assert_non_null(j);
		json_decref(j);
		free(out);
		free(in);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_split),
	    cmocka_unit_test(test_query_get),
	    cmocka_unit_test(test_cookie_get),
	    cmocka_unit_test(test_bearer),
	    cmocka_unit_test(test_is_json),
	    cmocka_unit_test(test_body_parse),
	    cmocka_unit_test(test_body_limits),
	    cmocka_unit_test(test_utf8_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
