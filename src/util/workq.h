/*
 * workq - a small pool of worker threads for blocking work (password
 * hashing, mailbox syncs) whose results come back on the event loop.
 *
 * work(arg) runs on a worker thread; done(arg) then runs on the loop
 * thread. A caller whose session may go away meanwhile keeps a flag in
 * arg that done() checks: the job itself is never cancelled.
 */
#ifndef PETREL_UTIL_WORKQ_H
#define PETREL_UTIL_WORKQ_H

struct event_base;
struct workq;

typedef void workq_fn(void *arg);

struct workq *workq_new(struct event_base *base, unsigned threads);
void workq_submit(struct workq *wq, workq_fn *work, workq_fn *done, void *arg);
/* workq_free - finish every submitted job (running its done), join. */
void workq_free(struct workq **wqp);

#endif
