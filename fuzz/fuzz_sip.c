/**
 * @file fuzz_sip.c  libFuzzer target: a SIP request as either daemon
 *                   reads it — libre's decoder, then request validation
 *                   (reqcheck) and every header parser of the project:
 *                   Contact feature tags, Accept-Contact, the ua-profile
 *                   Event, Subscription-State, Refer-To, external-body
 *                   and multipart bodies
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "core/featuretag.h"
#include "core/uaprofile.h"
#include "core/reqcheck.h"
#include "core/referto.h"
#include "core/extbody.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct contact_feat cf;
	(void)msg;
	(void)arg;

	(void)contact_feat_decode(&cf, &hdr->val);
	return false;
}


static bool ac_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		 void *arg)
{
	struct ac_pred predv[8];
	size_t n;
	(void)msg;
	(void)arg;

	(void)ac_decode(predv, 8, &n, &hdr->val);
	return false;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mbuf *mb = mbuf_alloc(size + 1);
	struct sip_msg *msg = NULL;
	const struct sip_hdr *h;
	const char *reason;

	if (!mb)
		return 0;
	(void)mbuf_write_mem(mb, data, size);
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb))
		goto out;

	/* what a daemon does first; the rest only if it would go on */
	if (msg->req && reqcheck_request(msg, &reason))
		goto out;
	if (msg->req) {
		struct pl unsup;
		uint16_t scode;

		if (reqcheck_support(msg, reqcheck_options, reqcheck_noptions,
				     &scode, &reason, &unsup))
			goto out;
	}

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, NULL);
	(void)sip_msg_xhdr_apply(msg, true, "Accept-Contact", ac_h, NULL);

	h = sip_msg_hdr(msg, SIP_HDR_EVENT);
	if (h) {
		struct uaprof_event ev;

		if (!uaprof_event_decode(&ev, &h->val))
			(void)uaprof_check_caps(&ev);
	}
	h = sip_msg_hdr(msg, SIP_HDR_SUBSCRIPTION_STATE);
	if (h) {
		struct substate ss;

		(void)substate_decode(&ss, &h->val);
	}
	h = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	if (h) {
		struct referto rt;

		if (!referto_decode(&rt, &h->val))
			(void)referto_push_check(&rt);
	}
	if (pl_isset(&msg->ctyp.type)) {
		struct pl ct = msg->ctyp.type, body;
		struct extbody eb;
		struct mpart partv[4];
		size_t n;

		/* the whole Content-Type value, parameters included */
		h = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
		if (h)
			ct = h->val;
		body.p = (const char *)mbuf_buf(msg->mb);
		body.l = mbuf_get_left(msg->mb);
		if (extbody_is(&ct))
			(void)extbody_decode(&eb, &ct, &body);
		(void)mpart_decode(partv, 4, &n, &ct, &body);
	}
 out:
	mem_deref(msg);
	mem_deref(mb);
	return 0;
}
