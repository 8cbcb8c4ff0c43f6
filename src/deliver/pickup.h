/*
 * pickup - the pickup folder (data_dir/pickup/): a message file dropped
 * there, or renamed into it, is queued promptly (inotify, not a poll).
 *
 * The envelope comes from leading "X-Sender:" / "X-Receiver:" lines when
 * present (then removed), else from Sender:/From: and To:/Cc:/Bcc:
 * (Bcc: removed). Date: and Message-ID: are added when missing, line ends
 * become CRLF, and our Received: goes on top. A file that cannot be made
 * into a message (no sender, no recipients, a broken header) goes to
 * badmail/ with a .reason file: nothing is silently dropped. Files whose
 * names start with '.' are ignored (being written; `petrel sendmail`
 * writes ".tmp-*" and renames). Files left from while the server was down
 * are taken at start.
 *
 * maildrop/ is the same for local users, as Postfix's maildrop: `petrel
 * sendmail` run by anyone who may not write pickup/ puts its file there
 * (as a member of sendmail_group, through the setgid bit). The folder is
 * 1730, so nobody but the server lists or reads it, and the sender of
 * such a file is its owner, login@hostname, whatever the file says (see
 * drop_sender in pickup.c for -f).
 */
#ifndef PETREL_DELIVER_PICKUP_H
#define PETREL_DELIVER_PICKUP_H

struct config;
struct server;
struct pickup;

/*
 * pickup_setup - make data_dir/maildrop/ writable (not readable) for the
 * sendmail_group: the server's user (cfg->user when root, else the
 * running one) owns it, mode 1730, and data_dir gets the search bit. As
 * root before the privilege drop, or as the server's own user if it is
 * in that group. 0, or -1 (logged: then only root and the server's user
 * can use sendmail).
 */
int pickup_setup(const struct config *cfg);

struct pickup *pickup_start(struct server *srv);
/* pickup_stop - take no new files (before commit_stop). */
void pickup_stop(struct pickup *p);
void pickup_free(struct pickup **pp);

#endif
