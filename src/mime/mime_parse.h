/*
 * mime_parse - a streaming (push) MIME parser: RFC 2045 (header fields),
 * RFC 2046 (multipart, message/rfc822), RFC 2231 (parameter
 * continuations and charsets), RFC 5322 (the message header), RFC 6532
 * (8-bit UTF-8 headers, message/global).
 *
 * Feed the message in chunks of any size; the result is the same for any
 * split. Memory is bounded by the limits below, never by the message
 * size: a 50 MB attachment costs nothing but its offsets, because bodies
 * are scanned line by line (only the first bytes of a line are kept, to
 * look for a boundary) and a header block is buffered only up to
 * max_header while it is parsed.
 *
 * The result is a tree of parts in pre-order (index 0 = the message):
 *
 *   - a message node (the message itself, and the message embedded in a
 *     message/rfc822 or message/global part) has the message header as
 *     its header and the message body as its body, its Content-* fields
 *     from that header, and an envelope (tree->envs[part->env]);
 *   - a multipart node's children are its body parts; its body spans
 *     preamble, parts and epilogue;
 *   - a message/rfc822 (or message/global) part has one child: the
 *     embedded message node, whose header starts where the part's body
 *     starts and whose body ends where it ends.
 *
 * Offsets are byte offsets in the fed input. A part's body ends before
 * the line end that precedes the next boundary delimiter (RFC 2046
 * §5.1.1: that CRLF belongs to the delimiter). Boundaries are matched as
 * Dovecot does: a line starting with "--" and an open boundary, the
 * innermost first, the longest match winning; trailing garbage after the
 * boundary is ignored. Bare LF line ends are accepted everywhere; they
 * are counted (*_bare_lf) so that a server can report and send sizes as
 * with CRLF (size + bare_lf octets).
 *
 * Nothing is an error: malformed MIME, a missing final boundary, NULs,
 * 8-bit bytes and a header without its empty line all give a tree.
 * Past a limit (depth, parts, header bytes, kept bytes) the rest of the
 * affected part is opaque body (MIME_PART_LIMIT), never lost.
 *
 * Strings (struct mime_str) are views into tree->strings. Values of
 * Content-Type/Content-Disposition parameters are stored twice: decoded
 * (RFC 2231 continuations joined, %XX and the charset converted to
 * UTF-8, RFC 2047 encoded-words in quoted values decoded) and as IMAP
 * BODYSTRUCTURE sends them (continuations joined, an extended value kept
 * as name*="charset'lang'%XX..."), see struct mime_param.
 */
#ifndef PETREL_MIME_MIME_PARSE_H
#define PETREL_MIME_MIME_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIME_NONE UINT32_MAX /* no such part/index */

/* Default limits (Dovecot's defaults for the first two). */
#define MIME_DEFAULT_MAX_DEPTH	100	     /* nested multipart/message */
#define MIME_DEFAULT_MAX_PARTS	10000	     /* nodes in the tree */
#define MIME_DEFAULT_MAX_HEADER (256 * 1024) /* one header block examined */
#define MIME_DEFAULT_MAX_KEPT	(4 * 1024 * 1024) /* string bytes kept */
#define MIME_MAX_BOUNDARY                                                      \
	80 /* longer boundary= values are cut (as                              \
	      Dovecot does; RFC 2046 allows 70) */

struct mime_limits {
	uint32_t max_depth;  /* a multipart or message/rfc822 deeper than
				this is an opaque leaf */
	uint32_t max_parts;  /* once reached, further boundaries are body
				text and embedded messages are leaves */
	uint32_t max_header; /* bytes of one header block parsed; fields
				beyond are skipped (still part of the header:
				offsets stay exact) */
	uint32_t max_kept;   /* bytes of tree->strings; past it, further
				parts keep no strings and are leaves */
};

/* mime_limits_default - fill l with the MIME_DEFAULT_* values. */
void mime_limits_default(struct mime_limits *l);

/* A string in tree->strings: off == 0 means absent (NIL), so absent and
 * empty ("") differ. Never NUL-terminated in place; use mime_str_ptr. */
struct mime_str {
	uint32_t off, len;
};

enum mime_cte {
	MIME_CTE_7BIT = 0, /* also the default when the field is absent */
	MIME_CTE_8BIT,
	MIME_CTE_BINARY,
	MIME_CTE_QP,
	MIME_CTE_BASE64,
	MIME_CTE_OTHER /* unknown token: treated as opaque (8bit) */
};

/* One Content-Type / Content-Disposition parameter. name is as written
 * without the RFC 2231 "*N" / "*" suffixes; value is decoded to UTF-8
 * (absent when the parameter had no value); imap_name/imap_value are what
 * BODYSTRUCTURE sends (imap_name ends in "*" for an extended value). */
struct mime_param {
	struct mime_str name, value;
	struct mime_str imap_name, imap_value;
};

/* The header fields ENVELOPE needs (RFC 3501 §7.4.2), raw: the bytes
 * after the colon through the field's last line, folding kept (leading
 * white space of the first line dropped), absent if the field is not
 * there. As in Dovecot, the last Date/Subject/Message-ID/In-Reply-To
 * counts, and repeated address fields are joined with ",". */
struct mime_envelope {
	struct mime_str date, subject, from, sender, reply_to, to, cc, bcc,
	    in_reply_to, message_id;
};

enum mime_part_flag {
	MIME_PART_MULTIPART = 1 << 0,	  /* multipart/<any> with a boundary:
					     children are its body parts */
	MIME_PART_MESSAGE = 1 << 1,	  /* message/rfc822 or message/global
					     with its embedded message as child */
	MIME_PART_IS_MESSAGE = 1 << 2,	  /* a message node: has an envelope */
	MIME_PART_TEXT = 1 << 3,	  /* type text (explicit or default) */
	MIME_PART_DEFAULT_TYPE = 1 << 4,  /* no usable Content-Type: the
					     default applied (text/plain;
					     charset=us-ascii, or
					     message/rfc822 in a digest) */
	MIME_PART_LIMIT = 1 << 5,	  /* a limit made this part opaque */
	MIME_PART_HEADER_CUT = 1 << 6,	  /* header longer than max_header */
	MIME_PART_NO_BLANK = 1 << 7,	  /* header not ended by an empty
					     line (EOF or a boundary) */
	MIME_PART_8BIT = 1 << 8,	  /* the header holds 8-bit bytes */
	MIME_PART_GLOBAL = 1 << 9,	  /* with MESSAGE: message/global (RFC
					     6532), which IMAP4rev1 shows as a
					     plain part (its grammar has only
					     message/rfc822), as Dovecot does */
	MIME_PART_TYPE_MESSAGE = 1 << 10, /* type message, any subtype
					     (delivery-status too) */
};

struct mime_part {
	/* Structure: indices into tree->parts, MIME_NONE when absent. */
	uint32_t parent, child, next;
	uint32_t depth; /* 0 for the message */
	uint32_t flags; /* enum mime_part_flag */

	/* Where (byte offsets in the message). The header includes the
	 * empty line that ends it; body_off = hdr_off + hdr_len. */
	uint64_t hdr_off, hdr_len;
	uint64_t body_off, body_len;
	uint64_t body_lines;		    /* LF count in the body */
	uint64_t hdr_bare_lf, body_bare_lf; /* LFs without a CR before */

	/* What: the Content-* fields of the header (RFC 2045, 2183, 3282,
	 * 2557, 1864). type/subtype as written (compare case-blind);
	 * absent with MIME_PART_DEFAULT_TYPE. */
	struct mime_str type, subtype;
	struct mime_str charset;  /* decoded "charset" parameter, or absent */
	uint32_t param, nparam;	  /* Content-Type parameters in tree->params */
	uint8_t cte;		  /* enum mime_cte */
	struct mime_str cte_name; /* the field's token as written, or absent */
	struct mime_str id, description, md5, location;
	struct mime_str disposition; /* the disposition type, or absent */
	uint32_t dparam, ndparam;    /* its parameters in tree->params */
	uint32_t lang, nlang; /* Content-Language tags: tree->params[i].name */
	uint32_t env;	      /* tree->envs index for message nodes, else
				 MIME_NONE */
};

enum mime_tree_flag {
	MIME_TREE_LIMIT = 1 << 0, /* some limit was hit somewhere */
};

/* The parse result. Owns all its arrays; free with mime_tree_free. */
struct mime_tree {
	struct mime_part *parts; /* pre-order, parts[0] is the message */
	uint32_t nparts;
	struct mime_param *params;
	uint32_t nparams;
	struct mime_envelope *envs;
	uint32_t nenvs;
	char *strings; /* the bytes all mime_str point into; strings[0] is
			  a placeholder so that offset 0 means absent */
	uint32_t strings_len;
	uint64_t size;	/* bytes fed */
	uint32_t flags; /* enum mime_tree_flag */
};

struct mime_parser;

/* mime_parser_new - start parsing a message; limits NULL = defaults. */
struct mime_parser *mime_parser_new(const struct mime_limits *limits);

/* mime_parser_feed - the next len bytes of the message (any split). */
void mime_parser_feed(struct mime_parser *p, const void *data, size_t len);

/*
 * mime_parser_finish - end of input: close every open part, free the
 * parser, set *pp to NULL and return the tree (caller owns it).
 */
struct mime_tree *mime_parser_finish(struct mime_parser **pp);

/* mime_parser_free - abandon a parse (no tree); *pp = NULL. */
void mime_parser_free(struct mime_parser **pp);

/* mime_parse - the whole message in one call. */
struct mime_tree *mime_parse(const void *msg, size_t len,
			     const struct mime_limits *limits);

/* mime_tree_free - free the tree and set *tp to NULL (NULL is fine). */
void mime_tree_free(struct mime_tree **tp);

/* One header field as mime_header_next finds it: views into the
 * header block. */
struct mime_field {
	const char *name; /* without the colon and white space before it;
			     a line without a colon is a field named by
			     all of it (has_colon false, no value) */
	size_t name_len;
	const char *value; /* after the colon, through the field's last
			      line, without its line end; folding kept */
	size_t value_len;
	size_t start, end; /* the field's bytes, line ends included */
	bool has_colon;
};

/*
 * mime_header_next - the field starting at *pos of the header block
 * hdr[0..len), leniently (as mail readers must): a line starting with
 * white space continues the field before it, a line without a colon is
 * a field of its own. Returns false at the empty line that ends the
 * block (*blank_r true, *pos past it) or at the end of hdr (*blank_r
 * false); else fills f and moves *pos to f->end.
 */
bool mime_header_next(const char *hdr, size_t len, size_t *pos,
		      struct mime_field *f, bool *blank_r);

/* mime_str_ptr - the bytes of s (NULL when absent). */
const char *mime_str_ptr(const struct mime_tree *t, struct mime_str s);

/* mime_str_is - s equals the NUL-terminated ASCII word, case-blind. */
bool mime_str_is(const struct mime_tree *t, struct mime_str s,
		 const char *word);

/* mime_str_present - s is not absent. */
static inline bool
mime_str_present(struct mime_str s)
{
	return s.off != 0;
}

#endif
