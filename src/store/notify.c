#include "store/notify.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "store/quota.h"
#include "util/log.h"
#include "util/xalloc.h"

struct pending {
	struct pending *next;
	char path[];
};

/* The one channel: guarded by lock, because the committer thread posts
 * while the loop listens or stops listening. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *queue;
static size_t queued;
static int efd = -1;
static struct event *ev;
static notify_fn *listener;
static void *listener_arg;

#define NOTIFY_MAX_QUEUED 10000 /* then drop: a listener resyncs anyway */

void
notify_delivered(const char *mailbox, uint64_t size)
{
	quota_add(mailbox, (int64_t)size, 1);
	pthread_mutex_lock(&lock);
	if (listener != NULL && queued < NOTIFY_MAX_QUEUED) {
		size_t n = strlen(mailbox);
		struct pending *p = xmalloc(sizeof(*p) + n + 1);
		memcpy(p->path, mailbox, n + 1);
		p->next = queue;
		queue = p;
		queued++;
		uint64_t one = 1;
		ssize_t w = write(efd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&lock);
}

static void
drain(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;
	(void)what;
	(void)arg;
	ssize_t r = read(fd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&lock);
	struct pending *list = queue;
	queue = NULL;
	queued = 0;
	notify_fn *fn = listener;
	void *fn_arg = listener_arg;
	pthread_mutex_unlock(&lock);
	/* Oldest first. The listener folds repeats (a sync queued once). */
	struct pending *rev = NULL;
	while (list != NULL) {
		struct pending *next = list->next;
		list->next = rev;
		rev = list;
		list = next;
	}
	for (struct pending *p = rev; p != NULL && fn != NULL; p = p->next)
		fn(p->path, fn_arg);
	while (rev != NULL) {
		struct pending *next = rev->next;
		free(rev);
		rev = next;
	}
}

void
notify_listen(struct event_base *base, notify_fn *fn, void *arg)
{
	if (efd < 0) {
		efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (efd < 0)
			fatal("eventfd: %s", strerror(errno));
		ev = event_new(base, efd, EV_READ | EV_PERSIST, drain, NULL);
		event_add(ev, NULL);
	}
	pthread_mutex_lock(&lock);
	listener = fn;
	listener_arg = arg;
	pthread_mutex_unlock(&lock);
}

void
notify_unlisten(void)
{
	pthread_mutex_lock(&lock);
	listener = NULL;
	listener_arg = NULL;
	struct pending *list = queue;
	queue = NULL;
	queued = 0;
	pthread_mutex_unlock(&lock);
	while (list != NULL) {
		struct pending *next = list->next;
		free(list);
		list = next;
	}
	if (ev != NULL) {
		event_free(ev);
		ev = NULL;
	}
	if (efd >= 0) {
		close(efd);
		efd = -1;
	}
}
