/**
 * @file delivery.c  A delivery: one push to one terminal, by one method at
 *                   a time. Owns struct delivery: making one (planned, or
 *                   loaded after a restart), its steps for the status, its
 *                   row in the store, its body and its first hop.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <openssl/sha.h>
#include <re.h>
#include "core/extbody.h"
#include "core/appid.h"
#include "core/imshdr.h"
#include "core/param.h"
#include "core/strpack.h"
#include "engine.h"
#include "cluster.h"
#include "delivery.h"
#include "clock.h"
#include "terminal.h"


static int dup_opt(char **dst, const char *src)
{
	return src ? str_dup(dst, src) : 0;
}


/* A delivery's first key, terminal, Request-URI and Call-ID sit after
 * it, in its own allocation (one, not five, per push); one replaced later
 * is a string of its own (dlv_set_str) */
static bool in_block(const struct delivery *d, const char *str)
{
	uintptr_t b = (uintptr_t)(d + 1), u = (uintptr_t)str;

	return u >= b && u < b + d->strs_len;
}


/** Replaces one of those four (str a mem string, taken, or NULL) */
void dlv_set_str(struct delivery *d, char **field, char *str)
{
	if (*field && !in_block(d, *field))
		mem_deref(*field);
	*field = str;
}


static void dlv_destructor(void *arg)
{
	struct delivery *d = arg;

	list_unlink(&d->le);
	dlv_dequeue(d);
	list_unlink(&d->ale);
	tmr_cancel(&d->tmr);
	dlv_set_str(d, &d->tkey, NULL);
	dlv_set_str(d, &d->terminal, NULL);
	dlv_set_str(d, &d->ruri, NULL);
	mem_deref(d->route);
	dlv_set_str(d, &d->call_id, NULL);
	mem_deref(d->last_error);
	mem_deref(d->steps);
	mem_deref(d->refer_rtag);
}


static struct delivery *dlv_alloc(struct push *p, const char *tkey,
				  const char *terminal, const char *ruri,
				  const char *call_id)
{
	const char *v[] = {tkey, terminal, ruri, call_id};
	struct delivery *d;
	size_t len = 0;
	char *at;

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		len += strpack_size(v[i]);

	d = mem_zalloc(sizeof(*d) + len, dlv_destructor);
	if (!d)
		return NULL;

	d->p = p;
	d->strs_len = len;
	at = (char *)(d + 1);
	d->tkey = strpack_put(&at, tkey);
	d->terminal = strpack_put(&at, terminal);
	d->ruri = strpack_put(&at, ruri);
	d->call_id = strpack_put(&at, call_id);
	return d;
}


/**
 * The Request-URI of a request to a terminal (TS §7.1.2, §7.2.3.1).
 * Through a core: its GRUU, else the public identity (with the terminal's
 * instance as a caller preference: dlv_instance()), never the contact — a
 * P-CSCF refuses URIs it has no registration for. As its registrar,
 * sippushd keeps the contact (or flow), or the GRUU it gave when every
 * request goes through --outbound.
 */
const char *dlv_dest_ruri(const struct terminal *t, const char *aor)
{
	const char *gruu;

	if (!term_via_core(t))
		return t->pub_gruu && t->u->s->conf.outbound ? t->pub_gruu :
			t->contact;

	gruu = term_gruu(t, NULL);
	return gruu ? gruu : aor;
}


/** Is the delivery's Request-URI a GRUU (has a "gr" parameter)? */
bool dlv_to_gruu(const struct delivery *d)
{
	struct pl pl, gr;
	struct uri uri;

	pl_set_str(&pl, d->ruri);
	return !uri_decode(&uri, &pl) &&
		!msg_param_decode(&uri.params, "gr", &gr);
}


/**
 * Is the delivery for a plain SIP client (registered without the push
 * feature tag, taken by --plain-apps)? Its request then states the
 * application as a preference only: "require;explicit" would make a core
 * that applies caller preferences (RFC 3841) leave it out.
 */
bool dlv_plain(const struct delivery *d)
{
	const struct terminal *t;

	/* off by default: no lookup per MESSAGE then */
	if (!d->p->s->conf.plain_apps)
		return false;
	t = term_find(user_find(d->p->s, d->p->aor), d->tkey);
	return t && !t->push;
}


/**
 * The terminal a request to the public identity is meant for, as a caller
 * preference (Accept-Contact: *;+sip.instance="<...>";require;explicit,
 * RFC 3841): its instance, which is its key. NULL when the Request-URI
 * names the terminal itself, or the delivery is for every terminal.
 */
const char *dlv_instance(const struct delivery *d)
{
	if (str_casecmp(d->ruri, d->p->aor) || !d->tkey)
		return NULL;
	/* a terminal without an instance is keyed by its contact URI */
	if (!strncasecmp(d->tkey, "sip:", 4) ||
	    !strncasecmp(d->tkey, "sips:", 5) ||
	    !strncasecmp(d->tkey, "tel:", 4) || !str_casecmp(d->tkey,
							     d->p->aor))
		return NULL;
	return d->tkey;
}


/** v as 8 lower-case hex digits and a NUL ("%08x") */
void dlv_hex8(char out[9], uint32_t v)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++)
		out[i] = hex[(v >> (28 - 4 * i)) & 0xf];
	out[8] = '\0';
}


/** The Call-ID of a push's delivery keyed by key: "<push id>.<8 hex>@sippush"
 *  (cid must hold 40). Written, not printed: twice per delivery. */
void dlv_call_id(char *cid, size_t sz, const struct push *p, const char *key)
{
	const size_t n = strlen(p->id);

	if (n + 18 > sz) {   /* what re_snprintf() leaves, cut */
		re_snprintf(cid, sz, "%s.%08x@sippush", p->id,
			    hash_joaat_str(key));
		return;
	}
	memcpy(cid, p->id, n);
	cid[n] = '.';
	dlv_hex8(cid + n + 1, hash_joaat_str(key));
	memcpy(cid + n + 9, "@sippush", 9);
}


int dlv_new(struct delivery **dp, struct push *p,
		   const struct terminal *t, const struct plan *pl)
{
	const char *term, *ruri;
	char cid[40];
	struct delivery *d;
	int err;

	/* derived, not drawn: a delivery planned again after a crash keeps
	 * the Call-ID its first attempt may already have carried */
	dlv_call_id(cid, sizeof(cid), p, t->tkey);

	term = term_gruu(t, NULL) ? term_gruu(t, NULL) : t->contact;
	ruri = dlv_dest_ruri(t, p->aor);
	if (!t->tkey || !term || !ruri)
		return EINVAL;
	d = dlv_alloc(p, t->tkey, term, ruri, cid);
	if (!d)
		return ENOMEM;

	/* A push accepted but not yet planned in the store when we crashed
	 * is planned again with the same Call-ID and From tag: if its first
	 * CSeq were the same too, a terminal that still has the first
	 * MESSAGE's transaction (32 s) answers the new one 482 (RFC 3261
	 * §8.2.2.2, merged request). Start from the clock in 10 ms steps:
	 * a later plan starts higher (and stays below 2^31). */
	d->cseq = (uint32_t)((sender_now_ms(p->s) / 10) % 100000000);

	err = dup_opt(&d->route, t->path);
	d->route_gen = p->s->route_gen;
	if (err) {
		mem_deref(d);
		return ENOMEM;
	}

	d->indirect = pl->indirect;
	d->kind = pl->kind;
	if (pl->reason != PR_OK && pl->kind != PLAN_NONE)
		dlv_step(d, "%s: %s", plan_reason_name(pl->reason),
			 plan_kind_name(pl->kind));
	else
		dlv_step(d, "%s", plan_kind_name(pl->kind));
	list_append(&p->dlvs, &d->le, d);
	*dp = d;
	return 0;
}


/** A delivery as the store has it (after a restart); not in p->dlvs yet */
int dlv_load(struct delivery **dp, struct push *p, const struct dlv_rec *r)
{
	struct delivery *d;
	int err;

	if (!r->tkey || !r->ruri || !r->call_id)
		return EINVAL;
	d = dlv_alloc(p, r->tkey, r->terminal, r->ruri, r->call_id);
	if (!d)
		return ENOMEM;

	err  = dup_opt(&d->route, r->route);
	err |= dup_opt(&d->last_error, r->last_error);
	if (err) {
		mem_deref(d);
		return ENOMEM;
	}
	{
		struct pl st;
		pl_set_str(&st, r->state);
		if (delivery_state_decode(&d->state, &st))
			d->state = DS_PENDING;
	}
	d->scode = r->sip_status;
	d->pap = r->pap_code;
	d->attempts = r->attempts;
	d->cseq = r->cseq + 1;   /* the last send may not have been stored */
	d->indirect = r->indirect;
	{
		struct pl m;
		pl_set_str(&m, r->method);
		if (plan_kind_decode(&d->kind, &m) || d->kind == PLAN_NONE)
			d->kind = PLAN_MESSAGE;
	}
	if (r->steps)
		(void)str_dup(&d->steps, r->steps);
	*dp = d;
	return 0;
}


/** Note a step of a delivery for its status: "refer 202; notify 200" */
void dlv_step(struct delivery *d, const char *fmt, ...)
{
	char *prev = d->steps, *add = NULL;
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsdprintf(&add, fmt, ap);
	va_end(ap);
	if (!add)
		return;

	/* bounded: a long retry story keeps its start and its end */
	if (prev && strlen(prev) > 400) {
		d->steps = NULL;
		(void)re_sdprintf(&d->steps, "%.200s; ...; %s", prev, add);
	}
	else if (prev) {
		d->steps = NULL;
		(void)re_sdprintf(&d->steps, "%s; %s", prev, add);
	}
	else {
		d->steps = mem_ref(add);
		prev = NULL;
	}
	if (!d->steps)
		d->steps = mem_ref(prev);
	mem_deref(prev);
	mem_deref(add);
}


int dlv_save(struct delivery *d)
{
	const struct dlv_rec r = {
		.push_id = d->p->id, .tkey = d->tkey, .terminal = d->terminal,
		.ruri = d->ruri, .route = d->route,
		.method = plan_kind_name(d->kind),
		.state = delivery_state_name(d->state),
		.last_error = d->last_error, .call_id = d->call_id,
		.sip_status = d->scode, .pap_code = d->pap,
		.attempts = d->attempts, .cseq = d->cseq,
		.indirect = d->indirect, .steps = d->steps,
	};

	struct store *st = d->p->s->st;
	int err;

	(void)store_fence(st, cluster_fence(d->p->s, d->p->aor));
	err = store_dlv_put(st, &r);
	(void)store_fence(st, NULL);
	return err;
}


static int content_url(char *buf, size_t sz, const struct push *p)
{
	if (p->url)
		return re_snprintf(buf, sz, "%s", p->url) < 0 ? ENOMEM : 0;
	if (!p->s->conf.content_base || !p->token)
		return ENOTSUP;
	return re_snprintf(buf, sz, "%s/v1/content/%s",
			   p->s->conf.content_base, p->token) < 0 ? ENOMEM : 0;
}


/**
 * The body of a delivery: the content inline, or a message/external-body
 * pointing at it (RFC 4483) when planned so or when only a URL is known.
 * *ctype is NULL for inline content (the push's type applies).
 */
int dlv_content(const struct delivery *d, char **ctype, char **entity,
		const uint8_t **body, size_t *body_len, bool *indirect)
{
	const struct push *p = d->p;
	const struct sender *s = p->s;
	char url[512], cid[64];
	uint8_t sha1[20];
	int err;

	*ctype = NULL;
	*entity = NULL;
	if (!d->indirect && p->body && !p->nfiles) {
		*body = p->body;
		*body_len = p->body_len;
		*indirect = false;
		return 0;
	}

	struct extbody_spec es = {
		.url = url, .size = -1, .ctype = p->ctype, .cid = cid,
		.disposition = "render",
		.expiration = (uint64_t)(p->expires_ms / 1000) +
			s->conf.content_ttl,
	};

	err = content_url(url, sizeof(url), p);
	if (err)
		return err;
	re_snprintf(cid, sizeof(cid), "%s@sippush", p->id);
	if (!p->url && p->body) {
		SHA1(p->body, p->body_len, sha1);
		es.sha1 = sha1;
		es.size = (int64_t)p->body_len;
	}
	else if (!p->url && p->nfiles) {
		/* the first file is what /v1/content/{token} serves */
		es.ctype = p->files[0].ctype;
		es.size = (int64_t)p->files[0].size;
		es.sha1 = p->files[0].has_sha1 ? p->files[0].sha1 : NULL;
	}
	err  = re_sdprintf(ctype, "%H", extbody_ctype_print, &es);
	err |= re_sdprintf(entity, "%H", extbody_entity_print, &es);
	if (err) {
		*ctype = mem_deref(*ctype);
		*entity = mem_deref(*entity);
		return ENOMEM;
	}
	*body = (const uint8_t *)*entity;
	*body_len = strlen(*entity);
	*indirect = true;
	return 0;
}


/**
 * Before each attempt: a terminal that registered again since the
 * delivery was planned may be reached another way (a new RFC 5626 flow
 * after a lost connection, another Path); its current route wins.
 */
void dlv_route_refresh(struct delivery *d)
{
	struct sender *s = d->p->s;
	struct terminal *t;
	char *route = NULL;

	/* a route comes from a terminal (dlv_new) or the store (dlv_load,
	 * generation 0): while no terminal went and no Path changed, it
	 * holds (the look-up was 2 % of an offline drain's CPU) */
	if (d->route_gen == s->route_gen)
		return;
	d->route_gen = s->route_gen;

	t = term_find(user_find(s, d->p->aor), d->tkey);
	if (!t || (t->path && d->route ? !strcmp(t->path, d->route) :
		   t->path == d->route))
		return;
	if (t->path && str_dup(&route, t->path))
		return;
	mem_deref(d->route);
	d->route = route;
	dlv_step(d, "route %s", route ? route : "none");
	(void)dlv_save(d);
}


/** The first hop of an out-of-dialog request: the core, Path, or R-URI */
int dlv_first_hop(const struct delivery *d, struct uri *route)
{
	const struct sender *s = d->p->s;
	struct pl hop;

	if (s->conf.outbound)
		pl_set_str(&hop, s->conf.outbound);
	else if (d->route) {
		struct sip_addr a;
		struct pl rs;

		pl_set_str(&rs, d->route);
		if (sip_addr_decode(&a, &rs))
			return EINVAL;
		hop = a.auri;
	}
	else
		pl_set_str(&hop, d->ruri);

	return uri_decode(route, &hop);
}


/** Take a delivery out of its destination's queue (if in one) */
void dlv_dequeue(struct delivery *d)
{
	struct target *t;

	if (!d->qle.list)
		return;
	t = (struct target *)(void *)((char *)d->qle.list -
				      offsetof(struct target, q));
	--t->nq;
	if (target_counted(t))
		--t->s->stats.backlog;
	list_unlink(&d->qle);
}


/** Who the push's requests come from: its initiator, else sippushd */
const char *push_from(const struct push *p)
{
	return p->identity ? p->identity : p->s->conf.identity;
}


/** The identity asserted for it, or NULL (an untrusted initiator) */
const char *push_pai(const struct push *p)
{
	return p->asserted ? push_from(p) : NULL;
}


/** The ICSI --icsi names for an ARI: the service a request asserts */
const char *dlv_icsi(const struct sender *s, const char *ari)
{
	struct pl a, b;

	pl_set_str(&a, ari);
	for (size_t i = 0; i < s->conf.icsin; i++) {
		pl_set_str(&b, s->conf.icsiv[i].ari);
		if (appid_equal(&a, &b))
			return s->conf.icsiv[i].name;
	}
	return NULL;
}


/* Does the request go through an IMS core? --outbound, or a terminal
 * learnt through one; without its record, a request not to a contact */
static bool via_core(const struct delivery *d)
{
	const struct terminal *t = term_find(user_find(d->p->s, d->p->aor),
					     d->tkey);

	if (t)
		return term_charged(t);
	if (d->p->s->conf.outbound)
		return true;
	return dlv_to_gruu(d) || !str_casecmp(d->ruri, d->p->aor);
}


/**
 * The IMS headers of a delivery's requests. Through a core: its charging
 * id (icid-value: the Call-ID's local part, one per delivery, so its
 * retries are one charged event), --orig-ioi, the application's ICSI as
 * the asserted service. Always: the push's Privacy. icid must hold 40
 * characters.
 */
void dlv_ims(const struct delivery *d, struct ims_hdrs *h, char *icid,
	     size_t sz)
{
	dlv_ims_of(h, icid, sz, d->p, d->call_id, via_core(d));
}


/** The IMS headers of a push's request with this Call-ID, through a core
 *  (core) or not: what dlv_ims() gives, before a delivery exists */
void dlv_ims_of(struct ims_hdrs *h, char *icid, size_t sz,
		const struct push *p, const char *call_id, bool core)
{
	const struct sender *s = p->s;
	const char *at = strchr(call_id, '@');
	const size_t n = at ? (size_t)(at - call_id) : strlen(call_id);

	/* the Call-ID's local part ("%b": nothing at all if too long) */
	if (sz) {
		const size_t k = n < sz ? n : 0;

		memcpy(icid, call_id, k);
		icid[k] = '\0';
	}
	*h = (struct ims_hdrs){
		.icid = core ? icid : NULL,
		.orig_ioi = core ? s->conf.orig_ioi : NULL,
		.service = core ? dlv_icsi(s, p->app) : NULL,
		.privacy = p->privacy,
	};
}
