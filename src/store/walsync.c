/**
 * @file walsync.c  Commits made durable off the loop (walsync.h)
 *
 * The loop owns the list of waiting commits, each numbered (its
 * generation). It asks the thread for one sync at a time, naming the
 * newest generation written: every commit up to it was written before
 * the fdatasync began, so its return makes them all durable. The thread
 * says it returned through a libre mqueue (the loop wakes on its pipe);
 * walsync_wait() takes the answer under the lock instead, and the message
 * that follows finds nothing to take.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>
#include <re.h>
#include "store/walsync.h"

#include <sippush/log.h>

#define MOD "store"

struct pend {
	struct le le;
	walsync_done_h *h;
	void *arg;
	uint64_t gen;            /* the newest commit it waits for */
	int err;                 /* its own outcome (walsync_after) */
};

struct walsync {
	/* the loop's */
	struct list pend;        /* oldest first */
	uint64_t written;        /* the newest commit's generation */
	bool inflight;           /* a sync asked for and not yet settled */
	int err;                 /* a sync failed: every commit fails */
	struct mqueue *mq;

	/* set once, then read by the thread */
	walsync_fsync_h *fsync;
	void *fsync_arg;
	int fd;

	pthread_t thr;
	bool started;
	bool inited;             /* mtx and both conds */
	pthread_mutex_t mtx;
	pthread_cond_t ask_cond;
	pthread_cond_t done_cond;
	/* under mtx */
	bool ask, stop, done;
	uint64_t ask_gen, done_gen;
	int done_err;
};


static int fdatasync_h(int fd, void *arg)
{
	(void)arg;
	while (fdatasync(fd)) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}


static void *thread_main(void *arg)
{
	struct walsync *ws = arg;

	pthread_mutex_lock(&ws->mtx);
	for (;;) {
		uint64_t gen;
		int err;

		while (!ws->ask && !ws->stop)
			pthread_cond_wait(&ws->ask_cond, &ws->mtx);
		if (ws->stop)
			break;
		gen = ws->ask_gen;
		ws->ask = false;
		pthread_mutex_unlock(&ws->mtx);

		err = ws->fsync(ws->fd, ws->fsync_arg);

		pthread_mutex_lock(&ws->mtx);
		ws->done = true;
		ws->done_gen = gen;
		ws->done_err = err;
		pthread_cond_signal(&ws->done_cond);
		/* the pipe holds thousands: the loop reads one a wake-up */
		(void)mqueue_push(ws->mq, 0, NULL);
	}
	pthread_mutex_unlock(&ws->mtx);
	return NULL;
}


static void ask(struct walsync *ws)
{
	pthread_mutex_lock(&ws->mtx);
	ws->ask = true;
	ws->ask_gen = ws->written;
	pthread_cond_signal(&ws->ask_cond);
	pthread_mutex_unlock(&ws->mtx);
	ws->inflight = true;
}


/* Handlers of the commits up to gen (all of them after a failure), in
 * order; one may give a new commit, which waits for a later sync */
static void answer(struct walsync *ws, uint64_t gen)
{
	while (ws->pend.head) {
		struct pend *p = ws->pend.head->data;
		walsync_done_h *h = p->h;
		void *arg = p->arg;
		const int err = ws->err ? ws->err : p->err;

		if (!ws->err && p->gen > gen)
			break;
		list_unlink(&p->le);
		mem_deref(p);
		h(err, arg);
	}
}


/* The sync in flight returned (if it did): answer what it covered, and
 * ask for the next if commits are left waiting */
static void settle(struct walsync *ws)
{
	uint64_t gen;
	int err;

	pthread_mutex_lock(&ws->mtx);
	if (!ws->done) {
		pthread_mutex_unlock(&ws->mtx);
		return;
	}
	ws->done = false;
	gen = ws->done_gen;
	err = ws->done_err;
	pthread_mutex_unlock(&ws->mtx);

	ws->inflight = false;
	if (err && !ws->err) {
		ws->err = err;
		plog(SIPPUSH_LOG_ERROR, MOD, "fdatasync of the WAL failed (%m): "
		     "the requests of the commits it covered are refused, and "
		     "so are those of every later one (SQLite keeps what they "
		     "wrote: a refused push may still be delivered); restart "
		     "sippushd", err);
	}
	answer(ws, gen);
	if (ws->pend.head && !ws->inflight && !ws->err)
		ask(ws);
}


static void done_h(int id, void *data, void *arg)
{
	(void)id;
	(void)data;
	settle(arg);
}


static void destructor(void *arg)
{
	struct walsync *ws = arg;

	if (ws->started) {
		pthread_mutex_lock(&ws->mtx);
		ws->stop = true;
		pthread_cond_signal(&ws->ask_cond);
		pthread_mutex_unlock(&ws->mtx);
		(void)pthread_join(ws->thr, NULL);
	}
	list_flush(&ws->pend);
	mem_deref(ws->mq);
	if (ws->inited) {
		pthread_cond_destroy(&ws->done_cond);
		pthread_cond_destroy(&ws->ask_cond);
		pthread_mutex_destroy(&ws->mtx);
	}
}


int walsync_alloc(struct walsync **wsp, int fd, walsync_fsync_h *fsync,
		  void *arg)
{
	struct walsync *ws;
	int err;

	if (!wsp || fd < 0)
		return EINVAL;

	ws = mem_zalloc(sizeof(*ws), destructor);
	if (!ws)
		return ENOMEM;

	ws->fd = fd;
	ws->fsync = fsync ? fsync : fdatasync_h;
	ws->fsync_arg = arg;
	/* Linux's never fail with default attributes */
	err = pthread_mutex_init(&ws->mtx, NULL);
	err = err ? err : pthread_cond_init(&ws->ask_cond, NULL);
	err = err ? err : pthread_cond_init(&ws->done_cond, NULL);
	ws->inited = !err;

	err = err ? err : mqueue_alloc(&ws->mq, done_h, ws);
	if (!err) {
		/* signals go to the loop's thread (its epoll_wait wakes) */
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = pthread_create(&ws->thr, NULL, thread_main, ws);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	ws->started = !err;
	if (err)
		mem_deref(ws);
	else
		*wsp = ws;
	return err;
}


static int add(struct walsync *ws, walsync_done_h *h, void *arg,
	       uint64_t gen, int err)
{
	struct pend *p = mem_zalloc(sizeof(*p), NULL);

	if (!p)
		return ENOMEM;
	p->h = h;
	p->arg = arg;
	p->gen = gen;
	p->err = err;
	list_append(&ws->pend, &p->le, p);
	return 0;
}


int walsync_commit(struct walsync *ws, walsync_done_h *h, void *arg)
{
	int err;

	if (!ws || !h)
		return EINVAL;
	/* failed: at once, unless older handlers wait (one of them runs
	 * this); they go first */
	if (ws->err)
		return walsync_after(ws, ws->err, h, arg);

	err = add(ws, h, arg, ws->written + 1, 0);
	if (err)
		return err;
	++ws->written;
	if (!ws->inflight)
		ask(ws);
	return 0;
}


int walsync_after(struct walsync *ws, int err, walsync_done_h *h,
		  void *arg)
{
	if (!ws || !h)
		return EINVAL;
	if (!ws->pend.head) {
		h(ws->err ? ws->err : err, arg);
		return 0;
	}
	return add(ws, h, arg, ws->written, err);
}


int walsync_wait(struct walsync *ws)
{
	if (!ws)
		return EINVAL;

	while (ws->pend.head) {
		if (!ws->inflight)
			ask(ws);
		pthread_mutex_lock(&ws->mtx);
		while (!ws->done)
			pthread_cond_wait(&ws->done_cond, &ws->mtx);
		pthread_mutex_unlock(&ws->mtx);
		settle(ws);
	}
	return ws->err;
}


unsigned walsync_pending(const struct walsync *ws)
{
	return ws ? list_count(&ws->pend) : 0;
}
