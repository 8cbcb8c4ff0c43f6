#include "util/workq.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xalloc.h"

#define WORKQ_MAX_THREADS 16

struct workq_job {
	workq_fn *work, *done;
	void *arg;
	struct workq_job *next;
};

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct workq_job *todo, **todo_tail;
	struct workq_job *done, **done_tail;
	bool stopping;
	unsigned n_threads;
	pthread_t threads[WORKQ_MAX_THREADS];
	int efd;
	struct event *ev;
};

static void *
workq_thread(void *arg)
{
	struct workq *wq = arg;

	pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (wq->todo == NULL && !wq->stopping)
			pthread_cond_wait(&wq->cond, &wq->lock);
		struct workq_job *j = wq->todo;
		if (j == NULL)
			break; /* stopping and nothing left */
		wq->todo = j->next;
		if (wq->todo == NULL)
			wq->todo_tail = &wq->todo;
		pthread_mutex_unlock(&wq->lock);

		j->work(j->arg);

		pthread_mutex_lock(&wq->lock);
		j->next = NULL;
		*wq->done_tail = j;
		wq->done_tail = &j->next;
		uint64_t one = 1;
		ssize_t w = write(wq->efd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

/* workq_done_cb - on the loop: run done() of every finished job. */
static void
workq_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workq *wq = arg;
	uint64_t n;
	(void)what;
	ssize_t r = read(fd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&wq->lock);
	struct workq_job *list = wq->done;
	wq->done = NULL;
	wq->done_tail = &wq->done;
	pthread_mutex_unlock(&wq->lock);
	while (list != NULL) {
		struct workq_job *next = list->next;
		list->done(list->arg);
		free(list);
		list = next;
	}
}

struct workq *
workq_new(struct event_base *base, unsigned threads)
{
	struct workq *wq = xcalloc(1, sizeof(*wq));

	if (threads == 0)
		threads = 1;
	if (threads > WORKQ_MAX_THREADS)
		threads = WORKQ_MAX_THREADS;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	wq->todo_tail = &wq->todo;
	wq->done_tail = &wq->done;
	wq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wq->efd < 0)
		fatal("eventfd: %s", strerror(errno));
	wq->ev =
	    event_new(base, wq->efd, EV_READ | EV_PERSIST, workq_done_cb, wq);
	event_add(wq->ev, NULL);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&wq->threads[i], NULL, workq_thread, wq) !=
		    0)
			fatal("cannot start a worker thread");
		wq->n_threads++;
	}
	return wq;
}

void
workq_submit(struct workq *wq, workq_fn *work, workq_fn *done, void *arg)
{
	struct workq_job *j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&wq->lock);
	*wq->todo_tail = j;
	wq->todo_tail = &j->next;
	pthread_cond_signal(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

void
workq_free(struct workq **wqp)
{
	struct workq *wq = *wqp;
	if (wq == NULL)
		return;
	pthread_mutex_lock(&wq->lock);
	wq->stopping = true;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	for (unsigned i = 0; i < wq->n_threads; i++)
		pthread_join(wq->threads[i], NULL);
	workq_done_cb(wq->efd, EV_READ, wq);
	event_free(wq->ev);
	close(wq->efd);
	pthread_mutex_destroy(&wq->lock);
	pthread_cond_destroy(&wq->cond);
	free(wq);
	*wqp = NULL;
}
