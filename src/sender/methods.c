/**
 * @file methods.c  The push methods, one row each: how a delivery starts,
 *                  how one in flight is cancelled, what ends with it
 *
 * The queue (deliver.c) starts the head of a destination's queue with its
 * row's start(); the method reports what the attempt came to once,
 * through the target's report handler. A new method is a file with its
 * start (and cancel) and a row here.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "engine.h"


static int notify_start(struct target *t, struct delivery *d)
{
	/* ENOENT: the dialog ended under it */
	return t->sub ? sub_notify_send(t->sub, d, dlv_sip_resp_h, t) :
		ENOENT;
}


/* RFC 6665: the subscription is gone; its content falls back */
static void notify_ended(struct target *t, const char *why)
{
	if (t->sub)
		sub_gone(t->sub, why);
}


static const struct dlv_method methods[PLAN_KINDS] = {
	[PLAN_NONE]    = {"MESSAGE", message_start, NULL, NULL, false},
	[PLAN_MESSAGE] = {"MESSAGE", message_start, NULL, NULL, false},
	[PLAN_NOTIFY]  = {"NOTIFY", notify_start, NULL, notify_ended, true},
	[PLAN_REFER]   = {"REFER", refer_start, NULL, NULL, false},
	[PLAN_SESSION] = {"INVITE", session_start, session_cancel, NULL,
			  false},
};


/** The row of a kind */
const struct dlv_method *dlv_method(enum plan_kind k)
{
	return &methods[(size_t)k < PLAN_KINDS ? k : PLAN_MESSAGE];
}


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
