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
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "core/featuretag.h"
#include "core/regrefresh.h"
#include "core/vianat.h"
#include "contact.h"
#include "register.h"
#include "trust.h"

#define MOD "register"

enum { MAX_AUTH = 3 };

struct reg {
	struct sip *sip;
	struct sip_auth *auth;
	const struct receiver_conf *conf;
	struct contact *c;       /**< what is registered; the GRUU is set */
	struct trust *trust;     /**< the flow is set                     */
	struct sip_request *req;
	struct sip_keepalive *ka;  /**< RFC 5626 flow keep-alive          */
	bool ka_watch;           /**< ka only watches for a close        */
	struct tmr tmr;
	receiver_reg_h *rh;
	reg_ok_h *okh;
	void *arg;
	char call_id[40];
	char from_tag[20];
	uint32_t cseq;
	uint32_t expires;        /**< what we ask; 0 while de-registering */
	uint32_t auth_tries;
	uint32_t short_grants;   /**< too-short grants in a row (backoff) */
	bool pref;               /**< send Require: pref                 */
	bool stopping;
};


static void resp_h(int err, const struct sip_msg *msg, void *arg);


/*
 * Request-URI: the AoR's domain (RFC 3261 §10.2); --registrar is where it
 * is sent (a proxy or registrar address).
 */
static int reg_send(struct reg *reg)
{
	char ruri[256];
	struct uri aor, route;
	struct pl pl;

	pl_set_str(&pl, reg->c->aor);
	if (uri_decode(&aor, &pl))
		return EINVAL;
	pl_set_str(&pl, reg->c->registrar);
	if (uri_decode(&route, &pl))
		return EINVAL;
	re_snprintf(ruri, sizeof(ruri), "%r:%r", &aor.scheme, &aor.host);

	++reg->cseq;
	return sip_requestf(&reg->req, reg->sip, true, "REGISTER", ruri,
			    &route, reg->auth, NULL, resp_h, reg,
			    "From: <%s>;tag=%s\r\n"
			    "To: <%s>\r\n"
			    "Call-ID: %s\r\n"
			    "CSeq: %u REGISTER\r\n"
			    "Contact: %H\r\n"
			    "Expires: %u\r\n"
			    "Supported: gruu, path%s\r\n"
			    "%s"
			    "Content-Length: 0\r\n\r\n",
			    reg->c->aor, reg->from_tag, reg->c->aor,
			    reg->call_id, reg->cseq,
			    contact_print, reg->c, reg->expires,
			    reg->conf->reg_id ? ", outbound" : "",
			    reg->pref ? "Require: pref\r\n" : "");
}


static void reg_tmr_h(void *arg)
{
	struct reg *reg = arg;
	int err = reg_send(reg);

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "cannot send REGISTER: %m", err);
		tmr_start(&reg->tmr, reg->conf->retry_ms, reg_tmr_h, reg);
	}
}


static void later(struct reg *reg, uint64_t ms)
{
	tmr_start(&reg->tmr, ms, reg_tmr_h, reg);
}


struct ours {
	const struct contact *c;
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
	if (pl_strcmp(&cf.instance, o->c->instance))
		return false;
	o->cf = cf;
	o->found = true;
	return true;
}


static void ka_h(int err, void *arg)
{
	struct reg *reg = arg;

	plog(SIPPUSH_LOG_WARN, MOD, reg->ka_watch ?
	     "connection to the registrar closed (%m): registering again" :
	     "flow keep-alive failed (%m): registering again", err);
	reg->ka = mem_deref(reg->ka);
	reg->trust->flow.set = false;   /* nothing comes on it any more */
	/*
	 * Not from inside libre's close of the old flow, and not at once: a
	 * registrar that is going down may still accept the new connection
	 * and then reset it, and libre does not report a reset after the
	 * request was written (the REGISTER would wait out Timer F, 32 s).
	 * 0.5-1 s, random, also spreads the terminals of a restarted server.
	 */
	if (!reg->stopping)
		later(reg, 500 + rand_u16() % 501);
}


/*
 * A keep-alive that never pings: libre tells a keep-alive when its TCP or
 * TLS connection closes (the registrar's close, or libre's own after 15 min
 * idle), which is all we want of a registrar that did not say outbound.
 * libre's sip_keepalive_wait() multiplies the interval by up to 1000 in 32
 * bits: 30 days stays below that.
 */
enum { KA_WATCH_ONLY_S = 30 * 86400 };


/*
 * RFC 5626 §4.4: with reg-id, keep the flow to the registrar open (STUN
 * over UDP, CRLF over TCP) at the registrar's Flow-Timer, if it gave one.
 * Pings only to a registrar that said outbound: Require: outbound (libre's
 * own sipreg's test) or a Flow-Timer (asking for them). Any other reads
 * STUN as a SIP message it cannot parse and need not answer a CRLF ping,
 * so the flow failed every interval and the terminal registered again
 * (40 s over UDP, 2 min over TCP). Over TCP and TLS we still watch the
 * connection: a push must come on the REGISTER's flow (--pushes-via-flow),
 * so once it is gone we register on a new one.
 */
static void keepalive(struct reg *reg, const struct sip_msg *msg)
{
	const struct sip_hdr *ft = sip_msg_xhdr(msg, "Flow-Timer");
	bool ob = sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "outbound");
	uint32_t interval = 0;
	int err;

	if (!reg->conf->reg_id)
		return;
	if (ft)
		interval = pl_u32(&ft->val);
	reg->ka = mem_deref(reg->ka);
	reg->ka_watch = !ob && !ft;
	if (reg->ka_watch) {
		bool udp = msg->tp == SIP_TRANSP_UDP;

		plog(SIPPUSH_LOG_INFO, MOD, "no flow keep-alive: the registrar "
		     "did not say outbound (no Require: outbound, no "
		     "Flow-Timer)%s",
		     udp ? "" : "; watching the connection for a close");
		if (udp)
			return;   /* no connection to watch */
		interval = KA_WATCH_ONLY_S;
	}
	else if (interval)
		plog(SIPPUSH_LOG_INFO, MOD,
		     "flow keep-alive every %u s (Flow-Timer)", interval);
	else
		plog(SIPPUSH_LOG_INFO, MOD, "flow keep-alive at libre's "
		     "default interval (no Flow-Timer)");
	if (ob)
		plog(SIPPUSH_LOG_INFO, MOD,
		     "the registrar keeps this flow (outbound)");

	err = sip_keepalive_start(&reg->ka, reg->sip, msg, interval, ka_h,
				  reg);
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "no flow keep-alive: %m", err);
}


static void report(struct reg *reg, int err, uint16_t scode,
		   uint32_t expires)
{
	const char *gruu = reg->c->gruu[0] ? reg->c->gruu : NULL;

	if (reg->rh)
		reg->rh(err, scode, gruu, expires, reg->arg);
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct reg *reg = arg;
	struct ours o = {.c = reg->c};
	uint32_t expires;

	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "REGISTER failed: %m", err);
		report(reg, err, 0, 0);
		if (!reg->stopping)
			later(reg, reg->conf->retry_ms);
		return;
	}
	if (msg->scode < 200)
		return;

	if ((msg->scode == 401 || msg->scode == 407) &&
	    reg->auth_tries++ < MAX_AUTH &&
	    !sip_auth_authenticate(reg->auth, msg)) {
		(void)reg_send(reg);
		return;
	}

	if (msg->scode == 420 && reg->pref) {
		plog(SIPPUSH_LOG_WARN, MOD, "the registrar does not support "
		     "'Require: pref' (420); registering without it");
		reg->pref = false;
		(void)reg_send(reg);
		return;
	}

	reg->auth_tries = 0;
	if (msg->scode >= 300) {
		plog(SIPPUSH_LOG_WARN, MOD, "REGISTER answered %u %r",
		     msg->scode, &msg->reason);
		report(reg, EPROTO, msg->scode, 0);
		if (!reg->stopping)
			later(reg, reg->conf->retry_ms);
		return;
	}

	if (reg->stopping) {
		report(reg, 0, msg->scode, 0);
		return;
	}

	/* pushes come on this flow: with outbound the registrar keeps it
	 * (RFC 5626); without, one that reuses our connection sends on it */
	trust_flow_set(&reg->trust->flow, msg);
	if (vianat_behind(&msg->via) != reg->c->behind_nat) {
		reg->c->behind_nat = !reg->c->behind_nat;
		plog(SIPPUSH_LOG_INFO, MOD, "%s a NAT (Via: %r)",
		     reg->c->behind_nat ? "behind" : "no longer behind",
		     &msg->via.val);
	}
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, &o);
	expires = reg->expires;
	if (o.found && o.cf.has_expires)
		expires = o.cf.expires;
	reg->c->gruu[0] = '\0';
	if (o.found && pl_isset(&o.cf.pub_gruu))
		(void)pl_strcpy(&o.cf.pub_gruu, reg->c->gruu,
				sizeof(reg->c->gruu));

	plog(SIPPUSH_LOG_INFO, MOD, "registered %s for %u s%s%s%s",
	     reg->c->aor, expires, reg->c->gruu[0] ? ", GRUU " : "",
	     reg->c->gruu, reg->c->withdrawn ? " (push withdrawn)" : "");
	report(reg, 0, msg->scode, expires);
	keepalive(reg, msg);
	reg->okh(reg->arg);   /* TS §7.2: after the initial registration */

	/* refresh well before expiry; a registrar granting 0 or 1 s is
	 * asked again after a floor that backs off, not every millisecond */
	later(reg, regrefresh_ms(expires, REGREFRESH_REG_FLOOR_MS,
				  &reg->short_grants, reg->conf->retry_ms));
}


static void destructor(void *arg)
{
	struct reg *reg = arg;

	tmr_cancel(&reg->tmr);
	mem_deref(reg->req);
	mem_deref(reg->ka);
}


/**
 * rh (may be NULL) hears every outcome, okh each registration that holds
 * (not a de-registration's); both with arg.
 */
int reg_alloc(struct reg **regp, struct sip *sip, struct sip_auth *auth,
	      const struct receiver_conf *conf, struct contact *c,
	      struct trust *t, receiver_reg_h *rh, reg_ok_h *okh, void *arg)
{
	struct reg *reg = mem_zalloc(sizeof(*reg), destructor);

	if (!reg)
		return ENOMEM;
	reg->sip = sip;
	reg->auth = auth;
	reg->conf = conf;
	reg->c = c;
	reg->trust = t;
	reg->rh = rh;
	reg->okh = okh;
	reg->arg = arg;
	reg->pref = conf->require_pref;
	reg->expires = conf->expires ? conf->expires : 3600;
	tmr_init(&reg->tmr);
	re_snprintf(reg->call_id, sizeof(reg->call_id),
		    "%016llx@sippush-agent", (unsigned long long)rand_u64());
	re_snprintf(reg->from_tag, sizeof(reg->from_tag), "%016llx",
		    (unsigned long long)rand_u64());
	*regp = reg;
	return 0;
}


int reg_start(struct reg *reg)
{
	reg->stopping = false;
	return reg_send(reg);
}


/** REGISTER again now (the Contact changed: push withdrawn, restored) */
int reg_refresh(struct reg *reg)
{
	reg->req = mem_deref(reg->req);
	return reg_send(reg);
}


/** De-register: Expires 0, no flow, no refresh */
int reg_stop(struct reg *reg)
{
	reg->stopping = true;
	reg->expires = 0;
	reg->trust->flow.set = false;
	reg->ka = mem_deref(reg->ka);
	tmr_cancel(&reg->tmr);
	reg->req = mem_deref(reg->req);
	return reg_send(reg);
}
