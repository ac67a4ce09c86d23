/**
 * @file subscription.c  An oma-app subscription's dialog at sippushd: found
 *                       by terminal and application, kept in the store,
 *                       NOTIFYs one at a time (state before content), its
 *                       end (expiry, 481, timeout) and what falls back then
 *
 * The SUBSCRIBE requests that make and refresh them are notifier.c's.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/appid.h"
#include "core/subdlg.h"
#include "engine.h"
#include "cluster.h"
#include "delivery.h"
#include "attempt.h"
#include "clock.h"
#include "subscription.h"
#include "terminal.h"

#include <sippush/log.h>

#define MOD "notifier"


static void sub_destructor(void *arg)
{
	struct sub *sub = arg;

	tmr_cancel(&sub->tmr);
	if (sub->he.list)
		--sub->s->stats.subscriptions;
	hash_unlink(&sub->he);
	list_unlink(&sub->ule);
	mem_deref(sub->req);
	if (sub->t)
		sub->t->sub = NULL;
	mem_deref(sub->aor);
	mem_deref(sub->tkey);
	mem_deref(sub->app);
	mem_deref(sub->call_id);
	mem_deref(sub->ltag);
	mem_deref(sub->rtag);
	mem_deref(sub->local);
	mem_deref(sub->remote);
	mem_deref(sub->target);
	mem_deref(sub->route);
	mem_deref(sub->accept);
	mem_deref(sub->methods);
}


int sub_save(struct sub *sub)
{
	const struct sub_rec r = {
		.call_id = sub->call_id, .aor = sub->aor, .tkey = sub->tkey,
		.app = sub->app, .ltag = sub->ltag, .rtag = sub->rtag,
		.local = sub->local, .remote = sub->remote,
		.target = sub->target, .route = sub->route,
		.accept = sub->accept, .methods = sub->methods,
		.lseq = sub->lseq, .rseq = sub->rseq,
		.expires_at = sub->expires_at,
	};

	sub->lseq_saved = sub->lseq;
	return store_sub_put(sub->s->st, &r);
}


static bool callid_cmp(struct le *le, void *arg)
{
	const struct sub *sub = le->data;
	return !str_cmp(sub->call_id, arg);
}


struct sub *sub_by_callid(const struct sender *s, const char *cid)
{
	struct le *le = hash_lookup(s->subs, hash_joaat_str(cid), callid_cmp,
				    (void *)cid);
	return le ? le->data : NULL;
}


struct sub *sub_find(const struct user *u, const char *tkey,
		     const char *app)
{
	struct pl a;

	if (!u || !tkey)
		return NULL;

	if (app)
		pl_set_str(&a, app);
	for (struct le *le = u->subs.head; le; le = le->next) {
		struct sub *sub = le->data;
		struct pl b;

		pl_set_str(&b, sub->app);
		if (!str_cmp(sub->tkey, tkey) && (!app || appid_equal(&a, &b)))
			return sub;
	}
	return NULL;
}


/* One more subscription of this terminal (not replacing the one of the
 * same application)? (--max-subs) */
bool subs_room(const struct sender *s, const struct user *u,
		      const char *tkey, const char *app)
{
	uint32_t n = 0;

	if (!s->conf.max_subs || sub_find(u, tkey, app))
		return true;
	for (struct le *le = u->subs.head; le; le = le->next) {
		const struct sub *sub = le->data;

		if (!str_cmp(sub->tkey, tkey))
			++n;
	}
	return n < s->conf.max_subs;
}


static uint32_t left_s(const struct sub *sub)
{
	const int64_t left = sub->expires_at - sender_now_s(sub->s);

	return left > 0 ? (uint32_t)left : 0;
}


/*
 * Out of every index: no new delivery picks it. Content waiting in its
 * queue falls back (MESSAGE, or another subscription of the terminal).
 */
static bool detach(struct sub *sub, const char *why)
{
	struct target *t = sub->t;

	if (!sub->he.list && !sub->ule.list)
		return false;

	if (sub->he.list)
		--sub->s->stats.subscriptions;
	hash_unlink(&sub->he);
	list_unlink(&sub->ule);
	(void)store_sub_del(sub->s->st, sub->call_id);
	plog(SIPPUSH_LOG_INFO, MOD, "%s %s %s: subscription ended (%s)", sub->aor,
	     sub->tkey, sub->app, why);

	/* a terminal known only from its subscription goes with it */
	{
		struct terminal *term = term_find(sub->u, sub->tkey);

		if (term && !str_cmp(term->source, "subscribe") &&
		    !sub_find(sub->u, sub->tkey, NULL))
			term_remove(term);
	}

	if (!t)
		return true;

	sub->t = NULL;
	t->sub = NULL;
	for (struct le *le = t->q.head; le; ) {
		struct delivery *d = le->data;

		le = le->next;
		if (d == t->busy)
			continue;
		dlv_dequeue(d);
		d->t = NULL;
		(void)sub->s->up.fallback(d, why);
	}
	sub->s->up.target_soon(t);   /* an empty queue frees itself, later */
	return true;
}


/** The dialog is gone (481, timeout): forget it, content falls back */
void sub_gone(struct sub *sub, const char *why)
{
	if (detach(sub, why))
		mem_deref(sub);   /* the reference the indexes stood for */
}


/**
 * A cluster: the subscription is served by another node (its user's
 * owner). It leaves memory only, no NOTIFY said, the store keeps it; a
 * state NOTIFY in flight frees it when answered.
 */
void sub_forget(struct sub *sub)
{
	if (!sub->he.list && !sub->ule.list)
		return;
	if (sub->he.list)
		--sub->s->stats.subscriptions;
	hash_unlink(&sub->he);
	list_unlink(&sub->ule);
	tmr_cancel(&sub->tmr);
	if (sub->t) {
		sub->t->sub = NULL;
		sub->s->up.target_soon(sub->t);
		sub->t = NULL;
	}
	if (sub->busy)
		sub->ending = true;
	else
		mem_deref(sub);
}


static int contact_print(struct mbuf *mb, const struct sender *s,
			 enum sip_transp tp, const struct sa *src)
{
	struct sip_contact c;

	sip_contact_set(&c, s->conf.contact_user, src, tp);
	return mbuf_printf(mb, "%H", sip_contact_print, &c);
}


/* libre hands its send handler the response handler's argument: a state
 * NOTIFY's is the subscription, a content NOTIFY's the target (whose
 * sender this read through a struct sub before, right only while both
 * structs kept their sender at the same offset) */
static int contact_sub_h(enum sip_transp tp, const struct sa *src,
			 const struct sa *dst, struct mbuf *mb, void *arg)
{
	const struct sub *sub = arg;
	(void)dst;

	return contact_print(mb, sub->s, tp, src);
}


static int contact_target_h(enum sip_transp tp, const struct sa *src,
			    const struct sa *dst, struct mbuf *mb, void *arg)
{
	const struct target *t = arg;
	(void)dst;

	return contact_print(mb, t->s, tp, src);
}


static void subdlg_of(struct subdlg *dl, const struct sub *sub)
{
	*dl = (struct subdlg){
		.call_id = sub->call_id, .ltag = sub->ltag,
		.rtag = sub->rtag, .local = sub->local,
		.remote = sub->remote, .route = sub->route,
		.cseq = sub->lseq,
	};
}


/*
 * Where the NOTIFY goes: the remote target through the route set, or the
 * core (--outbound). A GRUU we minted ourselves (no core in front) is
 * retargeted to the registered contact, as the core's proxy would.
 */
static int next_hop(struct sub *sub, const char **ruri, struct uri *hop,
		    struct pl *buf)
{
	const struct sender *s = sub->s;
	const struct terminal *t;
	struct pl gr, tpl;
	struct uri tu;

	*ruri = sub->target;
	if (s->conf.outbound && !sub->route) {
		pl_set_str(buf, s->conf.outbound);
		return uri_decode(hop, buf) ? EINVAL : 0;
	}

	pl_set_str(&tpl, sub->target);
	t = term_find(sub->u, sub->tkey);
	if (!sub->route && !s->conf.outbound && t && t->contact &&
	    !uri_decode(&tu, &tpl) &&
	    !msg_param_decode(&tu.params, "gr", &gr))
		*ruri = t->contact;

	return subdlg_first_hop(hop, buf, sub->route, *ruri);
}


static int mb_put(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


static int send_notify(struct sub *sub, struct sip_request **reqp,
		       const struct notify_spec *nsp, const uint8_t *body,
		       sip_send_h *sendh, sip_resp_h *resph, void *arg)
{
	struct notify_spec ns = *nsp;
	const size_t blen = ns.ctype ? ns.body_len : 0;
	struct re_printf pf;
	struct subdlg dl;
	const char *ruri;
	struct mbuf *mb;
	struct uri hop;
	struct pl buf;
	int err;

	err = next_hop(sub, &ruri, &hop, &buf);
	if (err)
		return err;

	++sub->lseq;
	subdlg_of(&dl, sub);
	ns.dlg = &dl;
	/* the CSeq goes on after a restart: a load starts 1000 above the
	 * saved one (notifier.c), so a save every CSEQ_SAVE_EVERY, not a
	 * row rewritten for every NOTIFY, keeps it growing */
	if (sub->he.list && sub->lseq - sub->lseq_saved >= CSEQ_SAVE_EVERY)
		(void)sub_save(sub);

	/* what sip_requestf() would write, without parsing a format */
	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;
	pf = (struct re_printf){mb_put, mb};
	err  = mbuf_write_str(mb, "Max-Forwards: 70\r\n");
	err |= notify_hdrs_print(&pf, &ns);
	if (blen)
		err |= body ? mbuf_write_mem(mb, body, blen) : EINVAL;
	if (!err) {
		mb->pos = 0;
		err = sip_request(reqp, sub->s->sip, true, "NOTIFY", -1, ruri,
				  -1, &hop, mb, (size_t)arg, sendh, resph,
				  arg);
	}
	mem_deref(mb);
	return err;
}


static void state_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct sub *sub = arg;

	if (!err && msg->scode < 200)
		return;

	sub->busy = false;
	if (sub->ending) {
		mem_deref(sub);
		return;
	}

	/* RFC 6665 §4.2.2: 481 or a timeout ends the subscription */
	if (err || msg->scode == 481 || msg->scode == 408) {
		char why[64];

		re_snprintf(why, sizeof(why), "state NOTIFY: %s",
			    err ? "timeout" : "481");
		sub_gone(sub, why);
		return;
	}

	sub_kick(sub);
}


/** Send what is due on the dialog: a state NOTIFY first, then content */
void sub_kick(struct sub *sub)
{
	struct notify_spec ns;
	int err;

	if (sub->busy || (sub->t && sub->t->busy))
		return;

	if (!sub->state_due) {
		if (sub->t)
			sub->s->up.target_kick(sub->t);
		return;
	}

	/* a cluster: sent by the owner while its lease covers the moment;
	 * else it stays due (the owner of the next moment sends one). A
	 * dialog's last NOTIFY (a one-time fetch, an end) goes: it ends it */
	if (!sub->ending && !cluster_may_send(sub->s, sub->aor))
		return;

	sub->state_due = false;
	memset(&ns, 0, sizeof(ns));
	ns.event = "ua-profile";
	ns.pai = sub->s->conf.identity;
	if (sub->ending) {
		ns.state = "terminated";
		ns.reason = left_s(sub) ? NULL : "timeout";
	}
	else {
		ns.state = "active";
		ns.expires = left_s(sub);
	}

	err = send_notify(sub, &sub->req, &ns, NULL, contact_sub_h,
			  state_resp_h, sub);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send NOTIFY (%m)",
		     sub->call_id, err);
		if (sub->ending)
			mem_deref(sub);
		else
			sub_gone(sub, "cannot send NOTIFY");
		return;
	}
	sub->busy = true;
}


/* End by us (expiry) or by the subscriber (Expires: 0): final NOTIFY */
void sub_end(struct sub *sub, const char *why)
{
	if (!detach(sub, why))
		return;
	sub->ending = true;
	sub->state_due = true;
	tmr_cancel(&sub->tmr);
	sub_kick(sub);   /* frees it once the final NOTIFY is answered */
}


/*
 * A one-time fetch (Expires: 0 on a new SUBSCRIBE, RFC 6665 §4.4.3): a
 * dialog in no index, its one NOTIFY the state and terminated. Takes the
 * caller's reference: freed once that NOTIFY is answered.
 */
void sub_fetch(struct sub *sub)
{
	sub->expires_at = sender_now_s(sub->s);
	sub->ending = true;
	sub->state_due = true;
	sub_kick(sub);
}


static void expire_tmr(void *arg)
{
	struct sub *sub = arg;

	sub->expires_at = sender_now_s(sub->s);
	sub_end(sub, "expired");
}


void sub_arm(struct sub *sub)
{
	tmr_start(&sub->tmr, (uint64_t)left_s(sub) * 1000, expire_tmr, sub);
}


/* Content NOTIFY of one delivery, in the dialog (arg: its target) */
static int sub_notify_send(struct sub *sub, struct delivery *d,
		    sip_resp_h *resph, struct target *arg)
{
	char *ctype = NULL, *entity = NULL;
	const uint8_t *body = NULL;
	struct notify_spec ns;
	bool indirect = false;
	int err;

	err = dlv_content(d, &ctype, &entity, &body, &ns.body_len,
			  &indirect);
	if (err)
		goto out;

	ns.event = "ua-profile";
	ns.state = "active";
	ns.reason = NULL;
	ns.expires = left_s(sub);
	ns.pai = push_pai(d->p);
	ns.content_id = d->call_id;   /* the push's identity at the terminal */
	ns.ctype = ctype ? ctype : d->p->ctype;
	d->indirect = indirect;

	err = send_notify(sub, &d->t->req, &ns, body, contact_target_h, resph,
			  arg);
 out:
	mem_deref(ctype);
	mem_deref(entity);
	return err;
}


/** A new subscription, in no index yet */
int sub_alloc(struct sub **subp)
{
	struct sub *sub = mem_zalloc(sizeof(**subp), sub_destructor);

	if (!sub)
		return ENOMEM;
	tmr_init(&sub->tmr);
	*subp = sub;
	return 0;
}


/** The NOTIFY method's start: content in its target's subscription */
int sub_notify_start(struct target *t, struct delivery *d)
{
	/* ENOENT: the dialog ended under it */
	return t->sub ? sub_notify_send(t->sub, d, dlv_sip_resp_h, t) :
		ENOENT;
}


/* RFC 6665 §4.2.2: a 481, a 408 or no answer ends the subscription;
 * another refusal (405, 413...) leaves it, only this content goes on
 * another way */
void sub_notify_ended(struct target *t, const struct attempt *a,
		      const char *why)
{
	if (t->sub && (a->ev == OE_TIMEOUT || a->scode == 481 ||
		       a->scode == 408))
		sub_gone(t->sub, why);
}
