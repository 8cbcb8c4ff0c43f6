/*
 * cli_dkim - `petrel dkim ...`: the DKIM signing keys of the hosted
 * domains (src/mailauth/dkim_keys.h), and signing or verifying a message
 * on standard input by hand, with the code the server runs (to check a
 * published key, and for tests against other implementations).
 *
 *     petrel dkim keygen [--ed25519|--rsa] DOMAIN [SELECTOR]
 *     petrel dkim list [DOMAIN]
 *     petrel dkim activate DOMAIN SELECTOR
 *     petrel dkim del DOMAIN SELECTOR
 *     petrel dkim sign DOMAIN  < message > signed
 *     petrel dkim verify       < message
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "deliver/dns.h"
#include "mailauth/dkim_keys.h"
#include "mailauth/dkim_sign.h"
#include "mailauth/dkim_verify.h"
#include "mailauth/dns_records.h"
#include "mailauth/mauth_dns.h"
#include "store/directory.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MAX_STDIN  (64 * 1024 * 1024)
#define CLI_DNS_TO 10 /* seconds per key look-up */

static int
usage(void)
{
	fprintf(stderr,
		"petrel: usage: petrel dkim keygen [--ed25519|--rsa] DOMAIN "
		"[SELECTOR] | list [DOMAIN] | activate DOMAIN SELECTOR | "
		"del DOMAIN SELECTOR | sign DOMAIN | verify\n");
	return 2;
}

static int
error(const char *msg)
{
	fprintf(stderr, "petrel: %s\n", msg);
	return 1;
}

/* hosted - is domain one of ours? err set if not. */
static bool
hosted(const struct config *cfg, const char *domain, char *err, size_t errlen)
{
	struct directory *dir = directory_open(
	    cli_data_path(cfg, "directory.db"), false, err, errlen);
	int r;

	if (!dir)
		return false;
	r = directory_is_local_domain(dir, domain);
	directory_close(&dir);
	if (r != 1)
		snprintf(err, errlen,
			 "%s is not a hosted domain (petrel domain add %s)",
			 domain, domain);
	return r == 1;
}

static int
keygen(const struct config *cfg, int argc, char **argv)
{
	enum dkim_alg alg = DKIM_ALG_RSA_SHA256;
	const char *args[2] = {NULL, NULL};
	int n = 0;
	char err[512], sel[64];
	bool active;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--ed25519") == 0)
			alg = DKIM_ALG_ED25519_SHA256;
		else if (strcmp(argv[i], "--rsa") == 0)
			alg = DKIM_ALG_RSA_SHA256;
		else if (argv[i][0] == '-' || n == 2)
			return usage();
		else
			args[n++] = argv[i];
	}
	if (n < 1)
		return usage();
	if (!hosted(cfg, args[0], err, sizeof(err)))
		return error(err);
	if (n == 1) {
		/* Default selector: the algorithm and today's date, so each
		 * rotation gets a fresh name ("rsa-20261204"). */
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		snprintf(sel, sizeof(sel), "%s-%04d%02d%02d",
			 alg == DKIM_ALG_ED25519_SHA256 ? "ed" : "rsa",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		args[1] = sel;
	}
	if (dkim_keys_create(cfg->data_dir, args[0], args[1], alg, &active, err,
			     sizeof(err)) < 0)
		return error(err);

	struct dkim_key_list l = {0};
	struct dns_records r = {0};
	dkim_keys_list(cfg->data_dir, args[0], &l, err, sizeof(err));
	for (size_t i = 0; i < l.n; i++) {
		const struct dkim_key_info *k = &l.items[i];
		if (strcasecmp(k->selector, args[1]) != 0)
			continue;
		printf("%s: DKIM key %s (%s, %d bits) %s\n", k->domain,
		       k->selector, dkim_alg_name(k->alg), k->bits,
		       active ? "signs from now on"
			      : "made: publish its record, then `petrel dkim "
				"activate` it");
		dns_records_dkim(k, &r);
	}
	dns_records_print(&r, stdout);
	dns_records_free(&r);
	dkim_key_list_free(&l);
	return 0;
}

static int
list(const struct config *cfg, int argc, char **argv)
{
	struct dkim_key_list l = {0};
	char err[512], when[32];

	if (argc > 1)
		return usage();
	if (dkim_keys_list(cfg->data_dir, argc ? argv[0] : NULL, &l, err,
			   sizeof(err)) < 0)
		return error(err);
	for (size_t i = 0; i < l.n; i++) {
		const struct dkim_key_info *k = &l.items[i];
		struct tm tm;
		gmtime_r(&k->created, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		printf("%s %s %s %d %s %s\n", k->domain, k->selector,
		       dkim_alg_name(k->alg), k->bits,
		       k->active ? "active" : "standby", when);
	}
	dkim_key_list_free(&l);
	return 0;
}

static char *
read_stdin(size_t *len_r)
{
	struct strbuf sb = {0};
	char buf[65536];
	size_t n;

	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		if (sb.len + n > MAX_STDIN) {
			free(sb.p);
			return NULL;
		}
		strbuf_add(&sb, buf, n);
	}
	*len_r = sb.len;
	return sb.p ? sb.p : xstrdup("");
}

static int
sign(const struct config *cfg, int argc, char **argv)
{
	struct dkim_sign_key keys[2];
	struct strbuf out = {0};
	size_t n, len;
	char *msg;

	if (argc != 1)
		return usage();
	n = dkim_keys_load(cfg->data_dir, argv[0], keys);
	if (n == 0)
		return error("no active DKIM key for that domain");
	msg = read_stdin(&len);
	int r =
	    msg ? dkim_sign_message(keys, n, msg, len, time(NULL), &out) : -1;
	dkim_keys_unload(keys, n);
	if (r < 0) {
		free(msg);
		return error("cannot sign: not a message");
	}
	fwrite(out.p, 1, out.len, stdout);
	fwrite(msg, 1, len, stdout);
	free(out.p);
	free(msg);
	return 0;
}

struct verify_run {
	struct event_base *base;
	bool done;
};

static void
verify_done(void *arg)
{
	struct verify_run *vr = arg;

	vr->done = true;
	event_base_loopbreak(vr->base);
}

static int
verify(const struct config *cfg, int argc, char **argv)
{
	struct verify_run vr = {0};
	char err[256];
	size_t len;
	char *msg;
	int status = 0;

	(void)argv;
	if (argc != 0)
		return usage();
	msg = read_stdin(&len);
	if (!msg)
		return error("message too large");
	struct dkim_verify *v = dkim_verify_new(msg, len, time(NULL));
	struct dkim_head *h = xmalloc(sizeof(*h));
	if (dkim_head_parse(msg, len, h) == 0)
		dkim_verify_body(v, msg + h->body, len - h->body);
	free(h);
	dkim_verify_body_end(v);

	vr.base = event_base_new();
	struct dns *dns = dns_new(vr.base, cfg->dns_servers, cfg->n_dns_servers,
				  err, sizeof(err));
	if (!dns) {
		dkim_verify_free(&v);
		event_base_free(vr.base);
		free(msg);
		return error(err);
	}
	struct mauth_dkim *d =
	    mauth_dkim_start(dns, v, CLI_DNS_TO, verify_done, &vr);
	if (d)
		event_base_dispatch(vr.base);
	dns_free(&dns);
	event_base_free(vr.base);

	if (dkim_verify_count(v) == 0) {
		printf("none (no DKIM-Signature)\n");
		status = 1;
	}
	for (size_t i = 0; i < dkim_verify_count(v); i++) {
		const struct dkim_verdict *r = dkim_verify_verdict(v, i);
		printf("%s d=%s s=%s a=%s%s%s%s\n", dkim_result_name(r->result),
		       r->d, r->s, r->a, r->why[0] ? " (" : "", r->why,
		       r->why[0] ? ")" : "");
		if (r->result != DKIM_PASS)
			status = 1;
	}
	dkim_verify_free(&v);
	free(msg);
	return status;
}

int
cli_dkim(const struct config *cfg, int argc, char **argv)
{
	char err[512];

	if (argc < 1)
		return usage();
	const char *cmd = argv[0];
	argc--;
	argv++;
	if (strcmp(cmd, "keygen") == 0)
		return keygen(cfg, argc, argv);
	if (strcmp(cmd, "list") == 0)
		return list(cfg, argc, argv);
	if (strcmp(cmd, "sign") == 0)
		return sign(cfg, argc, argv);
	if (strcmp(cmd, "verify") == 0)
		return verify(cfg, argc, argv);
	if ((strcmp(cmd, "activate") == 0 || strcmp(cmd, "del") == 0) &&
	    argc == 2) {
		int r = cmd[0] == 'a'
			    ? dkim_keys_activate(cfg->data_dir, argv[0],
						 argv[1], err, sizeof(err))
			    : dkim_keys_delete(cfg->data_dir, argv[0], argv[1],
					       err, sizeof(err));
		return r < 0 ? error(err) : 0;
	}
	return usage();
}
