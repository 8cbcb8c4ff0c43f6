/*
 * num - strict decimal numbers from protocol and file text: digits only
 * (no sign, no white space, no "0x"), overflow-safe against a maximum;
 * and hex digits, for the %XX and +XX escapes of files and protocols.
 */
#ifndef PETREL_UTIL_NUM_H
#define PETREL_UTIL_NUM_H

#include <stddef.h>
#include <stdint.h>

/* num_parse - s[0..len) as a number <= max into *r. 0, or -1. */
int num_parse(const char *s, size_t len, uint64_t max, uint64_t *r);

/* num_hex_digit - the value of one hex digit (either case), or -1. */
int num_hex_digit(char c);

#endif
