/*
 * directory_admin - the admin web's accounts and API tokens (schema
 * version 3, tables admins and api_tokens; see directory.h).
 */
#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp/smtp_addr.h"
#include "store/directory.h"
#include "store/directory_sql.h"
#include "util/xalloc.h"

#define TOKEN_NAME_MAX 64
/* Hex SHA-256. */
#define TOKEN_HASH_LEN 64

/* canonical - "local@domain" with the domain lower-cased, or -1. */
static int
canonical(const char *address, char *out, size_t outlen, char *err,
	  size_t errlen)
{
	struct smtp_path p;

	if (smtp_addr_parse_mailbox(address, strlen(address), &p) < 0 ||
	    p.address_literal || smtp_addr_format(&p, out, outlen) < 0) {
		snprintf(err, errlen, "malformed address '%s'", address);
		return -1;
	}
	return 0;
}

/* hash_of - a new yescrypt hash of password, or -1 with err. */
static int
hash_of(const char *password, char *out, size_t outlen, char *err,
	size_t errlen)
{
	if (password == NULL || password[0] == '\0') {
		snprintf(err, errlen, "empty password");
		return -1;
	}
	if (directory_hash_password(password, out, outlen) < 0) {
		snprintf(err, errlen, "cannot hash password: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int
directory_admin_add(struct directory *dir, const char *address,
		    const char *password, char *err, size_t errlen)
{
	char addr[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 4];
	char hash[CRYPT_OUTPUT_SIZE];
	int r;

	if (canonical(address, addr, sizeof(addr), err, errlen) < 0 ||
	    hash_of(password, hash, sizeof(hash), err, errlen) < 0)
		return -1;
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = directory_row_exists(dir, "SELECT 1 FROM admins WHERE address = ?1",
				 addr, NULL);
	if (r < 0) {
		r = directory_dberr(dir, err, errlen);
	} else if (r > 0) {
		snprintf(err, errlen, "admin %s already exists", addr);
		r = -1;
	} else if (directory_run(dir,
				 "INSERT INTO admins (address, hash, created)"
				 " VALUES (?1, ?2, CAST(strftime('%s', 'now')"
				 " AS INTEGER))",
				 addr, hash, NULL) < 0) {
		r = directory_dberr(dir, err, errlen);
	}
	explicit_bzero(hash, sizeof(hash));
	return directory_write_end(dir, r, err, errlen);
}

/* admin_change - one UPDATE/DELETE on an admin row; "unknown admin". */
static int
admin_change(struct directory *dir, const char *address, const char *sql,
	     const char *hash, char *err, size_t errlen)
{
	char addr[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 4];
	int r = 0;

	if (canonical(address, addr, sizeof(addr), err, errlen) < 0)
		return -1;
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	if (directory_run(dir, sql, addr, hash, NULL) < 0) {
		r = directory_dberr(dir, err, errlen);
	} else if (sqlite3_changes(directory_sqlite(dir)) == 0) {
		snprintf(err, errlen, "unknown admin %s", addr);
		r = -1;
	}
	return directory_write_end(dir, r, err, errlen);
}

int
directory_admin_passwd(struct directory *dir, const char *address,
		       const char *password, char *err, size_t errlen)
{
	char addr[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 4];
	char hash[CRYPT_OUTPUT_SIZE];

	/* A bad address is reported before the time spent on a hash. */
	if (canonical(address, addr, sizeof(addr), err, errlen) < 0 ||
	    hash_of(password, hash, sizeof(hash), err, errlen) < 0)
		return -1;
	int r = admin_change(dir, addr,
			     "UPDATE admins SET hash = ?2 WHERE address = ?1",
			     hash, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	return r;
}

int
directory_admin_del(struct directory *dir, const char *address, char *err,
		    size_t errlen)
{
	return admin_change(dir, address,
			    "DELETE FROM admins WHERE address = ?1", NULL, err,
			    errlen);
}

/* list - one column (or two) of a query, each row to cb. */
static int
list(struct directory *dir, const char *sql, directory_row_cb *cb, void *arg,
     bool with_time)
{
	sqlite3_stmt *st;
	char when[64];
	int r;

	if (sqlite3_prepare_v2(directory_sqlite(dir), sql, -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *b = NULL;
		if (with_time) {
			time_t t = (time_t)sqlite3_column_int64(st, 1);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
			b = when;
		}
		cb((const char *)sqlite3_column_text(st, 0), b, arg);
	}
	sqlite3_finalize(st);
	return r == SQLITE_DONE ? 0 : -1;
}

int
directory_admin_list(struct directory *dir, directory_row_cb *cb, void *arg)
{
	return list(dir, "SELECT address FROM admins ORDER BY address", cb, arg,
		    false);
}

int
directory_admin_exists(struct directory *dir, const char *address)
{
	char addr[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 4], err[64];

	if (canonical(address, addr, sizeof(addr), err, sizeof(err)) < 0)
		return 0;
	return directory_row_exists(
	    dir, "SELECT 1 FROM admins WHERE address = ?1", addr, NULL);
}

int
directory_admin_check_password(struct directory *dir, const char *address,
			       const char *password)
{
	char addr[SMTP_LOCAL_MAX * 2 + SMTP_DOMAIN_MAX + 4], err[64];
	char *stored = NULL;
	sqlite3_stmt *st;
	int r;

	if (canonical(address, addr, sizeof(addr), err, sizeof(err)) == 0) {
		if (sqlite3_prepare_v2(directory_sqlite(dir),
				       "SELECT hash FROM admins"
				       " WHERE address = ?1",
				       -1, &st, NULL) != SQLITE_OK)
			return -1;
		sqlite3_bind_text(st, 1, addr, -1, SQLITE_TRANSIENT);
		r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			stored =
			    xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (r != SQLITE_ROW && r != SQLITE_DONE)
			return -1;
	}
	r = directory_verify(dir, password, stored);
	free(stored);
	return r;
}

/* --- API tokens --- */

static bool
token_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > TOKEN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* token_hash - hex SHA-256 of token into out[TOKEN_HASH_LEN + 1]. */
static int
token_hash(const char *token, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL) !=
		1 ||
	    mdlen * 2 != TOKEN_HASH_LEN)
		return -1;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int
directory_token_add(struct directory *dir, const char *name, const char *token,
		    char *err, size_t errlen)
{
	char hash[TOKEN_HASH_LEN + 1];
	int r;

	if (!token_name_ok(name)) {
		snprintf(err, errlen,
			 "malformed token name '%s' (letters, digits, '.', "
			 "'_', '-'; at most %d)",
			 name, TOKEN_NAME_MAX);
		return -1;
	}
	if (token_hash(token, hash) < 0) {
		snprintf(err, errlen, "cannot hash the token");
		return -1;
	}
	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	r = directory_row_exists(
	    dir, "SELECT 1 FROM api_tokens WHERE name = ?1", name, NULL);
	if (r < 0) {
		r = directory_dberr(dir, err, errlen);
	} else if (r > 0) {
		snprintf(err, errlen, "token %s already exists", name);
		r = -1;
	} else if (directory_run(dir,
				 "INSERT INTO api_tokens (name, hash, created)"
				 " VALUES (?1, ?2, CAST(strftime('%s', 'now')"
				 " AS INTEGER))",
				 name, hash, NULL) < 0) {
		r = directory_dberr(dir, err, errlen);
	}
	return directory_write_end(dir, r, err, errlen);
}

int
directory_token_del(struct directory *dir, const char *name, char *err,
		    size_t errlen)
{
	int r = 0;

	if (directory_write_begin(dir, err, errlen) < 0)
		return -1;
	if (directory_run(dir, "DELETE FROM api_tokens WHERE name = ?1", name,
			  NULL, NULL) < 0) {
		r = directory_dberr(dir, err, errlen);
	} else if (sqlite3_changes(directory_sqlite(dir)) == 0) {
		snprintf(err, errlen, "unknown token %s", name);
		r = -1;
	}
	return directory_write_end(dir, r, err, errlen);
}

int
directory_token_list(struct directory *dir, directory_row_cb *cb, void *arg)
{
	return list(dir, "SELECT name, created FROM api_tokens ORDER BY name",
		    cb, arg, true);
}

int
directory_token_check(struct directory *dir, const char *token, char *name_r,
		      size_t namelen)
{
	char hash[TOKEN_HASH_LEN + 1];
	sqlite3_stmt *st;
	int r;

	if (token[0] == '\0' || token_hash(token, hash) < 0)
		return 0;
	/* Looked up by the hash: the token itself is never compared, so
	 * timing says nothing about it. */
	if (sqlite3_prepare_v2(directory_sqlite(dir),
			       "SELECT name FROM api_tokens WHERE hash = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW && name_r != NULL)
		snprintf(name_r, namelen, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : -1;
}
