#include "mailauth/spf_record.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "mailauth/spf_macro.h"

static const char *const kind_names[] = {
    "all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists",
};

const char *
spf_kind_name(enum spf_kind k)
{
	return kind_names[k];
}

bool
spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	       (len == 6 || txt[6] == ' ');
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 * i.e. letters, digits and inner hyphens, not all digits.
 */
static bool
is_toplabel(const char *s, size_t n)
{
	bool alpha = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]) && s[i] != '-')
			return false;
	}
	/* "1-2" has a hyphen and is a toplabel by the second form. */
	return alpha || memchr(s, '-', n) != NULL;
}

/*
 * domain_spec_ok - macro-string domain-end (§7.1): it ends in a macro
 * expansion, or in "." toplabel with an optional final ".".
 */
static bool
domain_spec_ok(const char *s, size_t len)
{
	if (len == 0 || !spf_macro_check(s, len, false))
		return false;
	if (s[len - 1] == '}')
		return true;
	if (s[len - 1] == '.')
		len--;
	size_t dot = len;
	while (dot > 0 && s[dot - 1] != '.')
		dot--;
	if (dot == 0)
		return false; /* one label: no "." toplabel */
	/* The toplabel must be literal text, not the tail of a macro. */
	for (size_t i = dot; i < len; i++)
		if (s[i] == '%' || s[i] == '{' || s[i] == '}')
			return false;
	return is_toplabel(s + dot, len - dot);
}

/* parse_cidr - "/N" with max; "0" or a number without a leading 0. */
static bool
parse_cidr(const char *s, size_t len, size_t *i, unsigned max, unsigned *v_r)
{
	size_t k = *i + 1, start = k;
	unsigned v = 0;

	while (k < len && is_digit(s[k]) && k - start < 4)
		v = v * 10 + (unsigned)(s[k++] - '0');
	if (k == start || (s[start] == '0' && k - start > 1) || v > max ||
	    (k < len && is_digit(s[k])))
		return false;
	*i = k;
	*v_r = v;
	return true;
}

/*
 * parse_dual_cidr - [ ip4-cidr-length ] [ "/" ip6-cidr-length ] at the
 * end of the term t[*i..n).
 */
static bool
parse_dual_cidr(const char *t, size_t n, size_t i, struct spf_mech *m)
{
	if (i < n && t[i] == '/' && !(i + 1 < n && t[i + 1] == '/')) {
		if (!parse_cidr(t, n, &i, 32, &m->cidr4))
			return false;
	}
	if (i + 1 < n && t[i] == '/' && t[i + 1] == '/') {
		i++;
		if (!parse_cidr(t, n, &i, 128, &m->cidr6))
			return false;
	}
	return i == n;
}

/*
 * split_spec - the domain-spec of "a:spec/24//64": from after the ':' up
 * to the cidr part. The cidr starts at the last '/' followed only by
 * digits (or "//" digits); a '/' may occur inside the spec in a macro
 * delimiter, so we scan from the right.
 */
static size_t
cidr_start(const char *t, size_t n, size_t from)
{
	size_t end = n;

	for (int part = 0; part < 2; part++) {
		size_t k = end;
		while (k > from && is_digit(t[k - 1]))
			k--;
		if (k == end || k == from || t[k - 1] != '/')
			break;
		k--;
		if (k > from && t[k - 1] == '/')
			k--; /* "//N": the ip6 length */
		end = k;
	}
	return end;
}

static bool
parse_ip(const char *s, size_t n, int af, uint8_t *out)
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, out) == 1;
}

static int
parse_mech(const char *t, size_t n, struct spf_mech *m, const char **why)
{
	size_t i = 0, name_end;

	memset(m, 0, sizeof(*m));
	m->text = t;
	m->text_len = n;
	m->qual = '+';
	m->cidr4 = 32;
	m->cidr6 = 128;
	if (n > 0 && strchr("+-~?", t[0])) {
		m->qual = t[0];
		i = 1;
	}
	name_end = i;
	while (name_end < n && (is_alpha(t[name_end]) ||
				(is_digit(t[name_end]) && name_end > i)))
		name_end++;
	size_t nl = name_end - i;
	const char *name = t + i;
	int kind = -1;
	for (int k = 0; k < 8; k++)
		if (strlen(kind_names[k]) == nl &&
		    strncasecmp(name, kind_names[k], nl) == 0)
			kind = k;
	if (kind < 0) {
		*why = "unknown mechanism";
		return -1;
	}
	m->kind = (enum spf_kind)kind;
	i = name_end;
	bool colon = i < n && t[i] == ':';
	switch (m->kind) {
	case SPF_ALL:
		if (i != n) {
			*why = "bad all";
			return -1;
		}
		return 0;
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (!colon || !domain_spec_ok(t + i + 1, n - i - 1)) {
			*why = m->kind == SPF_INCLUDE ? "bad include"
						      : "bad exists";
			return -1;
		}
		m->spec = t + i + 1;
		m->spec_len = n - i - 1;
		return 0;
	case SPF_PTR:
		if (colon) {
			if (!domain_spec_ok(t + i + 1, n - i - 1)) {
				*why = "bad ptr";
				return -1;
			}
			m->spec = t + i + 1;
			m->spec_len = n - i - 1;
		} else if (i != n) {
			*why = "bad ptr";
			return -1;
		}
		return 0;
	case SPF_A:
	case SPF_MX: {
		size_t c = cidr_start(t, n, colon ? i + 1 : i);
		if (colon) {
			if (!domain_spec_ok(t + i + 1, c - i - 1)) {
				*why = "bad domain in a/mx";
				return -1;
			}
			m->spec = t + i + 1;
			m->spec_len = c - i - 1;
		} else if (c != i) {
			*why = "bad a/mx";
			return -1;
		}
		if (!parse_dual_cidr(t, n, c, m)) {
			*why = "bad cidr length";
			return -1;
		}
		return 0;
	}
	case SPF_IP4:
	case SPF_IP6: {
		if (!colon) {
			*why = "bad ip4/ip6";
			return -1;
		}
		size_t slash = i + 1;
		while (slash < n && t[slash] != '/')
			slash++;
		bool v4 = m->kind == SPF_IP4;
		if (!parse_ip(t + i + 1, slash - i - 1, v4 ? AF_INET : AF_INET6,
			      m->ip)) {
			*why = v4 ? "bad ip4 address" : "bad ip6 address";
			return -1;
		}
		if (slash < n) {
			unsigned *len = v4 ? &m->cidr4 : &m->cidr6;
			if (!parse_cidr(t, n, &slash, v4 ? 32 : 128, len) ||
			    slash != n) {
				*why = "bad cidr length";
				return -1;
			}
		}
		return 0;
	}
	}
	*why = "unknown mechanism";
	return -1;
}

/*
 * modifier - name "=" value: name = ALPHA *( ALPHA / DIGIT / "-" / "_" /
 * "." ). Returns the name's length if t is a modifier, else 0.
 */
static size_t
modifier_name(const char *t, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_alpha(t[0]))
		return 0;
	while (i < n && (is_alpha(t[i]) || is_digit(t[i]) || t[i] == '-' ||
			 t[i] == '_' || t[i] == '.'))
		i++;
	return i < n && t[i] == '=' ? i : 0;
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record *r,
		 const char **why_r)
{
	size_t i = 6;

	memset(r, 0, sizeof(*r));
	if (!spf_record_is_spf1(txt, len)) {
		*why_r = "not an SPF record";
		return -1;
	}
	while (i < len) {
		if (txt[i] == ' ') {
			i++;
			continue;
		}
		size_t end = i;
		while (end < len && txt[end] != ' ')
			end++;
		const char *t = txt + i;
		size_t n = end - i;
		size_t ml = modifier_name(t, n);
		if (ml > 0) {
			const char *v = t + ml + 1;
			size_t vl = n - ml - 1;
			bool redirect =
			    ml == 8 && !strncasecmp(t, "redirect", 8);
			bool exp = ml == 3 && !strncasecmp(t, "exp", 3);
			if (redirect || exp) {
				/* §6: each at most once; a domain-spec. */
				if ((redirect ? r->redirect : r->exp) ||
				    !domain_spec_ok(v, vl)) {
					*why_r = redirect ? "bad redirect"
							  : "bad exp";
					return -1;
				}
				if (redirect) {
					r->redirect = v;
					r->redirect_len = vl;
				} else {
					r->exp = v;
					r->exp_len = vl;
				}
			} else if (!spf_macro_check(v, vl, true)) {
				*why_r = "bad modifier";
				return -1;
			}
		} else {
			if (r->n == SPF_MAX_TERMS) {
				*why_r = "too many terms";
				return -1;
			}
			if (parse_mech(t, n, &r->m[r->n], why_r) < 0)
				return -1;
			r->n++;
		}
		i = end;
	}
	return 0;
}
