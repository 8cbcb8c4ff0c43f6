/*
 * directory - hosted domains, users and aliases in SQLite.
 *
 * Schema (PRAGMA user_version = 3; version 2 added users.quota, in
 * bytes, 0 = none; version 3 the admin web's accounts and API tokens,
 * see directory_admin.c). Local parts are declared COLLATE
 * NOCASE, so UNIQUE and every "=" on them ignore ASCII case; domains are
 * stored lower-case and compared exactly. An alias's targets live in
 * their own table, one row each, so a quoted local part containing a
 * comma or newline never needs escaping. A later version adds columns
 * (quota, ...) through directory_migrate() and bumps user_version.
 *
 * A user and an alias may share an address: the alias wins, and an alias
 * that names itself among its targets delivers to the user's mailbox
 * (the Postfix rule), which is how "keep a copy and forward" is written.
 */
#include "store/directory.h"
#include "store/directory_sql.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "smtp/smtp_addr.h"
#include "util/xalloc.h"

#define DIRECTORY_SCHEMA_VERSION 3
#define DIRECTORY_MAX_DEPTH	 10
/* Alias rows expanded per directory_expand: bounds wide fan-out trees. */
#define DIRECTORY_MAX_WORK 1000
#define DIRECTORY_BUSY_MS  5000
/* "local@domain" with quoting: 2 + 2 * 64 + 1 + 255, rounded up. */
#define DIRECTORY_ADDR_MAX 512

struct directory {
	sqlite3 *db;
	/* Server lookups, prepared once and reused. */
	sqlite3_stmt *st_domain; /* ?1 domain -> row if hosted */
	sqlite3_stmt *st_alias;	 /* ?1 domain, ?2 local -> id, target */
	sqlite3_stmt *st_user;	 /* ?1 domain, ?2 local -> localpart */
	sqlite3_stmt *st_hash;	 /* ?1 domain, ?2 local -> hash */
	sqlite3_stmt *st_begin;	 /* one read snapshot per expansion */
	sqlite3_stmt *st_commit; /* ... ended here */
	char *dummy_hash;	 /* hashed against for unknown users */
};

static const char schema_v1[] =
    "CREATE TABLE domains ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY,"
    "  domain TEXT NOT NULL REFERENCES domains(name),"
    "  localpart TEXT NOT NULL COLLATE NOCASE,"
    "  hash TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (domain, localpart));"
    "CREATE TABLE aliases ("
    "  id INTEGER PRIMARY KEY,"
    "  domain TEXT NOT NULL REFERENCES domains(name),"
    "  localpart TEXT NOT NULL COLLATE NOCASE," /* '' = catch-all */
    "  created INTEGER NOT NULL,"
    "  UNIQUE (domain, localpart));"
    "CREATE TABLE alias_targets ("
    "  alias_id INTEGER NOT NULL"
    "    REFERENCES aliases(id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  target TEXT NOT NULL,"
    "  PRIMARY KEY (alias_id, pos));";

/* Version 3: administrators (not mail users) and API tokens (hashes). */
static const char schema_v3[] =
    "CREATE TABLE admins ("
    "  address TEXT PRIMARY KEY NOT NULL COLLATE NOCASE,"
    "  hash TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE api_tokens ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE," /* hex SHA-256 of the token */
    "  created INTEGER NOT NULL);";

/* seterr - printf into err, if the caller gave one. */
static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* directory_dberr - the connection's last error as a reason; returns -1. */
int
directory_dberr(struct directory *dir, char *err, size_t errlen)
{
	seterr(err, errlen, "directory database: %s", sqlite3_errmsg(dir->db));
	return -1;
}

static int
exec(struct directory *dir, const char *sql)
{
	return sqlite3_exec(dir->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
									 : -1;
}

/*
 * directory_write_begin - start a write transaction. IMMEDIATE takes the write
 * lock now, so two CLI processes queue on busy_timeout instead of both
 * reading and then failing to upgrade with SQLITE_BUSY.
 */
int
directory_write_begin(struct directory *dir, char *err, size_t errlen)
{
	if (exec(dir, "BEGIN IMMEDIATE") < 0)
		return directory_dberr(dir, err, errlen);
	return 0;
}

/* directory_write_end - commit when ok is 0, else roll back; ok or -1. */
int
directory_write_end(struct directory *dir, int ok, char *err, size_t errlen)
{
	if (ok == 0) {
		if (exec(dir, "COMMIT") == 0)
			return 0;
		directory_dberr(dir, err, errlen);
	}
	exec(dir, "ROLLBACK");
	return -1;
}

/* user_version - PRAGMA user_version, or -1 on error. */
static int
user_version(struct directory *dir)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(dir->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * directory_migrate - bring the schema to DIRECTORY_SCHEMA_VERSION inside
 * one write transaction (so two processes creating it at once do it once).
 */
static int
directory_migrate(struct directory *dir, const char *path, char *err,
		  size_t errlen)
{
	int v, r = 0;

	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	v = user_version(dir);
	if (v < 0)
		r = directory_dberr(dir, err, errlen);
	if (r == 0 && v == 0 && exec(dir, schema_v1) < 0)
		r = directory_dberr(dir, err, errlen);
	if (r == 0 && v < 2 &&
	    exec(dir, "ALTER TABLE users ADD COLUMN"
		      " quota INTEGER NOT NULL DEFAULT 0") < 0)
		r = directory_dberr(dir, err, errlen);
	if (r == 0 && v < 3 && exec(dir, schema_v3) < 0)
		r = directory_dberr(dir, err, errlen);
	if (r == 0 && v > DIRECTORY_SCHEMA_VERSION) {
		seterr(err, errlen,
		       "%s: schema version %d is newer than this petrel (%d)",
		       path, v, DIRECTORY_SCHEMA_VERSION);
		r = -1;
	}
	if (r == 0 && v < DIRECTORY_SCHEMA_VERSION) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 DIRECTORY_SCHEMA_VERSION);
		if (exec(dir, sql) < 0)
			r = directory_dberr(dir, err, errlen);
	}
	return directory_write_end(dir, r, err, errlen);
}

static int
prepare(struct directory *dir, sqlite3_stmt **st, const char *sql)
{
	return sqlite3_prepare_v3(dir->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				  st, NULL) == SQLITE_OK
		   ? 0
		   : -1;
}

struct directory *
directory_open(const char *path, bool create, char *err, size_t errlen)
{
	struct directory *dir = xcalloc(1, sizeof(*dir));
	int flags = SQLITE_OPEN_READWRITE;
	int v;

	if (create) {
		/*
		 * Create the file ourselves so it is 0600 from the start;
		 * SQLite gives the -wal and -shm files the same mode.
		 */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0) {
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			free(dir);
			return NULL;
		}
		close(fd);
		flags |= SQLITE_OPEN_CREATE;
	}
	if (sqlite3_open_v2(path, &dir->db, flags, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		       dir->db ? sqlite3_errmsg(dir->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(dir->db, DIRECTORY_BUSY_MS);
	/* WAL: the server keeps reading while the CLI writes. */
	if (exec(dir, "PRAGMA journal_mode = WAL") < 0 ||
	    exec(dir, "PRAGMA foreign_keys = ON") < 0) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(dir->db));
		goto fail;
	}
	v = user_version(dir);
	if (v < 0) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(dir->db));
		goto fail;
	}
	if (v != DIRECTORY_SCHEMA_VERSION) {
		if (!create && v == 0) {
			seterr(err, errlen, "%s: not a petrel directory", path);
			goto fail;
		}
		if (directory_migrate(dir, path, err, errlen) < 0)
			goto fail;
	}
	if (prepare(dir, &dir->st_domain,
		    "SELECT 1 FROM domains WHERE name = ?1") < 0 ||
	    prepare(dir, &dir->st_alias,
		    "SELECT a.id, t.target FROM aliases a"
		    " JOIN alias_targets t ON t.alias_id = a.id"
		    " WHERE a.domain = ?1 AND a.localpart = ?2"
		    " ORDER BY t.pos") < 0 ||
	    prepare(dir, &dir->st_user,
		    "SELECT localpart FROM users"
		    " WHERE domain = ?1 AND localpart = ?2 AND enabled") < 0 ||
	    prepare(dir, &dir->st_hash,
		    "SELECT hash FROM users"
		    " WHERE domain = ?1 AND localpart = ?2 AND enabled") < 0 ||
	    prepare(dir, &dir->st_begin, "BEGIN") < 0 ||
	    prepare(dir, &dir->st_commit, "COMMIT") < 0) {
		seterr(err, errlen, "%s: %s", path, sqlite3_errmsg(dir->db));
		goto fail;
	}
	return dir;
fail:
	directory_close(&dir);
	return NULL;
}

sqlite3 *
directory_sqlite(struct directory *dir)
{
	return dir->db;
}

void
directory_close(struct directory **dirp)
{
	struct directory *dir = *dirp;

	if (dir == NULL)
		return;
	sqlite3_finalize(dir->st_domain);
	sqlite3_finalize(dir->st_alias);
	sqlite3_finalize(dir->st_user);
	sqlite3_finalize(dir->st_hash);
	sqlite3_finalize(dir->st_begin);
	sqlite3_finalize(dir->st_commit);
	sqlite3_close(dir->db);
	free(dir->dummy_hash);
	free(dir);
	*dirp = NULL;
}

/* --- addresses --- */

/* lower_domain - copy s lower-cased into out; false if malformed. */
static bool
lower_domain(const char *s, char *out, size_t outlen)
{
	size_t len = strlen(s);

	if (len >= outlen || !smtp_addr_valid_domain(s, len))
		return false;
	for (size_t i = 0; i <= len; i++)
		out[i] =
		    (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
	return true;
}

/*
 * parse_address - "local@domain", or "@domain" when catchall_ok (local
 * becomes ""). Address literals are never hosted, so they are refused.
 */
static int
parse_address(const char *address, bool catchall_ok, struct smtp_path *p,
	      char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (catchall_ok && address[0] == '@') {
		if (lower_domain(address + 1, p->domain, sizeof(p->domain)))
			return 0;
	} else if (smtp_addr_parse_mailbox(address, strlen(address), p) == 0 &&
		   !p->address_literal) {
		return 0;
	}
	seterr(err, errlen, "malformed address '%s'", address);
	return -1;
}

/*
 * mailbox_name_ok - the local part becomes a directory name under
 * mail/DOMAIN/, so nothing that could climb out of it or hide there.
 */
static bool
mailbox_name_ok(const char *local)
{
	if (local[0] == '\0' || local[0] == '.')
		return false;
	for (const unsigned char *s = (const unsigned char *)local; *s; s++)
		if (*s == '/' || *s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* format_address - "local@domain" (local "" = "@domain") into out. */
static void
format_address(const char *local, const char *domain, char *out, size_t outlen)
{
	struct smtp_path p;

	if (local[0] != '\0' && strlen(local) <= SMTP_LOCAL_MAX &&
	    strlen(domain) <= SMTP_DOMAIN_MAX) {
		memset(&p, 0, sizeof(p));
		strcpy(p.local, local);
		strcpy(p.domain, domain);
		if (smtp_addr_format(&p, out, outlen) >= 0)
			return;
	}
	snprintf(out, outlen, "%s@%s", local, domain);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* directory_row_exists - a one-shot query with up to two text binds. */
int
directory_row_exists(struct directory *dir, const char *sql, const char *a,
		     const char *b)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(dir->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (a != NULL)
		bind_text(st, 1, a);
	if (b != NULL)
		bind_text(st, 2, b);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

/* directory_run - a one-shot write with up to three text binds; 0 or -1. */
int
directory_run(struct directory *dir, const char *sql, const char *a,
	      const char *b, const char *c)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(dir->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (a != NULL)
		bind_text(st, 1, a);
	if (b != NULL)
		bind_text(st, 2, b);
	if (c != NULL)
		bind_text(st, 3, c);
	r = sqlite3_step(st);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

/* hosted - 1 if domain is ours, else 0 with "unknown domain" in err. */
static int
hosted(struct directory *dir, const char *domain, char *err, size_t errlen)
{
	int r = directory_row_exists(
	    dir, "SELECT 1 FROM domains WHERE name = ?1", domain, NULL);
	if (r < 0)
		return directory_dberr(dir, err, errlen);
	if (r == 0)
		seterr(err, errlen, "unknown domain %s", domain);
	return r;
}

/* --- administrative changes --- */

int
directory_domain_add(struct directory *dir, const char *domain, char *err,
		     size_t errlen)
{
	char d[SMTP_DOMAIN_MAX + 1];
	int r;

	if (!lower_domain(domain, d, sizeof(d))) {
		seterr(err, errlen, "malformed domain '%s'", domain);
		return -1;
	}
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = directory_row_exists(dir, "SELECT 1 FROM domains WHERE name = ?1",
				 d, NULL);
	if (r < 0) {
		r = directory_dberr(dir, err, errlen);
	} else if (r > 0) {
		seterr(err, errlen, "domain %s already exists", d);
		r = -1;
	} else if (directory_run(
		       dir,
		       "INSERT INTO domains (name, created)"
		       " VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))",
		       d, NULL, NULL) < 0) {
		r = directory_dberr(dir, err, errlen);
	}
	return directory_write_end(dir, r, err, errlen);
}

int
directory_domain_del(struct directory *dir, const char *domain, char *err,
		     size_t errlen)
{
	char d[SMTP_DOMAIN_MAX + 1];
	int r;

	if (!lower_domain(domain, d, sizeof(d))) {
		seterr(err, errlen, "malformed domain '%s'", domain);
		return -1;
	}
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = hosted(dir, d, err, errlen);
	if (r > 0) {
		r = directory_row_exists(
		    dir,
		    "SELECT 1 FROM users WHERE domain = ?1"
		    " UNION ALL"
		    " SELECT 1 FROM aliases WHERE domain = ?1",
		    d, NULL);
		if (r < 0) {
			r = directory_dberr(dir, err, errlen);
		} else if (r > 0) {
			seterr(err, errlen,
			       "domain %s still has users or aliases", d);
			r = -1;
		} else if (directory_run(dir,
					 "DELETE FROM domains WHERE name = ?1",
					 d, NULL, NULL) < 0) {
			r = directory_dberr(dir, err, errlen);
		}
	} else {
		r = -1;
	}
	return directory_write_end(dir, r, err, errlen);
}

/* new_hash - hash password into out, or fail with a reason. */
static int
new_hash(const char *password, char *out, size_t outlen, char *err,
	 size_t errlen)
{
	if (password == NULL || password[0] == '\0') {
		seterr(err, errlen, "empty password");
		return -1;
	}
	if (directory_hash_password(password, out, outlen) < 0) {
		seterr(err, errlen, "cannot hash password: %s",
		       strerror(errno));
		return -1;
	}
	return 0;
}

int
directory_user_add(struct directory *dir, const char *address,
		   const char *password, char *err, size_t errlen)
{
	struct smtp_path p;
	char hash[CRYPT_OUTPUT_SIZE];
	int r;

	if (parse_address(address, false, &p, err, errlen) < 0)
		return -1;
	if (!mailbox_name_ok(p.local)) {
		seterr(err, errlen, "malformed address '%s'", address);
		return -1;
	}
	/* Hash before taking the write lock: yescrypt is slow on purpose. */
	if (new_hash(password, hash, sizeof(hash), err, errlen) < 0)
		return -1;
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = hosted(dir, p.domain, err, errlen);
	if (r > 0) {
		r = directory_row_exists(
		    dir,
		    "SELECT 1 FROM users"
		    " WHERE domain = ?1 AND localpart = ?2",
		    p.domain, p.local);
		if (r < 0) {
			r = directory_dberr(dir, err, errlen);
		} else if (r > 0) {
			seterr(err, errlen, "user %s already exists", address);
			r = -1;
		} else if (directory_run(
			       dir,
			       "INSERT INTO users"
			       " (domain, localpart, hash, created)"
			       " VALUES (?1, ?2, ?3, CAST(strftime('%s', "
			       "'now') AS INTEGER))",
			       p.domain, p.local, hash) < 0) {
			r = directory_dberr(dir, err, errlen);
		}
	} else {
		r = -1;
	}
	explicit_bzero(hash, sizeof(hash));
	return directory_write_end(dir, r, err, errlen);
}

/* user_change - UPDATE/DELETE one user row; "unknown user" if none. */
static int
user_change(struct directory *dir, const char *address, const char *sql,
	    const char *hash, char *err, size_t errlen)
{
	struct smtp_path p;
	int r;

	if (parse_address(address, false, &p, err, errlen) < 0)
		return -1;
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = hosted(dir, p.domain, err, errlen);
	if (r > 0) {
		if (directory_run(dir, sql, p.domain, p.local, hash) < 0) {
			r = directory_dberr(dir, err, errlen);
		} else if (sqlite3_changes(dir->db) == 0) {
			seterr(err, errlen, "unknown user %s", address);
			r = -1;
		} else {
			r = 0;
		}
	} else {
		r = -1;
	}
	return directory_write_end(dir, r, err, errlen);
}

int
directory_user_passwd(struct directory *dir, const char *address,
		      const char *password, char *err, size_t errlen)
{
	char hash[CRYPT_OUTPUT_SIZE];
	struct smtp_path p;
	int r;

	/* Report a bad address before spending time on the hash. */
	if (parse_address(address, false, &p, err, errlen) < 0)
		return -1;
	if (new_hash(password, hash, sizeof(hash), err, errlen) < 0)
		return -1;
	r = user_change(dir, address,
			"UPDATE users SET hash = ?3"
			" WHERE domain = ?1 AND localpart = ?2",
			hash, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	return r;
}

int
directory_user_del(struct directory *dir, const char *address, char *err,
		   size_t errlen)
{
	/* The mailbox under mail/ is left alone: mail is never deleted. */
	return user_change(dir, address,
			   "DELETE FROM users"
			   " WHERE domain = ?1 AND localpart = ?2",
			   NULL, err, errlen);
}

int
directory_user_quota_set(struct directory *dir, const char *address,
			 uint64_t bytes, char *err, size_t errlen)
{
	char text[32];

	if (bytes > INT64_MAX) {
		seterr(err, errlen, "quota too large");
		return -1;
	}
	snprintf(text, sizeof(text), "%" PRIu64, bytes);
	return user_change(dir, address,
			   "UPDATE users SET quota = CAST(?3 AS INTEGER)"
			   " WHERE domain = ?1 AND localpart = ?2",
			   text, err, errlen);
}

int
directory_user_quota(struct directory *dir, const char *address,
		     uint64_t *bytes_r)
{
	struct smtp_path p;
	sqlite3_stmt *st;
	int r;

	*bytes_r = 0;
	if (smtp_addr_parse_mailbox(address, strlen(address), &p) != 0)
		return 0;
	if (sqlite3_prepare_v2(dir->db,
			       "SELECT quota FROM users"
			       " WHERE domain = ?1 AND localpart = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	bind_text(st, 1, p.domain);
	bind_text(st, 2, p.local);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		sqlite3_int64 q = sqlite3_column_int64(st, 0);
		*bytes_r = q > 0 ? (uint64_t)q : 0;
	}
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
directory_alias_add(struct directory *dir, const char *address,
		    const char *const *targets, size_t n_targets, char *err,
		    size_t errlen)
{
	struct smtp_path p, t;
	char buf[DIRECTORY_ADDR_MAX];
	char **canon;
	sqlite3_stmt *st = NULL;
	int64_t id;
	int r;

	if (parse_address(address, true, &p, err, errlen) < 0)
		return -1;
	if (n_targets == 0) {
		seterr(err, errlen, "alias %s needs at least one target",
		       address);
		return -1;
	}
	canon = xcalloc(n_targets, sizeof(*canon));
	for (size_t i = 0; i < n_targets; i++) {
		if (parse_address(targets[i], false, &t, err, errlen) < 0) {
			r = -1;
			goto out;
		}
		if (smtp_addr_format(&t, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", targets[i]);
		canon[i] = xstrdup(buf);
	}
	if (directory_write_begin(dir, err, errlen) < 0) {
		r = -1;
		goto out;
	}
	r = hosted(dir, p.domain, err, errlen);
	if (r <= 0) {
		r = -1;
		goto end;
	}
	/* Replace: the old row and (by cascade) its targets go. */
	r = -1;
	if (directory_run(
		dir, "DELETE FROM aliases WHERE domain = ?1 AND localpart = ?2",
		p.domain, p.local, NULL) < 0 ||
	    directory_run(
		dir,
		"INSERT INTO aliases (domain, localpart, created)"
		" VALUES (?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))",
		p.domain, p.local, NULL) < 0) {
		directory_dberr(dir, err, errlen);
		goto end;
	}
	id = sqlite3_last_insert_rowid(dir->db);
	if (sqlite3_prepare_v2(
		dir->db,
		"INSERT INTO alias_targets (alias_id, pos, target)"
		" VALUES (?1, ?2, ?3)",
		-1, &st, NULL) != SQLITE_OK) {
		directory_dberr(dir, err, errlen);
		goto end;
	}
	for (size_t i = 0; i < n_targets; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, canon[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			directory_dberr(dir, err, errlen);
			goto end;
		}
		sqlite3_reset(st);
	}
	r = 0;
end:
	sqlite3_finalize(st);
	r = directory_write_end(dir, r, err, errlen);
out:
	for (size_t i = 0; i < n_targets; i++)
		free(canon[i]);
	free(canon);
	return r;
}

int
directory_alias_del(struct directory *dir, const char *address, char *err,
		    size_t errlen)
{
	struct smtp_path p;
	int r;

	if (parse_address(address, true, &p, err, errlen) < 0)
		return -1;
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = hosted(dir, p.domain, err, errlen);
	if (r > 0) {
		if (directory_run(
			dir,
			"DELETE FROM aliases WHERE domain = ?1 AND localpart = "
			"?2",
			p.domain, p.local, NULL) < 0) {
			r = directory_dberr(dir, err, errlen);
		} else if (sqlite3_changes(dir->db) == 0) {
			seterr(err, errlen, "unknown alias %s", address);
			r = -1;
		} else {
			r = 0;
		}
	} else {
		r = -1;
	}
	return directory_write_end(dir, r, err, errlen);
}

/* --- listings --- */

int
directory_domain_list(struct directory *dir, directory_row_cb *cb, void *arg)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(dir->db,
			       "SELECT name FROM domains ORDER BY name", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), NULL, arg);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

/* list_filter - bind ?1 to the lower-cased domain, or NULL for all. */
static void
list_filter(sqlite3_stmt *st, const char *domain)
{
	char d[SMTP_DOMAIN_MAX + 1];

	if (domain == NULL)
		sqlite3_bind_null(st, 1);
	else if (lower_domain(domain, d, sizeof(d)))
		bind_text(st, 1, d);
	else
		bind_text(st, 1, domain); /* matches nothing */
}

int
directory_user_list(struct directory *dir, const char *domain,
		    directory_row_cb *cb, void *arg)
{
	char buf[DIRECTORY_ADDR_MAX];
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(dir->db,
			       "SELECT localpart, domain FROM users"
			       " WHERE ?1 IS NULL OR domain = ?1"
			       " ORDER BY domain, localpart",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	list_filter(st, domain);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		format_address((const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1), buf,
			       sizeof(buf));
		cb(buf, NULL, arg);
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
directory_alias_each(struct directory *dir, const char *domain,
		     directory_alias_cb *cb, void *arg)
{
	char buf[DIRECTORY_ADDR_MAX];
	sqlite3_stmt *st;
	char **targets = NULL;
	size_t n = 0;
	int64_t cur = -1;
	int r;

	/* One row per target, grouped by alias id in address order. */
	if (sqlite3_prepare_v2(dir->db,
			       "SELECT a.id, a.localpart, a.domain, t.target"
			       " FROM aliases a JOIN alias_targets t"
			       " ON t.alias_id = a.id"
			       " WHERE ?1 IS NULL OR a.domain = ?1"
			       " ORDER BY a.domain, a.localpart, a.id, t.pos",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	list_filter(st, domain);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (id != cur) {
			if (n > 0)
				cb(buf, (const char *const *)targets, n, arg);
			for (size_t i = 0; i < n; i++)
				free(targets[i]);
			n = 0;
			cur = id;
			format_address((const char *)sqlite3_column_text(st, 1),
				       (const char *)sqlite3_column_text(st, 2),
				       buf, sizeof(buf));
		}
		targets = xrealloc(targets, (n + 1) * sizeof(*targets));
		targets[n++] =
		    xstrdup((const char *)sqlite3_column_text(st, 3));
	}
	if (n > 0 && r == SQLITE_DONE)
		cb(buf, (const char *const *)targets, n, arg);
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

struct join {
	directory_row_cb *cb;
	void *arg;
};

/* join_targets - an alias as "address" and "target1, target2". */
static void
join_targets(const char *address, const char *const *targets, size_t n,
	     void *arg)
{
	struct join *j = arg;
	char *joined = NULL;
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		size_t tl = strlen(targets[i]);
		joined = xrealloc(joined, len + tl + 3);
		if (len > 0) {
			memcpy(joined + len, ", ", 2);
			len += 2;
		}
		memcpy(joined + len, targets[i], tl + 1);
		len += tl;
	}
	j->cb(address, joined, j->arg);
	free(joined);
}

int
directory_alias_list(struct directory *dir, const char *domain,
		     directory_row_cb *cb, void *arg)
{
	struct join j = {cb, arg};

	return directory_alias_each(dir, domain, join_targets, &j);
}

/* --- lookups used by the server --- */

/* is_local - st_domain on an already lower-cased domain. */
static int
is_local(struct directory *dir, const char *domain)
{
	int r;

	bind_text(dir->st_domain, 1, domain);
	r = sqlite3_step(dir->st_domain);
	sqlite3_reset(dir->st_domain);
	sqlite3_clear_bindings(dir->st_domain);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}

int
directory_is_local_domain(struct directory *dir, const char *domain)
{
	char d[SMTP_DOMAIN_MAX + 1];

	if (!lower_domain(domain, d, sizeof(d)))
		return 0;
	return is_local(dir, d);
}

/* One directory_expand call: what it found and where it has been. */
struct expand {
	struct directory *dir;
	struct directory_targets *out;
	size_t found;  /* deliverable targets reached, duplicates included */
	bool loop;     /* an alias came round again or went too deep */
	bool error;    /* database error: the whole expansion is void */
	unsigned work; /* alias rows expanded so far */
	size_t depth;  /* aliases on the current path */
	int64_t path[DIRECTORY_MAX_DEPTH];
};

static void expand_address(struct expand *x, const char *address);

/* add_target - append unless an equal target is already there. */
static void
add_target(struct expand *x, bool local, const char *address,
	   const char *domain, const char *localpart)
{
	struct directory_targets *out = x->out;
	struct directory_target *t;

	x->found++;
	for (size_t i = 0; i < out->n; i++) {
		t = &out->items[i];
		if (t->local != local)
			continue;
		/* Local parts here are case-insensitive; remote ones not. */
		if (local ? strcasecmp(t->localpart, localpart) == 0 &&
				strcmp(t->domain, domain) == 0
			  : strcmp(t->address, address) == 0)
			return;
	}
	out->items = xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
	t = &out->items[out->n++];
	t->address = xstrdup(address);
	t->local = local;
	t->domain = local ? xstrdup(domain) : NULL;
	t->localpart = local ? xstrdup(localpart) : NULL;
}

static void
add_local(struct expand *x, const char *domain, const char *localpart)
{
	char buf[DIRECTORY_ADDR_MAX];

	format_address(localpart, domain, buf, sizeof(buf));
	add_target(x, true, buf, domain, localpart);
}

/*
 * try_alias - expand the alias (domain, local) if there is one.
 * Returns 1 when the alias decided the address (even if its targets led
 * nowhere), 0 when there is none or it is already being expanded, so the
 * caller goes on to the user of that name (an alias naming itself).
 */
static int
try_alias(struct expand *x, const char *domain, const char *local)
{
	sqlite3_stmt *st = x->dir->st_alias;
	char **targets = NULL;
	size_t n = 0;
	int64_t id = -1;
	int r;

	bind_text(st, 1, domain);
	bind_text(st, 2, local);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		targets = xrealloc(targets, (n + 1) * sizeof(*targets));
		targets[n++] =
		    xstrdup((const char *)sqlite3_column_text(st, 1));
	}
	/* Copied out and reset before recursing: the statement is shared. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SQLITE_DONE) {
		x->error = true;
		r = 1;
		goto out;
	}
	r = 0;
	if (n == 0)
		goto out;
	for (size_t i = 0; i < x->depth; i++)
		if (x->path[i] == id) {
			x->loop = true;
			goto out;
		}
	r = 1;
	if (x->depth >= DIRECTORY_MAX_DEPTH || ++x->work > DIRECTORY_MAX_WORK) {
		x->loop = true;
		goto out;
	}
	x->path[x->depth++] = id;
	for (size_t i = 0; i < n && !x->error; i++)
		expand_address(x, targets[i]);
	x->depth--;
out:
	for (size_t i = 0; i < n; i++)
		free(targets[i]);
	free(targets);
	return r;
}

/* try_user - add the user's mailbox if (domain, local) is a user. */
static int
try_user(struct expand *x, const char *domain, const char *local)
{
	sqlite3_stmt *st = x->dir->st_user;
	int r;

	bind_text(st, 1, domain);
	bind_text(st, 2, local);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		add_local(x, domain, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		x->error = true;
	return r == SQLITE_ROW || x->error;
}

/* expand_local - the lookup order of directory.h, for a hosted domain. */
static void
expand_local(struct expand *x, const char *domain, const char *local)
{
	const char *plus = strchr(local, '+');
	const char *name = local;
	char base[SMTP_LOCAL_MAX + 1];

	if (try_alias(x, domain, local) || try_user(x, domain, local))
		return;
	if (plus != NULL && plus > local) {
		snprintf(base, sizeof(base), "%.*s", (int)(plus - local),
			 local);
		if (try_alias(x, domain, base) || try_user(x, domain, base))
			return;
		name = base;
	}
	/* RFC 5321 §4.5.1: postmaster must always be accepted. */
	if (strcasecmp(name, "postmaster") == 0) {
		add_local(x, domain, "postmaster");
		return;
	}
	try_alias(x, domain, "");
}

/* expand_address - one alias target (or the original recipient). */
static void
expand_address(struct expand *x, const char *address)
{
	char buf[DIRECTORY_ADDR_MAX];
	struct smtp_path p;
	int r;

	if (smtp_addr_parse_mailbox(address, strlen(address), &p) < 0)
		return; /* leads nowhere */
	r = p.address_literal ? 0 : is_local(x->dir, p.domain);
	if (r < 0) {
		x->error = true;
	} else if (r == 0) {
		if (smtp_addr_format(&p, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", address);
		add_target(x, false, buf, NULL, NULL);
	} else {
		expand_local(x, p.domain, p.local);
	}
}

/* truncate_targets - drop what this call appended, on failure. */
static void
truncate_targets(struct directory_targets *t, size_t n)
{
	for (size_t i = n; i < t->n; i++) {
		free(t->items[i].address);
		free(t->items[i].domain);
		free(t->items[i].localpart);
	}
	t->n = n;
}

enum directory_result
directory_expand(struct directory *dir, const char *address,
		 struct directory_targets *out)
{
	struct expand x = {.dir = dir, .out = out};
	size_t before = out->n;
	struct smtp_path p;
	int r, local;

	if (smtp_addr_parse_mailbox(address, strlen(address), &p) < 0)
		return DIRECTORY_NO_SUCH_USER;
	/* One snapshot for all the lookups of this address. */
	if (!sqlite3_get_autocommit(dir->db))
		exec(dir, "ROLLBACK"); /* left open by an earlier failure */
	r = sqlite3_step(dir->st_begin);
	sqlite3_reset(dir->st_begin);
	if (r != SQLITE_DONE)
		return DIRECTORY_TEMPFAIL;
	local = p.address_literal ? 0 : is_local(dir, p.domain);
	if (local < 0)
		x.error = true;
	else
		expand_address(&x, address);
	r = sqlite3_step(dir->st_commit);
	sqlite3_reset(dir->st_commit);
	if (r != SQLITE_DONE) {
		exec(dir, "ROLLBACK");
		x.error = true;
	}
	if (x.error) {
		truncate_targets(out, before);
		return DIRECTORY_TEMPFAIL;
	}
	if (local == 0)
		return DIRECTORY_NOT_LOCAL;
	if (x.found > 0)
		return DIRECTORY_OK;
	return x.loop ? DIRECTORY_LOOP : DIRECTORY_NO_SUCH_USER;
}

void
directory_targets_free(struct directory_targets *t)
{
	truncate_targets(t, 0);
	free(t->items);
	t->items = NULL;
}

/* ct_equal - compare without an early exit, so timing tells nothing. */
static bool
ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* check_hash - 1 if password hashes to stored, else 0. */
static int
check_hash(const char *password, const char *stored)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_r(password, stored, cd);
	int ok = h != NULL && h[0] != '*' && ct_equal(h, stored);

	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

int
directory_check_password(struct directory *dir, const char *address,
			 const char *password)
{
	sqlite3_stmt *st = dir->st_hash;
	struct smtp_path p;
	char *stored = NULL;
	int r;

	if (smtp_addr_parse_mailbox(address, strlen(address), &p) == 0) {
		bind_text(st, 1, p.domain);
		bind_text(st, 2, p.local);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			stored =
			    xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return -1;
	}
	r = directory_verify(dir, password, stored);
	free(stored);
	return r;
}

int
directory_verify(struct directory *dir, const char *password,
		 const char *stored)
{
	if (stored == NULL) {
		/*
		 * No such user: spend the same time on a hash anyway, so
		 * the answer's timing does not reveal which users exist.
		 */
		if (dir->dummy_hash == NULL) {
			char h[CRYPT_OUTPUT_SIZE];
			if (directory_hash_password("-", h, sizeof(h)) < 0)
				return 0;
			dir->dummy_hash = xstrdup(h);
		}
		check_hash(password, dir->dummy_hash);
		return 0;
	}
	return check_hash(password, stored);
}

int
directory_hash_password(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int r = -1;

	/* count 0 = libxcrypt's default yescrypt cost; salt from getrandom. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	cd = xcalloc(1, sizeof(*cd));
	h = crypt_rn(password, salt, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*' && strlen(h) < outlen) {
		strcpy(out, h);
		r = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}
