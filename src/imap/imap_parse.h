/*
 * imap_parse - the pure IMAP4rev1 command parser (RFC 3501 §9 grammar,
 * with LITERAL+ (RFC 7888), CONDSTORE/QRESYNC (RFC 7162), UIDPLUS (RFC
 * 4315), MOVE (RFC 6851), ESEARCH (RFC 4731), SEARCHRES (RFC 5182),
 * LIST-EXTENDED/LIST-STATUS (RFC 5258, 5819), SPECIAL-USE (RFC 6154),
 * QUOTA (RFC 9208), ID (RFC 2971), ENABLE (RFC 5161), COMPRESS (RFC 4978),
 * WITHIN (RFC 5032)).
 *
 * Free of I/O and globals: imap_parse_command() parses one whole command
 * held in a buffer, its lines with the literals between them as they
 * came off the wire. If the buffer ends right after a literal
 * announcement ("{12}" CRLF) it says so (IMAP_PARSE_LITERAL) with the
 * literal's size, whether it is non-synchronizing ("{12+}") and whether
 * it is the message of an APPEND: the caller then fetches the literal
 * and calls again with more. An APPEND message is not kept in the
 * buffer: the caller spools it and lists its offset in ext[] so that the
 * parser knows those bytes live elsewhere. imap_reader (imap_reader.h)
 * assembles such buffers from the byte stream.
 *
 * Every number is 32-bit unsigned (mod-sequences 63-bit, RFC 7162 §7):
 * a value that does not fit is a syntax error, never wrapped.
 */
#ifndef PETREL_IMAP_IMAP_PARSE_H
#define PETREL_IMAP_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap/imap_msg_section.h"

#define IMAP_TAG_MAX 64
#define IMAP_EXT_MAX 4 /* spooled literals per command */

struct imap_limits {
	size_t max_line;    /* one line, without its literals */
	size_t max_command; /* all the lines and inline literals */
	size_t max_literal; /* one inline literal */
	unsigned max_depth; /* nesting of parentheses */
	size_t max_items;   /* sequence ranges, fetch items, search keys */
};

/* A string value: a NUL-terminated copy (len excludes the NUL). */
struct imap_str {
	const char *p;
	size_t len;
};

/* A sequence set; 0 stands for "*" (the largest number in use). */
struct imap_range {
	uint32_t lo, hi; /* as written: lo may be above hi */
};

struct imap_seqset {
	size_t n;
	struct imap_range *r;
	bool saved; /* "$": the saved search result (RFC 5182) */
};

/* System flags (RFC 3501 §2.3.2) as bits; \Recent is fetch-only. */
enum {
	IMAP_FLAG_ANSWERED = 1 << 0,
	IMAP_FLAG_FLAGGED = 1 << 1,
	IMAP_FLAG_DELETED = 1 << 2,
	IMAP_FLAG_SEEN = 1 << 3,
	IMAP_FLAG_DRAFT = 1 << 4,
	IMAP_FLAG_RECENT = 1 << 5,
};

struct imap_flags {
	unsigned sys; /* IMAP_FLAG_* */
	size_t n_kw;
	struct imap_str *kw; /* keywords (atoms), as written */
};

enum imap_cmd {
	IMAP_CMD_NONE = 0,
	IMAP_CMD_CAPABILITY,
	IMAP_CMD_NOOP,
	IMAP_CMD_LOGOUT,
	IMAP_CMD_STARTTLS,
	IMAP_CMD_AUTHENTICATE,
	IMAP_CMD_LOGIN,
	IMAP_CMD_ID,
	IMAP_CMD_ENABLE,
	IMAP_CMD_COMPRESS,
	IMAP_CMD_SELECT,
	IMAP_CMD_EXAMINE,
	IMAP_CMD_CREATE,
	IMAP_CMD_DELETE,
	IMAP_CMD_RENAME,
	IMAP_CMD_SUBSCRIBE,
	IMAP_CMD_UNSUBSCRIBE,
	IMAP_CMD_LIST,
	IMAP_CMD_LSUB,
	IMAP_CMD_STATUS,
	IMAP_CMD_APPEND,
	IMAP_CMD_NAMESPACE,
	IMAP_CMD_GETQUOTA,
	IMAP_CMD_GETQUOTAROOT,
	IMAP_CMD_SETQUOTA,
	IMAP_CMD_IDLE,
	IMAP_CMD_CHECK,
	IMAP_CMD_CLOSE,
	IMAP_CMD_UNSELECT,
	IMAP_CMD_EXPUNGE,
	IMAP_CMD_SEARCH,
	IMAP_CMD_FETCH,
	IMAP_CMD_STORE,
	IMAP_CMD_COPY,
	IMAP_CMD_MOVE,
	IMAP_CMD_COUNT
};

/* --- FETCH --- */

enum imap_fetch_item {
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,	  /* BODY without a section: structure */
	IMAP_FETCH_BODYSTRUCTURE, /* with extension data */
	IMAP_FETCH_UID,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_RFC822,	  /* = BODY[] and sets \Seen */
	IMAP_FETCH_RFC822_HEADER, /* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,	  /* = BODY[TEXT] */
	IMAP_FETCH_SECTION,	  /* BODY[...] / BODY.PEEK[...] */
};

struct imap_fetch_att {
	enum imap_fetch_item item;
	bool peek; /* BODY.PEEK: do not set \Seen */
	/* SECTION only: the mime engineer's section (imap_msg_section.h),
	 * field names pointing at NUL-terminated copies. */
	struct imap_section *sec;
	bool partial; /* <offset.count> */
	uint32_t offset, count;
};

struct imap_fetch_args {
	struct imap_seqset set;
	size_t n;
	struct imap_fetch_att *att;
	bool macro; /* ALL / FAST / FULL */
	bool changedsince_set;
	uint64_t changedsince;
	bool vanished; /* QRESYNC: (VANISHED), UID FETCH only */
};

/* --- SEARCH --- */

enum imap_search_key {
	IMAP_SK_ALL,
	IMAP_SK_AND, /* a parenthesized list, or the top level */
	IMAP_SK_OR,
	IMAP_SK_NOT,
	IMAP_SK_SEQSET,
	IMAP_SK_UID,
	IMAP_SK_FLAG,	 /* sys flag set (ANSWERED, SEEN, ..., RECENT) */
	IMAP_SK_UNFLAG,	 /* sys flag clear */
	IMAP_SK_NEW,	 /* RECENT UNSEEN */
	IMAP_SK_OLD,	 /* NOT RECENT */
	IMAP_SK_KEYWORD, /* str */
	IMAP_SK_UNKEYWORD,
	IMAP_SK_BCC, /* str: header substring */
	IMAP_SK_CC,
	IMAP_SK_FROM,
	IMAP_SK_SUBJECT,
	IMAP_SK_TO,
	IMAP_SK_HEADER, /* field, str */
	IMAP_SK_BODY,	/* str */
	IMAP_SK_TEXT,	/* str */
	IMAP_SK_BEFORE, /* date: internal date */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE, /* date: the Date: header */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER, /* num */
	IMAP_SK_SMALLER,
	IMAP_SK_MODSEQ,	 /* modseq (RFC 7162 §3.1.5) */
	IMAP_SK_OLDER,	 /* num seconds (RFC 5032) */
	IMAP_SK_YOUNGER, /* num seconds */
};

struct imap_search {
	enum imap_search_key key;
	struct imap_search *child; /* AND: first; OR/NOT: first operand */
	struct imap_search *next;  /* the next sibling */
	unsigned flag;		   /* IMAP_FLAG_* for FLAG/UNFLAG */
	struct imap_str str, field;
	uint32_t num;
	uint64_t modseq;
	int32_t day; /* dates: days since 1970-01-01 */
	struct imap_seqset set;
};

enum {
	IMAP_SEARCH_RET_MIN = 1 << 0,
	IMAP_SEARCH_RET_MAX = 1 << 1,
	IMAP_SEARCH_RET_ALL = 1 << 2,
	IMAP_SEARCH_RET_COUNT = 1 << 3,
	IMAP_SEARCH_RET_SAVE = 1 << 4,
};

struct imap_search_args {
	bool esearch; /* RETURN (...) was given */
	unsigned ret; /* IMAP_SEARCH_RET_*; none with esearch = ALL */
	struct imap_str charset;  /* empty when absent */
	struct imap_search *root; /* an AND of the keys */
};

/* --- LIST / STATUS --- */

enum {
	IMAP_STATUS_MESSAGES = 1 << 0,
	IMAP_STATUS_RECENT = 1 << 1,
	IMAP_STATUS_UIDNEXT = 1 << 2,
	IMAP_STATUS_UIDVALIDITY = 1 << 3,
	IMAP_STATUS_UNSEEN = 1 << 4,
	IMAP_STATUS_HIGHESTMODSEQ = 1 << 5,
	IMAP_STATUS_SIZE = 1 << 6,
	IMAP_STATUS_DELETED = 1 << 7,
};

enum {
	IMAP_LIST_SEL_SUBSCRIBED = 1 << 0,
	IMAP_LIST_SEL_REMOTE = 1 << 1,
	IMAP_LIST_SEL_RECURSIVEMATCH = 1 << 2,
	IMAP_LIST_SEL_SPECIAL_USE = 1 << 3,
	IMAP_LIST_RET_SUBSCRIBED = 1 << 8,
	IMAP_LIST_RET_CHILDREN = 1 << 9,
	IMAP_LIST_RET_SPECIAL_USE = 1 << 10,
	IMAP_LIST_RET_STATUS = 1 << 11,
	IMAP_LIST_EXTENDED = 1 << 15, /* any extended syntax was used */
};

#define IMAP_LIST_MAX_PATTERNS 16

/* --- other commands --- */

struct imap_select_args {
	struct imap_str mbox;
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known_uids; /* n == 0: absent */
	struct imap_seqset match_seq, match_uid;
};

struct imap_list_args {
	unsigned opts; /* IMAP_LIST_* */
	unsigned status_items;
	struct imap_str ref;
	size_t n_pat;
	struct imap_str pat[IMAP_LIST_MAX_PATTERNS];
};

struct imap_append_args {
	struct imap_str mbox;
	struct imap_flags flags;
	bool has_date;
	time_t date;
	uint32_t size;	  /* octets of the message */
	bool ext;	  /* spooled by the reader */
	const char *data; /* the message when inline */
};

struct imap_store_args {
	struct imap_seqset set;
	bool unchangedsince_set;
	uint64_t unchangedsince;
	int op; /* '+', '-' or '=' */
	bool silent;
	struct imap_flags flags;
};

struct imap_enable_args {
	size_t n;
	struct imap_str *caps;
};

struct imap_id_args {
	size_t n; /* pairs; names at 2i, values at 2i+1 */
	struct imap_str *kv;
	bool *nil; /* value i is NIL */
};

struct imap_setquota_args {
	struct imap_str root;
	bool storage_set;
	uint64_t storage; /* STORAGE limit in KiB */
};

/* --- the command --- */

struct imap_arena_block;

struct imap_command {
	char tag[IMAP_TAG_MAX + 1];
	enum imap_cmd cmd;
	bool uid; /* UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE */
	union {
		struct {
			struct imap_str user, pass;
		} login;
		struct {
			struct imap_str mech;
			bool has_ir;
			struct imap_str ir; /* "=" is the empty response */
		} auth;
		struct imap_select_args select;
		struct imap_str mbox; /* CREATE DELETE SUBSCRIBE UNSUBSCRIBE
					 GETQUOTAROOT; GETQUOTA/SETQUOTA: the
					 quota root */
		struct {
			struct imap_str from, to;
		} rename;
		struct imap_list_args list;
		struct {
			struct imap_str mbox;
			unsigned items; /* IMAP_STATUS_* */
		} status;
		struct imap_append_args append;
		struct imap_fetch_args fetch;
		struct imap_store_args store;
		struct {
			struct imap_seqset set;
			struct imap_str mbox;
		} copy; /* COPY and MOVE */
		struct imap_search_args search;
		struct imap_seqset expunge; /* UID EXPUNGE */
		struct imap_enable_args enable;
		struct imap_id_args id;
		struct imap_str compress; /* the mechanism */
		struct imap_setquota_args setquota;
	} u;
	struct imap_arena_block *arena; /* every pointer above lives here */
};

enum imap_parse_status {
	IMAP_PARSE_OK = 0,
	IMAP_PARSE_LITERAL = 1, /* the buffer ends with a literal to fetch */
	IMAP_PARSE_BAD = -1,	/* syntax error: answer BAD */
};

/* What the buffer ends with when IMAP_PARSE_LITERAL is returned. */
struct imap_literal {
	uint32_t size;
	bool plus;	 /* "{n+}": the client does not wait for "+" */
	bool is_message; /* the message of an APPEND: spool it */
};

/*
 * imap_parse_command - parse the command in buf (len bytes: its lines
 * and literals, the last line with its CRLF). ext[0..n_ext) are the
 * offsets in buf where a literal's bytes were left out (spooled). On
 * IMAP_PARSE_OK *cmd is filled (free it with imap_command_free); on
 * IMAP_PARSE_LITERAL *lit says what to fetch; on IMAP_PARSE_BAD *why is
 * a static reason and cmd->tag holds the tag if one could be read ("" if
 * not: answer "* BAD"). cmd must be freed in every case.
 */
enum imap_parse_status
imap_parse_command(const char *buf, size_t len, const size_t *ext, size_t n_ext,
		   const struct imap_limits *lim, struct imap_command *cmd,
		   struct imap_literal *lit, const char **why);

/* imap_command_free - free what the parser allocated; cmd is reusable. */
void imap_command_free(struct imap_command *cmd);

/* imap_cmd_name - "FETCH" for IMAP_CMD_FETCH. */
const char *imap_cmd_name(enum imap_cmd cmd);

/*
 * imap_parse_number - a 32-bit "number" (RFC 3501 §9: 1*DIGIT). Values
 * of 2^32 and more are an error. 0 or -1.
 */
int imap_parse_number(const char *s, size_t len, uint32_t *n_r);

/*
 * imap_parse_tag_len - the length of the tag that starts p (n bytes) when
 * a space follows it, else 0.
 */
size_t imap_parse_tag_len(const char *p, size_t n);

/* imap_seqset_contains - is n in set (max: the value of "*")? */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n,
			  uint32_t max);

/* imap_flag_name - "\\Seen" for IMAP_FLAG_SEEN (one bit). */
const char *imap_flag_name(unsigned bit);

/* imap_day_from_ymd - days since 1970-01-01 of a proleptic Gregorian
 * date (month 1..12). */
int32_t imap_day_from_ymd(int year, int month, int day);

#endif
