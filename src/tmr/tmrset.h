/**
 * @file tmrset.h  The project's timer set behind libre's tmr_* API
 *
 * sippush links its own implementation of libre's tmr_* functions ahead of
 * libre.a: a binary heap per thread, O(log n) start and cancel, equal expiry
 * fired in start order. These extras let tests and benchmarks see and steer it.
 *
 * The set belongs to the calling thread; the list argument of tmr_poll() and
 * tmr_next_timeout() is ignored. Start, cancel and poll a timer from one thread.
 */

/** Clock source in milliseconds (monotonic unless replaced) */
typedef uint64_t (tmrset_clock_h)(void *arg);

size_t tmrset_count(void);
void   tmrset_clock_set(tmrset_clock_h *clockh, void *arg);
