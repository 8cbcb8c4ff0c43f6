#include "queue/queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/xalloc.h"

void
queue_id_new(char id_r[QUEUE_ID_MAX])
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last;
	struct timespec ts;

	/* Microseconds since the epoch, made strictly increasing: unique
	 * across restarts (the clock moved on) and sortable by arrival. */
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now =
	    (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	pthread_mutex_lock(&lock);
	if (now <= last)
		now = last + 1;
	last = now;
	pthread_mutex_unlock(&lock);
	snprintf(id_r, QUEUE_ID_MAX, "%016" PRIX64, now);
}

int
queue_path(const char *data_dir, const char *sub, const char *id, char *out,
	   size_t outlen)
{
	int n = snprintf(out, outlen, "%s/queue/%s/%s", data_dir, sub, id);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
queue_setup(const char *data_dir, char *err, size_t errlen)
{
	static const char *const subs[] = {
	    "queue", "queue/tmp", "queue/msg", "queue/env",
	    "mail",  "pickup",	  "badmail",   "maildrop"};
	char path[4096];
	struct stat st;

	if (fsutil_mkdirs(data_dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", data_dir,
			 strerror(errno));
		return -1;
	}
	if (stat(data_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", data_dir);
		return -1;
	}
	if (st.st_mode & S_IWOTH) {
		snprintf(err, errlen, "refusing to run: %s is world-writable",
			 data_dir);
		return -1;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", data_dir, subs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * remove_matching - unlink debris in queue/SUB: every entry, or only
 * those without an env/ twin (require_env), or only names with suffix.
 */
static void
remove_matching(const char *data_dir, const char *sub, int require_env,
		const char *suffix)
{
	char dir[4096], path[4096 + 512];
	snprintf(dir, sizeof(dir), "%s/queue/%s", data_dir, sub);
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		size_t nl = strlen(de->d_name);
		if (suffix != NULL &&
		    (nl < strlen(suffix) ||
		     strcmp(de->d_name + nl - strlen(suffix), suffix) != 0))
			continue;
		if (require_env) {
			struct stat st;
			queue_path(data_dir, "env", de->d_name, path,
				   sizeof(path));
			if (stat(path, &st) == 0)
				continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			log_info("%s: removed unacknowledged queue/%s file",
				 de->d_name, sub);
	}
	closedir(d);
}

void
queue_recover(const char *data_dir)
{
	/* tmp/: transactions that never got their 250 (or, for local-only
	 * mail, got it after their links were durable: done either way). */
	remove_matching(data_dir, "tmp", 0, NULL);
	/* msg/ without env/: the commit marker never became durable. */
	remove_matching(data_dir, "msg", 1, NULL);
	/* env/ID.tmp: an envelope being written when we stopped. */
	remove_matching(data_dir, "env", 0, ".tmp");
}

int
queue_spool_open(const char *data_dir, const char *id, char *path_r,
		 size_t pathlen)
{
	if (queue_path(data_dir, "tmp", id, path_r, pathlen) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path_r, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

int
queue_load(const char *data_dir, const char *id, struct queue_envelope *env_r,
	   char *err, size_t errlen)
{
	char path[4096];
	size_t len;

	if (queue_path(data_dir, "env", id, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "bad queue id");
		return -1;
	}
	char *text = fsutil_read_file(path, 64 << 20, &len);
	if (text == NULL) {
		snprintf(err, errlen, "%s",
			 errno == ENOENT ? "no such message" : strerror(errno));
		return -1;
	}
	int r = queue_envelope_parse(text, len, env_r, err, errlen);
	free(text);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
queue_ids(const char *data_dir, size_t *n_r)
{
	char dir[4096];
	size_t n = 0, cap = 16;
	char **ids = xmalloc(cap * sizeof(*ids));

	snprintf(dir, sizeof(dir), "%s/queue/env", data_dir);
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || strchr(de->d_name, '.'))
				continue;
			if (n == cap) {
				cap *= 2;
				ids = xrealloc(ids, cap * sizeof(*ids));
			}
			ids[n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	qsort(ids, n, sizeof(*ids), cmp_str);
	*n_r = n;
	return ids;
}

void
queue_ids_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
