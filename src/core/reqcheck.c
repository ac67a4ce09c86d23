/**
 * @file reqcheck.c  Is a received SIP request well-formed enough to act on?
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <re.h>
#include "core/param.h"
#include "core/uaprofile.h"
#include "core/reqcheck.h"


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


/* LWS, a folded line included (RFC 3261 §7.3.1: CRLF + WSP is LWS) */
static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


static bool lws_only(const struct pl *v)
{
	for (size_t i = 0; i < v->l; i++)
		if (!is_lws(v->p[i]))
			return false;
	return true;
}


/* A header value trimmed of LWS, folding included */
static int u32_val(const struct pl *v, uint32_t *n)
{
	struct pl t = *v;

	pl_trim_lws(&t);
	return pl_u32_strict(&t, n);
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
	while (num.l < all.l && !is_lws(all.p[num.l]))
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


/* Quotes balanced (a display name is a closed quoted-string) and no
 * empty parameter (";;", a trailing ";"): RFC 4475 §3.1.2.1, §3.1.2.6 */
static bool value_ok(const struct pl *v)
{
	bool quoted = false, semi = false;

	for (size_t i = 0; i < v->l; i++) {
		const char c = v->p[i];

		if (quoted && c == '\\') {
			++i;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		if (quoted || c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == ';' && semi)
			return false;
		semi = c == ';';
	}
	return !quoted && !semi;
}


static const char *check_uri_hdr(const struct sip_msg *msg,
				 enum sip_hdrid id, const char *bad)
{
	const struct pl *v = hdr_val(msg, id);
	struct sip_addr addr;

	return addr_decode(&addr, v) || !value_ok(v) ? bad : NULL;
}


struct hdr_arg {
	const char *why;
	const char *bad;
};


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct hdr_arg *ha = arg;
	struct sip_addr addr;
	struct pl v = hdr->val;
	(void)msg;

	pl_trim_lws(&v);
	if (!pl_strcmp(&v, "*"))
		return false;
	if (addr_decode(&addr, &v) || !value_ok(&v)) {
		ha->why = ha->bad;
		return true;
	}
	return false;
}


static bool via_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		  void *arg)
{
	struct hdr_arg *ha = arg;
	(void)msg;

	/* the topmost was decoded by libre; one below may lack a branch
	 * (an RFC 2543 hop), but never a parameter */
	if (!value_ok(&hdr->val)) {
		ha->why = ha->bad;
		return true;
	}
	return false;
}


/* Every Contact and every Via, not only the ones we use */
static const char *check_lists(const struct sip_msg *msg)
{
	struct hdr_arg ha = {NULL, "Bad Contact"};

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, &ha);
	if (ha.why)
		return ha.why;
	ha.bad = "Bad Via";
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_h, &ha);
	return ha.why;
}


/* Where the body ends; on a stream, also where the next message starts */
static const char *check_length(const struct sip_msg *msg)
{
	const struct pl *v;
	uint32_t n;

	if (sip_msg_hdr_count(msg, SIP_HDR_CONTENT_LENGTH) > 1)
		return "Duplicate Content-Length";

	v = hdr_val(msg, SIP_HDR_CONTENT_LENGTH);
	if (v) {
		if (u32_val(v, &n))
			return "Bad Content-Length";
		if (n > REQCHECK_MAX_BODY)
			return "Content-Length too large";
		/* RFC 3261 §18.3: octets of a datagram beyond Content-Length
		 * are discarded; fewer than it is an error */
		if (msg->mb && n < mbuf_get_left(msg->mb) &&
		    msg->tp == SIP_TRANSP_UDP)
			msg->mb->end = msg->mb->pos + n;
		if (msg->mb && n != mbuf_get_left(msg->mb))
			return "Content-Length does not match the body";
	}
	else if (msg->tp != SIP_TRANSP_UDP) {
		return "Missing Content-Length";
	}

	return NULL;
}


static const char *check_numbers(const struct sip_msg *msg)
{
	const struct pl *v;
	uint32_t n;

	v = hdr_val(msg, SIP_HDR_MAX_FORWARDS);
	if (u32_val(v, &n) || n > 255)
		return "Bad Max-Forwards";

	/* an empty Expires is taken as absent: a core copying a terminal's
	 * missing header sends one (the expiry is then in its Contact) */
	v = hdr_val(msg, SIP_HDR_EXPIRES);
	if (v && !lws_only(v) && u32_val(v, &n))
		return "Bad Expires";

	return check_length(msg);
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


/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1) */
static bool scheme_ok(const struct pl *s)
{
	if (!s->l || !((s->p[0] | 0x20) >= 'a' && (s->p[0] | 0x20) <= 'z'))
		return false;
	for (size_t i = 1; i < s->l; i++) {
		const char c = s->p[i];

		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
		    !(c >= '0' && c <= '9') && c != '+' && c != '-' &&
		    c != '.')
			return false;
	}
	return true;
}


/* A well-formed scheme other than sip, sips and tel */
static bool ruri_scheme_unknown(const struct sip_msg *msg)
{
	const char *colon = pl_strchr(&msg->ruri, ':');
	struct pl s;

	s.p = msg->ruri.p;
	s.l = colon ? (size_t)(colon - msg->ruri.p) : 0;
	return scheme_ok(&s) && pl_strcasecmp(&s, "sip") &&
		pl_strcasecmp(&s, "sips") && pl_strcasecmp(&s, "tel");
}


/* An IPv6 address; also in the spelling RFC 3261's grammar (from RFC 2373)
 * allows, a third colon before an embedded IPv4 address
 * ("2001:db8:::192.0.2.1"), which RFC 5118 §4.10 says to tolerate */
static bool ipv6_ok(const struct pl *v6)
{
	struct in6_addr a;
	char host[64];
	char *c3;

	if (v6->l >= sizeof(host))
		return false;
	(void)pl_strcpy(v6, host, sizeof(host));
	if (inet_pton(AF_INET6, host, &a) == 1)
		return true;

	c3 = strstr(host, ":::");
	if (!c3 || strchr(c3 + 3, ':') || !strchr(c3 + 3, '.'))
		return false;
	memmove(c3 + 2, c3 + 3, strlen(c3 + 3) + 1);
	return inet_pton(AF_INET6, host, &a) == 1;
}


/* The hostport of a sip: or sips: Request-URI, read from the raw text
 * (libre cuts "[2001:db8::zz]" at its first colon and reads "2001:db8::10"
 * as host 2001): a host, an IPv6 address only inside brackets (RFC 5118
 * §4.2), then an optional port of digits, then the end, ";" or "?" */
static bool host_ok(const struct sip_msg *msg)
{
	const char *at = pl_strchr(&msg->ruri, '@');
	uint32_t port = 0;
	size_t i = 0, n;
	struct pl hp;

	if (!pl_strcasecmp(&msg->uri.scheme, "tel"))
		return true;

	hp = msg->ruri;
	if (at)
		pl_advance(&hp, at + 1 - hp.p);
	else if (pl_strchr(&hp, ':'))
		pl_advance(&hp, pl_strchr(&hp, ':') + 1 - hp.p);

	if (hp.l && hp.p[0] == '[') {
		const char *end = pl_strchr(&hp, ']');
		struct pl v6;

		if (!end)
			return false;
		v6.p = hp.p + 1;
		v6.l = (size_t)(end - v6.p);
		if (!ipv6_ok(&v6))
			return false;
		i = (size_t)(end + 1 - hp.p);
	}
	else {
		while (i < hp.l && hp.p[i] != ':' && hp.p[i] != ';' &&
		       hp.p[i] != '?')
			++i;
	}

	if (i < hp.l && hp.p[i] == ':') {
		for (++i, n = 0; i < hp.l && hp.p[i] >= '0' && hp.p[i] <= '9';
		     ++i, ++n)
			port = port * 10 + (uint32_t)(hp.p[i] - '0');
		if (!n || n > 5 || port > 65535)
			return false;
	}

	return i == hp.l || hp.p[i] == ';' || hp.p[i] == '?';
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

	/* a scheme we do not know is reqcheck_support()'s (416) */
	if (!ruri_scheme_unknown(msg) && (!msg->uri.scheme.l ||
	    (pl_strcasecmp(&msg->uri.scheme, "sip") &&
	     pl_strcasecmp(&msg->uri.scheme, "sips") &&
	     pl_strcasecmp(&msg->uri.scheme, "tel")) || !host_ok(msg))) {
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
	if (!why)
		why = check_lists(msg);

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


/* RFC 3840 pref, RFC 5627 gruu, RFC 3327 path, RFC 5626 outbound,
 * RFC 4028 timer (session mode refreshes at both ends) */
const char *const reqcheck_options[] = {"pref", "gruu", "path", "outbound",
					"timer"};
const size_t reqcheck_noptions = ARRAY_SIZE(reqcheck_options);


/* Methods with a registered meaning (IANA SIP methods): another is
 * answered 501, one of these that a daemon does not take 405 */
static const char *const methods[] = {
	"ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY",
	"OPTIONS", "PRACK", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE",
	"UPDATE",
};


struct require_arg {
	const char *const *optv;
	size_t optn;
	const struct pl *unknown;
};


static bool require_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct require_arg *ra = arg;
	(void)msg;

	for (size_t i = 0; i < ra->optn; i++)
		if (!pl_strcasecmp(&hdr->val, ra->optv[i]))
			return false;
	ra->unknown = &hdr->val;
	return true;
}


/**
 * After reqcheck_request(): can this element take the request at all?
 * A Request-URI scheme it does not know gets 416 (RFC 3261 §8.2.2.1), a
 * Require naming an option tag not in optv 420 with *unsupported set to
 * that tag (§8.2.2.3; never for ACK or CANCEL), a method without a
 * registered meaning 501 (§21.5.2; 405 is the caller's, for a known
 * method it does not take here).
 *
 * @return 0 if supported, else ENOTSUP with *scode and *reason set
 */
int reqcheck_support(const struct sip_msg *msg, const char *const *optv,
		     size_t optn, uint16_t *scode, const char **reason,
		     struct pl *unsupported)
{
	struct require_arg ra = {optv, optn, NULL};
	bool known = false;

	if (!msg || !scode || !reason || !unsupported)
		return EINVAL;

	*scode = 0;
	*reason = NULL;
	pl_set_str(unsupported, "");

	if (ruri_scheme_unknown(msg)) {
		*scode = 416;
		*reason = "Unsupported URI Scheme";
		return ENOTSUP;
	}

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (!pl_strcmp(&msg->met, methods[i]))
			known = true;
	if (!known) {
		*scode = 501;
		*reason = "Not Implemented";
		return ENOTSUP;
	}

	if (pl_strcmp(&msg->met, "ACK") && pl_strcmp(&msg->met, "CANCEL") &&
	    sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, require_h, &ra)) {
		*scode = 420;
		*reason = "Bad Extension";
		*unsupported = *ra.unknown;
		return ENOTSUP;
	}

	return 0;
}


/**
 * Has a request on a stream lost the framing of its connection (its
 * Content-Length missing, repeated or unreadable)? What follows on it
 * cannot be told apart from this body: answer, then close the connection
 * (a core multiplexes many users on one; out of step, all would be lost).
 */
bool reqcheck_unframed(const struct sip_msg *msg)
{
	return msg && msg->tp != SIP_TRANSP_UDP && check_length(msg) != NULL;
}


/**
 * Must this request be refused before anyone acts on it? Both checks
 * above, with what the answer needs: *ans for reqcheck_ans_print().
 *
 * @param allow  the "Allow: ..." CRLF line a 501 carries
 */
bool reqcheck_refuse(const struct sip_msg *msg, const char *allow,
		     struct reqcheck_ans *ans)
{
	const char *why = NULL;

	if (!msg || !ans)
		return false;

	memset(ans, 0, sizeof(*ans));
	pl_set_str(&ans->unsupported, "");
	ans->allow = allow;
	if (reqcheck_request(msg, &why)) {
		ans->scode = 400;
		ans->reason = why ? why : "Bad Request";
		ans->close = reqcheck_unframed(msg);
		return true;
	}

	return reqcheck_support(msg, reqcheck_options, reqcheck_noptions,
				&ans->scode, &ans->reason,
				&ans->unsupported) != 0;
}


/** The headers of that answer, its empty body included */
int reqcheck_ans_print(struct re_printf *pf, const struct reqcheck_ans *ans)
{
	int err = 0;

	if (!ans)
		return EINVAL;
	if (pl_isset(&ans->unsupported))
		err |= re_hprintf(pf, "Unsupported: %r\r\n", &ans->unsupported);
	if (ans->scode == 501 && ans->allow)
		err |= re_hprintf(pf, "%s", ans->allow);
	err |= re_hprintf(pf, "Content-Length: 0\r\n\r\n");
	return err;
}
