/**
 * @file regrefresh.c  When to refresh a registration or subscription the
 *                     server granted
 */
#include <stdint.h>
#include "core/regrefresh.h"


uint64_t regrefresh_ms(uint32_t expires, uint32_t floor_ms, uint32_t *shortn,
		       uint32_t cap_ms)
{
	uint64_t ms, cap = cap_ms > floor_ms ? cap_ms : floor_ms;
	uint32_t n;

	if (!cap)
		cap = 1;

	/* well before expiry: a minute ahead, or half way for short ones */
	ms = expires > 120 ? (uint64_t)(expires - 60) * 1000 :
		(uint64_t)expires * 500;
	if (ms >= floor_ms && ms) {
		if (shortn)
			*shortn = 0;
		return ms;
	}

	/* too short to honour: the floor, doubled per grant in a row */
	n = shortn ? (*shortn)++ : 0;
	ms = floor_ms ? floor_ms : 1;
	while (n-- && ms < cap)
		ms *= 2;
	return ms < cap ? ms : cap;
}
