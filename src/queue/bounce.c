/*
 * bounce - build an RFC 3464 delivery status notification.
 *
 * Everything that comes from outside (addresses, remote replies, the
 * original header section) is treated as hostile: CR, LF and other
 * control bytes in a value become spaces so they cannot start a new
 * header field or a MIME boundary line, long values are folded so no
 * line exceeds 998 octets (RFC 5322 §2.1.1), and the boundary is checked
 * against the content and varied until it does not occur there.
 */
#include "queue/bounce.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/utf8.h"
#include "util/xalloc.h"

#define BOUNCE_LINE_MAX	 998  /* RFC 5322 §2.1.1, without CRLF */
#define BOUNCE_FOLD_AT	 78   /* preferred line length */
#define BOUNCE_VALUE_MAX 4096 /* a diagnostic longer than this is cut */
#define BOUNCE_NAME_MAX	 512  /* so is an address or a host name */

struct bounce_buf {
	char *p;
	size_t len, size;
};

static void
buf_add(struct bounce_buf *b, const char *s, size_t n)
{
	if (n == 0)
		return;
	if (n > b->size - b->len) {
		size_t want = b->size > 0 ? b->size : 1024;
		while (want - b->len < n)
			want *= 2;
		b->p = xrealloc(b->p, want);
		b->size = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
buf_str(struct bounce_buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct bounce_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct bounce_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* bounce_clean_max - a copy of s safe inside one header line: control
 * bytes (CR, LF, NUL, ...) become spaces, runs of white space are
 * squeezed, ends trimmed, cut at max bytes. NULL gives "". */
static char *
bounce_clean_max(const char *s, size_t max)
{
	size_t n = s != NULL ? strnlen(s, max) : 0, o = 0;
	char *c = xmalloc(n + 1);
	bool space = true; /* drops leading white space */

	for (size_t i = 0; i < n; i++) {
		unsigned char u = (unsigned char)s[i];
		if (u < 32 || u == 127 || u == ' ') {
			if (!space)
				c[o++] = ' ';
			space = true;
		} else {
			c[o++] = (char)u;
			space = false;
		}
	}
	while (o > 0 && c[o - 1] == ' ')
		o--;
	c[o] = '\0';
	return c;
}

static char *
bounce_clean(const char *s)
{
	return bounce_clean_max(s, BOUNCE_VALUE_MAX);
}

/* bounce_clean_name - an address, host name or queue id: short. */
static char *
bounce_clean_name(const char *s)
{
	return bounce_clean_max(s, BOUNCE_NAME_MAX);
}

/* bounce_folded - "prefix" then the words of value (cleaned), folded
 * before a space when the line would pass BOUNCE_FOLD_AT, with a word
 * longer than a whole line cut into pieces. Continuation lines start
 * with a space, so this serves header fields and the text part alike. */
static void
bounce_folded(struct bounce_buf *b, const char *prefix, const char *value)
{
	char *v = bounce_clean(value);
	size_t col = strlen(prefix), i = 0, n = strlen(v);

	buf_str(b, prefix);
	while (i < n) {
		size_t w = 0;
		while (i + w < n && v[i + w] != ' ')
			w++;
		if (col > 1 && col + 1 + w > BOUNCE_FOLD_AT) {
			buf_str(b, "\r\n");
			col = 0;
		}
		if (col > 0 || i > 0) {
			buf_add(b, " ", 1);
			col++;
		}
		/* An unbreakable word: cut it to fit the hard limit. */
		while (w > 0) {
			size_t room, k;
			if (col >= BOUNCE_LINE_MAX - 2) {
				buf_str(b, "\r\n ");
				col = 1;
			}
			room = BOUNCE_LINE_MAX - 2 - col;
			k = w < room ? w : room;
			buf_add(b, v + i, k);
			col += k;
			i += k;
			w -= k;
			if (w > 0) {
				buf_str(b, "\r\n ");
				col = 1;
			}
		}
		if (i < n)
			i++; /* the space */
	}
	buf_str(b, "\r\n");
	free(v);
}

/* bounce_date - RFC 5322 §3.3 date-time in UTC, locale-independent. */
static void
bounce_date(char *out, size_t size, time_t t)
{
	static const char days[][4] = {"Sun", "Mon", "Tue", "Wed",
				       "Thu", "Fri", "Sat"};
	static const char months[][4] = {"Jan", "Feb", "Mar", "Apr",
					 "May", "Jun", "Jul", "Aug",
					 "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * bounce_copy_part - what a report returns of the original: its header
 * section (up to its empty line) or, whole, all of it (RET=FULL). Every
 * line end made CRLF (a lone CR too), NUL made a space, and lines over
 * the limit broken: folded in a header, plainly in a whole message, so
 * the report stays valid whatever the original held.
 */
static void
bounce_copy_part(struct bounce_buf *b, const char *h, size_t len, bool whole)
{
	size_t col = 0;
	bool in_header = true;

	for (size_t i = 0; i < len; i++) {
		char c = h[i];
		/* A lone CR is not a line end in a header (it would turn
		 * "\r\r\n" into an empty line and cut the section short). */
		if (c == '\r' && i + 1 < len && h[i + 1] == '\n') {
			i++;
			c = '\n';
		} else if (c == '\r' && !in_header) {
			c = '\n';
		}
		if (c == '\n') {
			if (col == 0 && in_header) {
				if (!whole)
					break; /* the empty line: the body */
				in_header = false;
			}
			buf_str(b, "\r\n");
			col = 0;
			continue;
		}
		if (col >= BOUNCE_LINE_MAX - 1) {
			buf_str(b, in_header ? "\r\n " : "\r\n");
			col = in_header ? 1 : 0;
		}
		if (c == '\0' || c == '\r')
			c = ' ';
		buf_add(b, &c, 1);
		col++;
	}
	if (col > 0)
		buf_str(b, "\r\n");
}

static bool
bounce_has_8bit(const struct bounce_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->p[i] >= 128)
			return true;
	return false;
}

static bool
bounce_contains(const struct bounce_buf *b, const char *s)
{
	return b->len > 0 && memmem(b->p, b->len, s, strlen(s)) != NULL;
}

static const char *
bounce_action(const struct bounce_failure *f)
{
	return f->action != NULL && f->action[0] != '\0' ? f->action : "failed";
}

/* bounce_has_type - does the diagnostic start with a diagnostic-type
 * ("smtp;", "x-unix;"), RFC 3464 §2.3.6? */
static bool
bounce_has_type(const char *d)
{
	size_t i = 0;

	while ((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
	       (d[i] >= '0' && d[i] <= '9') || d[i] == '-')
		i++;
	while (d[i] == ' ')
		i++;
	return i > 0 && d[i] == ';';
}

/* What a whole report says (bounce_build_report). */
enum report_kind { REPORT_FAILED, REPORT_DELAYED, REPORT_SUCCESS };

static void
bounce_text_part(struct bounce_buf *b, const char *host,
		 const struct bounce_failure *failures, size_t n,
		 enum report_kind kind, bool full)
{
	buf_str(b, "This is the mail system at host ");
	buf_str(b, host);
	buf_str(b, ".\r\n\r\n");
	if (kind == REPORT_DELAYED)
		buf_str(
		    b, "Your message could not be delivered yet to the\r\n"
		       "recipients below. The mail system will keep trying;\r\n"
		       "you do not need to send it again.\r\n\r\n");
	else if (kind == REPORT_SUCCESS)
		buf_str(b, "Your message was delivered to the recipients\r\n"
			   "below, or passed on to a system that sends no\r\n"
			   "further notifications (\"relayed\"), as you\r\n"
			   "asked (NOTIFY=SUCCESS).\r\n\r\n");
	else if (full)
		buf_str(b,
			"I'm sorry to have to inform you that your message\r\n"
			"could not be delivered to one or more recipients.\r\n"
			"It is attached below.\r\n\r\n");
	else
		buf_str(b,
			"I'm sorry to have to inform you that your message\r\n"
			"could not be delivered to one or more recipients.\r\n"
			"Its header section is attached below.\r\n\r\n");
	for (size_t i = 0; i < n; i++) {
		const struct bounce_failure *f = &failures[i];
		const char *diag = f->diagnostic;
		char *addr = bounce_clean_name(f->rcpt->address);
		char *prefix = xasprintf("<%s>:", addr);

		if (diag == NULL)
			diag = f->rcpt->last_error;
		bounce_folded(b, prefix,
			      diag != NULL ? diag : bounce_action(f));
		buf_str(b, "\r\n");
		free(prefix);
		free(addr);
	}
}

/* addr_type - RFC 6533 §3: an address with non-ASCII is of type utf-8
 * (raw UTF-8 is allowed in message/global-delivery-status). */
static const char *
addr_type(const char *addr)
{
	return utf8_is_ascii(addr) ? "rfc822" : "utf-8";
}

static void
bounce_status_part(struct bounce_buf *b, const char *host,
		   const struct queue_envelope *env,
		   const struct bounce_failure *failures, size_t n,
		   time_t retry_until)
{
	char date[64], *id = bounce_clean_name(env->id), *v;

	bounce_date(date, sizeof(date), env->arrival);
	/* Per-message fields (RFC 3464 §2.2), ENVID first (§2.2.1). */
	if (env->envid != NULL && env->envid[0] != '\0') {
		char *e = bounce_clean_name(env->envid);
		bounce_folded(b, "Original-Envelope-Id:", e);
		free(e);
	}
	v = xasprintf("dns; %s", host);
	bounce_folded(b, "Reporting-MTA:", v);
	free(v);
	bounce_folded(b, "X-Petrel-Queue-ID:", id);
	buf_printf(b, "Arrival-Date: %s\r\n", date);
	free(id);
	/* Per-recipient fields (§2.3), each block after a blank line. */
	for (size_t i = 0; i < n; i++) {
		const struct bounce_failure *f = &failures[i];
		char *addr = bounce_clean_name(f->rcpt->address);
		char *orcpt = bounce_clean_name(f->rcpt->orcpt);
		char *status, *action;
		bool delayed;

		action = bounce_clean(bounce_action(f));
		delayed = strcasecmp(action, "delayed") == 0;
		status = bounce_clean(f->status);
		if (status[0] == '\0') {
			free(status);
			status = xstrdup(delayed ? "4.0.0" : "5.0.0");
		}
		buf_str(b, "\r\n");
		if (f->rcpt->dsn_orcpt != NULL && f->rcpt->dsn_orcpt[0] != 0) {
			/* RFC 3464 §2.3.1: as the ORCPT parameter gave it. */
			v = bounce_clean_name(f->rcpt->dsn_orcpt);
			bounce_folded(b, "Original-Recipient:", v);
			free(v);
		} else if (orcpt[0] != '\0' && strcasecmp(orcpt, addr) != 0) {
			v = xasprintf("%s;%s", addr_type(orcpt), orcpt);
			bounce_folded(b, "Original-Recipient:", v);
			free(v);
		}
		v = xasprintf("%s;%s", addr_type(addr), addr);
		bounce_folded(b, "Final-Recipient:", v);
		free(v);
		bounce_folded(b, "Action:", action);
		bounce_folded(b, "Status:", status);
		if (f->remote_mta != NULL && f->remote_mta[0] != '\0') {
			char *mta = bounce_clean_name(f->remote_mta);
			v = xasprintf("dns; %s", mta);
			bounce_folded(b, "Remote-MTA:", v);
			free(v);
			free(mta);
		}
		if (f->diagnostic != NULL && f->diagnostic[0] != '\0') {
			char *d = bounce_clean(f->diagnostic);
			if (d[0] != '\0') {
				v = bounce_has_type(d)
					? xstrdup(d)
					: xasprintf("smtp; %s", d);
				bounce_folded(b, "Diagnostic-Code:", v);
				free(v);
			}
			free(d);
		}
		if (delayed && retry_until != 0) {
			/* RFC 3464 §2.3.8 */
			char until[64];
			bounce_date(until, sizeof(until), retry_until);
			buf_printf(b, "Will-Retry-Until: %s\r\n", until);
		}
		free(status);
		free(action);
		free(orcpt);
		free(addr);
	}
}

/* bounce_boundary - "=_petrel/ID/NOW" plus a counter until it occurs in
 * none of the parts. The "=_" cannot appear in quoted-printable or base64
 * text, and the counter makes the search end. */
static char *
bounce_boundary(const char *id, time_t now, const struct bounce_buf *parts,
		size_t nparts)
{
	char safe[QUEUE_ID_MAX + 1];
	size_t o = 0;

	for (size_t i = 0; id[i] != '\0' && i < QUEUE_ID_MAX; i++) {
		char c = id[i];
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z'))
			safe[o++] = c;
	}
	safe[o] = '\0';
	for (unsigned k = 0;; k++) {
		char *bd =
		    k == 0 ? xasprintf("=_petrel/%s/%lld", safe, (long long)now)
			   : xasprintf("=_petrel/%s/%lld/%u", safe,
				       (long long)now, k);
		bool found = false;
		for (size_t i = 0; i < nparts && !found; i++)
			found = bounce_contains(&parts[i], bd);
		if (!found)
			return bd;
		free(bd);
	}
}

char *
bounce_build(const char *hostname, const struct queue_envelope *env,
	     const struct bounce_failure *failures, size_t n_failures,
	     const char *orig_headers, size_t orig_len, time_t now,
	     size_t *len_r)
{
	struct bounce_options opt = {orig_headers, orig_len, false, false, 0};
	return bounce_build_report(hostname, env, failures, n_failures, &opt,
				   now, len_r);
}

char *
bounce_build_report(const char *hostname, const struct queue_envelope *env,
		    const struct bounce_failure *failures, size_t n_failures,
		    const struct bounce_options *opt, time_t now, size_t *len_r)
{
	struct bounce_buf parts[3] = {{NULL, 0, 0}}, out = {NULL, 0, 0};
	char date[64], *host = bounce_clean_name(hostname), *bd, *v;
	char *id = bounce_clean_name(env->id);
	bool eight, utf8 = opt->utf8, full = opt->full;
	bool any_failed = false, any_delayed = false;
	enum report_kind kind;

	if (host[0] == '\0') {
		free(host);
		host = xstrdup("localhost");
	}
	for (size_t i = 0; i < n_failures; i++) {
		const char *a = bounce_action(&failures[i]);
		if (strcasecmp(a, "delayed") == 0)
			any_delayed = true;
		else if (strcasecmp(a, "delivered") != 0 &&
			 strcasecmp(a, "relayed") != 0 &&
			 strcasecmp(a, "expanded") != 0)
			any_failed = true;
		if (!utf8_is_ascii(failures[i].rcpt->address) ||
		    (failures[i].rcpt->orcpt != NULL &&
		     !utf8_is_ascii(failures[i].rcpt->orcpt)))
			utf8 = true;
	}
	/* Any failure (or, as before, no entries at all): a bounce; else
	 * any delay: a delay warning; else a success report. */
	if (any_failed || n_failures == 0)
		kind = REPORT_FAILED;
	else if (any_delayed)
		kind = REPORT_DELAYED;
	else
		kind = REPORT_SUCCESS;
	/* RFC 3461 §4.3: only a failure report returns the whole. */
	if (kind != REPORT_FAILED)
		full = false;

	bounce_text_part(&parts[0], host, failures, n_failures, kind, full);
	bounce_status_part(&parts[1], host, env, failures, n_failures,
			   opt->retry_until);
	bounce_copy_part(&parts[2], opt->orig != NULL ? opt->orig : "",
			 opt->orig != NULL ? opt->orig_len : 0, full);
	bd = bounce_boundary(env->id, now, parts, 3);
	eight = bounce_has_8bit(&parts[0]) || bounce_has_8bit(&parts[1]) ||
		bounce_has_8bit(&parts[2]);

	/* The message header (RFC 3464 §2, RFC 3834 §5). */
	bounce_date(date, sizeof(date), now);
	buf_printf(&out, "Date: %s\r\n", date);
	v = xasprintf("Mail Delivery System <MAILER-DAEMON@%s>", host);
	bounce_folded(&out, "From:", v);
	free(v);
	if (env->sender != NULL && env->sender[0] != '\0') {
		char *s = bounce_clean_name(env->sender);
		v = xasprintf("<%s>", s);
		bounce_folded(&out, "To:", v);
		free(v);
		free(s);
	} else {
		/* A null sender gets no bounce (RFC 5321 §6.1); if asked
		 * anyway, name nobody rather than write an invalid field. */
		buf_str(&out, "To: undisclosed-recipients:;\r\n");
	}
	buf_str(&out, kind == REPORT_DELAYED
			  ? "Subject: Delayed Mail (still being retried)\r\n"
		      : kind == REPORT_SUCCESS
			  ? "Subject: Successful Mail Delivery Report\r\n"
			  : "Subject: Undelivered Mail Returned to Sender\r\n");
	v = xasprintf("<%s.%lld@%s>", id, (long long)now, host);
	bounce_folded(&out, "Message-ID:", v);
	free(v);
	buf_str(&out, "Auto-Submitted: auto-replied\r\n");
	buf_str(&out, "MIME-Version: 1.0\r\n");
	buf_str(&out, "Content-Type: multipart/report; "
		      "report-type=delivery-status;\r\n");
	buf_printf(&out, "\tboundary=\"%s\"\r\n", bd);
	if (eight)
		buf_str(&out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_str(&out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	buf_printf(&out, "--%s\r\n", bd);
	buf_str(&out, "Content-Description: Notification\r\n");
	buf_str(&out,
		bounce_has_8bit(&parts[0])
		    ? "Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: 8bit\r\n\r\n"
		    : "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
	buf_add(&out, parts[0].p, parts[0].len);

	buf_printf(&out, "\r\n--%s\r\n", bd);
	buf_str(&out, "Content-Description: Delivery report\r\n");
	/* RFC 6533 §6.2: UTF-8 addresses need the global type. */
	buf_str(&out, utf8 ? "Content-Type: message/global-delivery-status\r\n"
			   : "Content-Type: message/delivery-status\r\n");
	if (bounce_has_8bit(&parts[1]))
		buf_str(&out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_str(&out, "\r\n");
	buf_add(&out, parts[1].p, parts[1].len);

	buf_printf(&out, "\r\n--%s\r\n", bd);
	if (full) {
		buf_str(&out, "Content-Description: Undelivered Message\r\n");
		buf_str(&out, utf8 ? "Content-Type: message/global\r\n"
				   : "Content-Type: message/rfc822\r\n");
	} else {
		buf_str(&out, kind == REPORT_FAILED
				  ? "Content-Description: Undelivered Message "
				    "Headers\r\n"
				  : "Content-Description: Message Headers\r\n");
		/* RFC 6533 §6.3 */
		buf_str(&out, utf8 ? "Content-Type: message/global-headers\r\n"
				   : "Content-Type: text/rfc822-headers\r\n");
	}
	if (bounce_has_8bit(&parts[2]))
		buf_str(&out, "Content-Transfer-Encoding: 8bit\r\n");
	buf_str(&out, "\r\n");
	buf_add(&out, parts[2].p, parts[2].len);

	buf_printf(&out, "\r\n--%s--\r\n", bd);

	for (size_t i = 0; i < 3; i++)
		free(parts[i].p);
	free(bd);
	free(id);
	free(host);
	buf_add(&out, "", 1);
	*len_r = out.len - 1;
	return out.p;
}

void
bounce_status(const char *text, char cls, char *out, size_t outlen)
{
	int a, b, c;

	snprintf(out, outlen, "%c.0.0", cls);
	for (const char *p = text; p != NULL && *p != '\0'; p++) {
		if ((*p == '2' || *p == '4' || *p == '5') && p[1] == '.' &&
		    sscanf(p, "%d.%d.%d", &a, &b, &c) == 3 &&
		    (p == text || p[-1] == ' ') && b >= 0 && b < 1000 &&
		    c >= 0 && c < 1000) {
			snprintf(out, outlen, "%c.%d.%d", cls, b, c);
			return;
		}
	}
}

size_t
bounce_select(const struct queue_envelope *env, enum bounce_kind kind,
	      struct bounce_failure *out, char (*status)[16])
{
	size_t n = 0;

	if (env->sender == NULL || env->sender[0] == '\0')
		return 0; /* RFC 3461 §6.2: never to the null sender */
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		/* §4.1: no NOTIFY means FAILURE,DELAY. */
		unsigned notify =
		    r->notify != 0 ? r->notify
				   : QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY;
		const char *action = NULL;
		char cls = '5';

		if (kind == BOUNCE_DELAY) {
			if (r->state == QUEUE_RCPT_PENDING &&
			    (notify & QUEUE_NOTIFY_DELAY)) {
				action = "delayed";
				cls = '4';
			}
		} else if (r->state == QUEUE_RCPT_FAILED) {
			if (notify & QUEUE_NOTIFY_FAILURE)
				action = "failed";
		} else if (r->state == QUEUE_RCPT_DONE &&
			   (notify & QUEUE_NOTIFY_SUCCESS)) {
			/* §6.2.2.x: delivered here, or relayed to a hop
			 * that took no DSN; a hop with DSN reports itself. */
			action = r->local     ? "delivered"
				 : r->relayed ? "relayed"
					      : NULL;
			cls = '2';
		}
		if (action == NULL)
			continue;
		bounce_status(r->last_error, cls, status[n], sizeof(status[n]));
		out[n] = (struct bounce_failure){
		    .rcpt = r,
		    .status = status[n],
		    /* A local delivery has no SMTP reply to quote. */
		    .diagnostic = r->local && cls == '2' ? NULL : r->last_error,
		    .action = action,
		};
		n++;
	}
	return n;
}
