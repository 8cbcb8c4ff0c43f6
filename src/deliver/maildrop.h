/*
 * maildrop - data_dir/maildrop/, where `petrel sendmail` run by an
 * ordinary local user leaves its message, as Postfix's postdrop does.
 *
 * The folder is 1730, owned by the server's user and sendmail_group:
 * the group (which the sendmail binary is setgid to) may create entries
 * but neither list nor read them, and the sticky bit keeps each file its
 * writer's. The server takes the files like pickup/ ones (deliver/
 * pickup.c) with two differences: a file is read through the descriptor
 * whose owner was checked, and the envelope sender is that owner, not
 * what the file says (maildrop_sender).
 */
#ifndef PETREL_DELIVER_MAILDROP_H
#define PETREL_DELIVER_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config;

/*
 * maildrop_setup - make data_dir/maildrop/ writable (not readable) for
 * the sendmail_group: the server's user (cfg->user when root, else the
 * running one) owns it, mode 1730, and data_dir gets the search bit. As
 * root before the privilege drop, or as the server's own user if it is
 * in that group. 0, or -1 (logged: then only root and the server's user
 * can use sendmail).
 */
int maildrop_setup(const struct config *cfg);

/*
 * maildrop_read - the file at path (at most max bytes, heap) and who
 * wrote it: its owner's uid and login. A plain file with one link only,
 * opened without following a link and read through the descriptor that
 * was checked. NULL with errno (a temporary problem), or with err set
 * (a file that can never be taken: badmail).
 */
char *maildrop_read(const char *path, size_t max, uid_t *uid_r, char *login,
		    size_t loginlen, size_t *len_r, char *err, size_t errlen);

/*
 * maildrop_sender - the envelope sender of a maildrop file written by
 * login: login@hostname, as Postfix's postdrop records it. requested (-f,
 * the file's X-Sender, or NULL) is taken from a trusted writer (root, the
 * server's own user: sendmail's "trusted users"), and from anyone else
 * only when it is their own address or a +tag of it; otherwise the
 * sender stays theirs and, as sendmail does, an X-Authentication-Warning:
 * field (returned, heap, CRLF-terminated) says what was asked. NULL when
 * there is nothing to warn about. Pure.
 */
char *maildrop_sender(const char *login, const char *hostname,
		      const char *requested, bool trusted, char *out,
		      size_t outlen);

#endif
