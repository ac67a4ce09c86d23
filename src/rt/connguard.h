/**
 * @file connguard.h  Caps on SIP TCP/TLS connections and a deadline for
 *                    their first message
 *
 * libre 1.1.0's SIP transport accepts every TCP connection and keeps a
 * partial message for up to 900 s, with no accept hook (docs/design.md, libre 1.1.0). The
 * guard finds the transport's accepted sockets among the process's
 * descriptors by their local address, learns from the SIP listener which
 * peers have sent a whole message, and shuts down (shutdown(2): libre
 * then closes them itself) the ones that break a rule: no message within
 * first_ms, more than max_per_peer from one address, more than max_total.
 * The newest go first. connguard_select() is the pure policy.
 */

struct sip_msg;

struct connguard_conf {
	uint32_t max_total;       /**< connections in all (0: no cap)    */
	uint32_t max_per_peer;    /**< from one address (0: no cap)      */
	uint64_t first_ms;        /**< until a whole message (0: none)   */
};

/** One accepted connection, as the policy sees it */
struct connguard_entry {
	struct sa peer;
	uint64_t since_ms;        /**< first seen                        */
	uint64_t seq;             /**< order of first sight (ties)       */
	bool msg;                 /**< has sent a whole message          */
	bool cut;                 /**< out: to be shut down              */
	const char *why;          /**< out: the rule it broke            */
};

size_t connguard_select(struct connguard_entry *v, size_t n,
			const struct connguard_conf *conf, uint64_t now_ms);

struct connguard;

int  connguard_alloc(struct connguard **cgp, const struct sa *laddr,
		     const struct connguard_conf *conf);
void connguard_seen(struct connguard *cg, const struct sip_msg *msg);
uint32_t connguard_cut_total(const struct connguard *cg);
