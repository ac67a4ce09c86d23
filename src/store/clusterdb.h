/**
 * @file clusterdb.h  A cluster node's own connection to the shared
 *                    PostgreSQL store: heartbeats, shard leases, and the
 *                    other nodes' news (LISTEN/NOTIFY). Issue 24.
 *
 * Separate from the store's pipelined connection, so that a claim or a
 * renewal commits on its own, never inside a turn's transaction. Its
 * statements are short blocking round trips, one round a second (a
 * short wait is harmless there: docs/design.md says why); notifications
 * arrive on the loop.
 */
/* needs core/lease.h first */

struct clusterdb;

/** News from another node: the payload of its NOTIFY */
typedef void (clusterdb_news_h)(const char *payload, void *arg);

/** What a round starts from */
struct clusterdb_view {
	struct lease v[LEASE_SHARDS];
	const char *live[256];    /**< nodes with a fresh heartbeat (a tag
				       each: 256 at most)                */
	size_t nlive;
	int64_t now_ms;           /**< the server's clock                  */
	int64_t watch_ms;         /**< in: this node has a cluster-wide
				       event reader for so long (0: none) */
	bool others_watch;        /**< out: another node has one          */
};

int clusterdb_open(struct clusterdb **cp, const char *url, const char *node,
		   uint32_t live_ms, clusterdb_news_h *newsh, void *arg);
int clusterdb_round(struct clusterdb *c, uint32_t live_ms,
		    struct clusterdb_view *view);
int clusterdb_renew(struct clusterdb *c, uint32_t ttl_ms,
		    const uint16_t *shard, size_t n, uint64_t *epoch_of);
int clusterdb_claim(struct clusterdb *c, uint32_t ttl_ms,
		    const uint16_t *shard, size_t n, uint64_t *epoch_of);
int clusterdb_release(struct clusterdb *c, uint32_t shard, uint64_t epoch);
int clusterdb_leave(struct clusterdb *c);
uint8_t clusterdb_tag(const struct clusterdb *c);
int clusterdb_notify(struct clusterdb *c, const char *payload);
int clusterdb_pending(struct clusterdb *c, uint64_t *n);
int clusterdb_sign(struct clusterdb *c, char **out, const char *rest);
void clusterdb_news(struct clusterdb *c);
uint64_t clusterdb_refused(const struct clusterdb *c);
bool clusterdb_reconnected(struct clusterdb *c);
