/*
 * test_imap_parse - the IMAP command parser and the command reader.
 *
 * Parser cases are {wire bytes, expected dump}: the parsed command is
 * printed in a canonical form and compared, so one line states what
 * every field must hold. Each case is parsed from an exact-length heap
 * copy (ASan catches a read past it), then fed through the reader
 * whole, split at every byte, and one byte at a time, with literals
 * accepted as a session would: every way must give the same dump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "imap/imap_parse.h"
#include "imap/imap_reader.h"
#include "util/strbuf.h"

static const struct imap_limits lim = {
    .max_line = 200,
    .max_command = 1000,
    .max_literal = 100,
    .max_depth = 8,
    .max_items = 50,
};

/* --- the canonical dump --- */

static void
dump_str(struct strbuf *sb, const struct imap_str *s)
{
	strbuf_adds(sb, "<");
	if (s->p != NULL)
		strbuf_add(sb, s->p, s->len);
	strbuf_adds(sb, ">");
}

static void
dump_set(struct strbuf *sb, const struct imap_seqset *set)
{
	if (set->saved) {
		strbuf_adds(sb, "$");
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (i > 0)
			strbuf_adds(sb, ",");
		if (set->r[i].lo == set->r[i].hi)
			strbuf_addf(sb, "%u", set->r[i].lo);
		else
			strbuf_addf(sb, "%u:%u", set->r[i].lo, set->r[i].hi);
	}
}

static void
dump_flags(struct strbuf *sb, const struct imap_flags *f)
{
	strbuf_adds(sb, "(");
	const char *sep = "";
	for (unsigned b = 1; b <= IMAP_FLAG_RECENT; b <<= 1)
		if (f->sys & b) {
			strbuf_addf(sb, "%s%s", sep, imap_flag_name(b));
			sep = " ";
		}
	for (size_t i = 0; i < f->n_kw; i++) {
		strbuf_addf(sb, "%s", sep);
		strbuf_add(sb, f->kw[i].p, f->kw[i].len);
		sep = " ";
	}
	strbuf_adds(sb, ")");
}

static const char *const item_names[] = {
    "FLAGS",  "INTERNALDATE",  "RFC822.SIZE", "ENVELOPE",
    "BODY",   "BODYSTRUCTURE", "UID",	      "MODSEQ",
    "RFC822", "RFC822.HEADER", "RFC822.TEXT", "SECTION",
};

static void
dump_fetch(struct strbuf *sb, const struct imap_fetch_args *f)
{
	strbuf_adds(sb, " set=");
	dump_set(sb, &f->set);
	strbuf_adds(sb, f->macro ? " macro" : "");
	for (size_t i = 0; i < f->n; i++) {
		const struct imap_fetch_att *a = &f->att[i];
		strbuf_adds(sb, i == 0 ? " " : ",");
		if (a->item != IMAP_FETCH_SECTION) {
			strbuf_adds(sb, item_names[a->item]);
			continue;
		}
		strbuf_adds(sb, a->peek ? "BODY.PEEK[" : "BODY[");
		for (size_t k = 0; k < a->sec->nparts; k++)
			strbuf_addf(sb, "%s%u", k ? "." : "", a->sec->part[k]);
		static const char *const texts[] = {
		    "",	    "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
		    "TEXT", "MIME"};
		if (a->sec->text != IMAP_SECTION_BODY)
			strbuf_addf(sb, "%s%s", a->sec->nparts ? "." : "",
				    texts[a->sec->text]);
		if (a->sec->nfields > 0) {
			strbuf_adds(sb, " (");
			for (size_t k = 0; k < a->sec->nfields; k++) {
				if (k)
					strbuf_adds(sb, " ");
				strbuf_adds(sb, "<");
				strbuf_add(sb, a->sec->field[k].p,
					   a->sec->field[k].len);
				strbuf_adds(sb, ">");
			}
			strbuf_adds(sb, ")");
		}
		strbuf_adds(sb, "]");
		if (a->partial)
			strbuf_addf(sb, "<%u.%u>", a->offset, a->count);
	}
	if (f->changedsince_set)
		strbuf_addf(sb, " changedsince=%llu",
			    (unsigned long long)f->changedsince);
	if (f->vanished)
		strbuf_adds(sb, " vanished");
}

static const char *const sk_names[] = {
    "ALL",     "AND",	    "OR",     "NOT",	 "SET",	    "UID",
    "FLAG",    "UNFLAG",    "NEW",    "OLD",	 "KEYWORD", "UNKEYWORD",
    "BCC",     "CC",	    "FROM",   "SUBJECT", "TO",	    "HEADER",
    "BODY",    "TEXT",	    "BEFORE", "ON",	 "SINCE",   "SENTBEFORE",
    "SENTON",  "SENTSINCE", "LARGER", "SMALLER", "MODSEQ",  "OLDER",
    "YOUNGER",
};

static void
dump_search(struct strbuf *sb, const struct imap_search *k)
{
	strbuf_addf(sb, "(%s", sk_names[k->key]);
	switch (k->key) {
	case IMAP_SK_AND:
	case IMAP_SK_OR:
	case IMAP_SK_NOT:
		for (const struct imap_search *c = k->child; c; c = c->next) {
			strbuf_adds(sb, " ");
			dump_search(sb, c);
			if (k->key == IMAP_SK_NOT)
				break;
		}
		break;
	case IMAP_SK_SEQSET:
	case IMAP_SK_UID:
		strbuf_adds(sb, " ");
		dump_set(sb, &k->set);
		break;
	case IMAP_SK_FLAG:
	case IMAP_SK_UNFLAG:
		strbuf_addf(sb, " %s", imap_flag_name(k->flag));
		break;
	case IMAP_SK_HEADER:
		strbuf_adds(sb, " ");
		dump_str(sb, &k->field);
		/* fall through */
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
	case IMAP_SK_BCC:
	case IMAP_SK_CC:
	case IMAP_SK_FROM:
	case IMAP_SK_SUBJECT:
	case IMAP_SK_TO:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		strbuf_adds(sb, " ");
		dump_str(sb, &k->str);
		break;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		strbuf_addf(sb, " day%d", k->day);
		break;
	case IMAP_SK_LARGER:
	case IMAP_SK_SMALLER:
	case IMAP_SK_OLDER:
	case IMAP_SK_YOUNGER:
		strbuf_addf(sb, " %u", k->num);
		break;
	case IMAP_SK_MODSEQ:
		strbuf_addf(sb, " %llu", (unsigned long long)k->modseq);
		break;
	default:
		break;
	}
	strbuf_adds(sb, ")");
}

/* dump - the canonical text of a parsed command (caller frees). */
static char *
dump(const struct imap_command *c)
{
	struct strbuf sb = {0};
	strbuf_addf(&sb, "%s %s%s", c->tag, c->uid ? "UID " : "",
		    imap_cmd_name(c->cmd));
	switch (c->cmd) {
	case IMAP_CMD_LOGIN:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.login.user);
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.login.pass);
		break;
	case IMAP_CMD_AUTHENTICATE:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.auth.mech);
		if (c->u.auth.has_ir) {
			strbuf_adds(&sb, " ir=");
			dump_str(&sb, &c->u.auth.ir);
		}
		break;
	case IMAP_CMD_SELECT:
	case IMAP_CMD_EXAMINE: {
		const struct imap_select_args *s = &c->u.select;
		strbuf_adds(&sb, " ");
		dump_str(&sb, &s->mbox);
		if (s->condstore)
			strbuf_adds(&sb, " condstore");
		if (s->qresync) {
			strbuf_addf(&sb, " qresync %u %llu", s->uidvalidity,
				    (unsigned long long)s->modseq);
			if (s->known_uids.n) {
				strbuf_adds(&sb, " known=");
				dump_set(&sb, &s->known_uids);
			}
			if (s->match_seq.n) {
				strbuf_adds(&sb, " match=");
				dump_set(&sb, &s->match_seq);
				strbuf_adds(&sb, "/");
				dump_set(&sb, &s->match_uid);
			}
		}
		break;
	}
	case IMAP_CMD_CREATE:
	case IMAP_CMD_DELETE:
	case IMAP_CMD_SUBSCRIBE:
	case IMAP_CMD_UNSUBSCRIBE:
	case IMAP_CMD_GETQUOTAROOT:
	case IMAP_CMD_GETQUOTA:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.mbox);
		break;
	case IMAP_CMD_RENAME:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.rename.from);
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.rename.to);
		break;
	case IMAP_CMD_LIST:
	case IMAP_CMD_LSUB: {
		const struct imap_list_args *l = &c->u.list;
		strbuf_addf(&sb, " opts=%x", l->opts);
		if (l->status_items)
			strbuf_addf(&sb, " status=%x", l->status_items);
		strbuf_adds(&sb, " ");
		dump_str(&sb, &l->ref);
		for (size_t i = 0; i < l->n_pat; i++) {
			strbuf_adds(&sb, " ");
			dump_str(&sb, &l->pat[i]);
		}
		break;
	}
	case IMAP_CMD_STATUS:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.status.mbox);
		strbuf_addf(&sb, " items=%x", c->u.status.items);
		break;
	case IMAP_CMD_APPEND: {
		const struct imap_append_args *a = &c->u.append;
		strbuf_adds(&sb, " ");
		dump_str(&sb, &a->mbox);
		strbuf_adds(&sb, " ");
		dump_flags(&sb, &a->flags);
		if (a->has_date)
			strbuf_addf(&sb, " date=%lld", (long long)a->date);
		strbuf_addf(&sb, " size=%u%s", a->size, a->ext ? " ext" : "");
		if (!a->ext && a->data != NULL) {
			strbuf_adds(&sb, " <");
			strbuf_add(&sb, a->data, a->size);
			strbuf_adds(&sb, ">");
		}
		break;
	}
	case IMAP_CMD_FETCH:
		dump_fetch(&sb, &c->u.fetch);
		break;
	case IMAP_CMD_STORE: {
		const struct imap_store_args *s = &c->u.store;
		strbuf_adds(&sb, " set=");
		dump_set(&sb, &s->set);
		if (s->unchangedsince_set)
			strbuf_addf(&sb, " unchangedsince=%llu",
				    (unsigned long long)s->unchangedsince);
		strbuf_addf(&sb, " %c%s ", s->op, s->silent ? " silent" : "");
		dump_flags(&sb, &s->flags);
		break;
	}
	case IMAP_CMD_COPY:
	case IMAP_CMD_MOVE:
		strbuf_adds(&sb, " set=");
		dump_set(&sb, &c->u.copy.set);
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.copy.mbox);
		break;
	case IMAP_CMD_SEARCH: {
		const struct imap_search_args *s = &c->u.search;
		if (s->esearch)
			strbuf_addf(&sb, " return=%x", s->ret);
		if (s->charset.len) {
			strbuf_adds(&sb, " charset=");
			dump_str(&sb, &s->charset);
		}
		strbuf_adds(&sb, " ");
		dump_search(&sb, s->root);
		break;
	}
	case IMAP_CMD_EXPUNGE:
		if (c->uid) {
			strbuf_adds(&sb, " set=");
			dump_set(&sb, &c->u.expunge);
		}
		break;
	case IMAP_CMD_ENABLE:
		for (size_t i = 0; i < c->u.enable.n; i++) {
			strbuf_adds(&sb, " ");
			dump_str(&sb, &c->u.enable.caps[i]);
		}
		break;
	case IMAP_CMD_ID:
		for (size_t i = 0; i < c->u.id.n; i++) {
			strbuf_adds(&sb, " ");
			dump_str(&sb, &c->u.id.kv[2 * i]);
			strbuf_adds(&sb, "=");
			if (c->u.id.nil[i])
				strbuf_adds(&sb, "NIL");
			else
				dump_str(&sb, &c->u.id.kv[2 * i + 1]);
		}
		break;
	case IMAP_CMD_COMPRESS:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.compress);
		break;
	case IMAP_CMD_SETQUOTA:
		strbuf_adds(&sb, " ");
		dump_str(&sb, &c->u.setquota.root);
		if (c->u.setquota.storage_set)
			strbuf_addf(&sb, " storage=%llu",
				    (unsigned long long)c->u.setquota.storage);
		break;
	default:
		break;
	}
	return sb.p;
}

/* --- parser cases --- */

#define S(x) x, sizeof(x) - 1

struct pcase {
	const char *in;
	size_t len;
	const char *want; /* the dump; or "BAD tag: why"; or "LIT n[+][m]" */
};

static const struct pcase pcases[] = {
    /* Simple commands; case-insensitive names, tags kept as sent. */
    {S("a1 CAPABILITY\r\n"), "a1 CAPABILITY"},
    {S("A.b] noop\r\n"), "A.b] NOOP"},
    {S("x LoGoUt\r\n"), "x LOGOUT"},
    {S("t STARTTLS\n"), "t STARTTLS"},
    {S("t NAMESPACE\r\n"), "t NAMESPACE"},
    {S("t IDLE\r\n"), "t IDLE"},
    {S("t CHECK\r\n"), "t CHECK"},
    {S("t CLOSE\r\n"), "t CLOSE"},
    {S("t UNSELECT\r\n"), "t UNSELECT"},
    {S("t EXPUNGE\r\n"), "t EXPUNGE"},
    {S("t NOOP x\r\n"), "BAD t: Expected end of command"},
    {S("t NOOP \r\n"), "BAD t: Expected end of command"},
    {S("t NOOP\r\nextra"), "BAD t: Expected end of command"},
    {S("t XYZZY\r\n"), "BAD t: Unknown command"},
    {S("t\r\n"), "BAD t: Expected a space"},
    {S("\r\n"), "BAD : Missing tag"},
    {S(" NOOP\r\n"), "BAD : Missing tag"},
    {S("a+b NOOP\r\n"), "BAD : Invalid tag"},
    {S("a*b NOOP\r\n"), "BAD : Invalid tag"},
    {S("a\x80 NOOP\r\n"), "BAD : Invalid tag"},
    {S("t UID NOOP\r\n"), "BAD t: Unknown UID command"},
    {S("t UID\r\n"), "BAD t: Expected a space"},
    /* LOGIN: atoms, quoted strings with escapes, literals. */
    {S("t LOGIN alice secret\r\n"), "t LOGIN <alice> <secret>"},
    {S("t LOGIN \"al ice\" \"se\\\"c\\\\ret\"\r\n"),
     "t LOGIN <al ice> <se\"c\\ret>"},
    {S("t LOGIN {5}\r\nalice {6+}\r\nsecret\r\n"), "t LOGIN <alice> <secret>"},
    {S("t LOGIN \"\" \"\"\r\n"), "t LOGIN <> <>"},
    {S("t LOGIN {0}\r\n {0}\r\n\r\n"), "t LOGIN <> <>"},
    {S("t LOGIN alice\r\n"), "BAD t: Expected a space"},
    {S("t LOGIN alice \"x\\y\"\r\n"), "BAD t: Bad escape in quoted string"},
    {S("t LOGIN alice \"xy\r\n"), "BAD t: Unterminated quoted string"},
    {S("t LOGIN alice {3}\r\nab\0\r\n"), "BAD t: NUL in literal"},
    {S("t LOGIN alice {3}x\r\n"),
     "BAD t: Literal announcement must end the line"},
    {S("t LOGIN alice {3} \r\n"), "BAD t: Literal announcement must end "
				  "the line"},
    {S("t LOGIN alice {}\r\n"), "BAD t: Expected a number"},
    {S("t LOGIN alice {4294967296}\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t LOGIN alice {99999999999999999999}\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t LOGIN alice {101}\r\n"), "LIT 101"},
    {S("t LOGIN alice {4294967295+}\r\n"), "LIT 4294967295+"},
    {S("t LOGIN alice \"\xc3\xa9t\xc3\xa9\"\r\n"),
     "t LOGIN <alice> <\xc3\xa9t\xc3\xa9>"},
    /* AUTHENTICATE, SASL-IR. */
    {S("t AUTHENTICATE PLAIN\r\n"), "t AUTHENTICATE <PLAIN>"},
    {S("t AUTHENTICATE PLAIN AGEAYg==\r\n"),
     "t AUTHENTICATE <PLAIN> ir=<AGEAYg==>"},
    {S("t AUTHENTICATE PLAIN =\r\n"), "t AUTHENTICATE <PLAIN> ir=<=>"},
    {S("t AUTHENTICATE PLAIN a b\r\n"), "BAD t: Expected end of command"},
    /* SELECT with CONDSTORE and QRESYNC. */
    {S("t SELECT inbox\r\n"), "t SELECT <INBOX>"},
    {S("t EXAMINE \"InBoX\"\r\n"), "t EXAMINE <INBOX>"},
    {S("t SELECT INBOX.Sent\r\n"), "t SELECT <INBOX.Sent>"},
    {S("t SELECT &AMk-t&AOk-\r\n"), "t SELECT <&AMk-t&AOk->"},
    {S("t SELECT INBOX (CONDSTORE)\r\n"), "t SELECT <INBOX> condstore"},
    {S("t SELECT INBOX (QRESYNC (67890007 20050715194045000 "
       "41,43:211,214:541))\r\n"),
     "t SELECT <INBOX> qresync 67890007 20050715194045000 "
     "known=41,43:211,214:541"},
    {S("t SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 "
       "(5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976:29979"
       ")))\r\n"),
     "t SELECT <INBOX> qresync 67890007 90060115194045000 known=1:29997 "
     "match=5000,7500,9000,9990:9999/15000,22500,27000,29970,29973,29976:"
     "29979"},
    {S("t SELECT INBOX (QRESYNC (1 0))\r\n"), "t SELECT <INBOX> qresync 1 0"},
    {S("t SELECT INBOX (QRESYNC (0 1))\r\n"),
     "BAD t: Expected a non-zero number"},
    {S("t SELECT INBOX (QRESYNC (1 9223372036854775808))\r\n"),
     "BAD t: Mod-sequence out of range"},
    {S("t SELECT INBOX (FOO)\r\n"), "BAD t: Unknown SELECT parameter"},
    {S("t SELECT\r\n"), "BAD t: Expected a space"},
    /* Mailbox management. */
    {S("t CREATE Archive.2026\r\n"), "t CREATE <Archive.2026>"},
    {S("t DELETE \"a b\"\r\n"), "t DELETE <a b>"},
    {S("t RENAME Old New\r\n"), "t RENAME <Old> <New>"},
    {S("t SUBSCRIBE inbox\r\n"), "t SUBSCRIBE <INBOX>"},
    {S("t UNSUBSCRIBE x\r\n"), "t UNSUBSCRIBE <x>"},
    {S("t CREATE a%b\r\n"), "BAD t: Expected end of command"},
    /* LIST / LSUB, with LIST-EXTENDED and LIST-STATUS. */
    {S("t LIST \"\" *\r\n"), "t LIST opts=0 <> <*>"},
    {S("t LIST \"\" \"\"\r\n"), "t LIST opts=0 <> <>"},
    {S("t LIST ~/Mail/ %.b]*\r\n"), "t LIST opts=0 <~/Mail/> <%.b]*>"},
    {S("t LSUB \"\" %\r\n"), "t LSUB opts=0 <> <%>"},
    {S("t LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX* Sent) RETURN "
       "(CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n"),
     "t LIST opts=8e05 status=11 <> <INBOX*> <Sent>"},
    {S("t LIST () \"\" % RETURN ()\r\n"), "t LIST opts=8000 <> <%>"},
    {S("t LIST (RECURSIVEMATCH) \"\" %\r\n"),
     "BAD t: RECURSIVEMATCH needs another selection option"},
    {S("t LIST \"\" % RETURN (FOO)\r\n"), "BAD t: Unknown LIST option"},
    {S("t LIST \"\" % FOO\r\n"), "BAD t: Expected RETURN options"},
    {S("t LSUB (SUBSCRIBED) \"\" %\r\n"), "BAD t: Expected a string or atom"},
    /* STATUS. */
    {S("t STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN "
       "HIGHESTMODSEQ SIZE)\r\n"),
     "t STATUS <INBOX> items=7f"},
    {S("t STATUS INBOX ()\r\n"), "BAD t: Expected a keyword"},
    {S("t STATUS INBOX (FOO)\r\n"), "BAD t: Unknown STATUS item"},
    /* APPEND: the message is a literal; flags and date optional. */
    {S("t APPEND INBOX {5}\r\nhello\r\n"),
     "t APPEND <INBOX> () size=5 <hello>"},
    {S("t APPEND Sent (\\Seen $Forwarded) \"17-Jul-1996 02:44:25 -0700\" "
       "{2+}\r\nhi\r\n"),
     "t APPEND <Sent> (\\Seen $Forwarded) date=837596665 size=2 <hi>"},
    {S("t APPEND Sent \" 7-Jul-1996 02:44:25 +0000\" {1}\r\nx\r\n"),
     "t APPEND <Sent> () date=836707465 size=1 <x>"},
    {S("t APPEND INBOX {5}\r\n"), "LIT 5m"},
    {S("t APPEND {5}\r\n"), "LIT 5"},
    {S("t APPEND {5}\r\nINBOX {3+}\r\n"), "LIT 3+m"},
    {S("t APPEND INBOX (\\Recent) {1}\r\nx\r\n"), "BAD t: Invalid system flag"},
    {S("t APPEND INBOX (\\Foo) {1}\r\nx\r\n"), "BAD t: Invalid system flag"},
    {S("t APPEND INBOX \"31-Feb-2020 00:00:00 +0000\" {1}\r\nx\r\n"),
     "BAD t: Bad date-time"},
    {S("t APPEND INBOX hello\r\n"), "BAD t: Expected the message as a literal"},
    {S("t APPEND INBOX {5}\r\nhel\r\n"), "BAD t: Expected end of command"},
    /* FETCH. */
    {S("t FETCH 1:* (FLAGS ENVELOPE)\r\n"), "t FETCH set=1:0 FLAGS,ENVELOPE"},
    {S("t FETCH 1 ALL\r\n"),
     "t FETCH set=1 macro FLAGS,INTERNALDATE,RFC822.SIZE,ENVELOPE"},
    {S("t FETCH 1 fast\r\n"),
     "t FETCH set=1 macro FLAGS,INTERNALDATE,RFC822.SIZE"},
    {S("t FETCH 1 FULL\r\n"), "t FETCH set=1 macro "
			      "FLAGS,INTERNALDATE,RFC822.SIZE,ENVELOPE,BODY"},
    {S("t FETCH *:4,7,9:10 BODY\r\n"), "t FETCH set=0:4,7,9:10 BODY"},
    {S("t UID FETCH 1:* BODY.PEEK[]\r\n"), "t UID FETCH set=1:0 BODY.PEEK[]"},
    {S("t FETCH 2 (BODY[1.2.HEADER.FIELDS (From \"To\" {2}\r\nCc)]<0.100> "
       "body[text] BODY[1.MIME] BODY.PEEK[HEADER.FIELDS.NOT (X)] "
       "RFC822.HEADER RFC822 RFC822.SIZE RFC822.TEXT BODYSTRUCTURE UID "
       "INTERNALDATE MODSEQ)\r\n"),
     "t FETCH set=2 BODY[1.2.HEADER.FIELDS (<From> <To> <Cc>)]<0.100>,BODY["
     "TEXT],BODY[1.MIME],BODY.PEEK[HEADER.FIELDS.NOT (<X>)],RFC822.HEADER,"
     "RFC822,RFC822.SIZE,RFC822.TEXT,BODYSTRUCTURE,UID,INTERNALDATE,MODSEQ"},
    {S("t UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n"),
     "t UID FETCH set=1:0 FLAGS changedsince=12345 vanished"},
    {S("t FETCH 1:* (FLAGS) (VANISHED CHANGEDSINCE 1)\r\n"),
     "BAD t: VANISHED needs UID FETCH"},
    {S("t UID FETCH 1:* (FLAGS) (VANISHED)\r\n"),
     "BAD t: VANISHED needs CHANGEDSINCE"},
    {S("t FETCH 1 (FLAGS) (CHANGEDSINCE 0)\r\n"),
     "BAD t: Mod-sequence must not be 0"},
    {S("t FETCH 4294967295 FLAGS\r\n"), "t FETCH set=4294967295 FLAGS"},
    {S("t FETCH 4294967296 FLAGS\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t FETCH 1:4294967296 FLAGS\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t FETCH 0 FLAGS\r\n"), "BAD t: Expected a non-zero number"},
    {S("t FETCH 01 FLAGS\r\n"), "BAD t: Expected a non-zero number"},
    {S("t FETCH 1, FLAGS\r\n"), "BAD t: Expected a number"},
    {S("t FETCH 1 BODY[0]\r\n"), "BAD t: Expected a non-zero number"},
    {S("t FETCH 1 BODY[1.]\r\n"), "BAD t: Bad section"},
    {S("t FETCH 1 BODY[MIME]\r\n"), "BAD t: Bad section"},
    {S("t FETCH 1 BODY[]<1.0>\r\n"), "BAD t: Expected a non-zero number"},
    {S("t FETCH 1 BODY[]<1>\r\n"), "BAD t: Bad partial range"},
    {S("t FETCH 1 BODY[]<4294967296.1>\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t FETCH 1 BODY.PEEK\r\n"), "BAD t: Expected a section after BODY.PEEK"},
    {S("t FETCH 1 (FLAGS\r\n"), "BAD t: Expected ')'"},
    {S("t FETCH 1 ()\r\n"), "BAD t: Unknown FETCH attribute"},
    {S("t FETCH 1 FOO\r\n"), "BAD t: Unknown FETCH attribute"},
    {S("t FETCH $ FLAGS\r\n"), "t FETCH set=$ FLAGS"},
    /* STORE. */
    {S("t STORE 1:3 +FLAGS (\\Seen \\Deleted)\r\n"),
     "t STORE set=1:3 + (\\Deleted \\Seen)"},
    {S("t STORE 1 -FLAGS.SILENT \\Flagged Junk\r\n"),
     "t STORE set=1 - silent (\\Flagged Junk)"},
    {S("t UID STORE 5 FLAGS ()\r\n"), "t UID STORE set=5 = ()"},
    {S("t STORE 1 (UNCHANGEDSINCE 12) +FLAGS (\\Answered)\r\n"),
     "t STORE set=1 unchangedsince=12 + (\\Answered)"},
    {S("t STORE 1 +FLAGS (\\Recent)\r\n"), "BAD t: Invalid system flag"},
    {S("t STORE 1 FLAGZ (x)\r\n"), "BAD t: Expected FLAGS, +FLAGS or -FLAGS"},
    /* COPY, MOVE, UID EXPUNGE. */
    {S("t COPY 1:2 Trash\r\n"), "t COPY set=1:2 <Trash>"},
    {S("t UID MOVE 3,5 \"Junk\"\r\n"), "t UID MOVE set=3,5 <Junk>"},
    {S("t UID EXPUNGE 3:5\r\n"), "t UID EXPUNGE set=3:5"},
    {S("t UID EXPUNGE\r\n"), "BAD t: Expected a space"},
    /* SEARCH: every key, nesting, literals, ESEARCH options. */
    {S("t SEARCH ALL\r\n"), "t SEARCH (AND (ALL))"},
    {S("t SEARCH UNSEEN FROM \"bob\" SINCE 1-Feb-1994 NOT TO alice\r\n"),
     "t SEARCH (AND (UNFLAG \\Seen) (FROM <bob>) (SINCE day8797) (NOT (TO "
     "<alice>)))"},
    {S("t SEARCH OR (SEEN FLAGGED) 1:5 LARGER 4294967295\r\n"),
     "t SEARCH (AND (OR (AND (FLAG \\Seen) (FLAG \\Flagged)) (SET 1:5)) "
     "(LARGER 4294967295))"},
    {S("t SEARCH LARGER 4294967296\r\n"),
     "BAD t: Number out of range (2^32 or more)"},
    {S("t SEARCH CHARSET UTF-8 SUBJECT {4}\r\n\xc3\xa9t\xc3\r\n"),
     "t SEARCH charset=<UTF-8> (AND (SUBJECT <\xc3\xa9t\xc3>))"},
    {S("t UID SEARCH RETURN (MIN MAX COUNT) UID 1:* HEADER X-Spam yes\r\n"),
     "t UID SEARCH return=b (AND (UID 1:0) (HEADER <X-Spam> <yes>))"},
    {S("t SEARCH RETURN () ALL\r\n"), "t SEARCH return=0 (AND (ALL))"},
    {S("t SEARCH RETURN (SAVE) DELETED\r\n"),
     "t SEARCH return=10 (AND (FLAG \\Deleted))"},
    {S("t SEARCH $ KEYWORD $Junk UNKEYWORD x BCC b CC c BODY d TEXT e\r\n"),
     "t SEARCH (AND (SET $) (KEYWORD <$Junk>) (UNKEYWORD <x>) (BCC <b>) "
     "(CC <c>) (BODY <d>) (TEXT <e>))"},
    {S("t SEARCH ANSWERED DELETED DRAFT FLAGGED NEW OLD RECENT SEEN "
       "UNANSWERED UNDELETED UNDRAFT UNFLAGGED\r\n"),
     "t SEARCH (AND (FLAG \\Answered) (FLAG \\Deleted) (FLAG \\Draft) "
     "(FLAG \\Flagged) (NEW) (OLD) (FLAG \\Recent) (FLAG \\Seen) (UNFLAG "
     "\\Answered) (UNFLAG \\Deleted) (UNFLAG \\Draft) (UNFLAG \\Flagged))"},
    {S("t SEARCH BEFORE \"1-Jan-1970\" ON 31-Dec-1969 SENTBEFORE 1-Mar-2000 "
       "SENTON 29-Feb-2000 SENTSINCE 1-jan-2026 SMALLER 0\r\n"),
     "t SEARCH (AND (BEFORE day0) (ON day-1) (SENTBEFORE day11017) "
     "(SENTON day11016) (SENTSINCE day20454) (SMALLER 0))"},
    {S("t SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338 OLDER 10 "
       "YOUNGER 5\r\n"),
     "t SEARCH (AND (MODSEQ 620162338) (OLDER 10) (YOUNGER 5))"},
    {S("t SEARCH MODSEQ 0\r\n"), "t SEARCH (AND (MODSEQ 0))"},
    {S("t SEARCH SENTON 30-Feb-2000\r\n"), "BAD t: Bad date"},
    {S("t SEARCH ON 1-Foo-2000\r\n"), "BAD t: Bad month"},
    {S("t SEARCH OLDER 0\r\n"), "BAD t: Expected a non-zero number"},
    {S("t SEARCH\r\n"), "BAD t: Expected a space"},
    {S("t SEARCH \r\n"), "BAD t: Expected a keyword"},
    {S("t SEARCH FOO\r\n"), "BAD t: Unknown search key"},
    {S("t SEARCH (SEEN\r\n"), "BAD t: Expected a space"},
    {S("t SEARCH ()\r\n"), "BAD t: Expected a keyword"},
    {S("t SEARCH OR SEEN\r\n"), "BAD t: Expected a space"},
    {S("t SEARCH RETURN (FOO) ALL\r\n"), "BAD t: Unknown RETURN option"},
    {S("t SEARCH (((((((((SEEN)))))))))\r\n"), "BAD t: Too deeply nested"},
    {S("t SEARCH ((((((((SEEN))))))))\r\n"),
     "t SEARCH (AND (AND (AND (AND (AND (AND (AND (AND (AND (FLAG "
     "\\Seen))))))))))"},
    {S("t SEARCH NOT NOT NOT NOT NOT NOT NOT NOT NOT SEEN\r\n"),
     "BAD t: Too deeply nested"},
    /* ENABLE, ID, COMPRESS, QUOTA. */
    {S("t ENABLE CONDSTORE QRESYNC\r\n"), "t ENABLE <CONDSTORE> <QRESYNC>"},
    {S("t ENABLE\r\n"), "BAD t: ENABLE needs a capability"},
    {S("t ID NIL\r\n"), "t ID"},
    {S("t ID (\"name\" \"mutt\" \"version\" NIL)\r\n"),
     "t ID <name>=<mutt> <version>=NIL"},
    {S("t ID ()\r\n"), "t ID"},
    {S("t ID (\"name\")\r\n"), "BAD t: Expected a space"},
    {S("t COMPRESS DEFLATE\r\n"), "t COMPRESS <DEFLATE>"},
    {S("t GETQUOTAROOT INBOX\r\n"), "t GETQUOTAROOT <INBOX>"},
    {S("t GETQUOTA \"\"\r\n"), "t GETQUOTA <>"},
    {S("t SETQUOTA \"\" (STORAGE 512)\r\n"), "t SETQUOTA <> storage=512"},
};

/* want_of - what the parser says about buf, in the table's words. */
static char *
want_of(const char *buf, size_t len, const size_t *ext, size_t n_ext)
{
	struct imap_command cmd;
	struct imap_literal lit;
	const char *why;
	char *out;

	enum imap_parse_status st =
	    imap_parse_command(buf, len, ext, n_ext, &lim, &cmd, &lit, &why);
	if (st == IMAP_PARSE_OK) {
		out = dump(&cmd);
	} else if (st == IMAP_PARSE_LITERAL) {
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "LIT %u%s%s", lit.size,
			 lit.plus ? "+" : "", lit.is_message ? "m" : "");
		out = strdup(tmp);
	} else {
		char tmp[256];
		assert_non_null(why);
		snprintf(tmp, sizeof(tmp), "BAD %s: %s", cmd.tag, why);
		out = strdup(tmp);
	}
	imap_command_free(&cmd);
	return out;
}

static void
test_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		char *copy = malloc(c->len ? c->len : 1);
		memcpy(copy, c->in, c->len);
		char *got = want_of(copy, c->len, NULL, 0);
		if (strcmp(got, c->want) != 0)
			fail_msg("case %zu: %.*s\n got  %s\n want %s", i,
				 (int)c->len, c->in, got, c->want);
		free(got);
		free(copy);
	}
}

/* --- the reader --- */

/*
 * run_reader - feed input in pieces of `step` bytes (0: whole) and write
 * down every event; literals up to lim.max_literal (messages: any size)
 * are accepted, bigger ones refused. Spooled bytes are collected and
 * shown after the command.
 */
static char *
run_reader(const char *in, size_t len, size_t step)
{
	struct imap_reader r;
	struct strbuf sb = {0}, spool = {0};
	size_t pos = 0;

	imap_reader_init(&r, &lim);
	while (pos <= len) {
		size_t n = step == 0 || len - pos < step ? len - pos : step;
		/* Exact-length heap copy of the piece. */
		char *piece = malloc(n ? n : 1);
		memcpy(piece, in + pos, n);
		size_t off = 0;
		for (;;) {
			struct imap_reader_out out;
			size_t used;
			enum imap_reader_event ev = imap_reader_feed(
			    &r, piece + off, n - off, &used, &out);
			assert_true(used <= n - off);
			off += used;
			if (ev == IMAP_READER_MORE)
				break;
			switch (ev) {
			case IMAP_READER_LITERAL:
				if (out.lit_fits) {
					if (!out.lit.plus)
						strbuf_adds(&sb, "[+]");
					imap_reader_accept(&r);
				} else {
					strbuf_addf(&sb, "[refuse %u]",
						    out.lit.size);
					imap_reader_refuse(&r);
				}
				break;
			case IMAP_READER_SPOOL:
				strbuf_add(&spool, out.data, out.len);
				break;
			case IMAP_READER_COMMAND: {
				if (out.bad) {
					strbuf_addf(&sb, "[BAD %s: %s]",
						    out.cmd.tag, out.why);
				} else {
					char *d = dump(&out.cmd);
					strbuf_addf(&sb, "[%s]", d);
					free(d);
				}
				if (spool.len > 0) {
					strbuf_adds(&sb, "{");
					strbuf_add(&sb, spool.p, spool.len);
					strbuf_adds(&sb, "}");
					spool.len = 0;
				}
				imap_command_free(&out.cmd);
				break;
			}
			case IMAP_READER_TOO_LONG:
				strbuf_addf(&sb, "[TOO LONG %s]", out.cmd.tag);
				break;
			case IMAP_READER_REFUSED:
				strbuf_addf(&sb, "[REFUSED %s]", out.cmd.tag);
				break;
			default:
				break;
			}
		}
		free(piece);
		pos += n;
		if (n == 0)
			break;
	}
	strbuf_addf(&sb, "%s", imap_reader_idle(&r) ? "" : "[partial]");
	imap_reader_reset(&r);
	free(spool.p);
	if (sb.p == NULL)
		return strdup("");
	return sb.p;
}

struct rcase {
	const char *in;
	size_t len;
	const char *want;
};

static const struct rcase rcases[] = {
    {S("a NOOP\r\nb CAPABILITY\r\n"), "[a NOOP][b CAPABILITY]"},
    {S("a NOOP\nb NOOP"), "[a NOOP][partial]"},
    {S("a LOGIN {5}\r\nalice {6}\r\nsecret\r\n"),
     "[+][+][a LOGIN <alice> <secret>]"},
    {S("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n"),
     "[a LOGIN <alice> <secret>]"},
    /* A literal over the limit: a synchronizing one is never sent; the
     * client's next command is read as usual. */
    {S("a LOGIN {101}\r\nb NOOP\r\n"), "[refuse 101][REFUSED a][b NOOP]"},
    /* A non-synchronizing one is read and dropped, with the rest of its
     * command, also when that announces another literal. */
    {S("a LOGIN {101+}\r\n"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx {3+}\r\nb N\r\nc NOOP\r\n"),
     "[refuse 101][REFUSED a][c NOOP]"},
    {S("a LOGIN {4294967295+}\r\nxyz"), "[refuse 4294967295][partial]"},
    /* The APPEND message is spooled, never buffered. */
    {S("a APPEND INBOX (\\Seen) {11}\r\nhello world\r\nb NOOP\r\n"),
     "[+][a APPEND <INBOX> (\\Seen) size=11 ext]{hello world}[b NOOP]"},
    {S("a APPEND INBOX {0+}\r\n\r\n"), "[a APPEND <INBOX> () size=0 ext]"},
    {S("a APPEND {5}\r\nINBOX {200+}\r\n"
       "0123456789012345678901234567890123456789012345678901234567890123456"
       "7890123456789012345678901234567890123456789012345678901234567890123"
       "456789012345678901234567890123456789012345678901234567890123456789"
       "\r\n"),
     "[+][a APPEND <INBOX> () size=200 ext]{"
     "012345678901234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789012345678901234567890123456789"
     "01234567890123456789"
     "}"},
    /* Too long: dropped whole, and so is a literal it announces. */
    {S("a NOOP "
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
       "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy {5+}\r\n"
       "b BAD\r\nc NOOP\r\n"),
     "[TOO LONG a][c NOOP]"},
    {S("\r\na NOOP\r\n"), "[BAD : Missing tag][a NOOP]"},
    {S("a FETCH 4294967296 FLAGS\r\nb NOOP\r\n"),
     "[BAD a: Number out of range (2^32 or more)][b NOOP]"},
};

static void
test_reader_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		for (size_t step = 0; step <= c->len; step++) {
			char *got = run_reader(c->in, c->len, step);
			if (strcmp(got, c->want) != 0)
				fail_msg("case %zu step %zu:\n got  %s\n want "
					 "%s",
					 i, step, got, c->want);
			free(got);
		}
	}
}

/* Every parser case through the reader, whole and split at every byte:
 * the same command (or BAD) must come out. */
static void
test_parse_cases_through_reader(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		if (strncmp(c->want, "LIT", 3) == 0 ||
		    memchr(c->in, '\n', c->len) != c->in + c->len - 1)
			continue; /* literals and extra lines differ */
		char *whole = run_reader(c->in, c->len, 0);
		for (size_t step = 1; step <= c->len; step++) {
			char *got = run_reader(c->in, c->len, step);
			if (strcmp(got, whole) != 0)
				fail_msg("case %zu step %zu:\n got  %s\n want "
					 "%s",
					 i, step, got, whole);
			free(got);
		}
		/* And it matches the table, bracketed. */
		char want[2048];
		if (strncmp(c->want, "BAD", 3) == 0)
			snprintf(want, sizeof(want), "[%s]", c->want);
		else
			snprintf(want, sizeof(want), "[%s]", c->want);
		if (strcmp(whole, want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, whole,
				 want);
		free(whole);
	}
}

/* Literals that each fit but together exceed the command limit: the
 * one that would not fit is refused. */
static void
test_reader_command_limit(void **state)
{
	struct strbuf in = {0}, want = {0};
	(void)state;
	strbuf_adds(&in, "a SEARCH TEXT {100}\r\n");
	for (int i = 0; i < 12; i++) {
		for (int k = 0; k < 100; k++)
			strbuf_adds(&in, "z");
		strbuf_adds(&in, " TEXT {100}\r\n");
	}
	strbuf_adds(&in, "b NOOP\r\n");
	for (int i = 0; i < 8; i++) /* 21 + 8 * 112 + 100 > 1000 */
		strbuf_adds(&want, "[+]");
	strbuf_adds(&want, "[refuse 100][REFUSED a]");
	/* The client sent the rest anyway (as if it had not waited): those
	 * lines are commands of their own, and bad ones. */
	for (size_t step = 0; step < 40; step += 13) {
		char *got = run_reader(in.p, in.len, step);
		if (strncmp(got, want.p, want.len) != 0)
			fail_msg("step %zu:\n got  %s\n want %s", step, got,
				 want.p);
		free(got);
	}
	free(in.p);
	free(want.p);
}

static void
test_numbers(void **state)
{
	uint32_t n;
	(void)state;
	assert_int_equal(imap_parse_number(S("0"), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_parse_number(S("4294967295"), &n), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(imap_parse_number(S("004294967295"), &n), 0);
	assert_int_equal(imap_parse_number(S("4294967296"), &n), -1);
	assert_int_equal(imap_parse_number(S("18446744073709551617"), &n), -1);
	assert_int_equal(imap_parse_number(S(""), &n), -1);
	assert_int_equal(imap_parse_number(S("-1"), &n), -1);
	assert_int_equal(imap_parse_number(S("1 "), &n), -1);

	struct imap_range r[] = {{1, 3}, {0, 10}, {7, 5}};
	struct imap_seqset set = {3, r, false};
	assert_true(imap_seqset_contains(&set, 2, 20));
	assert_false(imap_seqset_contains(&set, 4, 20));
	assert_true(imap_seqset_contains(&set, 6, 20));
	assert_true(imap_seqset_contains(&set, 15, 20)); /* 10:* */
	assert_false(imap_seqset_contains(&set, 21, 20));
	assert_int_equal(imap_day_from_ymd(1970, 1, 1), 0);
	assert_int_equal(imap_day_from_ymd(2000, 3, 1), 11017);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_table),
	    cmocka_unit_test(test_reader_table),
	    cmocka_unit_test(test_parse_cases_through_reader),
	    cmocka_unit_test(test_reader_command_limit),
	    cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
