#include "deliver/pickup.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
#include "deliver/maildrop.h"
#include "mailauth/mauth_msg.h"
#include "mime/rfc5322.h"
#include "queue/commit.h"
#include "queue/queue.h"
#include "queue/scheduler.h"
#include "server.h"
#include "smtp/smtp_addr.h"
#include "store/directory.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/workq.h"
#include "util/strbuf.h"
#include "util/utf8.h"
#include "util/xalloc.h"

#define PICKUP_MAX_RCPTS 1000

struct pickup_name {
	struct pickup_name *next;
	bool drop;
	char name[];
};

struct pickup {
	struct server *srv;
	int ifd;
	int wd_pickup, wd_drop; /* inotify watches of pickup/, maildrop/ */
	struct event *ev;
	struct pickup_name *busy; /* files being processed */
	bool stopping;
};

struct pickup_job {
	struct pickup *p;
	const struct config *cfg; /* restart-only keys (data_dir, hostname) */
	uint64_t max_size;	  /* max_message_size, read on the loop */
	char name[NAME_MAX + 1];
	char path[PATH_MAX];
	char error[512]; /* malformed: why (then badmail) */
	struct queue_commit *qc;
	/* maildrop/: the file's owner submitted it (`petrel sendmail`). */
	bool drop;
	uid_t uid;
	char login[256];
};

/* --- building the message (worker thread) --- */

/* sb_add_crlf - append, turning bare LF (and bare CR) into CRLF: files
 * from local programs use LF, and stored mail is CRLF throughout. */
static void
sb_add_crlf(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			strbuf_add(sb, "\r\n", 2);
			i++;
		} else if (s[i] == '\n' || s[i] == '\r') {
			strbuf_add(sb, "\r\n", 2);
		} else {
			size_t j = i;
			while (j < n && s[j] != '\r' && s[j] != '\n')
				j++;
			strbuf_add(sb, s + i, j - i);
			i = j - 1;
		}
	}
}

struct addr_list {
	size_t n;
	char *items[PICKUP_MAX_RCPTS];
	bool overflow, bad;
	bool utf8; /* an RFC 6531 address among them */
};

static void
collect(const char *addr, size_t len, void *arg)
{
	struct addr_list *l = arg;
	struct smtp_path p;
	char out[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];

	if (smtp_addr_parse_mailbox_utf8(addr, len, &p) < 0 ||
	    smtp_addr_format(&p, out, sizeof(out)) < 0) {
		l->bad = true;
		return;
	}
	l->utf8 = l->utf8 || p.utf8;
	for (size_t i = 0; i < l->n; i++)
		if (strcasecmp(l->items[i], out) == 0)
			return;
	if (l->n == PICKUP_MAX_RCPTS) {
		l->overflow = true;
		return;
	}
	l->items[l->n++] = xstrdup(out);
}

static void
list_free(struct addr_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	l->n = 0;
}

/*
 * build - parse the file, find the envelope, and write the message as it
 * will be queued (our Received: on top; X-Sender/X-Receiver and Bcc:
 * removed; Date: and Message-ID: added when missing) into queue/tmp/ID.
 * Returns the commit job, or NULL with j->error set (malformed: badmail)
 * or with j->error empty (a temporary problem: try again later).
 */
static void
emit_none(void *arg, const char *p, size_t len)
{
	(void)arg;
	(void)p;
	(void)len;
}

/*
 * pickup_sign - DKIM-Signature fields on top of the message, below its
 * trace prefix (the Return-Path line, which is never sent on).
 */
static void
pickup_sign(const struct config *cfg, const struct queue_envelope *env,
	    struct strbuf *out)
{
	struct mauth_msg *m = mauth_msg_new(false, true, NULL, time(NULL));
	struct strbuf sig = {0};
	const char *at = strrchr(env->sender, '@');
	char d[MAUTH_NAME_MAX + 1];
	size_t trace = env->trace <= out->len ? env->trace : 0;

	strbuf_add(&sig, out->p, trace);
	mauth_msg_feed(m, out->p + trace, out->len - trace, emit_none, NULL);
	mauth_msg_end(m, emit_none, NULL);
	size_t n = mauth_msg_sign(m, cfg->data_dir, at ? at + 1 : "", &sig, d);
	if (n > 0) {
		log_info("%s: dkim-signed d=%s (%zu signature%s)", env->id, d,
			 n, n > 1 ? "s" : "");
		strbuf_add(&sig, out->p + trace, out->len - trace);
		free(out->p);
		*out = sig;
	} else {
		free(sig.p);
	}
	mauth_msg_free(&m);
}

static struct queue_commit *
build(struct pickup_job *j, const char *text, size_t len)
{
	const struct config *cfg = j->cfg;
	struct addr_list senders = {0}, rcpts = {0}, xrcpts = {0};
	struct strbuf out = {0};
	struct rfc5322_field f;
	bool top = true, has_date = false, has_msgid = false;
	bool header_8bit = false, header_utf8 = true;
	char *xsender = NULL, *warning = NULL;
	size_t pos = 0, body = len;
	struct queue_commit *qc = NULL;
	enum rfc5322_status st;

	/* Pass 1: the envelope. */
	while ((st = rfc5322_next_field(text, len, pos, &f, &body)) ==
	       RFC5322_FIELD) {
		pos = f.end;
		bool xs = rfc5322_name_is(&f, "X-Sender");
		bool xr = rfc5322_name_is(&f, "X-Receiver");
		if (top && (xs || xr)) {
			/* Only the leading X- lines are envelope. */
			if (xs) {
				struct addr_list one = {0};
				rfc5322_parse_addresses(f.value, f.value_len,
							collect, &one);
				if (one.n != 1 || one.bad) {
					snprintf(j->error, sizeof(j->error),
						 "malformed X-Sender: line");
					list_free(&one);
					goto out;
				}
				free(xsender);
				xsender = one.items[0];
			} else if (rfc5322_parse_addresses(f.value, f.value_len,
							   collect,
							   &xrcpts) < 0 ||
				   xrcpts.bad) {
				snprintf(j->error, sizeof(j->error),
					 "malformed X-Receiver: line");
				goto out;
			}
			continue;
		}
		top = false;
		if (rfc5322_name_is(&f, "Date"))
			has_date = true;
		else if (rfc5322_name_is(&f, "Message-ID"))
			has_msgid = true;
		else if (rfc5322_name_is(&f, "From") ||
			 rfc5322_name_is(&f, "Sender")) {
			struct addr_list *l = &senders;
			/* Sender: wins over From: (RFC 5322 §3.6.2). */
			if (rfc5322_name_is(&f, "Sender"))
				list_free(l);
			if (l->n == 0)
				rfc5322_parse_addresses(f.value, f.value_len,
							collect, l);
		} else if (rfc5322_name_is(&f, "To") ||
			   rfc5322_name_is(&f, "Cc") ||
			   rfc5322_name_is(&f, "Bcc")) {
			if (rfc5322_parse_addresses(f.value, f.value_len,
						    collect, &rcpts) < 0) {
				snprintf(j->error, sizeof(j->error),
					 "malformed address in %.*s: header",
					 (int)f.name_len, f.name);
				goto out;
			}
		}
	}
	if (st == RFC5322_ERROR) {
		snprintf(j->error, sizeof(j->error),
			 "malformed header section near byte %zu", pos);
		goto out;
	}
	struct addr_list *to = xrcpts.n > 0 ? &xrcpts : &rcpts;
	const char *sender = xsender	     ? xsender
			     : senders.n > 0 ? senders.items[0]
					     : NULL;
	char forced[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 8];
	if (j->drop) {
		/* Not whatever the file says: who wrote it. */
		warning = maildrop_sender(j->login, cfg->hostname, xsender,
					  j->uid == 0 || j->uid == geteuid(),
					  forced, sizeof(forced));
		sender = forced;
	}
	if (sender == NULL) {
		snprintf(j->error, sizeof(j->error),
			 "no sender: no X-Sender:, Sender: or From: line");
		goto out;
	}
	if (to->n == 0) {
		snprintf(j->error, sizeof(j->error),
			 "no recipients: no X-Receiver:, To:, Cc: or Bcc: "
			 "line");
		goto out;
	}
	if (to->overflow) {
		snprintf(j->error, sizeof(j->error), "more than %d recipients",
			 PICKUP_MAX_RCPTS);
		goto out;
	}

	/* The queue entry: its envelope. */
	qc = xcalloc(1, sizeof(*qc));
	struct queue_envelope *env = &qc->env;
	queue_id_new(env->id);
	env->arrival = time(NULL);
	env->sender = xstrdup(sender);
	env->client = xstrdup("127.0.0.1");
	env->helo = xstrdup(j->drop ? "sendmail" : "pickup");
	struct directory *dir = directory_for_thread(cfg->data_dir);
	if (dir == NULL)
		goto tempfail;
	for (size_t i = 0; i < to->n; i++) {
		struct directory_targets t = {0};
		enum directory_result r =
		    directory_expand(dir, to->items[i], &t);
		if (r == DIRECTORY_TEMPFAIL) {
			directory_targets_free(&t);
			goto tempfail;
		}
		if (r == DIRECTORY_OK || r == DIRECTORY_NOT_LOCAL) {
			for (size_t k = 0; k < t.n; k++) {
				const struct directory_target *tg = &t.items[k];
				bool dup = false;
				for (size_t q = 0; q < env->n_rcpts; q++)
					dup = dup ||
					      strcasecmp(env->rcpts[q].address,
							 tg->address) == 0;
				if (!dup)
					queue_envelope_add_rcpt(
					    env, tg->address, to->items[i],
					    tg->local, tg->domain,
					    tg->localpart);
			}
		} else {
			/* Unknown local user: bounced to the sender. */
			struct queue_rcpt *qr = queue_envelope_add_rcpt(
			    env, to->items[i], to->items[i], false, "", "");
			qr->state = QUEUE_RCPT_FAILED;
			qr->attempts = 1;
			qr->last_error = xasprintf(
			    "5.1.1 <%s>: %s", to->items[i],
			    r == DIRECTORY_LOOP ? "alias expansion loop"
						: "no such user here");
		}
		directory_targets_free(&t);
	}

	/* The message itself. */
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* RFC 5321 §4.4: the Return-Path first, for local delivery only
	 * (its length is the envelope's trace). */
	char *rp = xasprintf("Return-Path: <%s>\r\n", sender);
	env->trace = strlen(rp);
	strbuf_add(&out, rp, env->trace);
	free(rp);
	char *hdr =
	    j->drop
		? xasprintf("Received: by %s (petrel, from userid %lu)"
			    "\r\n\tid %s; %s\r\n",
			    cfg->hostname, (unsigned long)j->uid, env->id, date)
		: xasprintf("Received: by %s (petrel, from the pickup "
			    "folder)\r\n\tid %s; %s\r\n",
			    cfg->hostname, env->id, date);
	strbuf_add(&out, hdr, strlen(hdr));
	free(hdr);
	if (warning != NULL)
		strbuf_add(&out, warning, strlen(warning));
	if (!has_date) {
		char *d = xasprintf("Date: %s\r\n", date);
		strbuf_add(&out, d, strlen(d));
		free(d);
	}
	if (!has_msgid) {
		char *m = xasprintf("Message-ID: <%s@%s>\r\n", env->id,
				    cfg->hostname);
		strbuf_add(&out, m, strlen(m));
		free(m);
	}
	pos = 0;
	top = true;
	while (rfc5322_next_field(text, len, pos, &f, &body) == RFC5322_FIELD) {
		pos = f.end;
		bool x = rfc5322_name_is(&f, "X-Sender") ||
			 rfc5322_name_is(&f, "X-Receiver");
		if (top && x)
			continue;
		top = false;
		if (rfc5322_name_is(&f, "Bcc"))
			continue; /* the point of Bcc: */
		/* RFC 5321 §4.4: ours is the only Return-Path. */
		if (rfc5322_name_is(&f, "Return-Path"))
			continue;
		for (size_t i = f.start; i < f.end && !header_8bit; i++)
			header_8bit = (unsigned char)text[i] >= 0x80;
		header_utf8 =
		    header_utf8 && utf8_valid(text + f.start, f.end - f.start);
		sb_add_crlf(&out, text + f.start, f.end - f.start);
	}
	strbuf_add(&out, "\r\n", 2);
	if (body < len)
		sb_add_crlf(&out, text + body, len - body);
	if (out.len < 2 || out.p[out.len - 1] != '\n')
		strbuf_add(&out, "\r\n", 2);
	/* Our own mail: DKIM-signed once, here, when its domain has a key
	 * (src/mailauth/mauth_msg.c). */
	pickup_sign(cfg, env, &out);
	if (out.len > j->max_size) {
		snprintf(j->error, sizeof(j->error),
			 "message too big (%zu bytes, limit %llu)", out.len,
			 (unsigned long long)j->max_size);
		queue_commit_free(qc);
		qc = NULL;
		goto out;
	}
	env->size = out.len;
	/* RFC 6531/6532: UTF-8 addresses or header need SMTPUTF8 on the
	 * way on (8-bit bytes that are no UTF-8 are legacy junk, not). */
	bool utf8_header = header_8bit && header_utf8;
	if (!utf8_is_ascii(sender) || to->utf8 || utf8_header)
		env->smtputf8 = QUEUE_UTF8_REQUESTED |
				(utf8_header ? QUEUE_UTF8_HEADERS : 0);
	qc->spool_fd = queue_spool_open(cfg->data_dir, env->id, qc->spool_path,
					sizeof(qc->spool_path));
	if (qc->spool_fd < 0 ||
	    fsutil_write_all(qc->spool_fd, out.p, out.len) < 0) {
		log_err("pickup %s: cannot write the queue file: %s", j->name,
			strerror(errno));
		if (qc->spool_fd >= 0)
			unlink(qc->spool_path);
		goto tempfail;
	}
	goto out;
tempfail:
	queue_commit_free(qc);
	qc = NULL;
	j->error[0] = '\0';
out:
	free(out.p);
	free(xsender);
	free(warning);
	list_free(&senders);
	list_free(&rcpts);
	list_free(&xrcpts);
	return qc;
}

/* to_badmail - pickup/NAME -> badmail/pickup-NAME plus .reason. */
static void
to_badmail(struct pickup_job *j)
{
	char dst[PATH_MAX], reason[PATH_MAX + 8], tmp[PATH_MAX + 16];
	char id[QUEUE_ID_MAX];
	queue_id_new(id);
	snprintf(dst, sizeof(dst), "%s/badmail/%s", j->cfg->data_dir, id);
	snprintf(reason, sizeof(reason), "%s.reason", dst);
	snprintf(tmp, sizeof(tmp), "%s.reason-new", dst);
	char *text =
	    xasprintf("%s file: %s\n%s\n", j->drop ? "maildrop" : "pickup",
		      j->name, j->error);
	/* The reason is written aside and named only once the message is
	 * in badmail/: whoever sees ID.reason finds ID, and all of it. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (fsutil_write_all(fd, text, strlen(text)) < 0)
			log_err("%s: %s", reason, strerror(errno));
		fsync(fd);
		close(fd);
	}
	free(text);
	if (rename(j->path, dst) < 0) {
		log_err("pickup %s: cannot move to badmail: %s", j->name,
			strerror(errno));
		unlink(tmp);
	} else {
		if (fd >= 0 && rename(tmp, reason) < 0)
			log_err("%s: %s", reason, strerror(errno));
		log_warn("pickup %s: moved to badmail/%s: %s", j->name, id,
			 j->error);
	}
}

static void
pickup_work(void *arg)
{
	struct pickup_job *j = arg;
	size_t len, max = j->max_size * 2 + 65536;
	char *text = j->drop ? maildrop_read(j->path, max, &j->uid, j->login,
					     sizeof(j->login), &len, j->error,
					     sizeof(j->error))
			     : fsutil_read_file(j->path, max, &len);
	if (text == NULL && j->error[0] != '\0') {
		to_badmail(j);
		return;
	}
	if (text == NULL) {
		if (errno == EFBIG) {
			snprintf(j->error, sizeof(j->error), "message too big");
			to_badmail(j);
		} else if (errno != ENOENT) {
			log_err("pickup %s: %s", j->name, strerror(errno));
		}
		return;
	}
	j->qc = build(j, text, len);
	free(text);
	if (j->qc == NULL && j->error[0] != '\0')
		to_badmail(j);
}

/* --- on the loop --- */

static bool
busy_take(struct pickup *p, const char *name, bool drop)
{
	for (struct pickup_name *n = p->busy; n != NULL; n = n->next)
		if (n->drop == drop && strcmp(n->name, name) == 0)
			return false;
	size_t len = strlen(name);
	struct pickup_name *n = xmalloc(sizeof(*n) + len + 1);
	memcpy(n->name, name, len + 1);
	n->drop = drop;
	n->next = p->busy;
	p->busy = n;
	return true;
}

static void
busy_release(struct pickup *p, const char *name, bool drop)
{
	for (struct pickup_name **pp = &p->busy; *pp; pp = &(*pp)->next)
		if ((*pp)->drop == drop && strcmp((*pp)->name, name) == 0) {
			struct pickup_name *n = *pp;
			*pp = n->next;
			free(n);
			return;
		}
}

static void
commit_done(struct queue_commit *qc)
{
	struct pickup_job *j = qc->arg;
	struct pickup *p = j->p;
	const struct queue_envelope *env = &qc->env;

	if (qc->error == 0) {
		/* Durable in the queue: the pickup file has done its job. */
		unlink(j->path);
		if (j->drop)
			log_info("%s: sendmail %s: uid=%lu, from=<%s>, "
				 "size=%llu, nrcpt=%zu",
				 env->id, j->name, (unsigned long)j->uid,
				 env->sender, (unsigned long long)env->size,
				 env->n_rcpts);
		else
			log_info("%s: pickup %s: from=<%s>, size=%llu, "
				 "nrcpt=%zu",
				 env->id, j->name, env->sender,
				 (unsigned long long)env->size, env->n_rcpts);
		for (size_t i = 0; i < env->n_rcpts; i++)
			if (env->rcpts[i].state == QUEUE_RCPT_DONE)
				log_info("%s: to=<%s>, status=sent (%s)",
					 env->id, env->rcpts[i].address,
					 env->rcpts[i].last_error);
		if (qc->queued && !p->stopping)
			scheduler_add(p->srv->sched, env);
	} else {
		log_err("pickup %s: not queued: %s (will retry)", j->name,
			strerror(qc->error));
	}
	busy_release(p, j->name, j->drop);
	queue_commit_free(qc);
	free(j);
}

static void
pickup_done(void *arg)
{
	struct pickup_job *j = arg;
	struct pickup *p = j->p;

	if (j->qc == NULL || p->stopping) {
		if (j->qc != NULL) {
			unlink(j->qc->spool_path);
			queue_commit_free(j->qc);
		}
		busy_release(p, j->name, j->drop);
		free(j);
		return;
	}
	struct queue_commit *qc = j->qc;
	qc->done = commit_done;
	qc->arg = j;
	commit_submit(p->srv->commit, qc);
}

static void
pickup_file(struct pickup *p, const char *name, bool drop)
{
	/* Dot files are being written (sendmail's temporary names). */
	if (name[0] == '.' || p->stopping || !busy_take(p, name, drop))
		return;
	struct pickup_job *j = xcalloc(1, sizeof(*j));
	j->p = p;
	j->cfg = p->srv->cfg;
	j->max_size = p->srv->cfg->max_message_size;
	j->drop = drop;
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->path, sizeof(j->path), "%s/%s/%s", p->srv->cfg->data_dir,
		 drop ? "maildrop" : "pickup", name);
	workq_submit(p->srv->workq, pickup_work, pickup_done, j);
}

static void
inotify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pickup *p = arg;
	char buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	(void)what;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			if (ev->len > 0 &&
			    (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
				pickup_file(p, ev->name, ev->wd == p->wd_drop);
			q += sizeof(*ev) + ev->len;
		}
	}
}

/* pickup_scan - files dropped while the server was not running. */
static void
pickup_scan(struct pickup *p, bool drop)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/%s", p->srv->cfg->data_dir,
		 drop ? "maildrop" : "pickup");
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN)
			pickup_file(p, de->d_name, drop);
	closedir(d);
}

struct pickup *
pickup_start(struct server *srv)
{
	char dir[PATH_MAX];
	struct pickup *p = xcalloc(1, sizeof(*p));
	p->srv = srv;
	snprintf(dir, sizeof(dir), "%s/pickup", srv->cfg->data_dir);
	p->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->ifd < 0 || (p->wd_pickup = inotify_add_watch(
			       p->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO)) < 0)
		fatal("cannot watch %s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/maildrop", srv->cfg->data_dir);
	p->wd_drop =
	    inotify_add_watch(p->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO);
	if (p->wd_drop < 0)
		fatal("cannot watch %s: %s", dir, strerror(errno));
	p->ev =
	    event_new(srv->base, p->ifd, EV_READ | EV_PERSIST, inotify_cb, p);
	event_add(p->ev, NULL);
	pickup_scan(p, false);
	pickup_scan(p, true);
	return p;
}

void
pickup_stop(struct pickup *p)
{
	p->stopping = true;
	event_del(p->ev);
}

void
pickup_free(struct pickup **pp)
{
	struct pickup *p = *pp;
	if (p == NULL)
		return;
	event_free(p->ev);
	close(p->ifd);
	while (p->busy != NULL)
		busy_release(p, p->busy->name, p->busy->drop);
	free(p);
	*pp = NULL;
}
