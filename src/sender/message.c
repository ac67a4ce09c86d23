/**
 * @file message.c  Page mode: the push in one SIP MESSAGE (RFC 3428, TS
 *                  §7.1.2): the application's Accept-Contact, the content
 *                  inline or by reference (RFC 4483)
 *
 * Every attempt of one delivery reuses its stored Call-ID and From tag with
 * a higher CSeq, so the terminal can recognise a re-sent push.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/pagemsg.h"
#include "core/param.h"
#include "core/featuretag.h"
#include "core/imshdr.h"
#include "engine.h"
#include "delivery.h"
#include "attempt.h"
#include "message.h"


/** Send one MESSAGE of a delivery (its queue's one outstanding) */
int message_start(struct target *t, struct delivery *d)
{
	struct push *p = d->p;
	struct sender *s = t->s;
	const bool plain = dlv_plain(d);
	const struct ac_spec ac = {.app = p->app, .require = !plain,
				   .explicit_ = !plain,
				   .instance = dlv_instance(d)};
	char from_tag[17];
	char *ctype = NULL, *entity = NULL;
	const uint8_t *body = NULL;
	size_t body_len = 0;
	struct pagemsg_spec ms;
	struct ims_hdrs ims;
	char icid[64];
	struct mbuf *mb = NULL;
	struct uri route;
	bool indirect;
	int err;

	/* the From tag is stable per delivery, like the Call-ID */
	dlv_hex8(from_tag, hash_joaat_str(d->call_id));

	dlv_route_refresh(d);
	err = dlv_content(d, &ctype, &entity, &body, &body_len, &indirect);
	if (err)
		return err;
	d->indirect = indirect;
	dlv_ims(d, &ims, icid, sizeof(icid));

	ms = (struct pagemsg_spec){
		.ruri = d->ruri, .from = push_from(p),
		.from_tag = from_tag, .to = p->aor, .call_id = d->call_id,
		.cseq = d->cseq, .pai = push_pai(p), .ac = &ac,
		.ctype = ctype ? ctype : p->ctype, .body_len = body_len,
		.ims = &ims,
	};

	err = dlv_first_hop(d, &route);
	if (err)
		goto out;

	/* what sip_requestf() would do, without parsing a format: libre's
	 * sip_request() takes the headers after the Via, ready */
	mb = mbuf_alloc(2048);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}
	err = pagemsg_encode(mb, d->route, &ms, body);
	if (err)
		goto out;

	err = sip_request(&t->req, s->sip, true, "MESSAGE", -1, d->ruri, -1,
			  &route, mb, (size_t)t, NULL, dlv_sip_resp_h, t);
 out:
	mem_deref(mb);
	mem_deref(ctype);
	mem_deref(entity);
	return err;
}
