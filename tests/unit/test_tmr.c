/**
 * @file test_tmr.c  The project's tmr_* implementation, alone and under libre
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <cmocka.h>
#include <re.h>
#include "tmr/tmrset.h"


/* A hand-driven clock: time moves only when a test says so. */
static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}


static int setup(void **state)
{
	(void)state;
	fake_now = 1000000;
	tmrset_clock_set(fake_clock, NULL);
	return 0;
}


static int teardown(void **state)
{
	(void)state;
	assert_int_equal(tmrset_count(), 0);
	tmrset_clock_set(NULL, NULL);
	return 0;
}


/* Records the order in which handlers fire. */
struct fired {
	int order[64];
	size_t n;
};

struct probe {
	struct tmr tmr;
	struct fired *log;
	int id;
};

static void probe_h(void *arg)
{
	struct probe *p = arg;

	assert_true(p->log->n < 64);
	p->log->order[p->log->n++] = p->id;
}


static void advance(uint64_t ms)
{
	fake_now += ms;
	tmr_poll(NULL);
}


static void test_order_by_expiry(void **state)
{
	static const uint64_t delays[] = {500, 32000, 1, 4000, 64, 2000, 0};
	struct probe p[7];
	struct fired log = {.n = 0};
	size_t i;
	(void)state;

	for (i = 0; i < 7; i++) {
		tmr_init(&p[i].tmr);
		p[i].log = &log;
		p[i].id = (int)i;
		tmr_start(&p[i].tmr, delays[i], probe_h, &p[i]);
	}
	assert_int_equal(tmrset_count(), 7);
	assert_int_equal(tmr_next_timeout(NULL), 1);  /* delay 0 is due */

	advance(0);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.order[0], 6);

	advance(40000);
	assert_int_equal(log.n, 7);
	assert_int_equal(log.order[1], 2);
	assert_int_equal(log.order[2], 4);
	assert_int_equal(log.order[3], 0);
	assert_int_equal(log.order[4], 5);
	assert_int_equal(log.order[5], 3);
	assert_int_equal(log.order[6], 1);
	for (i = 0; i < 7; i++)
		assert_false(tmr_isrunning(&p[i].tmr));
}


static void test_not_before_due(void **state)
{
	struct probe p;
	struct fired log = {.n = 0};
	(void)state;

	tmr_init(&p.tmr);
	p.log = &log;
	p.id = 1;
	tmr_start(&p.tmr, 100, probe_h, &p);
	assert_int_equal(tmr_get_expire(&p.tmr), 100);
	assert_int_equal(tmr_next_timeout(NULL), 100);

	advance(99);
	assert_int_equal(log.n, 0);
	assert_int_equal(tmr_get_expire(&p.tmr), 1);
	advance(1);
	assert_int_equal(log.n, 1);
	assert_int_equal(tmr_get_expire(&p.tmr), 0);
	assert_int_equal(tmr_next_timeout(NULL), 0);  /* none pending */
}


static void test_equal_expiry_fifo(void **state)
{
	struct probe p[20];
	struct fired log = {.n = 0};
	size_t i;
	(void)state;

	for (i = 0; i < 20; i++) {
		tmr_init(&p[i].tmr);
		p[i].log = &log;
		p[i].id = (int)i;
		tmr_start(&p[i].tmr, 500, probe_h, &p[i]);
	}

	/* A restart moves a timer to the back of its expiry's queue. */
	tmr_start(&p[3].tmr, 500, probe_h, &p[3]);

	advance(500);
	assert_int_equal(log.n, 20);
	for (i = 0; i < 19; i++)
		assert_int_equal(log.order[i], (int)(i < 3 ? i : i + 1));
	assert_int_equal(log.order[19], 3);
}


static void test_cancel(void **state)
{
	struct probe p[5];
	struct fired log = {.n = 0};
	size_t i;
	(void)state;

	for (i = 0; i < 5; i++) {
		tmr_init(&p[i].tmr);
		p[i].log = &log;
		p[i].id = (int)i;
		tmr_start(&p[i].tmr, 10 * (i + 1), probe_h, &p[i]);
	}

	tmr_cancel(&p[0].tmr);  /* the root */
	tmr_cancel(&p[4].tmr);  /* the last */
	tmr_cancel(&p[2].tmr);  /* the middle */
	tmr_cancel(&p[2].tmr);  /* twice is harmless */
	assert_false(tmr_isrunning(&p[2].tmr));
	assert_int_equal(tmrset_count(), 2);

	advance(100);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.order[0], 1);
	assert_int_equal(log.order[1], 3);

	tmr_cancel(NULL);
	tmr_start(NULL, 1, probe_h, NULL);
}


static void test_restart_changes_expiry(void **state)
{
	struct probe p;
	struct fired log = {.n = 0};
	(void)state;

	tmr_init(&p.tmr);
	p.log = &log;
	p.id = 7;
	tmr_start(&p.tmr, 10, probe_h, &p);
	tmr_start(&p.tmr, 1000, probe_h, &p);
	assert_int_equal(tmrset_count(), 1);

	advance(10);
	assert_int_equal(log.n, 0);
	advance(990);
	assert_int_equal(log.n, 1);
}


/* A handler that re-arms itself: libre's retransmit timers do this. */
struct rearm {
	struct tmr tmr;
	int fired;
	int limit;
};

static void rearm_h(void *arg)
{
	struct rearm *r = arg;

	assert_false(tmr_isrunning(&r->tmr));
	if (++r->fired < r->limit)
		tmr_start(&r->tmr, 500, rearm_h, r);
}


static void test_restart_from_handler(void **state)
{
	struct rearm r = {.fired = 0, .limit = 4};
	int i;
	(void)state;

	tmr_init(&r.tmr);
	tmr_start(&r.tmr, 500, rearm_h, &r);

	for (i = 1; i <= 6; i++) {
		advance(500);
		assert_int_equal(r.fired, i < 4 ? i : 4);
	}
	assert_false(tmr_isrunning(&r.tmr));
}


/* A handler that cancels one timer and starts another. */
struct juggler {
	struct tmr tmr;
	struct probe *victim;
	struct probe *late;
};

static void juggler_h(void *arg)
{
	struct juggler *j = arg;

	tmr_cancel(&j->victim->tmr);
	tmr_start(&j->late->tmr, 0, probe_h, j->late);
}


static void test_handler_starts_and_cancels_others(void **state)
{
	struct probe victim, late;
	struct juggler j;
	struct fired log = {.n = 0};
	(void)state;

	tmr_init(&victim.tmr);
	tmr_init(&late.tmr);
	tmr_init(&j.tmr);
	victim.log = late.log = &log;
	victim.id = 1;
	late.id = 2;
	j.victim = &victim;
	j.late = &late;

	/* The victim is due in the same poll as the juggler, but after it. */
	tmr_start(&j.tmr, 50, juggler_h, &j);
	tmr_start(&victim.tmr, 50, probe_h, &victim);

	advance(50);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.order[0], 2);  /* delay 0: due in this poll */
	assert_false(tmr_isrunning(&victim.tmr));
}


static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}


struct counted {
	struct tmr tmr;
	uint64_t due;
	uint64_t *last;
	size_t *fired;
};

static void counted_h(void *arg)
{
	struct counted *c = arg;

	assert_true(c->due <= fake_now);
	assert_true(c->due >= *c->last);  /* never out of order */
	*c->last = c->due;
	++*c->fired;
}


static void test_100k_pending(void **state)
{
	enum { N = 100000 };
	struct counted *c = calloc(N, sizeof(*c));
	uint64_t last = 0;
	size_t fired = 0, cancelled = 0, i;
	uint32_t seed = 42;
	(void)state;

	assert_non_null(c);

	for (i = 0; i < N; i++) {
		uint64_t d = 500 + lcg(&seed) % 31500;

		tmr_init(&c[i].tmr);
		c[i].due = fake_now + d;
		c[i].last = &last;
		c[i].fired = &fired;
		tmr_start(&c[i].tmr, d, counted_h, &c[i]);
	}
	assert_int_equal(tmrset_count(), N);

	for (i = 0; i < N; i += 3) {
		tmr_cancel(&c[i].tmr);
		++cancelled;
	}
	assert_int_equal(tmrset_count(), N - cancelled);

	/* Poll in 100 ms steps so order is checked across polls too. */
	for (i = 0; i < 330 && tmrset_count(); i++)
		advance(100);

	assert_int_equal(fired, N - cancelled);
	assert_int_equal(tmrset_count(), 0);
	free(c);
}


/*
 * Random start/cancel/restart/advance against a reference model (a plain
 * array searched linearly): every poll must fire exactly the timers the
 * model says are due, in (expiry, start order). Delays mix SIP's few fixed
 * values (long lanes) with arbitrary ones (many short lanes).
 */
enum { MODEL_N = 512 };

struct model_tmr {
	struct tmr tmr;
	uint64_t jfs;
	uint64_t seq;
	bool active;
	int id;
	int *log;
	size_t *nlog;
};

static void model_h(void *arg)
{
	struct model_tmr *m = arg;

	m->log[(*m->nlog)++] = m->id;
}


static void test_random_against_model(void **state)
{
	static const uint64_t fixed[] = {0, 1, 500, 1000, 2000, 4000, 32000};
	struct model_tmr *m = calloc(MODEL_N, sizeof(*m));
	int *log = calloc(MODEL_N, sizeof(*log));
	size_t nlog = 0, step, i;
	uint64_t seq = 0;
	uint32_t seed = 7;
	(void)state;

	assert_non_null(m);
	assert_non_null(log);

	for (i = 0; i < MODEL_N; i++) {
		tmr_init(&m[i].tmr);
		m[i].id = (int)i;
		m[i].log = log;
		m[i].nlog = &nlog;
	}

	for (step = 0; step < 200000; step++) {
		const uint32_t r = lcg(&seed);
		struct model_tmr *x = &m[r % MODEL_N];

		switch ((r >> 12) % 8) {

		case 0: case 1: case 2: case 3: {
			const uint64_t d = (r >> 16) % 2 ?
				fixed[(r >> 17) % ARRAY_SIZE(fixed)] :
				(r >> 17) % 5000;

			tmr_start(&x->tmr, d, model_h, x);
			x->jfs = fake_now + d;
			x->seq = seq++;
			x->active = true;
			break;
		}

		case 4:
			tmr_cancel(&x->tmr);
			x->active = false;
			break;

		default: {
			size_t k, nexp = 0;

			fake_now += (r >> 16) % 700;
			nlog = 0;
			tmr_poll(NULL);

			/* the model's due timers, in order */
			for (;;) {
				struct model_tmr *best = NULL;

				for (k = 0; k < MODEL_N; k++) {
					struct model_tmr *c = &m[k];

					if (!c->active || c->jfs > fake_now)
						continue;
					if (!best || c->jfs < best->jfs ||
					    (c->jfs == best->jfs &&
					     c->seq < best->seq))
						best = c;
				}
				if (!best)
					break;

				if (nexp >= nlog || log[nexp] != best->id)
					fail_msg("step %zu: fired #%zu is %d, "
						 "model says %d", step, nexp,
						 nexp < nlog ? log[nexp] : -1,
						 best->id);
				best->active = false;
				++nexp;
			}
			assert_int_equal(nlog, nexp);
			break;
		}
		}

		if (step % 1024 == 0) {
			size_t active = 0;

			for (i = 0; i < MODEL_N; i++)
				active += m[i].active;
			assert_int_equal(tmrset_count(), active);
		}
	}

	for (i = 0; i < MODEL_N; i++)
		tmr_cancel(&m[i].tmr);
	free(m);
	free(log);
}


/* Each thread has its own set: timers started in one are invisible to
 * another thread's count and poll. */
struct thr_arg {
	size_t count_seen;
	int fired;
};

static void thr_fire_h(void *arg)
{
	++*(int *)arg;
}


static void *thr_main(void *arg)
{
	struct thr_arg *ta = arg;
	struct tmr t[3];
	int i;

	for (i = 0; i < 3; i++) {
		tmr_init(&t[i]);
		tmr_start(&t[i], 0, thr_fire_h, &ta->fired);
	}
	ta->count_seen = tmrset_count();
	tmr_poll(NULL);   /* real clock here: delay 0 is due */

	return NULL;
}


static void test_per_thread_sets(void **state)
{
	struct thr_arg ta = {0, 0};
	struct probe p;
	struct fired log = {.n = 0};
	pthread_t th;
	(void)state;

	tmr_init(&p.tmr);
	p.log = &log;
	p.id = 1;
	tmr_start(&p.tmr, 10, probe_h, &p);

	assert_int_equal(pthread_create(&th, NULL, thr_main, &ta), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	assert_int_equal(ta.count_seen, 3);
	assert_int_equal(ta.fired, 3);
	assert_int_equal(tmrset_count(), 1);
	assert_int_equal(log.n, 0);

	advance(10);
	assert_int_equal(log.n, 1);
}


/*
 * libre's own timers must run through this implementation. A SIP client
 * transaction over UDP to a port that never answers starts Timer E and
 * Timer F inside libre (ctrans.c); they must show up in this thread's set,
 * and the request must time out when our clock, and only our clock, moves
 * past 64*T1. Were libre's tmr.o linked instead, the count would stay 0.
 */
struct sipcase {
	struct sip *sip;
	struct udp_sock *silent;
	int err;
	bool done;
};

static void silent_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct sipcase *sc = arg;
	(void)msg;

	sc->err = err;
	sc->done = true;
	re_cancel();
}


static void jump_h(void *arg)
{
	(void)arg;
	fake_now += 64 * 500 + 1;  /* past Timer F */
}


static void test_libre_uses_these_timers(void **state)
{
	struct sipcase sc = {.err = 0, .done = false};
	struct sip_request *req = NULL;
	struct sa laddr, silent;
	struct tmr jump;
	char uri[64];
	int err;
	(void)state;

	err = libre_init();
	assert_int_equal(err, 0);

	err = sip_alloc(&sc.sip, NULL, 4, 4, 4, "sippush-test", NULL, NULL);
	assert_int_equal(err, 0);

	sa_set_str(&laddr, "127.0.0.1", 0);
	err = sip_transp_add(sc.sip, SIP_TRANSP_UDP, &laddr);
	assert_int_equal(err, 0);

	err = udp_listen(&sc.silent, &laddr, silent_recv, NULL);
	assert_int_equal(err, 0);
	err = udp_local_get(sc.silent, &silent);
	assert_int_equal(err, 0);
	re_snprintf(uri, sizeof(uri), "sip:nobody@127.0.0.1:%u",
		    sa_port(&silent));

	assert_int_equal(tmrset_count(), 0);
	err = sip_requestf(&req, sc.sip, true, "OPTIONS", uri, NULL, NULL,
			   NULL, resp_h, &sc,
			   "From: <sip:test@127.0.0.1>;tag=1\r\n"
			   "To: <%s>\r\n"
			   "Call-ID: tmr-link-test\r\n"
			   "CSeq: 1 OPTIONS\r\n"
			   "Max-Forwards: 70\r\n"
			   "Content-Length: 0\r\n\r\n", uri);
	assert_int_equal(err, 0);

	/* Timer E and Timer F of the client transaction are ours. */
	assert_true(tmrset_count() >= 2);

	tmr_init(&jump);
	tmr_start(&jump, 1, jump_h, NULL);
	fake_now += 1;

	err = re_main(NULL);
	assert_int_equal(err, 0);
	assert_true(sc.done);
	assert_int_equal(sc.err, ETIMEDOUT);

	tmr_cancel(&jump);
	mem_deref(req);
	sip_close(sc.sip, true);
	mem_deref(sc.sip);
	mem_deref(sc.silent);
	tmr_poll(NULL);  /* let libre's deferred frees run */
	libre_close();
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_by_expiry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_before_due,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_expiry_fifo,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_changes_expiry,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_from_handler,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_handler_starts_and_cancels_others,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_100k_pending,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_against_model,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_thread_sets,
						setup, teardown),
		cmocka_unit_test_setup(test_libre_uses_these_timers, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
