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
#include "core/referto.h"
#include "engine.h"

#include <sippush/log.h>

#define MOD "refer"

enum { REFER_WAIT_MS = 32000 };


static int contact_h(enum sip_transp tp, const struct sa *src,
		     const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct target *t = arg;
	struct sip_contact c;
	(void)dst;

	sip_contact_set(&c, t->s->conf.contact_user, src, tp);
	return mbuf_printf(mb, "%H", sip_contact_print, &c);
}


int refer_send(struct target *t, struct delivery *d, sip_resp_h *resph)
{
	const struct push *p = d->p;
	const struct sender *s = p->s;
	const struct ac_spec ac = {.app = p->app, .require = true,
				   .explicit_ = true};
	const struct referto_spec rs = {.uri = s->conf.identity,
					.app = p->app, .methods = "NOTIFY"};
	struct uri route;
	int err;

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
			    NULL, contact_h, resph, t,
			    "%s%s%s"
			    "From: <%s>;tag=%s\r\n"
			    "To: <%s>\r\n"
			    "Call-ID: r.%s\r\n"
			    "CSeq: %u REFER\r\n"
			    "%s%s%s"
			    "Accept-Contact: %H\r\n"
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
			    ac_print, &ac, referto_print, &rs);
}


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


/**
 * The answer to a REFER. True when handled here; false leaves it to the
 * common rules (retries on 408/480/500/503 and timeouts, final states).
 */
bool refer_response(struct target *t, struct delivery *d, int err,
		    const struct sip_msg *msg)
{
	struct sender *s = t->s;
	char why[64];

	if (err)
		return false;

	if (msg->scode < 300) {
		(void)pl_strdup(&d->refer_rtag, &msg->to.tag);
		t->busy = NULL;
		dlv_dequeue(d);
		d->t = NULL;
		d->scode = msg->scode;
		dlv_step(d, "refer %u", msg->scode);

		/* the SUBSCRIBE may have come before the 202 */
		if (sub_find(user_find(s, d->p->aor), d->tkey, d->p->app)) {
			to_notify(d);
		}
		else {
			d->awaiting_sub = true;
			list_append(&s->awaiting, &d->ale, d);
			tmr_start(&d->tmr, REFER_WAIT_MS, wait_tmr, d);
			(void)dlv_save(d);
		}
		deliver_kick(t);
		return true;
	}

	switch (msg->scode) {

	case 408: case 480: case 500: case 503:
		return false;   /* retried while the TTL lasts */

	default:
		/* an explicit "refer" push ends with the terminal's word */
		if (!str_casecmp(d->p->method, "refer"))
			return false;
		re_snprintf(why, sizeof(why), "REFER %u", msg->scode);
		t->busy = NULL;
		dlv_dequeue(d);
		d->t = NULL;
		(void)dlv_fallback(d, why);
		deliver_kick(t);
		return true;
	}
}


/** A subscription became active: deliveries REFERred for it go on */
void refer_sub_ready(struct sub *sub)
{
	struct le *le = sub->s->awaiting.head;

	while (le) {
		struct delivery *d = le->data;

		le = le->next;
		if (!str_cmp(d->p->aor, sub->aor) &&
		    !str_cmp(d->tkey, sub->tkey) &&
		    same_app(d->p->app, sub->app))
			to_notify(d);
	}
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
