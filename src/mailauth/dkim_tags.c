/*
 * dkim_tags - RFC 6376 §3.2 tag-list:
 *
 *     tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *     tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *     tag-name  =  ALPHA *ALNUMPUNC
 *     tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *     tval      =  1*VALCHAR    ; %x21-3A / %x3C-7E
 */
#include "mailauth/dkim_tags.h"

#include <string.h>
#include <strings.h>

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnumpunc(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_valchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ';';
}

/*
 * skip_fws - past white space at *pos: WSP, and a line end (CRLF or LF)
 * only when WSP follows it (a fold). Returns false on a line end that
 * is not a fold: a bare line break cannot be inside a field.
 */
static bool
skip_fws(const unsigned char *p, size_t len, size_t *pos)
{
	size_t i = *pos;

	for (;;) {
		if (i < len && (p[i] == ' ' || p[i] == '\t')) {
			i++;
			continue;
		}
		size_t nl = 0;
		if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
			nl = 2;
		else if (i < len && p[i] == '\n')
			nl = 1;
		if (nl == 0)
			break;
		if (i + nl >= len || (p[i + nl] != ' ' && p[i + nl] != '\t'))
			return false;
		i += nl;
	}
	*pos = i;
	return true;
}

enum dkim_tags_error
dkim_tags_parse(const char *s, size_t len, struct dkim_tags *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	out->n = 0;
	for (;;) {
		if (!skip_fws(p, len, &i))
			return DKIM_TAGS_SYNTAX;
		if (i == len)
			return DKIM_TAGS_OK; /* empty, or after a final ";" */

		size_t name = i;
		if (!is_alpha(p[i]))
			return DKIM_TAGS_SYNTAX;
		while (i < len && is_alnumpunc(p[i]))
			i++;
		size_t name_len = i - name;
		if (!skip_fws(p, len, &i) || i == len || p[i] != '=')
			return DKIM_TAGS_SYNTAX;
		i++;
		if (!skip_fws(p, len, &i))
			return DKIM_TAGS_SYNTAX;

		/* tag-value: tvals separated by FWS; ends at ';' or end. */
		size_t value = i, value_end = i;
		while (i < len && p[i] != ';') {
			if (is_valchar(p[i])) {
				i++;
				value_end = i;
				continue;
			}
			if (!skip_fws(p, len, &i))
				return DKIM_TAGS_SYNTAX;
			if (i < len && p[i] != ';' && !is_valchar(p[i]))
				return DKIM_TAGS_SYNTAX; /* NUL, 8-bit, CR */
		}

		for (size_t k = 0; k < out->n; k++)
			if (out->tag[k].name_len == name_len &&
			    memcmp(out->tag[k].name, s + name, name_len) == 0)
				return DKIM_TAGS_DUPLICATE;
		if (out->n == DKIM_TAGS_MAX)
			return DKIM_TAGS_TOO_MANY;
		struct dkim_tag *t = &out->tag[out->n++];
		t->name = s + name;
		t->name_len = name_len;
		t->value = s + value;
		t->value_len = value_end - value;

		if (i == len)
			return DKIM_TAGS_OK;
		i++; /* the ';' */
	}
}

const struct dkim_tag *
dkim_tags_get(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n &&
		    memcmp(t->tag[i].name, name, n) == 0)
			return &t->tag[i];
	return NULL;
}

bool
dkim_tag_is(const struct dkim_tag *tag, const char *word)
{
	size_t n = strlen(word);

	return tag->value_len == n && memcmp(tag->value, word, n) == 0;
}

bool
dkim_tag_is_ci(const struct dkim_tag *tag, const char *word)
{
	size_t n = strlen(word);

	return tag->value_len == n && strncasecmp(tag->value, word, n) == 0;
}

const struct dkim_tag *
dkim_tags_get_ci(const struct dkim_tags *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->n; i++)
		if (t->tag[i].name_len == n &&
		    strncasecmp(t->tag[i].name, name, n) == 0)
			return &t->tag[i];
	return NULL;
}
