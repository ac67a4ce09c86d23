/**
 * @file lease.c  Shards, rendezvous owners and one node's lease round
 *
 * Why two nodes never deliver for one shard at once (fencing):
 * - a claim succeeds only on a free or expired lease and raises its epoch
 *   (one UPDATE, so of two claims one wins);
 * - the store stamps a lease's end with its own clock at the commit of a
 *   renewal, which is after the node sent it: a node that counts its own
 *   deadline from the moment it sent the renewal (lease_send_deadline(),
 *   on its monotonic clock, minus a margin for a request in flight) stops
 *   before the store lets anyone else claim;
 * - a node that was stopped (SIGSTOP) finds its deadline passed when it
 *   runs again and sends nothing until a renewal succeeds, which it
 *   cannot once the lease expired (renewals require an unexpired lease of
 *   its epoch): it must claim anew, and loses to the node that did;
 * - every write a delivery makes carries the epoch, and the store drops
 *   it when the shard's epoch moved on.
 */
#include <string.h>
#include <re.h>
#include "core/lease.h"


static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}


/* splitmix64's finaliser: every input bit reaches every output bit */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}


/** The shard of a user, from its canonical AoR (aor_canon()) */
uint32_t lease_shard_of(const char *aor)
{
	return aor ? fnv1a32(aor) % LEASE_SHARDS : 0;
}


/** How much a node wants a shard: the live node scoring highest owns it */
uint64_t lease_score(const char *node, uint32_t shard)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *s = node ? node : ""; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return mix64(h ^ mix64((uint64_t)shard + 1));
}


/* a before b in the shard's line: higher score, then name (no ties) */
static bool before(const char *a, const char *b, uint32_t shard)
{
	const uint64_t sa = lease_score(a, shard), sb = lease_score(b, shard);

	return sa != sb ? sa > sb : strcmp(a, b) < 0;
}


/**
 * Where the node stands in a shard's line among the live nodes: 0 is
 * its owner by rendezvous hashing, 1 the next, and so on.
 *
 * @return 0, or EINVAL (me is not among the live nodes)
 */
int lease_rank(const struct lease_view *v, uint32_t shard, size_t *rank)
{
	bool found = false;
	size_t r = 0;

	if (!v || !v->me || !rank || (v->nlive && !v->live))
		return EINVAL;
	for (size_t i = 0; i < v->nlive; i++) {
		if (!v->live[i])
			return EINVAL;
		if (!strcmp(v->live[i], v->me))
			found = true;
		else if (before(v->live[i], v->me, shard))
			++r;
	}
	if (!found)
		return EINVAL;
	*rank = r;
	return 0;
}


/**
 * One round of a node: which free or expired shards to claim (those it
 * heads the line of, or those free for grace_ms times its place in the
 * line, so that a head that does not claim is covered), which of its own
 * to give up (another live node heads their line: it joined; at most
 * max_release a round, so that the in-flight work of each ends first),
 * and how many it keeps (renews).
 *
 * A lease of its own that expired counts as free: it is claimed anew, with
 * a new epoch, never renewed.
 */
int lease_plan(struct lease_plan *p, const struct lease_view *v)
{
	if (!p || !v || !v->v)
		return EINVAL;

	memset(p, 0, sizeof(*p));
	for (uint32_t s = 0; s < LEASE_SHARDS; s++) {
		const struct lease *l = &v->v[s];
		const bool active = l->owner && l->until_ms > v->now_ms;
		const bool mine = l->owner && !strcmp(l->owner, v->me);
		size_t rank;
		int err;

		err = lease_rank(v, s, &rank);
		if (err)
			return err;

		if (active && mine) {
			if (rank > 0 && p->nrelease < v->max_release)
				p->release[p->nrelease++] = (uint16_t)s;
			else
				++p->nheld;
			continue;
		}
		if (active)
			continue;   /* another's until it ends, dead or not */

		if (rank == 0 || (v->grace_ms > 0 && v->now_ms - l->until_ms >=
				  (int64_t)rank * v->grace_ms))
			p->claim[p->nclaim++] = (uint16_t)s;
	}
	return 0;
}


/**
 * Until when (the node's monotonic clock) it may send for its shards:
 * the moment it sent the renewal that succeeded, plus the lease time,
 * minus a margin for a request already on its way.
 */
int64_t lease_send_deadline(int64_t renew_sent_ms, uint32_t ttl_ms,
			    uint32_t margin_ms)
{
	return renew_sent_ms + (int64_t)ttl_ms - (int64_t)margin_ms;
}
