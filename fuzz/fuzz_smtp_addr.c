/*
 * fuzz_smtp_addr - the path and mailbox parsers, with and without RFC
 * 6531 UTF-8; whatever parses must format, and the formatted mailbox
 * must parse back to the same thing; a UTF-8 one only with UTF-8
 * allowed, and its domain has a canonical A-label form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(const struct smtp_path *p)
{
	char out[2 * (SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX) + 8];
	struct smtp_path q;
	int n;

	n = smtp_addr_format(p, out, sizeof(out));
	if (n < 0)
		abort();
	if (p->null_path || p->postmaster_only)
		return;
	if (smtp_addr_parse_mailbox_utf8(out, (size_t)n, &q) < 0 ||
	    strcmp(p->local, q.local) != 0 ||
	    strcmp(p->domain, q.domain) != 0 || q.utf8 != p->utf8)
		abort();
	/* Without UTF-8 allowed: exactly the ASCII ones parse. */
	if ((smtp_addr_parse_mailbox(out, (size_t)n, &q) == 0) == p->utf8)
		abort();
	char ascii[SMTP_DOMAIN_MAX + 1];
	/* Every parsed domain has its canonical form: ASCII lower-case. */
	if (smtp_addr_domain_ascii(p->domain, ascii, sizeof(ascii)) < 0)
		abort();
	for (const char *a = ascii; *a != '\0'; a++)
		if ((unsigned char)*a >= 0x80 || (*a >= 'A' && *a <= 'Z'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct smtp_path p;
	size_t consumed;
	unsigned flags;

	if (size == 0)
		return 0;
	/* The first byte picks the flags. */
	flags = data[0] & 15;
	s++;
	size--;
	if (smtp_addr_parse_path(s, size, flags, &p, &consumed) == 0) {
		if (consumed == 0 || consumed > size)
			abort();
		if (p.null_path && !(flags & SMTP_ADDR_ALLOW_NULL))
			abort();
		if (p.postmaster_only && !(flags & SMTP_ADDR_ALLOW_POSTMASTER))
			abort();
		check_roundtrip(&p);
	}
	if (smtp_addr_parse_mailbox(s, size, &p) == 0) {
		if (p.utf8)
			abort();
		check_roundtrip(&p);
	}
	if (smtp_addr_parse_mailbox_utf8(s, size, &p) == 0)
		check_roundtrip(&p);
	(void)smtp_addr_valid_domain(s, size);
	return 0;
}
