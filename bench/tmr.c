/**
 * @file bench/tmr.c  start+cancel throughput with many pending timers
 *
 * Built twice: bench-tmr on the project's heap (src/tmr), bench-tmr-stock
 * on libre 1.1.0's own sorted list. With N timers pending (delays 500 ms ..
 * 32 s, SIP's Timer E..J range), it repeatedly cancels a random pending
 * timer and starts it again with a random delay, and prints pairs/s.
 *
 * Two delay mixes: "uniform" (any millisecond in 500..32000, the worst case
 * for per-delay lanes) and "sip" (the delays a SIP stack uses: T1 doubling
 * to T2, T4, Timer F/H/J at 64*T1). A "floor" column gives the cost of
 * merely reading and writing one random pending timer, each address
 * depending on the previous load: at 1M timers (48 MB)
 * that is a DRAM miss, which no timer structure can avoid.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>

#ifdef BENCH_STOCK
#define IMPL "libre 1.1.0 sorted list (stock tmr.o)"
#else
#define IMPL "sippush per-delay lanes (src/tmr)"
#endif

enum { MIN_DELAY = 500, MAX_DELAY = 32000 };


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}


static void never_h(void *arg)
{
	(void)arg;
}


static const uint64_t sip_delays[] = {500, 1000, 2000, 4000, 4000, 5000,
				       32000, 32000};

static uint64_t pick_delay(bool sip, uint64_t r)
{
	if (sip)
		return sip_delays[r % 8];

	return MIN_DELAY + r % (MAX_DELAY - MIN_DELAY);
}


static double touch_floor(struct tmr *t, size_t n, double seconds)
{
	uint64_t seed = 0x2545f4914f6cdd1dull, ops = 0, sum = 0;
	double t0 = now_s(), el;
	size_t i;

	do {
		for (i = 0; i < 64; i++) {
			struct tmr *x = &t[xorshift(&seed) % n];

			/* the next address depends on this load, as a
			 * list unlink depends on reading le->prev */
			sum += x->jfs;
			seed ^= x->jfs & 1;
			x->arg = (void *)(uintptr_t)sum;
		}
		ops += 64;
		el = now_s() - t0;
	} while (el < seconds);

	return 1e9 * el / (double)ops;
}


static double run(size_t n, bool sip, double seconds, uint64_t *opsp,
		  double *floorp)
{
	struct tmr *t = calloc(n, sizeof(*t));
	uint64_t seed = 0x9e3779b97f4a7c15ull, ops = 0;
	double t0, el;
	size_t i;

	if (!t) {
		fprintf(stderr, "bench-tmr: out of memory for %zu timers\n", n);
		exit(1);
	}

	/* Ascending delays: cheap to insert even into a sorted list, so the
	 * set-up does not dominate; the measured phase is random. */
	for (i = 0; i < n; i++) {
		tmr_init(&t[i]);
		tmr_start(&t[i], MIN_DELAY + (uint64_t)i *
			  (MAX_DELAY - MIN_DELAY) / n, never_h, NULL);
	}

	t0 = now_s();
	do {
		for (i = 0; i < 64; i++) {
			uint64_t r = xorshift(&seed);
			struct tmr *x = &t[r % n];

			tmr_cancel(x);
			tmr_start(x, pick_delay(sip, r >> 32), never_h, NULL);
		}
		ops += 64;
		el = now_s() - t0;
	} while (el < seconds);

	*floorp = touch_floor(t, n, seconds / 5);

	for (i = 0; i < n; i++)
		tmr_cancel(&t[i]);
	free(t);

	*opsp = ops;
	return (double)ops / el;
}


int main(int argc, char *argv[])
{
	static const size_t counts[] = {1000, 10000, 100000, 1000000};
	double seconds = 0.5;
	int mix;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (seconds <= 0) {
		fprintf(stderr, "usage: %s [seconds-per-size]\n", argv[0]);
		return 2;
	}

	if (libre_init()) {
		fprintf(stderr, "bench-tmr: libre_init failed\n");
		return 1;
	}

	printf("# %s: %s\n", argv[0], IMPL);
	printf("# command: %s %g  (cancel + start of a random pending timer)\n",
	       argv[0], seconds);

	for (mix = 0; mix < 2; mix++) {
		double rate[4];
		size_t k;

		printf("%s delays:\n", mix ? "sip (500,1000,2000,4000,5000,"
		       "32000 ms)" : "uniform 500..32000 ms");
		printf("%10s %14s %12s %12s %12s\n", "pending", "pairs/s",
		       "ns/pair", "pairs", "floor ns");

		for (k = 0; k < 4; k++) {
			uint64_t ops;
			double fl;

			rate[k] = run(counts[k], mix, seconds, &ops, &fl);
			printf("%10zu %14.0f %12.1f %12llu %12.1f\n",
			       counts[k], rate[k], 1e9 / rate[k],
			       (unsigned long long)ops, fl);
			fflush(stdout);
		}

		printf("ratio 1M/1k (pairs/s): %.3f\n\n", rate[3] / rate[0]);
	}

	libre_close();
	return 0;
}
