/*
 * mime_show - what petrel's IMAP would say about message files, for
 * tests/mime/dovecot_diff.py (not part of make test):
 *
 *   mime_show FILE...             ENVELOPE, BODY, BODYSTRUCTURE: one
 *                                 line of hex each, per file
 *   mime_show -s SECTION FILE...  BODY[SECTION] as hex, one line per file
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_msg.h"
#include "imap/imap_msg_section.h"

static void
hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)p[i]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	const char *sec = NULL;
	int a = 1;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		sec = argv[2];
		a = 3;
	}
	for (; a < argc; a++) {
		FILE *f = fopen(argv[a], "rb");
		struct strbuf b = {0}, o = {0};
		char chunk[65536];
		size_t n;
		if (f == NULL) {
			perror(argv[a]);
			return 1;
		}
		strbuf_add(&b, "", 0);
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			strbuf_add(&b, chunk, n);
		fclose(f);
		struct imap_msg *m = imap_msg_parse(b.p, b.len);
		if (sec == NULL) {
			hex(m->envelope, m->envelope_len);
			hex(m->body, m->body_len);
			hex(m->bodystructure, m->bodystructure_len);
		} else {
			struct imap_section s;
			struct imap_section_range r;
			strbuf_add(&o, "", 0);
			if (imap_section_parse(sec, strlen(sec), &s) == 0) {
				imap_section_resolve(m, &s, &r);
				if (r.kind == IMAP_SECTION_RANGE)
					imap_section_copy_crlf(b.p + r.off,
							       r.len, 0,
							       UINT64_MAX, &o);
				else if (r.kind == IMAP_SECTION_FILTER)
					imap_section_filter(b.p + r.off, r.len,
							    &s, &o);
			}
			hex(o.p, o.len);
		}
		imap_msg_free(&m);
		free(b.p);
		free(o.p);
	}
	return 0;
}
