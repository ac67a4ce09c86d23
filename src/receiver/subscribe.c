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
#include "core/featuretag.h"
#include <sippush/log.h>
#include "core/regrefresh.h"
#include "core/param.h"
#include "core/reqcheck.h"
#include "core/subcli.h"
#include "core/uaprofile.h"
#include "receiver.h"

#define MOD "subscribe"

enum { MAX_AUTH = 3, RESUB_MS = 1000 };


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
	mem_deref(rs->refer);
}


static int send_subscribe(struct rsub *rs);


static void resub_tmr(void *arg)
{
	struct rsub *rs = arg;
	int err = send_subscribe(rs);

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send SUBSCRIBE (%m)",
		     rs->app->id, err);
		tmr_start(&rs->tmr, rs->r->conf.retry_ms, resub_tmr, rs);
	}
}


/* Start over with a new dialog (after 481, a failure, or termination) */
static void restart(struct rsub *rs, uint64_t ms)
{
	rs->dlg = mem_deref(rs->dlg);
	rs->req = mem_deref(rs->req);
	rs->active = false;
	rs->auth_tries = 0;
	if (rs->r->stopping)
		return;
	tmr_start(&rs->tmr, ms, resub_tmr, rs);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct rsub *rs = arg;
	const struct sip_hdr *h;
	uint32_t expires;

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE failed (%m)", rs->app->id,
		     err);
		refer_report(rs, 408);
		restart(rs, rs->r->conf.retry_ms);
		return;
	}
	if (msg->scode < 200)
		return;

	if ((msg->scode == 401 || msg->scode == 407) &&
	    rs->auth_tries++ < MAX_AUTH &&
	    !sip_auth_authenticate(rs->r->auth, msg)) {
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
		plog(SIPPUSH_LOG_WARN, MOD, "%s: SUBSCRIBE answered %u %r",
		     rs->app->id, msg->scode, &msg->reason);
		refer_report(rs, msg->scode);
		/* a refresh the notifier no longer knows: a new dialog */
		restart(rs, msg->scode == 481 ? RESUB_MS :
			rs->r->conf.retry_ms);
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
		restart(rs, rs->r->conf.retry_ms);
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
	plog(SIPPUSH_LOG_INFO, MOD, "%s: subscribed at %s for %u s", rs->app->id,
	     rs->uri, expires);

	/* refresh well before expiry; a notifier granting 1 s is asked
	 * again after a floor that backs off, not twice a second */
	tmr_start(&rs->tmr, regrefresh_ms(expires, REGREFRESH_SUB_FLOOR_MS,
					  &rs->short_grants,
					  rs->r->conf.retry_ms),
		  resub_tmr, rs);
}


static int contact_print(struct re_printf *pf, const struct rsub *rs)
{
	const struct receiver *r = rs->r;

	/* the GRUU names this terminal; without one, the instance does */
	if (r->gruu[0])
		return re_hprintf(pf, "<%s>", r->gruu);
	return reg_contact_print(pf, r);
}


static int send_subscribe(struct rsub *rs)
{
	struct receiver *r = rs->r;
	const char *routev[1] = {r->registrar};
	int err;

	if (!rs->dlg) {
		err = sip_dialog_alloc(&rs->dlg, rs->uri, rs->uri, NULL,
				       r->aor, routev, 1);
		if (err)
			return err;
	}

	rs->req = mem_deref(rs->req);
	return sip_drequestf(&rs->req, r->sip, true, "SUBSCRIBE", rs->dlg, 0,
			     r->auth, NULL, resp_h, rs,
			     "Contact: %H\r\n"
			     "Event: %s\r\n"
			     "Accept-Contact: %s\r\n"
			     "Accept: %s%smessage/external-body\r\n"
			     "Expires: %u\r\n"
			     "%s%s%s"
			     "Content-Length: 0\r\n\r\n",
			     contact_print, rs, rs->event, rs->ac,
			     /* an app that takes anything says so */
			     rs->app->accept ? rs->app->accept : "*/*",
			     ", ",
			     rs->unsubscribing ? 0 : rs->expires,
			     r->conf.ppi ? "P-Preferred-Identity: <" : "",
			     r->conf.ppi ? r->conf.ppi : "",
			     r->conf.ppi ? ">\r\n" : "");
}


/*
 * The Event of an oma-app SUBSCRIBE: event-app-id plus both sets of
 * capabilities (TS §7.2.1: dev-cap when a UAProf exists, else vendor,
 * model, version; docs/protocol.md, "Subscription mode": send both).
 */
static int event_print(char **evp, const struct receiver *r,
		       const char *app)
{
	const struct uaprof_spec us = {
		.app_id = app, .vendor = r->conf.vendor,
		.model = r->conf.model, .version = r->conf.version,
		.dev_cap = r->conf.dev_cap,
	};

	return re_sdprintf(evp, "%H", uaprof_event_print, &us);
}


/**
 * One subscription for an application. event/ac override what is built
 * from the configuration (a REFER's Refer-To gives them).
 */
int rsub_start(struct rsub **rsp, struct receiver *r,
	       const struct receiver_app *app, const char *uri,
	       const char *event, const char *ac)
{
	const struct ac_spec acs = {.app = app->id,
				    .methods = RECEIVER_METHODS};
	struct rsub *rs;
	int err;

	rs = mem_zalloc(sizeof(*rs), rsub_destructor);
	if (!rs)
		return ENOMEM;

	rs->r = r;
	rs->app = app;
	rs->expires = r->conf.sub_expires ? r->conf.sub_expires : 86400;
	tmr_init(&rs->tmr);
	err = str_dup(&rs->uri, uri);
	if (!err && event)
		err = str_dup(&rs->event, event);
	else if (!err)
		err = event_print(&rs->event, r, app->id);
	if (!err && ac)
		err = str_dup(&rs->ac, ac);
	else if (!err)
		err = re_sdprintf(&rs->ac, "%H", ac_print, &acs);
	if (err)
		goto out;

	list_append(&r->subs, &rs->le, rs);
	err = send_subscribe(rs);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send SUBSCRIBE (%m)", app->id,
		     err);
		tmr_start(&rs->tmr, rs->r->conf.retry_ms, resub_tmr, rs);
		err = 0;
	}

 out:
	if (err)
		mem_deref(rs);
	else if (rsp)
		*rsp = rs;
	return err;
}


/** Subscribe every application configured for subscription mode */
void rsub_start_all(struct receiver *r)
{
	if (!r->conf.subscribe || r->subs.head)
		return;

	for (size_t i = 0; i < r->conf.appn; i++) {
		const struct receiver_app *app = &r->conf.appv[i];

		if (app->subscribe)
			(void)rsub_start(NULL, r, app, r->conf.subscribe,
					 NULL, NULL);
	}
}


/** Unsubscribe (Expires: 0) in every dialog; others simply stop */
void rsub_stop_all(struct receiver *r)
{
	struct le *le = r->subs.head;

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


static struct rsub *rsub_match(struct receiver *r, const struct sip_msg *msg)
{
	for (struct le *le = r->subs.head; le; le = le->next) {
		struct rsub *rs = le->data;

		if (subcli_match(rs->dlg, msg))
			return rs;
	}
	return NULL;
}


/**
 * A NOTIFY: in one of our ua-profile dialogs (also before its 200), an
 * empty one is answered 200 and keeps the subscription, one with content
 * is a push. Returns false when it belongs to no subscription.
 */
bool rsub_notify(struct receiver *r, const struct sip_msg *msg)
{
	struct rsub *rs = rsub_match(r, msg);
	const char *reason = NULL;
	struct substate ss;
	uint16_t scode;
	bool first;

	if (!rs)
		return false;

	scode = subcli_notify(rs->dlg, msg, &ss, &reason);
	if (scode) {
		(void)sip_reply(r->sip, msg, scode, reason);
		return true;
	}

	first = !rs->notified;
	rs->notified = true;

	if (mbuf_get_left(msg->mb))
		(void)inbound_push(r, msg, rs->app, "NOTIFY");
	else
		(void)sip_reply(r->sip, msg, 200, "OK");

	if (first)
		refer_report(rs, 200);

	if (!pl_strcasecmp(&ss.state, "terminated")) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: subscription terminated (%r)",
		     rs->app->id, &ss.reason);
		if (rs->unsubscribing)
			return true;   /* the 200 to our Expires: 0 frees it */
		if (substate_retryable(&ss.reason))
			restart(rs, ss.has_retry_after ?
				(uint64_t)ss.retry_after * 1000 : RESUB_MS);
		else
			mem_deref(rs);
		return true;
	}

	rs->active = true;
	return true;
}
