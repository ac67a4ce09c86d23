/**
 * @file regrefresh.h  When to refresh a registration the registrar granted
 */

enum {
	REGREFRESH_FLOOR_MS = 5000,     /**< never sooner than this       */
};

/**
 * Milliseconds until the next REGISTER after a 2xx granting expires s.
 * shortn counts grants in a row too short to refresh at half their
 * lifetime above the floor (0 or 1 s, say): each doubles the wait, from
 * the floor up to cap_ms, so a registrar answering expires=0 is not
 * asked again every millisecond. A sane grant resets it.
 */
uint64_t regrefresh_ms(uint32_t expires, uint32_t *shortn, uint32_t cap_ms);
