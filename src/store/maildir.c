#include "store/maildir.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"

int
maildir_mailbox_path(const char *data_dir, const char *domain,
		     const char *localpart, char *out, size_t outlen)
{
	char enc[3 * 64 + 1];
	size_t w = 0;

	/* An empty local part would name the domain folder itself. */
	if (localpart[0] == '\0')
		return -1;
	for (size_t i = 0; localpart[i] != '\0'; i++) {
		unsigned char c =
		    (unsigned char)tolower((unsigned char)localpart[i]);
		if (w + 4 > sizeof(enc))
			return -1;
		if ((isalnum(c) && c < 0x80) || c == '_' || c == '+' ||
		    c == '=' || c == '-' || (c == '.' && i > 0))
			enc[w++] = (char)c;
		else
			w += (size_t)snprintf(enc + w, 4, "%%%02X", c);
	}
	enc[w] = '\0';
	/* Domains come from the directory (validated, lower-case); still
	 * refuse anything that could climb out of mail/. */
	if (domain[0] == '\0' || domain[0] == '.' || strchr(domain, '/'))
		return -1;
	int n = snprintf(out, outlen, "%s/mail/%s/%s", data_dir, domain, enc);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
maildir_create(const char *path)
{
	static const char *const subs[] = {"cur", "new", "tmp"};
	char sub[4096];

	if (fsutil_mkdirs(path, 0700) < 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, subs[i]);
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

void
maildir_unique_name(uint64_t size, char *out, size_t outlen)
{
	static atomic_uint seq;
	static char host[64];
	struct timespec ts;

	if (host[0] == '\0') {
		char h[64] = "localhost";
		gethostname(h, sizeof(h) - 1);
		/* '/' and ':' cannot appear in a Maildir name. */
		for (size_t i = 0; h[i] != '\0' && i < sizeof(host) - 1; i++)
			host[i] = h[i] == '/' || h[i] == ':' ? '_' : h[i];
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, outlen, "%lld.M%ldP%dN%u.%s,S=%" PRIu64,
		 (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)getpid(),
		 atomic_fetch_add(&seq, 1), host, size);
}

static int
deliver_copy(const char *mailbox, int src_fd, const char *name, char *path_r,
	     size_t pathlen)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", mailbox, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fsutil_copy_fd(src_fd, fd) < 0 || fdatasync(fd) < 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	close(fd);
	if (rename(tmp, path_r) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	(void)pathlen;
	return 0;
}

int
maildir_deliver(const char *mailbox, const char *src_path, int src_fd,
		uint64_t size, char *path_r, size_t pathlen)
{
	char name[256];

	maildir_unique_name(size, name, sizeof(name));
	int n = snprintf(path_r, pathlen, "%s/new/%s", mailbox, name);
	if (n < 0 || (size_t)n >= pathlen) {
		/* A cut path would link the message somewhere else. */
		errno = ENAMETOOLONG;
		return -1;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (link(src_path, path_r) == 0)
			return 0;
		if (errno == ENOENT && attempt == 0) {
			if (maildir_create(mailbox) < 0)
				return -1;
			continue;
		}
		if (errno == EXDEV || errno == EPERM || errno == EMLINK)
			return deliver_copy(mailbox, src_fd, name, path_r,
					    pathlen);
		return -1;
	}
	return -1;
}
