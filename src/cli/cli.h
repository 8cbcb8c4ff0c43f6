/*
 * cli - the admin commands (interface.md, "Command line").
 *
 * Each entry point gets the effective configuration and the arguments
 * after its command word ("petrel user add a@b" -> cli_user(cfg, 2,
 * {"add", "a@b"})). They print results on stdout and, on error, exactly
 * one line "petrel: reason" on stderr, and return the exit status.
 * They work while `serve` runs: the directory is SQLite in WAL mode and
 * the queue is plain files, and the server re-reads both.
 */
#ifndef PETREL_CLI_CLI_H
#define PETREL_CLI_CLI_H

#include <stddef.h>

struct config;

int cli_domain(const struct config *cfg, int argc, char **argv);
int cli_user(const struct config *cfg, int argc, char **argv);
int cli_alias(const struct config *cfg, int argc, char **argv);
int cli_queue(const struct config *cfg, int argc, char **argv);
int cli_sendmail(const struct config *cfg, int argc, char **argv);
int cli_dns_records(const struct config *cfg, int argc, char **argv);

int cli_admin(const struct config *cfg, int argc, char **argv);
int cli_badmail(const struct config *cfg, int argc, char **argv);

/* cli_data_path - "data_dir/name" in a static buffer. */
const char *cli_data_path(const struct config *cfg, const char *name);

/* --- shared by the commands (cli_directory.c) --- */

struct directory;
struct admin_result;

/* cli_fail - print "petrel: reason" and return status. */
int cli_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_open_directory - data_dir/directory.db, created if missing; NULL
 * (the reason printed) on failure. */
struct directory *cli_open_directory(const struct config *cfg);

/*
 * cli_read_password - one line from standard input, without its line
 * end (heap; free with cli_free_password). Never from argv: arguments
 * are visible to every user in ps.
 */
char *cli_read_password(size_t *cap_r);
void cli_free_password(char *password, size_t cap);

/* cli_notify_server - SIGUSR1 to a running server: re-read the queue. */
void cli_notify_server(const struct config *cfg);

/* cli_finish - close the directory; 0, or print res's reason and 1. */
int cli_finish(struct directory **dirp, int r, const struct admin_result *res);

#endif
