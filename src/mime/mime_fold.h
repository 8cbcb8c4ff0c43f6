/*
 * mime_fold - case-insensitive substring matching on UTF-8, for IMAP
 * SEARCH (RFC 3501 §6.4.4: "case-insensitive ... substring").
 *
 * Folding is the Unicode simple lower-case mapping for: ASCII, Latin-1
 * Supplement, Latin Extended-A and -B (the common letters), Greek and
 * Coptic (final sigma folds to sigma, accented capitals to their small
 * forms), Cyrillic and Cyrillic Supplement (U+0400-U+052F), and
 * Armenian; German sharp s and other one-to-many foldings are left as
 * they are (simple folding). Invalid UTF-8 bytes fold to U+FFFD, so a
 * needle and a text are always compared as valid UTF-8.
 *
 * A needle is folded once (mime_needle_new) and then matched against
 * any number of texts, whole (mime_needle_in) or streamed in chunks of
 * any split (struct mime_match), in memory bounded by the needle.
 */
#ifndef PETREL_MIME_MIME_FOLD_H
#define PETREL_MIME_MIME_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* mime_utf8_char - the length (1-4) of the valid UTF-8 sequence at
 * s[0..n) and its code point in *c_r, or 0 if s does not start with one
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
size_t mime_utf8_char(const char *s, size_t n, uint32_t *c_r);

/* mime_utf8_put - write code point c (<= U+10FFFF) as UTF-8 into out
 * (room for 4 bytes); returns its length. */
size_t mime_utf8_put(uint32_t c, char *out);

/* mime_utf8_sanitize - append s[0..n) to out with every byte that is
 * not part of a valid UTF-8 sequence, and every NUL, as U+FFFD. */
void mime_utf8_sanitize(const char *s, size_t n, struct strbuf *out);

/* mime_fold_utf8 - append the folded form of s[0..len) to out. */
void mime_fold_utf8(const char *s, size_t len, struct strbuf *out);

/* mime_fold_char - the simple lower-case of code point c. */
uint32_t mime_fold_char(uint32_t c);

struct mime_needle;

/* mime_needle_new - fold s[0..len) (UTF-8) for matching; caller frees. */
struct mime_needle *mime_needle_new(const char *s, size_t len);

/* mime_needle_free - free *np, set it to NULL (NULL is fine). */
void mime_needle_free(struct mime_needle **np);

/* mime_needle_empty - the needle is "" (matches everything). */
bool mime_needle_empty(const struct mime_needle *n);

/* mime_needle_in - n occurs in the UTF-8 text s[0..len), case-blind. */
bool mime_needle_in(const struct mime_needle *n, const char *s, size_t len);

/* A streaming match: init, feed chunks until it returns true, done. */
struct mime_match {
	const struct mime_needle *n;
	struct strbuf tail; /* folded bytes carried to the next chunk */
	char part[4];	    /* an incomplete UTF-8 sequence */
	size_t npart;
	bool found;
};

void mime_match_init(struct mime_match *m, const struct mime_needle *n);
/* mime_match_feed - true once the needle has been seen. */
bool mime_match_feed(struct mime_match *m, const char *s, size_t len);
/* mime_match_finish - the end of the text: the final answer (a UTF-8
 * sequence cut by the end counts as U+FFFD, as in mime_needle_in). */
bool mime_match_finish(struct mime_match *m);
/* mime_match_done - free what the match holds (after finish or not). */
void mime_match_done(struct mime_match *m);

#endif
