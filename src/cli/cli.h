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

#include <stdbool.h>

struct config;

int cli_domain(const struct config *cfg, int argc, char **argv);
int cli_user(const struct config *cfg, int argc, char **argv);
int cli_alias(const struct config *cfg, int argc, char **argv);
int cli_queue(const struct config *cfg, int argc, char **argv);
int cli_sendmail(const struct config *cfg, int argc, char **argv);

/*
 * cli_sendmail_setgid - first thing in main: when the binary runs setgid
 * (installed so for `sendmail`, see cli_sendmail.c), work with the real
 * group from here on; sendmail keeps the group only to regain it for the
 * maildrop write, every other command loses it for good.
 */
void cli_sendmail_setgid(bool sendmail);
int cli_dns_records(const struct config *cfg, int argc, char **argv);
int cli_dkim(const struct config *cfg, int argc, char **argv);

/* cli_data_path - "data_dir/name" in a static buffer. */
const char *cli_data_path(const struct config *cfg, const char *name);

#endif
