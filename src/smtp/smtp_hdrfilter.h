/*
 * smtp_hdrfilter - what the receiving side changes in a message's header
 * section as it streams past, and what it notices there:
 *
 *  - every Return-Path: field is removed (with its continuation lines):
 *    RFC 5321 §4.4 has the final delivery add the one true Return-Path
 *    (petrel writes it on top of the spool file from MAIL FROM), and
 *    lets it remove any that arrived, as Postfix's cleanup does;
 *  - a byte >= 0x80 anywhere in the header section is noted: such a
 *    header needs SMTPUTF8 on the way on (RFC 6532 §3, RFC 6531 §3.2).
 *
 * Pure and incremental, like smtp_hops: fed the decoded message in any
 * chunking it gives the same output. It holds back at most
 * SMTP_HDRFILTER_HOLD bytes (a line start that could still become
 * "Return-Path:"), so out needs room for len + SMTP_HDRFILTER_HOLD; the
 * body passes straight through.
 */
#ifndef PETREL_SMTP_SMTP_HDRFILTER_H
#define PETREL_SMTP_SMTP_HDRFILTER_H

#include <stdbool.h>
#include <stddef.h>

/* "return-path" plus up to 16 WSP before the colon (obs-optional). */
#define SMTP_HDRFILTER_HOLD 32

struct smtp_hdrfilter {
	int state;	    /* private */
	unsigned held;	    /* bytes in hold[] */
	bool dropping;	    /* the field being dropped may continue */
	bool header_8bit;   /* out: a byte >= 0x80 in the header section */
	unsigned n_removed; /* out: Return-Path fields removed */
	char hold[SMTP_HDRFILTER_HOLD];
};

void smtp_hdrfilter_init(struct smtp_hdrfilter *f);

/*
 * smtp_hdrfilter_feed - filter in[0..len) into out (room for len +
 * SMTP_HDRFILTER_HOLD). Returns the bytes written.
 */
size_t smtp_hdrfilter_feed(struct smtp_hdrfilter *f, const char *in, size_t len,
			   char *out);

/*
 * smtp_hdrfilter_finish - the end of the message: what is still held
 * back (a last line that never finished) into out (room for
 * SMTP_HDRFILTER_HOLD). Returns the bytes written.
 */
size_t smtp_hdrfilter_finish(struct smtp_hdrfilter *f, char *out);

#endif
