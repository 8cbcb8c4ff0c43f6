/*
 * fuzz_pop3_command - one POP3 command line through pop3_parse_command,
 * then each argument through pop3_parse_number, as the session does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct pop3_command cmd;
	const char *error;

	if (pop3_parse_command(line, size, &cmd, &error) < 0) {
		if (error == NULL)
			abort();
		return 0;
	}
	if (error != NULL || cmd.n_args > 2 || cmd.cmd >= POP3_CMD_COUNT)
		abort();
	if (size > POP3_LINE_MAX - 2 || memchr(line, '\0', size) != NULL)
		abort();
	for (size_t i = 0; i < cmd.n_args; i++) {
		const char *a = cmd.args[i];
		size_t len = cmd.arg_lens[i];
		uint32_t n;

		/* Views inside the line, never empty. */
		if (a < line || a + len > line + size || len == 0)
			abort();
		if (pop3_parse_number(a, len, &n) == 0) {
			/* Digits only, and the value reads back. */
			uint64_t v = 0;
			for (size_t j = 0; j < len; j++) {
				if (a[j] < '0' || a[j] > '9')
					abort();
				v = v * 10 + (uint64_t)(a[j] - '0');
				if (v > UINT32_MAX)
					abort();
			}
			if (v != n)
				abort();
		}
	}
	(void)pop3_cmd_name(cmd.cmd);
	return 0;
}
