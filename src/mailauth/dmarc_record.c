#include "mailauth/dmarc_record.h"

#include <string.h>
#include <strings.h>

#include "mailauth/dkim_tags.h"

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT	      ? "reject"
	       : p == DMARC_POLICY_QUARANTINE ? "quarantine"
					      : "none";
}

bool
dmarc_record_is_dmarc1(const char *txt, size_t len)
{
	size_t i = 0;

	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (len - i < 1 || (txt[i] != 'v' && txt[i] != 'V'))
		return false;
	i++;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (i >= len || txt[i] != '=')
		return false;
	i++;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (len - i < 6 || strncasecmp(txt + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	return i == len || txt[i] == ';';
}

static bool
parse_policy(const struct dkim_tag *t, enum dmarc_policy *p)
{
	if (dkim_tag_is_ci(t, "none"))
		*p = DMARC_POLICY_NONE;
	else if (dkim_tag_is_ci(t, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (dkim_tag_is_ci(t, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return false;
	return true;
}

static bool
parse_align(const struct dkim_tag *t, bool *strict)
{
	if (dkim_tag_is_ci(t, "r"))
		*strict = false;
	else if (dkim_tag_is_ci(t, "s"))
		*strict = true;
	else
		return false;
	return true;
}

int
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *r,
		   const char **why_r)
{
	struct dkim_tags tags;
	const struct dkim_tag *t;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	if (!dmarc_record_is_dmarc1(txt, len)) {
		*why_r = "not a DMARC record";
		return -1;
	}
	if (dkim_tags_parse(txt, len, &tags) != DKIM_TAGS_OK) {
		*why_r = "DMARC record syntax error";
		return -1;
	}
	/* §6.3: v= first; dkim_tags found it as tag 0 iff it is first. */
	if (tags.n == 0 || dkim_tags_get_ci(&tags, "v") != &tags.tag[0]) {
		*why_r = "v= is not the first tag";
		return -1;
	}
	r->has_rua = dkim_tags_get_ci(&tags, "rua") != NULL;
	t = dkim_tags_get_ci(&tags, "p");
	if (!t || !parse_policy(t, &r->p)) {
		if (!r->has_rua) {
			*why_r = t ? "bad p=" : "no p=";
			return -1;
		}
		r->p = DMARC_POLICY_NONE;
	}
	r->sp = r->p;
	if ((t = dkim_tags_get_ci(&tags, "sp")) && !parse_policy(t, &r->sp))
		r->sp = r->p; /* an unknown sp= is ignored, p= applies */
	if ((t = dkim_tags_get_ci(&tags, "adkim")) &&
	    !parse_align(t, &r->adkim_strict)) {
		*why_r = "bad adkim=";
		return -1;
	}
	if ((t = dkim_tags_get_ci(&tags, "aspf")) &&
	    !parse_align(t, &r->aspf_strict)) {
		*why_r = "bad aspf=";
		return -1;
	}
	if ((t = dkim_tags_get_ci(&tags, "pct"))) {
		unsigned v = 0;
		if (t->value_len == 0 || t->value_len > 3) {
			*why_r = "bad pct=";
			return -1;
		}
		for (size_t i = 0; i < t->value_len; i++) {
			if (t->value[i] < '0' || t->value[i] > '9') {
				*why_r = "bad pct=";
				return -1;
			}
			v = v * 10 + (unsigned)(t->value[i] - '0');
		}
		if (v > 100) {
			*why_r = "bad pct=";
			return -1;
		}
		r->pct = v;
	}
	return 0;
}
