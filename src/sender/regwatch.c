/**
 * @file regwatch.c  sippushd as a watcher of the reg event package
 *                   (RFC 3680; 3GPP TS 24.229 §5.7.1, TS §8.1)
 *
 * SUBSCRIBE Event: reg to each --reg-watch URI and, with --reg-watch-auto,
 * to every AoR a third-party REGISTER taught. Each subscription is a libre
 * dialog of its own (sip_dialog_alloc + sip_drequestf), refreshed before
 * it expires and made again after a failure or a retryable termination.
 * NOTIFY bodies (application/reginfo+xml) create, refresh and remove
 * terminal records exactly as REGISTER does, with source "reg"; expiry is
 * still our own timer's. A contact without feature tags (Kamailio's
 * publisher sends none) becomes an AoR-level record reached through the
 * core; what a third-party REGISTER or SUBSCRIBE later teaches about the
 * same contact replaces it (terminal.c).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include <sippush/log.h>
#include "core/param.h"
#include "core/reginfo.h"
#include "core/reqcheck.h"
#include "core/subcli.h"
#include "engine.h"
#include "clock.h"
#include "push.h"
#include "refuse.h"
#include "regwatch.h"
#include "cluster.h"
#include "core/lease.h"
#include "terminal.h"
#include "trust.h"

#define MOD "regwatch"

enum { RETRY_MS = 30000, RESUB_MS = 1000, DEFAULT_CONTACT_EXPIRES = 3600 };

struct regwatch {
	struct le le;            /**< in sender.regwatches                  */
	struct sender *s;
	char *uri;               /**< the watched AoR: Request-URI and To   */
	char *route;             /**< first hop "sip:core;lr", or NULL       */
	struct sip_dialog *dlg;
	struct sip_request *req;
	struct tmr tmr;
	uint32_t expires;
	uint32_t version;        /**< of the last document applied          */
	bool have_version;
	bool active;
	bool unsubscribing;      /**< stopping: Expires: 0 sent             */
};


static void destructor(void *arg)
{
	struct regwatch *w = arg;

	list_unlink(&w->le);
	tmr_cancel(&w->tmr);
	mem_deref(w->req);
	mem_deref(w->dlg);
	mem_deref(w->uri);
	mem_deref(w->route);
}


static int send_subscribe(struct regwatch *w);


static void resub_tmr(void *arg)
{
	struct regwatch *w = arg;
	int err;

	if (w->s->draining)
		return;
	err = send_subscribe(w);

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send SUBSCRIBE (%m)", w->uri,
		     err);
		tmr_start(&w->tmr, RETRY_MS, resub_tmr, w);
	}
}


/* A new dialog after a failure, a 481 or a retryable termination */
static void restart(struct regwatch *w, uint64_t ms)
{
	w->dlg = mem_deref(w->dlg);
	w->req = mem_deref(w->req);
	w->active = false;
	w->have_version = false;
	tmr_start(&w->tmr, ms, resub_tmr, w);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct regwatch *w = arg;
	const struct sip_hdr *h;
	uint32_t expires = w->expires;

	if (w->unsubscribing) {
		if (err || msg->scode >= 200) {
			plog(SIPPUSH_LOG_INFO, MOD, "%s: unsubscribed (%s)", w->uri,
			     err ? "no answer" : "answered");
			mem_deref(w);
		}
		return;
	}
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE failed (%m)", w->uri, err);
		restart(w, RETRY_MS);
		return;
	}
	if (msg->scode < 200)
		return;

	if (msg->scode == 423 &&
	    (h = sip_msg_hdr(msg, SIP_HDR_MIN_EXPIRES)) &&
	    !pl_u32_strict(&h->val, &expires) && expires > w->expires) {
		w->expires = expires;
		(void)send_subscribe(w);
		return;
	}
	if (msg->scode >= 300) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE answered %u %r", w->uri,
		     msg->scode, &msg->reason);
		restart(w, msg->scode == 481 ? RESUB_MS : RETRY_MS);
		return;
	}

	/* a NOTIFY may have made the dialog before this 200 */
	if (!sip_dialog_established(w->dlg) &&
	    sip_dialog_create(w->dlg, msg)) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: 200 without a usable Contact",
		     w->uri);
		restart(w, RETRY_MS);
		return;
	}
	h = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	if (!h || pl_u32_strict(&h->val, &expires))
		expires = w->expires;
	if (!expires)
		return;   /* ended at once: its NOTIFY says why */

	if (!w->active)
		plog(SIPPUSH_LOG_INFO, MOD, "%s: watching for %u s", w->uri, expires);
	w->active = true;
	tmr_start(&w->tmr, subcli_refresh_ms(expires), resub_tmr, w);
}


static int contact_h(enum sip_transp tp, const struct sa *src,
		     const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct regwatch *w = arg;
	struct sip_contact c;
	(void)dst;

	sip_contact_set(&c, w->s->conf.contact_user, src, tp);
	return mbuf_printf(mb, "%H", sip_contact_print, &c);
}


static int send_subscribe(struct regwatch *w)
{
	struct sender *s = w->s;
	const char *routev[1] = {w->route};
	int err;

	if (!w->dlg) {
		err = sip_dialog_alloc(&w->dlg, w->uri, w->uri, NULL,
				       s->conf.identity, routev,
				       w->route ? 1 : 0);
		if (err)
			return err;
	}

	w->req = mem_deref(w->req);
	return sip_drequestf(&w->req, s->sip, true, "SUBSCRIBE", w->dlg, 0,
			     NULL, contact_h, resp_h, w,
			     "Event: reg\r\n"
			     "Accept: application/reginfo+xml\r\n"
			     "Expires: %u\r\n"
			     "Content-Length: 0\r\n\r\n",
			     w->unsubscribing ? 0 : w->expires);
}


static struct regwatch *find(const struct sender *s, const char *uri)
{
	for (struct le *le = s->regwatches.head; le; le = le->next) {
		struct regwatch *w = le->data;

		if (!str_cmp(w->uri, uri))
			return w;
	}
	return NULL;
}


/**
 * Watch the registrations of an AoR (idempotent). route: the core to
 * send the SUBSCRIBE through ("sip:host:port;lr"), or NULL for
 * --outbound or the AoR's own host.
 */
int regwatch_start(struct sender *s, const char *uri, const char *route)
{
	struct regwatch *w;
	int err;

	char key[256];

	if (!s || !uri)
		return EINVAL;
	/* watched under its AoR key: what reg events and lookups name */
	if (aor_canon(key, sizeof(key), uri))
		return EINVAL;
	uri = key;
	/* a cluster: the owner of the AoR's shard watches it */
	if (find(s, uri) || s->draining || !cluster_owns(s, uri))
		return 0;
	if (list_count(&s->regwatches) >= REGWATCH_MAX)
		return E2BIG;

	w = mem_zalloc(sizeof(*w), destructor);
	if (!w)
		return ENOMEM;
	w->s = s;
	w->expires = s->conf.reg_watch_expires ? s->conf.reg_watch_expires :
		3600;
	tmr_init(&w->tmr);
	err = str_dup(&w->uri, uri);
	if (!err && (route || s->conf.outbound))
		err = str_dup(&w->route, s->conf.outbound ? s->conf.outbound :
			      route);
	if (err) {
		mem_deref(w);
		return err;
	}
	list_append(&s->regwatches, &w->le, w);
	plog(SIPPUSH_LOG_INFO, MOD, "%s: subscribing to its reg event", uri);
	tmr_start(&w->tmr, 0, resub_tmr, w);
	return 0;
}


/** --reg-watch URIs, and (auto) the AoRs third-party REGISTERs taught */
void regwatch_start_all(struct sender *s)
{
	for (size_t i = 0; i < s->conf.reg_watchn; i++)
		if (regwatch_start(s, s->conf.reg_watchv[i], NULL))
			plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot watch",
			     s->conf.reg_watchv[i]);
}


/**
 * A third-party REGISTER taught this AoR: watch it too (--reg-watch-auto),
 * through the core that sent it (route "sip:core;lr").
 */
void regwatch_auto(struct sender *s, const char *aor, const char *route)
{
	if (!s->conf.reg_watch_auto)
		return;
	if (regwatch_start(s, aor, route))
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot watch", aor);
}


static bool loaded_h(struct le *le, void *arg)
{
	const struct user *u = le->data;
	char route[256];
	struct pl r;
	(void)arg;

	for (struct le *l = u->terms.head; l; l = l->next) {
		const struct terminal *t = l->data;

		/* its path is the core's "<sip:core;lr>" */
		if (str_cmp(t->source, "third-party") || !t->path ||
		    re_regex(t->path, strlen(t->path), "<[^>]+>", &r))
			continue;
		(void)pl_strcpy(&r, route, sizeof(route));
		regwatch_auto(u->s, u->aor, route);
		break;
	}
	return false;
}


/** After a restart: the AoRs third-party REGISTERs taught, watched again
 *  (a cluster's node: those of its shards, again when it takes more) */
void regwatch_loaded(struct sender *s)
{
	if (s->conf.reg_watch_auto)
		(void)hash_apply(s->users, loaded_h, NULL);
}


/** A cluster's node now owns this user (its terminals re-read): watch it
 *  if a third-party REGISTER taught it */
void regwatch_user(struct sender *s, struct user *u)
{
	if (s->conf.reg_watch_auto && u)
		(void)loaded_h(&u->he, NULL);
}


/** The shard is another node's now: its watches go (not unsubscribed:
 *  this node may no longer send; the core's subscription ends with its
 *  expiry or the 481 its next NOTIFY gets) */
void regwatch_drop_shard(struct sender *s, uint32_t shard)
{
	struct le *le = s->regwatches.head;

	while (le) {
		struct regwatch *w = le->data;

		le = le->next;
		if (lease_shard_of(w->uri) == shard)
			mem_deref(w);
	}
}


static struct regwatch *match(struct sender *s, const struct sip_msg *msg)
{
	for (struct le *le = s->regwatches.head; le; le = le->next) {
		struct regwatch *w = le->data;

		if (subcli_match(w->dlg, msg))
			return w;
	}
	return NULL;
}


static bool gone(const struct reginfo_contact *c)
{
	return !strcmp(c->state, "terminated") || !strcmp(c->event,
							   "expired") ||
		!strcmp(c->event, "deactivated") ||
		!strcmp(c->event, "unregistered") ||
		!strcmp(c->event, "rejected");
}


/* A terminal of the user that already knows this contact, with its
 * instance: it is richer than an AoR-level record of the same contact */
static struct terminal *known_contact(struct user *u, const char *uri)
{
	for (struct le *le = u ? u->terms.head : NULL; le; le = le->next) {
		struct terminal *t = le->data;

		if (t->instance && !str_casecmp(t->contact, uri))
			return t;
	}
	return NULL;
}


static void apply_contact(struct regwatch *w, const char *aor,
			  const struct reginfo_contact *c, const char *path)
{
	struct sender *s = w->s;
	const char *tkey = c->instance[0] ? c->instance : c->uri;
	struct user *u = user_find(s, aor);
	struct terminal *t = term_find(u, tkey);
	uint32_t expires = c->has_expires ? c->expires :
		DEFAULT_CONTACT_EXPIRES;
	struct term_rec r;
	bool became = false;

	if (gone(c) || !expires) {
		if (t) {
			plog(SIPPUSH_LOG_INFO, MOD, "%s: %s %s (reg event)", aor,
			     tkey, c->event);
			term_remove(t);
		}
		return;
	}
	if (!c->instance[0] && known_contact(u, c->uri))
		return;
	if (expires > s->conf.max_expires)
		expires = s->conf.max_expires;

	r = (struct term_rec){
		.aor = aor, .tkey = tkey,
		.instance = c->instance[0] ? c->instance : NULL,
		.contact = c->uri,
		.pub_gruu = c->pub_gruu[0] ? c->pub_gruu : NULL,
		.temp_gruu = c->temp_gruu[0] ? c->temp_gruu : NULL,
		.apps = c->has_push && c->apps[0] ? c->apps : NULL,
		.methods = c->methods[0] ? c->methods : NULL,
		/* reached through the core that told us, like a third-party
		 * REGISTER's record (without an instance: by the AoR) */
		.path = path,
		.source = "reg",
		.expires_at = sender_now_s(w->s) + expires,
		/* applications unknown: try it, as for third-party ones */
		.push = c->has_push || !c->instance[0],
	};
	if (term_upsert(s, &r, &became))
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot store %s", aor, tkey);
	else if (became)
		push_user_ready(user_find(s, aor));
}


static bool listed(const struct reginfo_reg *reg, const char *tkey)
{
	for (size_t i = 0; i < reg->contactn; i++) {
		const struct reginfo_contact *c = &reg->contactv[i];

		if (!strcmp(c->instance[0] ? c->instance : c->uri, tkey))
			return true;
	}
	return false;
}


/* Full state, or the whole registration gone: what the document does not
 * list of what this source taught is gone */
static void prune(struct sender *s, const char *aor,
		  const struct reginfo_reg *reg)
{
	struct user *u = user_find(s, aor);
	struct le *le = u ? u->terms.head : NULL;

	while (le) {
		struct terminal *t = le->data;

		le = le->next;
		if (str_cmp(t->source, "reg"))
			continue;
		if (reg && listed(reg, t->tkey))
			continue;
		plog(SIPPUSH_LOG_INFO, MOD, "%s: %s no longer registered (reg event)",
		     aor, t->tkey);
		term_remove(t);
	}
}


static void apply(struct regwatch *w, const struct reginfo *ri,
		  const char *path)
{
	char aor[256];
	bool seen_self = false;

	for (size_t i = 0; i < ri->regn; i++) {
		const struct reginfo_reg *reg = &ri->regv[i];
		struct uri u;
		struct pl pl;

		pl_set_str(&pl, reg->aor);
		if (uri_decode(&u, &pl) || aor_print(aor, sizeof(aor), &u)) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: registration of a bad AoR "
			     "'%s' ignored", w->uri, reg->aor);
			continue;
		}
		/* the watch is about one AoR: its notifier speaks for no
		 * one else */
		if (str_cmp(aor, w->uri)) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: registration of %s in its "
			     "reg event ignored", w->uri, aor);
			continue;
		}
		seen_self = true;

		for (size_t j = 0; j < reg->contactn; j++)
			apply_contact(w, aor, &reg->contactv[j], path);

		if (!strcmp(reg->state, "terminated"))
			prune(w->s, aor, NULL);
		else if (ri->full)
			prune(w->s, aor, reg);
	}

	/* full state without our AoR: nothing of it is registered */
	if (ri->full && !seen_self)
		prune(w->s, w->uri, NULL);
}


/* The document: 400 when it is broken; older versions are dropped */
static void body(struct regwatch *w, const struct sip_msg *msg)
{
	struct reginfo *ri = NULL;
	char why[96], path[80] = "";
	int err;

	if (!msg_ctype_cmp(&msg->ctyp, "application", "reginfo+xml")) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: NOTIFY of type %r refused", w->uri,
		     &msg->ctyp.type);
		(void)sip_reply(w->s->sip, msg, 415, "Unsupported Media Type");
		return;
	}
	err = reginfo_decode(&ri, (const char *)mbuf_buf(msg->mb),
			     mbuf_get_left(msg->mb), why, sizeof(why));
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: bad reginfo from %J: %s", w->uri,
		     &msg->src, why);
		(void)sip_replyf(w->s->sip, msg, 400, "Bad reginfo",
				 "Warning: 399 sippushd \"%s\"\r\n"
				 "Content-Length: 0\r\n\r\n", why);
		return;
	}
	(void)sip_reply(w->s->sip, msg, 200, "OK");

	/* RFC 3680 §5.2: an old or repeated version is discarded; a gap
	 * in partial state asks for the full state again (a refresh).
	 * Kamailio 5.6 (pua_reginfo + presence_reginfo) sends every
	 * document as version 0, state full: a full document of the same
	 * version replaces the state (idempotent), so it is applied. */
	if (w->have_version && (ri->version < w->version ||
				(ri->version == w->version && !ri->full))) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: reginfo version %u after %u: "
		     "ignored", w->uri, ri->version, w->version);
		goto out;
	}
	if (w->have_version && !ri->full && ri->version > w->version + 1) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: reginfo version %u after %u: "
		     "asking for full state", w->uri, ri->version,
		     w->version);
		tmr_start(&w->tmr, 0, resub_tmr, w);
	}
	w->version = ri->version;
	w->have_version = true;

	/* AoR-level records go back through the core that told us */
	if (w->route)
		re_snprintf(path, sizeof(path), "<%s>", w->route);
	else
		re_snprintf(path, sizeof(path), "<sip:%J;lr>", &msg->src);
	apply(w, ri, path);
 out:
	mem_deref(ri);
}


/**
 * A NOTIFY of one of our reg subscriptions (also before its 200).
 * Returns false when it is not one.
 */
bool regwatch_notify(struct sender *s, const struct sip_msg *msg)
{
	const char *reason = NULL;
	struct regwatch *w;
	struct substate ss;
	uint16_t scode;

	if (pl_strcmp(&msg->met, "NOTIFY") || !s->regwatches.head)
		return false;
	w = match(s, msg);
	if (!w)
		return false;

	/* its documents create bindings: believed from the core only (a
	 * trusted peer, trust.c), before the dialog takes anything of it */
	if (!sender_trusted(s, msg)) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: NOTIFY from %J (%s) refused: not a "
		     "trusted peer", w->uri, &msg->src,
		     sip_transp_name(msg->tp));
		sender_refuse(s, msg, 403, "Forbidden");
		return true;
	}

	scode = subcli_notify(w->dlg, msg, &ss, &reason);
	if (scode) {
		(void)sip_reply(s->sip, msg, scode, reason);
		return true;
	}

	if (mbuf_get_left(msg->mb))
		body(w, msg);
	else
		(void)sip_reply(s->sip, msg, 200, "OK");

	if (!pl_strcasecmp(&ss.state, "terminated")) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: reg subscription terminated (%r)",
		     w->uri, &ss.reason);
		if (w->unsubscribing)
			return true;   /* the answer to our Expires: 0 frees it */
		if (substate_retryable(&ss.reason))
			restart(w, ss.has_retry_after ?
				(uint64_t)ss.retry_after * 1000 : RESUB_MS);
		else
			mem_deref(w);
		return true;
	}
	if (!w->unsubscribing)
		w->active = true;
	return true;
}


/**
 * Stopping: SUBSCRIBE Expires: 0 in every established dialog, so the
 * core stops notifying at once rather than when the subscription would
 * have expired (up to --reg-watch-expires later); the others just go.
 * Returns how many unsubscribes are waiting for their answer.
 */
uint32_t regwatch_stop_all(struct sender *s)
{
	struct le *le = s->regwatches.head;

	while (le) {
		struct regwatch *w = le->data;

		le = le->next;
		if (w->unsubscribing)
			continue;
		tmr_cancel(&w->tmr);
		if (!w->active || !w->dlg ||
		    !sip_dialog_established(w->dlg)) {
			mem_deref(w);
			continue;
		}
		w->unsubscribing = true;
		if (send_subscribe(w))
			mem_deref(w);
	}
	return (uint32_t)list_count(&s->regwatches);
}


/** Watches, for GET /metrics and the status */
uint32_t regwatch_count(const struct sender *s)
{
	return (uint32_t)list_count(&s->regwatches);
}
