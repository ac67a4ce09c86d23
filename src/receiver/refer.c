/**
 * @file refer.c  REFER from the Push Sender Agent: subscribe as told
 *                (TS §7.2.3, RFC 3515)
 *
 * Accepted (202) with the first refer NOTIFY (sipfrag 100 Trying); the
 * referred SUBSCRIBE goes in a dialog of its own, and its outcome (the
 * first NOTIFY of that dialog, or a failure) ends the refer subscription
 * with a final NOTIFY: terminated;reason=noresource.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <sippush/cidr.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "core/appid.h"
#include "core/featuretag.h"
#include "core/param.h"
#include "core/referto.h"
#include "core/uaprofile.h"
#include "app.h"
#include "contact.h"
#include "refer.h"
#include "subscribe.h"
#include "trust.h"

#define MOD "refer"

/* What a REFER needs; the handler's arg */
struct refer_sock {
	struct sip *sip;
	const struct receiver_conf *conf;
	const struct trust *trust;
	const struct contact *c;
	struct subs *subs;
};

/* One accepted REFER: its refer subscription, until the final NOTIFY */
struct refer {
	struct sip *sip;
	const struct contact *c;
	const struct receiver_app *app;
	struct sip_dialog *dlg;
	struct sip_request *req;
	uint16_t final;          /**< the referred SUBSCRIBE's outcome    */
	bool final_sent;
};


static void refer_destructor(void *arg)
{
	struct refer *rf = arg;

	mem_deref(rf->req);
	mem_deref(rf->dlg);
}


static int send_contact_h(enum sip_transp tp, const struct sa *src,
			  const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct refer *rf = arg;
	(void)tp;
	(void)src;
	(void)dst;

	return mbuf_printf(mb, "Contact: %H\r\n", contact_print, rf->c);
}


static void notify_resp_h(int err, const struct sip_msg *msg, void *arg);


static int refer_notify(struct refer *rf, uint16_t code)
{
	const bool final = code >= 200;
	char frag[64];

	re_snprintf(frag, sizeof(frag), "SIP/2.0 %u %s\r\n", code,
		    code == 100 ? "Trying" : code < 300 ? "OK" : "Failed");
	rf->final_sent = final;
	return sip_drequestf(&rf->req, rf->sip, true, "NOTIFY", rf->dlg,
			     0, NULL, send_contact_h, notify_resp_h, rf,
			     "Event: refer\r\n"
			     "Subscription-State: %s\r\n"
			     "Content-Type: message/sipfrag;version=2.0\r\n"
			     "Content-Length: %zu\r\n\r\n%s",
			     final ? "terminated;reason=noresource" :
			     "active;expires=60", strlen(frag), frag);
}


static void notify_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct refer *rf = arg;

	if (!err && msg->scode < 200)
		return;

	if (rf->final_sent) {
		mem_deref(rf);   /* the refer subscription is over */
		return;
	}

	/* the outcome came while the 100 Trying was in flight */
	if (rf->final && refer_notify(rf, rf->final))
		mem_deref(rf);
}


/* The referred SUBSCRIBE got its answer (code): end the refer */
static void result_h(uint16_t code, void *arg)
{
	struct refer *rf = arg;   /* the subscription's reference, now ours */

	rf->final = code;
	plog(SIPPUSH_LOG_INFO, MOD, "%s: referred SUBSCRIBE %s (%u)",
	     rf->app->id, code < 300 ? "done" : "failed", code);
	if (rf->req)
		return;   /* sent when the 100 Trying is answered */
	if (refer_notify(rf, code))
		mem_deref(rf);
}


/* The Refer-To's Event, with our capabilities when it has none */
static int event_of(char **evp, const struct receiver_conf *conf,
		    const char *ev)
{
	struct uaprof_event e;
	struct pl pl;

	pl_set_str(&pl, ev);
	if (uaprof_event_decode(&e, &pl))
		return EBADMSG;
	if (!uaprof_check_caps(&e))
		return str_dup(evp, ev);

	return re_sdprintf(evp, "%s%s%s%s%s%s%s%s%s%s%s%s%s", ev,
			   conf->vendor ? ";vendor=\"" : "",
			   conf->vendor ? conf->vendor : "",
			   conf->vendor ? "\"" : "",
			   conf->model ? ";model=\"" : "",
			   conf->model ? conf->model : "",
			   conf->model ? "\"" : "",
			   conf->version ? ";version=\"" : "",
			   conf->version ? conf->version : "",
			   conf->version ? "\"" : "",
			   conf->dev_cap ? ";dev-cap=\"" : "",
			   conf->dev_cap ? conf->dev_cap : "",
			   conf->dev_cap ? "\"" : "");
}


/* The referred application: event-app-id, else the Accept-Contact ARI */
static const struct receiver_app *referred_app(
	const struct receiver_conf *conf, const struct referto *rt)
{
	struct uaprof_event e;
	struct pl pl, item, rest, norm;

	pl_set_str(&pl, rt->event);
	if (!uaprof_event_decode(&e, &pl) && pl_isset(&e.app_ids)) {
		rest = e.app_ids;
		if (list_next(&rest, ',', &item))
			return NULL;
		pl_trim_lws(&item);
	}
	else if (rt->accept_contact[0]) {
		struct ac_pred p[AC_MAX];
		const struct ftag *t;
		size_t n = 0;

		pl_set_str(&pl, rt->accept_contact);
		if (ac_decode(p, AC_MAX, &n, &pl) || !n)
			return NULL;
		t = ftag_find(&p[0].tags, "+g.oma.pusheventapp");
		if (!t)
			return NULL;
		rest = t->value;
		if (ftag_value_next(&rest, &item))
			return NULL;
	}
	else {
		return NULL;
	}

	if (appid_normalize(&norm, &item))
		return NULL;
	return app_find(conf, &norm);
}


/* The referred URI as a Request-URI: without its method parameter */
static int referred_uri(char **up, const struct pl *uri)
{
	struct pl pre, post;

	if (re_regex(uri->p, uri->l, "[^;]*;method=[^;]*[^]*", &pre, NULL,
		     &post))
		return pl_strdup(up, uri);
	return re_sdprintf(up, "%r%r", &pre, &post);
}


int refer_sock_alloc(struct refer_sock **rsp, struct sip *sip,
		     const struct receiver_conf *conf, const struct trust *t,
		     const struct contact *c, struct subs *subs)
{
	struct refer_sock *rs = mem_zalloc(sizeof(*rs), NULL);

	if (!rs)
		return ENOMEM;
	rs->sip = sip;
	rs->conf = conf;
	rs->trust = t;
	rs->c = c;
	rs->subs = subs;
	*rsp = rs;
	return 0;
}


/** A REFER (arg: struct refer_sock), answered here */
void refer_request(const struct sip_msg *msg, void *arg)
{
	const struct refer_sock *sock = arg;
	const struct sip_hdr *pai = sip_msg_hdr(msg,
					       SIP_HDR_P_ASSERTED_IDENTITY);
	const struct sip_hdr *h = sip_msg_xhdr(msg, "Refer-To");
	const struct receiver_app *app;
	struct referto *rt = NULL;
	struct refer *rf = NULL;
	char *event = NULL, *uri = NULL;
	uint16_t code;
	int err;

	if (pl_isset(&msg->to.tag)) {
		(void)sip_reply(sock->sip, msg, 481, "Call/Transaction Does "
				"Not Exist");
		return;
	}
	if (!pai || trust_msg(sock->trust, msg, false)) {
		(void)sip_reply(sock->sip, msg, 403, "No trusted "
				"P-Asserted-Identity");
		return;
	}

	rt = mem_zalloc(sizeof(*rt), NULL);
	if (!rt) {
		(void)sip_reply(sock->sip, msg, 500, "Out of memory");
		return;
	}
	if (!h || sip_msg_xhdr_count(msg, "Refer-To") != 1 ||
	    referto_decode(rt, &h->val)) {
		(void)sip_reply(sock->sip, msg, 400, "Bad Refer-To");
		goto out;
	}

	code = referto_push_check(rt);
	if (code) {
		(void)sip_reply(sock->sip, msg, code, code == 603 ? "Decline" :
				code == 489 ? "Bad Event" : "Bad Refer-To");
		goto out;
	}

	app = referred_app(sock->conf, rt);
	if (!app) {
		(void)sip_reply(sock->sip, msg, 603, "Decline: no such push "
				"application here");
		goto out;
	}

	err = event_of(&event, sock->conf, rt->event);
	err = err ? err : referred_uri(&uri, &rt->uri);
	if (err) {
		(void)sip_reply(sock->sip, msg, 400, "Bad Refer-To");
		goto out;
	}

	rf = mem_zalloc(sizeof(*rf), refer_destructor);
	if (!rf || sip_dialog_accept(&rf->dlg, msg)) {
		(void)sip_reply(sock->sip, msg, 400, "Missing Contact");
		goto out;
	}
	rf->sip = sock->sip;
	rf->c = sock->c;
	rf->app = app;

	(void)sip_replyf(sock->sip, msg, 202, "Accepted",
			 "Contact: %H\r\nContent-Length: 0\r\n\r\n",
			 contact_print, sock->c);

	/* RFC 3515 §2.4.4: a NOTIFY right after accepting */
	if (refer_notify(rf, 100))
		plog(SIPPUSH_LOG_WARN, MOD, "cannot send the refer NOTIFY");

	/* a new dialog replaces an older subscription of the same app at
	 * this Push Sender Agent */
	subs_drop_app(sock->subs, app, uri);

	/* the subscription holds rf until its outcome (result_h) */
	err = subs_start(sock->subs, app, uri, event,
			 rt->accept_contact[0] ? rt->accept_contact : NULL,
			 result_h, rf);
	if (err) {
		rf->final = 500;
		if (!rf->req && refer_notify(rf, 500))
			goto out;
		rf = NULL;   /* ends with the final NOTIFY */
		goto out;
	}
	plog(SIPPUSH_LOG_INFO, MOD, "%s: referred to subscribe at %s", app->id,
	     uri);

 out:
	mem_deref(rf);
	mem_deref(rt);
	mem_deref(event);
	mem_deref(uri);
}
