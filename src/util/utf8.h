/*
 * utf8 - strict UTF-8 checks (RFC 3629 §4) for protocol text that may
 * carry it: SMTPUTF8 addresses and parameters (RFC 6531 §3.3).
 *
 * Well-formed means the shortest form, no surrogates (U+D800..DFFF), no
 * code point above U+10FFFF. libidn2 checks domain names itself; these
 * are for the rest (local parts, ESMTP values), which no listed library
 * validates on its own.
 */
#ifndef PETREL_UTIL_UTF8_H
#define PETREL_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * utf8_seq_len - the length (2..4) of the well-formed multi-byte
 * sequence at s[0..n), or 0 if there is none (an ASCII byte included).
 */
size_t utf8_seq_len(const char *s, size_t n);

/* utf8_valid - s[0..n) is well-formed UTF-8 (ASCII included). */
bool utf8_valid(const char *s, size_t n);

/* utf8_is_ascii - no byte of the NUL-terminated s is >= 0x80. */
bool utf8_is_ascii(const char *s);

#endif
