/*
 * folders - a user's folder tree: IMAP mailbox names to Maildir++
 * sub-folders of the user's Maildir (interface.md: "IMAP folders as
 * Maildir++ sub-folders"), as Courier and Dovecot lay them out:
 *
 *   INBOX          mail/DOMAIN/USER/            (the Maildir itself)
 *   Sent           mail/DOMAIN/USER/.Sent/
 *   Archive.2026   mail/DOMAIN/USER/.Archive.2026/
 *
 * The hierarchy delimiter is ".", names are kept in modified UTF-7 as
 * clients send them. Each sub-folder is a Maildir with a "maildirfolder"
 * file. Subscriptions are lines in "subscriptions" at the top.
 *
 * Every new mailbox gets Sent, Drafts, Trash, Junk and Archive (with
 * their SPECIAL-USE attributes, RFC 6154) the first time it is opened
 * by IMAP: folders_init creates them and the subscriptions file, whose
 * presence then says "done" — a folder the user deletes stays deleted.
 *
 * All functions do disk work: call them on a worker thread.
 */
#ifndef PETREL_STORE_FOLDERS_H
#define PETREL_STORE_FOLDERS_H

#include <stdbool.h>
#include <stddef.h>

#define FOLDERS_NAME_MAX 250 /* a Maildir++ directory name is "." + this */

/* SPECIAL-USE attributes (RFC 6154 §2). */
enum {
	FOLDERS_SENT = 1 << 0,
	FOLDERS_DRAFTS = 1 << 1,
	FOLDERS_TRASH = 1 << 2,
	FOLDERS_JUNK = 1 << 3,
	FOLDERS_ARCHIVE = 1 << 4,
};

struct folders_entry {
	char *name;	  /* "INBOX", "Sent", "Archive.2026" */
	bool noselect;	  /* a parent that is not itself a folder */
	bool children;	  /* has sub-folders */
	bool subscribed;  /* in the subscriptions */
	bool nonexistent; /* subscribed, but not there (LSUB/LIST) */
	unsigned special; /* FOLDERS_* */
};

struct folders_list {
	size_t n;
	struct folders_entry *v; /* sorted by name, INBOX first */
};

/* folders_name_ok - may name be a folder? (not empty, no "/", no empty
 * level, no leading "." of a level, no control character, not too long;
 * modified UTF-7 is the IMAP layer's to check.) */
bool folders_name_ok(const char *name);

/* folders_path - the Maildir of folder name under root, into out. 0, or
 * -1 if the name is not allowed or out is too small. */
int folders_path(const char *root, const char *name, char *out, size_t outlen);

/* folders_special_use - the SPECIAL-USE attributes of a folder name. */
unsigned folders_special_use(const char *name);

/* folders_init - create the default folders of a mailbox new to IMAP. */
int folders_init(const char *root);

/* folders_list - every folder and subscription. 0 or -1. */
int folders_list(const char *root, struct folders_list *out);
void folders_list_free(struct folders_list *l);

/* folders_exists - is name a folder (INBOX always is)? */
bool folders_exists(const char *root, const char *name);

/*
 * Changes. Each returns 0, or -1 with a reason in err and *code_r set to
 * a response code for the client ("ALREADYEXISTS", "NONEXISTENT",
 * "CANNOT", "INUSE", or NULL for a server-side failure).
 */
int folders_create(const char *root, const char *name, const char **code_r,
		   char *err, size_t errlen);
/* A folder with sub-folders is not deleted (delete those first). */
int folders_delete(const char *root, const char *name, const char **code_r,
		   char *err, size_t errlen);
/* Sub-folders move along; renaming INBOX moves its messages into a new
 * folder and leaves INBOX empty (RFC 3501 §6.3.5). */
int folders_rename(const char *root, const char *from, const char *to,
		   const char **code_r, char *err, size_t errlen);
int folders_subscribe(const char *root, const char *name, bool on);

#endif
