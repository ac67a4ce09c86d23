/**
 * @file clusterdb.c  Heartbeats, shard leases and news between the nodes
 *                    of a cluster, on their own PostgreSQL connection
 */
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <re.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sippush/log.h>
#include "core/lease.h"
#include "store/clusterdb.h"

#define MOD "cluster"
#define NOW_MS "(extract(epoch FROM clock_timestamp())*1000)::bigint"

struct clusterdb {
	PGconn *conn;
	int fd;
	char *url;
	char *node;
	PGresult *leases;        /**< the last round's: owners point here */
	PGresult *live;
	clusterdb_news_h *newsh;
	void *arg;
	uint8_t tag;
	uint32_t live_ms;        /**< a heartbeat younger is a live node  */
	uint64_t retry_at;       /**< no connection attempt before (jiffies) */
	struct hmac *hmac;       /**< signs and checks the news           */
	uint64_t refused;        /**< news with a wrong or no signature   */
	bool reconnected;        /**< news may have been missed meanwhile */
};

enum { RETRY_MS = 5000 };


static void destructor(void *arg)
{
	struct clusterdb *c = arg;

	if (c->fd >= 0)
		fd_close(c->fd);
	PQclear(c->leases);
	PQclear(c->live);
	PQfinish(c->conn);
	mem_deref(c->hmac);
	mem_deref(c->url);
	mem_deref(c->node);
}


/* "MAC TIME REST": MAC the first 16 bytes of HMAC-SHA256(key, "TIME REST")
 * in hex, TIME the sender's clock in ms; news older than NEWS_AGE_MS or
 * not signed by a node is dropped (any role that may connect to the
 * database may NOTIFY on the channel) */
enum { MAC_LEN = 16, NEWS_AGE_MS = 30000 };

static bool news_ok(struct clusterdb *c, const char *payload,
		    const char **rest)
{
	uint8_t md[32], got[MAC_LEN];
	const char *body = payload + 2 * MAC_LEN + 1;
	char hex[2 * MAC_LEN + 1], *end;
	long long t;
	int64_t now = (int64_t)time(NULL) * 1000;

	if (!c->hmac || strlen(payload) < 2 * MAC_LEN + 3 ||
	    payload[2 * MAC_LEN] != ' ')
		return false;
	memcpy(hex, payload, 2 * MAC_LEN);
	hex[2 * MAC_LEN] = '\0';
	if (str_hex(got, sizeof(got), hex))
		return false;
	if (hmac_digest(c->hmac, md, sizeof(md), (const uint8_t *)body,
			strlen(body)) || mem_seccmp(md, got, MAC_LEN))
		return false;
	t = strtoll(body, &end, 10);
	if (*end != ' ' || t < now - NEWS_AGE_MS || t > now + NEWS_AGE_MS)
		return false;
	*rest = end + 1;
	return true;
}


static void news(struct clusterdb *c)
{
	PGnotify *n;

	while ((n = PQnotifies(c->conn)) != NULL) {
		const char *rest;

		if (!news_ok(c, n->extra, &rest))
			++c->refused;
		else if (c->newsh)
			c->newsh(rest, c->arg);
		PQfreemem(n);
	}
}


/**
 * News signed for the other nodes: "MAC TIME REST" (a mem string)
 */
int clusterdb_sign(struct clusterdb *c, char **out, const char *rest)
{
	uint8_t md[32];
	char *body = NULL;
	int err;

	if (!c || !out || !rest || !c->hmac)
		return EINVAL;
	err = re_sdprintf(&body, "%lld %s",
			  (long long)time(NULL) * 1000, rest);
	err = err ? err : hmac_digest(c->hmac, md, sizeof(md),
				      (const uint8_t *)body, strlen(body));
	err = err ? err : re_sdprintf(out, "%w %s", md, (size_t)MAC_LEN,
				      body);
	mem_deref(body);
	return err;
}


/** News refused (not signed by a node, or too old) */
uint64_t clusterdb_refused(const struct clusterdb *c)
{
	return c ? c->refused : 0;
}


/** Whether the connection was made again since the last call (news sent
 *  meanwhile are lost: the caller reads again what it holds) */
bool clusterdb_reconnected(struct clusterdb *c)
{
	bool r = c && c->reconnected;

	if (c)
		c->reconnected = false;
	return r;
}


static int connect_db(struct clusterdb *c);
static int join(struct clusterdb *c);


/* A statement and its rows (NULL on failure: the connection is tried
 * again at the next one) */
static PGresult *exec(struct clusterdb *c, const char *sql, int n,
		      const char *const *vals)
{
	PGresult *r;

	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		/* a database away: tried again every few seconds, not at
		 * every statement (a connection attempt may wait 2 s) */
		if (tmr_jiffies() < c->retry_at)
			return NULL;
		if (connect_db(c)) {
			c->retry_at = tmr_jiffies() + RETRY_MS;
			return NULL;
		}
		plog(SIPPUSH_LOG_INFO, MOD, "postgresql: connected again");
	}

	r = PQexecParams(c->conn, sql, n, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK &&
	    PQresultStatus(r) != PGRES_COMMAND_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s",
		     PQerrorMessage(c->conn));
		PQclear(r);
		r = NULL;
	}
	/* gone: libpq closed its socket; ours goes from libre's list now,
	 * before that number can be another's */
	if (PQstatus(c->conn) == CONNECTION_BAD) {
		if (c->fd >= 0)
			fd_close(c->fd);
		c->fd = -1;
		PQfinish(c->conn);
		c->conn = NULL;
	}
	/* news read with the answer waits for the loop (clusterdb_news()):
	 * never handled inside a caller's statement */
	return r;
}


static void sock_h(int flags, void *arg)
{
	struct clusterdb *c = arg;
	(void)flags;

	if (!PQconsumeInput(c->conn)) {
		/* gone: the next round connects again */
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s",
		     PQerrorMessage(c->conn));
		fd_close(c->fd);
		c->fd = -1;
		PQfinish(c->conn);
		c->conn = NULL;
		return;
	}
	news(c);
}


static int connect_db(struct clusterdb *c)
{
	/* a partition must not block the loop for TCP's minutes: keepalives
	 * and a user timeout end a silent connection in about 3 s */
	static const char *const kw[] = {
		"connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "tcp_user_timeout",
		"application_name", "dbname", NULL};
	char app[64];
	const char *const val[] = {"2", "1", "2", "1", "2", "3000", app,
				   c->url, NULL};
	PGresult *r;
	int err = 0;

	/* pg_stat_activity tells the nodes' connections apart */
	(void)re_snprintf(app, sizeof(app), "sippushd cluster %s", c->node);

	if (c->fd >= 0)
		fd_close(c->fd);
	c->fd = -1;
	PQfinish(c->conn);
	c->conn = PQconnectdbParams(kw, val, 1);
	if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s", c->conn ?
		     PQerrorMessage(c->conn) : "out of memory");
		PQfinish(c->conn);
		c->conn = NULL;
		return ECONNREFUSED;
	}

	/* a round is short or it is late: never wait long for a lock */
	r = PQexec(c->conn, "SET statement_timeout=2000;"
		   "SET synchronous_commit=on;LISTEN sippush");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		err = EIO;
	PQclear(r);
	if (!err) {
		c->fd = PQsocket(c->conn);
		err = fd_listen(c->fd, FD_READ, sock_h, c);
		if (err)
			c->fd = -1;
	}
	if (!err && c->hmac)
		c->reconnected = true;   /* not the first: news missed */
	if (err) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	return err;
}


/* The cluster's key for the nodes' news: made by the first node (random
 * from this process), read by every one */
static int secret(struct clusterdb *c)
{
	uint8_t key[32];
	char hex[65];
	PGresult *r;
	int err;

	rand_bytes(key, sizeof(key));
	(void)re_snprintf(hex, sizeof(hex), "%w", key, sizeof(key));
	const char *const v[] = {hex};
	r = exec(c, "INSERT INTO cluster_secret VALUES(1, $1) ON CONFLICT "
		 "DO NOTHING", 1, v);
	PQclear(r);
	r = exec(c, "SELECT key FROM cluster_secret WHERE id=1", 0, NULL);
	if (!r || PQntuples(r) != 1 || strlen(PQgetvalue(r, 0, 0)) != 64 ||
	    str_hex(key, sizeof(key), PQgetvalue(r, 0, 0))) {
		PQclear(r);
		return r ? EBADMSG : ECONNRESET;
	}
	PQclear(r);
	err = hmac_create(&c->hmac, HMAC_HASH_SHA256, key, sizeof(key));
	for (volatile uint8_t *p = key; p < key + sizeof(key); p++)
		*p = 0;
	return err;
}


/* The node's row: its heartbeat, and its tag (0..255, kept for its name:
 * part of the push ids it makes, so that no two nodes make one id) */
static int join(struct clusterdb *c)
{
	PGresult *r = NULL;

	const char *const v[] = {c->node};

	/* a name is one node's: a heartbeat under it fresher than the live
	 * time is another process (or this one's previous run, killed a
	 * moment ago: waited out) */
	for (int i = 0; ; i++) {
		char ms[24];

		(void)snprintf(ms, sizeof(ms), "%u", c->live_ms);
		const char *const fv[] = {c->node, ms};
		r = exec(c, "SELECT 1 FROM nodes WHERE name=$1 AND beat_ms > "
			 NOW_MS " - $2::bigint", 2, fv);
		if (!r)
			return ECONNRESET;
		if (!PQntuples(r)) {
			PQclear(r);
			r = NULL;
			break;
		}
		PQclear(r);
		r = NULL;
		if (i >= (int)(c->live_ms / 250) + 4) {
			plog(SIPPUSH_LOG_ERROR, MOD, "another node named %s is "
			     "alive (its heartbeat goes on): --node must be "
			     "unique", c->node);
			return EADDRINUSE;
		}
		(void)usleep(250000);
	}

	/* two joining at once may pick one tag: the UNIQUE refuses one */
	for (int i = 0; i < 5 && !r; i++)
		r = exec(c, "INSERT INTO nodes(name, beat_ms, tag) VALUES($1, "
			 NOW_MS ", (SELECT min(t) FROM generate_series(0, 255)"
			 " t WHERE t NOT IN (SELECT tag FROM nodes))) ON "
			 "CONFLICT(name) DO UPDATE SET beat_ms=EXCLUDED.beat_ms"
			 " RETURNING tag", 1, v);
	if (!r)
		return ECONNRESET;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		PQclear(r);
		plog(SIPPUSH_LOG_ERROR, MOD, "256 node names known: none "
		     "left for %s (DELETE old ones from the nodes table)",
		     c->node);
		return EOVERFLOW;
	}
	c->tag = (uint8_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return c->hmac ? 0 : secret(c);
}


/** Hand the news read with the last statements to the handler (from the
 *  loop, never inside a statement) */
void clusterdb_news(struct clusterdb *c)
{
	if (c && c->conn)
		news(c);
}


/** This node's tag (0..255), unique among the cluster's node names */
uint8_t clusterdb_tag(const struct clusterdb *c)
{
	return c ? c->tag : 0;
}


/**
 * Open a node's connection (and LISTEN for the others' news)
 *
 * @param cp     the new object
 * @param url    the store's URL or conninfo
 * @param node   this node's name
 * @param newsh  called with each other node's NOTIFY payload
 * @param arg    its argument
 */
int clusterdb_open(struct clusterdb **cp, const char *url, const char *node,
		   uint32_t live_ms, clusterdb_news_h *newsh, void *arg)
{
	struct clusterdb *c;
	int err;

	if (!cp || !url || !node)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), destructor);
	if (!c)
		return ENOMEM;
	c->fd = -1;
	c->live_ms = live_ms;
	c->newsh = newsh;
	c->arg = arg;
	err = str_dup(&c->url, url);
	err = err ? err : str_dup(&c->node, node);
	err = err ? err : connect_db(c);
	err = err ? err : join(c);
	if (err)
		mem_deref(c);
	else
		*cp = c;
	return err;
}


/**
 * The start of a round: this node's heartbeat, the live nodes, every
 * shard's lease and the server's clock. Pointers in view stay valid
 * until the next round.
 */
int clusterdb_round(struct clusterdb *c, uint32_t live_ms,
		    struct clusterdb_view *view)
{
	char ms[24];
	PGresult *r;

	if (!c || !view)
		return EINVAL;

	char wms[24];

	(void)snprintf(wms, sizeof(wms), "%lld", (long long)view->watch_ms);
	const char *const beat[] = {c->node, wms};
	r = exec(c, "UPDATE nodes SET beat_ms=" NOW_MS ", watch_until_ms="
		 "CASE WHEN $2::bigint > 0 THEN " NOW_MS " + $2::bigint ELSE 0 "
		 "END WHERE name=$1", 2, beat);
	if (!r)
		return ECONNRESET;
	/* its row gone (removed by hand): joined again, same tag or not */
	if (!strcmp(PQcmdTuples(r), "0") && join(c)) {
		PQclear(r);
		return ECONNRESET;
	}
	PQclear(r);

	(void)snprintf(ms, sizeof(ms), "%u", live_ms);
	const char *const lv[] = {ms};
	r = exec(c, "SELECT name, watch_until_ms > " NOW_MS " FROM nodes "
		 "WHERE beat_ms > " NOW_MS " - $1::bigint ORDER BY name", 1, lv);
	if (!r)
		return ECONNRESET;
	PQclear(c->live);
	c->live = r;

	r = exec(c, "SELECT shard, owner, until_ms, epoch, " NOW_MS
		 " FROM leases ORDER BY shard", 0, NULL);
	if (!r)
		return ECONNRESET;
	if (PQntuples(r) != LEASE_SHARDS) {
		PQclear(r);
		return EBADMSG;
	}
	PQclear(c->leases);
	c->leases = r;

	memset(view, 0, sizeof(*view));
	for (int i = 0; i < PQntuples(c->live) &&
		     view->nlive < ARRAY_SIZE(view->live); i++) {
		view->live[view->nlive++] = PQgetvalue(c->live, i, 0);
		if (strcmp(PQgetvalue(c->live, i, 0), c->node) &&
		    !strcmp(PQgetvalue(c->live, i, 1), "t"))
			view->others_watch = true;
	}
	for (int i = 0; i < LEASE_SHARDS; i++) {
		struct lease *l = &view->v[i];

		l->owner = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1);
		l->until_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		l->epoch = strtoull(PQgetvalue(r, i, 3), NULL, 10);
		view->now_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10);
	}
	return 0;
}


/* "{1,2,3}": shards as one array parameter */
static int shard_array(char **out, const uint16_t *shard, size_t n)
{
	struct mbuf *mb = mbuf_alloc(8 + n * 4);
	int err = 0;

	if (!mb)
		return ENOMEM;
	err |= mbuf_write_str(mb, "{");
	for (size_t i = 0; i < n; i++)
		err |= mbuf_printf(mb, "%s%u", i ? "," : "", shard[i]);
	err |= mbuf_write_str(mb, "}");
	mb->pos = 0;
	err = err ? err : mbuf_strdup(mb, out, mb->end);
	mem_deref(mb);
	return err;
}


/* shards and epochs the statement returned, into epoch_of */
static int epochs(PGresult *r, uint64_t *epoch_of)
{
	for (int i = 0; i < PQntuples(r); i++) {
		unsigned long s = strtoul(PQgetvalue(r, i, 0), NULL, 10);

		if (s < LEASE_SHARDS)
			epoch_of[s] = strtoull(PQgetvalue(r, i, 1), NULL, 10);
	}
	PQclear(r);
	return 0;
}


static int lease_stmt(struct clusterdb *c, const char *sql, uint32_t ttl_ms,
		      const uint16_t *shard, size_t n, uint64_t *epoch_of)
{
	char *arr = NULL, ms[24];
	PGresult *r;
	int err;

	if (!c || (n && !shard) || !epoch_of)
		return EINVAL;
	if (!n)
		return 0;

	err = shard_array(&arr, shard, n);
	if (err)
		return err;
	(void)snprintf(ms, sizeof(ms), "%u", ttl_ms);
	const char *const v[] = {c->node, arr, ms};
	r = exec(c, sql, 3, v);
	mem_deref(arr);
	return r ? epochs(r, epoch_of) : ECONNRESET;
}


/**
 * Renew the node's unexpired leases of these shards (an expired one is
 * never renewed, only claimed anew). epoch_of[shard] gets the epoch of
 * each renewed one; the others are left as they were.
 */
int clusterdb_renew(struct clusterdb *c, uint32_t ttl_ms,
		    const uint16_t *shard, size_t n, uint64_t *epoch_of)
{
	return lease_stmt(c, "UPDATE leases SET until_ms=" NOW_MS
			  " + $3::bigint WHERE owner=$1 AND until_ms > " NOW_MS
			  " AND shard = ANY($2::bigint[]) RETURNING shard, "
			  "epoch", ttl_ms, shard, n, epoch_of);
}


/**
 * Claim free or expired shards (of two nodes claiming one, one wins);
 * epoch_of[shard] gets the new epoch of each won.
 */
int clusterdb_claim(struct clusterdb *c, uint32_t ttl_ms,
		    const uint16_t *shard, size_t n, uint64_t *epoch_of)
{
	return lease_stmt(c, "UPDATE leases SET owner=$1, epoch=epoch+1, "
			  "until_ms=" NOW_MS " + $3::bigint WHERE shard = "
			  "ANY($2::bigint[]) AND (owner IS NULL OR until_ms <= "
			  NOW_MS ") RETURNING shard, epoch", ttl_ms, shard, n,
			  epoch_of);
}


/** Give a shard up (free since now, for the next node in line) */
int clusterdb_release(struct clusterdb *c, uint32_t shard, uint64_t epoch)
{
	char s[16], e[24];
	PGresult *r;

	if (!c)
		return EINVAL;
	(void)snprintf(s, sizeof(s), "%u", shard);
	(void)snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
	const char *const v[] = {c->node, s, e};
	r = exec(c, "UPDATE leases SET owner=NULL, until_ms=" NOW_MS
		 " WHERE owner=$1 AND shard=$2::bigint AND epoch=$3::bigint",
		 3, v);
	if (!r)
		return ECONNRESET;
	PQclear(r);
	return 0;
}


/** Pushes not final in the whole store (every node's) */
int clusterdb_pending(struct clusterdb *c, uint64_t *n)
{
	PGresult *r;

	if (!c || !n)
		return EINVAL;
	r = exec(c, "SELECT count(*) FROM pushes WHERE final_ms=0", 0, NULL);
	if (!r)
		return ECONNRESET;
	*n = PQntuples(r) ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return 0;
}


/** Tell the other nodes (a NOTIFY of its own, committed at once) */
int clusterdb_notify(struct clusterdb *c, const char *payload)
{
	PGresult *r;

	if (!c || !payload)
		return EINVAL;
	const char *const v[] = {payload};
	r = exec(c, "SELECT pg_notify('sippush', $1)", 1, v);
	if (!r)
		return ECONNRESET;
	PQclear(r);
	return 0;
}


/** A stop: every lease given up, the heartbeat gone */
int clusterdb_leave(struct clusterdb *c)
{
	PGresult *r;

	if (!c)
		return EINVAL;
	const char *const v[] = {c->node};
	r = exec(c, "WITH l AS (UPDATE leases SET owner=NULL, until_ms="
		 NOW_MS " WHERE owner=$1) DELETE FROM nodes WHERE name=$1",
		 1, v);
	if (!r)
		return ECONNRESET;
	PQclear(r);
	return 0;
}
