/**
 * @file reqcheck.c  Is a received SIP request well-formed enough to act on?
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <sippush/param.h>
#include <sippush/uaprofile.h>
#include <sippush/reqcheck.h>


/* Headers that must appear exactly once */
static const struct {
	enum sip_hdrid id;
	const char *missing;
	const char *twice;
} once[] = {
	{SIP_HDR_FROM,    "Missing From",    "Duplicate From"},
	{SIP_HDR_TO,      "Missing To",      "Duplicate To"},
	{SIP_HDR_CALL_ID, "Missing Call-ID", "Duplicate Call-ID"},
	{SIP_HDR_CSEQ,    "Missing CSeq",    "Duplicate CSeq"},
	{SIP_HDR_MAX_FORWARDS, "Missing Max-Forwards",
	 "Duplicate Max-Forwards"},
};


static const struct pl *hdr_val(const struct sip_msg *msg,
				enum sip_hdrid id)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, id);

	return h ? &h->val : NULL;
}


/* CSeq = 1*DIGIT LWS Method, re-read strictly (libre's pl_u32 wraps) */
static const char *check_cseq(const struct sip_msg *msg)
{
	const struct pl *v = hdr_val(msg, SIP_HDR_CSEQ);
	struct pl all = *v, num, met;
	uint32_t n;

	pl_trim_lws(&all);
	num.p = all.p;
	num.l = 0;
	while (num.l < all.l && all.p[num.l] != ' ' && all.p[num.l] != '\t')
		++num.l;

	met.p = all.p + num.l;
	met.l = all.l - num.l;
	pl_trim_lws(&met);
	if (met.p == num.p + num.l || !pl_is_token(&met))
		return "Bad CSeq";

	if (pl_u32_strict(&num, &n) || n > 0x7fffffffu)
		return "Bad CSeq number";

	if (pl_cmp(&met, &msg->met))
		return "CSeq method does not match the request";

	return NULL;
}


static const char *check_uri_hdr(const struct sip_msg *msg,
				 enum sip_hdrid id, const char *bad)
{
	struct sip_addr addr;

	return addr_decode(&addr, hdr_val(msg, id)) ? bad : NULL;
}


static const char *check_numbers(const struct sip_msg *msg)
{
	const struct pl *v;
	uint32_t n;

	v = hdr_val(msg, SIP_HDR_MAX_FORWARDS);
	if (pl_u32_strict(v, &n) || n > 255)
		return "Bad Max-Forwards";

	v = hdr_val(msg, SIP_HDR_EXPIRES);
	if (v && pl_u32_strict(v, &n))
		return "Bad Expires";

	if (sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) > 1)
		return "Duplicate Content-Length";

	v = hdr_val(msg, SIP_HDR_CONTENT_LENGTH);
	if (v) {
		if (pl_u32_strict(v, &n))
			return "Bad Content-Length";
		if (n > REQCHECK_MAX_BODY)
			return "Content-Length too large";
		if (msg->mb && n != mbuf_get_left(msg->mb))
			return "Content-Length does not match the body";
	}
	else if (msg->tp != SIP_TRANSP_UDP) {
		return "Missing Content-Length";
	}

	return NULL;
}


static const char *check_event(const struct sip_msg *msg)
{
	const bool sub = !pl_strcmp(&msg->met, "SUBSCRIBE");
	const bool notify = !pl_strcmp(&msg->met, "NOTIFY");
	const struct pl *v;
	struct uaprof_event ev;
	struct substate ss;

	if (!sub && !notify && pl_strcmp(&msg->met, "PUBLISH"))
		return NULL;

	if (sip_msg_hdr_count(msg, SIP_HDR_EVENT) != 1)
		return "Missing or duplicate Event";

	if (uaprof_event_decode(&ev, hdr_val(msg, SIP_HDR_EVENT)))
		return "Bad Event";

	if (!notify)
		return NULL;

	v = hdr_val(msg, SIP_HDR_SUBSCRIPTION_STATE);
	if (!v || sip_msg_hdr_count(msg, SIP_HDR_SUBSCRIPTION_STATE) != 1)
		return "Missing or duplicate Subscription-State";

	if (substate_decode(&ss, v))
		return "Bad Subscription-State";

	return NULL;
}


/**
 * Decide whether a received request can be acted on.
 *
 * @param msg     The request
 * @param reason  Set to the reason phrase for a 400 when it cannot
 *
 * @return 0 if well-formed, EBADMSG if not (answer 400 with *reason)
 */
int reqcheck_request(const struct sip_msg *msg, const char **reason)
{
	const char *why = NULL;
	size_t i;

	if (!msg || !reason)
		return EINVAL;

	if (!msg->req) {
		why = "Not a request";
		goto out;
	}

	if (pl_strcmp(&msg->ver, "SIP/2.0")) {
		why = "Unsupported SIP version";
		goto out;
	}

	/* libre keeps a NUL inside a header value; our strings would end
	 * there (an AoR "sip:ri" from "sip:ri\0ta@..."): refuse it */
	if (msg->mb && memchr(msg->mb->buf, '\0', msg->mb->pos)) {
		why = "NUL byte in the header";
		goto out;
	}

	if (!pl_is_token(&msg->met)) {
		why = "Bad method";
		goto out;
	}

	if (!msg->uri.scheme.l || (pl_strcasecmp(&msg->uri.scheme, "sip") &&
				   pl_strcasecmp(&msg->uri.scheme, "sips") &&
				   pl_strcasecmp(&msg->uri.scheme, "tel"))) {
		why = "Bad Request-URI";
		goto out;
	}

	if (!sip_msg_hdr(msg, SIP_HDR_VIA) || !msg->via.sentby.l ||
	    !msg->via.branch.l) {
		why = "Missing or bad Via";
		goto out;
	}

	for (i = 0; i < ARRAY_SIZE(once); i++) {
		const uint32_t n = sip_msg_hdr_count(msg, once[i].id);

		if (n == 0) {
			why = once[i].missing;
			goto out;
		}
		if (n > 1) {
			why = once[i].twice;
			goto out;
		}
	}

	if (!msg->callid.l) {
		why = "Empty Call-ID";
		goto out;
	}

	why = check_uri_hdr(msg, SIP_HDR_FROM, "Bad From");
	if (!why)
		why = check_uri_hdr(msg, SIP_HDR_TO, "Bad To");
	if (!why)
		why = check_cseq(msg);
	if (!why)
		why = check_numbers(msg);
	if (!why)
		why = check_event(msg);

 out:
	*reason = why;

	return why ? EBADMSG : 0;
}


/** RFC 6665 §4.1.3: a termination reason that invites a new SUBSCRIBE */
bool substate_retryable(const struct pl *reason)
{
	return !pl_isset(reason) || !pl_strcasecmp(reason, "deactivated") ||
		!pl_strcasecmp(reason, "timeout") ||
		!pl_strcasecmp(reason, "probation") ||
		!pl_strcasecmp(reason, "giveup");
}


/**
 * Decode a Subscription-State value: substate-value *(";" params) with
 * expires and retry-after as numbers and reason as a token.
 */
int substate_decode(struct substate *ss, const struct pl *hval)
{
	struct pl rest, n, v;
	size_t i = 0;
	int err;

	if (!ss || !hval)
		return EINVAL;

	memset(ss, 0, sizeof(*ss));

	rest = *hval;
	pl_trim_lws(&rest);
	while (i < rest.l && token_char(rest.p[i]))
		++i;
	if (!i)
		return EBADMSG;

	ss->state.p = rest.p;
	ss->state.l = i;
	pl_advance(&rest, (ssize_t)i);

	while (0 == (err = param_next(&rest, &n, &v, NULL))) {
		if (!pl_strcasecmp(&n, "expires")) {
			if (ss->has_expires || pl_u32_strict(&v, &ss->expires))
				return EBADMSG;
			ss->has_expires = true;
		}
		else if (!pl_strcasecmp(&n, "retry-after")) {
			if (ss->has_retry_after ||
			    pl_u32_strict(&v, &ss->retry_after))
				return EBADMSG;
			ss->has_retry_after = true;
		}
		else if (!pl_strcasecmp(&n, "reason")) {
			if (pl_isset(&ss->reason) || !pl_is_token(&v))
				return EBADMSG;
			ss->reason = v;
		}
	}

	return err == ENOENT ? 0 : err;
}
