/*
 * mime_parse - the streaming MIME parser.
 *
 * The input is cut into lines as it arrives. Of a body line only its
 * first MP_LBUF bytes are kept (enough to recognise "--" boundary "--");
 * header lines go into one header buffer (at most max_header bytes)
 * that is parsed when the header ends and then reused. LF and bare-LF
 * counters run over the whole input; a part records them where its
 * header and body start and subtracts at its end, so nested parts cost
 * nothing per byte.
 *
 * Where RFC 2045/2046 leave the reader a choice, the choices are
 * Dovecot's (the server IMAP clients are tested against most), checked
 * on the fixtures in tests/unit/test_imap_bodystructure.c:
 *   - Content-* fields of a message (top-level or embedded) count only
 *     if it has MIME-Version or Content-Type (RFC 2045 §4);
 *   - the first Content-Type, -Transfer-Encoding, -ID, -Description,
 *     -Language, -Location, -MD5 counts, the last Content-Disposition;
 *   - the envelope takes the last Date/Subject/Message-ID/In-Reply-To
 *     and all From/Sender/Reply-To/To/Cc/Bcc fields joined;
 *   - a header ends at an empty line, or at a boundary line (then the
 *     line end before the boundary belongs to the boundary).
 */
#include "mime/mime_parse.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_decode.h"
#include "mime/rfc5322.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MP_LBUF	     (2 + MIME_MAX_BOUNDARY + 2 + 8)
#define MP_MAX_PARAM 256 /* parameters of one field looked at */

struct mp_bnd {
	uint32_t part; /* the multipart */
	uint32_t last; /* its last child so far, or MIME_NONE */
	uint32_t len;
	char b[MIME_MAX_BOUNDARY];
};

/* A parameter as written, before RFC 2231 joining. */
struct mp_rawparam {
	const char *name; /* base name, without "*N" / "*" */
	size_t name_len;
	const char *value; /* unescaped value (scratch memory) */
	size_t value_len;
	long section;  /* RFC 2231 section number, -1 if none */
	bool extended; /* name ended in "*" (charset'lang'%XX) */
	bool star;     /* any RFC 2231 syntax */
	bool used;
};

struct mime_parser {
	struct mime_limits lim;
	struct mime_tree *t;
	uint32_t cap_parts, cap_params, cap_envs, cap_strings;
	bool kept_full; /* max_kept reached: no more structure */

	uint64_t pos;	     /* offset of the next byte */
	uint64_t nlf, nbare; /* LFs and bare LFs before pos */
	bool last_cr;	     /* the byte before pos is CR */

	uint64_t line_start; /* offset of the current line */
	char lbuf[MP_LBUF];  /* its first bytes */
	size_t llen;
	bool line_lf, line_bare; /* the line ended in LF; a bare one */
	unsigned prev_eol;	 /* line end length of the previous line */
	bool prev_bare;

	bool in_header;		  /* cur's header is being read */
	uint32_t cur;		  /* innermost open node */
	char *hbuf;		  /* cur's header so far */
	size_t hlen, hcap, hline; /* hline: hlen at the current line */
	bool hcut;

	struct mp_bnd *bnd;
	uint32_t nbnd, capbnd;

	/* scratch for one header field's parameters */
	struct mp_rawparam *raw; /* MP_MAX_PARAM of them, on first use */
	struct strbuf scratch, scratch2;
};

void
mime_limits_default(struct mime_limits *l)
{
	l->max_depth = MIME_DEFAULT_MAX_DEPTH;
	l->max_parts = MIME_DEFAULT_MAX_PARTS;
	l->max_header = MIME_DEFAULT_MAX_HEADER;
	l->max_kept = MIME_DEFAULT_MAX_KEPT;
}

/* ---- the tree's arrays ---- */

static void *
mp_grow(void *a, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return a;
	uint32_t n = *cap < 8 ? 8 : *cap;
	while (n < need)
		n = n > UINT32_MAX / 2 ? UINT32_MAX : n * 2;
	*cap = n;
	return xrealloc(a, (size_t)n * size);
}

/* mp_str - keep n bytes in tree->strings; absent past max_kept. */
static struct mime_str
mp_str(struct mime_parser *p, const char *s, size_t n)
{
	struct mime_tree *t = p->t;
	struct mime_str r = {0, 0};

	if (n > p->lim.max_kept || t->strings_len > p->lim.max_kept - n) {
		t->flags |= MIME_TREE_LIMIT;
		p->kept_full = true;
		return r;
	}
	t->strings = mp_grow(t->strings, &p->cap_strings,
			     t->strings_len + (uint32_t)n + 1, 1);
	r.off = t->strings_len;
	r.len = (uint32_t)n;
	if (n > 0)
		memcpy(t->strings + r.off, s, n);
	t->strings[r.off + n] = '\0'; /* handy for charset names */
	t->strings_len += (uint32_t)n + 1;
	return r;
}

static struct mime_str
mp_strz(struct mime_parser *p, const char *s)
{
	return mp_str(p, s, strlen(s));
}

/* mp_str_join - "a,b" (address fields seen twice): a grows in place
 * when it is the last string kept, as it is for a run of To: fields,
 * so a header of many such fields costs linear time. */
static struct mime_str
mp_str_join(struct mime_parser *p, struct mime_str a, const char *b, size_t n)
{
	struct mime_tree *t = p->t;
	struct strbuf *sb = &p->scratch2;

	if (a.off + a.len + 1 == t->strings_len) {
		if (n + 1 > p->lim.max_kept ||
		    t->strings_len > p->lim.max_kept - n - 1) {
			t->flags |= MIME_TREE_LIMIT;
			p->kept_full = true;
			return a;
		}
		t->strings = mp_grow(t->strings, &p->cap_strings,
				     t->strings_len + (uint32_t)n + 1, 1);
		t->strings[a.off + a.len] = ',';
		memcpy(t->strings + a.off + a.len + 1, b, n);
		a.len += (uint32_t)n + 1;
		t->strings[a.off + a.len] = '\0';
		t->strings_len += (uint32_t)n + 1;
		return a;
	}
	sb->len = 0;
	strbuf_add(sb, p->t->strings + a.off, a.len);
	strbuf_add(sb, ",", 1);
	strbuf_add(sb, b, n);
	return mp_str(p, sb->p, sb->len);
}

static uint32_t
mp_part_new(struct mime_parser *p, uint32_t parent, uint64_t hdr_off)
{
	struct mime_tree *t = p->t;
	struct mime_part *x;
	uint32_t i = t->nparts;

	t->parts = mp_grow(t->parts, &p->cap_parts, i + 1, sizeof(*x));
	t->nparts++;
	x = &t->parts[i];
	memset(x, 0, sizeof(*x));
	x->parent = parent;
	x->child = x->next = MIME_NONE;
	x->depth = parent == MIME_NONE ? 0 : t->parts[parent].depth + 1;
	x->hdr_off = hdr_off;
	x->hdr_bare_lf = p->nbare; /* made relative when the header ends */
	x->param = x->dparam = x->lang = 0;
	x->env = MIME_NONE;
	return i;
}

static uint32_t
mp_env_new(struct mime_parser *p)
{
	struct mime_tree *t = p->t;
	uint32_t i = t->nenvs;

	t->envs = mp_grow(t->envs, &p->cap_envs, i + 1, sizeof(*t->envs));
	t->nenvs++;
	memset(&t->envs[i], 0, sizeof(t->envs[i]));
	return i;
}

static uint32_t
mp_param_new(struct mime_parser *p)
{
	struct mime_tree *t = p->t;
	uint32_t i = t->nparams;

	t->params =
	    mp_grow(t->params, &p->cap_params, i + 1, sizeof(*t->params));
	t->nparams++;
	memset(&t->params[i], 0, sizeof(t->params[i]));
	return i;
}

/* ---- a small lexer for structured field values (RFC 2045 §5.1) ---- */

struct mp_lex {
	const char *p, *e;
};

/* mp_cfws - skip white space and (nested (comments)). */
static void
mp_cfws(struct mp_lex *x)
{
	x->p = rfc5322_skip_cfws(x->p, x->e);
}

/* RFC 2045 token: CHAR except SPACE, CTLs and tspecials; 8-bit bytes
 * accepted (RFC 6532). */
static bool
mp_is_token(char c)
{
	unsigned char u = (unsigned char)c;

	if (u <= 32 || u == 127)
		return false;
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case '@':
	case ',':
	case ';':
	case ':':
	case '\\':
	case '"':
	case '/':
	case '[':
	case ']':
	case '?':
	case '=':
		return false;
	default:
		return true;
	}
}

static size_t
mp_token(struct mp_lex *x, const char **s)
{
	*s = x->p;
	while (x->p < x->e && mp_is_token(*x->p))
		x->p++;
	return (size_t)(x->p - *s);
}

/* mp_quoted - at a '"': the unescaped content appended to sb. An
 * unterminated string runs to the end of the value. */
static void
mp_quoted(struct mp_lex *x, struct strbuf *sb)
{
	const char *run;

	x->p++;
	run = x->p;
	while (x->p < x->e && *x->p != '"') {
		if (*x->p == '\\' && x->p + 1 < x->e) {
			strbuf_add(sb, run, (size_t)(x->p - run));
			x->p++;
			run = x->p;
		} else if (*x->p == '\r' || *x->p == '\n') {
			/* folding inside a quoted string: drop CR/LF */
			strbuf_add(sb, run, (size_t)(x->p - run));
			run = x->p + 1;
		}
		x->p++;
	}
	strbuf_add(sb, run, (size_t)(x->p - run));
	if (x->p < x->e)
		x->p++;
}

/* ---- Content-Type / Content-Disposition parameters ---- */

/* mp_pct_decode - RFC 2231 %XX decoding, appended to sb. */
static void
mp_pct_decode(const char *s, size_t n, struct strbuf *sb)
{
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (s[i] == '%' && i + 2 < n &&
		    (h = mime_decode_hex(s[i + 1])) >= 0 &&
		    (l = mime_decode_hex(s[i + 2])) >= 0) {
			char c = (char)(h * 16 + l);
			strbuf_add(sb, &c, 1);
			i += 2;
		} else {
			strbuf_add(sb, s + i, 1);
		}
	}
}

static int
mp_rawparam_cmp(const void *a, const void *b)
{
	const struct mp_rawparam *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = strncasecmp(x->name, y->name, n);

	if (c != 0)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	return 0;
}

/*
 * mp_params - parse "; name=value" pairs from x into tree->params:
 * plain parameters first, in order, then the RFC 2231 ones joined, by
 * name (as Dovecot lists them). Sets *first and *count.
 */
static void
mp_params(struct mime_parser *p, struct mp_lex *x, uint32_t *first,
	  uint32_t *count)
{
	struct strbuf *sb = &p->scratch;
	size_t n = 0;

	sb->len = 0;
	strbuf_add(sb, "", 0); /* sb->p is set from here on */
	if (p->raw == NULL)
		p->raw = xmalloc(MP_MAX_PARAM * sizeof(*p->raw));
	/* Pass 1: the raw pairs; values unescaped into one scratch buffer
	 * (offsets now, pointers once it has stopped growing). */
	for (;;) {
		const char *name, *v;
		size_t nl, vl, voff;

		mp_cfws(x);
		while (x->p < x->e && *x->p != ';')
			x->p++; /* garbage before the next ';' */
		if (x->p == x->e)
			break;
		x->p++;
		mp_cfws(x);
		nl = mp_token(x, &name);
		if (nl == 0)
			continue;
		mp_cfws(x);
		if (x->p == x->e || *x->p != '=')
			continue;
		x->p++;
		mp_cfws(x);
		voff = sb->len;
		if (x->p < x->e && *x->p == '"') {
			mp_quoted(x, sb);
		} else {
			vl = mp_token(x, &v);
			strbuf_add(sb, v, vl);
		}
		if (n == MP_MAX_PARAM)
			continue;
		struct mp_rawparam *r = &p->raw[n++];
		memset(r, 0, sizeof(*r));
		r->name = name;
		r->name_len = nl;
		r->value = (const char *)(uintptr_t)voff;
		r->value_len = sb->len - voff;
		r->section = -1;
		/* RFC 2231: name*, name*N, name*N* */
		const char *star = memchr(name, '*', nl);
		if (star != NULL) {
			const char *q = star + 1, *e = name + nl;
			long sec = -1;
			if (q < e && *q >= '0' && *q <= '9') {
				sec = 0;
				while (q < e && *q >= '0' && *q <= '9') {
					if (sec < 100000)
						sec = sec * 10 + (*q - '0');
					q++;
				}
			}
			/* "name*" alone is extended; "name*N" is a
			 * plain section, "name*N*" an extended one */
			bool ext = sec < 0 || (q < e && *q == '*');
			if (sec >= 0 && ext)
				q++;
			if (q == e && star > name) {
				r->star = true;
				r->extended = ext;
				r->section = sec < 0 ? 0 : sec;
				r->name_len = (size_t)(star - name);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		p->raw[i].value = sb->p + (uintptr_t)p->raw[i].value;

	*first = p->t->nparams;
	*count = 0;
	/* Pass 2: plain parameters. */
	for (size_t i = 0; i < n; i++) {
		struct mp_rawparam *r = &p->raw[i];
		if (r->star)
			continue;
		uint32_t k = mp_param_new(p);
		struct mime_param *mp = &p->t->params[k];
		mp->name = mp_str(p, r->name, r->name_len);
		mp->imap_name = mp->name;
		mp->imap_value = mp_str(p, r->value, r->value_len);
		/* Many mailers put RFC 2047 words in quoted values. */
		p->scratch2.len = 0;
		strbuf_add(&p->scratch2, "", 0);
		if (memmem(r->value, r->value_len, "=?", 2) != NULL)
			mime_decode_header(r->value, r->value_len,
					   &p->scratch2);
		else
			mime_decode_utf8(NULL, r->value, r->value_len,
					 &p->scratch2);
		mp->value = mp_str(p, p->scratch2.p, p->scratch2.len);
		(*count)++;
	}
	/* Pass 3: RFC 2231 groups, sorted by name then section. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (p->raw[i].star)
			p->raw[m++] = p->raw[i];
	qsort(p->raw, m, sizeof(p->raw[0]), mp_rawparam_cmp);
	for (size_t i = 0; i < m;) {
		size_t j = i;
		bool ext = false;
		while (j < m && p->raw[j].name_len == p->raw[i].name_len &&
		       strncasecmp(p->raw[j].name, p->raw[i].name,
				   p->raw[i].name_len) == 0) {
			ext |= p->raw[j].extended;
			j++;
		}
		struct strbuf imapv = {0}, raw = {0}, dec = {0};
		char charset[64] = "";
		long last = -1;
		for (size_t k = i; k < j; k++) {
			struct mp_rawparam *r = &p->raw[k];
			const char *v = r->value;
			size_t vl = r->value_len;
			if (r->section == last)
				continue; /* a section given twice */
			last = r->section;
			strbuf_add(&imapv, v, vl);
			if (r->extended && k == i) {
				/* charset'language'value */
				const char *a = memchr(v, '\'', vl);
				const char *b =
				    a ? memchr(a + 1, '\'',
					       vl - (size_t)(a + 1 - v))
				      : NULL;
				if (b != NULL) {
					size_t cl = (size_t)(a - v);
					if (cl < sizeof(charset)) {
						memcpy(charset, v, cl);
						charset[cl] = '\0';
					}
					vl -= (size_t)(b + 1 - v);
					v = b + 1;
				}
			}
			if (r->extended)
				mp_pct_decode(v, vl, &raw);
			else
				strbuf_add(&raw, v, vl);
		}
		uint32_t k = mp_param_new(p);
		struct mime_param *mp = &p->t->params[k];
		mp->name = mp_str(p, p->raw[i].name, p->raw[i].name_len);
		if (ext) {
			p->scratch2.len = 0;
			strbuf_add(&p->scratch2, p->raw[i].name,
				   p->raw[i].name_len);
			strbuf_add(&p->scratch2, "*", 1);
			mp->imap_name =
			    mp_str(p, p->scratch2.p, p->scratch2.len);
		} else {
			mp->imap_name = mp->name;
		}
		mp->imap_value = mp_str(p, imapv.p ? imapv.p : "", imapv.len);
		mime_decode_utf8(charset, raw.p ? raw.p : "", raw.len, &dec);
		mp->value = mp_str(p, dec.p ? dec.p : "", dec.len);
		free(imapv.p);
		free(raw.p);
		free(dec.p);
		(*count)++;
		i = j;
	}
}

/* mp_param_find - parameter name among a part's: its decoded value, or
 * with raw its value as written (a boundary is compared byte for byte,
 * so it must not be converted). */
static struct mime_str
mp_param_find(struct mime_parser *p, uint32_t first, uint32_t count,
	      const char *name, bool raw)
{
	struct mime_str none = {0, 0};

	for (uint32_t i = first; i < first + count; i++) {
		const struct mime_param *mp = &p->t->params[i];
		if (mime_str_is(p->t, mp->name, name))
			return raw && mp->imap_name.off == mp->name.off
				   ? mp->imap_value
				   : mp->value;
	}
	return none;
}

/* ---- header fields ---- */

/* What the field handlers need to know about the node being parsed. */
struct mp_hdr {
	uint32_t part;
	uint32_t seen; /* bit i: mp_content[i] was there */
	bool seen_type, mime_version;
};

/* mp_trim - a field value without the white space that starts its
 * first line; a first line of white space only loses one character, and
 * the lines after it keep theirs (Dovecot's header parser does so, and
 * ENVELOPE and BODYSTRUCTURE show the result). */
static void
mp_trim(const char **v, size_t *n)
{
	size_t i = 0;

	while (i < *n && ((*v)[i] == ' ' || (*v)[i] == '\t'))
		i++;
	if (i > 0 && (i == *n || (*v)[i] == '\r' || (*v)[i] == '\n'))
		i = 1;
	*v += i;
	*n -= i;
}

/* mp_unfolded - a field value trimmed (mp_trim) and with CR/LF removed
 * (how Dovecot sends unstructured values). */
static struct mime_str
mp_unfolded(struct mime_parser *p, const char *v, size_t n)
{
	struct strbuf *sb = &p->scratch2;

	mp_trim(&v, &n);
	sb->len = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n')
			strbuf_add(sb, v + i, 1);
	return mp_str(p, sb->p ? sb->p : "", sb->len);
}

static void
mp_content_type(struct mime_parser *p, struct mime_part *x, const char *v,
		size_t n)
{
	struct mp_lex lx = {v, v + n};
	const char *s;
	size_t l;

	mp_cfws(&lx);
	l = mp_token(&lx, &s);
	x->type = mp_str(p, s, l);
	mp_cfws(&lx);
	if (l == 0) {
		/* no type: Dovecot takes no subtype either */
		x->subtype = mp_str(p, "", 0);
		while (lx.p < lx.e && *lx.p != ';')
			lx.p++;
	} else if (lx.p < lx.e && *lx.p == '/') {
		lx.p++;
		mp_cfws(&lx);
		l = mp_token(&lx, &s);
		x->subtype = mp_str(p, s, l);
	} else {
		x->subtype = mp_str(p, "", 0);
	}
	mp_params(p, &lx, &x->param, &x->nparam);
}

static void
mp_disposition(struct mime_parser *p, struct mime_part *x, const char *v,
	       size_t n)
{
	struct mp_lex lx = {v, v + n};
	const char *s;
	size_t l;

	mp_cfws(&lx);
	l = mp_token(&lx, &s);
	x->disposition = mp_str(p, s, l);
	mp_params(p, &lx, &x->dparam, &x->ndparam);
}

/* mp_language - Content-Language (RFC 3282): tags separated by commas;
 * as Dovecot, an empty element ends the list. */
static void
mp_language(struct mime_parser *p, struct mime_part *x, const char *v, size_t n)
{
	struct mp_lex lx = {v, v + n};

	x->lang = p->t->nparams;
	x->nlang = 0;
	for (;;) {
		const char *s;
		size_t l;
		mp_cfws(&lx);
		l = mp_token(&lx, &s);
		if (l == 0)
			break;
		uint32_t k = mp_param_new(p);
		p->t->params[k].name = mp_str(p, s, l);
		x->nlang++;
		mp_cfws(&lx);
		if (lx.p == lx.e || *lx.p != ',')
			break;
		lx.p++;
	}
}

static void
mp_cte(struct mime_parser *p, struct mime_part *x, const char *v, size_t n)
{
	struct mp_lex lx = {v, v + n};
	const char *s;
	size_t l;

	mp_cfws(&lx);
	l = mp_token(&lx, &s);
	if (l == 0)
		return; /* empty: the default, 7bit */
	x->cte_name = mp_str(p, s, l);
	if (l == 4 && strncasecmp(s, "7bit", 4) == 0)
		x->cte = MIME_CTE_7BIT;
	else if (l == 4 && strncasecmp(s, "8bit", 4) == 0)
		x->cte = MIME_CTE_8BIT;
	else if (l == 6 && strncasecmp(s, "binary", 6) == 0)
		x->cte = MIME_CTE_BINARY;
	else if (l == 6 && strncasecmp(s, "base64", 6) == 0)
		x->cte = MIME_CTE_BASE64;
	else if (l == 16 && strncasecmp(s, "quoted-printable", 16) == 0)
		x->cte = MIME_CTE_QP;
	else
		x->cte = MIME_CTE_OTHER;
}

static bool
mp_name_is(const char *name, size_t nl, const char *want)
{
	return strlen(want) == nl && strncasecmp(name, want, nl) == 0;
}

/* mp_env_field - an envelope field of a message node. */
static void
mp_env_field(struct mime_parser *p, struct mime_envelope *env, const char *name,
	     size_t nl, const char *v, size_t n)
{
	/* the last of these counts; address fields add up */
#define MP_ENV(n, field, all)                                                  \
	{                                                                      \
		n, sizeof(n) - 1, offsetof(struct mime_envelope, field), all   \
	}
	static const struct {
		const char *name;
		size_t len, off;
		bool all;
	} f[] = {
	    MP_ENV("Date", date, false),
	    MP_ENV("Subject", subject, false),
	    MP_ENV("Message-ID", message_id, false),
	    MP_ENV("In-Reply-To", in_reply_to, false),
	    MP_ENV("From", from, true),
	    MP_ENV("Sender", sender, true),
	    MP_ENV("Reply-To", reply_to, true),
	    MP_ENV("To", to, true),
	    MP_ENV("Cc", cc, true),
	    MP_ENV("Bcc", bcc, true),
	};
#undef MP_ENV
	struct mime_str *last = NULL, *all = NULL;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].len != nl || strncasecmp(name, f[i].name, nl) != 0)
			continue;
		struct mime_str *s =
		    (struct mime_str *)((char *)env + f[i].off);
		if (f[i].all)
			all = s;
		else
			last = s;
		break;
	}
	if (last == NULL && all == NULL)
		return;
	mp_trim(&v, &n);
	if (last != NULL)
		*last = mp_str(p, v, n);
	else if (mime_str_present(*all))
		*all = mp_str_join(p, *all, v, n);
	else
		*all = mp_str(p, v, n);
}

/* The Content-* fields (after "Content-"): how each is taken, and
 * whether the first (RFC 2045 says there is one) or, as Dovecot does for
 * Disposition, the last counts. Type must stay first. */
struct mp_content_field {
	const char *name;
	size_t len;
	void (*fn)(struct mime_parser *, struct mime_part *, const char *,
		   size_t);
	size_t str; /* without fn: the mime_str set to the unfolded value */
	bool last;
};

#define MP_CF(n, fn, last)                                                     \
	{                                                                      \
		n, sizeof(n) - 1, fn, 0, last                                  \
	}
#define MP_CS(n, field)                                                        \
	{                                                                      \
		n, sizeof(n) - 1, NULL, offsetof(struct mime_part, field),     \
		    false                                                      \
	}
static const struct mp_content_field mp_content[] = {
    MP_CF("Type", mp_content_type, false),
    MP_CF("Transfer-Encoding", mp_cte, false),
    MP_CS("ID", id),
    MP_CS("Description", description),
    MP_CF("Disposition", mp_disposition, true),
    MP_CF("Language", mp_language, false),
    MP_CS("Location", location),
    MP_CS("MD5", md5),
};
#undef MP_CF
#undef MP_CS

static void
mp_field(struct mime_parser *p, struct mp_hdr *h, const char *name, size_t nl,
	 const char *v, size_t n)
{
	struct mime_part *x = &p->t->parts[h->part];

	if (x->env != MIME_NONE)
		mp_env_field(p, &p->t->envs[x->env], name, nl, v, n);
	if (mp_name_is(name, nl, "MIME-Version")) {
		h->mime_version = true;
		return;
	}
	if (nl < 8 || strncasecmp(name, "Content-", 8) != 0)
		return;
	name += 8;
	nl -= 8;
	for (size_t i = 0; i < sizeof(mp_content) / sizeof(mp_content[0]);
	     i++) {
		const struct mp_content_field *c = &mp_content[i];
		if (c->len != nl || strncasecmp(name, c->name, nl) != 0)
			continue;
		if ((h->seen & 1u << i) == 0 || c->last) {
			if (c->fn != NULL)
				c->fn(p, x, v, n);
			else
				*(struct mime_str *)((char *)x + c->str) =
				    mp_unfolded(p, v, n);
		}
		h->seen |= 1u << i;
		if (i == 0)
			h->seen_type = true;
		return;
	}
}

/* mime_header_line - the line at i: returns the offset past its line
 * end; *content_r is where its content ends (before CR LF / LF). */
static size_t
mime_header_line(const char *hdr, size_t len, size_t i, size_t *content_r)
{
	const char *lf = memchr(hdr + i, '\n', len - i);
	size_t end = lf ? (size_t)(lf - hdr) : len;

	*content_r = end > i && hdr[end - 1] == '\r' ? end - 1 : end;
	return lf ? end + 1 : len;
}

bool
mime_header_next(const char *hdr, size_t len, size_t *pos, struct mime_field *f,
		 bool *blank_r)
{
	size_t i = *pos, content, next, colon;

	*blank_r = false;
	if (i >= len)
		return false;
	next = mime_header_line(hdr, len, i, &content);
	if (content == i && next > content) {
		*blank_r = true; /* the empty line */
		*pos = next;
		return false;
	}
	f->start = i;
	f->name = hdr + i;
	const char *c = memchr(hdr + i, ':', content - i);
	f->has_colon = c != NULL;
	colon = c ? (size_t)(c - hdr) : content;
	f->name_len = colon - i;
	while (f->name_len > 0 && (f->name[f->name_len - 1] == ' ' ||
				   f->name[f->name_len - 1] == '\t'))
		f->name_len--;
	f->value = c ? c + 1 : hdr + content;
	/* the lines that start with white space belong to it */
	while (next < len && (hdr[next] == ' ' || hdr[next] == '\t'))
		next = mime_header_line(hdr, len, next, &content);
	f->value_len = c ? content - (colon + 1) : 0;
	f->end = next;
	*pos = next;
	return true;
}

/* mp_fields - hand each field of the header block to mp_field. */
static void
mp_fields(struct mime_parser *p, struct mp_hdr *h, const char *buf, size_t len)
{
	struct mime_field f;
	size_t pos = 0;
	bool blank;

	while (mime_header_next(buf, len, &pos, &f, &blank))
		if (f.has_colon)
			mp_field(p, h, f.name, f.name_len, f.value,
				 f.value_len);
}

/* ---- structure ---- */

static bool
mp_parent_is_digest(struct mime_parser *p, const struct mime_part *x)
{
	if (x->parent == MIME_NONE)
		return false;
	const struct mime_part *m = &p->t->parts[x->parent];
	return (m->flags & MIME_PART_MULTIPART) != 0 &&
	       mime_str_is(p->t, m->subtype, "digest");
}

/* mp_has_8bit - any byte of s[0..n) >= 0x80? (eight at a time) */
static bool
mp_has_8bit(const char *s, size_t n)
{
	uint64_t acc = 0, v;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		acc |= v;
	}
	for (; i < n; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ull) != 0;
}

/* mp_empty_message - give message part ci an empty embedded message at
 * offset off (its header never ended, so nothing can be in it), unless
 * a limit says no. */
static void
mp_empty_message(struct mime_parser *p, uint32_t ci, uint64_t off)
{
	struct mime_part *x = &p->t->parts[ci];

	if (x->depth + 1 > p->lim.max_depth ||
	    p->t->nparts >= p->lim.max_parts || p->kept_full) {
		x->flags |= MIME_PART_LIMIT;
		p->t->flags |= MIME_TREE_LIMIT;
		return;
	}
	x->flags |= MIME_PART_MESSAGE;
	if (mime_str_is(p->t, x->subtype, "global"))
		x->flags |= MIME_PART_GLOBAL;
	uint32_t e = mp_part_new(p, ci, off);
	struct mime_part *m = &p->t->parts[e];
	p->t->parts[ci].child = e;
	m->flags = MIME_PART_IS_MESSAGE | MIME_PART_NO_BLANK |
		   MIME_PART_DEFAULT_TYPE | MIME_PART_TEXT;
	m->hdr_bare_lf = m->body_bare_lf = m->body_lines = 0;
	m->body_off = off;
	m->type = mp_strz(p, "text");
	m->subtype = mp_strz(p, "plain");
	m->env = mp_env_new(p);
}

/*
 * mp_header_end - cur's header ends at offset end (hdr_bare the bare
 * LFs in it). With blank (an empty line ended it) the body follows and
 * the part's structure (multipart, message) is set up; otherwise the
 * part has no body.
 */
static void
mp_header_end(struct mime_parser *p, uint64_t end, uint64_t nlf_end,
	      uint64_t nbare_end, bool blank)
{
	uint32_t ci = p->cur;
	struct mime_part *x = &p->t->parts[ci];
	struct mp_hdr h = {.part = ci};
	bool is_message = (x->flags & MIME_PART_IS_MESSAGE) != 0;

	x->hdr_len = end - x->hdr_off;
	x->hdr_bare_lf = nbare_end - x->hdr_bare_lf;
	if (!blank)
		x->flags |= MIME_PART_NO_BLANK;
	if (p->hcut)
		x->flags |= MIME_PART_HEADER_CUT;
	if (mp_has_8bit(p->hbuf, p->hlen))
		x->flags |= MIME_PART_8BIT;
	mp_fields(p, &h, p->hbuf, p->hlen);
	/* RFC 2045 §4: a message without MIME-Version is not MIME; like
	 * Dovecot, a Content-Type field is taken as a sign that it is. */
	if (is_message && !h.mime_version && !h.seen_type) {
		struct mime_str none = {0, 0};
		x->cte = MIME_CTE_7BIT;
		x->cte_name = x->id = x->description = x->md5 = none;
		x->location = x->disposition = none;
		x->ndparam = x->nlang = 0;
	}
	if (!h.seen_type) {
		x->flags |= MIME_PART_DEFAULT_TYPE;
		if (mp_parent_is_digest(p, x)) {
			x->type = mp_strz(p, "message");
			x->subtype = mp_strz(p, "rfc822");
		} else {
			x->type = mp_strz(p, "text");
			x->subtype = mp_strz(p, "plain");
		}
	}
	if (mime_str_is(p->t, x->type, "text"))
		x->flags |= MIME_PART_TEXT;
	else if (mime_str_is(p->t, x->type, "message"))
		x->flags |= MIME_PART_TYPE_MESSAGE;
	x->charset = mp_param_find(p, x->param, x->nparam, "charset", false);
	x->body_off = end;
	x->body_lines = nlf_end; /* made relative at the end */
	x->body_bare_lf = nbare_end;
	p->in_header = false;
	p->hlen = p->hline = 0;
	p->hcut = false;
	if (p->hcap > 64 * 1024) {
		free(p->hbuf); /* a huge header: give the memory back */
		p->hbuf = NULL;
		p->hcap = 0;
	}
	bool multipart = mime_str_is(p->t, x->type, "multipart");
	bool message = mime_str_is(p->t, x->type, "message") &&
		       (mime_str_is(p->t, x->subtype, "rfc822") ||
			mime_str_is(p->t, x->subtype, "global"));
	if (!blank) {
		/* No body (Dovecot): a multipart has no parts, a message
		 * part an empty message. */
		if (multipart)
			x->flags |= MIME_PART_MULTIPART;
		else if (message)
			mp_empty_message(p, ci, end);
		return;
	}
	if (!multipart && !message)
		return;
	struct mime_str bnd = {0, 0};
	if (multipart) {
		bnd = mp_param_find(p, x->param, x->nparam, "boundary", true);
		if (!mime_str_present(bnd)) {
			/* multipart without a boundary: no parts */
			x->flags |= MIME_PART_MULTIPART;
			return;
		}
	}
	if (x->depth + 1 > p->lim.max_depth ||
	    p->t->nparts >= p->lim.max_parts || p->kept_full) {
		x->flags |= MIME_PART_LIMIT;
		p->t->flags |= MIME_TREE_LIMIT;
		return;
	}
	if (multipart) {
		struct mp_bnd *b;
		x->flags |= MIME_PART_MULTIPART;
		p->bnd =
		    mp_grow(p->bnd, &p->capbnd, p->nbnd + 1, sizeof(*p->bnd));
		b = &p->bnd[p->nbnd++];
		b->part = ci;
		b->last = MIME_NONE;
		b->len =
		    bnd.len > MIME_MAX_BOUNDARY ? MIME_MAX_BOUNDARY : bnd.len;
		memcpy(b->b, p->t->strings + bnd.off, b->len);
		return;
	}
	/* message/rfc822: the embedded message starts here. */
	x->flags |= MIME_PART_MESSAGE;
	if (mime_str_is(p->t, x->subtype, "global"))
		x->flags |= MIME_PART_GLOBAL;
	uint32_t e = mp_part_new(p, ci, end);
	p->t->parts[ci].child = e;
	p->t->parts[e].flags |= MIME_PART_IS_MESSAGE;
	p->t->parts[e].env = mp_env_new(p);
	p->cur = e;
	p->in_header = true;
}

/* mp_close - part i ends at end; nlf_end/nbare_end are the counters
 * there. */
static void
mp_close(struct mime_parser *p, uint32_t i, uint64_t end, uint64_t nlf_end,
	 uint64_t nbare_end)
{
	struct mime_part *x = &p->t->parts[i];

	/* The line end before a boundary is the boundary's, even when it
	 * is the empty line that ended this part's header (then the
	 * header loses it) - as Dovecot counts. */
	if (end < x->hdr_off) {
		x->hdr_off = end;
		x->hdr_bare_lf = nbare_end;
	}
	if (p->in_header && i == p->cur)
		mp_header_end(p, end, nlf_end, nbare_end, false);
	x = &p->t->parts[i];
	if (end < x->body_off) {
		x->hdr_len = end - x->hdr_off;
		x->hdr_bare_lf -= x->body_bare_lf - nbare_end;
		x->body_off = end;
		x->body_lines = nlf_end;
		x->body_bare_lf = nbare_end;
	}
	x->body_len = end - x->body_off;
	x->body_lines = nlf_end - x->body_lines;
	x->body_bare_lf = nbare_end - x->body_bare_lf;
}

/* mp_close_to - close cur and its ancestors up to (not including) stop,
 * all at the same offset. */
static void
mp_close_to(struct mime_parser *p, uint32_t stop, uint64_t end,
	    uint64_t nlf_end, uint64_t nbare_end)
{
	while (p->cur != stop && p->cur != MIME_NONE) {
		uint32_t c = p->cur;
		mp_close(p, c, end, nlf_end, nbare_end);
		p->cur = p->t->parts[c].parent;
		p->in_header = false;
	}
}

/* mp_boundary_find - the open boundary the current line is, or -1;
 * *close_r for "--boundary--". As Dovecot: innermost first, the
 * longest prefix match wins, an exact match stops the search. */
static long
mp_boundary_find(struct mime_parser *p, size_t content, bool *close_r)
{
	const char *s = p->lbuf + 2;
	size_t n = (content < p->llen ? content : p->llen) - 2;
	long best = -1;

	for (long k = (long)p->nbnd - 1; k >= 0; k--) {
		const struct mp_bnd *b = &p->bnd[k];
		if (b->len <= n && memcmp(b->b, s, b->len) == 0 &&
		    (best < 0 || p->bnd[best].len < b->len)) {
			best = k;
			if (b->len == n ||
			    (b->len + 2 == n && s[b->len] == '-' &&
			     s[b->len + 1] == '-'))
				break;
		}
	}
	if (best >= 0) {
		size_t bl = p->bnd[best].len;
		*close_r = n >= bl + 2 && s[bl] == '-' && s[bl + 1] == '-';
	}
	return best;
}

/* mp_boundary - the current line (from line_start) is boundary k. */
static void
mp_boundary(struct mime_parser *p, long k, bool close)
{
	struct mp_bnd *b = &p->bnd[k];
	uint32_t m = b->part;
	uint64_t L = p->line_start;
	uint64_t nlf_L = p->nlf - (p->line_lf ? 1 : 0);
	uint64_t nbare_L = p->nbare - (p->line_bare ? 1 : 0);
	uint64_t end = L, nlf_end = nlf_L, nbare_end = nbare_L;

	/* The line end before the delimiter belongs to it (RFC 2046
	 * §5.1.1), unless that line was a boundary line itself. */
	if (p->prev_eol > 0 && L >= p->prev_eol) {
		end = L - p->prev_eol;
		nlf_end = nlf_L - 1;
		nbare_end = nbare_L - (p->prev_bare ? 1 : 0);
	}
	if (p->in_header)
		p->hlen = p->hline; /* the boundary line is not header */
	mp_close_to(p, m, end, nlf_end, nbare_end);
	p->nbnd = (uint32_t)k + 1;
	p->cur = m;
	p->in_header = false;
	if (close) {
		p->nbnd = (uint32_t)k; /* the epilogue follows */
		return;
	}
	if (p->t->nparts >= p->lim.max_parts) {
		/* closing used the last part (an empty message): the rest
		 * is the multipart's own body */
		p->t->flags |= MIME_TREE_LIMIT;
		return;
	}
	uint32_t c = mp_part_new(p, m, p->pos);
	b = &p->bnd[k];
	if (b->last == MIME_NONE)
		p->t->parts[m].child = c;
	else
		p->t->parts[b->last].next = c;
	b->last = c;
	p->cur = c;
	p->in_header = true;
	p->hlen = p->hline = 0;
	p->hcut = false;
}

/* mp_line_end - the current line is complete (or the input ended). */
static void
mp_line_end(struct mime_parser *p)
{
	size_t linelen = (size_t)(p->pos - p->line_start);
	unsigned eol = p->line_lf ? (p->line_bare ? 1 : 2) : 0;
	size_t content = linelen - eol;
	bool close = false;
	long k = -1;

	if (p->nbnd > 0 && content >= 2 && p->lbuf[0] == '-' &&
	    p->lbuf[1] == '-' && p->t->nparts < p->lim.max_parts)
		k = mp_boundary_find(p, content, &close);
	if (k >= 0) {
		mp_boundary(p, k, close);
		eol = 0; /* a boundary line keeps its own line end */
	} else if (p->in_header && content == 0 && p->line_lf) {
		mp_header_end(p, p->pos, p->nlf, p->nbare, true);
	}
	p->prev_eol = eol;
	p->prev_bare = p->line_bare;
	p->line_start = p->pos;
	p->llen = 0;
	p->line_lf = p->line_bare = false;
	p->hline = p->hlen;
}

/* mp_take - n more bytes of the current line (ending with its LF if it
 * has one). */
static void
mp_take(struct mime_parser *p, const char *s, size_t n)
{
	if (p->llen < MP_LBUF) {
		size_t k = MP_LBUF - p->llen < n ? MP_LBUF - p->llen : n;
		memcpy(p->lbuf + p->llen, s, k);
		p->llen += k;
	}
	if (p->in_header && !p->hcut) {
		if (n > p->lim.max_header - p->hlen) {
			p->hcut = true;
			p->hlen = p->hline; /* keep whole lines only */
		} else {
			if (p->hlen + n > p->hcap) {
				size_t c = p->hcap < 1024 ? 1024 : p->hcap;
				while (c < p->hlen + n)
					c *= 2;
				if (c > p->lim.max_header)
					c = p->lim.max_header;
				p->hbuf = xrealloc(p->hbuf, c);
				p->hcap = c;
			}
			memcpy(p->hbuf + p->hlen, s, n);
			p->hlen += n;
		}
	}
	if (s[n - 1] == '\n') {
		bool bare = n >= 2 ? s[n - 2] != '\r' : !p->last_cr;
		p->nlf++;
		p->nbare += bare;
		p->line_lf = true;
		p->line_bare = bare;
	}
	p->last_cr = s[n - 1] == '\r';
	p->pos += n;
}

struct mime_parser *
mime_parser_new(const struct mime_limits *limits)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	if (limits != NULL)
		p->lim = *limits;
	else
		mime_limits_default(&p->lim);
	if (p->lim.max_header < 2)
		p->lim.max_header = 2;
	if (p->lim.max_parts < 1)
		p->lim.max_parts = 1;
	p->t = xcalloc(1, sizeof(*p->t));
	p->t->strings_len = 1; /* offset 0 = absent */
	p->t->strings = mp_grow(NULL, &p->cap_strings, 256, 1);
	p->t->strings[0] = '\0';
	p->cur = mp_part_new(p, MIME_NONE, 0);
	p->t->parts[0].flags = MIME_PART_IS_MESSAGE;
	p->t->parts[0].env = mp_env_new(p);
	p->in_header = true;
	return p;
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	const char *s = data;

	while (len > 0) {
		const char *lf = memchr(s, '\n', len);
		size_t n = lf ? (size_t)(lf - s) + 1 : len;
		mp_take(p, s, n);
		if (lf != NULL)
			mp_line_end(p);
		s += n;
		len -= n;
	}
}

struct mime_tree *
mime_parser_finish(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;
	struct mime_tree *t;

	/* A last line without a line end may still be a boundary. */
	if (p->pos > p->line_start)
		mp_line_end(p);
	mp_close_to(p, MIME_NONE, p->pos, p->nlf, p->nbare);
	t = p->t;
	t->size = p->pos;
	p->t = NULL;
	mime_parser_free(pp);
	return t;
}

void
mime_parser_free(struct mime_parser **pp)
{
	struct mime_parser *p = *pp;

	if (p == NULL)
		return;
	mime_tree_free(&p->t);
	free(p->hbuf);
	free(p->bnd);
	free(p->raw);
	free(p->scratch.p);
	free(p->scratch2.p);
	free(p);
	*pp = NULL;
}

struct mime_tree *
mime_parse(const void *msg, size_t len, const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);

	mime_parser_feed(p, msg, len);
	return mime_parser_finish(&p);
}

void
mime_tree_free(struct mime_tree **tp)
{
	struct mime_tree *t = *tp;

	if (t == NULL)
		return;
	free(t->parts);
	free(t->params);
	free(t->envs);
	free(t->strings);
	free(t);
	*tp = NULL;
}

const char *
mime_str_ptr(const struct mime_tree *t, struct mime_str s)
{
	return s.off == 0 ? NULL : t->strings + s.off;
}

bool
mime_str_is(const struct mime_tree *t, struct mime_str s, const char *word)
{
	return s.off != 0 && strlen(word) == s.len &&
	       strncasecmp(t->strings + s.off, word, s.len) == 0;
}
