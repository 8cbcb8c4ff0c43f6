/*
 * imap_view - what one session knows of its selected folder: which
 * messages it has been told of, so its message sequence numbers stay put
 * until it may be told of changes (RFC 3501 §5.5, §7.4.1).
 *
 * A view keeps no copy of the message list. It keeps a few numbers:
 * the highest UID announced (EXISTS), the MODSEQ up to which expunges
 * and flag changes have been reported. A message of the shared folder
 * is in the view when its UID is announced and it is live or was
 * expunged after the view's last report: expunged messages stay in the
 * folder as tombstones until every view has reported them. So an idle
 * session costs a few dozen bytes whatever the folder's size, and
 * sequence numbers map to the folder's array directly whenever no
 * tombstone is in the way (else through a map made for the command).
 */
#ifndef PETREL_IMAP_IMAP_VIEW_H
#define PETREL_IMAP_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"
#include "store/folder.h"

struct imap_folder;
struct imap_session;
struct strbuf;

struct imap_view {
	struct imap_folder *fo;
	struct imap_session *s;
	struct imap_view *next; /* in fo->views */
	uint32_t sid;		/* the session's id: its own changes */
	bool readonly;		/* EXAMINE */
	bool recent_owner;	/* new messages are \Recent to this one */
	uint32_t uid_max;	/* the highest UID announced */
	uint32_t exists;	/* messages announced */
	uint32_t recent_lo;	/* \Recent: UIDs in (recent_lo, recent_hi] */
	uint32_t recent_hi;
	uint32_t recent_told; /* the RECENT count last sent */
	uint64_t exp_seen;    /* expunges at or below this are reported */
	uint64_t flags_seen;  /* flag changes at or below this too */
	/* sequence number -> folder index, when tombstones are in the way */
	uint32_t *map;
	uint32_t map_version;
	bool map_valid;
};

/* imap_view_attach - session s (id sid) selects fo (loaded): everything
 * is announced as of now; readonly for EXAMINE. */
void imap_view_attach(struct imap_view *v, struct imap_folder *fo,
		      struct imap_session *s, uint32_t sid, bool readonly);

/* imap_view_detach - leave; the view's tombstones may go. */
void imap_view_detach(struct imap_view *v);

/* imap_view_msg - message seq (1-based, <= exists), or NULL. */
struct folder_msg *imap_view_msg(struct imap_view *v, uint32_t seq);

/* imap_view_seq - the sequence number of folder message index k (in the
 * view), or 0. */
uint32_t imap_view_seq(struct imap_view *v, size_t k);

/* imap_view_recent - is m \Recent in this session? */
bool imap_view_recent(const struct imap_view *v, const struct folder_msg *m);

/* imap_view_recent_count - the RECENT number. */
uint32_t imap_view_recent_count(struct imap_view *v);

/*
 * imap_view_resolve - the messages of a sequence set (uid: a UID set) as
 * ascending sequence numbers, into *seqs_r (free it). "$" is saved[].
 * Messages not in the view are skipped (UIDs), as RFC 3501 says; a
 * sequence number above EXISTS is an error (-1).
 */
int imap_view_resolve(struct imap_view *v, const struct imap_seqset *set,
		      bool uid, const uint32_t *saved, size_t n_saved,
		      uint32_t **seqs_r, size_t *n_r);

/*
 * imap_view_update - write to out the changes the session has not been
 * told of: EXPUNGE (or VANISHED with qresync) when allow_expunge, EXISTS
 * and RECENT, FETCH FLAGS (with UID and MODSEQ as enabled) for other
 * sessions' flag changes. Returns whether anything was written.
 */
bool imap_view_update(struct imap_view *v, struct strbuf *out,
		      bool allow_expunge, bool condstore, bool qresync);

/* imap_view_needs - does any view of fo still need tombstone m? */
bool imap_view_needs(const struct imap_folder *fo, const struct folder_msg *m);

/* imap_view_write_flags - "(\Seen $Junk ...)" of m, \Recent as v says. */
void imap_view_write_flags(const struct imap_view *v,
			   const struct folder_msg *m, struct strbuf *out);

/* imap_view_uidset - append ranges "1:3,7" of sorted UIDs. */
void imap_view_uidset(const uint32_t *uids, size_t n, struct strbuf *out);

#endif
