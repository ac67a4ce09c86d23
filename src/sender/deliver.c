/**
 * @file deliver.c  Page-mode delivery: one queue per destination, at most one
 *                  MESSAGE outstanding on each (RFC 3428), retries with
 *                  backoff while the TTL lasts, optional outbound pacing
 *
 * Every attempt of one delivery reuses its stored Call-ID and From tag with
 * a higher CSeq, so the terminal can recognise a re-sent push.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <openssl/sha.h>
#include <re.h>
#include "core/pagemsg.h"
#include "core/param.h"
#include "core/featuretag.h"
#include "core/extbody.h"
#include "engine.h"
#include "cluster.h"
#include "delivery.h"
#include "clock.h"
#include "deliver.h"
#include "pushevents.h"
#include "methods.h"
#include "subscription.h"
#include "terminal.h"

#include <sippush/log.h>

#define MOD "deliver"


static void kick_tmr(void *arg);


static void target_destructor(void *arg)
{
	struct target *t = arg;

	tmr_cancel(&t->tmr);
	tmr_cancel(&t->tmr_stall);
	/* a target goes before its deliveries only at the sender's end:
	 * they must not reach into it from their destructors */
	while (t->q.head) {
		struct delivery *d = t->q.head->data;

		dlv_dequeue(d);
		d->t = NULL;
	}
	if (t->sub)
		t->sub->t = NULL;
	hash_unlink(&t->he);
	list_unlink(&t->ple);
	mem_deref(t->req);
	mem_deref(t->key);
}


static bool key_cmp(struct le *le, void *arg)
{
	const struct target *t = le->data;
	return !str_cmp(t->key, arg);
}


/*
 * Delivery's backlog counts what waits for the loop: not a queue waiting
 * out a retry delay, nor one whose request has had no answer for STALL_MS
 * (a terminal that does not answer holds its queue for a transaction
 * timeout, 32 s): such terminals must not stop pushes to the others.
 */
enum { STALL_MS = 2000 };


/* Change the two flags; the backlog follows what they say of the queue */
static void set_flags(struct target *t, bool waiting, bool stalled)
{
	const bool was = target_counted(t);

	t->waiting = waiting;
	t->stalled = stalled;
	if (was && !target_counted(t))
		t->s->stats.backlog -= t->nq;
	else if (!was && target_counted(t))
		t->s->stats.backlog += t->nq;
}


static void set_waiting(struct target *t, bool waiting)
{
	set_flags(t, waiting, t->stalled);
}


static void stall_tmr(void *arg)
{
	struct target *t = arg;

	set_flags(t, t->waiting, true);
}


/* Its request was answered (or ended): its queue is backlog again */
static void answered(struct target *t)
{
	tmr_cancel(&t->tmr_stall);
	set_flags(t, t->waiting, false);
}


static void later(struct target *t, uint64_t ms)
{
	set_waiting(t, ms > 0);
	tmr_start(&t->tmr, ms, kick_tmr, t);
}


/* The one way out of a queue: not outstanding, not queued, no target */
static void leave(struct target *t, struct delivery *d)
{
	if (t && t->busy == d)
		t->busy = NULL;
	dlv_dequeue(d);
	d->t = NULL;
}


static int target_get(struct target **tp, struct sender *s, const char *key)
{
	struct target *t;
	struct le *le;

	le = hash_lookup(s->targets, hash_joaat_str(key), key_cmp,
			 (void *)key);
	if (le) {
		*tp = le->data;
		return 0;
	}

	t = mem_zalloc(sizeof(*t), target_destructor);
	if (!t || str_dup(&t->key, key)) {
		mem_deref(t);
		return ENOMEM;
	}
	t->s = s;
	tmr_init(&t->tmr_stall);
	hash_append(s->targets, hash_joaat_str(key), &t->he, t);
	*tp = t;
	return 0;
}


/** Put a delivery at its place in its destination's queue */
int deliver_enqueue(struct delivery *d)
{
	struct sender *s = d->p->s;
	struct sub *sub = NULL;
	struct target *t;
	struct le *le;
	char key[600];
	int err;

	if (d->kind == PLAN_NOTIFY) {
		sub = sub_find(user_find(s, d->p->aor), d->tkey, d->p->app);
		if (!sub)
			return s->up.fallback(d, "no active subscription");
		/* a queue per dialog: its NOTIFYs go one at a time */
		re_snprintf(key, sizeof(key), "sub\n%s", sub->call_id);
	}
	else {
		re_snprintf(key, sizeof(key), "%s\n%s", d->ruri,
			    d->route ? d->route : "");
	}

	err = target_get(&t, s, key);
	if (err)
		return err;
	if (sub) {
		t->sub = sub;
		sub->t = t;
	}

	d->t = t;

	/* higher priority first; equal priority in acceptance order */
	for (le = t->q.tail; le; le = le->prev) {
		const struct delivery *o = le->data;

		if (o == t->busy || o->p->priority >= d->p->priority ||
		    (o->attempts && le == t->q.head))
			break;
	}
	if (le)
		list_insert_after(&t->q, le, &d->qle, d);
	else
		list_prepend(&t->q, &d->qle, d);
	++t->nq;
	if (target_counted(t))
		++s->stats.backlog;

	/* asynchronous, so no caller sees its push finish under its feet */
	if (!t->busy && !tmr_isrunning(&t->tmr))
		later(t, 0);

	return 0;
}


static void finish(struct delivery *d, enum delivery_state ds, uint16_t pap)
{
	leave(d->t, d);
	list_unlink(&d->ale);
	tmr_cancel(&d->tmr);
	d->awaiting_sub = false;
	d->state = ds;
	d->pap = pap;
	(void)dlv_save(d);
	d->p->s->up.final(d);   /* may free d and its push */
}


/** The TTL ran out on a delivery a relay accepted (202) */
void deliver_ttl_end(struct delivery *d)
{
	if (d->relayed && d->state == DS_PENDING)
		finish(d, DS_DELIVERED, 1001);
	else if (d->awaiting_sub && d->state == DS_PENDING)
		finish(d, DS_TIMEOUT, 4000);   /* it never subscribed */
}


void deliver_finish(struct delivery *d, enum delivery_state ds, uint16_t pap)
{
	finish(d, ds, pap);
}


void deliver_cancel(struct delivery *d)
{
	struct target *t = d->t;

	if (t && t->busy == d) {
		const struct dlv_method *m = dlv_method(d->kind);

		d->cancelled = true;   /* in flight: its answer decides */
		if (m->cancel)
			(void)m->cancel(d);   /* e.g. CANCEL if unanswered */
		return;
	}

	finish(d, DS_CANCELLED, 1000);
	if (t)
		deliver_kick(t);
}


static bool take_token(struct sender *s)
{
	uint64_t now = tmr_jiffies();

	if (!s->conf.pace_rate)
		return true;

	s->tokens += (double)(now - s->pace_last) * s->conf.pace_rate / 1000.;
	if (s->tokens > s->conf.pace_burst)
		s->tokens = s->conf.pace_burst;
	s->pace_last = now;

	if (s->tokens < 1.)
		return false;

	s->tokens -= 1.;
	return true;
}


static void pace_tmr(void *arg)
{
	struct sender *s = arg;

	while (s->paced.head) {
		struct target *t = s->paced.head->data;

		list_unlink(&t->ple);
		t->paced = false;
		deliver_kick(t);
		if (t->paced)   /* out of tokens again */
			break;
	}
}


static bool ttl_left(const struct push *p, uint64_t after_ms)
{
	return sender_now_ms(p->s) + (int64_t)after_ms < p->expires_ms;
}


/* Apply one attempt's outcome; true when the delivery is still queued */
/* Does a relay's 202 deliver this push? Its own say, else the daemon's */
static bool relay_delivers(const struct push *p)
{
	if (p->relay == RELAY_DEFAULT)
		return p->s->conf.relay_is_delivered;
	return p->relay == RELAY_DELIVERED;
}


/* ra_ms: the peer's Retry-After; a retry never goes before it */
static void apply(struct target *t, struct delivery *d,
		  enum outcome_event ev, uint16_t scode, const char *why,
		  uint64_t ra_ms)
{
	struct sender *s = t->s;
	const struct outcome_policy pol = {
		.relay_is_delivered = relay_delivers(d->p)};
	/* d->attempts counts this one: the first retry waits the base */
	uint64_t backoff = outcome_backoff(d->attempts ? d->attempts - 1 : 0,
					   s->conf.retry_base_ms,
					   s->conf.retry_max_ms);
	struct outcome o;

	if (ra_ms > backoff)
		backoff = ra_ms;

	outcome_map(&o, ev, scode, ttl_left(d->p, backoff), &pol);
	d->scode = scode;
	d->last_error = mem_deref(d->last_error);
	if (why)
		(void)str_dup(&d->last_error, why);

	if (o.state == DS_PENDING && d->cancelled)
		o = (struct outcome){.state = DS_CANCELLED, .pap_code = 1000};
	event_attempt(d, scode, why, o.state == DS_PENDING && o.retry ?
		      backoff : 0);

	if (o.state != DS_PENDING) {
		finish(d, o.state, o.pap_code);
		deliver_kick(t);
		return;
	}

	if (!o.retry) {
		/* 202: a relay took it; no final word will come. It leaves
		 * the queue and ends with the TTL (deliver_ttl_end). */
		d->relayed = true;
		d->pap = o.pap_code;
		leave(t, d);
		(void)dlv_save(d);
		deliver_kick(t);
		return;
	}

	/* retry at the head of the queue: order per target holds */
	t->busy = NULL;
	(void)dlv_save(d);
	later(t, backoff);
}


/*
 * One attempt's answer, as its method reports it (once). The method says
 * what happened; what follows is decided here and by the planner: a retry
 * or a final state (apply), the next step out of the queue (parked), or
 * another method (method_fallback() in the core, dlv_fallback() picks it).
 */
static void report_h(struct target *t, struct delivery *d,
		     const struct attempt *a)
{
	struct sender *s = t->s;
	const struct dlv_method *m;
	char why[64];

	--s->stats.inflight;
	answered(t);
	if (!d || t->busy != d)
		return;

	if (a->ev == OE_CANCELLED) {
		finish(d, DS_CANCELLED, 1000);
		deliver_kick(t);
		return;
	}

	if (a->parked) {
		leave(t, d);
		s->up.parked(d);
		deliver_kick(t);
		return;
	}

	/* the core does not know (or will not take) the GRUU: the public
	 * identity, with the terminal as a caller preference (the answer
	 * first: decoding the Request-URI for every 200 cost a push 3 %) */
	if (d->kind != PLAN_NOTIFY && gruu_fallback(a->ev, a->scode) &&
	    dlv_to_gruu(d)) {
		re_snprintf(why, sizeof(why), "GRUU %u", a->scode);
		event_attempt(d, a->scode, why, 0);
		leave(t, d);
		(void)s->up.retarget(d, why);
		deliver_kick(t);
		return;
	}

	if (method_fallback(d->kind, a->ev, a->scode,
			    !str_casecmp(d->p->method,
					 plan_kind_name(d->kind)))) {
		m = dlv_method(d->kind);
		if (a->ev == OE_SIP)
			re_snprintf(why, sizeof(why), "%s %u", m->sip,
				    a->scode);
		else
			re_snprintf(why, sizeof(why), "%s timed out", m->sip);
		event_attempt(d, a->ev == OE_SIP ? a->scode : 0, why, 0);
		d->scode = a->ev == OE_SIP ? a->scode : 0;
		leave(t, d);
		if (m->ended)
			m->ended(t, a, why);
		(void)s->up.fallback(d, why);
		deliver_kick(t);
		return;
	}

	apply(t, d, a->ev, a->scode, a->ev == OE_SIP && a->scode < 300 ?
	      NULL : a->why, a->retry_after_ms);
}


/** Send the head of a queue if nothing is outstanding on it */
void deliver_kick(struct target *t)
{
	struct sender *s = t->s;
	const struct dlv_method *m;
	struct delivery *d;
	struct outcome o;
	int err;

	/* draining for a stop: what is queued stays for the next start */
	if (tmr_isrunning(&t->tmr) || s->draining)
		return;

	/* a cluster: a push another node took over ends here, unsaid (its
	 * writes are fenced); only the owner of the user's shard sends, and
	 * only while its last renewal covers the moment */
	while (t->q.head && !t->busy &&
	       ((struct delivery *)t->q.head->data)->p->orphan)
		finish(t->q.head->data, DS_CANCELLED, 1000);
	if (t->q.head && !t->busy && !cluster_may_send(s, ((struct delivery *)
			t->q.head->data)->p->aor)) {
		later(t, 250);
		return;
	}

	/* a subscription's state NOTIFY goes before its content */
	if (t->sub && (t->sub->busy || t->sub->state_due)) {
		if (!t->busy)
			sub_kick(t->sub);
		return;
	}

	while (!t->busy && !t->paced && t->q.head) {
		d = t->q.head->data;

		if (!ttl_left(d->p, 0)) {
			const struct outcome_policy pol = {
				.relay_is_delivered = relay_delivers(d->p)};

			if (!d->attempts)
				outcome_map(&o, OE_TTL_PASSED, 0, false, NULL);
			else
				outcome_map(&o, d->scode ? OE_SIP : OE_TIMEOUT,
					    d->scode, false, &pol);
			finish(d, o.state, o.pap_code);
			continue;
		}

		if (!take_token(s)) {
			t->paced = true;
			list_append(&s->paced, &t->ple, t);
			if (!tmr_isrunning(&s->tmr_pace))
				tmr_start(&s->tmr_pace, 1000 /
					  s->conf.pace_rate + 1, pace_tmr, s);
			return;
		}

		++d->attempts;
		++d->cseq;
		t->busy = d;
		t->reph = report_h;
		m = dlv_method(d->kind);
		err = m->start(t, d);
		if (err && m->fallback_on_error) {
			leave(t, d);
			(void)s->up.fallback(d, "subscription gone");
			continue;
		}
		if (err) {
			char why[64];

			re_snprintf(why, sizeof(why), "cannot send: %m", err);
			t->busy = NULL;
			apply(t, d, OE_TIMEOUT, 0, why, 0);
			return;
		}
		++s->stats.sent;
		++s->stats.inflight;
		tmr_start(&t->tmr_stall, STALL_MS, stall_tmr, t);
		/* attempts and CSeq reach the store with the outcome; after a
		 * crash push_load() skips a CSeq, so a re-send is still higher */
		return;
	}

	if (!t->busy && !t->q.head && !tmr_isrunning(&t->tmr))
		mem_deref(t);
}


static void kick_tmr(void *arg)
{
	set_waiting(arg, false);
	deliver_kick(arg);
}


struct moved {
	const char *aor;
	const char *tkey;
};


static bool moved_h(struct le *le, void *arg)
{
	struct target *t = le->data;
	const struct moved *m = arg;
	const struct delivery *d = t->q.head ? t->q.head->data : NULL;

	if (!t->busy && d && tmr_isrunning(&t->tmr) &&
	    !str_cmp(d->tkey, m->tkey) && !str_cmp(d->p->aor, m->aor))
		later(t, 0);
	return false;
}


/**
 * A terminal registered again by another route (a new RFC 5626 flow,
 * another Path): its deliveries waiting out a retry delay go now, each
 * attempt taking the new route (dlv_route_refresh).
 */
void deliver_terminal_moved(struct sender *s, const char *aor,
			    const char *tkey)
{
	struct moved m = {aor, tkey};

	(void)hash_apply(s->targets, moved_h, &m);
}


/** Look at the queue again from the loop (never frees t under a caller) */
void deliver_soon(struct target *t)
{
	if (!tmr_isrunning(&t->tmr))
		later(t, 0);
}


/** The queue's ways up (struct hooks) */
void deliver_init(struct sender *s)
{
	s->up.target_kick = deliver_kick;
	s->up.target_soon = deliver_soon;
	s->up.terminal_moved = deliver_terminal_moved;
}
