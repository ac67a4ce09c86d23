/**
 * @file lease.h  Which node of a cluster owns which users: shards, leases
 *                and the plan of one node's round (pure; issue #24)
 *
 * Users hash into LEASE_SHARDS shards by their canonical AoR. A shard is
 * leased by one live node at a time (owner, until, epoch in the shared
 * store); only its owner delivers to its users. Each node runs
 * lease_plan() every round on what the store says and claims, renews and
 * releases accordingly. Who should own a shard is decided by rendezvous
 * hashing over the live nodes (the highest lease_score()): every node
 * computes the same answer, and a node joining or leaving moves only the
 * shards it gains or loses. docs/design.md, "Growing past one machine".
 */

enum { LEASE_SHARDS = 256 };

/** One shard's lease as the store has it */
struct lease {
	const char *owner;       /**< node name, or NULL: never leased    */
	int64_t until_ms;        /**< lease end; for a free shard, when it
				      became free (released or expired)  */
	uint64_t epoch;          /**< +1 at every claim (fencing)         */
};

/** What one node sees at the start of its round */
struct lease_view {
	const char *me;
	const char *const *live; /**< nodes with a fresh heartbeat, me too */
	size_t nlive;
	const struct lease *v;   /**< LEASE_SHARDS leases                  */
	int64_t now_ms;          /**< the store's clock                    */
	int64_t grace_ms;        /**< a shard free this long may be taken
				      by the next node in line too       */
	uint32_t max_release;    /**< shards given up per round (graceful) */
};

/** What the node does this round */
struct lease_plan {
	uint16_t claim[LEASE_SHARDS];   /**< free or expired: take         */
	uint32_t nclaim;
	uint16_t release[LEASE_SHARDS]; /**< held, but another's: give up  */
	uint32_t nrelease;
	uint32_t nheld;                 /**< held and kept (renewed)       */
};

uint32_t lease_shard_of(const char *aor);
uint64_t lease_score(const char *node, uint32_t shard);
int      lease_rank(const struct lease_view *v, uint32_t shard, size_t *rank);
int      lease_plan(struct lease_plan *p, const struct lease_view *v);
int64_t  lease_send_deadline(int64_t renew_sent_ms, uint32_t ttl_ms,
			     uint32_t margin_ms);
