/*
 * admin_ops - every administrative action petrel offers, in one place:
 * the command line (src/cli/) and the web admin (src/web/) both call
 * these and only these, so the two cannot disagree about what an action
 * does, what input it takes or what it answers.
 *
 * Each action takes a context (the configuration and, where it needs
 * one, an open directory) and fills a struct admin_result: on failure a
 * status (which kind of failure: the web turns it into an HTTP code, the
 * CLI into exit status 1) and one line saying why, worded as the CLI has
 * always printed it after "petrel: ". Listings hand back C data (arrays,
 * or a callback per row) that each caller formats its own way: text
 * lines for the CLI, JSON for the web.
 *
 * They are blocking (SQLite, yescrypt, the queue files): the CLI calls
 * them directly, the server only from its worker threads. None of them
 * signals the running server; an action that changed the queue says so
 * (queue_changed), and the caller tells the scheduler (the CLI with
 * SIGUSR1, the web by calling scheduler_rescan on the loop).
 */
#ifndef PETREL_ADMIN_ADMIN_OPS_H
#define PETREL_ADMIN_ADMIN_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "queue/envelope.h"

struct config;
struct directory;
struct dns_records;

enum admin_status {
	ADMIN_OK = 0,
	ADMIN_INVALID,	 /* malformed input (HTTP 400) */
	ADMIN_NOT_FOUND, /* no such domain, user, message (404) */
	ADMIN_CONFLICT,	 /* already exists, still in use (409) */
	ADMIN_ERROR,	 /* the system failed: database, disk (500) */
};

struct admin_result {
	enum admin_status status;
	char error[512];
	bool queue_changed; /* tell the running scheduler */
};

struct admin_ctx {
	const struct config *cfg;
	struct directory *dir; /* for the directory actions; else NULL */
};

/*
 * admin_fail - set res to a failure; returns -1. admin_fail_directory
 * classifies a directory function's reason (directory.h words them:
 * "unknown ...", "... already exists", "... still has ...", "directory
 * database: ...", else malformed input).
 */
int admin_fail(struct admin_result *res, enum admin_status status,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int admin_fail_directory(struct admin_result *res, const char *reason);

/* admin_directory_done - a directory call's r (0 or -1) and its reason. */
int admin_directory_done(struct admin_result *res, int r, const char *reason);

/*
 * admin_first_column - a directory_row_cb that passes only the first
 * column on, to col->cb (for listings of one column).
 */
struct admin_column {
	void (*cb)(const char *a, void *arg);
	void *arg;
};
void admin_first_column(const char *a, const char *b, void *col);

/* admin_valid_queue_id - upper-case hex, 1..QUEUE_ID_MAX-1 characters. */
bool admin_valid_queue_id(const char *id);

/* --- domains, users, aliases (admin_directory.c) --- */

int admin_domain_add(const struct admin_ctx *ctx, const char *domain,
		     struct admin_result *res);
int admin_domain_del(const struct admin_ctx *ctx, const char *domain,
		     struct admin_result *res);
/* cb(domain, arg) for each hosted domain, sorted. */
int admin_domain_list(const struct admin_ctx *ctx,
		      void (*cb)(const char *domain, void *arg), void *arg,
		      struct admin_result *res);

int admin_user_add(const struct admin_ctx *ctx, const char *address,
		   const char *password, struct admin_result *res);
int admin_user_passwd(const struct admin_ctx *ctx, const char *address,
		      const char *password, struct admin_result *res);
int admin_user_del(const struct admin_ctx *ctx, const char *address,
		   struct admin_result *res);
/* bytes 0 = no limit. */
int admin_user_quota_set(const struct admin_ctx *ctx, const char *address,
			 uint64_t bytes, struct admin_result *res);
int admin_user_quota_get(const struct admin_ctx *ctx, const char *address,
			 uint64_t *bytes_r, struct admin_result *res);
/*
 * admin_user_list - cb(address, quota, arg) per user, sorted; domain NULL
 * = all (else it must be hosted). with_quota false skips the per-user
 * quota lookups (quota is then 0).
 */
int admin_user_list(const struct admin_ctx *ctx, const char *domain,
		    bool with_quota,
		    void (*cb)(const char *address, uint64_t quota, void *arg),
		    void *arg, struct admin_result *res);

int admin_alias_add(const struct admin_ctx *ctx, const char *address,
		    const char *const *targets, size_t n,
		    struct admin_result *res);
int admin_alias_del(const struct admin_ctx *ctx, const char *address,
		    struct admin_result *res);
int admin_alias_list(const struct admin_ctx *ctx, const char *domain,
		     void (*cb)(const char *address, const char *const *targets,
				size_t n, void *arg),
		     void *arg, struct admin_result *res);

/* admin_format_quota - "none", or the largest exact unit: "500m", "1500". */
void admin_format_quota(uint64_t bytes, char *out, size_t outlen);

/* --- the queue (admin_queue.c) --- */

struct admin_queue_list {
	size_t n;
	struct queue_envelope *items; /* with recipients pending, by id */
};

int admin_queue_list(const struct admin_ctx *ctx, struct admin_queue_list *out,
		     struct admin_result *res);
void admin_queue_list_free(struct admin_queue_list *l);

/*
 * admin_queue_show - the envelope and the message (at most max bytes of
 * it into *msg_r, heap; *truncated_r when there was more; *msg_r NULL if
 * the message file is gone).
 */
int admin_queue_show(const struct admin_ctx *ctx, const char *id,
		     struct queue_envelope *env_r, char **msg_r, size_t *len_r,
		     size_t max, bool *truncated_r, struct admin_result *res);

/* id NULL = every message. *n_r = messages flushed. */
int admin_queue_flush(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		      struct admin_result *res);
/* id "all" = every message. *n_r = messages deleted. */
int admin_queue_delete(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		       struct admin_result *res);
/* Every pending recipient fails now; *n_r = how many. */
int admin_queue_bounce(const struct admin_ctx *ctx, const char *id, size_t *n_r,
		       struct admin_result *res);

/* --- badmail/ (admin_badmail.c) --- */

struct admin_badmail {
	char id[64];   /* the file name under badmail/ */
	uint64_t size; /* of the message */
	time_t mtime;  /* when it went there */
	char *reason;  /* the .reason file's text (heap) */
	bool requeue;  /* has its envelope (ID.env): resend requeues it */
};

struct admin_badmail_list {
	size_t n;
	struct admin_badmail *items; /* newest first */
};

int admin_badmail_list(const struct admin_ctx *ctx,
		       struct admin_badmail_list *out,
		       struct admin_result *res);
void admin_badmail_list_free(struct admin_badmail_list *l);
int admin_badmail_show(const struct admin_ctx *ctx, const char *id,
		       struct admin_badmail *item_r, char **msg_r,
		       size_t *len_r, size_t max, bool *truncated_r,
		       struct admin_result *res);
void admin_badmail_free(struct admin_badmail *item);
/*
 * admin_badmail_resend - give a dead letter another go: one with its
 * envelope goes back into the queue under its id, its failed recipients
 * pending again; one from the pickup folder goes back into pickup/ to be
 * read afresh. Either way it leaves badmail/.
 */
int admin_badmail_resend(const struct admin_ctx *ctx, const char *id,
			 struct admin_result *res);
int admin_badmail_delete(const struct admin_ctx *ctx, const char *id,
			 struct admin_result *res);

/* --- DNS records (admin_dns.c) --- */

int admin_dns_records(const struct admin_ctx *ctx, const char *domain,
		      struct dns_records *out, struct admin_result *res);

/* --- administrators and API tokens (admin_account.c) --- */

int admin_account_add(const struct admin_ctx *ctx, const char *address,
		      const char *password, struct admin_result *res);
int admin_account_passwd(const struct admin_ctx *ctx, const char *address,
			 const char *password, struct admin_result *res);
int admin_account_del(const struct admin_ctx *ctx, const char *address,
		      struct admin_result *res);
int admin_account_list(const struct admin_ctx *ctx,
		       void (*cb)(const char *address, void *arg), void *arg,
		       struct admin_result *res);

/*
 * admin_login - who may log in to the web admin with this password: 2 an
 * administrator, 1 a mail user (who may only change its own password),
 * 0 nobody (wrong password or no such account), -1 database error.
 */
int admin_login(const struct admin_ctx *ctx, const char *address,
		const char *password);

/*
 * admin_own_password - change the password of the account logged in as
 * address (admin: the administrator account, else the mail user), after
 * checking its current one (ADMIN_INVALID "wrong current password").
 */
int admin_own_password(const struct admin_ctx *ctx, const char *address,
		       bool admin, const char *current, const char *password,
		       struct admin_result *res);

#define ADMIN_TOKEN_LEN 64 /* hex of 256 random bits */

/* admin_token_add - a new random token under name, into token_r. */
int admin_token_add(const struct admin_ctx *ctx, const char *name,
		    char token_r[ADMIN_TOKEN_LEN + 1],
		    struct admin_result *res);
int admin_token_del(const struct admin_ctx *ctx, const char *name,
		    struct admin_result *res);
/* cb(name, created, arg), sorted by name. */
int admin_token_list(const struct admin_ctx *ctx,
		     void (*cb)(const char *name, const char *created,
				void *arg),
		     void *arg, struct admin_result *res);

/* admin_random_hex - 2 * n hex digits of n bytes from the OS CSPRNG. */
int admin_random_hex(char *out, size_t n);

/* --- recent log lines (admin_log.c) --- */

#define ADMIN_LOG_MAX 500

/*
 * admin_log_lines - the server's recent log lines (util/log_ring.h) that
 * mention queue id, oldest first, at most ADMIN_LOG_MAX. Only a running
 * server keeps them: elsewhere the list is empty.
 */
int admin_log_lines(const char *id, void (*cb)(const char *line, void *arg),
		    void *arg, struct admin_result *res);

#endif
