/**
 * @file push.c  Pushes: acceptance, topics, planning onto terminals, states
 */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/pagemsg.h"
#include "core/featuretag.h"
#include "core/appid.h"
#include "core/imshdr.h"
#include "core/strpack.h"
#include "engine.h"
#include "delivery.h"
#include "caps.h"
#include "clock.h"
#include "deliver.h"
#include "pushevents.h"
#include "observe.h"
#include "push.h"
#include "cluster.h"
#include "core/lease.h"
#include "subscription.h"
#include "terminal.h"

#include <sippush/log.h>

#define MOD "push"


/* Why a push has sent nothing yet (push.wait): push_waiting() prints it
 * when asked, where a string made at every plan cost each waiting push
 * an allocation */
enum { WAIT_NONE = 0, WAIT_NO_PUSH, WAIT_TARGET, WAIT_NOT_NOW };


/* What a push is made of, copied into it (push_alloc()) */
struct push_in {
	const char *aor, *app, *ctype, *method, *url, *target, *topic;
	const char *token, *filename, *disposition, *identity, *owner;
	const char *privacy;
	const uint8_t *body;     /**< NULL: none */
	size_t body_len;
};


static void pfile_release(struct pfile *f)
{
	mem_deref(f->path);
	mem_deref(f->filename);
	mem_deref(f->ctype);
	mem_deref(f->disposition);
}


static void push_destructor(void *arg)
{
	struct push *p = arg;

	for (size_t i = 0; i < p->nfiles; i++)
		pfile_release(&p->files[i]);

	tmr_cancel(&p->tmr);
	mem_deref(p->defer);
	hash_unlink(&p->he);
	list_unlink(&p->wle);
	hash_unlink(&p->tle);
	list_flush(&p->dlvs);
	mem_deref(p->files);
}


static int dup_opt(char **dst, const char *src)
{
	return src ? str_dup(dst, src) : 0;
}


/* The push's files, as an array freed with the push */
static int files_alloc(struct push *p, size_t n)
{
	p->files = mem_zalloc(n * sizeof(*p->files), NULL);
	if (!p->files)
		return ENOMEM;
	p->nfiles = n;
	return 0;
}


static int pfile_set(struct pfile *f, const char *path, const char *name,
		     const char *ctype, const char *disp, uint64_t size,
		     const uint8_t *sha1)
{
	int err;

	err  = str_dup(&f->path, path);
	err |= dup_opt(&f->filename, name);
	err |= str_dup(&f->ctype, ctype);
	err |= dup_opt(&f->disposition, disp);
	f->size = size;
	if (sha1) {
		memcpy(f->sha1, sha1, 20);
		f->has_sha1 = true;
	}
	return err ? ENOMEM : 0;
}


/* The n low hex digits of v, lower case (no NUL): ids are made for
 * every push, where re_snprintf() costs more than the rest of the id */
static void hex_put(char *out, uint64_t v, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	while (n--) {
		out[n] = hex[v & 0xf];
		v >>= 4;
	}
}


/* 128 random bits in hex (32 digits and a NUL): a content token's
 * unguessable part */
static void rand_hex128(char *buf)
{
	hex_put(buf, rand_u64(), 16);
	hex_put(buf + 16, rand_u64(), 16);
	buf[32] = '\0';
}


/* The push is final: record it, forget it (GET reads the store) */
static void push_finish(struct push *p, enum push_state ps)
{
	struct sender *s = p->s;

	if (p->final)
		return;
	p->final = true;
	if (p->orphan) {
		/* another node's now: it says how the push ended */
		--s->stats.pending;
		mem_deref(p);
		return;
	}
	(void)store_fence(s->st, cluster_fence(s, p->aor));
	(void)store_push_final(s->st, p->id, push_state_name(ps),
			       sender_now_ms(s));
	(void)store_fence(s->st, NULL);
	observe_push(s, p, ps);   /* writes go in the same transaction */

	/* a final push's files are not needed any more */
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].path)
			(void)unlink(p->files[i].path);
	--s->stats.pending;
	mem_deref(p);
}


static void check_final(struct push *p)
{
	enum delivery_state v[64];
	size_t n = 0;
	enum push_state ps;

	for (struct le *le = p->dlvs.head; le; le = le->next) {
		const struct delivery *d = le->data;

		if (d->state == DS_PENDING)
			return;
		if (n < ARRAY_SIZE(v))
			v[n++] = d->state;
	}

	ps = push_state_of(v, n);
	push_finish(p, ps);
}


/** A delivery reached its final state (already saved by the caller) */
void push_delivery_final(struct delivery *d)
{
	struct sender *s = d->p->s;

	if (d->state == DS_DELIVERED)
		++s->stats.delivered;
	else
		++s->stats.failed;

	/* folded in the order deliveries end, as the store's rows are */
	d->p->pap_code = outcome_pap_fold(d->p->pap_code, d->pap);
	if (!d->p->orphan)
		observe_delivery(s, d);
	check_final(d->p);
}


static void ttl_tmr(void *arg)
{
	struct push *p = arg;

	/* no delivery was ever possible: the push expired unsent */
	if (!p->dlvs.head) {
		push_finish(p, PS_EXPIRED);
		return;
	}

	/* deliveries still queued behind others end at their turn */
	mem_ref(p);
	for (struct le *le = p->dlvs.head; le && !p->final; ) {
		struct delivery *d = le->data;

		le = le->next;
		if (d->relayed || d->awaiting_sub)
			deliver_ttl_end(d);
		else if (d->t)
			deliver_kick(d->t);
	}
	mem_deref(p);
}


/*
 * The MESSAGE to one terminal with the content inline, in bytes, as
 * message.c would send it: its real Request-URI (GRUU, public identity
 * with the instance preferred, or contact), its Route, and what varies
 * at its longest (a Via address, a ten-digit CSeq), so the 1300-byte rule
 * (RFC 3428 §4) is never broken by what the estimate left out.
 */
static int msg_size(size_t *sz, const struct push *p,
		    const struct terminal *t)
{
	const char *ruri = dlv_dest_ruri(t, p->aor);
	const struct ac_spec ac = {.app = p->app, .require = true,
		.explicit_ = true,
		.instance = !str_casecmp(ruri, p->aor) ? t->instance : NULL};
	char call_id[40], icid[40];
	struct ims_hdrs ims;
	struct sa laddr;
	struct pagemsg_spec ms = {
		.ruri = ruri, .from = push_from(p),
		.from_tag = "0123456789abcdef", .to = p->aor,
		.call_id = call_id, .cseq = UINT32_MAX,
		.pai = push_pai(p), .ac = &ac, .ctype = p->ctype,
		.body_len = p->body_len,
		.software = NULL, .laddr = &laddr, .transport = "UDP",
		.ims = &ims,
	};
	int err;

	/* what dlv_new() derives: the same length for every terminal */
	dlv_call_id(call_id, sizeof(call_id), p, t->tkey);
	dlv_ims_of(&ims, icid, sizeof(icid), p, call_id, term_charged(t));
	/* the longest address libre could put in Via */
	(void)sa_set_str(&laddr, "255.255.255.255", 65535);
	if (p->nfiles) {
		/* content on disk: by session, or by indirection */
		ms.body_len = (size_t)p->files[0].size + PAGEMSG_LIMIT;
	}
	err = pagemsg_size(sz, &ms);
	if (!err && t->path)   /* "Route: <path>\r\n" (message.c) */
		*sz += 7 + strlen(t->path) + 2;
	return err;
}


static bool app_prefers_sub(const struct sender *s, const char *app)
{
	struct pl a, b;

	pl_set_str(&a, app);
	for (size_t i = 0; i < s->conf.prefn; i++) {
		pl_set_str(&b, s->conf.prefv[i].app);
		if (appid_equal(&a, &b))
			return !str_casecmp(s->conf.prefv[i].method,
					    plan_kind_name(PLAN_NOTIFY));
	}
	return false;
}


/* What the sender knows of a terminal, for this push's application */
static void caps_for(struct term_caps *tc, const struct terminal *t,
		     const struct push *p)
{
	const struct sub *sub = sub_find(t->u, t->tkey, p->app);
	const struct caps *c = caps_find(p->s, p->aor, t->tkey);

	term_caps_of(tc, t);
	tc->sub_active = sub != NULL;
	/* the SUBSCRIBE's Accept speaks for this app; else the UAProf */
	if (sub && sub->accept)
		pl_set_str(&tc->accept, sub->accept);
	if (c && c->push_accept)
		pl_set_str(&tc->dev_accept, c->push_accept);
	if (c && c->push_appids && !t->apps)
		pl_set_str(&tc->apps, c->push_appids);
	if (c)
		tc->msg_max = c->push_msgsize;
}


/*
 * A terminal registered without the push feature tag (a plain SIP client)
 * takes the page-mode pushes of the applications the operator named
 * (--plain-apps) when it may take MESSAGE at all: its methods unknown or
 * listing MESSAGE. Its capabilities then say so, and only so.
 */
static bool plain_caps(struct term_caps *tc, const struct terminal *t,
		       const struct push *p)
{
	struct pl list, app;

	if (t->push || !p->s->conf.plain_apps)
		return false;
	pl_set_str(&list, p->s->conf.plain_apps);
	pl_set_str(&app, p->app);
	if (!appid_list_has(&list, &app))
		return false;
	term_caps_of(tc, t);
	if (tc->methods.l && !ftag_value_has(&tc->methods, "MESSAGE"))
		return false;
	pl_set_str(&tc->apps, p->app);
	pl_set_str(&tc->methods, "MESSAGE");
	/* the content itself, never by reference: a softphone fetches no
	 * message/external-body (too large for a MESSAGE: undeliverable) */
	pl_set_str(&tc->accept, p->ctype);
	return true;
}


/* Refusals that waiting cannot cure: the terminal said it cannot */
static bool refusal(enum plan_reason r)
{
	return r == PR_TYPE || r == PR_METHOD || r == PR_TOO_LARGE;
}


/* Goes to the public identity through a core (no GRUU for it) */
static bool to_aor_via_core(const struct delivery *d)
{
	return d->route && d->kind == PLAN_MESSAGE && d->state == DS_PENDING &&
		!str_casecmp(d->ruri, d->p->aor);
}


/*
 * Rekey a delivery to the public identity: no instance, so no caller
 * preference; its outcome is the core's best response (RFC 3261 §16).
 */
static void rekey_to_aor(struct delivery *d, size_t n)
{
	char *tkey = NULL, *term = NULL, *callid = NULL;
	char cid[40];

	dlv_call_id(cid, sizeof(cid), d->p, d->p->aor);
	if (str_dup(&tkey, d->p->aor) || str_dup(&term, d->p->aor) ||
	    str_dup(&callid, cid)) {
		/* out of memory: it keeps its own terminal's key */
		mem_deref(tkey);
		mem_deref(term);
		mem_deref(callid);
		return;
	}
	dlv_set_str(d, &d->tkey, tkey);
	dlv_set_str(d, &d->terminal, term);
	dlv_set_str(d, &d->call_id, callid);
	dlv_step(d, "%zu terminals behind the core: the public identity (the "
		 "core forks)", n);
}


/*
 * A push for every terminal: once one request goes to the public identity
 * through a core (a terminal it gave no GRUU, or an AoR-level record), the
 * core forks it to every contact it has for the user (RFC 3261 §16), also
 * to the terminals reached by their own GRUU through it: each would get
 * it twice, since cores ignore caller preferences (Kamailio 5.6 does). So
 * the page-mode deliveries through that core go as that one request. A
 * core with a terminal in another mode (a NOTIFY dialog) keeps its
 * requests apart. Returns how many deliveries went into others.
 */
static size_t to_all_at_once(struct push *p)
{
	size_t merged = 0;

	if (p->target && str_casecmp(p->target, "all"))
		return 0;

	for (struct le *le = p->dlvs.head; le; le = le->next) {
		struct delivery *lead = le->data;
		size_t n = 0, nother = 0;

		if (!to_aor_via_core(lead))
			continue;
		for (struct le *l2 = p->dlvs.head; l2; l2 = l2->next) {
			const struct delivery *d = l2->data;

			if (d == lead || d->state != DS_PENDING ||
			    str_casecmp(d->route, lead->route))
				continue;
			if (d->kind != PLAN_MESSAGE)
				++nother;
			++n;
		}
		if (!n || nother)
			continue;

		for (struct le *l2 = p->dlvs.head; l2; ) {
			struct delivery *d = l2->data;

			l2 = l2->next;
			if (d == lead || d->state != DS_PENDING ||
			    str_casecmp(d->route, lead->route))
				continue;
			mem_deref(d);
			++merged;
		}
		rekey_to_aor(lead, n + 1);
	}
	return merged;
}


/*
 * After a restart: has the push a delivery (a row: it had an outcome) for
 * this terminal, or one to the public identity that went for every
 * terminal behind the terminal's core?
 */
static bool covered(const struct push *p, const struct terminal *t)
{
	for (struct le *le = p->dlvs.head; le; le = le->next) {
		const struct delivery *d = le->data;

		if (!str_casecmp(d->tkey, t->tkey))
			return true;
		if (!str_casecmp(d->tkey, p->aor) && d->route &&
		    !str_casecmp(d->route, t->path))
			return true;
	}
	return false;
}


/**
 * Plan the push onto the user's terminals. Returns the number of
 * deliveries made; 0 leaves it waiting (or final, when it cannot go).
 * Resuming (after a restart), only the terminals no delivery covers yet
 * are planned, each on its own.
 */
static int push_plan(struct push *p, size_t *ndlv, bool resume)
{
	struct user *u = user_find(p->s, p->aor);
	struct term_caps tv[32];
	const struct terminal *terms[32];
	struct plan planv[32];
	struct push_spec ps;
	struct pl mname;
	size_t n = 0, nplanned = 0;
	uint32_t nreg = 0;
	int err;

	*ndlv = 0;
	p->wait = WAIT_NONE;
	for (struct le *le = u ? u->terms.head : NULL; le; le = le->next) {
		const struct terminal *t = le->data;

		++nreg;
		if (n >= ARRAY_SIZE(tv) || (resume && covered(p, t)))
			continue;
		if (t->push)
			caps_for(&tv[n], t, p);
		else if (!plain_caps(&tv[n], t, p))
			continue;
		terms[n++] = t;
	}

	if (!n && resume)
		return 0;
	if (!n) {
		p->wait = WAIT_NO_PUSH;
		p->wait_n = nreg;
		return 0;
	}

	memset(&ps, 0, sizeof(ps));
	ps.app = p->app;
	ps.ctype = p->ctype;
	pl_set_str(&mname, p->method);
	if (push_method_decode(&ps.method, &mname))
		ps.method = PM_AUTO;
	ps.require_sub = app_prefers_sub(p->s, p->app);
	ps.target = p->target;
	for (size_t i = 0; i < n; i++) {
		err = msg_size(&tv[i].msg_size, p, terms[i]);
		if (err)
			return err;
		if (tv[i].msg_size > ps.msg_size)
			ps.msg_size = tv[i].msg_size;
	}

	err = method_plan(planv, &nplanned, &ps, tv, n);
	if (err == ENOENT) {  /* the named terminal is not registered (yet) */
		p->wait = WAIT_TARGET;
		return 0;
	}
	if (err)
		return err;

	for (size_t i = 0; i < n; i++) {
		struct delivery *d;

		if (planv[i].kind == PLAN_NONE &&
		    !(nplanned == 0 && refusal(planv[i].reason)))
			continue;

		err = dlv_new(&d, p, terms[i], &planv[i]);
		if (err)
			return err;
		if (planv[i].kind == PLAN_NONE) {
			/* shown in the status with the terminal's reason */
			d->state = DS_UNDELIVERABLE;
			d->pap = 2005;   /* capabilities mismatch */
			(void)str_dup(&d->last_error,
				      plan_reason_name(planv[i].reason));
		}
		++*ndlv;
	}

	/* resuming, the deliveries loaded stay as they were */
	if (!resume)
		*ndlv -= to_all_at_once(p);

	if (!*ndlv) {
		p->wait = WAIT_NOT_NOW;
		p->wait_n = (uint32_t)n;
		p->wait_why = (uint8_t)planv[0].reason;
	}
	return 0;
}


static void push_start(struct push *p);
static void dlvs_start(struct push *p, struct le *le);


static void defer_tmr(void *arg)
{
	push_start(arg);
}


static void defer_destructor(void *arg)
{
	tmr_cancel(arg);
}


static void push_start(struct push *p)
{
	const int64_t wait = p->not_before_ms - sender_now_ms(p->s);
	size_t n = 0;
	int err;

	/* another node's user (a cluster): its owner delivers */
	if (!cluster_owns(p->s, p->aor))
		return;

	/* deferred delivery (PAP deliver-after-timestamp): not yet */
	if (wait > 0) {
		if (!p->defer) {
			p->defer = mem_zalloc(sizeof(*p->defer),
					      defer_destructor);
			if (!p->defer) {
				plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot defer "
				     "(%m)", p->id, ENOMEM);
				return;
			}
			tmr_init(p->defer);
		}
		tmr_start(p->defer, (uint64_t)wait, defer_tmr, p);
		return;
	}

	err = push_plan(p, &n, false);
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s: planning failed (%m)", p->id, err);

	if (!n) {
		struct user *u;

		/* wle is in no list here unless already waiting: O(1),
		 * where list_contains() walks every waiting push */
		if (user_get(&u, p->s, p->aor) == 0 && !p->wle.list)
			list_append(&u->waiting, &p->wle, p);
		return;
	}

	list_unlink(&p->wle);
	dlvs_start(p, p->dlvs.head);
}


/* Deliveries just planned, from le on: refusals end, the others queue */
static void dlvs_start(struct push *p, struct le *le)
{
	mem_ref(p);
	while (le && !p->final) {
		struct delivery *d = le->data;

		le = le->next;
		if (d->state != DS_PENDING) {
			(void)dlv_save(d);
			push_delivery_final(d);
			continue;
		}
		/* its row is written with its first outcome; a crash before
		 * that plans it again, with the same Call-ID */
		(void)deliver_enqueue(d);
	}
	mem_deref(p);
}


/*
 * After a restart, a push some of whose deliveries had an outcome (their
 * rows) while others had none yet (in flight or queued at the crash):
 * those are planned again, with the same Call-IDs, so the terminal's
 * seen set keeps it once. A push for one named terminal has its one.
 */
static void push_resume(struct push *p)
{
	struct le *last = p->dlvs.tail;
	size_t n = 0;

	if (p->target && str_casecmp(p->target, "all"))
		return;
	if (push_plan(p, &n, true) || !n)
		return;
	dlvs_start(p, last ? last->next : p->dlvs.head);
}


/* No method left for it: final, with the answer that ended the last */
static int no_other(struct delivery *d, const char *why, uint16_t pap)
{
	dlv_step(d, "%s: no other method", why);
	d->state = DS_UNDELIVERABLE;
	d->pap = pap;
	d->last_error = mem_deref(d->last_error);
	(void)str_dup(&d->last_error, why);
	(void)dlv_save(d);
	push_delivery_final(d);
	return 0;
}


/**
 * The planned method cannot be used any more (the subscription is gone):
 * another subscription of the terminal, else MESSAGE to the terminal.
 */
int dlv_fallback(struct delivery *d, const char *why)
{
	struct push *p = d->p;
	struct user *u = user_find(p->s, p->aor);
	const struct terminal *t = u ? term_find(u, d->tkey) : NULL;

	const enum plan_kind was = d->kind;
	struct pl mets;

	d->awaiting_sub = false;
	list_unlink(&d->ale);
	tmr_cancel(&d->tmr);

	if (t && t->methods)
		pl_set_str(&mets, t->methods);

	/* too large for a MESSAGE: by reference if the terminal takes it,
	 * else a session if it lists INVITE */
	if (was == PLAN_MESSAGE) {
		struct term_caps tc;

		/* one request for every terminal behind a core (to the
		 * public identity): by reference, once, as the core forks */
		if (!t && !d->indirect && !str_casecmp(d->tkey, p->aor)) {
			d->indirect = true;
			dlv_step(d, "%s: message by reference", why);
			(void)dlv_save(d);
			return deliver_enqueue(d);
		}
		if (!t)
			return no_other(d, why, 2006);
		term_caps_of(&tc, t);
		if (!d->indirect && ctype_accepted(&tc.accept,
						  "message/external-body")) {
			d->indirect = true;
			dlv_step(d, "%s: message by reference", why);
			(void)dlv_save(d);
			return deliver_enqueue(d);
		}
		if (t->methods && ftag_value_has(&mets, "INVITE") &&
		    (p->body_len || p->nfiles)) {
			d->kind = PLAN_SESSION;
			dlv_step(d, "%s: session", why);
			(void)dlv_save(d);
			return deliver_enqueue(d);
		}
		return no_other(d, why, 2006);
	}

	/* the subscription is gone, not the push: another one of the
	 * terminal; a NOTIFY refused in a live one goes another way */
	if ((was != PLAN_NOTIFY || !d->scode || d->scode == 408 ||
	     d->scode == 481) && sub_find(u, d->tkey, p->app)) {
		d->kind = PLAN_NOTIFY;
		dlv_step(d, "%s: notify again", why);
		return deliver_enqueue(d);
	}

	if (!t || (t->methods && !ftag_value_has(&mets, "MESSAGE")))
		return no_other(d, why, 2002);

	/* what a session or a NOTIFY carried may not fit a MESSAGE */
	if (was == PLAN_SESSION || p->body_len > PAGEMSG_LIMIT)
		d->indirect = true;
	d->kind = PLAN_MESSAGE;
	dlv_set_str(d, &d->ruri, NULL);
	d->route = mem_deref(d->route);
	if (str_dup(&d->ruri, dlv_dest_ruri(t, p->aor)) ||
	    dup_opt(&d->route, t->path))
		return ENOMEM;
	dlv_step(d, "%s: message", why);
	(void)dlv_save(d);
	return deliver_enqueue(d);
}


/* --- REFER's next step: the SUBSCRIBE it asked for ------------------ */

enum { REFER_WAIT_MS = 32000 };


static void wait_tmr(void *arg)
{
	struct delivery *d = arg;

	(void)dlv_fallback(d, "no SUBSCRIBE after REFER");
}


static bool same_app(const char *a, const char *b)
{
	struct pl pa, pb;

	pl_set_str(&pa, a);
	pl_set_str(&pb, b);
	return appid_equal(&pa, &pb);
}


/* The subscription the REFER asked for exists: deliver in it */
static void to_notify(struct delivery *d)
{
	list_unlink(&d->ale);
	tmr_cancel(&d->tmr);
	d->awaiting_sub = false;
	d->kind = PLAN_NOTIFY;
	dlv_step(d, "subscribed: notify");
	(void)dlv_save(d);
	(void)deliver_enqueue(d);
}


/* Its REFER was accepted: out of its queue, it waits for the SUBSCRIBE
 * (which may have come before the 202) for REFER_WAIT_MS */
static void parked(struct delivery *d)
{
	struct sender *s = d->p->s;

	if (sub_find(user_find(s, d->p->aor), d->tkey, d->p->app)) {
		to_notify(d);
		return;
	}
	d->awaiting_sub = true;
	list_append(&s->awaiting, &d->ale, d);
	tmr_start(&d->tmr, REFER_WAIT_MS, wait_tmr, d);
	(void)dlv_save(d);
}


/* Its GRUU was refused: the public identity, the terminal named as a
 * caller preference (dlv_instance()); at most once, being no GRUU now */
static int to_public_identity(struct delivery *d, const char *why)
{
	char *ruri = NULL;

	if (str_dup(&ruri, d->p->aor))
		return ENOMEM;
	dlv_set_str(d, &d->ruri, ruri);
	dlv_step(d, "%s: public identity", why);
	(void)dlv_save(d);
	return deliver_enqueue(d);
}


/** A subscription became active: what waits for it can go */
void push_sub_ready(struct sub *sub)
{
	struct le *le = sub->s->awaiting.head;

	/* deliveries REFERred for it go on in it */
	while (le) {
		struct delivery *d = le->data;

		le = le->next;
		if (!str_cmp(d->p->aor, sub->aor) &&
		    !str_cmp(d->tkey, sub->tkey) &&
		    same_app(d->p->app, sub->app))
			to_notify(d);
	}
	push_user_ready(sub->u);
}


/** The queue's way up: a delivery ended, falls back, or waits */
void push_init(struct sender *s)
{
	s->up.final = push_delivery_final;
	s->up.fallback = dlv_fallback;
	s->up.retarget = to_public_identity;
	s->up.parked = parked;
}


/** A terminal that takes pushes appeared: waiting pushes may go */
void push_user_ready(struct user *u)
{
	struct le *le;

	if (!u)
		return;

	le = u->waiting.head;
	while (le) {
		struct push *p = le->data;

		le = le->next;
		if (p->committed)
			push_start(p);
	}
}


static bool topic_cmp(struct le *le, void *arg)
{
	const struct push *a = le->data, *b = arg;

	return !str_cmp(a->aor, b->aor) && !str_casecmp(a->app, b->app)
		&& !str_cmp(a->topic, b->topic);
}


static uint32_t topic_hash(const struct push *p)
{
	return hash_joaat_str(p->aor) ^ hash_joaat_str(p->topic);
}


/* A newer push with the same user+app+topic replaces the older one */
static void topic_replace(struct push *p)
{
	struct le *le;

	le = hash_lookup(p->s->topics, topic_hash(p), topic_cmp, p);
	if (le) {
		struct push *old = le->data;

		hash_unlink(&old->tle);
		(void)sender_push_cancel(p->s, old->id);
	}

	hash_append(p->s->topics, topic_hash(p), &p->tle, p);
}


/*
 * A cluster: the push is another node's (its shard's owner). What is in
 * flight here ends (its writes are fenced), the rest leaves memory; the
 * store keeps it all for the owner.
 */
static void push_forget(struct push *p)
{
	struct le *le = p->dlvs.head;

	while (le) {
		struct delivery *d = le->data;

		le = le->next;
		if (!(d->t && d->t->busy == d))
			mem_deref(d);
	}
	p->orphan = true;
	if (!p->dlvs.head)
		push_finish(p, PS_PENDING);
}


/*
 * The pushes accepted in one store turn. They start when that turn's
 * commit is durable: a commit is answered after its sync, by then later
 * turns have accepted more, and those wait for their own commit (which
 * may yet fail, its requests answered 503)
 */
struct accepted {
	struct sender *s;
	struct list pushes;
};

static void committed_h(int err, void *arg)
{
	struct accepted *a = arg;
	struct sender *s = a->s;

	if (s->accepted == a)
		s->accepted = NULL;
	while (a->pushes.head) {
		struct push *p = a->pushes.head->data;

		list_unlink(&p->wle);
		if (err) {
			/* never acknowledged: the API answers 503 */
			--s->stats.pending;
			p->final = true;
			mem_deref(p);
			continue;
		}
		p->committed = true;
		event_accepted(p);
		if (!cluster_owns(s, p->aor)) {
			push_forget(p);   /* its shard's owner was told */
			continue;
		}
		push_start(p);
	}
	mem_deref(a);
}


/* The batch of this store turn, made (with its commit's waiter) by its
 * first push */
static int accepted_get(struct accepted **ap, struct sender *s)
{
	struct accepted *a;
	int err;

	if (s->accepted && s->accepted_turn == store_turn(s->st)) {
		*ap = s->accepted;
		return 0;
	}

	a = mem_zalloc(sizeof(*a), NULL);
	if (!a)
		return ENOMEM;
	a->s = s;
	err = store_sync(s->st, committed_h, a);
	if (err) {
		mem_deref(a);
		return err;
	}
	s->accepted = a;
	s->accepted_turn = store_turn(s->st);
	*ap = a;
	return 0;
}


/*
 * A push with its strings and content (in: what it is made of) in one
 * allocation: each malloc costs a header and its rounding, a dozen of
 * them per push most of what a pending push held.
 */
static int push_alloc(struct push **pp, struct sender *s,
		      const struct push_in *in)
{
	const char *const strv[] = {
		in->aor, in->app, in->ctype, in->method, in->url, in->target,
		in->topic, in->token, in->filename, in->disposition,
		in->identity, in->owner, in->privacy,
	};
	size_t sz = sizeof(struct push) + in->body_len;
	struct push *p;
	char *at;

	for (size_t i = 0; i < ARRAY_SIZE(strv); i++)
		sz += strpack_size(strv[i]);

	/* the strings and content are written over at once */
	p = mem_alloc(sz, push_destructor);
	if (!p)
		return ENOMEM;
	memset(p, 0, sizeof(*p));
	p->s = s;
	tmr_init(&p->tmr);

	at = (char *)(p + 1);
	if (in->body) {
		p->body = (uint8_t *)at;
		p->body_len = in->body_len;
		memcpy(at, in->body, in->body_len);
		at += in->body_len;
	}

	/* strv's order */
	char **const dstv[] = {
		&p->aor, &p->app, &p->ctype, &p->method, &p->url, &p->target,
		&p->topic, &p->token, &p->filename, &p->disposition,
		&p->identity, &p->owner, &p->privacy,
	};

	_Static_assert(ARRAY_SIZE(dstv) == ARRAY_SIZE(strv), "one a string");
	for (size_t i = 0; i < ARRAY_SIZE(strv); i++)
		*dstv[i] = strpack_put(&at, strv[i]);

	*pp = p;
	return 0;
}


static void push_arm(struct push *p)
{
	int64_t left = p->expires_ms - sender_now_ms(p->s);

	hash_append(p->s->pushes, hash_joaat_str(p->id), &p->he, p);
	tmr_start(&p->tmr, left > 0 ? (uint64_t)left : 0, ttl_tmr, p);
	++p->s->stats.pending;
}


int sender_push_accept(struct sender *s, struct push_req *r,
		       char *id, size_t idsz)
{
	struct accepted *batch;
	struct push *p = NULL;
	struct push_rec rec;
	struct push_in in;
	char token[16 + 32 + 1], aor[256];
	int64_t created_ms;
	uint64_t seq;
	int err;

	if (!s || !r || !r->aor || !r->app || !r->ctype || !id)
		return EINVAL;
	/* the API's validation printed it in this form already */
	if (r->aor_canonical)
		str_ncpy(aor, r->aor, sizeof(aor));
	else if (aor_canon(aor, sizeof(aor), r->aor))
		return EINVAL;

	seq = s->seq + 1;
	created_ms = sender_now_ms(s);

	/* ids grow with time, so the store's B-trees take inserts and
	 * updates at their end instead of on random pages; the content
	 * token adds 128 random bits, so content URLs stay unguessable */
	hex_put(token, (uint64_t)created_ms & 0xfffffffffffull, 11);
	if (cluster_tag(s) >= 0) {
		/* a cluster's node: its tag, then 4096 ids a millisecond */
		hex_put(token + 11, (uint64_t)cluster_tag(s), 2);
		hex_put(token + 13, seq & 0xfff, 3);
	}
	else {
		hex_put(token + 11, seq & 0xfffff, 5);
	}
	rand_hex128(token + 16);

	in = (struct push_in){
		.aor = aor, .app = r->app, .ctype = r->ctype,
		.method = r->method ? r->method : "auto", .url = r->url,
		.target = r->target && str_casecmp(r->target, "all") ?
			r->target : NULL,
		.topic = r->topic, .token = token, .filename = r->filename,
		.disposition = r->disposition, .identity = r->identity,
		.owner = r->owner, .privacy = r->privacy,
		.body = r->body, .body_len = r->body ? r->body_len : 0,
	};
	err = push_alloc(&p, s, &in);
	if (err)
		return err;

	s->seq = p->seq = seq;
	p->created_ms = created_ms;
	memcpy(p->id, token, 16);
	p->id[16] = '\0';
	p->priority = r->priority;
	p->ttl = r->ttl ? r->ttl : s->conf.default_ttl;
	r->ttl = p->ttl;   /* echoed back to the initiator */
	p->not_before_ms = r->not_before ? r->not_before * 1000 : 0;
	p->relay = r->relay;
	p->initiator = r->initiator ? r->initiator : "api";
	p->asserted = !r->unasserted;
	if (!strcmp(p->initiator, "pap"))
		++s->accepted_pap;
	p->expires_ms = p->created_ms + (int64_t)p->ttl * 1000;

	if (r->filen) {
		if (r->filen > PUSH_FILES_MAX) {
			err = EINVAL;
			goto out;
		}
		err = files_alloc(p, r->filen);
		for (size_t i = 0; !err && i < r->filen; i++) {
			const struct push_file *f = &r->filev[i];
			char path[600];
			const char *slash = strrchr(f->path, '/');

			/* named after the push in the same directory, so an
			 * upload never accepted (".up-*") can be told apart */
			re_snprintf(path, sizeof(path), "%b%s.%zu",
				    f->path, slash ? (size_t)(slash - f->path
							    + 1) : 0,
				    p->id, i);
			if (rename(f->path, path)) {
				err = errno;
				break;
			}
			const struct file_rec fr = {
				.push_id = p->id, .idx = (uint32_t)i,
				.path = path, .filename = f->filename,
				.ctype = f->ctype,
				.disposition = f->disposition,
				.size = f->size, .sha1 = f->sha1,
			};

			err = pfile_set(&p->files[i], path, f->filename,
					f->ctype, f->disposition, f->size,
					f->sha1);
			err = err ? err : store_file_add(s->st, &fr);
		}
		if (err)
			goto out;
	}

	rec = (struct push_rec){
		.id = p->id, .seq = p->seq, .aor = p->aor, .app = p->app,
		.ctype = p->ctype, .body = r->body, .body_len = r->body_len,
		.url = p->url, .method = p->method, .target = p->target,
		.topic = p->topic, .token = p->token, .state = "pending",
		.filename = p->filename, .disposition = p->disposition,
		.not_before_ms = p->not_before_ms,
		.identity = p->identity, .unasserted = !p->asserted,
		.relay = p->relay, .owner = p->owner, .privacy = p->privacy,
		.priority = p->priority, .ttl = p->ttl,
		.created_ms = p->created_ms, .expires_ms = p->expires_ms,
	};
	err = store_push_add(s->st, &rec);
	if (err)
		goto out;
	cluster_push_accepted(s, &rec, p->nfiles == 0 &&
			      strcmp(p->initiator, "pap"));

	err = accepted_get(&batch, s);
	if (err)
		goto out;

	list_append(&batch->pushes, &p->wle, p);
	push_arm(p);
	if (p->topic)
		topic_replace(p);
	++s->stats.accepted;
	str_ncpy(id, p->id, idsz);
	p = NULL;

 out:
	/* not accepted: files already renamed are nobody's */
	for (size_t i = 0; p && i < p->nfiles; i++)
		if (p->files[i].path)
			(void)unlink(p->files[i].path);
	mem_deref(p);
	return err;
}


/**
 * Whether n new pushes are refused now, and why (503 + Retry-After
 * *retry_s): the queue is full, or delivery is behind (more deliveries
 * wait to go out than --max-backlog): intake stops early instead of
 * growing a queue that delivery never catches up with.
 */
const char *sender_refuses(const struct sender *s, uint32_t n,
			   uint32_t *retry_s)
{
	if (!s || s->stats.pending + n > s->conf.max_queue) {
		*retry_s = 5;
		return "queue full";
	}
	if (sender_behind(s)) {
		*retry_s = 1;
		return "delivery behind: try again later";
	}
	return NULL;
}


/** More deliveries wait to go out than --max-backlog */
bool sender_behind(const struct sender *s)
{
	return s && s->conf.max_backlog &&
		s->stats.backlog > s->conf.max_backlog;
}


static bool id_cmp(struct le *le, void *arg)
{
	const struct push *p = le->data;
	return !str_cmp(p->id, arg);
}


struct stored {
	char aor[256];
	bool final;
};


static void stored_h(const struct push_rec *r, void *arg)
{
	struct stored *st = arg;

	str_ncpy(st->aor, r->aor ? r->aor : "", sizeof(st->aor));
	st->final = r->final_ms != 0;
}


/**
 * Cancel what is not yet delivered. ENOENT: unknown id;
 * EALREADY: already final; EINPROGRESS (a cluster): another node's push,
 * its owner told to cancel it.
 */
int sender_push_cancel(struct sender *s, const char *id)
{
	struct push *p;
	struct le *le;

	if (!s || !id)
		return EINVAL;

	le = hash_lookup(s->pushes, hash_joaat_str(id), id_cmp, (void *)id);
	if (!le) {
		struct stored st = {0};

		/* known to the store? final already, or (a cluster) another
		 * node's to cancel: it is told */
		if (store_push_get(s->st, id, stored_h, NULL, &st))
			return ENOENT;
		if (st.final || !s->cl)
			return EALREADY;
		if (cluster_owns(s, st.aor)) {
			(void)push_load_one(s, id);
			le = hash_lookup(s->pushes, hash_joaat_str(id), id_cmp,
					 (void *)id);
			if (!le)
				return EALREADY;
		}
		else {
			cluster_push_cancel(s, st.aor, id);
			return EINPROGRESS;
		}
	}

	p = le->data;
	if (!p->dlvs.head) {
		push_finish(p, PS_CANCELLED);
		return 0;
	}

	/* a cancel may finish the push: keep it alive for the walk */
	mem_ref(p);
	for (le = p->dlvs.head; le && !p->final; ) {
		struct delivery *d = le->data;

		le = le->next;
		if (d->state == DS_PENDING)
			deliver_cancel(d);
	}
	mem_deref(p);

	return 0;
}


static void count_file_h(const struct file_rec *f, void *arg)
{
	struct push *p = arg;

	if (f->idx < p->nfiles && !p->files[f->idx].path)
		(void)pfile_set(&p->files[f->idx], f->path, f->filename,
				f->ctype, f->disposition, f->size, f->sha1);
}


static void n_file_h(const struct file_rec *f, void *arg)
{
	size_t *n = arg;

	if (f->idx + 1 > *n)
		*n = f->idx + 1;
}


/* A restarted push gets its files back from the store */
static int files_load(struct push *p)
{
	size_t n = 0;
	int err;

	err = store_files_of(p->s->st, p->id, n_file_h, &n);
	if (err || !n)
		return err;
	if (n > PUSH_FILES_MAX)
		return EOVERFLOW;
	err = files_alloc(p, n);
	return err ? err : store_files_of(p->s->st, p->id, count_file_h, p);
}


static void pap_row_h(const struct pap_rec *r, void *arg)
{
	struct push *p = arg;
	(void)r;

	p->initiator = "pap";
}


/* Whether a stored push is one to load here: whole (a record from
 * another node's news is checked like any input), pending, of this
 * node's shards (a cluster), not in memory already */
static bool load_wanted(const struct push_rec *r, void *arg)
{
	struct sender *s = arg;

	if (!r->id || !r->aor || !r->app || !r->ctype || !r->method ||
	    strlen(r->id) >= sizeof(((struct push *)0)->id) || r->final_ms)
		return false;
	if (s->load_mask && !s->load_mask[lease_shard_of(r->aor)])
		return false;
	return !(s->cl && hash_lookup(s->pushes, hash_joaat_str(r->id),
				      id_cmp, (void *)r->id));
}


static void load_push_h(const struct push_rec *r, void *arg)
{
	struct sender *s = arg;
	const struct push_in in = {
		.aor = r->aor, .app = r->app, .ctype = r->ctype,
		.method = r->method, .url = r->url, .target = r->target,
		.topic = r->topic, .token = r->token, .filename = r->filename,
		.disposition = r->disposition, .identity = r->identity,
		.owner = r->owner, .privacy = r->privacy,
		.body = r->body, .body_len = r->body ? r->body_len : 0,
	};
	struct push *p;
	int err = 0;

	if (!load_wanted(r, arg))
		return;

	if (push_alloc(&p, s, &in))
		return;

	str_ncpy(p->id, r->id, sizeof(p->id));
	p->seq = r->seq;
	p->priority = r->priority;
	p->ttl = r->ttl;
	p->created_ms = r->created_ms;
	p->expires_ms = r->expires_ms;
	p->not_before_ms = r->not_before_ms;
	p->asserted = !r->unasserted;
	p->relay = r->relay <= RELAY_PENDING ? (enum push_relay)r->relay :
		RELAY_DEFAULT;
	p->committed = true;
	/* announced whole by the node that took it: no files, no PAP */
	if (!s->load_announced)
		err = files_load(p);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot load (%m)", r->id, err);
		mem_deref(p);
		return;
	}

	/* PAP's pushes have their row (the initiator is not a column) */
	if (!s->load_announced)
		(void)store_pap_by_push(s->st, p->id, pap_row_h, p);
	if (r->seq > s->seq)
		s->seq = r->seq;
	push_arm(p);
	/* one from another node's news is the newest: it replaces as at its
	 * acceptance (its accepting node did not have the older one) */
	if (p->topic && s->load_news)
		topic_replace(p);
	else if (p->topic)
		hash_append(s->topics, topic_hash(p), &p->tle, p);
	if (s->loading)
		list_append(s->loading, &p->wle, p);
}


static void load_dlv_h(const struct dlv_rec *r, void *arg)
{
	struct sender *s = arg;
	struct delivery *d;
	struct le *le;
	struct push *p;

	le = hash_lookup(s->pushes, hash_joaat_str(r->push_id), id_cmp,
			 (void *)r->push_id);
	if (!le)
		return;
	p = le->data;
	if (p->wle.list != s->loading)
		return;   /* in memory before this load: its own are newer */

	if (dlv_load(&d, p, r))
		return;
	if (d->state != DS_PENDING)
		p->pap_code = outcome_pap_fold(p->pap_code, d->pap);
	list_append(&p->dlvs, &d->le, d);
}


/* Pushes just loaded go to work, in acceptance order (the query's), so
 * per-target order holds */
static void start_loaded(struct list *loaded)
{
	while (loaded->head) {
		struct push *p = loaded->head->data;

		list_unlink(&p->wle);
		if (!p->dlvs.head) {
			push_start(p);
			continue;
		}
		for (struct le *le = p->dlvs.head; le; le = le->next) {
			struct delivery *d = le->data;

			if (d->state == DS_PENDING)
				(void)deliver_enqueue(d);
		}
		push_resume(p);
		check_final(p);
	}
}


/** After a restart: every push not final goes back to work (a cluster's
 *  node: those of the shards it takes, push_load_shards()) */
int push_load(struct sender *s)
{
	return s->cl ? 0 : push_load_shards(s, NULL);
}


/** A cluster's node took shards (mask; NULL: all) their pending pushes it
 *  does not have go to work. A short synchronous read (docs/design.md). */
/* A push in memory that went nowhere while its shard was not this
 * node's to deliver (push_start() left it): it goes to work */
static bool idle_h(struct le *le, void *arg)
{
	struct push *p = le->data;
	struct list *l = arg;

	if (p->committed && !p->orphan && !p->final && !p->dlvs.head &&
	    !p->wle.list && !(p->defer && tmr_isrunning(p->defer)) &&
	    cluster_owns(p->s, p->aor))
		list_append(l, &p->wle, mem_ref(p));
	return false;
}


int push_load_shards(struct sender *s, const bool *mask)
{
	struct list loaded = LIST_INIT, idle = LIST_INIT;
	int err;

	s->loading = &loaded;
	s->load_mask = mask;
	err = store_push_load_pending_if(s->st, load_wanted, load_push_h,
					 load_dlv_h, s);
	s->load_mask = NULL;
	s->loading = NULL;
	start_loaded(&loaded);

	if (s->cl)
		(void)hash_apply(s->pushes, idle_h, &idle);
	while (idle.head) {
		struct push *p = idle.head->data;

		list_unlink(&p->wle);
		push_start(p);
		mem_deref(p);
	}
	return err;
}


/* Another node's news of a push of a shard this node holds: the push
 * itself (whole: store_push_encode()'s text, nothing read back) or its
 * id (read from the store) */
static int take_news(struct sender *s, const char *arg, bool whole)
{
	struct list loaded = LIST_INIT;
	int err;

	s->loading = &loaded;
	s->load_news = true;
	s->load_announced = whole;
	err = whole ? store_push_decode(arg, load_push_h, s) :
		store_push_get(s->st, arg, load_push_h, load_dlv_h, s);
	s->load_announced = false;
	s->load_news = false;
	s->loading = NULL;
	start_loaded(&loaded);
	return err;
}


/** Another node stored a push of a shard this node holds */
int push_load_one(struct sender *s, const char *id)
{
	return take_news(s, id, false);
}


/** ... and announced it whole: nothing to read back */
int push_take(struct sender *s, const char *txt)
{
	return take_news(s, txt, true);
}


static void adopt_push_h(const struct push_rec *r, void *arg)
{
	struct sender *s = arg;

	/* pending, and (a cluster's node) of a shard it holds */
	if (!r->final_ms && cluster_owns(s, r->aor))
		load_push_h(r, arg);
}


/**
 * A push the store holds and this process does not know: its commit
 * reached the database but the answer was lost (a connection cut, a
 * primary dying after its standby had the commit), so it was answered
 * 503 and forgotten here. A retry with its Idempotency-Key finds it; it
 * goes to work as after a restart. 0 also when it is known or final.
 */
int sender_push_adopt(struct sender *s, const char *id)
{
	struct list loaded = LIST_INIT;
	int err;

	if (!s || !id)
		return EINVAL;
	if (hash_lookup(s->pushes, hash_joaat_str(id), id_cmp, (void *)id))
		return 0;

	s->loading = &loaded;
	err = store_push_get(s->st, id, adopt_push_h, load_dlv_h, s);
	s->loading = NULL;
	if (loaded.head)
		plog(SIPPUSH_LOG_INFO, MOD, "%s: taken up (committed, though "
		     "the answer to its commit was lost)", id);
	start_loaded(&loaded);
	return err == ENOENT ? 0 : err;
}


struct shard_walk {
	uint32_t shard;
	struct push **v;   /**< collect_h(): NULL while it counts */
	size_t n;
	bool busy;
};


static bool shard_h(struct le *le, void *arg)
{
	struct shard_walk *w = arg;
	struct push *p = le->data;

	if (lease_shard_of(p->aor) != w->shard)
		return false;
	for (struct le *dl = p->dlvs.head; dl; dl = dl->next) {
		const struct delivery *d = dl->data;

		if (d->t && d->t->busy == d) {
			w->busy = true;
			break;
		}
	}
	return false;
}


/** Has the shard a request in flight here? */
bool push_busy_shard(struct sender *s, uint32_t shard)
{
	struct shard_walk w = {.shard = shard};

	(void)hash_apply(s->pushes, shard_h, &w);
	return w.busy;
}


static bool collect_h(struct le *le, void *arg)
{
	struct shard_walk *w = arg;
	struct push *p = le->data;

	if (lease_shard_of(p->aor) != w->shard || p->orphan)
		return false;
	if (w->v)
		w->v[w->n] = mem_ref(p);
	++w->n;
	return false;
}


/** The shard is another node's now: its pushes leave memory (what is
 *  in flight ends first, its writes fenced) */
void push_forget_shard(struct sender *s, uint32_t shard)
{
	struct shard_walk w = {.shard = shard};

	/* counted, then collected: a push has no list element to spare
	 * for a walk this rare (its wle may be in a user's list) */
	(void)hash_apply(s->pushes, collect_h, &w);
	if (!w.n)
		return;
	w.v = mem_alloc(w.n * sizeof(*w.v), NULL);
	if (!w.v) {
		plog(SIPPUSH_LOG_WARN, MOD, "shard %u: cannot forget its "
		     "pushes (%m)", shard, ENOMEM);
		return;
	}
	w.n = 0;
	(void)hash_apply(s->pushes, collect_h, &w);
	for (size_t i = 0; i < w.n; i++) {
		push_forget(w.v[i]);
		mem_deref(w.v[i]);
	}
	mem_deref(w.v);
}


/** Why a pending push has sent nothing yet, printed in buf (NULL: it
 *  has, or unknown) */
const char *push_waiting(struct sender *s, const char *id, char *buf,
			 size_t sz)
{
	struct le *le = hash_lookup(s->pushes, hash_joaat_str(id), id_cmp,
				    (void *)id);
	const struct push *p = le ? le->data : NULL;

	if (!p || p->dlvs.head)
		return NULL;

	switch (p->wait) {

	case WAIT_NO_PUSH:
		if (!p->wait_n)
			return "no terminal registered";
		(void)re_snprintf(buf, sz, "%u terminal(s) registered, none "
				  "takes push (no +g.oma.pusheventapp)",
				  p->wait_n);
		return buf;

	case WAIT_TARGET:
		(void)re_snprintf(buf, sz, "terminal %s not registered",
				  p->target);
		return buf;

	case WAIT_NOT_NOW:
		(void)re_snprintf(buf, sz, "%u terminal(s) take push, none "
				  "can have it now: %s (%s)", p->wait_n,
				  plan_reason_name((enum plan_reason)
						   p->wait_why), p->app);
		return buf;

	default:
		return NULL;
	}
}
