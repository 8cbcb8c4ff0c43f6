/*
 * folder - one Maildir folder as IMAP sees it: every message with its
 * UID, flags, keywords, MODSEQ, internal date, size and cached MIME
 * parse, plus the folder's HIGHESTMODSEQ and the expunged UIDs that
 * QRESYNC's VANISHED needs (RFC 7162).
 *
 * Sources of truth, so that POP3, other Maildir readers and a lost file
 * never disagree with IMAP for long:
 *
 *   - the message files in cur/ and new/: which messages exist, their
 *     system flags (the Maildir info ":2,FRS"), their size (",S=");
 *   - petrel-uidlist (store/mailbox.h, shared with POP3): UID <-> file;
 *   - petrel-index (store/folder_index.h): what only IMAP needs — MODSEQ
 *     per message, keywords, internal date, where the cached MIME parse
 *     is in petrel-cache, HIGHESTMODSEQ, the vanished UIDs, the last UID
 *     handed out as \Recent. Versioned records of key=value fields, a
 *     snapshot plus an append-only checksummed log: a field can be added
 *     without migrating anything, and a crash leaves a usable index.
 *
 * Loading or syncing compares the files with the index: a message
 * nobody has seen gets the next MODSEQ; one that is gone (POP3 deleted
 * it, a user removed the file) is expunged with the next MODSEQ; flags
 * changed in a file name by another program get a new MODSEQ. So MODSEQ
 * and VANISHED stay right whatever touches the Maildir.
 *
 * Threading: a struct folder belongs to the event loop. The operations
 * below that touch the disk run on a worker thread; they only *read*
 * the folder (the caller guarantees that nothing changes it meanwhile:
 * one operation per folder at a time) and return a struct folder_changes
 * that the loop then applies with folder_apply. Expunged messages stay
 * in the array as tombstones (expunged != 0) until the caller removes
 * them with folder_drop_tombstones, so that IMAP sessions that have not
 * been told yet keep their message sequence numbers.
 */
#ifndef PETREL_STORE_FOLDER_H
#define PETREL_STORE_FOLDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct imap_msg;

/* System flags: the same bits as IMAP_FLAG_* (imap_parse.h). */
enum {
	FOLDER_ANSWERED = 1 << 0, /* Maildir R */
	FOLDER_FLAGGED = 1 << 1,  /* F */
	FOLDER_DELETED = 1 << 2,  /* T */
	FOLDER_SEEN = 1 << 3,	  /* S */
	FOLDER_DRAFT = 1 << 4,	  /* D */
	FOLDER_SYSFLAGS = 0x1f,
};

#define FOLDER_MAX_KEYWORDS 64	 /* per folder: a 64-bit mask per message */
#define FOLDER_KEYWORD_MAX  100	 /* octets of one keyword */
#define FOLDER_MAX_VANISHED 2000 /* ranges kept (then merged) */

struct folder_msg {
	uint32_t uid;
	uint8_t flags;	     /* FOLDER_* system flags */
	bool in_new;	     /* the file is in new/ (else cur/) */
	uint32_t changed_by; /* the caller's tag of the last change */
	uint64_t kw;	     /* keyword bits (folder->kw[i]) */
	uint64_t modseq;
	uint64_t expunged; /* MODSEQ of its expunge; 0: live */
	int64_t date;	   /* INTERNALDATE, seconds */
	uint64_t size;	   /* octets of the file */
	uint64_t cache_off;
	uint32_t cache_len; /* 0: not parsed yet */
	char *name;	    /* file name in cur/ or new/, info included */
};

struct folder_vanished {
	uint32_t lo, hi; /* UIDs expunged ... */
	uint64_t modseq; /* ... at or before this MODSEQ */
};

struct folder {
	char *path;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	/* UIDs up to here were \Recent to some session. Set by the loop,
	 * written to the index by whichever operation runs next. */
	_Atomic uint32_t recent_uid;
	uint32_t recent_logged; /* the value in the index */
	size_t n, cap;		/* msgs[], ascending UID, tombstones included */
	struct folder_msg *msgs;
	size_t n_live;
	size_t n_kw;
	char *kw[FOLDER_MAX_KEYWORDS];
	size_t n_van;
	struct folder_vanished *van; /* ascending, disjoint */
	uint64_t gen;		     /* the index generation (snapshot) */
	uint64_t log_size;	     /* bytes in petrel-index.log */
	uint64_t snap_size;	     /* bytes in petrel-index */
	int cache_fd;		     /* petrel-cache, read side; -1 */
	uint64_t cache_size;	     /* its end (where the next one goes) */
};

/* One change, made durable by the worker, for the loop to apply. */
enum folder_change_kind {
	FOLDER_CH_NEW,	   /* msg is a new message */
	FOLDER_CH_UPDATE,  /* flags/keywords/name/cache of msg.uid */
	FOLDER_CH_EXPUNGE, /* msg.uid is gone, at msg.modseq */
};

struct folder_change {
	enum folder_change_kind kind;
	struct folder_msg msg; /* msg.name owned by the change */
};

struct folder_changes {
	size_t n, cap;
	struct folder_change *v;
	/* Folder state after the changes. */
	uint64_t highestmodseq;
	uint32_t uidnext;
	size_t n_kw; /* keywords: the first n_kw of kw[] (new ones added) */
	char *kw[FOLDER_MAX_KEYWORDS];
	bool reset; /* UIDVALIDITY changed: replaced holds the new folder */
	struct folder *replaced;
	uint64_t cache_size; /* petrel-cache's new end */
	uint64_t log_size;
	uint32_t recent_logged;
	bool compact; /* the index should be compacted (folder_compact) */
	/* Per operation. */
	size_t n_uids; /* add: the new UIDs, in the order given */
	uint32_t *uids;
	size_t n_failed; /* store: UIDs failing UNCHANGEDSINCE (modified) */
	uint32_t *failed;
	int error; /* errno of a partial failure (the rest was applied) */
	char err[256];
};

/*
 * folder_load - open the folder at path (a Maildir; created when
 * missing): sync the UID list, read the index, compare with the files
 * and write down what changed. Worker thread. NULL with err on failure.
 */
struct folder *folder_load(const char *path, char *err, size_t errlen);

/* folder_free - close and free; *fp = NULL. */
void folder_free(struct folder **fp);

/* folder_changes_free - free a change set; *cp = NULL. */
void folder_changes_free(struct folder_changes **cp);

/*
 * folder_sync - compare the files with the folder (worker): new
 * messages, messages gone, flags changed by others.
 */
struct folder_changes *folder_sync(const struct folder *f);

/*
 * folder_store - change flags (STORE, RFC 3501 §6.4.6): op '+' adds,
 * '-' removes, '=' replaces sys and the keywords kw[0..n_kw). Messages
 * whose MODSEQ is above unchangedsince (UINT64_MAX: no condition) are
 * left alone and listed in failed (RFC 7162 §3.1.3). tag goes into
 * changed_by.
 */
struct folder_changes *folder_store(const struct folder *f,
				    const uint32_t *uids, size_t n, int op,
				    unsigned sys, const char *const *kw,
				    size_t n_kw, uint64_t unchangedsince,
				    uint32_t tag);

/* folder_expunge - remove the messages (files unlinked, VANISHED kept). */
struct folder_changes *folder_expunge(const struct folder *f,
				      const uint32_t *uids, size_t n);

/* A message to add to a folder (COPY, MOVE, APPEND). */
struct folder_add {
	const char *src; /* a file to link (COPY) or rename (APPEND) in */
	bool rename;
	unsigned sys;		/* system flags */
	size_t n_kw;		/* keywords ... */
	const char **kw;	/* ... by name */
	int64_t date;		/* INTERNALDATE to set; 0: keep the file's */
	uint64_t size;		/* octets */
	const char *src_base;	/* COPY: the source's base name, to find it if
			   it was renamed meanwhile */
	const char *src_folder; /* COPY: the source folder */
};

/*
 * folder_add - put files into the folder and give them UIDs (in order).
 * The result's uids[] holds the new UIDs (0 for one that failed).
 */
struct folder_changes *folder_add(const struct folder *f,
				  const struct folder_add *adds, size_t n,
				  uint32_t tag);

/*
 * folder_cache_fill - parse the messages whose MIME parse is not cached
 * yet (the MIME engineer's imap_msg), and append it to petrel-cache.
 */
struct folder_changes *folder_cache_fill(const struct folder *f,
					 const uint32_t *uids, size_t n);

/*
 * folder_compact - write a fresh index snapshot of f (which must have no
 * tombstones the caller still needs: they are left out) and empty the
 * log. Worker thread, f read-only. 0 or -1.
 */
int folder_compact(const struct folder *f, uint64_t *gen_r,
		   uint64_t *snap_size_r);

/* folder_needs_compact - the log has grown enough to fold it in. */
bool folder_needs_compact(const struct folder *f);

/* folder_apply - apply a change set on the loop (frees nothing). */
void folder_apply(struct folder *f, struct folder_changes *c);

/*
 * folder_drop_tombstones - remove expunged messages for which keep(msg,
 * arg) is false.
 */
void folder_drop_tombstones(struct folder *f,
			    bool (*keep)(const struct folder_msg *m, void *arg),
			    void *arg);

/* folder_find - index of the message with this UID (live or not), or -1. */
long folder_find(const struct folder *f, uint32_t uid);

/* folder_msg_path - the message's file path into out. 0 or -1. */
int folder_msg_path(const struct folder *f, const struct folder_msg *m,
		    char *out, size_t outlen);

/* folder_keyword - the index of keyword name (case-insensitive), or -1. */
int folder_keyword(const struct folder *f, const char *name);

/*
 * folder_cache_get - the cached MIME parse of m, decoded (free it with
 * imap_msg_free), or NULL if it is not cached or unreadable. Loop or
 * worker.
 */
struct imap_msg *folder_cache_get(const struct folder *f,
				  const struct folder_msg *m);

/*
 * folder_parse - parse m's file now (the cache entry was unreadable):
 * NULL if the file is gone. Reads the whole message: a fallback, not the
 * way (folder_cache_fill on a worker is).
 */
struct imap_msg *folder_parse(const struct folder *f,
			      const struct folder_msg *m);

/* folder_quota_root - the user's Maildir (where maildirsize lives) of a
 * folder at path: the folder itself, or its parent for a Maildir++
 * sub-folder (".Name"). Into out; 0 or -1. */
int folder_quota_root(const char *path, char *out, size_t outlen);

/* folder_vanished_since - call cb for each range of UIDs expunged after
 * modseq (VANISHED (EARLIER), RFC 7162 §3.2.5.1). */
void folder_vanished_since(const struct folder *f, uint64_t modseq,
			   void (*cb)(uint32_t lo, uint32_t hi, void *arg),
			   void *arg);

/* folder_flags_from_info - FOLDER_* flags of a Maildir info (":2,..."
 * suffix of a file name, or NULL). */
unsigned folder_flags_from_info(const char *name);

#endif
