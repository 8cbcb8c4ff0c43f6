/*
 * fuzz_config - config_parse() and config_print() on arbitrary text.
 * The input is handed over with its exact length and no terminating NUL,
 * so ASan sees any read past the end. Whatever parses must print as text
 * that parses again to the same printout.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
print_to_string(const struct config *cfg, size_t *len_r)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len_r);

	if (f == NULL)
		abort();
	config_print(cfg, f);
	if (fclose(f) != 0)
		abort();
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct config cfg, again;
	char err[256], *text, *p1, *p2;
	size_t len1, len2;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	text = malloc(size ? size : 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	config_init(&cfg);
	if (config_parse(&cfg, text, size, err, sizeof(err)) < 0) {
		if (strncmp(err, "line ", 5) != 0)
			abort(); /* every parse error names its line */
	} else {
		p1 = print_to_string(&cfg, &len1);
		config_init(&again);
		if (config_parse(&again, p1, len1, err, sizeof(err)) < 0)
			abort();
		p2 = print_to_string(&again, &len2);
		if (len1 != len2 || memcmp(p1, p2, len1) != 0)
			abort();
		free(p1);
		free(p2);
		config_free(&again);
	}
	config_print(&cfg, devnull);
	config_free(&cfg);
	free(text);
	return 0;
}
