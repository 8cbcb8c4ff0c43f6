#include "mailauth/dns_records.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "mailauth/dkim_keys.h"
#include "smtp/smtp_addr.h"
#include "util/xalloc.h"

/* add - append one record; name and value are copied. */
static void
add(struct dns_records *r, const char *name, const char *type,
    const char *value, const char *note)
{
	r->items = xrealloc(r->items, (r->n + 1) * sizeof(*r->items));
	struct dns_record *d = &r->items[r->n++];
	d->name = xstrdup(name);
	d->type = xstrdup(type);
	d->value = xstrdup(value);
	d->note = xstrdup(note);
}

int
dns_records_build(const struct config *cfg, const char *domain,
		  struct dns_records *out, char *err, size_t errlen)
{
	char d[SMTP_DOMAIN_MAX + 1];
	size_t len = strlen(domain);

	if (len == 0 || len > SMTP_DOMAIN_MAX ||
	    !smtp_addr_valid_domain(domain, len)) {
		snprintf(err, errlen, "malformed domain '%.80s'", domain);
		return -1;
	}
	for (size_t i = 0; i <= len; i++)
		d[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z'
				  ? domain[i] - 'A' + 'a'
				  : domain[i]);

	char *name = xasprintf("%s.", d);
	char *mx = xasprintf("10 %s.", cfg->hostname);
	add(out, name, "MX", mx, "mail for the domain comes to this server");
	add(out, name, "TXT", "v=spf1 mx -all",
	    "SPF: only the domain's MX hosts send its mail");
	free(mx);
	free(name);

	name = xasprintf("_dmarc.%s.", d);
	char *dmarc = xasprintf("v=DMARC1; p=quarantine; adkim=r; aspf=r; "
				"rua=mailto:postmaster@%s",
				d);
	add(out, name, "TXT", dmarc,
	    "DMARC: what receivers do with mail that fails SPF and DKIM "
	    "alignment, and where they report");
	free(dmarc);
	free(name);

	/* DKIM: every key on disk, the standby ones too, so a new key's
	 * record can be published before `petrel dkim activate`. */
	struct dkim_key_list keys = {0};
	char kerr[256];
	if (dkim_keys_list(cfg->data_dir, d, &keys, kerr, sizeof(kerr)) == 0)
		for (size_t i = 0; i < keys.n; i++)
			dns_records_dkim(&keys.items[i], out);
	dkim_key_list_free(&keys);
	return 0;
}

void
dns_records_dkim(const struct dkim_key_info *k, struct dns_records *out)
{
	char *name = xasprintf("%s._domainkey.%s.", k->selector, k->domain);
	char *note =
	    xasprintf("DKIM: public key %s (%s, %d bits, %s)", k->selector,
		      dkim_alg_name(k->alg), k->bits,
		      k->active ? "signing" : "standby: not signing yet");
	add(out, name, "TXT", k->record, note);
	free(note);
	free(name);
}

void
dns_records_free(struct dns_records *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].name);
		free(r->items[i].type);
		free(r->items[i].value);
		free(r->items[i].note);
	}
	free(r->items);
	r->items = NULL;
	r->n = 0;
}

/* print_txt - the value as quoted strings of at most 255 octets. */
static void
print_txt(const char *v, FILE *out)
{
	size_t len = strlen(v);

	if (len == 0)
		fputs("\"\"", out);
	for (size_t off = 0; off < len; off += 255) {
		size_t n = len - off < 255 ? len - off : 255;
		fprintf(out, "%s\"", off > 0 ? " " : "");
		for (size_t i = off; i < off + n; i++) {
			if (v[i] == '"' || v[i] == '\\')
				fputc('\\', out);
			fputc(v[i], out);
		}
		fputc('"', out);
	}
}

void
dns_records_print(const struct dns_records *r, FILE *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct dns_record *d = &r->items[i];
		fprintf(out, "; %s\n%s\tIN\t%s\t", d->note, d->name, d->type);
		if (strcmp(d->type, "TXT") == 0)
			print_txt(d->value, out);
		else
			fputs(d->value, out);
		fputc('\n', out);
	}
}
