/**
 * @file regrefresh.h  When to refresh a registration or subscription the
 *                     server granted
 */

enum {
	REGREFRESH_REG_FLOOR_MS = 5000,  /**< REGISTER: never sooner      */
	REGREFRESH_SUB_FLOOR_MS = 1000,  /**< SUBSCRIBE: never sooner     */
};

/**
 * Milliseconds until the next request after a 2xx granting expires s:
 * a minute before expiry, half way for short grants. One too short to
 * refresh at half its lifetime above floor_ms (0 or 1 s, say) counts in
 * shortn: each in a row doubles the wait, from the floor up to cap_ms,
 * so a server answering expires=0 is not asked again every millisecond.
 * A sane grant resets it.
 */
uint64_t regrefresh_ms(uint32_t expires, uint32_t floor_ms, uint32_t *shortn,
		       uint32_t cap_ms);
