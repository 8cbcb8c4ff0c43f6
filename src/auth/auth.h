/*
 * auth - password checks for worker threads.
 *
 * A yescrypt check costs ~20 ms of CPU here, far too long for the event
 * loop, so sessions run auth_check_password() through the workq. Each
 * worker thread keeps its own directory connection (SQLite statements
 * must not be shared between threads), opened on first use and closed
 * when the thread ends.
 */
#ifndef PETREL_AUTH_AUTH_H
#define PETREL_AUTH_AUTH_H

#include <stddef.h>

/*
 * auth_check_password - 1 the password is right, 0 it is not (or there is
 * no such user: callers must not tell the two apart), -1 error.
 */
int auth_check_password(const char *data_dir, const char *user,
			const char *password);

/*
 * auth_mailbox_of - the canonical mailbox path of a user who has logged in
 * ("Alice@Example.ORG" -> data_dir/mail/example.org/alice). 0 or -1.
 */
int auth_mailbox_of(const char *data_dir, const char *user, char *out,
		    size_t outlen);

#endif
