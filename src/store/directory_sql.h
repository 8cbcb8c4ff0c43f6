/*
 * directory_sql - what the directory's files (directory.c,
 * directory_admin.c) share: the SQLite handle and the transaction and
 * one-shot statement helpers. Not for use outside src/store/directory*.
 */
#ifndef PETREL_STORE_DIRECTORY_SQL_H
#define PETREL_STORE_DIRECTORY_SQL_H

#include <sqlite3.h>
#include <stddef.h>

struct directory;

sqlite3 *directory_sqlite(struct directory *dir);

/*
 * directory_write_begin / directory_write_end - one write transaction
 * (BEGIN IMMEDIATE); end commits when ok is 0, else rolls back. Both
 * return 0 or -1 with err.
 */
int directory_write_begin(struct directory *dir, char *err, size_t errlen);
int directory_write_end(struct directory *dir, int ok, char *err,
			size_t errlen);

/* directory_dberr - the last SQLite error as err; returns -1. */
int directory_dberr(struct directory *dir, char *err, size_t errlen);

/* directory_row_exists - 1 a row, 0 none, -1 error (up to 2 binds). */
int directory_row_exists(struct directory *dir, const char *sql, const char *a,
			 const char *b);

/* directory_run - a one-shot write (up to 3 text binds); 0 or -1. */
int directory_run(struct directory *dir, const char *sql, const char *a,
		  const char *b, const char *c);

/*
 * directory_verify - 1 if password matches the stored hash, else 0.
 * stored NULL (no such account) still costs one hash, so timing does
 * not tell whether the account exists.
 */
int directory_verify(struct directory *dir, const char *password,
		     const char *stored);

#endif
