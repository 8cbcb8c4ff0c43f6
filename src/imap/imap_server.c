#include "imap/imap_server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/config.h"
#include "imap/imap_folder.h"
#include "imap/imap_session.h"
#include "imap/imap_view.h"
#include "net/conn_limit.h"
#include "server.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/xalloc.h"

/*
 * Limits. RFC 7162 §4 asks servers to take command lines of 8192 octets
 * at least (long UID sets); clients that sync big folders send more, so
 * a line may be 64 KiB, as Dovecot allows. A literal inside a command
 * (not an APPEND message) may be 64 KiB too.
 */
static const struct imap_limits imap_limits = {
    .max_line = 64 * 1024,
    .max_command = 256 * 1024,
    .max_literal = 64 * 1024,
    .max_depth = 32,
    .max_items = 100000,
};

#define IMAP_OUTPUT_HIGH (256 * 1024)
#define IMAP_MAX_BAD	 20 /* bad commands, then BYE */
/* RFC 3501 §5.4: an autologout timer of at least 30 minutes once
 * logged in; before that a client has no business idling long. */
#define IMAP_TIMEOUT_AUTH    (30 * 60)
#define IMAP_TIMEOUT_NOTAUTH 180

static void session_free(struct imap_session *s);
static void session_shutdown(void *arg);
static void session_destroy(void *arg);
static void setup_bev(struct imap_session *s);

static const struct server_proto imap_proto = {
    "imap",
    session_shutdown,
    session_destroy,
};

#define NA  IMAP_STATE_NOTAUTH
#define AU  IMAP_STATE_AUTH
#define SE  IMAP_STATE_SELECTED
#define ANY (NA | AU | SE)

/*
 * The commands: the states each is legal in (RFC 3501 §6), whether it
 * works on sequence numbers (no EXPUNGE at its end, §7.4.1 — its UID
 * form may have them), and its handler. The dispatcher checks the state
 * once, so handlers do not.
 */
static const struct imap_cmd_def imap_commands[] = {
    {IMAP_CMD_CAPABILITY, ANY, 0, imap_cmd_capability},
    {IMAP_CMD_NOOP, ANY, IMAP_CF_NOTIFY, imap_cmd_noop},
    {IMAP_CMD_LOGOUT, ANY, 0, imap_cmd_logout},
    {IMAP_CMD_ID, ANY, 0, imap_cmd_id},
    {IMAP_CMD_STARTTLS, NA, 0, imap_cmd_starttls},
    {IMAP_CMD_LOGIN, NA, 0, imap_cmd_login},
    {IMAP_CMD_AUTHENTICATE, NA, 0, imap_cmd_authenticate},
    {IMAP_CMD_ENABLE, AU | SE, 0, imap_cmd_enable},
    {IMAP_CMD_COMPRESS, AU | SE, 0, imap_cmd_compress},
    {IMAP_CMD_SELECT, AU | SE, 0, imap_cmd_select},
    {IMAP_CMD_EXAMINE, AU | SE, 0, imap_cmd_select},
    {IMAP_CMD_CREATE, AU | SE, 0, imap_cmd_create},
    {IMAP_CMD_DELETE, AU | SE, 0, imap_cmd_delete},
    {IMAP_CMD_RENAME, AU | SE, 0, imap_cmd_rename},
    {IMAP_CMD_SUBSCRIBE, AU | SE, 0, imap_cmd_subscribe},
    {IMAP_CMD_UNSUBSCRIBE, AU | SE, 0, imap_cmd_subscribe},
    {IMAP_CMD_LIST, AU | SE, 0, imap_cmd_list},
    {IMAP_CMD_LSUB, AU | SE, 0, imap_cmd_list},
    {IMAP_CMD_STATUS, AU | SE, 0, imap_cmd_status},
    {IMAP_CMD_APPEND, AU | SE, 0, imap_cmd_append},
    {IMAP_CMD_NAMESPACE, AU | SE, 0, imap_cmd_namespace},
    {IMAP_CMD_GETQUOTA, AU | SE, 0, imap_cmd_getquota},
    {IMAP_CMD_GETQUOTAROOT, AU | SE, 0, imap_cmd_getquotaroot},
    {IMAP_CMD_SETQUOTA, AU | SE, 0, imap_cmd_setquota},
    {IMAP_CMD_IDLE, AU | SE, IMAP_CF_NOTIFY, imap_cmd_idle},
    {IMAP_CMD_CHECK, SE, IMAP_CF_NOTIFY, imap_cmd_check},
    {IMAP_CMD_CLOSE, SE, 0, imap_cmd_close},
    {IMAP_CMD_UNSELECT, SE, 0, imap_cmd_unselect},
    {IMAP_CMD_EXPUNGE, SE, 0, imap_cmd_expunge},
    {IMAP_CMD_SEARCH, SE, IMAP_CF_SEQ, imap_cmd_search},
    {IMAP_CMD_FETCH, SE, IMAP_CF_SEQ, imap_cmd_fetch},
    {IMAP_CMD_STORE, SE, IMAP_CF_SEQ, imap_cmd_store},
    {IMAP_CMD_COPY, SE, IMAP_CF_SEQ, imap_cmd_copy},
    {IMAP_CMD_MOVE, SE, IMAP_CF_SEQ, imap_cmd_copy},
    {IMAP_CMD_NONE, 0, 0, NULL},
};

/* --- output --- */

struct evbuffer *
imap_out(struct imap_session *s)
{
	return bufferevent_get_output(s->bev);
}

bool
imap_output_full(struct imap_session *s)
{
	return evbuffer_get_length(imap_out(s)) > IMAP_OUTPUT_HIGH;
}

const char *
imap_data_dir(const struct imap_session *s)
{
	return s->srv->cfg->data_dir;
}

void
imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	struct evbuffer *out = imap_out(s);
	va_list ap;
	evbuffer_add(out, "* ", 2);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void
imap_untagged_plus(struct imap_session *s, const char *text)
{
	evbuffer_add_printf(imap_out(s), "+ %s\r\n", text);
}

void
imap_reply_set(struct imap_reply *r, enum imap_status st, const char *code,
	       const char *fmt, ...)
{
	va_list ap;
	r->status = st;
	r->code.len = 0;
	if (code != NULL)
		strbuf_adds(&r->code, code);
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/* flush - with COMPRESS, end the deflate block so that what was written
 * leaves now (RFC 4978 §4: Z_SYNC_FLUSH after each response batch). */
static void
flush(struct imap_session *s)
{
	/* The filter's write may call back into the session (its output
	 * drained): no flush within a flush. */
	if (s->compressed && !s->flushing && s->bev != NULL) {
		s->flushing = true;
		bufferevent_flush(s->bev, EV_WRITE, BEV_FLUSH);
		s->flushing = false;
	}
}

/* flushed - has everything written left the process, through every
 * layer (COMPRESS over TLS over the socket)? */
static bool
flushed(struct bufferevent *bev)
{
	for (; bev != NULL; bev = bufferevent_get_underlying(bev))
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return false;
	return true;
}

static void
close_after_reply(struct imap_session *s)
{
	if (s->mode == IMAP_MODE_CLOSING)
		return;
	s->mode = IMAP_MODE_CLOSING;
	imap_session_unselect(s);
	imap_auth_detach(s);
	imap_append_abort(s);
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
	flush(s);
	/* The write callback or the timer frees once it has left. */
	struct timeval tv = {0, 20000};
	evtimer_add(s->timer, &tv);
}

void
imap_bye(struct imap_session *s, const char *text)
{
	if (s->mode == IMAP_MODE_CLOSING)
		return;
	imap_untagged(s, "BYE %s", text);
	close_after_reply(s);
}

/* --- folder updates --- */

void
imap_session_updates(struct imap_session *s, bool allow_expunge)
{
	if (s->view == NULL || s->view->fo->f == NULL)
		return;
	struct strbuf sb = {0};
	if (imap_view_update(s->view, &sb, allow_expunge, s->condstore,
			     s->qresync))
		evbuffer_add(imap_out(s), sb.p, sb.len);
	free(sb.p);
	/* Told all, or all but the expunges: those need another chance. */
	s->pending = !allow_expunge && s->pending;
}

void
imap_session_changed(struct imap_session *s)
{
	if (s->mode == IMAP_MODE_IDLE) {
		/* RFC 2177: IDLE is where the server may speak at once. */
		imap_session_updates(s, true);
		flush(s);
		return;
	}
	s->pending = true;
}

void
imap_session_unselect(struct imap_session *s)
{
	if (s->view == NULL)
		return;
	struct imap_folder *fo = s->view->fo;
	imap_view_detach(s->view);
	free(s->view);
	s->view = NULL;
	imap_folder_put(&fo);
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
	s->pending = false;
	free(s->saved);
	s->saved = NULL;
	s->n_saved = 0;
	s->saved_valid = false;
}

/* --- completion --- */

static void
free_cmd(struct imap_session *s)
{
	if (s->op_free != NULL && s->op != NULL)
		s->op_free(s->op);
	s->op = NULL;
	s->op_free = NULL;
	s->op_resume = NULL;
	if (s->cmd != NULL) {
		imap_command_free(s->cmd);
		free(s->cmd);
		s->cmd = NULL;
	}
	s->def = NULL;
}

static void
write_tagged(struct imap_session *s, const char *tag, struct imap_reply *r)
{
	static const char *const names[] = {"OK", "NO", "BAD"};
	struct evbuffer *out = imap_out(s);
	evbuffer_add_printf(out, "%s %s ", tag[0] ? tag : "*",
			    names[r->status]);
	if (r->code.len > 0)
		evbuffer_add_printf(out, "[%s] ", r->code.p);
	evbuffer_add_printf(out, "%s\r\n", r->text);
	if (r->status == IMAP_BAD)
		s->bad++;
}

void
imap_finish(struct imap_session *s, struct imap_reply *r)
{
	imap_complete(s, r);
	imap_process(s);
}

void
imap_complete_silent(struct imap_session *s)
{
	free_cmd(s);
	if (s->mode == IMAP_MODE_BUSY)
		s->mode = IMAP_MODE_COMMAND;
}

void
imap_complete(struct imap_session *s, struct imap_reply *r)
{
	if (s->mode == IMAP_MODE_CLOSING) {
		free(r->code.p);
		r->code.p = NULL;
		free_cmd(s);
		return;
	}
	if (s->cmd != NULL && s->state == IMAP_STATE_SELECTED &&
	    (s->pending || (s->def && (s->def->flags & IMAP_CF_NOTIFY)))) {
		/* RFC 3501 §7.4.1: no EXPUNGE at the end of FETCH, STORE,
		 * SEARCH by sequence number; any other command may carry
		 * the changes others made. */
		bool seq = s->def != NULL && (s->def->flags & IMAP_CF_SEQ) &&
			   !s->cmd->uid;
		imap_session_updates(s, !seq);
	}
	write_tagged(s, s->cmd ? s->cmd->tag : "", r);
	free(r->code.p);
	r->code.p = NULL;
	free_cmd(s);
	if (s->close_after) {
		close_after_reply(s);
		return;
	}
	if (s->mode == IMAP_MODE_BUSY || s->mode == IMAP_MODE_IDLE ||
	    s->mode == IMAP_MODE_SASL)
		s->mode = IMAP_MODE_COMMAND;
	flush(s);
}

/* dispatch - one parsed command through the table. */
static void
dispatch(struct imap_session *s, struct imap_reader_out *o)
{
	struct imap_reply r = {0};
	const struct imap_cmd_def *def = imap_commands;

	while (def->fn != NULL && def->cmd != o->cmd.cmd)
		def++;
	s->cmd = xmalloc(sizeof(*s->cmd));
	*s->cmd = o->cmd;
	s->def = def;
	if (def->fn == NULL) {
		imap_reply_set(&r, IMAP_BAD, NULL, "Unknown command");
	} else if (!(def->states & s->state)) {
		imap_reply_set(&r, IMAP_BAD, NULL, "%s %s",
			       imap_cmd_name(def->cmd),
			       s->state == IMAP_STATE_NOTAUTH
				   ? "needs LOGIN or AUTHENTICATE first"
			       : s->state == IMAP_STATE_AUTH
				   ? "needs a selected mailbox"
				   : "is only valid before logging in");
	} else {
		s->mode = IMAP_MODE_BUSY;
		if (def->fn(s, s->cmd, &r) == IMAP_ASYNC)
			return;
	}
	imap_complete(s, &r);
}

/* --- reading --- */

static void
reader_event(struct imap_session *s, enum imap_reader_event ev,
	     struct imap_reader_out *o)
{
	struct imap_reply r = {0};
	switch (ev) {
	case IMAP_READER_LITERAL:
		if (o->lit.is_message) {
			if (imap_append_literal(s, o->lit.size) < 0) {
				imap_reader_refuse(&s->rd);
				return;
			}
		} else if (!o->lit_fits) {
			/* Refused before a byte of it is stored. */
			s->refuse_status = IMAP_BAD;
			s->refuse_text = "Literal too large";
			imap_reader_refuse(&s->rd);
			return;
		}
		imap_reader_accept(&s->rd);
		if (!o->lit.plus) /* RFC 3501 §7.5 */
			evbuffer_add(imap_out(s),
				     "+ Ready for literal data\r\n", 26);
		flush(s);
		return;
	case IMAP_READER_SPOOL:
		imap_append_spool(s, o->data, o->len);
		return;
	case IMAP_READER_COMMAND:
		if (o->bad) {
			/* A command that cannot be parsed: no spooled
			 * message of it is kept. */
			imap_append_abort(s);
			imap_reply_set(&r, IMAP_BAD, NULL, "%s", o->why);
			s->cmd = xcalloc(1, sizeof(*s->cmd));
			memcpy(s->cmd->tag, o->cmd.tag, sizeof(o->cmd.tag));
			imap_command_free(&o->cmd);
			imap_complete(s, &r);
			return;
		}
		dispatch(s, o);
		return;
	case IMAP_READER_TOO_LONG:
		imap_append_abort(s);
		imap_reply_set(&r, IMAP_BAD, "TOOBIG", "Command line too long");
		s->cmd = xcalloc(1, sizeof(*s->cmd));
		memcpy(s->cmd->tag, o->cmd.tag, sizeof(o->cmd.tag));
		imap_complete(s, &r);
		return;
	case IMAP_READER_REFUSED:
		imap_append_abort(s);
		imap_reply_set(
		    &r, s->refuse_status,
		    s->refuse_status == IMAP_BAD ? "TOOBIG" : NULL, "%s",
		    s->refuse_text ? s->refuse_text : "Literal refused");
		s->cmd = xcalloc(1, sizeof(*s->cmd));
		memcpy(s->cmd->tag, o->cmd.tag, sizeof(o->cmd.tag));
		imap_complete(s, &r);
		return;
	default:
		return;
	}
}

/* read_line - a plain line (IDLE's DONE, AUTHENTICATE's response). */
static bool
read_line(struct imap_session *s, char *buf, size_t max, size_t *len_r)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t eol_len;
	struct evbuffer_ptr p =
	    evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (p.pos < 0) {
		if (evbuffer_get_length(in) > max) {
			imap_bye(s, "Line too long");
		}
		return false;
	}
	size_t len = (size_t)p.pos;
	if (len > max) {
		evbuffer_drain(in, len + eol_len);
		*len_r = 0;
		buf[0] = '\0';
		return true;
	}
	evbuffer_remove(in, buf, len);
	evbuffer_drain(in, eol_len);
	buf[len] = '\0';
	*len_r = len;
	return true;
}

void
imap_process(struct imap_session *s)
{
	struct evbuffer *in;

	if (s->processing)
		return;
	s->processing = true;
	while (s->mode != IMAP_MODE_CLOSING && s->mode != IMAP_MODE_BUSY) {
		if (s->bad >= IMAP_MAX_BAD) {
			imap_bye(s, "Too many bad commands");
			break;
		}
		if (imap_output_full(s))
			break; /* the write callback resumes */
		in = bufferevent_get_input(s->bev);
		if (s->mode == IMAP_MODE_IDLE || s->mode == IMAP_MODE_SASL) {
			char line[16384];
			size_t len;
			if (!read_line(s, line, sizeof(line) - 1, &len))
				break;
			if (s->mode == IMAP_MODE_IDLE)
				imap_idle_line(s, line, len);
			else
				imap_auth_sasl_line(s, line, len);
			explicit_bzero(line, len);
			continue;
		}
		struct evbuffer_iovec v;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) {
			/* No input, but the reader may owe an answer (a
			 * refused synchronizing literal). */
			struct imap_reader_out o;
			size_t used;
			enum imap_reader_event ev =
			    imap_reader_feed(&s->rd, "", 0, &used, &o);
			if (ev == IMAP_READER_MORE)
				break;
			reader_event(s, ev, &o);
			continue;
		}
		struct imap_reader_out o;
		size_t used = 0;
		enum imap_reader_event ev =
		    imap_reader_feed(&s->rd, v.iov_base, v.iov_len, &used, &o);
		if (ev == IMAP_READER_SPOOL) {
			/* The bytes are written before they are drained. */
			reader_event(s, ev, &o);
			evbuffer_drain(in, used);
			continue;
		}
		evbuffer_drain(in, used);
		if (ev != IMAP_READER_MORE)
			reader_event(s, ev, &o);
	}
	flush(s);
	s->processing = false;
}

/* --- asynchronous steps --- */

struct imap_async {
	struct imap_session *s;
	imap_work_fn *work;
	imap_done_fn *done;
	void *arg;
	void (*arg_free)(void *);
};

static void session_release(struct imap_session *s);

static void
async_back(struct imap_async *a, struct imap_job *j)
{
	struct imap_session *s = a->s;
	s->in_flight--;
	/* Gone, or going (BYE sent): the rest of the command is not done;
	 * its state goes with the session. */
	if (s->dead || s->mode == IMAP_MODE_CLOSING) {
		if (a->arg_free != NULL)
			a->arg_free(a->arg);
		if (s->dead && s->in_flight == 0)
			session_release(s);
	} else {
		a->done(s, j, a->arg);
	}
	free(a);
}

static void
task_work(void *arg)
{
	struct imap_async *a = arg;
	a->work(NULL, a->arg);
}

static void
task_done(void *arg)
{
	async_back(arg, NULL);
}

void
imap_async_task(struct imap_session *s, imap_work_fn *work, imap_done_fn *done,
		void *arg, void (*arg_free)(void *))
{
	struct imap_async *a = xmalloc(sizeof(*a));
	*a = (struct imap_async){s, work, done, arg, arg_free};
	s->in_flight++;
	workq_submit(s->srv->workq, task_work, task_done, a);
}

static void
folder_work(struct imap_job *j)
{
	struct imap_async *a = j->arg;
	a->work(j, a->arg);
}

static void
folder_done(struct imap_job *j)
{
	async_back(j->arg, j);
}

void
imap_async_folder(struct imap_session *s, struct imap_folder *fo,
		  imap_work_fn *work, imap_done_fn *done, void *arg,
		  void (*arg_free)(void *))
{
	struct imap_async *a = xmalloc(sizeof(*a));
	*a = (struct imap_async){s, work, done, arg, arg_free};
	s->in_flight++;
	imap_folder_job(fo, folder_work, folder_done, a);
}

/* --- callbacks --- */

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	imap_process(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct imap_session *s = arg;
	if (s->flushing)
		return;
	if (s->mode == IMAP_MODE_CLOSING) {
		if (flushed(bev))
			session_free(s);
		return;
	}
	if (s->op_resume != NULL && !imap_output_full(s)) {
		s->op_resume(s);
		if (s->mode == IMAP_MODE_CLOSING)
			return;
	}
	imap_process(s);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->mode == IMAP_MODE_CLOSING) {
			session_free(s);
			return;
		}
		imap_bye(s, "Autologout; idle for too long");
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		session_free(s);
}

/* timer_cb - closing: poll until the last response has left (bounded:
 * 5 s), then free. */
static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imap_session *s = arg;
	(void)fd;
	(void)what;
	if (s->mode != IMAP_MODE_CLOSING)
		return;
	if (flushed(s->bev) || ++s->close_polls > 250) {
		session_free(s);
		return;
	}
	struct timeval tv = {0, 20000};
	evtimer_add(s->timer, &tv);
}

static void
setup_bev(struct imap_session *s)
{
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
	bufferevent_setwatermark(s->bev, EV_WRITE, IMAP_OUTPUT_HIGH / 4, 0);
	struct timeval tv = {s->state == IMAP_STATE_NOTAUTH
				 ? IMAP_TIMEOUT_NOTAUTH
				 : IMAP_TIMEOUT_AUTH,
			     0};
	bufferevent_set_timeouts(s->bev, &tv, NULL);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

void
imap_session_set_bev(struct imap_session *s, struct bufferevent *bev)
{
	s->bev = bev;
	setup_bev(s);
}

void
imap_session_logged_in(struct imap_session *s)
{
	struct timeval tv = {IMAP_TIMEOUT_AUTH, 0};
	bufferevent_set_timeouts(s->bev, &tv, NULL);
}

/*
 * session_free - the client is gone. With a step still on the worker
 * pool (which may use the command and its state), the connection closes
 * now and the memory goes when the step comes back; the session stays in
 * the server's list till then, so a clean stop waits for it.
 */
static void
session_free(struct imap_session *s)
{
	if (s->dead)
		return;
	s->dead = true;
	imap_session_unselect(s);
	imap_auth_detach(s);
	imap_append_abort(s);
	if (s->timer != NULL)
		event_free(s->timer);
	s->timer = NULL;
	conn_limit_release(s->srv->per_ip, s->addr);
	bufferevent_free(s->bev);
	s->bev = NULL;
	if (s->user != NULL)
		log_info("imap: logout user=<%s> [%s]", s->user, s->addr);
	if (s->in_flight == 0)
		session_release(s);
}

static void
session_release(struct imap_session *s)
{
	struct server *srv = s->srv;
	free_cmd(s);
	imap_reader_reset(&s->rd);
	server_session_remove(srv, &s->link);
	free(s->user);
	free(s->root);
	free(s->saved);
	free(s);
}

static void
session_shutdown(void *arg)
{
	struct imap_session *s = arg;
	if (!s->dead)
		imap_bye(s, "Server shutting down");
}

static void
session_destroy(void *arg)
{
	session_free(arg);
}

static void
session_accept(struct server *srv, int fd, const struct sockaddr *sa,
	       bool implicit_tls)
{
	static uint32_t next_id;
	char addr[INET6_ADDRSTRLEN], busy[160];
	bool relay = false;
	const char *why = server_admit(srv, sa, addr, sizeof(addr), &relay);
	if (why != NULL) {
		/* RFC 3501 §7.1.5: BYE as the greeting. */
		int n = snprintf(busy, sizeof(busy), "* BYE %s\r\n", why);
		ssize_t w =
		    send(fd, busy, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
		close(fd);
		return;
	}
	struct imap_session *s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->id = ++next_id ? next_id : ++next_id;
	s->state = IMAP_STATE_NOTAUTH;
	s->mode = IMAP_MODE_COMMAND;
	s->tls = implicit_tls;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	imap_reader_init(&s->rd, &imap_limits);
	s->bev = server_bev_new(srv, fd, implicit_tls);
	if (s->bev == NULL) {
		server_release(srv, addr);
		close(fd);
		free(s);
		return;
	}
	s->timer = evtimer_new(srv->base, timer_cb, s);
	server_session_add(srv, &s->link, &imap_proto, s);
	setup_bev(s);
	struct strbuf caps = {0};
	imap_capabilities(s, &caps);
	imap_untagged(s, "OK [CAPABILITY %s] petrel IMAP4rev1 ready", caps.p);
	free(caps.p);
}

void
imap_server_accept(int fd, const struct sockaddr *sa, socklen_t salen,
		   void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, false);
}

void
imaps_accept(int fd, const struct sockaddr *sa, socklen_t salen, void *arg)
{
	(void)salen;
	session_accept(arg, fd, sa, true);
}
