/*
 * imap_reader - assemble IMAP commands from the byte stream, purely (no
 * I/O): collect a command's lines, ask imap_parse where literals are,
 * and report events — a literal announced (the session decides whether
 * to accept it, sending "+" for a synchronizing one, or to refuse it),
 * message bytes to spool (an APPEND message never sits in memory), a
 * whole parsed command, a command dropped for its length.
 *
 * A refused literal is refused before a byte of it is stored: a
 * synchronizing one is never sent by the client, a non-synchronizing one
 * (LITERAL+, RFC 7888 §4) is read and dropped with the rest of its
 * command, so the connection stays usable either way. A line over the
 * limit is dropped the same way, literals it announces included, so its
 * bytes are never taken for a command.
 */
#ifndef PETREL_IMAP_IMAP_READER_H
#define PETREL_IMAP_IMAP_READER_H

#include "imap/imap_parse.h"

enum imap_reader_event {
	IMAP_READER_MORE = 0,	  /* all input used; feed more */
	IMAP_READER_LITERAL = 1,  /* a literal is announced: accept or
				     refuse it before feeding more */
	IMAP_READER_SPOOL = 2,	  /* message bytes in out->data/len */
	IMAP_READER_COMMAND = 3,  /* out->cmd parsed, or out->bad */
	IMAP_READER_TOO_LONG = 4, /* a line or command over the limit was
				     dropped; answer BAD (out->cmd.tag) */
	IMAP_READER_REFUSED = 5,  /* a refused literal and the rest of its
				     command are dropped; answer as decided
				     (out->cmd.tag) */
};

struct imap_reader {
	const struct imap_limits *lim;
	/* the command so far */
	char *buf;
	size_t len, cap;
	size_t line_start;
	size_t ext[IMAP_EXT_MAX];
	size_t n_ext;
	/* a literal being read */
	uint64_t lit_left;
	bool lit_spool;	  /* its bytes are the caller's (SPOOL events) */
	bool lit_pending; /* announced: waiting for accept/refuse */
	struct imap_literal lit;
	/* dropping the rest of a command: too long, or a refused literal */
	bool dropping;
	bool drop_refused; /* which of the two, for the event */
	bool refused_now;  /* a refused synchronizing literal: report it */
	char tail[16];	   /* the end of the line being dropped */
	size_t tail_len;
	/* the command's first bytes, for the tag of a dropped command */
	char head[IMAP_TAG_MAX + 2];
	size_t head_len;
};

struct imap_reader_out {
	struct imap_command cmd; /* COMMAND: free it with imap_command_free */
	bool bad;		 /* COMMAND: a syntax error ... */
	const char *why;	 /* ... and why */
	struct imap_literal lit; /* LITERAL */
	bool lit_fits;		 /* LITERAL: a message, or within the limits */
	const char *data;	 /* SPOOL: bytes inside the fed input */
	size_t len;
};

void imap_reader_init(struct imap_reader *r, const struct imap_limits *lim);
/* imap_reader_reset - drop any partial command and free the buffer. */
void imap_reader_reset(struct imap_reader *r);

/*
 * imap_reader_feed - consume bytes of data (len) up to the next event;
 * *used_r says how many. After IMAP_READER_LITERAL the caller must call
 * imap_reader_accept or imap_reader_refuse before feeding again.
 */
enum imap_reader_event imap_reader_feed(struct imap_reader *r, const char *data,
					size_t len, size_t *used_r,
					struct imap_reader_out *out);

/* imap_reader_accept - take the announced literal (spooled or inline). */
void imap_reader_accept(struct imap_reader *r);

/*
 * imap_reader_refuse - refuse the announced literal: the command is
 * dropped; a non-synchronizing literal's bytes and the rest of the
 * command are read and discarded first. The caller answers when the
 * next feed says IMAP_READER_REFUSED (at once, with nothing consumed,
 * for a synchronizing literal: the client will not send it).
 */
void imap_reader_refuse(struct imap_reader *r);

/* imap_reader_idle - no partial command is held (nothing to lose). */
bool imap_reader_idle(const struct imap_reader *r);

#endif
