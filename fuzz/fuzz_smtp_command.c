/*
 * fuzz_smtp_command - one command line through smtp_parse_command, then
 * its arguments through the MAIL, RCPT and BDAT parsers, as the session
 * does; decoded xtext (ENVID, ORCPT) must encode and decode back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const struct smtp_path *p)
{
	char out[2 * (SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX) + 8];

	if (strlen(p->local) > SMTP_LOCAL_MAX ||
	    strlen(p->domain) > SMTP_DOMAIN_MAX)
		abort();
	struct smtp_path q;
	int n = smtp_addr_format(p, out, sizeof(out));

	if (n < 0)
		abort();
	if (p->null_path || p->postmaster_only)
		return;
	/* What the session logs and queues must read back the same (an
	 * RFC 6531 path only with UTF-8 allowed). */
	int back = p->utf8 ? smtp_addr_parse_mailbox_utf8(out, (size_t)n, &q)
			   : smtp_addr_parse_mailbox(out, (size_t)n, &q);
	if (back < 0 || strcmp(p->local, q.local) != 0 ||
	    strcmp(p->domain, q.domain) != 0 || q.utf8 != p->utf8)
		abort();
}

/* check_xtext - a decoded value encodes and decodes to itself. */
static void
check_xtext(const char *plain)
{
	char x[3 * SMTP_ORCPT_MAX + 1], back[SMTP_ORCPT_MAX + 1];
	long n = smtp_xtext_encode(plain, x, sizeof(x));

	if (n < 0 ||
	    smtp_xtext_decode(x, (size_t)n, back, sizeof(back)) !=
		(long)strlen(plain) ||
	    strcmp(back, plain) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct smtp_command cmd;
	struct smtp_parse_error err;
	struct smtp_mail_args m;
	struct smtp_rcpt_args r;
	struct smtp_bdat_args b;

	if (smtp_parse_command(line, size, &cmd, &err) < 0) {
		if (err.code != 500 || err.text == NULL)
			abort();
		return 0;
	}
	if (cmd.args < line || cmd.args + cmd.args_len > line + size)
		abort();
	/* Both parsers on every line, whatever the verb, for coverage. */
	if (smtp_parse_mail(cmd.args, cmd.args_len, &m, &err) == 0) {
		check_path(&m.path);
		if (m.has_envid)
			check_xtext(m.envid);
		else if (m.envid[0] != '\0')
			abort();
	} else if (err.text == NULL || (err.code != 501 && err.code != 555)) {
		abort();
	}
	if (smtp_parse_rcpt(cmd.args, cmd.args_len, &r, &err) == 0) {
		check_path(&r.path);
		if (r.path.null_path)
			abort();
		if (strncmp(r.orcpt, "rfc822;", 7) == 0)
			check_xtext(r.orcpt + 7);
		if ((r.notify & SMTP_NOTIFY_NEVER) &&
		    r.notify != SMTP_NOTIFY_NEVER)
			abort();
	} else if (err.text == NULL || (err.code != 501 && err.code != 555)) {
		abort();
	}
	if (smtp_parse_bdat(cmd.args, cmd.args_len, &b, &err) < 0) {
		if (err.code != 501 || err.text == NULL)
			abort();
	} else if (!b.size_ok) {
		abort();
	}
	(void)smtp_verb_name(cmd.verb);
	return 0;
}
