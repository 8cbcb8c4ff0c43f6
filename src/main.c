/*
 * main - petrel's command line: petrel [-c FILE] [-o KEY=VALUE]... COMMAND
 *
 * Reads the configuration (file, then overrides), then hands over to the
 * server (`serve`), the settings printer (`check-config`) or an admin
 * command in src/cli/. Called as `sendmail`, it is `petrel sendmail`.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "server.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr,
		"usage: petrel [-c FILE] [-o KEY=VALUE]... COMMAND [ARGS]\n"
		"commands: serve, check-config, domain, user, alias, queue, "
		"badmail, admin, sendmail, dns-records\n");
}

int
main(int argc, char **argv)
{
	struct config cfg;
	const char *conf_path = NULL;
	char err[512];
	int i = 1;

	config_init(&cfg);

	/*
	 * Invoked as sendmail every argument is sendmail's, so the
	 * configuration comes from $PETREL_CONF, ./petrel.conf or
	 * /etc/petrel.conf, the first that exists.
	 */
	if (strcmp(basename(argv[0]), "sendmail") == 0) {
		const char *env = getenv("PETREL_CONF");
		const char *path = NULL;
		if (env != NULL && env[0] != '\0')
			path = env;
		else if (access("petrel.conf", R_OK) == 0)
			path = "petrel.conf";
		else if (access("/etc/petrel.conf", R_OK) == 0)
			path = "/etc/petrel.conf";
		if (path != NULL &&
		    config_load_file(&cfg, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "petrel: %s\n", err);
			return 1;
		}
		int status = cli_sendmail(&cfg, argc - 1, argv + 1);
		config_free(&cfg);
		return status;
	}

	/* First pass: -c, so the file is read before any -o. */
	for (int j = 1; j < argc && argv[j][0] == '-'; j++) {
		if (strcmp(argv[j], "-c") == 0 && j + 1 < argc)
			conf_path = argv[++j];
		else if (strcmp(argv[j], "-o") == 0 && j + 1 < argc)
			j++;
		else
			break;
	}
	if (conf_path == NULL && access("petrel.conf", R_OK) == 0)
		conf_path = "petrel.conf";
	if (conf_path != NULL &&
	    config_load_file(&cfg, conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "petrel: %s\n", err);
		return 1;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			i++;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (config_override(&cfg, argv[++i], err, sizeof(err)) <
			    0) {
				fprintf(stderr, "petrel: -o %s: %s\n", argv[i],
					err);
				return 1;
			}
		} else {
			usage();
			return 2;
		}
	}
	if (i >= argc) {
		usage();
		return 2;
	}
	const char *cmd = argv[i++];
	int rest = argc - i;
	char **rargv = argv + i;
	int status;

	if (strcmp(cmd, "serve") == 0)
		status = server_run(&cfg, conf_path, argv, i - 1);
	else if (strcmp(cmd, "check-config") == 0) {
		config_print(&cfg, stdout);
		status = 0;
	} else if (strcmp(cmd, "domain") == 0)
		status = cli_domain(&cfg, rest, rargv);
	else if (strcmp(cmd, "user") == 0)
		status = cli_user(&cfg, rest, rargv);
	else if (strcmp(cmd, "alias") == 0)
		status = cli_alias(&cfg, rest, rargv);
	else if (strcmp(cmd, "queue") == 0)
		status = cli_queue(&cfg, rest, rargv);
	else if (strcmp(cmd, "badmail") == 0)
		status = cli_badmail(&cfg, rest, rargv);
	else if (strcmp(cmd, "admin") == 0)
		status = cli_admin(&cfg, rest, rargv);
	else if (strcmp(cmd, "sendmail") == 0)
		status = cli_sendmail(&cfg, rest, rargv);
	else if (strcmp(cmd, "dns-records") == 0)
		status = cli_dns_records(&cfg, rest, rargv);
	else {
		fprintf(stderr, "petrel: unknown command '%s'\n", cmd);
		usage();
		status = 2;
	}
	config_free(&cfg);
	return status;
}
