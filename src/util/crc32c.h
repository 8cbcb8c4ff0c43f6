/*
 * crc32c - CRC-32C (Castagnoli, RFC 3720 §B.4), the checksum of the
 * IMAP message cache entries (imap_msg.c).
 *
 * Why not zlib's crc32: it is the IEEE polynomial in software, ~1 GB/s
 * here, and it was half of the cost of decoding a cache entry for
 * FETCH ENVELOPE. CRC-32C has an instruction on x86-64 (SSE4.2) that
 * does 8 bytes at a time; where it is missing the same value is computed
 * bit by bit, so entries written on one machine read on any other.
 */
#ifndef PETREL_UTIL_CRC32C_H
#define PETREL_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c - the CRC-32C of p[0..n), continuing from crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

/* crc32c_portable - the same without the CPU instruction (for tests). */
uint32_t crc32c_portable(uint32_t crc, const void *p, size_t n);

#endif
