/*
 * mime_parse - streaming MIME parser (minimal first version: the whole
 * message as one part; the full parser follows).
 */
#include "mime/mime_parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

struct mime_parser {
	struct mime_limits lim;
	uint64_t size;
};

void
mime_limits_default(struct mime_limits *l)
{
	l->max_depth = MIME_DEFAULT_MAX_DEPTH;
	l->max_parts = MIME_DEFAULT_MAX_PARTS;
	l->max_header = MIME_DEFAULT_MAX_HEADER;
	l->max_kept = MIME_DEFAULT_MAX_KEPT;
}

struct mime_parser *
mime_parser_new(const struct mime_limits *limits)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	if (limits != NULL)
		p->lim = *limits;
	else
		mime_limits_default(&p->lim);
	return p;
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	(void)data;
	p->size += len;
}

struct mime_tree *
mime_parser_finish(struct mime_parser **pp)
{
	struct mime_tree *t = xcalloc(1, sizeof(*t));
	struct mime_part *root;

	t->parts = xcalloc(1, sizeof(*t->parts));
	t->nparts = 1;
	t->envs = xcalloc(1, sizeof(*t->envs));
	t->nenvs = 1;
	t->strings = xcalloc(1, 1);
	t->strings_len = 1;
	t->size = (*pp)->size;
	root = &t->parts[0];
	root->parent = root->child = root->next = MIME_NONE;
	root->flags =
	    MIME_PART_IS_MESSAGE | MIME_PART_TEXT | MIME_PART_DEFAULT_TYPE;
	root->body_len = t->size;
	root->env = 0;
	mime_parser_free(pp);
	return t;
}

void
mime_parser_free(struct mime_parser **pp)
{
	free(*pp);
	*pp = NULL;
}

struct mime_tree *
mime_parse(const void *msg, size_t len, const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);

	mime_parser_feed(p, msg, len);
	return mime_parser_finish(&p);
}

void
mime_tree_free(struct mime_tree **tp)
{
	struct mime_tree *t = *tp;

	if (t == NULL)
		return;
	free(t->parts);
	free(t->params);
	free(t->envs);
	free(t->strings);
	free(t);
	*tp = NULL;
}

const char *
mime_str_ptr(const struct mime_tree *t, struct mime_str s)
{
	return s.off == 0 ? NULL : t->strings + s.off;
}

bool
mime_str_is(const struct mime_tree *t, struct mime_str s, const char *word)
{
	return s.off != 0 && strlen(word) == s.len &&
	       strncasecmp(t->strings + s.off, word, s.len) == 0;
}
