/*
 * fuzz_imap_command - bytes through the IMAP command reader as a session
 * feeds them (in pieces, literals accepted or refused as the input's
 * first byte says), every parsed command checked for what the session
 * relies on; then the whole input through imap_parse_command directly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_parse.h"
#include "imap/imap_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_limits lim = {
    .max_line = 512,
    .max_command = 4096,
    .max_literal = 1024,
    .max_depth = 16,
    .max_items = 256,
};

static void
check_str(const struct imap_str *s)
{
	if (s->p != NULL && s->p[s->len] != '\0')
		abort();
}

static void
check_set(const struct imap_seqset *set)
{
	if (set->saved && set->n != 0)
		abort();
	for (size_t i = 0; i < set->n; i++)
		(void)(set->r[i].lo + set->r[i].hi);
}

static void
check_search(const struct imap_search *k, unsigned depth)
{
	if (depth > 2 * lim.max_depth + 2)
		abort();
	for (; k != NULL; k = k->next) {
		check_str(&k->str);
		check_str(&k->field);
		check_set(&k->set);
		if (k->key == IMAP_SK_OR &&
		    (k->child == NULL || k->child->next == NULL))
			abort();
		check_search(k->child, depth + 1);
	}
}

static void
check(const struct imap_command *c)
{
	if (c->tag[0] == '\0' || c->cmd <= IMAP_CMD_NONE ||
	    c->cmd >= IMAP_CMD_COUNT)
		abort();
	switch (c->cmd) {
	case IMAP_CMD_FETCH:
		check_set(&c->u.fetch.set);
		if (c->u.fetch.n == 0)
			abort();
		for (size_t i = 0; i < c->u.fetch.n; i++) {
			const struct imap_section *sec = c->u.fetch.att[i].sec;
			if ((sec != NULL) !=
			    (c->u.fetch.att[i].item == IMAP_FETCH_SECTION))
				abort();
			for (size_t k = 0; sec && k < sec->nfields; k++)
				if (sec->field[k].p[sec->field[k].len] != 0)
					abort();
		}
		break;
	case IMAP_CMD_SEARCH:
		if (c->u.search.root == NULL)
			abort();
		check_search(c->u.search.root, 0);
		break;
	case IMAP_CMD_STORE:
		check_set(&c->u.store.set);
		for (size_t i = 0; i < c->u.store.flags.n_kw; i++)
			check_str(&c->u.store.flags.kw[i]);
		break;
	case IMAP_CMD_LOGIN:
		check_str(&c->u.login.user);
		check_str(&c->u.login.pass);
		break;
	case IMAP_CMD_LIST:
	case IMAP_CMD_LSUB:
		if (c->u.list.n_pat == 0)
			abort();
		for (size_t i = 0; i < c->u.list.n_pat; i++)
			check_str(&c->u.list.pat[i]);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned policy = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	size_t step = (policy & 0x0f) + 1;
	struct imap_reader r;
	size_t pos = 0, spooled = 0;

	imap_reader_init(&r, &lim);
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		char *piece = malloc(n);
		memcpy(piece, in + pos, n);
		size_t off = 0;
		for (;;) {
			struct imap_reader_out out;
			size_t used;
			enum imap_reader_event ev = imap_reader_feed(
			    &r, piece + off, n - off, &used, &out);
			if (used > n - off)
				abort();
			off += used;
			if (ev == IMAP_READER_MORE)
				break;
			if (ev == IMAP_READER_LITERAL) {
				if (out.lit_fits && !(policy & 0x10))
					imap_reader_accept(&r);
				else
					imap_reader_refuse(&r);
			} else if (ev == IMAP_READER_SPOOL) {
				if (out.len == 0 || out.data < piece ||
				    out.data + out.len > piece + n)
					abort();
				spooled += out.len;
			} else if (ev == IMAP_READER_COMMAND) {
				if (out.bad && out.why == NULL)
					abort();
				if (!out.bad) {
					check(&out.cmd);
					if (out.cmd.cmd == IMAP_CMD_APPEND &&
					    out.cmd.u.append.ext &&
					    out.cmd.u.append.size > spooled)
						abort();
				}
				spooled = 0;
				imap_command_free(&out.cmd);
			}
		}
		free(piece);
		pos += n;
	}
	imap_reader_reset(&r);

	/* The parser alone, on the exact bytes. */
	char *copy = malloc(len ? len : 1);
	memcpy(copy, in, len);
	struct imap_command cmd;
	struct imap_literal lit;
	const char *why;
	size_t ext[1] = {len / 2};
	enum imap_parse_status st = imap_parse_command(
	    copy, len, ext, policy & 0x20 ? 1 : 0, &lim, &cmd, &lit, &why);
	if (st == IMAP_PARSE_OK)
		check(&cmd);
	else if (st == IMAP_PARSE_BAD && why == NULL)
		abort();
	imap_command_free(&cmd);
	free(copy);
	return 0;
}
