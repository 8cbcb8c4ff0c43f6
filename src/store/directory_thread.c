/*
 * directory_thread - one directory connection per worker thread.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#include "store/directory.h"
#include "util/log.h"

static pthread_key_t dir_key;
static pthread_once_t dir_once = PTHREAD_ONCE_INIT;

static void
close_dir(void *p)
{
	struct directory *dir = p;
	directory_close(&dir);
}

static void
make_key(void)
{
	pthread_key_create(&dir_key, close_dir);
}

struct directory *
directory_for_thread(const char *data_dir)
{
	pthread_once(&dir_once, make_key);
	struct directory *dir = pthread_getspecific(dir_key);
	if (dir != NULL)
		return dir;
	char path[PATH_MAX], err[256];
	snprintf(path, sizeof(path), "%s/directory.db", data_dir);
	dir = directory_open(path, false, err, sizeof(err));
	if (dir == NULL) {
		log_err("directory: %s", err);
		return NULL;
	}
	pthread_setspecific(dir_key, dir);
	return dir;
}
