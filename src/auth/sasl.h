/*
 * sasl - the SASL mechanisms petrel accepts (PLAIN, RFC 4616; LOGIN),
 * shared by POP3 AUTH, SMTP AUTH and IMAP AUTHENTICATE. Pure decoding
 * only; checking the password is the directory's job.
 */
#ifndef PETREL_AUTH_SASL_H
#define PETREL_AUTH_SASL_H

#include <stddef.h>

/*
 * sasl_base64_decode - strict base64 (RFC 4648, padding required, no
 * whitespace) into out. Returns the decoded length, or -1 if the input
 * is malformed or out (outlen bytes) is too small.
 */
long sasl_base64_decode(const char *in, size_t len, unsigned char *out,
			size_t outlen);

/* sasl_base64_encode - into out (NUL-terminated). Length or -1. */
long sasl_base64_encode(const unsigned char *in, size_t len, char *out,
			size_t outlen);

/*
 * sasl_plain_decode - decode an AUTH PLAIN response: base64 of
 * "authzid NUL authcid NUL passwd". Writes authcid and password as
 * NUL-terminated strings. An authzid must be empty or equal to authcid
 * (petrel does not let one user act as another). Returns 0 or -1.
 */
int sasl_plain_decode(const char *b64, size_t len, char *user_r, size_t userlen,
		      char *pass_r, size_t passlen);

#endif
