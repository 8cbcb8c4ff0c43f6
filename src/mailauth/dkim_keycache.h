/*
 * dkim_keycache - the active signing keys of each hosted domain, read
 * from data_dir/dkim/ once and kept, so signing a message costs no
 * file reads or PEM parsing. A stat of the domain's "active" file per
 * look-up notices `petrel dkim keygen/activate/del` while the server
 * runs. Thread-safe: the SMTP loop and the pickup worker both sign.
 */
#ifndef PETREL_MAILAUTH_DKIM_KEYCACHE_H
#define PETREL_MAILAUTH_DKIM_KEYCACHE_H

#include <stddef.h>

#include "mailauth/dkim_sign.h"

/*
 * dkim_keycache_get - the active keys of domain (at most 2) into keys_r,
 * each EVP_PKEY with a reference of its own (release them with
 * dkim_keys_unload). Returns how many; 0 when the domain signs nothing.
 */
size_t dkim_keycache_get(const char *data_dir, const char *domain,
			 struct dkim_sign_key keys_r[2]);

/* dkim_keycache_clear - forget every cached key (at exit). */
void dkim_keycache_clear(void);

#endif
