/**
 * @file attempt.c  What a SIP answer says of one attempt (struct attempt),
 *                  and the response handler of MESSAGE and content NOTIFY
 */
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "engine.h"
#include "attempt.h"


/* Retry-After of a response, in ms (RFC 3261 §20.33: seconds, then an
 * optional comment and parameters), 0 when absent; at most a day */
static uint64_t retry_after_ms(const struct sip_msg *msg)
{
	const struct sip_hdr *h = msg ? sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER)
		: NULL;
	struct pl n;
	uint32_t v;

	if (!h || re_regex(h->val.p, h->val.l, "[0-9]+", &n) ||
	    n.p != h->val.p || pl_u32_strict(&n, &v))
		return 0;
	return (uint64_t)(v < 86400 ? v : 86400) * 1000;
}


/** What a final SIP response (or its absence, err) says of an attempt */
void attempt_sip(struct attempt *a, char *why, size_t sz, struct sender *s,
		 int err, const struct sip_msg *msg)
{
	memset(a, 0, sizeof(*a));
	a->why = why;
	if (err) {
		re_snprintf(why, sz, "%m", err);
		a->ev = OE_TIMEOUT;
		return;
	}
	sender_sip_response(s, msg->scode);
	re_snprintf(why, sz, "%u %r", msg->scode, &msg->reason);
	a->ev = OE_SIP;
	a->scode = msg->scode;
	a->retry_after_ms = retry_after_ms(msg);
}


/** The response handler of MESSAGE and content NOTIFY (arg: the target) */
void dlv_sip_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct target *t = arg;
	struct attempt a;
	char why[64];

	if (!err && msg->scode < 200)
		return;
	attempt_sip(&a, why, sizeof(why), t->s, err, msg);
	t->reph(t, t->busy, &a);
}
