/*
 * folder_index - the on-disk form of a folder's IMAP state (store/
 * folder.h): a snapshot, "petrel-index", rewritten now and then (temp
 * file, fsync, rename), and a log, "petrel-index.log", that every change
 * is appended to (and fdatasync'ed) in between.
 *
 *   petrel-index 1 uidvalidity=V gen=G cache=C
 *   H highestmodseq=N recent=U
 *   K 0 $Forwarded                  keyword 0 (the bit number), its name
 *   X 40 52 m=811                   UIDs 40..52 expunged at MODSEQ <= 811
 *   M 57 m=812 f=RS k=1 d=1700000000 c=4096:612
 *
 *   petrel-index.log: "petrel-index-log 1 uidvalidity=V gen=G", then
 *   records as above (H, K, X, M; and "E uid m=N": an expunge), each
 *   followed by a TAB and the CRC-32 of the record in 8 hex digits.
 *
 * Records are absolute (a message's whole state, never a delta), so a
 * log replayed twice gives the same result. Fields are key=value: a
 * reader skips keys it does not know and gives missing ones their
 * default, so a field can be added without migrating anything; the "1"
 * after the magic changes only for an incompatible format (then the
 * index is rebuilt from the files). A log whose gen is not the
 * snapshot's belongs to an older snapshot (a crash between writing the
 * snapshot and emptying the log) and is ignored: the snapshot already
 * holds it. A torn or corrupt log line ends the replay there. cache= is
 * the version of the MIME parse encoding (imap_msg.h) in petrel-cache:
 * when it is not this program's, the cache is dropped and rebuilt.
 */
#ifndef PETREL_STORE_FOLDER_INDEX_H
#define PETREL_STORE_FOLDER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/folder.h"
#include "util/strbuf.h"

#define FOLDER_INDEX_NAME "petrel-index"
#define FOLDER_INDEX_LOG  "petrel-index.log"

struct folder_index_rec {
	uint32_t uid;
	uint8_t flags;
	uint64_t kw;
	uint64_t modseq;
	int64_t date;
	uint64_t cache_off;
	uint32_t cache_len;
};

struct folder_index {
	bool exists;	     /* a snapshot was there */
	const char *corrupt; /* why it cannot be used, or NULL */
	uint32_t uidvalidity;
	uint64_t gen;
	uint32_t cache_version; /* of the imap_msg encoding in petrel-cache */
	uint64_t highestmodseq;
	uint32_t recent_uid;
	size_t n_kw;
	char *kw[FOLDER_MAX_KEYWORDS];
	size_t n_van, cap_van;
	struct folder_vanished *van;
	size_t n, cap;
	struct folder_index_rec *recs; /* ascending UID */
	uint64_t snap_size, log_size;
	size_t log_bad; /* log lines dropped (torn or corrupt) */
};

/*
 * folder_index_read - read the snapshot and replay the log of the folder
 * at path into *ix. 0 (also when there is no index or it is corrupt: see
 * ix->exists, ix->corrupt), or -1 on an I/O error.
 */
int folder_index_read(const char *path, struct folder_index *ix);

/* folder_index_free - free what folder_index_read allocated. */
void folder_index_free(struct folder_index *ix);

/*
 * folder_index_parse - the same from memory (for tests and fuzzing):
 * snap (may be NULL) and log (may be NULL).
 */
void folder_index_parse(const char *snap, size_t snap_len, const char *log,
			size_t log_len, struct folder_index *ix);

/* Record writers: append one record line (no CRC) to sb. */
void folder_index_rec_msg(struct strbuf *sb, const struct folder_msg *m);
void folder_index_rec_expunge(struct strbuf *sb, uint32_t uid, uint64_t modseq);
void folder_index_rec_head(struct strbuf *sb, uint64_t highestmodseq,
			   uint32_t recent_uid);
void folder_index_rec_keyword(struct strbuf *sb, size_t i, const char *name);
void folder_index_rec_vanished(struct strbuf *sb, uint32_t lo, uint32_t hi,
			       uint64_t modseq);

/*
 * folder_index_append - append the records in recs (lines as the writers
 * make them) to the log, each with its CRC, and fdatasync. The log is
 * started (for uidvalidity/gen) when missing. Returns 0 or -1; the new
 * log size in *size_r.
 */
int folder_index_append(const char *path, uint32_t uidvalidity, uint64_t gen,
			const struct strbuf *recs, uint64_t *size_r);

/*
 * folder_index_snapshot - write f's state as a new snapshot with
 * generation gen and start an empty log for it (crash-safe in that
 * order). Tombstones are left out. 0 or -1; sizes in *snap_r.
 */
int folder_index_snapshot(const char *path, const struct folder *f,
			  uint64_t gen, uint64_t *snap_r);

/* folder_index_flags - FOLDER_* flags of Maildir info letters ("RS");
 * other letters are not flags of IMAP's. */
unsigned folder_index_flags(const char *s, size_t len);

/* folder_index_info - the Maildir info letters of FOLDER_* flags, sorted,
 * into out[8] ("" for none). */
void folder_index_info(unsigned flags, char out[8]);

#endif
