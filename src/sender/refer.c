/**
 * @file refer.c  REFER a terminal into subscription mode (TS §7.2.3)
 *
 * The push's delivery sends REFER (Refer-To: the sender's own URI with
 * method=SUBSCRIBE, Event ua-profile/oma-app and the app's Accept-Contact,
 * docs/protocol.md, "Subscription mode") to the terminal's GRUU or the AoR. Once it is
 * accepted the delivery waits, out of its queue, for the SUBSCRIBE it
 * triggers, then goes by NOTIFY in that dialog. No SUBSCRIBE in time, or a
 * refused REFER on an `auto` push: MESSAGE. Each step is in the status.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/appid.h"
#include "core/featuretag.h"
#include "core/imshdr.h"
#include "core/referto.h"
#include "engine.h"
#include "delivery.h"
#include "attempt.h"
#include "refer.h"

#include <sippush/log.h>

#define MOD "refer"

static int contact_h(enum sip_transp tp, const struct sa *src,
		     const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct target *t = arg;
	struct sip_contact c;
	(void)dst;

	sip_contact_set(&c, t->s->conf.contact_user, src, tp);
	return mbuf_printf(mb, "%H", sip_contact_print, &c);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg);


/** Send the REFER of a delivery (its queue's one outstanding) */
int refer_start(struct target *t, struct delivery *d)
{
	const struct push *p = d->p;
	const struct sender *s = p->s;
	const struct ac_spec ac = {.app = p->app, .require = true,
				   .explicit_ = true,
				   .instance = dlv_instance(d)};
	const struct referto_spec rs = {.uri = s->conf.identity,
					.app = p->app, .methods = "NOTIFY"};
	struct ims_hdrs ims;
	struct uri route;
	char icid[64];
	int err;

	dlv_ims(d, &ims, icid, sizeof(icid));
	dlv_route_refresh(d);
	err = dlv_first_hop(d, &route);
	if (err)
		return err;

	/* the refer subscription's dialog: the Call-ID is in the status,
	 * so our tag is what no one else knows */
	re_snprintf(d->refer_ltag, sizeof(d->refer_ltag), "%016llx",
		    (unsigned long long)rand_u64());
	d->refer_rtag = mem_deref(d->refer_rtag);

	/* its own Call-ID, derived like the MESSAGE's: stable per delivery */
	return sip_requestf(&t->req, s->sip, true, "REFER", d->ruri, &route,
			    NULL, contact_h, resp_h, t,
			    "%s%s%s"
			    "From: <%s>;tag=%s\r\n"
			    "To: <%s>\r\n"
			    "Call-ID: r.%s\r\n"
			    "CSeq: %u REFER\r\n"
			    "%s%s%s"
			    "Accept-Contact: %H\r\n"
			    "%H"
			    "Refer-To: %H\r\n"
			    "Content-Length: 0\r\n\r\n",
			    d->route ? "Route: " : "",
			    d->route ? d->route : "",
			    d->route ? "\r\n" : "",
			    push_from(p), d->refer_ltag,
			    p->aor, d->call_id, d->cseq,
			    push_pai(p) ? "P-Asserted-Identity: <" : "",
			    push_pai(p) ? push_pai(p) : "",
			    push_pai(p) ? ">\r\n" : "",
			    ac_print, &ac, ims_hdrs_print, &ims,
			    referto_print, &rs);
}


/*
 * The answer to a REFER. A 2xx parks the delivery: out of its queue, it
 * waits for the SUBSCRIBE the REFER asked for (the planner, push.c).
 * Anything else is an attempt like any other (retries, fallback).
 */
static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct target *t = arg;
	struct delivery *d = t->busy;
	struct attempt a;
	char why[64];

	if (!err && msg->scode < 200)
		return;
	attempt_sip(&a, why, sizeof(why), t->s, err, msg);
	if (!err && msg->scode < 300 && d) {
		(void)pl_strdup(&d->refer_rtag, &msg->to.tag);
		d->scode = msg->scode;
		dlv_step(d, "refer %u", msg->scode);
		a.parked = true;
	}
	t->reph(t, d, &a);
}


static bool id_cmp(struct le *le, void *arg)
{
	const struct push *p = le->data;
	return !strncmp(p->id, arg, 16);
}


/* The NOTIFY is in the REFER's dialog: Call-ID, our tag, and the
 * terminal's once its 2xx gave it (a NOTIFY may come before the 2xx) */
static bool in_refer_dialog(const struct delivery *d,
			    const struct sip_msg *msg)
{
	char cid[128];

	re_snprintf(cid, sizeof(cid), "r.%s", d->call_id);
	if (pl_strcmp(&msg->callid, cid) || !d->refer_ltag[0] ||
	    pl_strcmp(&msg->to.tag, d->refer_ltag))
		return false;
	return !d->refer_rtag || !pl_strcmp(&msg->from.tag, d->refer_rtag);
}


/**
 * A NOTIFY of the refer subscription a REFER created (RFC 3515): answered
 * 200 when it belongs to one of our REFERs' dialogs, its sipfrag noted as
 * a step.
 */
bool refer_notify(struct sender *s, const struct sip_msg *msg)
{
	struct pl id, frag;
	struct delivery *d = NULL;
	struct le *le;
	char key[17];

	if (re_regex(msg->callid.p, msg->callid.l, "r.[0-9a-f]+.",
		     &id) || id.l != 16) {
		(void)sip_reply(s->sip, msg, 481, "Subscription Does Not "
				"Exist");
		return true;
	}
	(void)pl_strcpy(&id, key, sizeof(key));

	le = hash_lookup(s->pushes, hash_joaat_str(key), id_cmp, key);
	for (le = le ? ((struct push *)le->data)->dlvs.head : NULL; le;
	     le = le->next) {
		struct delivery *c = le->data;

		if (in_refer_dialog(c, msg))
			d = c;
	}

	(void)sip_reply(s->sip, msg, d ? 200 : 481, d ? "OK" :
			"Subscription Does Not Exist");
	if (!d)
		return true;

	frag = (struct pl){(const char *)mbuf_buf(msg->mb),
			   mbuf_get_left(msg->mb)};
	if (!re_regex(frag.p, frag.l, "SIP/2.0 [0-9]+", &id)) {
		dlv_step(d, "refer NOTIFY %r", &id);
		(void)dlv_save(d);   /* the status reads the store */
	}
	return true;
}
