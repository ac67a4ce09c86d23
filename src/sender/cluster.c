/**
 * @file cluster.c  One node of several sharing a PostgreSQL store
 *
 * Every second a round (the plan is src/core/lease.c's): heartbeat, renew
 * the leases held, give up those another node now heads, claim the free
 * ones this node heads; a shard claimed has its terminals and pending
 * pushes loaded, a shard lost has them dropped. Only the owner of a
 * user's shard sends to the user (cluster_may_send(), until the deadline
 * its last renewal allows), and its delivery writes are fenced by the
 * lease's epoch. Any node accepts: a push or a terminal stored by one is
 * announced to the others (NOTIFY), the owner loads it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "engine.h"
#include "cluster.h"
#include "core/lease.h"
#ifdef SIPPUSH_HAVE_PG
#include "store/clusterdb.h"
#endif

#include <sippush/log.h>

#define MOD "cluster"

enum {
	ROUND_MS = 1000,
	MARGIN_MS = 1000,        /* a request already on its way          */
	GRACE_MS = 3000,         /* per place in a shard's line            */
	MAX_RELEASE = 16,        /* shards given up per round              */
	SWEEP_ROUNDS = 10,       /* pending pushes re-read (safety net)    */
	NOTIFY_MAX = 7999,       /* PostgreSQL's payload limit             */
	EV_BATCH_MS = 100,       /* events sent to other nodes this often  */
	EV_OUT_MAX = 1 << 20,    /* and no more waiting than this: dropped */
	EV_CHUNK = 7800,         /* a payload's records, at most (bytes)   */
	WATCH_MS = 5000,         /* a reader keeps the others sending     */
};

struct cluster {
	struct sender *s;
	struct tmr tmr;
	char *node;
	uint32_t ttl_ms;
	bool owned[LEASE_SHARDS];
	bool leaving[LEASE_SHARDS];   /* given up once its work in flight
					 ended: sends nothing new        */
	uint64_t epoch[LEASE_SHARDS];
	uint64_t deadline[LEASE_SHARDS];   /* tmr_jiffies() */
	bool unread[LEASE_SHARDS];    /* taken, but the store could not be
					 read (its own connection not back
					 yet): read again next round     */
	uint32_t unread_run;          /* rounds in a row: said once       */
	uint32_t rounds;
	uint32_t rounds_failed;
	uint32_t rounds_failed_run;   /* in a row: said when it begins/ends */
	uint32_t nlive;               /* the last round's view (/metrics) */
	uint32_t unowned;             /* free or expired shards          */
	uint64_t taken, lost, given;  /* shards, since start              */
	uint64_t pending;             /* the store's, every node's (sweep) */
	uint64_t watch_until;         /* a cluster-wide event reader here */
	bool forward;                 /* another node has one: send ours  */
	struct mbuf *evout;           /* events to send, batched          */
	uint64_t ev_dropped;          /* not sent: over EV_OUT_MAX        */
	struct tmr tmr_ev;
	struct store_fence fence;
#ifdef SIPPUSH_HAVE_PG
	struct clusterdb *db;
#endif
};


static void destructor(void *arg)
{
	struct cluster *cl = arg;

	tmr_cancel(&cl->tmr);
	tmr_cancel(&cl->tmr_ev);
#ifdef SIPPUSH_HAVE_PG
	mem_deref(cl->db);
#endif
	mem_deref(cl->evout);
	mem_deref(cl->node);
}


/** Does this node hold the user's shard (and keep it)? Alone: always. */
bool cluster_owns(const struct sender *s, const char *aor)
{
	const struct cluster *cl = s ? s->cl : NULL;
	uint32_t sh;

	if (!cl)
		return true;
	sh = lease_shard_of(aor);
	return cl->owned[sh] && !cl->leaving[sh];
}


/** May this node send to the user now: it holds the shard and its last
 *  renewal still covers the moment (a node that was paused finds its
 *  deadline passed and sends nothing until a renewal succeeds) */
bool cluster_may_send(const struct sender *s, const char *aor)
{
	const struct cluster *cl = s ? s->cl : NULL;

	if (!cl)
		return true;
	return cluster_owns(s, aor) &&
		tmr_jiffies() < cl->deadline[lease_shard_of(aor)];
}


/** The fence of a delivery write for the user, or NULL (alone) */
const struct store_fence *cluster_fence(struct sender *s, const char *aor)
{
	struct cluster *cl = s ? s->cl : NULL;

	if (!cl)
		return NULL;
	cl->fence.node = cl->node;
	cl->fence.shard = lease_shard_of(aor);
	cl->fence.epoch = cl->epoch[cl->fence.shard];
	return &cl->fence;
}


/** What the push ids this node makes carry so that no other node's
 *  equal them (0..255); alone: -1 */
int cluster_tag(const struct sender *s)
{
#ifdef SIPPUSH_HAVE_PG
	if (s && s->cl)
		return clusterdb_tag(s->cl->db);
#endif
	(void)s;
	return -1;
}


/** The shards held, as a mask (NULL: alone) */
const bool *cluster_mask(const struct sender *s)
{
	return s && s->cl ? s->cl->owned : NULL;
}


/** This node's name in a cluster, else NULL */
const char *cluster_node(const struct sender *s)
{
	return s && s->cl ? s->cl->node : NULL;
}


/** Someone reads the events here: the other nodes send theirs (from
 *  their next round, for WATCH_MS after the last read) */
void cluster_watched(struct sender *s)
{
	if (s && s->cl)
		s->cl->watch_until = tmr_jiffies() + WATCH_MS;
}


#ifdef SIPPUSH_HAVE_PG
static void ev_flush(struct cluster *cl)
{
	struct mbuf *mb = cl->evout;
	size_t from = 0;

	if (!mb || !mb->end)
		return;
	/* in payloads under NOTIFY's limit, cut between records */
	while (from < mb->end) {
		size_t to = from, last = from;
		char *rest = NULL, *msg = NULL;

		while (to < mb->end && to - from < EV_CHUNK) {
			if (mb->buf[to++] == 0x1e)
				last = to;
		}
		if (to == mb->end)
			last = to;
		if (last == from)
			break;   /* one record alone too long: cannot be */
		if (!re_sdprintf(&rest, "e %s %b", cl->node, mb->buf + from,
				 last - from) &&
		    !clusterdb_sign(cl->db, &msg, rest))
			(void)clusterdb_notify(cl->db, msg);
		mem_deref(rest);
		mem_deref(msg);
		from = last;
	}
	mb->pos = mb->end = 0;
}


static void ev_tmr(void *arg)
{
	ev_flush(arg);
}
#endif


/** An event happened here: to the other nodes too while one of them has
 *  a reader (batched: one NOTIFY per EV_BATCH_MS or per payload) */
/** Whether another node reads events: ours go to it (cluster_event_out) */
bool cluster_events_wanted(const struct sender *s)
{
#ifdef SIPPUSH_HAVE_PG
	return s && s->cl && s->cl->forward;
#else
	(void)s;
	return false;
#endif
}


void cluster_event_out(struct sender *s, const char *scope, const char *line)
{
#ifdef SIPPUSH_HAVE_PG
	struct cluster *cl = s ? s->cl : NULL;
	size_t need;

	if (!cl || !cl->forward || !line)
		return;
	need = strlen(line) + (scope ? strlen(scope) : 0) + 2;
	if (need > EV_CHUNK)
		return;
	if (!cl->evout)
		cl->evout = mbuf_alloc(NOTIFY_MAX);
	/* sent from the loop (the timer), never from inside the emitter;
	 * past the bound, dropped */
	if (!cl->evout || cl->evout->end + need > EV_OUT_MAX) {
		++cl->ev_dropped;
		return;
	}
	(void)mbuf_printf(cl->evout, "%s\x1f%s\x1e", scope ? scope : "",
			  line);
	if (!tmr_isrunning(&cl->tmr_ev))
		tmr_start(&cl->tmr_ev, EV_BATCH_MS, ev_tmr, cl);
#else
	(void)s;
	(void)scope;
	(void)line;
#endif
}


/** The cluster's lines of /metrics, as this node saw its last round */
int cluster_metrics_print(struct re_printf *pf, const struct sender *s)
{
	const struct cluster *cl = s ? s->cl : NULL;

	if (!cl)
		return 0;
	return re_hprintf(pf,
		"# TYPE sippush_cluster_nodes_live gauge\n"
		"sippush_cluster_nodes_live %u\n"
		"# TYPE sippush_cluster_shards_held gauge\n"
		"sippush_cluster_shards_held %u\n"
		"# TYPE sippush_cluster_shards_unowned gauge\n"
		"sippush_cluster_shards_unowned %u\n"
		"# TYPE sippush_cluster_shards_taken_total counter\n"
		"sippush_cluster_shards_taken_total %llu\n"
		"# TYPE sippush_cluster_shards_lost_total counter\n"
		"sippush_cluster_shards_lost_total %llu\n"
		"# TYPE sippush_cluster_shards_given_total counter\n"
		"sippush_cluster_shards_given_total %llu\n"
		"# TYPE sippush_cluster_rounds_failed_total counter\n"
		"sippush_cluster_rounds_failed_total %u\n"
		"# TYPE sippush_cluster_pushes_pending gauge\n"
		"sippush_cluster_pushes_pending %llu\n",
		cl->nlive, cluster_owned(s), cl->unowned,
		(unsigned long long)cl->taken, (unsigned long long)cl->lost,
		(unsigned long long)cl->given, cl->rounds_failed,
		(unsigned long long)cl->pending);
}


/** Shards held */
uint32_t cluster_owned(const struct sender *s)
{
	uint32_t n = 0;

	for (uint32_t i = 0; s && s->cl && i < LEASE_SHARDS; i++)
		n += s->cl->owned[i];
	return n;
}


/* News for the other nodes, signed, sent by the turn's transaction (so
 * never heard before the write it announces commits) */
static void tell(struct sender *s, const char *rest)
{
#ifdef SIPPUSH_HAVE_PG
	char *msg = NULL;

	if (!clusterdb_sign(s->cl->db, &msg, rest))
		(void)store_notify(s->st, msg);
	mem_deref(msg);
#else
	(void)s;
	(void)rest;
#endif
}


/** A push was stored here for another node's user: the owner is told
 *  when it commits, with the push itself when it fits (whole: no files,
 *  no PAP row) so that it need not read it back. (Its own: not told;
 *  should the shard move before the commit, the new owner's 10 s sweep
 *  finds it. A NOTIFY per push would cost every commit PostgreSQL's
 *  global notify lock.) */
void cluster_push_accepted(struct sender *s, const struct push_rec *r,
			   bool whole)
{
	char head[100], *txt = NULL, *msg = NULL;

	if (!s || !s->cl || !r || cluster_owns(s, r->aor))
		return;

	re_snprintf(head, sizeof(head), "%s %u", s->cl->node,
		    lease_shard_of(r->aor));
	/* NOTIFY's payload is at most 8000 bytes: signature, time, head */
	if (whole && !store_push_encode(&txt, r, NOTIFY_MAX - 64 -
					 strlen(head)) &&
	    !re_sdprintf(&msg, "P %s %s", head, txt))
		tell(s, msg);
	else if (!re_sdprintf(&msg, "p %s %s", head, r->id))
		tell(s, msg);
	mem_deref(txt);
	mem_deref(msg);
}


/** A push another node owns is to be cancelled: its owner is told */
void cluster_push_cancel(struct sender *s, const char *aor, const char *id)
{
	char *msg = NULL;

	if (!s || !s->cl || !aor || !id)
		return;
	if (!re_sdprintf(&msg, "c %s %u %s", s->cl->node,
			 lease_shard_of(aor), id))
		tell(s, msg);
	mem_deref(msg);
}


/** A user's terminals changed here: every other node re-reads them */
void cluster_user_changed(struct sender *s, const char *aor)
{
	char *msg = NULL;

	if (!s || !s->cl || !aor)
		return;
	if (!re_sdprintf(&msg, "u %s %s", s->cl->node, aor))
		tell(s, msg);
	mem_deref(msg);
}


#ifdef SIPPUSH_HAVE_PG

/* Another node's news: "p NODE SHARD ID" or "u NODE AOR" */
static void news_h(const char *payload, void *arg)
{
	struct cluster *cl = arg;
	char buf[8192], *f[4] = {NULL};
	size_t n = 0;

	/* "e NODE SCOPE\x1fLINE\x1e...": another node's events */
	if (!strncmp(payload, "e ", 2)) {
		const char *node = payload + 2, *rec = strchr(node, ' ');

		if (!rec || ((size_t)(rec - node) == strlen(cl->node) &&
			     !strncmp(node, cl->node, (size_t)(rec - node))))
			return;
		for (++rec; *rec; ) {
			const char *us = strchr(rec, '\x1f');
			const char *rs = us ? strchr(us, '\x1e') : NULL;
			char scope[512], line[4096];

			if (!us || !rs)
				break;
			if ((size_t)(us - rec) < sizeof(scope) &&
			    (size_t)(rs - us - 1) < sizeof(line)) {
				str_ncpy(scope, rec, (size_t)(us - rec) + 1);
				str_ncpy(line, us + 1, (size_t)(rs - us));
				cl->s->up.event_in(cl->s, scope, line);
			}
			rec = rs + 1;
		}
		return;
	}

	str_ncpy(buf, payload, sizeof(buf));
	for (char *p = buf; n < ARRAY_SIZE(f) && p && *p; ) {
		f[n++] = p;
		p = strchr(p, ' ');
		if (p)
			*p++ = '\0';
	}
	if (n < 3 || strlen(f[0]) != 1 || !strcmp(f[1], cl->node))
		return;   /* not news, or ours */

	if (f[0][0] == 'u') {
		(void)cl->s->up.user_news(cl->s, f[2]);
	}
	else if ((f[0][0] == 'p' || f[0][0] == 'P' || f[0][0] == 'c') &&
		 n == 4) {
		const unsigned long sh = strtoul(f[2], NULL, 10);

		if (sh >= LEASE_SHARDS || !cl->owned[sh])
			return;
		if (f[0][0] == 'P')
			(void)cl->s->up.push_whole(cl->s, f[3]);
		else if (f[0][0] == 'c')
			(void)cl->s->up.push_cancel(cl->s, f[3]);
		else
			(void)cl->s->up.push_news(cl->s, f[3]);
	}
}


static void lost(struct cluster *cl, uint32_t sh)
{
	plog(SIPPUSH_LOG_WARN, MOD, "shard %u: lease lost (epoch %llu): its "
	     "users are another node's now", sh,
	     (unsigned long long)cl->epoch[sh]);
	cl->owned[sh] = false;
	cl->leaving[sh] = false;
	++cl->lost;
	cl->s->up.shard_lost(cl->s, sh);
}


static void round_tmr(void *arg)
{
	struct cluster *cl = arg;
	static struct clusterdb_view view;
	static struct lease_plan plan;
	uint64_t renewed[LEASE_SHARDS] = {0}, claimed[LEASE_SHARDS] = {0};
	uint16_t held[LEASE_SHARDS];
	bool load[LEASE_SHARDS] = {false};
	size_t nheld = 0, nload = 0;
	bool flushed = false;
	/* sends stop before the store lets another node claim: counted
	 * from before the renewal went, minus a request in flight */
	const uint64_t until = (uint64_t)lease_send_deadline(
		(int64_t)tmr_jiffies(), cl->ttl_ms, MARGIN_MS);
	int err;

	tmr_start(&cl->tmr, ROUND_MS, round_tmr, cl);
	++cl->rounds;

	view.watch_ms = tmr_jiffies() < cl->watch_until ? WATCH_MS : 0;
	err = clusterdb_round(cl->db, cl->ttl_ms, &view);
	if (err) {
		/* the deadlines lapse on their own: nothing is sent then;
		 * said once, not every second */
		if (!cl->rounds_failed_run++)
			plog(SIPPUSH_LOG_WARN, MOD, "round: %m: nothing is sent "
			     "once the leases' deadlines pass", err);
		++cl->rounds_failed;
		return;
	}

	if (cl->rounds_failed_run) {
		plog(SIPPUSH_LOG_INFO, MOD, "rounds again, after %u failed",
		     cl->rounds_failed_run);
		cl->rounds_failed_run = 0;
	}
	cl->nlive = (uint32_t)view.nlive;
	cl->forward = view.others_watch;
	cl->unowned = 0;
	for (uint32_t i = 0; i < LEASE_SHARDS; i++)
		cl->unowned += !view.v[i].owner ||
			view.v[i].until_ms <= view.now_ms;

	const struct lease_view lv = {
		.me = cl->node, .live = view.live, .nlive = view.nlive,
		.v = view.v, .now_ms = view.now_ms, .grace_ms = GRACE_MS,
		.max_release = MAX_RELEASE,
	};
	err = lease_plan(&plan, &lv);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "round: no plan (%m)", err);
		return;
	}

	/* renew what the store says is ours and unexpired */
	for (uint32_t i = 0; i < LEASE_SHARDS; i++) {
		const struct lease *l = &view.v[i];

		if (l->owner && !strcmp(l->owner, cl->node) &&
		    l->until_ms > view.now_ms)
			held[nheld++] = (uint16_t)i;
	}
	err = clusterdb_renew(cl->db, cl->ttl_ms, held, nheld, renewed);
	if (err)
		return;

	for (uint32_t i = 0; i < LEASE_SHARDS; i++) {
		if (cl->owned[i] && renewed[i] != cl->epoch[i]) {
			lost(cl, i);
		}
		else if (renewed[i]) {
			if (!cl->owned[i]) {
				/* held by this node's previous run */
				cl->owned[i] = true;
				cl->epoch[i] = renewed[i];
				load[i] = true;
				++nload;
			}
			cl->deadline[i] = until;
		}
	}

	/* a shard it was leaving that it heads again (the joiner went):
	 * its own again */
	for (uint32_t i = 0; i < LEASE_SHARDS; i++) {
		bool listed = false;

		if (!cl->leaving[i])
			continue;
		for (uint32_t k = 0; k < plan.nrelease && !listed; k++)
			listed = plan.release[k] == i;
		if (!listed) {
			cl->leaving[i] = false;
			load[i] = cl->owned[i];
			nload += cl->owned[i];
		}
	}

	/* give up what another node now heads, once its work ended and its
	 * progress is committed (fenced: written only under the lease) */
	for (uint32_t k = 0; k < plan.nrelease; k++) {
		const uint16_t sh = plan.release[k];

		if (!cl->owned[sh])
			continue;
		cl->leaving[sh] = true;
		if (cl->s->up.shard_busy(cl->s, sh))
			continue;
		if (!flushed) {
			flushed = true;
			(void)store_flush(cl->s->st);
		}
		cl->s->up.shard_lost(cl->s, sh);
		if (!clusterdb_release(cl->db, sh, cl->epoch[sh])) {
			cl->owned[sh] = false;
			cl->leaving[sh] = false;
			++cl->given;
			plog(SIPPUSH_LOG_INFO, MOD, "shard %u: given up",
			     sh);
		}
	}

	/* claim the free ones this node heads (or covers after a grace) */
	err = clusterdb_claim(cl->db, cl->ttl_ms, plan.claim, plan.nclaim,
			      claimed);
	for (uint32_t i = 0; !err && i < LEASE_SHARDS; i++) {
		if (!claimed[i])
			continue;
		if (cl->owned[i])
			lost(cl, i);   /* expired here first: begin afresh */
		cl->owned[i] = true;
		cl->leaving[i] = false;
		cl->epoch[i] = claimed[i];
		cl->deadline[i] = until;
		load[i] = true;
		++nload;
	}

	/* the connection was made again: news sent meanwhile are lost, what
	 * it holds is read again */
	if (clusterdb_reconnected(cl->db)) {
		/* the store's own connection, lost too, need not wait out
		 * its backoff (up to 5 s) with the shards claimed */
		store_retry(cl->s->st);
		for (uint32_t i = 0; i < LEASE_SHARDS; i++) {
			nload += cl->owned[i] && !load[i];
			load[i] = load[i] || cl->owned[i];
		}
	}

	cl->taken += nload;
	if (nload)
		plog(SIPPUSH_LOG_INFO, MOD, "%zu shard(s) taken, %u held",
		     nload, cluster_owned(cl->s));

	/* those whose reading failed before: again, with the new ones */
	for (uint32_t i = 0; i < LEASE_SHARDS; i++) {
		if (cl->unread[i] && cl->owned[i] && !load[i]) {
			load[i] = true;
			++nload;
		}
		cl->unread[i] = false;
	}

	if (nload) {
		/* a failed read has forgotten the shards' users: until it
		 * succeeds nothing of theirs would be sent */
		err = cl->s->up.shards_taken(cl->s, load);
		if (err) {
			if (!cl->unread_run++)
				plog(SIPPUSH_LOG_WARN, MOD, "%zu shard(s) not "
				     "read (%m): again each round", nload,
				     err);
			memcpy(cl->unread, load, sizeof(cl->unread));
		}
		else if (cl->unread_run) {
			plog(SIPPUSH_LOG_INFO, MOD, "shards read, after %u "
			     "failed round(s)", cl->unread_run);
			cl->unread_run = 0;
		}
	}
	else if (cl->rounds % SWEEP_ROUNDS == 0) {
		(void)cl->s->up.shards_taken(cl->s, NULL);
	}
	if (cl->rounds % SWEEP_ROUNDS == 1)
		(void)clusterdb_pending(cl->db, &cl->pending);

	/* news read with the round's answers: handled now, from the loop */
	clusterdb_news(cl->db);
}


int cluster_alloc(struct cluster **clp, struct sender *s)
{
	struct cluster *cl;
	int err;

	if (!clp || !s || !s->conf.cluster_store || !s->conf.node)
		return EINVAL;

	cl = mem_zalloc(sizeof(*cl), destructor);
	if (!cl)
		return ENOMEM;
	cl->s = s;
	cl->ttl_ms = s->conf.lease_ms ? s->conf.lease_ms : 4000;
	if (cl->ttl_ms <= MARGIN_MS + ROUND_MS)
		cl->ttl_ms = MARGIN_MS + 2 * ROUND_MS;
	tmr_init(&cl->tmr);
	tmr_init(&cl->tmr_ev);
	err = str_dup(&cl->node, s->conf.node);
	err = err ? err : clusterdb_open(&cl->db, s->conf.cluster_store,
					 cl->node, cl->ttl_ms, news_h, cl);
	if (err) {
		mem_deref(cl);
		return err;
	}

	tmr_start(&cl->tmr, 0, round_tmr, cl);
	*clp = cl;
	return 0;
}


/** A stop: the leases go at once, for the others to take */
void cluster_leave(struct cluster *cl)
{
	if (!cl)
		return;
	tmr_cancel(&cl->tmr);
	/* the delivery progress held commits while the leases fence it */
	(void)store_flush(cl->s->st);
	(void)clusterdb_leave(cl->db);
	memset(cl->owned, 0, sizeof(cl->owned));
}

#else

int cluster_alloc(struct cluster **clp, struct sender *s)
{
	(void)clp;
	(void)s;
	return ENOTSUP;
}


void cluster_leave(struct cluster *cl)
{
	(void)cl;
}

#endif
