#include "mailauth/dkim_keycache.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mailauth/dkim_keys.h"
#include "util/xalloc.h"

#define CACHE_MAX 256 /* domains; past it the oldest entry goes */

struct entry {
	char domain[MAUTH_NAME_MAX + 1];
	struct timespec mtime; /* of dkim/DOMAIN/active; 0 = none */
	ino_t ino;
	size_t n;
	struct dkim_sign_key keys[2];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry *cache;
static size_t n_cache;

static void
active_stat(const char *data_dir, const char *d, struct timespec *mt,
	    ino_t *ino)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/dkim/%s/active", data_dir, d);
	if (stat(path, &st) < 0) {
		memset(mt, 0, sizeof(*mt));
		*ino = 0;
		return;
	}
	*mt = st.st_mtim;
	*ino = st.st_ino;
}

size_t
dkim_keycache_get(const char *data_dir, const char *domain,
		  struct dkim_sign_key keys_r[2])
{
	char d[MAUTH_NAME_MAX + 1];
	struct timespec mt;
	ino_t ino;
	struct entry *e = NULL;
	size_t n;

	if (!mauth_name_copy(domain, strlen(domain), d))
		return 0;
	/* The active file is replaced by rename on every change: a new
	 * inode or mtime means the keys changed. */
	active_stat(data_dir, d, &mt, &ino);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_cache; i++)
		if (strcmp(cache[i].domain, d) == 0)
			e = &cache[i];
	if (e && (e->ino != ino || e->mtime.tv_sec != mt.tv_sec ||
		  e->mtime.tv_nsec != mt.tv_nsec)) {
		dkim_keys_unload(e->keys, e->n);
		e->n = 0;
		e->ino = ino;
		e->mtime = mt;
		e->n = ino ? dkim_keys_load(data_dir, d, e->keys) : 0;
	}
	if (!e) {
		if (n_cache == CACHE_MAX) {
			dkim_keys_unload(cache[0].keys, cache[0].n);
			memmove(cache, cache + 1, --n_cache * sizeof(*cache));
		}
		cache = xrealloc(cache, (n_cache + 1) * sizeof(*cache));
		e = &cache[n_cache++];
		memset(e, 0, sizeof(*e));
		memcpy(e->domain, d, strlen(d) + 1);
		e->ino = ino;
		e->mtime = mt;
		e->n = ino ? dkim_keys_load(data_dir, d, e->keys) : 0;
	}
	n = e->n;
	for (size_t i = 0; i < n; i++) {
		keys_r[i] = e->keys[i];
		EVP_PKEY_up_ref(keys_r[i].pkey);
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void
dkim_keycache_clear(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < n_cache; i++)
		dkim_keys_unload(cache[i].keys, cache[i].n);
	free(cache);
	cache = NULL;
	n_cache = 0;
	pthread_mutex_unlock(&lock);
}
