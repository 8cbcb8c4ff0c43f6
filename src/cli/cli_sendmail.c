/*
 * cli_sendmail - `petrel sendmail [-f SENDER] [-t] [-i] [RCPT...]` (also
 * the binary invoked as `sendmail`): read one message on stdin and put it
 * in a folder the server takes mail from, so it works whether or not the
 * server runs — the server queues it at once, or at its next start.
 *
 * Which folder depends on who runs it, as with Postfix's postdrop:
 *  - whoever may write data_dir/pickup/ (root, the server's user) puts
 *    the file there: the sender is -f, else the invoking user at the
 *    host name;
 *  - any other local user puts it in data_dir/maildrop/, which only
 *    sendmail_group may write (the binary is installed setgid to it; the
 *    group is held only around the write, see cli_sendmail_setgid) and
 *    nobody but the server may read. There the server makes the sender
 *    the file's owner and takes -f only as maildrop_sender says.
 *
 * The envelope travels as leading X-Sender:/X-Receiver: lines (see
 * deliver/pickup.h); the recipients are the arguments, or with -t the
 * message's To:/Cc:/Bcc:. The file is written under a dot name, fsync'd,
 * then renamed into place and the rename made durable (a folder fsync in
 * pickup/, a syncfs in maildrop/, which the user may not open): when this
 * exits 0 the message survives a crash.
 *
 * Without -i (or -oi), a line with a single "." ends the message, as in
 * traditional sendmail. Other sendmail options (-F, -o..., -B..., -bm,
 * -em, -v) are accepted and ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "conf/config.h"
#include "queue/queue.h"
#include "smtp/smtp_addr.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

static int
fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "petrel: sendmail: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 1;
}

static bool
valid_address(const char *s)
{
	struct smtp_path p;
	return smtp_addr_parse_mailbox_utf8(s, strlen(s), &p) == 0;
}

/* The sendmail_group when the binary runs setgid to it; else -1. */
static gid_t drop_group = (gid_t)-1;

void
cli_sendmail_setgid(bool sendmail)
{
	gid_t rgid = getgid(), egid = getegid();

	if (rgid == egid)
		return;
	if (!sendmail) {
		/* Nothing but the maildrop write needs the group: gone for
		 * good, before any configuration is read. */
		if (setresgid(rgid, rgid, rgid) < 0 || getegid() != rgid) {
			fprintf(stderr, "petrel: cannot drop the group\n");
			exit(1);
		}
		return;
	}
	/* Keep it as the saved set-group-ID only; work as the user. */
	if (setresgid(rgid, rgid, egid) < 0 || getegid() != rgid) {
		fprintf(stderr, "petrel: cannot drop the group\n");
		exit(1);
	}
	drop_group = egid;
}

/* drop_write - buf into dir as NAME via .tmp-NAME, durably. 0 or -1. */
static int
drop_write(const char *dir, const char *name, const char *buf, size_t len,
	   bool drop)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, e = 0;

	snprintf(tmp, sizeof(tmp), "%s/.tmp-%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	/* maildrop/: as the group only for these few calls. */
	if (drop && drop_group != (gid_t)-1 && setegid(drop_group) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	/* The server (not its owner: the submitting user, or root) reads
	 * it by the "other" bit; nobody else can reach into pickup/ or
	 * maildrop/ at all. */
	if (fd < 0 || fchmod(fd, 0444) < 0 ||
	    fsutil_write_all(fd, buf, len) < 0 || fsync(fd) < 0 ||
	    rename(tmp, dst) < 0 ||
	    (drop ? syncfs(fd) < 0 : fsutil_fsync_dir(dir) < 0))
		e = errno;
	if (fd >= 0) {
		if (e != 0)
			unlink(tmp);
		close(fd);
	}
	if (drop && drop_group != (gid_t)-1 && setegid(getgid()) < 0) {
		fprintf(stderr, "petrel: cannot drop the group\n");
		exit(1);
	}
	errno = e;
	return e == 0 ? 0 : -1;
}

int
cli_sendmail(const struct config *cfg, int argc, char **argv)
{
	const char *sender = NULL;
	bool from_headers = false, dots_end = true;
	int i = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-f") == 0 || strcmp(a, "-r") == 0) {
			if (++i >= argc)
				return fail("%s needs an address", a);
			sender = argv[i];
		} else if (strncmp(a, "-f", 2) == 0) {
			sender = a + 2;
		} else if (strcmp(a, "-t") == 0) {
			from_headers = true;
		} else if (strcmp(a, "-i") == 0 || strcmp(a, "-oi") == 0) {
			dots_end = false;
		} else if (strcmp(a, "-F") == 0 || strcmp(a, "-o") == 0 ||
			   strcmp(a, "-B") == 0 || strcmp(a, "-N") == 0 ||
			   strcmp(a, "-R") == 0 || strcmp(a, "-V") == 0) {
			i++; /* an option with a separate value: ignored */
		} else if (a[1] == 'F' || a[1] == 'o' || a[1] == 'B' ||
			   a[1] == 'b' || a[1] == 'e' || a[1] == 'v' ||
			   a[1] == 'N' || a[1] == 'R' || a[1] == 'V') {
			/* ignored, as by Postfix's sendmail */
		} else {
			return fail("unknown option %s", a);
		}
	}
	if (sender != NULL && sender[0] != '\0' && !valid_address(sender))
		return fail("malformed sender address '%s'", sender);
	if (!from_headers && i >= argc)
		return fail("%s", "no recipients (give them, or use -t)");
	for (int k = i; k < argc; k++)
		if (!valid_address(argv[k]))
			return fail("malformed recipient address '%s'",
				    argv[k]);
	if (from_headers && i < argc)
		return fail("%s", "-t with recipient arguments is not "
				  "supported");

	/* The envelope lines. */
	size_t cap = 4096, len = 0;
	char *buf = xmalloc(cap);
#define APPEND(s, n)                                                           \
	do {                                                                   \
		while (len + (n) + 1 > cap)                                    \
			buf = xrealloc(buf, cap *= 2);                         \
		memcpy(buf + len, (s), (n));                                   \
		len += (n);                                                    \
	} while (0)
	char line[1024], pickup[PATH_MAX];
	snprintf(pickup, sizeof(pickup), "%s/pickup", cfg->data_dir);
	/* May the user write pickup/ (made if missing, as before: the
	 * server may never have run)? With the group put away, these ask
	 * as the real user. */
	bool drop =
	    fsutil_mkdirs(pickup, 0700) < 0 || access(pickup, W_OK) != 0;
	if (sender == NULL && !drop) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(line, sizeof(line), "X-Sender: <%s@%s>\n",
			 pw ? pw->pw_name : "nobody", cfg->hostname);
		APPEND(line, strlen(line));
	} else if (sender != NULL) {
		/* In maildrop/ only a request: the server decides. */
		snprintf(line, sizeof(line), "X-Sender: <%s>\n", sender);
		APPEND(line, strlen(line));
	}
	for (int k = i; k < argc; k++) {
		snprintf(line, sizeof(line), "X-Receiver: <%s>\n", argv[k]);
		APPEND(line, strlen(line));
	}
	size_t body_start = len;

	/* The message. */
	char *ln = NULL;
	size_t lcap = 0;
	ssize_t n;
	while ((n = getline(&ln, &lcap, stdin)) > 0) {
		if (dots_end &&
		    (strcmp(ln, ".\n") == 0 || strcmp(ln, ".\r\n") == 0))
			break;
		if (len - body_start + (size_t)n > cfg->max_message_size) {
			free(ln);
			free(buf);
			return fail("%s", "message too big");
		}
		APPEND(ln, (size_t)n);
	}
	free(ln);
	if (len == body_start) {
		free(buf);
		return fail("%s", "empty message");
	}
	if (buf[len - 1] != '\n')
		APPEND("\n", 1);
#undef APPEND

	char id[QUEUE_ID_MAX], dir[PATH_MAX], name[QUEUE_ID_MAX + 48];
	queue_id_new(id);
	snprintf(name, sizeof(name), "sendmail-%s-%ld", id, (long)getpid());
	if (!drop) {
		snprintf(dir, sizeof(dir), "%s", pickup);
	} else {
		snprintf(dir, sizeof(dir), "%s/maildrop", cfg->data_dir);
	}
	if (drop_write(dir, name, buf, len, drop) < 0) {
		int e = errno;
		free(buf);
		if (drop && (e == EACCES || e == EPERM || e == ENOENT))
			return fail("cannot write to the maildrop folder: %s "
				    "(is petrel installed setgid to its "
				    "sendmail_group, and the server started "
				    "once?)",
				    strerror(e));
		return fail(drop ? "cannot write to the maildrop folder: %s"
				 : "cannot write to the pickup folder: %s",
			    strerror(e));
	}
	free(buf);
	return 0;
}
