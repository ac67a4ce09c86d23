/**
 * @file setup.c  The Push Sender Agent engine: setup (what listens to what,
 *                the ways up), the SIP entry, reload, drain and purge
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "core/appid.h"
#include "core/digest.h"
#include "core/noncecount.h"
#include "fetch/fetch.h"
#include "msrp/msrpsess.h"
#include "core/lease.h"
#include "core/param.h"
#include "core/reqcheck.h"
#include "rt/sipconn.h"
#include "engine.h"
#include "cluster.h"
#include "audit.h"
#include "auth.h"
#include "caps.h"
#include "clock.h"
#include "deliver.h"
#include "events.h"
#include "pushevents.h"
#include "metrics.h"
#include "notifier.h"
#include "papnotify.h"
#include "push.h"
#include "refuse.h"
#include "registrar.h"
#include "regwatch.h"
#include "terminal.h"

#include <sippush/log.h>

#define MOD "sender"

enum { PURGE_INTERVAL_MS = 60 * 1000 };


static void destructor(void *arg)
{
	struct sender *s = arg;

	/* a stop: its shards go to the others at once, not at lease end */
	cluster_leave(s->cl);
	s->cl = mem_deref(s->cl);
	tmr_cancel(&s->tmr_pace);
	tmr_cancel(&s->tmr_purge);
	tmr_cancel(&s->tmr_refused);
	list_flush(&s->regwatches);
	hash_flush(s->targets);
	hash_flush(s->subs);
	hash_flush(s->pushes);
	hash_flush(s->users);
	mem_deref(s->targets);
	mem_deref(s->pushes);
	mem_deref(s->users);
	mem_deref(s->topics);
	hash_flush(s->caps);
	sipsess_close_all(s->sess_sock);
	mem_deref(s->sess_sock);
	mem_deref(s->msrp_tls);
	mem_deref(s->msrp_lsn);
	mem_deref(s->subs);
	mem_deref(s->caps);
	mem_deref(s->fetcher);
	list_flush(&s->notes);
	mem_deref(s->notifier);
	mem_deref(s->events);
	mem_deref(s->nonces);
	if (s->audit)
		(void)fclose(s->audit);
}


static void purge_tmr(void *arg)
{
	struct sender *s = arg;

	uint64_t every = PURGE_INTERVAL_MS;

	(void)sender_purge(s);

	/* a short retention is purged at its own pace, at most once a second */
	if (s->conf.retention_ms && (uint64_t)s->conf.retention_ms / 2 < every)
		every = (uint64_t)s->conf.retention_ms / 2;
	if (every < 1000)
		every = 1000;
	tmr_start(&s->tmr_purge, every, purge_tmr, s);
}


static const double latency_le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				     0.5, 1, 5, 30, 300, 3600};


/* The file of a final push left behind by a crash */
static void unlink_h(const struct file_rec *f, void *arg)
{
	(void)arg;
	(void)unlink(f->path);
}


/* sippushd originates sessions; it takes none */
/* RFC 6135: the MSRP listener terminals behind a NAT connect to; plain
 * TCP only (msrps would need a certificate of ours) */
static int msrp_listen(struct sender *s)
{
	struct sa laddr;
	int err = 0;

	if (s->conf.msrp_laddr) {
		laddr = *s->conf.msrp_laddr;
	}
	else {
		err = sip_transp_laddr(s->sip, &laddr, SIP_TRANSP_UDP, NULL);
		if (err)
			err = sip_transp_laddr(s->sip, &laddr, SIP_TRANSP_TCP,
					       NULL);
		sa_set_port(&laddr, 0);
	}
	err = err ? err : msrp_listener_alloc(&s->msrp_lsn, &laddr, NULL);
	err = err ? err : msrp_listener_laddr(s->msrp_lsn, &laddr);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "MSRP listener: %m", err);
		return err;
	}
	plog(SIPPUSH_LOG_INFO, MOD, "MSRP: terminals may connect to %J "
	     "(a=setup:actpass)", &laddr);
	return 0;
}


static void sess_conn_h(const struct sip_msg *msg, void *arg)
{
	struct sender *s = arg;

	(void)sip_treply(NULL, s->sip, msg, 488, "Not Acceptable Here");
}


/* What waits for a user may go (mask: only the users of those shards) */
static bool user_wake(struct le *le, void *arg)
{
	struct user *u = le->data;
	const bool *mask = arg;

	if (!mask || mask[lease_shard_of(u->aor)])
		push_user_ready(u);
	return false;
}


/* A cluster's shards taken (mask; NULL: a sweep of those held): their
 * users' terminals and subscriptions read again, then their pending
 * pushes this node lacks */
static int shards_taken(struct sender *s, const bool *mask)
{
	int err = 0;

	if (mask) {
		err = term_reload_shards(s, mask);
		err = err ? err : sub_reload_shards(s, mask);
		/* the reg events of its users: watched from here now */
		regwatch_start_all(s);
		regwatch_loaded(s);
	}
	err = err ? err : push_load_shards(s, mask ? mask : cluster_mask(s));
	/* a push taken while the terminals were not read (a failed read
	 * forgot them) waits in memory: it may go now */
	if (!err && mask)
		(void)hash_apply(s->users, user_wake, (void *)mask);
	return err;
}


/* The shard is another node's now: its pushes and dialogs leave memory */
static void shard_lost(struct sender *s, uint32_t shard)
{
	push_forget_shard(s, shard);
	sub_forget_shard(s, shard);
	regwatch_drop_shard(s, shard);
}


/* Another node changed a user's terminals or subscriptions: read again;
 * the owner sends what follows (NOTIFYs, pushes that waited) */
static int user_news(struct sender *s, const char *aor)
{
	int err = term_reload(s, aor);

	if (!cluster_owns(s, aor))
		return err;
	err = err ? err : sub_reload_user(s, aor);
	regwatch_user(s, user_find(s, aor));
	push_user_ready(user_find(s, aor));
	return err;
}


int sender_alloc(struct sender **sp, struct sip *sip, struct store *st,
		 const struct sender_conf *conf)
{
	struct sender *s;
	int err;

	if (!sp || !sip || !st || !conf || !conf->identity || !conf->realm ||
	    !conf->secret)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;

	s->conf = *conf;
	s->sip = sip;
	histo_init(&s->latency, latency_le, ARRAY_SIZE(latency_le));
	s->st = st;
	s->pace_last = tmr_jiffies();
	s->tokens = conf->pace_burst;
	tmr_init(&s->tmr_pace);
	tmr_init(&s->tmr_purge);
	tmr_init(&s->tmr_refused);

	deliver_init(s);
	push_init(s);
	s->up.shards_taken = shards_taken;
	s->up.shard_lost = shard_lost;
	s->up.shard_busy = push_busy_shard;
	s->up.push_news = push_load_one;
	s->up.push_whole = push_take;
	s->up.push_cancel = sender_push_cancel;
	s->up.user_news = user_news;
	s->up.event_in = events_take;

	/* listeners of final deliveries and pushes, in this order */
	err  = metrics_init(s);
	err |= audit_init(s);
	err |= events_init(s);
	err |= pushevents_init(s);
	err |= papnotify_init(s);
	s->route_gen = 1;   /* a delivery loaded (0) looks at once */
	err |= hash_alloc(&s->users, 4096);
	err |= hash_alloc(&s->pushes, 65536);
	err |= hash_alloc(&s->targets, 4096);
	err |= hash_alloc(&s->topics, 1024);
	err |= hash_alloc(&s->subs, 4096);
	err |= hash_alloc(&s->caps, 4096);
	err |= noncecount_alloc(&s->nonces, NONCES_MAX, NONCE_MAX_AGE);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	err = term_load(s);
	if (err)
		goto out;

	{
		const struct fetch_limits lim = {
			.max_size = conf->uaprof_max ? conf->uaprof_max :
				256u << 10,
			.timeout_ms = 10000,
			.allow_private = conf->allow_private_fetch,
			.proxy = conf->fetch_proxy,
		};

		err = fetcher_alloc(&s->fetcher, &lim);
		if (err)
			goto out;

		/* PAP initiators are configured peers: their private
		 * addresses only with --notify-allow-private */
		const struct fetch_limits nlim = {
			.max_size = 65536, .timeout_ms = 10000,
			.allow_private = conf->notify_allow_private,
			.proxy = conf->fetch_proxy,
		};

		err = fetcher_alloc(&s->notifier, &nlim);
		if (err)
			goto out;
	}

	err = audit_reopen(s);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "%s: cannot open the audit log: %m",
		     conf->audit_path, err);
		goto out;
	}

	err = sipsess_listen(&s->sess_sock, sip, 64, sess_conn_h, s);
	if (!err && conf->msrps)
		err = tls_alloc(&s->msrp_tls, TLS_METHOD_SSLV23, NULL, NULL);
	else if (!err)
		err = msrp_listen(s);
	if (err)
		goto out;

	/* a cluster's node loads pushes shard by shard, as it takes them */
	if (conf->cluster_store) {
		err = cluster_alloc(&s->cl, s);
		if (err) {
			plog(SIPPUSH_LOG_ERROR, MOD, "--cluster: cannot reach the "
			     "shared store (%m)", err);
			goto out;
		}
	}

	err = caps_load(s);
	err = err ? err : sub_load(s);
	err = err ? err : push_load(s);
	err = err ? err : papnotify_load(s);
	if (!err)
		(void)store_files_final(st, unlink_h, NULL);
	if (err)
		goto out;

	regwatch_start_all(s);
	regwatch_loaded(s);

	tmr_start(&s->tmr_purge, 0, purge_tmr, s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}


/* What sippushd takes out of dialog (405 and 501 list it) */
#define ALLOW "Allow: REGISTER, SUBSCRIBE, NOTIFY, OPTIONS\r\n"


bool sender_sip_request(struct sender *s, const struct sip_msg *msg)
{
	struct reqcheck_ans ans;

	if (!s || !msg)
		return false;

	if (sipconn_is_shut(msg))
		return true;   /* behind a lost framing: not a request */

	if (reqcheck_refuse(msg, ALLOW, &ans)) {
		sender_refusal_log(s, msg, ans.scode, ans.reason);
		(void)sip_replyf(s->sip, msg, ans.scode, ans.reason, "%H",
				 reqcheck_ans_print, &ans);
		if (ans.close)
			sipconn_shutdown(msg);
		return true;
	}

	if (registrar_request(s, msg))
		return true;

	if (regwatch_notify(s, msg))
		return true;

	if (notifier_request(s, msg))
		return true;

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_replyf(s->sip, msg, 200, "OK",
				 "Allow: REGISTER, SUBSCRIBE, NOTIFY, "
				 "OPTIONS\r\n"
				 "Allow-Events: ua-profile, refer\r\n"
				 "Accept: application/sdp\r\n"
				 "Supported: gruu, path\r\n"
				 "Content-Length: 0\r\n\r\n");
		return true;
	}

	/* in-dialog requests of sessions: libre's sipsess has them */
	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "BYE") ||
	    !pl_strcmp(&msg->met, "INVITE"))
		return false;

	(void)sip_replyf(s->sip, msg, 405, "Method Not Allowed",
			 "%sContent-Length: 0\r\n\r\n", ALLOW);
	return true;
}


/** Digest credentials of an AoR; the username is the AoR's user part */
int sender_user_set(struct sender *s, const char *aor, const char *password)
{
	char ha1[DIGEST_HA1_HEX + 1], user[128], key[256];
	struct uri u;
	struct pl pl;
	int err;

	if (!s || !aor || !password)
		return EINVAL;

	pl_set_str(&pl, aor);
	if (uri_decode(&u, &pl) || !pl_isset(&u.user) ||
	    aor_print(key, sizeof(key), &u))
		return EINVAL;

	(void)pl_strcpy(&u.user, user, sizeof(user));
	err = digest_ha1_hex(ha1, user, s->conf.realm, password);
	if (err)
		return err;

	/* stored under the spelling REGISTER and pushes look up */
	return store_user_set(s->st, key, s->conf.realm, ha1);
}


void sender_stats(const struct sender *s, struct sender_stats *stats)
{
	if (s && stats)
		*stats = s->stats;
}


int sender_purge(struct sender *s)
{
	uint32_t n = 0;
	int err;

	if (!s || !s->conf.retention_ms)
		return 0;

	err = store_purge(s->st, sender_now_ms(s) - s->conf.retention_ms, &n);
	if (!err && n)
		plog(SIPPUSH_LOG_INFO, MOD, "purged %u final pushes", n);
	return err;
}


/**
 * SIGTERM: send nothing new (queued deliveries stay in the store for the
 * next start); what is in flight still gets its answer, reg watches
 * are unsubscribed. Returns the number of requests in flight and of
 * unsubscribes unanswered: stop when it reaches 0.
 */
uint32_t sender_drain(struct sender *s)
{
	if (!s)
		return 0;
	s->draining = true;
	return s->stats.inflight + regwatch_stop_all(s);
}


/**
 * SIGHUP: take what can change while running from a new configuration
 * (its arrays and strings must outlive the next reload): trust, queue
 * and TTL bounds, retries, pacing, expiry bounds, retention, method
 * preferences, ICSI names of applications, the audit log's path. Addresses, identity, the store and
 * the fetch limits need a restart.
 */
int sender_reload(struct sender *s, const struct sender_conf *nc)
{
	struct sender_conf *c;
	bool plain;

	if (!s || !nc)
		return EINVAL;

	/* the whole of it: the caller's reload read the rows marked
	 * reloadable anew and kept the others as started (opts_reload()),
	 * so no field list here can fall behind the option tables */
	c = &s->conf;
	plain = str_cmp(c->plain_apps, nc->plain_apps) != 0;
	*c = *nc;

	/* terminals without the push tag may take what waits for them now */
	if (plain)
		(void)hash_apply(s->users, user_wake, NULL);

	/* a new path opens the new file; the same path reopens (rotation) */
	if (!c->audit_path && s->audit) {
		(void)fclose(s->audit);
		s->audit = NULL;
	}
	return audit_reopen(s);
}


/** SIGHUP: files that rotate are opened again */
int sender_reopen_logs(struct sender *s)
{
	return audit_reopen(s);
}
