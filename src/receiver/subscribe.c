/**
 * @file subscribe.c  The terminal's oma-app subscriptions (TS §7.2)
 *
 * libre's sipevent subscriber compares the whole Event header, so a
 * SUBSCRIBE carrying ua-profile parameters would answer the notifier's
 * NOTIFY with 481 (docs/design.md, libre 1.1.0). Each subscription here is its own libre
 * dialog (sip_dialog_alloc + sip_drequestf); NOTIFYs are matched to it by
 * Call-ID and tags, also one that comes before the 200.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "core/aor.h"
#include "core/featuretag.h"
#include "core/param.h"
#include "core/regrefresh.h"
#include "core/reqcheck.h"
#include "core/subcli.h"
#include "core/uaprofile.h"
#include "bodypush.h"
#include "contact.h"
#include "subscribe.h"

#define MOD "subscribe"

enum { MAX_AUTH = 3, RESUB_MS = 1000 };

struct subs {
	struct list subs;        /**< struct rsub                        */
	struct sip *sip;
	struct sip_auth *auth;
	const struct receiver_conf *conf;
	const struct contact *c;
	struct bodypush *bp;     /**< where a NOTIFY's content goes      */
	bool stopping;           /**< no restarts (unregistering)        */
};

/* One oma-app subscription of this terminal (its own libre dialog) */
struct rsub {
	struct le le;            /**< in subs.subs                       */
	struct subs *s;
	const struct receiver_app *app;
	char *uri;               /**< Request-URI: the PSA or the AoR    */
	char *event;             /**< the whole Event header value       */
	char *ac;                /**< Accept-Contact                     */
	struct sip_dialog *dlg;
	struct sip_request *req;
	subs_result_h *resh;     /**< told the first outcome, once       */
	void *resarg;            /**< a reference until then             */
	struct tmr tmr;          /**< refresh or retry                   */
	uint32_t expires;
	uint32_t auth_tries;
	uint32_t short_grants;   /**< too-short grants in a row (backoff) */
	bool active;
	bool notified;           /**< its first NOTIFY came              */
	bool unsubscribing;
};


static void subs_destructor(void *arg)
{
	struct subs *s = arg;

	list_flush(&s->subs);
}


static void rsub_destructor(void *arg)
{
	struct rsub *rs = arg;

	list_unlink(&rs->le);
	tmr_cancel(&rs->tmr);
	mem_deref(rs->req);
	mem_deref(rs->dlg);
	mem_deref(rs->uri);
	mem_deref(rs->event);
	mem_deref(rs->ac);
	mem_deref(rs->resarg);
}


/* The first outcome, to whoever asked (a REFER) */
static void result(struct rsub *rs, uint16_t code)
{
	subs_result_h *resh = rs->resh;
	void *arg = rs->resarg;

	if (!resh)
		return;
	rs->resh = NULL;
	rs->resarg = NULL;   /* the reference passes to the handler */
	resh(code, arg);
}


static int send_subscribe(struct rsub *rs);


static void resub_tmr(void *arg)
{
	struct rsub *rs = arg;
	int err = send_subscribe(rs);

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send SUBSCRIBE (%m)",
		     rs->app->id, err);
		tmr_start(&rs->tmr, rs->s->conf->retry_ms, resub_tmr, rs);
	}
}


/* Start over with a new dialog (after 481, a failure, or termination) */
static void restart(struct rsub *rs, uint64_t ms)
{
	rs->dlg = mem_deref(rs->dlg);
	rs->req = mem_deref(rs->req);
	rs->active = false;
	rs->auth_tries = 0;
	if (rs->s->stopping)
		return;
	tmr_start(&rs->tmr, ms, resub_tmr, rs);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct rsub *rs = arg;
	const struct sip_hdr *h;
	uint32_t expires;

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE failed (%m) at %s",
		     rs->app->id, err, rs->uri);
		result(rs, 408);
		restart(rs, rs->s->conf->retry_ms);
		return;
	}
	if (msg->scode < 200)
		return;

	if ((msg->scode == 401 || msg->scode == 407) &&
	    rs->auth_tries++ < MAX_AUTH &&
	    !sip_auth_authenticate(rs->s->auth, msg)) {
		(void)send_subscribe(rs);
		return;
	}

	if (msg->scode == 423 &&
	    (h = sip_msg_hdr(msg, SIP_HDR_MIN_EXPIRES)) &&
	    !pl_u32_strict(&h->val, &expires) && expires > rs->expires) {
		rs->expires = expires;
		(void)send_subscribe(rs);
		return;
	}

	if (msg->scode >= 300) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE answered %u %r at "
		     "%s", rs->app->id, msg->scode, &msg->reason, rs->uri);
		result(rs, msg->scode);
		/* a refresh the notifier no longer knows: a new dialog */
		restart(rs, msg->scode == 481 ? RESUB_MS :
			rs->s->conf->retry_ms);
		return;
	}

	rs->auth_tries = 0;
	if (rs->unsubscribing) {
		mem_deref(rs);
		return;
	}

	/* a NOTIFY may have made the dialog before this 200 */
	if (!sip_dialog_established(rs->dlg) &&
	    sip_dialog_create(rs->dlg, msg)) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: 200 without a usable Contact",
		     rs->app->id);
		restart(rs, rs->s->conf->retry_ms);
		return;
	}

	h = sip_msg_hdr(msg, SIP_HDR_EXPIRES);
	expires = rs->expires;
	if (h && !pl_u32_strict(&h->val, &expires) && !expires) {
		/* the notifier ends it at once: its NOTIFY tells why */
		return;
	}
	if (!h)
		expires = rs->expires;

	rs->active = true;
	plog(SIPPUSH_LOG_INFO, MOD, "%s: subscribed at %s for %u s",
	     rs->app->id, rs->uri, expires);

	/* refresh well before expiry; a notifier granting 1 s is asked
	 * again after a floor that backs off, not twice a second */
	tmr_start(&rs->tmr, regrefresh_ms(expires, REGREFRESH_SUB_FLOOR_MS,
					  &rs->short_grants,
					  rs->s->conf->retry_ms),
		  resub_tmr, rs);
}


static int rsub_contact_print(struct re_printf *pf, const struct rsub *rs)
{
	const struct contact *c = rs->s->c;

	/* the GRUU names this terminal; without one, the instance does */
	if (c->gruu[0])
		return re_hprintf(pf, "<%s>", c->gruu);
	return contact_print(pf, c);
}


static int send_subscribe(struct rsub *rs)
{
	const struct subs *s = rs->s;
	const char *routev[1] = {s->c->registrar};
	int err;

	if (!rs->dlg) {
		err = sip_dialog_alloc(&rs->dlg, rs->uri, rs->uri, NULL,
				       s->c->aor, routev, 1);
		if (err)
			return err;
	}

	rs->req = mem_deref(rs->req);
	return sip_drequestf(&rs->req, s->sip, true, "SUBSCRIBE", rs->dlg, 0,
			     s->auth, NULL, resp_h, rs,
			     "Contact: %H\r\n"
			     "Event: %s\r\n"
			     "Accept-Contact: %s\r\n"
			     "Accept: %s%smessage/external-body\r\n"
			     "Expires: %u\r\n"
			     "%s%s%s"
			     "Content-Length: 0\r\n\r\n",
			     rsub_contact_print, rs, rs->event, rs->ac,
			     /* an app that takes anything says so */
			     rs->app->accept ? rs->app->accept : "*/*",
			     ", ",
			     rs->unsubscribing ? 0 : rs->expires,
			     s->conf->ppi ? "P-Preferred-Identity: <" : "",
			     s->conf->ppi ? s->conf->ppi : "",
			     s->conf->ppi ? ">\r\n" : "");
}


/*
 * The Event of an oma-app SUBSCRIBE: event-app-id plus both sets of
 * capabilities (TS §7.2.1: dev-cap when a UAProf exists, else vendor,
 * model, version; docs/protocol.md, "Subscription mode": send both).
 */
static int event_print(char **evp, const struct receiver_conf *conf,
		       const char *app)
{
	const struct uaprof_spec us = {
		.app_id = app, .vendor = conf->vendor,
		.model = conf->model, .version = conf->version,
		.dev_cap = conf->dev_cap,
	};

	return re_sdprintf(evp, "%H", uaprof_event_print, &us);
}


int subs_alloc(struct subs **sp, struct sip *sip, struct sip_auth *auth,
	       const struct receiver_conf *conf, const struct contact *c,
	       struct bodypush *bp)
{
	struct subs *s = mem_zalloc(sizeof(*s), subs_destructor);

	if (!s)
		return ENOMEM;
	s->sip = sip;
	s->auth = auth;
	s->conf = conf;
	s->c = c;
	s->bp = bp;
	*sp = s;
	return 0;
}


/**
 * One subscription for an application. event/ac override what is built
 * from the configuration (a REFER's Refer-To gives them); resh (may be
 * NULL) hears its first outcome.
 */
int subs_start(struct subs *s, const struct receiver_app *app,
	       const char *uri, const char *event, const char *ac,
	       subs_result_h *resh, void *arg)
{
	const struct ac_spec acs = {.app = app->id,
				    .methods = RECEIVER_METHODS};
	struct rsub *rs;
	int err;

	rs = mem_zalloc(sizeof(*rs), rsub_destructor);
	if (!rs)
		return ENOMEM;

	rs->s = s;
	rs->app = app;
	rs->expires = s->conf->sub_expires ? s->conf->sub_expires : 86400;
	tmr_init(&rs->tmr);
	err = str_dup(&rs->uri, uri);
	if (!err && event)
		err = str_dup(&rs->event, event);
	else if (!err)
		err = event_print(&rs->event, s->conf, app->id);
	if (!err && ac)
		err = str_dup(&rs->ac, ac);
	else if (!err)
		err = re_sdprintf(&rs->ac, "%H", ac_print, &acs);
	if (err) {
		mem_deref(rs);
		return err;
	}
	rs->resh = resh;
	rs->resarg = mem_ref(arg);

	list_append(&s->subs, &rs->le, rs);
	err = send_subscribe(rs);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send SUBSCRIBE (%m)",
		     app->id, err);
		tmr_start(&rs->tmr, s->conf->retry_ms, resub_tmr, rs);
	}
	return 0;
}


/* The same Push Sender Agent: scheme, user, host and port compared as
 * RFC 3261 §19.1.4 says (aor.h); parameters apart */
static bool same_uri(const char *a, const char *b)
{
	char ka[256], kb[256];

	if (aor_canon(ka, sizeof(ka), a) || aor_canon(kb, sizeof(kb), b))
		return !str_casecmp(a, b);
	return !strcmp(ka, kb);
}


/** A new dialog replaces an older subscription of the same app at the
 *  same URI (those at other Push Sender Agents stay) */
void subs_drop_app(struct subs *s, const struct receiver_app *app,
		   const char *uri)
{
	for (struct le *le = s->subs.head; le; ) {
		struct rsub *old = le->data;

		le = le->next;
		if (old->app == app && same_uri(old->uri, uri))
			mem_deref(old);
	}
}


/** Subscribe every application configured for subscription mode, at
 *  every Push Sender Agent (TS §7.2: the capabilities go to each) */
void subs_start_all(struct subs *s)
{
	const struct receiver_conf *conf = s->conf;
	const char *const *psav = conf->subscriben ? conf->subscribev :
		&conf->subscribe;
	const size_t psan = conf->subscriben ? conf->subscriben : 1;

	if (!psav || !psav[0] || s->subs.head)
		return;

	for (size_t j = 0; j < psan; j++) {
		for (size_t i = 0; i < conf->appn; i++) {
			const struct receiver_app *app = &conf->appv[i];

			if (app->subscribe)
				(void)subs_start(s, app, psav[j], NULL, NULL,
						 NULL, NULL);
		}
	}
}


/** Unsubscribe (Expires: 0) in every dialog, others simply stop; none
 *  starts again until subs_resume() */
void subs_stop_all(struct subs *s)
{
	struct le *le = s->subs.head;

	s->stopping = true;
	while (le) {
		struct rsub *rs = le->data;

		le = le->next;
		tmr_cancel(&rs->tmr);
		if (!rs->active || !rs->dlg) {
			mem_deref(rs);
			continue;
		}
		rs->unsubscribing = true;
		if (send_subscribe(rs))
			mem_deref(rs);
	}
}


/** Registering again: subscriptions may restart */
void subs_resume(struct subs *s)
{
	s->stopping = false;
}


static struct rsub *rsub_match(struct subs *s, const struct sip_msg *msg)
{
	for (struct le *le = s->subs.head; le; le = le->next) {
		struct rsub *rs = le->data;

		if (subcli_match(rs->dlg, msg))
			return rs;
	}
	return NULL;
}


/**
 * A NOTIFY (arg: struct subs): in one of our ua-profile dialogs (also
 * before its 200), an empty one is answered 200 and keeps the
 * subscription, one with content is a push; in none, 481.
 */
void subs_notify(const struct sip_msg *msg, void *arg)
{
	struct subs *s = arg;
	struct rsub *rs = rsub_match(s, msg);
	const char *reason = NULL;
	struct substate ss;
	uint16_t scode;
	bool first;

	if (!rs) {
		(void)sip_reply(s->sip, msg, 481, "Subscription Does Not "
				"Exist");
		return;
	}

	scode = subcli_notify(rs->dlg, msg, &ss, &reason);
	if (scode) {
		(void)sip_reply(s->sip, msg, scode, reason);
		return;
	}

	first = !rs->notified;
	rs->notified = true;

	if (mbuf_get_left(msg->mb))
		(void)bodypush_push(s->bp, msg, rs->app, "NOTIFY");
	else
		(void)sip_reply(s->sip, msg, 200, "OK");

	if (first)
		result(rs, 200);

	if (!pl_strcasecmp(&ss.state, "terminated")) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: subscription terminated (%r) "
		     "at %s", rs->app->id, &ss.reason, rs->uri);
		if (rs->unsubscribing)
			return;   /* the 200 to our Expires: 0 frees it */
		if (substate_retryable(&ss.reason))
			restart(rs, ss.has_retry_after ?
				(uint64_t)ss.retry_after * 1000 : RESUB_MS);
		else
			mem_deref(rs);
		return;
	}

	rs->active = true;
}
