/*
 * directory - who lives here: hosted domains, users (yescrypt password
 * hashes only, never plaintext) and aliases, kept in SQLite
 * (`data_dir/directory.db`, WAL mode).
 *
 * The admin CLI writes it while `serve` runs; the server reads it through
 * prepared statements, and every lookup is its own read transaction, so a
 * change made by the CLI is seen by the next lookup without a restart.
 *
 * Addresses are "local@domain". Domains are matched case-insensitively
 * and stored lower-case; local parts are matched case-insensitively too
 * (stored as given, compared with COLLATE NOCASE).
 */
#ifndef PETREL_STORE_DIRECTORY_H
#define PETREL_STORE_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;

/*
 * directory_open - open (and create, with schema, when create is true)
 * the database at path. Returns NULL with err set on failure. The file is
 * created mode 0600.
 */
struct directory *directory_open(const char *path, bool create, char *err,
				 size_t errlen);

/* directory_close - close and set *dirp to NULL. */
void directory_close(struct directory **dirp);

/*
 * Administrative changes. Each returns 0, or -1 with a one-line reason in
 * err: "domain example.org already exists", "unknown domain example.net",
 * "malformed address 'foo'", "user a@example.org already exists", ...
 */
int directory_domain_add(struct directory *dir, const char *domain, char *err,
			 size_t errlen);
/* Deleting a domain that still has users or aliases is refused. */
int directory_domain_del(struct directory *dir, const char *domain, char *err,
			 size_t errlen);
int directory_user_add(struct directory *dir, const char *address,
		       const char *password, char *err, size_t errlen);
int directory_user_passwd(struct directory *dir, const char *address,
			  const char *password, char *err, size_t errlen);
int directory_user_del(struct directory *dir, const char *address, char *err,
		       size_t errlen);
/*
 * directory_user_quota_set - the most the user's mailbox (all its
 * folders) may hold, in bytes; 0 = no limit.
 */
int directory_user_quota_set(struct directory *dir, const char *address,
			     uint64_t bytes, char *err, size_t errlen);

/*
 * directory_user_quota - the user's quota in *bytes_r (0 = none). Returns
 * 1 (a user), 0 (no such user: *bytes_r 0) or -1 (database error).
 */
int directory_user_quota(struct directory *dir, const char *address,
			 uint64_t *bytes_r);

/*
 * directory_alias_add - address is "local@domain" or "@domain" (catch-all)
 * in a hosted domain; targets are addresses, local or remote. Adding to an
 * existing alias replaces its targets.
 */
int directory_alias_add(struct directory *dir, const char *address,
			const char *const *targets, size_t n_targets, char *err,
			size_t errlen);
int directory_alias_del(struct directory *dir, const char *address, char *err,
			size_t errlen);

/* Listings call cb once per row, in sorted order; domain NULL = all. */
typedef void directory_row_cb(const char *a, const char *b, void *arg);
int directory_domain_list(struct directory *dir, directory_row_cb *cb,
			  void *arg);
/* cb(address, NULL) */
int directory_user_list(struct directory *dir, const char *domain,
			directory_row_cb *cb, void *arg);
/* cb(address, "target1, target2") */
int directory_alias_list(struct directory *dir, const char *domain,
			 directory_row_cb *cb, void *arg);
/* directory_alias_each - the same, with the targets one by one. */
typedef void directory_alias_cb(const char *address, const char *const *targets,
				size_t n, void *arg);
int directory_alias_each(struct directory *dir, const char *domain,
			 directory_alias_cb *cb, void *arg);

/*
 * --- administrators and API tokens (directory_admin.c) ---
 *
 * Administrators of the web admin are their own accounts, apart from
 * mail users (an address may be both, with two passwords). Addresses are
 * any mailbox address, hosted here or not. Tokens are stored only as a
 * hash (SHA-256: a token is 256 random bits, so a fast hash is enough);
 * the token itself is shown once, by whoever made it.
 */
int directory_admin_add(struct directory *dir, const char *address,
			const char *password, char *err, size_t errlen);
int directory_admin_passwd(struct directory *dir, const char *address,
			   const char *password, char *err, size_t errlen);
int directory_admin_del(struct directory *dir, const char *address, char *err,
			size_t errlen);
/* cb(address, NULL), sorted. */
int directory_admin_list(struct directory *dir, directory_row_cb *cb,
			 void *arg);
/* directory_admin_exists - 1 an administrator, 0 not, -1 error. */
int directory_admin_exists(struct directory *dir, const char *address);
/* 1 match, 0 no such admin or wrong password, -1 database error. */
int directory_admin_check_password(struct directory *dir, const char *address,
				   const char *password);

/* directory_token_add - store token (its hash) under name: [A-Za-z0-9._-],
 * 1 to 64 characters. */
int directory_token_add(struct directory *dir, const char *name,
			const char *token, char *err, size_t errlen);
int directory_token_del(struct directory *dir, const char *name, char *err,
			size_t errlen);
/* cb(name, "2026-01-31 12:00 UTC" = when it was made), sorted by name. */
int directory_token_list(struct directory *dir, directory_row_cb *cb,
			 void *arg);
/*
 * directory_token_check - 1 when token is a stored one (its name into
 * name_r), 0 not, -1 database error.
 */
int directory_token_check(struct directory *dir, const char *token,
			  char *name_r, size_t namelen);

/* --- lookups used by the server --- */

/* directory_is_local_domain - 1 yes, 0 no, -1 database error. */
int directory_is_local_domain(struct directory *dir, const char *domain);

/* One final destination of an expanded address. */
struct directory_target {
	char *address;	 /* canonical: "user@domain" (local) or as given */
	bool local;	 /* true: a mailbox here, at mail/domain/user */
	char *domain;	 /* lower-case domain (local targets) */
	char *localpart; /* mailbox name as stored (local targets) */
};

struct directory_targets {
	size_t n;
	struct directory_target *items;
};

enum directory_result {
	DIRECTORY_OK = 0,	 /* targets filled */
	DIRECTORY_NOT_LOCAL = 1, /* domain not hosted: one remote target */
	DIRECTORY_NO_SUCH_USER = 2,
	DIRECTORY_TEMPFAIL = 3, /* database error: answer 451 */
	DIRECTORY_LOOP = 4,	/* alias loop / too deep: nothing usable */
};

/*
 * directory_expand - resolve one recipient address into final targets,
 * appended to *out (deduplicated against what is already there).
 *
 * For a hosted domain, in order: an alias for the exact address; a user;
 * with "+tag" stripped, the same two; `postmaster` (always accepted:
 * falls back to mailbox mail/DOMAIN/postmaster); the domain's catch-all
 * ("@domain") alias. Alias targets are expanded recursively (local ones)
 * up to 10 levels; a target seen twice is delivered once; a target that
 * leads nowhere is skipped. A remote domain gives one non-local target.
 */
enum directory_result directory_expand(struct directory *dir,
				       const char *address,
				       struct directory_targets *out);

/* directory_targets_free - free items and reset to empty. */
void directory_targets_free(struct directory_targets *t);

/*
 * directory_check_password - 1 match, 0 no such user or wrong password
 * (callers must not tell the two apart), -1 database error. Uses
 * crypt_r with the stored yescrypt hash.
 */
int directory_check_password(struct directory *dir, const char *address,
			     const char *password);

/*
 * directory_hash_password - a new yescrypt hash of password in out.
 * Returns 0 or -1.
 */
int directory_hash_password(const char *password, char *out, size_t outlen);

/*
 * directory_for_thread - this thread's own connection to
 * data_dir/directory.db, opened on first use and closed when the thread
 * ends (SQLite statements must not be shared between threads). For
 * worker threads: password checks, pickup, bounces. NULL on error.
 */
struct directory *directory_for_thread(const char *data_dir);

#endif
