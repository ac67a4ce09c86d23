/**
 * @file test_walsync.c  Commits made durable off the loop
 *                       (src/store/walsync.c)
 *
 * The sync is a gate of the test's: it counts its calls and returns only
 * when the test lets one through, so what runs before and after the sync
 * is seen from the loop, as the daemon's loop would see it.
 */
#include "testutil.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "store/walsync.h"

struct gate {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	unsigned calls;          /* syncs begun */
	unsigned permits;        /* syncs the test let through */
	int err;                 /* what a sync returns */
};

struct fx {
	struct gate g;
	struct walsync *ws;
	int order[16];           /* the handlers' tags, as they ran */
	int errs[16];
	unsigned n;
	int fd;
};


static int gate_fsync(int fd, void *arg)
{
	struct gate *g = arg;
	int err;

	(void)fd;
	pthread_mutex_lock(&g->mtx);
	++g->calls;
	pthread_cond_broadcast(&g->cond);
	while (!g->permits)
		pthread_cond_wait(&g->cond, &g->mtx);
	--g->permits;
	err = g->err;
	pthread_mutex_unlock(&g->mtx);
	return err;
}


static void permit(struct gate *g, unsigned n)
{
	pthread_mutex_lock(&g->mtx);
	g->permits += n;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->mtx);
}


static unsigned calls(struct gate *g)
{
	unsigned n;

	pthread_mutex_lock(&g->mtx);
	n = g->calls;
	pthread_mutex_unlock(&g->mtx);
	return n;
}


/* the loop runs until n handlers ran (2 s at most) */
static void run_until(struct fx *f, unsigned n)
{
	for (int i = 0; i < 200 && f->n < n; i++)
		run_loop_ms(10);
}


/* the thread has begun n syncs (2 s at most) */
static void wait_calls(struct fx *f, unsigned n)
{
	for (int i = 0; i < 200 && calls(&f->g) < n; i++)
		usleep(10000);
	assert_int_equal(calls(&f->g), n);
}


static struct fx *fx_of;   /* the handlers' fixture */

static void done_h(int err, void *arg)
{
	struct fx *f = fx_of;

	assert_true(f->n < 16);
	f->order[f->n] = (int)(intptr_t)arg;
	f->errs[f->n] = err;
	++f->n;
}


static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[] = "/tmp/sippush-walsync-XXXXXX";

	assert_non_null(f);
	pthread_mutex_init(&f->g.mtx, NULL);
	pthread_cond_init(&f->g.cond, NULL);
	f->fd = mkstemp(path);
	assert_true(f->fd >= 0);
	(void)unlink(path);
	assert_int_equal(walsync_alloc(&f->ws, f->fd, gate_fsync, &f->g), 0);
	fx_of = f;
	*state = f;
	return 0;
}


static int teardown(void **state)
{
	struct fx *f = *state;

	permit(&f->g, 100);      /* a sync left waiting returns */
	mem_deref(f->ws);
	(void)close(f->fd);
	pthread_cond_destroy(&f->g.cond);
	pthread_mutex_destroy(&f->g.mtx);
	free(f);
	return 0;
}


/* A commit's handler waits for the sync; commits made meanwhile wait for
 * the next one, which covers them all: 3 commits, 2 syncs, in order */
static void test_group(void **state)
{
	struct fx *f = *state;

	assert_int_equal(walsync_commit(f->ws, done_h, (void *)1), 0);
	wait_calls(f, 1);
	run_loop_ms(30);
	assert_int_equal(f->n, 0);           /* not durable: not answered */

	assert_int_equal(walsync_commit(f->ws, done_h, (void *)2), 0);
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)3), 0);
	assert_int_equal(walsync_pending(f->ws), 3);
	run_loop_ms(30);
	assert_int_equal(calls(&f->g), 1);   /* one sync at a time */

	permit(&f->g, 1);
	run_until(f, 1);
	assert_int_equal(f->n, 1);           /* the first sync began before
						2 and 3 were written */
	assert_int_equal(f->order[0], 1);
	assert_int_equal(f->errs[0], 0);

	wait_calls(f, 2);
	run_loop_ms(30);
	assert_int_equal(f->n, 1);
	permit(&f->g, 1);
	run_until(f, 3);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->order[1], 2);
	assert_int_equal(f->order[2], 3);
	assert_int_equal(walsync_pending(f->ws), 0);
	run_loop_ms(30);
	assert_int_equal(calls(&f->g), 2);   /* nothing left: no third */
}


/* Nothing written: at once when nothing waits, else after the commits
 * before it (it may have read what they wrote) */
static void test_after(void **state)
{
	struct fx *f = *state;

	assert_int_equal(walsync_after(f->ws, 0, done_h, (void *)1), 0);
	assert_int_equal(f->n, 1);
	assert_int_equal(calls(&f->g), 0);

	assert_int_equal(walsync_commit(f->ws, done_h, (void *)2), 0);
	assert_int_equal(walsync_after(f->ws, 0, done_h, (void *)3), 0);
	wait_calls(f, 1);
	run_loop_ms(30);
	assert_int_equal(f->n, 1);
	permit(&f->g, 1);
	run_until(f, 3);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->order[1], 2);
	assert_int_equal(f->order[2], 3);
}


/* A commit that failed (its COMMIT, or the turn abandoned) is told after
 * the earlier commits still waiting: store.c keeps what failed and drops
 * it when an earlier success comes later, which would lose the newer */
static void test_failure_in_order(void **state)
{
	struct fx *f = *state;

	assert_int_equal(walsync_commit(f->ws, done_h, (void *)1), 0);
	assert_int_equal(walsync_after(f->ws, ENOSPC, done_h, (void *)2), 0);
	wait_calls(f, 1);
	run_loop_ms(30);
	assert_int_equal(f->n, 0);
	permit(&f->g, 1);
	run_until(f, 2);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->order[0], 1);
	assert_int_equal(f->errs[0], 0);
	assert_int_equal(f->order[1], 2);
	assert_int_equal(f->errs[1], ENOSPC);
	/* nothing waits: at once */
	assert_int_equal(walsync_after(f->ws, ECANCELED, done_h, (void *)3),
			 0);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->errs[2], ECANCELED);
}


/* After a failed sync, a commit made by a handler of the failure still
 * runs after the older handlers waiting behind it */
static struct walsync *fail_ws;

static void fail_chain_h(int err, void *arg)
{
	done_h(err, arg);
	if ((intptr_t)arg == 1)
		assert_int_equal(walsync_commit(fail_ws, done_h, (void *)7),
				 0);
}

static void test_failure_keeps_order(void **state)
{
	struct fx *f = *state;

	fail_ws = f->ws;
	f->g.err = EIO;
	assert_int_equal(walsync_commit(f->ws, fail_chain_h, (void *)1), 0);
	wait_calls(f, 1);
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)2), 0);
	permit(&f->g, 1);
	run_until(f, 3);
	assert_int_equal(f->n, 3);
	assert_int_equal(f->order[0], 1);
	assert_int_equal(f->order[1], 2);
	assert_int_equal(f->order[2], 7);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(f->errs[i], EIO);
}


/* A failed sync fails what it covered, what waits behind it, and every
 * commit after it: none of them may be told durable */
static void test_failure(void **state)
{
	struct fx *f = *state;

	f->g.err = EIO;
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)1), 0);
	wait_calls(f, 1);
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)2), 0);
	permit(&f->g, 1);
	run_until(f, 2);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->errs[0], EIO);
	assert_int_equal(f->errs[1], EIO);

	f->g.err = 0;            /* a later sync would succeed: too late */
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)3), 0);
	assert_int_equal(walsync_after(f->ws, 0, done_h, (void *)4), 0);
	assert_int_equal(f->n, 4);
	assert_int_equal(f->errs[2], EIO);
	assert_int_equal(f->errs[3], EIO);
	assert_int_equal(walsync_wait(f->ws), EIO);
	assert_int_equal(calls(&f->g), 1);
}


/* walsync_wait() blocks until every handler ran, without the loop; the
 * message the thread sent meanwhile finds nothing to answer later */
static void test_wait(void **state)
{
	struct fx *f = *state;

	permit(&f->g, 2);
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)1), 0);
	assert_int_equal(walsync_commit(f->ws, done_h, (void *)2), 0);
	assert_int_equal(walsync_wait(f->ws), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(walsync_pending(f->ws), 0);
	run_loop_ms(30);
	assert_int_equal(f->n, 2);
	assert_true(calls(&f->g) <= 2);
}


/* A handler that commits again (an HTTP connection's next request) is
 * answered by a sync begun after that commit, not the one that ran it */
static struct walsync *chain_ws;

static void chain_h(int err, void *arg)
{
	done_h(err, arg);
	if ((intptr_t)arg == 1)
		assert_int_equal(walsync_commit(chain_ws, done_h, (void *)9),
				 0);
}

static void test_handler_commits(void **state)
{
	struct fx *f = *state;

	chain_ws = f->ws;
	assert_int_equal(walsync_commit(f->ws, chain_h, (void *)1), 0);
	wait_calls(f, 1);
	permit(&f->g, 1);
	run_until(f, 1);
	assert_int_equal(f->n, 1);
	wait_calls(f, 2);
	run_loop_ms(30);
	assert_int_equal(f->n, 1);
	permit(&f->g, 1);
	run_until(f, 2);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->order[1], 9);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failure_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failure_keeps_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_commits, setup,
						teardown),
	};
	int r;

	assert_int_equal(libre_init(), 0);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}
