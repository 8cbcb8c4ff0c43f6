#include "auth/auth.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "smtp/smtp_addr.h"
#include "store/directory.h"
#include "store/maildir.h"
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

/* thread_directory - this thread's own connection to directory.db. */
static struct directory *
thread_directory(const char *data_dir)
{
	pthread_once(&dir_once, make_key);
	struct directory *dir = pthread_getspecific(dir_key);
	if (dir != NULL)
		return dir;
	char path[PATH_MAX], err[256];
	snprintf(path, sizeof(path), "%s/directory.db", data_dir);
	dir = directory_open(path, false, err, sizeof(err));
	if (dir == NULL) {
		log_err("auth: %s", err);
		return NULL;
	}
	pthread_setspecific(dir_key, dir);
	return dir;
}

int
auth_check_password(const char *data_dir, const char *user,
		    const char *password)
{
	struct directory *dir = thread_directory(data_dir);
	if (dir == NULL)
		return -1;
	return directory_check_password(dir, user, password);
}

int
auth_mailbox_of(const char *data_dir, const char *user, char *out,
		size_t outlen)
{
	struct smtp_path p;
	if (smtp_addr_parse_mailbox(user, strlen(user), &p) < 0)
		return -1;
	/* The parser lower-cases the domain; maildir_mailbox_path the
	 * local part: the same folder delivery writes to. */
	return maildir_mailbox_path(data_dir, p.domain, p.local, out, outlen);
}
