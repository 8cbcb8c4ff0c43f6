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
 * maildrop/ is the same for local users (deliver/maildrop.h): `petrel
 * sendmail` run by anyone who may not write pickup/ puts its file there,
 * and the sender of such a file is its owner, whatever the file says.
 */
#ifndef PETREL_DELIVER_PICKUP_H
#define PETREL_DELIVER_PICKUP_H

struct server;
struct pickup;

struct pickup *pickup_start(struct server *srv);
/* pickup_stop - take no new files (before commit_stop). */
void pickup_stop(struct pickup *p);
void pickup_free(struct pickup **pp);

#endif
