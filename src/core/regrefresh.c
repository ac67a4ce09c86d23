/**
 * @file regrefresh.c  When to refresh a registration the registrar granted
 */
#include <stdint.h>
#include <sippush/regrefresh.h>


uint64_t regrefresh_ms(uint32_t expires, uint32_t *shortn, uint32_t cap_ms)
{
	uint64_t ms, cap = cap_ms > REGREFRESH_FLOOR_MS ? cap_ms :
		REGREFRESH_FLOOR_MS;
	uint32_t n;

	/* well before expiry: a minute ahead, or half way for short ones */
	ms = expires > 120 ? (uint64_t)(expires - 60) * 1000 :
		(uint64_t)expires * 500;
	if (ms >= REGREFRESH_FLOOR_MS) {
		if (shortn)
			*shortn = 0;
		return ms;
	}

	/* too short to honour: the floor, doubled per grant in a row */
	n = shortn ? (*shortn)++ : 0;
	ms = REGREFRESH_FLOOR_MS;
	while (n-- && ms < cap)
		ms *= 2;
	return ms < cap ? ms : cap;
}
