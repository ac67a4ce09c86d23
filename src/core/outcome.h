/**
 * @file outcome.h  Delivery outcomes: SIP/MSRP results to states and PAP codes
 *
 * Tables per docs/protocol.md "PAP" (the SIP to PAP decision) and
 * docs/design.md "Semantics that hold" (states). A delivery is
 * one push to one terminal; a push is pending until all its deliveries are
 * final. Codes that retry (408, 480, 500, 503, a transaction timeout) stay
 * pending while the push's TTL lasts and become final when it has run out.
 */

enum delivery_state {
	DS_PENDING = 0,
	DS_DELIVERED,
	DS_UNDELIVERABLE,
	DS_ABORTED,
	DS_TIMEOUT,
	DS_EXPIRED,
	DS_CANCELLED,
	DS_STATES             /**< how many: arrays by state are sized so */
};

enum push_state {
	PS_PENDING = 0,
	PS_DELIVERED,
	PS_PARTIAL,
	PS_UNDELIVERABLE,
	PS_ABORTED,
	PS_TIMEOUT,
	PS_EXPIRED,
	PS_CANCELLED,
};

/** What happened to one attempt */
enum outcome_event {
	OE_SIP,            /**< a final SIP response (scode)               */
	OE_MSRP,           /**< an MSRP response or REPORT Status (scode)  */
	OE_TIMEOUT,        /**< no response: transaction or MSRP timer     */
	OE_TTL_PASSED,     /**< the TTL ran out before any attempt         */
	OE_CANCELLED,      /**< cancelled by the push initiator            */
};

struct outcome_policy {
	bool relay_is_delivered;   /**< 202 to MESSAGE counts as delivered */
};

struct outcome {
	enum delivery_state state;  /**< DS_PENDING: not final              */
	uint16_t pap_code;          /**< PAP code of the state (§5.2)       */
	bool retry;                 /**< try again later (with backoff)     */
	bool other_method;          /**< this method cannot work: try another */
};

void outcome_map(struct outcome *o, enum outcome_event ev, uint16_t scode,
		 bool ttl_left, const struct outcome_policy *pol);
enum push_state push_state_of(const enum delivery_state *v, size_t n);
uint16_t outcome_pap_fold(uint16_t acc, uint16_t code);
uint16_t outcome_pap_of_state(enum push_state ps);
uint64_t outcome_backoff(uint32_t attempt, uint64_t base_ms, uint64_t max_ms);

const char *delivery_state_name(enum delivery_state ds);
const char *push_state_name(enum push_state ps);
int delivery_state_decode(enum delivery_state *ds, const struct pl *name);
int push_state_decode(enum push_state *ps, const struct pl *name);
