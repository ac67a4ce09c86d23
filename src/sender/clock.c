/**
 * @file clock.c  The engine's wall clock, replaceable (tests steer it)
 *
 * Timers run on the project's timer set (tmrset_clock_set() replaces its
 * clock); what the engine stores or compares with stored times (TTLs,
 * expiries, ages) is wall time and comes from here, never from time().
 */
#include <stdint.h>
#include <time.h>
#include <re.h>
#include "engine.h"
#include "clock.h"


static int64_t realtime_ms(void *arg)
{
	struct timespec ts;
	(void)arg;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/** Replace the engine's wall clock (NULL: the system's real time) */
void sender_clock_set(struct sender *s, sender_clock_h *h, void *arg)
{
	if (!s)
		return;
	s->clockh = h ? h : realtime_ms;
	s->clock_arg = h ? arg : NULL;
}


/** Wall time in milliseconds since the epoch */
int64_t sender_now_ms(const struct sender *s)
{
	return s->clockh ? s->clockh(s->clock_arg) : realtime_ms(NULL);
}


/** Wall time in seconds since the epoch */
int64_t sender_now_s(const struct sender *s)
{
	return sender_now_ms(s) / 1000;
}
