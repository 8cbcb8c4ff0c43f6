#include "queue/envelope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

/* sb_field - a tab and the value, with %, TAB, CR and LF %-escaped. */
static void
sb_field(struct strbuf *sb, const char *v)
{
	strbuf_add(sb, "\t", 1);
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '%' || *v == '\t' || *v == '\r' || *v == '\n') {
			char esc[4];
			snprintf(esc, sizeof(esc), "%%%02X", (unsigned char)*v);
			strbuf_add(sb, esc, 3);
		} else {
			strbuf_add(sb, v, 1);
		}
	}
}

static void
sb_num(struct strbuf *sb, uint64_t v)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRIu64, v);
	sb_field(sb, num);
}

struct queue_rcpt *
queue_envelope_add_rcpt(struct queue_envelope *env, const char *address,
			const char *orcpt, bool local, const char *domain,
			const char *localpart)
{
	env->rcpts =
	    xrealloc(env->rcpts, (env->n_rcpts + 1) * sizeof(*env->rcpts));
	struct queue_rcpt *r = &env->rcpts[env->n_rcpts++];
	memset(r, 0, sizeof(*r));
	r->address = xstrdup(address);
	r->orcpt = xstrdup(orcpt != NULL ? orcpt : "");
	r->local = local;
	r->domain = xstrdup(domain != NULL ? domain : "");
	r->localpart = xstrdup(localpart != NULL ? localpart : "");
	return r;
}

static const char *const body_names[] = {
    [QUEUE_BODY_UNKNOWN] = "",
    [QUEUE_BODY_7BIT] = "7BIT",
    [QUEUE_BODY_8BITMIME] = "8BITMIME",
    [QUEUE_BODY_BINARYMIME] = "BINARYMIME",
};

static const char *const ret_names[] = {
    [QUEUE_RET_NONE] = "",
    [QUEUE_RET_FULL] = "FULL",
    [QUEUE_RET_HDRS] = "HDRS",
};

/* The NOTIFY words in the order RFC 3461 §4.1 lists them. */
static const struct {
	const char *name;
	unsigned bit;
} notify_words[] = {
    {"NEVER", QUEUE_NOTIFY_NEVER},
    {"SUCCESS", QUEUE_NOTIFY_SUCCESS},
    {"FAILURE", QUEUE_NOTIFY_FAILURE},
    {"DELAY", QUEUE_NOTIFY_DELAY},
};

#define N_NOTIFY (sizeof(notify_words) / sizeof(notify_words[0]))

void
queue_notify_format(unsigned notify, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < N_NOTIFY && o < outlen; i++)
		if (notify & notify_words[i].bit)
			o += (size_t)snprintf(out + o, outlen - o, "%s%s",
					      o > 0 ? "," : "",
					      notify_words[i].name);
}

/* parse_notify_text - the reverse of queue_notify_format. */
static int
parse_notify_text(const char *s, unsigned *notify_r)
{
	unsigned bits = 0;

	while (*s != '\0') {
		size_t n = strcspn(s, ",");
		bool found = false;
		for (size_t i = 0; i < N_NOTIFY; i++)
			if (strlen(notify_words[i].name) == n &&
			    strncmp(s, notify_words[i].name, n) == 0) {
				bits |= notify_words[i].bit;
				found = true;
			}
		if (!found)
			return -1;
		s += n;
		if (*s == ',')
			s++;
	}
	*notify_r = bits;
	return 0;
}

/* name_index - the index of s in names[n] (non-empty ones), or -1. */
static int
name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i][0] != '\0' && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

char *
queue_envelope_format(const struct queue_envelope *env, size_t *len_r)
{
	struct strbuf sb = {0};

	strbuf_add(&sb, "petrel-queue 1\n", 15);
	strbuf_add(&sb, "id", 2);
	sb_field(&sb, env->id);
	strbuf_add(&sb, "\narrival", 8);
	sb_num(&sb, (uint64_t)env->arrival);
	strbuf_add(&sb, "\nsize", 5);
	sb_num(&sb, env->size);
	strbuf_add(&sb, "\nclient", 7);
	sb_field(&sb, env->client);
	sb_field(&sb, env->helo);
	strbuf_add(&sb, "\nsender", 7);
	sb_field(&sb, env->sender);
	strbuf_add(&sb, "\n", 1);
	/* The optional records: only what differs from the default. */
	if (env->trace > 0) {
		strbuf_add(&sb, "trace", 5);
		sb_num(&sb, env->trace);
		strbuf_add(&sb, "\n", 1);
	}
	if (env->body != QUEUE_BODY_UNKNOWN &&
	    (unsigned)env->body < sizeof(body_names) / sizeof(body_names[0])) {
		strbuf_add(&sb, "body", 4);
		sb_field(&sb, body_names[env->body]);
		strbuf_add(&sb, "\n", 1);
	}
	if (env->smtputf8 != 0) {
		char f[4];
		size_t n = 0;
		if (env->smtputf8 & QUEUE_UTF8_REQUESTED)
			f[n++] = 'R';
		if (env->smtputf8 & QUEUE_UTF8_HEADERS)
			f[n++] = 'H';
		f[n] = '\0';
		strbuf_add(&sb, "smtputf8", 8);
		sb_field(&sb, f);
		strbuf_add(&sb, "\n", 1);
	}
	if (env->ret != QUEUE_RET_NONE &&
	    (unsigned)env->ret < sizeof(ret_names) / sizeof(ret_names[0])) {
		strbuf_add(&sb, "ret", 3);
		sb_field(&sb, ret_names[env->ret]);
		strbuf_add(&sb, "\n", 1);
	}
	if (env->envid != NULL) {
		strbuf_add(&sb, "envid", 5);
		sb_field(&sb, env->envid);
		strbuf_add(&sb, "\n", 1);
	}
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		strbuf_add(&sb, "rcpt", 4);
		sb_num(&sb, i);
		sb_field(&sb, r->local ? "L" : "R");
		sb_field(&sb, r->address);
		sb_field(&sb, r->orcpt);
		sb_field(&sb, r->domain);
		sb_field(&sb, r->localpart);
		strbuf_add(&sb, "\n", 1);
		if (r->notify != 0 || r->dsn_orcpt != NULL) {
			char notify[64];
			queue_notify_format(r->notify, notify, sizeof(notify));
			strbuf_add(&sb, "dsn", 3);
			sb_num(&sb, i);
			sb_field(&sb, notify);
			sb_field(&sb, r->dsn_orcpt);
			strbuf_add(&sb, "\n", 1);
		}
	}
	if (env->warned != 0) {
		strbuf_add(&sb, "warned", 6);
		sb_num(&sb, (uint64_t)env->warned);
		strbuf_add(&sb, "\n", 1);
	}
	*len_r = sb.len;
	return sb.p;
}

char *
queue_envelope_format_update(size_t idx, enum queue_rcpt_state state,
			     time_t now, time_t next, const char *text,
			     size_t *len_r)
{
	return queue_envelope_format_outcome(idx, state, now, next, text, false,
					     len_r);
}

char *
queue_envelope_format_warned(time_t now, size_t *len_r)
{
	struct strbuf sb = {0};

	strbuf_add(&sb, "warned", 6);
	sb_num(&sb, (uint64_t)now);
	strbuf_add(&sb, "\n", 1);
	*len_r = sb.len;
	return sb.p;
}

char *
queue_envelope_format_outcome(size_t idx, enum queue_rcpt_state state,
			      time_t now, time_t next, const char *text,
			      bool relayed, size_t *len_r)
{
	struct strbuf sb = {0};
	const char *kind = state == QUEUE_RCPT_DONE	? "done"
			   : state == QUEUE_RCPT_FAILED ? "fail"
							: "defer";
	strbuf_add(&sb, kind, strlen(kind));
	sb_num(&sb, idx);
	sb_num(&sb, (uint64_t)now);
	if (state == QUEUE_RCPT_PENDING)
		sb_num(&sb, (uint64_t)next);
	sb_field(&sb, text);
	if (state == QUEUE_RCPT_DONE && relayed)
		sb_field(&sb, "relayed");
	strbuf_add(&sb, "\n", 1);
	*len_r = sb.len;
	return sb.p;
}

#define MAX_FIELDS 8

/*
 * unescape - decode %XX in place; returns 0 or -1 on a bad escape.
 * Exactly two hex digits (sscanf's "%2x" would take "% 1", "%+1", "%1G");
 * "%00" is refused, since a value is a C string.
 */
static int
unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (*r != '%') {
			*w++ = *r;
			continue;
		}
		int hi = num_hex_digit(r[1]),
		    lo = hi < 0 ? -1 : num_hex_digit(r[2]);
		if (lo < 0 || (hi == 0 && lo == 0))
			return -1;
		*w++ = (char)(hi * 16 + lo);
		r += 2;
	}
	*w = '\0';
	return 0;
}

static int
parse_u64(const char *s, uint64_t *v_r)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -1;
	*v_r = v;
	return 0;
}

/* parse_optional - the records of issue 9 (see envelope.h); -1 if f is
 * none of them or malformed. */
static int
parse_optional(struct queue_envelope *env, char **f, size_t nf)
{
	uint64_t v = 0;
	int k;

	if (strcmp(f[0], "trace") == 0 && nf == 2 && parse_u64(f[1], &v) == 0) {
		env->trace = v;
	} else if (strcmp(f[0], "body") == 0 && nf == 2 &&
		   (k = name_index(body_names,
				   sizeof(body_names) / sizeof(body_names[0]),
				   f[1])) > 0) {
		env->body = (enum queue_body)k;
	} else if (strcmp(f[0], "smtputf8") == 0 && nf == 2 &&
		   strspn(f[1], "RH") == strlen(f[1])) {
		env->smtputf8 = (strchr(f[1], 'R') ? QUEUE_UTF8_REQUESTED : 0) |
				(strchr(f[1], 'H') ? QUEUE_UTF8_HEADERS : 0);
	} else if (strcmp(f[0], "ret") == 0 && nf == 2 &&
		   (k = name_index(ret_names,
				   sizeof(ret_names) / sizeof(ret_names[0]),
				   f[1])) > 0) {
		env->ret = (enum queue_ret)k;
	} else if (strcmp(f[0], "envid") == 0 && nf == 2) {
		free(env->envid);
		env->envid = xstrdup(f[1]);
	} else if (strcmp(f[0], "dsn") == 0 && nf == 4 &&
		   parse_u64(f[1], &v) == 0 && v < env->n_rcpts) {
		struct queue_rcpt *r = &env->rcpts[v];
		if (parse_notify_text(f[2], &r->notify) < 0)
			return -1;
		free(r->dsn_orcpt);
		r->dsn_orcpt = f[3][0] != '\0' ? xstrdup(f[3]) : NULL;
	} else if (strcmp(f[0], "warned") == 0 && nf == 2 &&
		   parse_u64(f[1], &v) == 0) {
		env->warned = (time_t)v;
	} else {
		return -1;
	}
	return 0;
}

static int
parse_line(struct queue_envelope *env, char **f, size_t nf, char *err,
	   size_t errlen)
{
	uint64_t idx = 0, t = 0, next = 0;

	/* An id longer than the buffer would be cut silently: refuse it. */
	if (strcmp(f[0], "id") == 0 && nf == 2 &&
	    strlen(f[1]) < sizeof(env->id)) {
		snprintf(env->id, sizeof(env->id), "%s", f[1]);
	} else if (strcmp(f[0], "arrival") == 0 && nf == 2 &&
		   parse_u64(f[1], &t) == 0) {
		env->arrival = (time_t)t;
	} else if (strcmp(f[0], "size") == 0 && nf == 2 &&
		   parse_u64(f[1], &env->size) == 0) {
	} else if (strcmp(f[0], "client") == 0 && nf == 3) {
		free(env->client);
		free(env->helo);
		env->client = xstrdup(f[1]);
		env->helo = xstrdup(f[2]);
	} else if (strcmp(f[0], "sender") == 0 && nf == 2) {
		free(env->sender);
		env->sender = xstrdup(f[1]);
	} else if (strcmp(f[0], "rcpt") == 0 && nf == 7 &&
		   parse_u64(f[1], &idx) == 0 && idx == env->n_rcpts &&
		   (strcmp(f[2], "L") == 0 || strcmp(f[2], "R") == 0)) {
		queue_envelope_add_rcpt(env, f[3], f[4], f[2][0] == 'L', f[5],
					f[6]);
	} else if ((strcmp(f[0], "done") == 0 || strcmp(f[0], "fail") == 0) &&
		   (nf == 4 || (nf == 5 && f[0][0] == 'd' &&
				strcmp(f[4], "relayed") == 0)) &&
		   parse_u64(f[1], &idx) == 0 && idx < env->n_rcpts &&
		   parse_u64(f[2], &t) == 0) {
		struct queue_rcpt *r = &env->rcpts[idx];
		r->state = f[0][0] == 'd' ? QUEUE_RCPT_DONE : QUEUE_RCPT_FAILED;
		r->relayed = nf == 5;
		r->attempts++;
		free(r->last_error);
		r->last_error = xstrdup(f[3]);
	} else if (strcmp(f[0], "defer") == 0 && nf == 5 &&
		   parse_u64(f[1], &idx) == 0 && idx < env->n_rcpts &&
		   parse_u64(f[2], &t) == 0 && parse_u64(f[3], &next) == 0) {
		struct queue_rcpt *r = &env->rcpts[idx];
		r->attempts++;
		r->next_attempt = (time_t)next;
		free(r->last_error);
		r->last_error = xstrdup(f[4]);
	} else if (strcmp(f[0], "flush") == 0 && nf == 2 &&
		   parse_u64(f[1], &t) == 0) {
		/* `petrel queue flush`: every pending recipient is due now;
		 * not an attempt, so the back-off is not advanced. */
		for (size_t i = 0; i < env->n_rcpts; i++)
			if (env->rcpts[i].state == QUEUE_RCPT_PENDING)
				env->rcpts[i].next_attempt = 0;
	} else if (parse_optional(env, f, nf) == 0) {
		/* trace, body, smtputf8, ret, envid, dsn, warned */
	} else {
		snprintf(err, errlen, "bad record '%s'", f[0]);
		return -1;
	}
	return 0;
}

int
queue_envelope_parse(const char *text, size_t len, struct queue_envelope *env_r,
		     char *err, size_t errlen)
{
	static const char magic[] = "petrel-queue 1\n";
	char *copy, *line, *eol;
	int ret = 0;

	memset(env_r, 0, sizeof(*env_r));
	if (len < sizeof(magic) - 1 ||
	    memcmp(text, magic, sizeof(magic) - 1) != 0) {
		snprintf(err, errlen, "not a petrel queue file");
		return -1;
	}
	copy = xstrndup(text, len);
	if (strlen(copy) != len) {
		free(copy);
		snprintf(err, errlen, "NUL byte in queue file");
		return -1;
	}
	line = copy + sizeof(magic) - 1;
	/* Only complete lines count: a torn final append is ignored. */
	while (ret == 0 && (eol = strchr(line, '\n')) != NULL) {
		char *f[MAX_FIELDS];
		size_t nf = 0;
		*eol = '\0';
		for (char *p = line;; p++) {
			if (nf == MAX_FIELDS) {
				snprintf(err, errlen, "too many fields");
				ret = -1;
				break;
			}
			f[nf++] = p;
			p = strchr(p, '\t');
			if (p == NULL)
				break;
			*p = '\0';
		}
		for (size_t i = 0; ret == 0 && i < nf; i++)
			if (unescape(f[i]) < 0) {
				snprintf(err, errlen, "bad escape");
				ret = -1;
			}
		if (ret == 0)
			ret = parse_line(env_r, f, nf, err, errlen);
		line = eol + 1;
	}
	free(copy);
	if (ret == 0 && (env_r->id[0] == '\0' || env_r->sender == NULL)) {
		snprintf(err, errlen, "incomplete queue file");
		ret = -1;
	}
	if (ret == 0 && env_r->client == NULL) {
		env_r->client = xstrdup("");
		env_r->helo = xstrdup("");
	}
	if (ret < 0)
		queue_envelope_free(env_r);
	return ret;
}

size_t
queue_envelope_pending(const struct queue_envelope *env)
{
	size_t n = 0;
	for (size_t i = 0; i < env->n_rcpts; i++)
		if (env->rcpts[i].state == QUEUE_RCPT_PENDING)
			n++;
	return n;
}

void
queue_envelope_copy(struct queue_envelope *dst,
		    const struct queue_envelope *src)
{
	memset(dst, 0, sizeof(*dst));
	snprintf(dst->id, sizeof(dst->id), "%s", src->id);
	dst->arrival = src->arrival;
	dst->size = src->size;
	dst->client = xstrdup(src->client ? src->client : "");
	dst->helo = xstrdup(src->helo ? src->helo : "");
	dst->sender = xstrdup(src->sender ? src->sender : "");
	dst->trace = src->trace;
	dst->body = src->body;
	dst->smtputf8 = src->smtputf8;
	dst->ret = src->ret;
	dst->envid = src->envid ? xstrdup(src->envid) : NULL;
	dst->warned = src->warned;
	for (size_t i = 0; i < src->n_rcpts; i++) {
		const struct queue_rcpt *r = &src->rcpts[i];
		struct queue_rcpt *c =
		    queue_envelope_add_rcpt(dst, r->address, r->orcpt, r->local,
					    r->domain, r->localpart);
		c->state = r->state;
		c->attempts = r->attempts;
		c->next_attempt = r->next_attempt;
		c->last_error = r->last_error ? xstrdup(r->last_error) : NULL;
		c->notify = r->notify;
		c->dsn_orcpt = r->dsn_orcpt ? xstrdup(r->dsn_orcpt) : NULL;
		c->relayed = r->relayed;
	}
}

void
queue_envelope_free(struct queue_envelope *env)
{
	for (size_t i = 0; i < env->n_rcpts; i++) {
		struct queue_rcpt *r = &env->rcpts[i];
		free(r->address);
		free(r->orcpt);
		free(r->domain);
		free(r->localpart);
		free(r->last_error);
		free(r->dsn_orcpt);
	}
	free(env->rcpts);
	free(env->client);
	free(env->helo);
	free(env->sender);
	free(env->envid);
	memset(env, 0, sizeof(*env));
}
