/**
 * @file register.c  The terminal's own REGISTER client
 *
 * On sip_request rather than libre's sipreg, which can change neither its
 * Contact's parameters (withdrawing push needs that) nor whether it
 * de-registers when freed.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/featuretag.h"
#include <sippush/log.h>
#include "core/regrefresh.h"
#include "receiver.h"

#define MOD "register"

enum { MAX_AUTH = 3 };

static const char *const methods = RECEIVER_METHODS ",OPTIONS";


int reg_contact_print(struct re_printf *pf, const struct receiver *r)
{
	struct contact_spec cs = {
		.instance = r->instance,
		.apps = r->withdrawn ? NULL : r->apps,
		.methods = methods,
		.reg_id = r->conf.reg_id,
		.expires = -1,
	};
	struct sa laddr;
	char uri[256];
	struct uri ru, reg;
	const struct pl tpn = PL("transport");
	struct pl pl, tp;
	bool tls = false, tcp = false;

	/* a registrar reached over TLS (TCP) reaches us over TLS (TCP) too:
	 * a request on a new connection from it is still not on our flow,
	 * but it is not UDP, which no --trust believes by default */
	pl_set_str(&pl, r->conf.registrar);
	if (!uri_decode(&reg, &pl)) {
		bool has_tp = !uri_param_get(&reg.params, &tpn, &tp);

		tls = !pl_strcasecmp(&reg.scheme, "sips") ||
			(has_tp && !pl_strcasecmp(&tp, "tls"));
		tcp = !tls && has_tp && !pl_strcasecmp(&tp, "tcp");
	}

	pl_set_str(&pl, r->aor);
	if (uri_decode(&ru, &pl))
		return EINVAL;
	if (sip_transp_laddr(r->sip, &laddr, tls ? SIP_TRANSP_TLS : tcp ?
			     SIP_TRANSP_TCP : SIP_TRANSP_UDP, NULL))
		return EINVAL;
	re_snprintf(uri, sizeof(uri), "sip:%r@%J%s", &ru.user, &laddr,
		    tls ? ";transport=tls" : tcp ? ";transport=tcp" : "");
	cs.uri = uri;
	return contact_spec_print(pf, &cs);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg);


/*
 * Request-URI: the AoR's domain (RFC 3261 §10.2); --registrar is where it
 * is sent (a proxy or registrar address).
 */
int reg_send(struct receiver *r)
{
	char ruri[256];
	struct uri aor, route;
	struct pl pl;

	pl_set_str(&pl, r->aor);
	if (uri_decode(&aor, &pl))
		return EINVAL;
	pl_set_str(&pl, r->registrar);
	if (uri_decode(&route, &pl))
		return EINVAL;
	re_snprintf(ruri, sizeof(ruri), "%r:%r", &aor.scheme, &aor.host);

	++r->cseq;
	return sip_requestf(&r->req, r->sip, true, "REGISTER", ruri,
			    &route, r->auth, NULL, resp_h, r,
			    "From: <%s>;tag=%s\r\n"
			    "To: <%s>\r\n"
			    "Call-ID: %s\r\n"
			    "CSeq: %u REGISTER\r\n"
			    "Contact: %H\r\n"
			    "Expires: %u\r\n"
			    "Supported: gruu, path%s\r\n"
			    "%s"
			    "Content-Length: 0\r\n\r\n",
			    r->aor, r->from_tag, r->aor, r->call_id, r->cseq,
			    reg_contact_print, r, r->expires,
			    r->conf.reg_id ? ", outbound" : "",
			    r->pref ? "Require: pref\r\n" : "");
}


static void reg_tmr_h(void *arg)
{
	struct receiver *r = arg;
	int err = reg_send(r);

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "cannot send REGISTER: %m", err);
		tmr_start(&r->tmr, r->conf.retry_ms, reg_tmr_h, r);
	}
}


static void later(struct receiver *r, uint64_t ms)
{
	tmr_start(&r->tmr, ms, reg_tmr_h, r);
}


struct ours {
	const struct receiver *r;
	struct contact_feat cf;
	bool found;
};


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct ours *o = arg;
	struct contact_feat cf;
	(void)msg;

	if (contact_feat_decode(&cf, &hdr->val))
		return false;
	if (pl_strcmp(&cf.instance, o->r->instance))
		return false;
	o->cf = cf;
	o->found = true;
	return true;
}


static void ka_h(int err, void *arg)
{
	struct receiver *r = arg;

	plog(SIPPUSH_LOG_WARN, MOD, "flow keep-alive failed (%m): registering again",
	     err);
	r->ka = mem_deref(r->ka);
	r->flow.set = false;   /* nothing comes on it any more */
	/*
	 * Not from inside libre's close of the old flow, and not at once: a
	 * registrar that is going down may still accept the new connection
	 * and then reset it, and libre does not report a reset after the
	 * request was written (the REGISTER would wait out Timer F, 32 s).
	 * 0.5-1 s, random, also spreads the terminals of a restarted server.
	 */
	if (!r->stopping)
		later(r, 500 + rand_u16() % 501);
}


/*
 * RFC 5626 §4.4: with reg-id, keep the flow to the registrar open (STUN
 * over UDP, CRLF over TCP) at the registrar's Flow-Timer, if it gave one.
 */
static void keepalive(struct receiver *r, const struct sip_msg *msg)
{
	const struct sip_hdr *ft = sip_msg_xhdr(msg, "Flow-Timer");
	uint32_t interval = 0;
	int err;

	if (!r->conf.reg_id)
		return;
	if (ft)
		interval = pl_u32(&ft->val);
	if (interval)
		plog(SIPPUSH_LOG_INFO, MOD, "flow keep-alive every %u s (Flow-Timer)",
		     interval);
	else
		plog(SIPPUSH_LOG_INFO, MOD, "flow keep-alive at libre's default "
		     "interval (no Flow-Timer)");
	if (sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "outbound"))
		plog(SIPPUSH_LOG_INFO, MOD, "the registrar keeps this flow (outbound)");

	r->ka = mem_deref(r->ka);
	err = sip_keepalive_start(&r->ka, r->sip, msg, interval, ka_h, r);
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "no flow keep-alive: %m", err);
}


static void report(struct receiver *r, int err, uint16_t scode,
		   uint32_t expires)
{
	if (r->rh)
		r->rh(err, scode, r->gruu[0] ? r->gruu : NULL, expires,
		      r->arg);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct receiver *r = arg;
	struct ours o = {.r = r};
	uint32_t expires;

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "REGISTER failed: %m", err);
		report(r, err, 0, 0);
		if (!r->stopping)
			later(r, r->conf.retry_ms);
		return;
	}
	if (msg->scode < 200)
		return;

	if ((msg->scode == 401 || msg->scode == 407) &&
	    r->auth_tries++ < MAX_AUTH &&
	    !sip_auth_authenticate(r->auth, msg)) {
		(void)reg_send(r);
		return;
	}

	if (msg->scode == 420 && r->pref) {
		plog(SIPPUSH_LOG_WARN, MOD, "the registrar does not support "
		     "'Require: pref' (420); registering without it");
		r->pref = false;
		(void)reg_send(r);
		return;
	}

	r->auth_tries = 0;
	if (msg->scode >= 300) {
		plog(SIPPUSH_LOG_WARN, MOD, "REGISTER answered %u %r", msg->scode,
		     &msg->reason);
		report(r, EPROTO, msg->scode, 0);
		if (!r->stopping)
			later(r, r->conf.retry_ms);
		return;
	}

	if (r->stopping) {
		report(r, 0, msg->scode, 0);
		return;
	}

	/* pushes come on this flow (RFC 5626: the registrar keeps it) */
	trust_flow_set(&r->flow, msg);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, &o);
	expires = r->expires;
	if (o.found && o.cf.has_expires)
		expires = o.cf.expires;
	r->gruu[0] = '\0';
	if (o.found && pl_isset(&o.cf.pub_gruu))
		(void)pl_strcpy(&o.cf.pub_gruu, r->gruu, sizeof(r->gruu));

	plog(SIPPUSH_LOG_INFO, MOD, "registered %s for %u s%s%s%s", r->aor, expires,
	     r->gruu[0] ? ", GRUU " : "", r->gruu,
	     r->withdrawn ? " (push withdrawn)" : "");
	report(r, 0, msg->scode, expires);
	keepalive(r, msg);
	rsub_start_all(r);   /* TS §7.2: after the initial registration */

	/* refresh well before expiry; a registrar granting 0 or 1 s is
	 * asked again after a floor that backs off, not every millisecond */
	later(r, regrefresh_ms(expires, REGREFRESH_REG_FLOOR_MS,
				  &r->short_grants, r->conf.retry_ms));
}
