/*
 * imap_session - one IMAP client, shared by the server glue
 * (imap_server.c) and the command families (imap_cmd_*.c).
 *
 * Commands are rows of a table (imap_server.c): the states a command is
 * legal in, whether it works on message sequence numbers (then no
 * EXPUNGE may be sent at its end, RFC 3501 §7.4.1), and its handler. A
 * handler fills a struct imap_reply and returns its status, or returns
 * IMAP_ASYNC when it waits for disk work (the worker pool) and calls
 * imap_complete() later; meanwhile the session reads no further command.
 * Untagged responses a handler writes go straight to the output; the
 * dispatcher adds the changes other sessions made to the folder and then
 * the tagged completion.
 */
#ifndef PETREL_IMAP_IMAP_SESSION_H
#define PETREL_IMAP_IMAP_SESSION_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"
#include "imap/imap_reader.h"
#include "server.h"
#include "util/strbuf.h"

struct evbuffer;
struct imap_view;
struct imap_session;

enum {
	IMAP_STATE_NOTAUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
};

enum imap_mode {
	IMAP_MODE_COMMAND, /* reading commands */
	IMAP_MODE_BUSY,	   /* a command waits for the disk, or streams */
	IMAP_MODE_IDLE,	   /* IDLE: waiting for DONE */
	IMAP_MODE_SASL,	   /* AUTHENTICATE: waiting for the response */
	IMAP_MODE_CLOSING, /* the last response is leaving */
};

enum imap_status {
	IMAP_OK,
	IMAP_NO,
	IMAP_BAD,
	IMAP_ASYNC, /* a handler's "later": it calls imap_complete */
};

#define IMAP_TEXT_MAX 200

struct imap_reply {
	enum imap_status status;
	struct strbuf code; /* "APPENDUID 12 4", without brackets; empty */
	char text[IMAP_TEXT_MAX];
};

/* Command table flags. */
enum {
	IMAP_CF_SEQ = 1 << 0,	 /* takes sequence numbers unless UID: no
				    EXPUNGE at its end */
	IMAP_CF_NOTIFY = 1 << 1, /* NOOP, CHECK, IDLE: report changes */
};

typedef enum imap_status imap_handler(struct imap_session *s,
				      const struct imap_command *c,
				      struct imap_reply *r);

struct imap_cmd_def {
	enum imap_cmd cmd;
	unsigned states;
	unsigned flags;
	imap_handler *fn;
};

struct imap_auth_job;
struct imap_spool;
struct imap_folder;
struct imap_job;

/*
 * Asynchronous steps of a command. work runs on a worker thread (j: the
 * folder job, for imap_async_folder; NULL for imap_async_task); done runs
 * on the loop — unless the client left meanwhile: then only arg_free
 * runs, and the session is freed once its last step has come back.
 */
typedef void imap_work_fn(struct imap_job *j, void *arg);
typedef void imap_done_fn(struct imap_session *s, struct imap_job *j,
			  void *arg);

struct imap_session {
	struct server *srv;
	struct bufferevent *bev;
	struct server_session link; /* in the server's session list */
	uint32_t id;		    /* unique: tags the changes it makes */
	unsigned state;		    /* IMAP_STATE_* */
	enum imap_mode mode;
	bool tls;	  /* STARTTLS done, or IMAPS */
	bool compressed;  /* COMPRESS=DEFLATE on */
	bool processing;  /* imap_process is on the stack */
	bool flushing;	  /* a COMPRESS flush is on the stack */
	bool pending;	  /* the folder changed: tell at the next chance */
	bool condstore;	  /* CONDSTORE enabled (RFC 7162 §3.1) */
	bool qresync;	  /* QRESYNC enabled (RFC 7162 §3.2.3) */
	bool close_after; /* close once the tagged response is out */
	unsigned bad;	  /* bad commands so far */
	unsigned auth_failures;
	unsigned close_polls;
	char addr[INET6_ADDRSTRLEN];
	char *user; /* after login: the address */
	char *root; /* after login: the user's Maildir */
	struct imap_reader rd;
	/* The command being executed (IMAP_MODE_BUSY, IDLE, SASL). */
	struct imap_command *cmd;
	const struct imap_cmd_def *def;
	/* Per-command state of a long command, and how to go on with it
	 * when the output has drained (FETCH streaming). */
	void *op;
	void (*op_resume)(struct imap_session *s);
	void (*op_free)(void *op);
	/* SELECTED */
	struct imap_view *view;
	/* APPEND: the message literal being spooled */
	struct imap_spool *spool;
	/* A refused literal's answer, sent when the reader says REFUSED. */
	enum imap_status refuse_status;
	const char *refuse_text;
	/* SEARCHRES: the UIDs of the last SEARCH RETURN (SAVE) */
	uint32_t *saved;
	size_t n_saved;
	bool saved_valid;
	/* AUTHENTICATE / LOGIN in progress */
	struct imap_auth_job *auth;
	struct event *timer; /* failed-login delay, closing polls */
	unsigned in_flight;  /* async steps not back yet */
	bool dead;	     /* gone; freed when in_flight is 0 */
};

void imap_async_task(struct imap_session *s, imap_work_fn *work,
		     imap_done_fn *done, void *arg, void (*arg_free)(void *));
void imap_async_folder(struct imap_session *s, struct imap_folder *fo,
		       imap_work_fn *work, imap_done_fn *done, void *arg,
		       void (*arg_free)(void *));

/* --- replies (imap_server.c) --- */

void imap_reply_set(struct imap_reply *r, enum imap_status st, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* imap_complete - the command is done: changes, then the tagged line. */
void imap_complete(struct imap_session *s, struct imap_reply *r);

/* imap_finish - an asynchronous command is done: complete it and go on
 * reading commands. */
void imap_finish(struct imap_session *s, struct imap_reply *r);

/* imap_complete_silent - done, its tagged response already written
 * (STARTTLS and COMPRESS answer before their layer goes on). */
void imap_complete_silent(struct imap_session *s);

/* imap_session_set_bev - a new bufferevent on top (STARTTLS, COMPRESS). */
void imap_session_set_bev(struct imap_session *s, struct bufferevent *bev);

/* imap_session_logged_in - the longer timeout of the authenticated
 * states. */
void imap_session_logged_in(struct imap_session *s);

/* imap_process - go on reading commands (after an async completion). */
void imap_process(struct imap_session *s);

/* imap_out - the session's output buffer. */
struct evbuffer *imap_out(struct imap_session *s);

/* imap_untagged - "* " fmt CRLF */
void imap_untagged(struct imap_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* imap_untagged_plus - a continuation request "+ text". */
void imap_untagged_plus(struct imap_session *s, const char *text);

/* imap_bye - "* BYE text", then close. */
void imap_bye(struct imap_session *s, const char *text);

/* imap_capabilities - the CAPABILITY list for the session's state. */
void imap_capabilities(struct imap_session *s, struct strbuf *out);

/* imap_session_changed - the selected folder changed (imap_folder.c). */
void imap_session_changed(struct imap_session *s);

/* imap_session_updates - write the folder's changes the client has not
 * been told of; allow_expunge false during sequence-number commands. */
void imap_session_updates(struct imap_session *s, bool allow_expunge);

/* imap_session_unselect - leave the selected state (CLOSE, UNSELECT,
 * another SELECT, the folder deleted). */
void imap_session_unselect(struct imap_session *s);

/* imap_output_full - enough is queued: a streaming command pauses. */
bool imap_output_full(struct imap_session *s);

/* The data_dir and its limits for commands. */
const char *imap_data_dir(const struct imap_session *s);

/* --- command families --- */

/* imap_cmd_auth.c */
imap_handler imap_cmd_capability, imap_cmd_noop, imap_cmd_logout,
    imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate, imap_cmd_id,
    imap_cmd_enable, imap_cmd_compress;
void imap_auth_sasl_line(struct imap_session *s, const char *line, size_t len);
void imap_auth_detach(struct imap_session *s);

/* imap_cmd_mailbox.c */
imap_handler imap_cmd_select, imap_cmd_create, imap_cmd_delete, imap_cmd_rename,
    imap_cmd_subscribe, imap_cmd_list, imap_cmd_status, imap_cmd_namespace,
    imap_cmd_check, imap_cmd_close, imap_cmd_unselect;

/* imap_cmd_fetch.c */
imap_handler imap_cmd_fetch;

/* imap_cmd_search.c */
imap_handler imap_cmd_search;

/* imap_cmd_store.c */
imap_handler imap_cmd_store, imap_cmd_copy, imap_cmd_expunge;

/* imap_cmd_append.c */
imap_handler imap_cmd_append;
/* The reader announced an APPEND message literal: 0 accept (spooling
 * started), or -1 refuse with s->refuse_status/refuse_text set. */
int imap_append_literal(struct imap_session *s, uint32_t size);
void imap_append_spool(struct imap_session *s, const char *data, size_t len);
void imap_append_abort(struct imap_session *s);

/* imap_cmd_idle.c */
imap_handler imap_cmd_idle;
void imap_idle_line(struct imap_session *s, const char *line, size_t len);

/* imap_cmd_quota.c */
imap_handler imap_cmd_getquota, imap_cmd_getquotaroot, imap_cmd_setquota;

/* imap_compress.c */
struct bufferevent *imap_compress_new(struct bufferevent *under);

#endif
