/**
 * @file notifier.c  sippushd as the notifier of ua-profile;profile-type=oma-app
 *                   subscriptions (TS §7.2, RFC 6665, RFC 6080)
 *
 * Each subscription is a dialog kept as plain strings (subdlg.h) in memory
 * and in the store, so it outlives a restart. NOTIFYs of one dialog go one
 * at a time: state NOTIFYs (enrollment confirmation, refresh, end) before
 * content NOTIFYs, which wait in the subscription's delivery queue
 * (deliver.c) and fall back to MESSAGE when the dialog is gone.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/appid.h"
#include "core/featuretag.h"
#include "core/param.h"
#include "core/referto.h"
#include "core/subdlg.h"
#include "engine.h"
#include "auth.h"
#include "caps.h"
#include "clock.h"
#include "notifier.h"
#include "cluster.h"
#include "core/lease.h"
#include "push.h"
#include "refer.h"
#include "refuse.h"
#include "subscription.h"
#include "terminal.h"
#include "trust.h"

#include <sippush/log.h>

#define MOD "notifier"

enum { SUB_DEFAULT_EXPIRES = 86400 };


/* --- SUBSCRIBE ------------------------------------------------------ */

struct sub_ctx {
	struct sender *s;
	const struct sip_msg *msg;
	struct sub *sub;
	uint32_t expires;
	bool unsubscribe;
	bool fetch;              /**< sub: a one-time fetch's dialog, ours */
};


static void ctx_destructor(void *arg)
{
	struct sub_ctx *c = arg;

	mem_deref((void *)c->msg);
	mem_deref(c->sub);
}


/* RFC 3261 §12.1.1: the 2xx that makes the dialog carries the request's
 * Record-Route headers, in order, so that the subscriber's route set has
 * the proxies too (its refreshes and unSUBSCRIBE go through the core) */
static int record_route_print(struct re_printf *pf,
			      const struct sip_msg *msg)
{
	int err = 0;

	for (struct le *le = list_head(&msg->hdrl); le && !err;
	     le = le->next) {
		const struct sip_hdr *hdr = le->data;

		if (hdr->id == SIP_HDR_RECORD_ROUTE)
			err = re_hprintf(pf, "Record-Route: %r\r\n",
					 &hdr->val);
	}
	return err;
}


static int reply_200(struct sender *s, const struct sip_msg *msg,
		     uint32_t expires)
{
	struct sip_contact c;

	sip_contact_set(&c, s->conf.contact_user, &msg->dst, msg->tp);
	return sip_replyf(s->sip, msg, 200, "OK", "%H%HExpires: %u\r\n"
			  "Content-Length: 0\r\n\r\n", record_route_print,
			  msg, sip_contact_print, &c, expires);
}


static void committed_h(int err, void *arg)
{
	struct sub_ctx *c = arg;
	struct sub *sub = c->sub;

	if (err) {
		(void)sip_reply(c->s->sip, c->msg, 500, "Store failed");
		if (sub && c->fetch)
			mem_deref(sub);
		else if (sub && !c->unsubscribe)
			sub_gone(sub, "store failed");
		mem_deref(c);
		return;
	}

	(void)reply_200(c->s, c->msg, c->expires);

	/* a cluster: the user's owner sends the NOTIFYs (the news went with
	 * this commit); here the subscription leaves memory */
	if (sub && !c->fetch && !cluster_owns(c->s, sub->aor)) {
		sub_forget(sub);
		mem_deref(c);
		return;
	}

	/* RFC 6665: a NOTIFY follows every accepted SUBSCRIBE */
	if (sub && c->fetch) {
		c->sub = NULL;
		sub_fetch(sub);
	}
	else if (sub && c->unsubscribe) {
		sub_end(sub, "unsubscribed");
	}
	else if (sub && sub->he.list) {
		sub->state_due = true;
		sub_kick(sub);
		push_sub_ready(sub);
	}
	mem_deref(c);
}


/* fetch: sub is a one-time fetch's, its reference passed on here */
static int commit_then_reply(struct sender *s, const struct sip_msg *msg,
			     struct sub *sub, uint32_t expires, bool unsub,
			     bool fetch)
{
	struct sub_ctx *c = mem_zalloc(sizeof(*c), ctx_destructor);
	int err;

	if (!c)
		return ENOMEM;

	c->s = s;
	c->msg = mem_ref((void *)msg);
	c->sub = fetch ? sub : mem_ref(sub);
	c->expires = expires;
	c->unsubscribe = unsub;
	c->fetch = fetch;
	err = store_sync(s->st, committed_h, c);
	if (err) {
		if (fetch)
			c->sub = NULL;   /* the caller's again */
		mem_deref(c);
	}
	return err;
}


/*
 * The application: event-app-id, else the ICSI, else the ARI (TS §7.2);
 * a name --icsi maps is its ARI, so that a subscription made by ICSI
 * meets the pushes addressed by ARI
 */
static int app_of(char *buf, size_t sz, const struct sender *s,
		  const struct sip_msg *msg, const struct uaprof_event *ev,
		  char *methods, size_t msz)
{
	const char *mapped;
	const struct sip_hdr *ac = sip_msg_hdr(msg, SIP_HDR_ACCEPT_CONTACT);
	const struct sip_hdr *ps;
	struct ac_pred predv[AC_MAX];
	const struct ftag *icsi = NULL, *ari = NULL;
	struct pl rest, item, norm;
	char icsibuf[128];
	size_t n = 0;

	methods[0] = '\0';
	if (ac && ac_decode(predv, ARRAY_SIZE(predv), &n, &ac->val))
		return EBADMSG;
	for (size_t i = 0; i < n; i++) {
		const struct ftag *m = ftag_find(&predv[i].tags, "methods");
		const struct ftag *a = ftag_find(&predv[i].tags,
						 "+g.oma.pusheventapp");

		if (a && !ari) {
			ari = a;
			if (m)
				re_snprintf(methods, msz, "%r", &m->value);
		}
		if (!icsi)
			icsi = ftag_find(&predv[i].tags, "+g.3gpp.icsi-ref");
	}

	if (pl_isset(&ev->app_ids)) {
		/* one application per dialog: the first of a list */
		rest = ev->app_ids;
		if (list_next(&rest, ',', &item))
			return EBADMSG;
		pl_trim_lws(&item);
	}
	else if (icsi) {
		/* 24.229 escapes the URN's colons inside the feature tag */
		rest = icsi->value;
		if (ftag_value_next(&rest, &item) ||
		    pct_decode(icsibuf, sizeof(icsibuf), &item))
			return EBADMSG;
		pl_set_str(&item, icsibuf);
	}
	else if ((ps = sip_msg_xhdr(msg, "P-Preferred-Service"))) {
		item = ps->val;
		pl_trim_lws(&item);
	}
	else if (ari) {
		rest = ari->value;
		if (ftag_value_next(&rest, &item))
			return EBADMSG;
	}
	else {
		return ENOENT;
	}

	if (appid_normalize(&norm, &item) || !norm.l)
		return EBADMSG;
	mapped = appid_alias_ari(s->conf.icsiv, s->conf.icsin, &norm);
	if (mapped)
		return re_snprintf(buf, sz, "%s", mapped) < 0 ? EOVERFLOW : 0;
	return pl_strcpy(&norm, buf, sz);
}


/* The terminal behind the SUBSCRIBE's Contact: gr= (a GRUU), the
 * +sip.instance parameter, else the Contact URI itself */
static int tkey_of(char *buf, size_t sz, char *target, size_t tsz,
		   const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTACT);
	struct contact_feat cf;
	struct pl gr;

	if (!h || sip_msg_hdr_count(msg, SIP_HDR_CONTACT) != 1)
		return ENOENT;
	if (contact_feat_decode(&cf, &h->val))
		return EBADMSG;
	if (pl_strcpy(&cf.uri, target, tsz))
		return EOVERFLOW;

	if (!msg_param_decode(&cf.uri, "gr", &gr) && gr.l) {
		return re_snprintf(buf, sz, "%r", &gr) < 0 ? EOVERFLOW : 0;
	}
	if (pl_isset(&cf.instance))
		return re_snprintf(buf, sz, "%r", &cf.instance) < 0 ?
			EOVERFLOW : 0;
	return re_snprintf(buf, sz, "%r", &cf.uri) < 0 ? EOVERFLOW : 0;
}


/* The values of every header hid, joined by commas, into buf */
struct join {
	char *buf;
	size_t sz, len;
	bool full;
};


static bool join_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		   void *arg)
{
	struct join *j = arg;
	int n;
	(void)msg;

	n = re_snprintf(j->buf + j->len, j->sz - j->len, "%s%r",
			j->len ? "," : "", &hdr->val);
	if (n < 0 || (size_t)n >= j->sz - j->len) {
		j->buf[j->len] = '\0';
		j->full = true;
		return true;
	}
	j->len += (size_t)n;
	return false;
}


static int hdr_join(char *buf, size_t sz, const struct sip_msg *msg,
		    enum sip_hdrid hid)
{
	struct join j = {buf, sz, 0, false};

	buf[0] = '\0';
	(void)sip_msg_hdr_apply(msg, true, hid, join_h, &j);
	return j.full ? EOVERFLOW : 0;
}


/*
 * Who asks: the asserted identity from a trusted peer (TS §7.2.2.1 #2:
 * none is a 403, its From proves nothing), else digest. ENOENT: trusted,
 * no P-Asserted-Identity.
 */
static int identity(char *aor, size_t sz, struct sender *s,
		    const struct sip_msg *msg)
{
	const struct sip_hdr *pai;
	struct sip_addr a;

	if (sender_trusted(s, msg)) {
		pai = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY);
		if (!pai)
			return ENOENT;
		if (addr_decode(&a, &pai->val))
			return EBADMSG;
		return aor_print(aor, sz, &a.uri);
	}

	if (aor_print(aor, sz, &msg->from.uri))
		return EBADMSG;
	return auth_digest(s, msg, aor, &msg->from.uri.user) ? 0 : EPERM;
}


/* The lifetime asked, within --min/max-sub-expires; 423 when too brief */
static int sub_expires(uint32_t *exp, struct sender *s,
		       const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	uint32_t v;

	if (!h || pl_u32_strict(&h->val, &v))
		v = SUB_DEFAULT_EXPIRES;

	if (v && v < s->conf.min_sub_expires) {
		(void)sip_replyf(s->sip, msg, 423, "Interval Too Brief",
				 "Min-Expires: %u\r\nContent-Length: 0\r\n\r\n",
				 s->conf.min_sub_expires);
		return EINVAL;
	}
	*exp = v > s->conf.max_sub_expires ? s->conf.max_sub_expires : v;
	return 0;
}


static int sub_new(struct sub **subp, struct sender *s, struct user *u,
		   const struct sip_msg *msg, const char *tkey,
		   const char *target, const char *app, const char *methods)
{
	char *route = mem_zalloc(1024, NULL), accept[512];
	struct sub *sub = NULL;
	char ltag[17];
	int err;

	err = sub_alloc(&sub);
	if (err || !route) {
		mem_deref(route);
		mem_deref(sub);
		return ENOMEM;
	}

	/* the route set must be whole; a long Accept only loses its tail */
	err = hdr_join(route, 1024, msg, SIP_HDR_RECORD_ROUTE);
	(void)hdr_join(accept, sizeof(accept), msg, SIP_HDR_ACCEPT);
	if (err)
		goto out;

	re_snprintf(ltag, sizeof(ltag), "%016llx",
		    (unsigned long long)msg->tag);
	sub->s = s;
	sub->u = u;
	sub->rseq = msg->cseq.num;
	sub->lseq = rand_u16();
	tmr_init(&sub->tmr);
	err  = str_dup(&sub->aor, u->aor);
	err |= str_dup(&sub->tkey, tkey);
	err |= str_dup(&sub->app, app);
	err |= pl_strdup(&sub->call_id, &msg->callid);
	err |= str_dup(&sub->ltag, ltag);
	err |= pl_strdup(&sub->rtag, &msg->from.tag);
	err |= re_sdprintf(&sub->local, "<%r>", &msg->to.auri);
	err |= re_sdprintf(&sub->remote, "<%r>", &msg->from.auri);
	err |= str_dup(&sub->target, target);
	if (route[0])
		err |= str_dup(&sub->route, route);
	if (accept[0])
		err |= str_dup(&sub->accept, accept);
	if (methods[0])
		err |= str_dup(&sub->methods, methods);
	if (err)
		err = ENOMEM;

 out:
	mem_deref(route);
	if (err)
		mem_deref(sub);
	else
		*subp = sub;
	return err;
}


/*
 * A terminal that subscribes without the sender having seen its
 * registration (no third-party REGISTER from the core) is known from the
 * subscription: reachable through its dialog, for as long as it lasts.
 */
static int term_from_sub(const struct sub *sub)
{
	struct terminal *t = term_find(sub->u, sub->tkey);
	struct term_rec r;

	if (t && str_cmp(t->source, "subscribe"))
		return 0;

	r = (struct term_rec){
		.aor = sub->aor, .tkey = sub->tkey,
		.instance = !strncmp(sub->tkey, "urn:", 4) ? sub->tkey : NULL,
		.contact = sub->target, .apps = sub->app,
		.methods = sub->methods, .source = "subscribe",
		.expires_at = sub->expires_at, .push = true,
	};
	return term_upsert(sub->s, &r, NULL);
}


static void sub_index(struct sub *sub)
{
	hash_append(sub->s->subs, hash_joaat_str(sub->call_id), &sub->he,
		    sub);
	list_append(&sub->u->subs, &sub->ule, sub);
	++sub->s->stats.subscriptions;
}


static void initial_subscribe(struct sender *s, const struct sip_msg *msg,
			      const struct uaprof_event *ev)
{
	char aor[256], tkey[384], target[384], app[128], methods[64];
	struct sub *sub = NULL, *old;
	uint32_t expires;
	struct user *u;
	int err;

	err = identity(aor, sizeof(aor), s, msg);
	if (err == EPERM)
		return;   /* challenged or refused already */
	if (err) {
		sender_refuse(s, msg, 403, err == ENOENT ? "No "
			      "P-Asserted-Identity" : "Bad P-Asserted-Identity");
		return;
	}

	if (uaprof_check_caps(ev)) {
		sender_refuse(s, msg, 400, "Event needs dev-cap or "
			      "vendor, model and version");
		return;
	}

	err = app_of(app, sizeof(app), s, msg, ev, methods, sizeof(methods));
	if (err) {
		sender_refuse(s, msg, 400, err == ENOENT ?
			      "No push application (event-app-id)" :
			      "Bad event-app-id or Accept-Contact");
		return;
	}

	err = tkey_of(tkey, sizeof(tkey), target, sizeof(target), msg);
	if (err) {
		sender_refuse(s, msg, 400, err == ENOENT ?
			      "Missing Contact" : "Bad Contact");
		return;
	}

	if (sub_expires(&expires, s, msg))
		return;   /* 423 sent */

	err = user_get(&u, s, aor);
	if (!err && !term_find(u, tkey) && !term_room(u)) {
		sender_refuse(s, msg, 403, "Too many terminals for "
			      "this user");
		return;
	}
	if (!err && !subs_room(s, u, tkey, app)) {
		sender_refuse(s, msg, 403, "Too many subscriptions for "
			      "this terminal");
		return;
	}
	err = err ? err : caps_update(s, aor, tkey, ev);
	if (err)
		goto fail;

	err = sub_new(&sub, s, u, msg, tkey, target, app, methods);
	if (err)
		goto fail;

	if (!expires) {
		/* a one-time fetch (RFC 6665 §4.4.3): the capabilities kept,
		 * the state in one NOTIFY that ends the dialog */
		plog(SIPPUSH_LOG_INFO, MOD, "%s %s: one-time SUBSCRIBE", aor,
		     tkey);
		err = commit_then_reply(s, msg, sub, 0, false, true);
		if (err) {
			mem_deref(sub);
			goto fail;
		}
		return;
	}
	sub->expires_at = sender_now_s(s) + expires;

	/* one subscription per terminal and application: a new dialog
	 * replaces the old one, and content queued there moves over */
	old = sub_find(u, tkey, app);
	sub_index(sub);
	sub_arm(sub);
	if (old)
		sub_gone(old, "replaced by a new SUBSCRIBE");

	err = sub_save(sub);
	cluster_user_changed(s, aor);
	err = err ? err : term_from_sub(sub);
	err = err ? err : commit_then_reply(s, msg, sub, expires, false,
					    false);
	if (err) {
		sub_gone(sub, "store failed");
		sub = NULL;
		goto fail;
	}

	/* its one reference is the subscription itself: sub_gone() or the
	 * answer to its final NOTIFY frees it */
	plog(SIPPUSH_LOG_INFO, MOD, "%s %s %s: subscribed for %us", aor, tkey, app,
	     expires);
	return;

 fail:
	(void)sip_reply(s->sip, msg, 500, "Server Internal Error");
}


static void load_h(const struct sub_rec *r, void *arg);


static void in_dialog_subscribe(struct sender *s, const struct sip_msg *msg)
{
	char cid[256];
	struct sub *sub;
	uint32_t expires;
	bool fetched = false;
	int err;

	(void)pl_strcpy(&msg->callid, cid, sizeof(cid));
	sub = sub_by_callid(s, cid);
	/* a cluster: a dialog another node serves, from the store, for this
	 * request only (it leaves memory again below or once answered) */
	if (!sub && s->cl && !store_sub_get(s->st, cid, load_h, s)) {
		sub = sub_by_callid(s, cid);
		fetched = sub != NULL;
	}
	if (!sub || pl_strcmp(&msg->to.tag, sub->ltag) ||
	    pl_strcmp(&msg->from.tag, sub->rtag)) {
		(void)sip_reply(s->sip, msg, 481, "Subscription Does Not "
				"Exist");
		goto refused;
	}

	if (msg->cseq.num <= sub->rseq) {
		(void)sip_reply(s->sip, msg, 500, "CSeq Out of Order");
		goto refused;
	}
	sub->rseq = msg->cseq.num;

	if (sub_expires(&expires, s, msg))
		goto refused;   /* 423 sent */

	if (!expires) {
		err = store_sub_del(s->st, sub->call_id);
		cluster_user_changed(s, sub->aor);
		err = err ? err : commit_then_reply(s, msg, sub, 0, true,
						    false);
	}
	else {
		sub->expires_at = sender_now_s(s) + expires;
		sub_arm(sub);
		err = sub_save(sub);
		cluster_user_changed(s, sub->aor);
		err = err ? err : term_from_sub(sub);
		err = err ? err : commit_then_reply(s, msg, sub, expires,
						    false, false);
	}
	if (err)
		(void)sip_reply(s->sip, msg, 500, "Server Internal Error");
	return;

 refused:
	/* a copy from the store must not live on here: its timer would end
	 * a dialog its owner serves */
	if (fetched)
		sub_forget(sub);
}


static void subscribe(struct sender *s, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EVENT);
	struct uaprof_event ev;

	/* reqcheck_request() parsed the Event already */
	if (!h || uaprof_event_decode(&ev, &h->val)) {
		sender_refuse(s, msg, 400, "Bad Event");
		return;
	}

	if (!uaprof_is_oma_app(&ev)) {
		(void)sip_replyf(s->sip, msg, 489, "Bad Event",
				 "Allow-Events: ua-profile\r\n"
				 "Content-Length: 0\r\n\r\n");
		return;
	}

	if (pl_isset(&msg->to.tag))
		in_dialog_subscribe(s, msg);
	else
		initial_subscribe(s, msg, &ev);
}


bool notifier_request(struct sender *s, const struct sip_msg *msg)
{
	if (!pl_strcmp(&msg->met, "SUBSCRIBE")) {
		subscribe(s, msg);
		return true;
	}

	if (!pl_strcmp(&msg->met, "NOTIFY")) {
		const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EVENT);
		struct pl pkg;

		/* NOTIFYs come only from the refer subscriptions of REFERs */
		if (h && !re_regex(h->val.p, h->val.l, "[^;]+", &pkg) &&
		    !pl_strcasecmp(&pkg, "refer"))
			return refer_notify(s, msg);
		(void)sip_replyf(s->sip, msg, 489, "Bad Event",
				 "Allow-Events: refer\r\n"
				 "Content-Length: 0\r\n\r\n");
		return true;
	}

	return false;
}


/* --- restart ----------------------------------------------------------- */

/* A subscription as stored, in memory (indexed, armed); NULL when it
 * expired (then deleted) or on failure */
static struct sub *sub_of_rec(struct sender *s, const struct sub_rec *r)
{
	struct sub *sub;
	struct user *u;
	int err;

	if (r->expires_at <= sender_now_s(s)) {
		(void)store_sub_del(s->st, r->call_id);
		return NULL;
	}

	if (user_get(&u, s, r->aor))
		return NULL;

	if (sub_alloc(&sub))
		return NULL;

	sub->s = s;
	sub->u = u;
	/* CSeqs sent after the last save that reached the disk (it is
	 * lazy, and one every CSEQ_SAVE_EVERY) are skipped: the subscriber
	 * only needs them to grow */
	sub->lseq = r->lseq + CSEQ_RELOAD_GAP;
	sub->lseq_saved = r->lseq;
	sub->rseq = r->rseq;
	sub->expires_at = r->expires_at;
	tmr_init(&sub->tmr);
	err  = str_dup(&sub->aor, r->aor);
	err |= str_dup(&sub->tkey, r->tkey);
	err |= str_dup(&sub->app, r->app);
	err |= str_dup(&sub->call_id, r->call_id);
	err |= str_dup(&sub->ltag, r->ltag);
	err |= str_dup(&sub->rtag, r->rtag);
	err |= str_dup(&sub->local, r->local);
	err |= str_dup(&sub->remote, r->remote);
	err |= str_dup(&sub->target, r->target);
	if (r->route)
		err |= str_dup(&sub->route, r->route);
	if (r->accept)
		err |= str_dup(&sub->accept, r->accept);
	if (r->methods)
		err |= str_dup(&sub->methods, r->methods);
	if (err) {
		mem_deref(sub);
		return NULL;
	}

	sub_index(sub);
	sub_arm(sub);
	return sub;
}


static void load_h(const struct sub_rec *r, void *arg)
{
	struct sender *s = arg;
	struct sub *sub;

	if (s->load_mask && !s->load_mask[lease_shard_of(r->aor)])
		return;
	if (s->cl && sub_by_callid(s, r->call_id))
		return;   /* a cluster's node has it already */
	sub = sub_of_rec(s, r);
	/* a cluster's node taking the shard: one state NOTIFY, higher CSeq
	 * (a SUBSCRIBE answered while nobody owned the shard had none) */
	if (sub && s->load_mask) {
		sub->state_due = true;
		sub_kick(sub);
	}
}


/** After a restart: the dialogs go on where they were (a cluster's node:
 *  those of the shards it takes, sub_reload_shards()) */
int sub_load(struct sender *s)
{
	return s->cl ? 0 : store_sub_load(s->st, load_h, s);
}


/** A cluster's node took shards (mask): their subscriptions it lacks, from
 *  the store; their dialogs go on with higher CSeqs */
int sub_reload_shards(struct sender *s, const bool *mask)
{
	int err;

	s->load_mask = mask;
	err = store_sub_load(s->st, load_h, s);
	s->load_mask = NULL;
	return err;
}


static void reload_h(const struct sub_rec *r, void *arg)
{
	struct sender *s = arg;
	struct sub *sub = sub_by_callid(s, r->call_id);

	if (r->expires_at <= sender_now_s(s))
		return;   /* gone: ended below */

	if (!sub) {
		/* made at another node: its first NOTIFY goes from here */
		sub = sub_of_rec(s, r);
		if (!sub)
			return;
		sub->mark = true;
		sub->fresh = true;
		sub->state_due = true;
		sub_kick(sub);
		push_sub_ready(sub);
		return;
	}

	sub->mark = true;
	if (r->expires_at != sub->expires_at) {
		/* refreshed at another node: the NOTIFY that follows */
		sub->expires_at = r->expires_at;
		if (r->rseq > sub->rseq)
			sub->rseq = r->rseq;
		sub_arm(sub);
		sub->state_due = true;
		sub_kick(sub);
	}
}


/**
 * Another node changed a user's subscriptions (made, refreshed, ended
 * one): the owner re-reads them and sends the NOTIFYs that follow
 */
int sub_reload_user(struct sender *s, const char *aor)
{
	struct user *u = user_find(s, aor);
	struct le *le;
	int err;

	for (le = u ? u->subs.head : NULL; le; le = le->next)
		((struct sub *)le->data)->mark = false;
	err = store_sub_of(s->st, aor, reload_h, s);
	if (err)
		return err;

	u = user_find(s, aor);
	for (le = u ? u->subs.head : NULL; le; ) {
		struct sub *sub = le->data;

		le = le->next;
		if (!sub->mark)
			sub_end(sub, "ended at another node");
	}

	/* one dialog per terminal and application: one made at another node
	 * replaces the older (that node could not see it) */
	for (le = u ? u->subs.head : NULL; le; ) {
		struct sub *sub = le->data;

		le = le->next;
		if (!sub->fresh)
			continue;
		sub->fresh = false;
		for (struct le *o = u->subs.head; o; ) {
			struct sub *old = o->data;

			o = o->next;
			if (old != sub && !old->fresh &&
			    !str_cmp(old->tkey, sub->tkey) &&
			    !str_casecmp(old->app, sub->app)) {
				if (le && le->data == old)
					le = le->next;
				sub_gone(old, "replaced by a new SUBSCRIBE");
			}
		}
	}
	return 0;
}


static bool forget_h(struct le *le, void *arg)
{
	struct sub *sub = le->data;
	const uint32_t *shard = arg;

	if (lease_shard_of(sub->aor) == *shard)
		sub_forget(sub);
	return false;
}


/** The shard is another node's now: its subscriptions leave memory */
void sub_forget_shard(struct sender *s, uint32_t shard)
{
	(void)hash_apply(s->subs, forget_h, &shard);
}
