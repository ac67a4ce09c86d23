/**
 * @file session.c  Session-mode delivery (TS §7.3): INVITE with an MSRP
 *                  offer, the content sent over MSRP, then BYE
 *
 * libre's sipsess carries the INVITE dialog (ACK, CANCEL, BYE); session
 * timers (RFC 4028) are ours: Supported: timer and Session-Expires in the
 * INVITE, a refresh at half the interval by UPDATE when the terminal's
 * Allow lists it, else by a re-INVITE we send on sipsess's dialog (libre's
 * would carry no Session-Expires: docs/design.md, libre 1.1.0). The content goes in one
 * MSRP session per file (one m-line each), chunked, with Success-Report:
 * yes; its REPORT completes it, and while others are still sent, a
 * re-INVITE puts its m-line at port 0 (TS §7.3.2.1 #5); BYE after the
 * last. We offer a=setup:actpass (RFC 6135): a
 * terminal that answers active connects to our listener (it may be
 * behind a NAT), else we connect to its path, as RFC 4975's offerer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <re.h>
#include "core/featuretag.h"
#include "core/imshdr.h"
#include "msrp/msrp.h"
#include "core/msrpsetup.h"
#include "core/msrpsdp.h"
#include "msrp/msrpsess.h"
#include "core/msrppeer.h"
#include "engine.h"
#include "delivery.h"
#include "session.h"

#include <sippush/log.h>

#define MOD "session"

static const char allow[] = "Allow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n";

/* The delta-seconds of a Session-Expires or Min-SE header, 0 if none */
static uint32_t hdr_secs(const struct sip_msg *msg, const char *name)
{
	const struct sip_hdr *h = sip_msg_xhdr(msg, name);
	struct pl v;

	if (!h || re_regex(h->val.p, h->val.l, "[0-9]+", &v))
		return 0;
	return pl_u32(&v);
}


struct psess;

/* A file's MSRP message, for its sent_h */
struct pfx {
	struct psess *ps;
	size_t i;
};

struct psess {
	int fd[MSRPSDP_MAX];     /**< the files, open while sending       */
	struct pfx fx[MSRPSDP_MAX];
	bool fin[MSRPSDP_MAX];   /**< sent, failed or refused             */
	bool zero[MSRPSDP_MAX];  /**< port 0 in our last offer            */
	char *path[MSRPSDP_MAX]; /**< our a=path, kept after a release    */
	struct delivery *d;
	struct target *t;
	struct sipsess *ss;
	struct msrp_sess *ms[MSRPSDP_MAX];
	size_t n;                /**< files (m-lines)                     */
	size_t nleft;            /**< files still being sent              */
	size_t nok;              /**< files confirmed                     */
	size_t nrefused;         /**< m-lines answered with port 0        */
	uint16_t fail;           /**< first MSRP failure status           */
	enum msrp_setup offered; /**< a=setup of our offer                */
	struct sip_request *req; /**< the refresh in flight               */
	struct mbuf *offer;      /**< our SDP, for re-INVITEs             */
	struct sa laddr;         /**< its c= address                      */
	uint32_t sess_id;        /**< its o= line                         */
	uint32_t sess_ver;
	struct tmr tmr;          /**< session refresh                     */
	uint32_t se;             /**< Session-Expires in force            */
	bool update_ok;          /**< the terminal's Allow lists UPDATE   */
	bool answered;
	bool inbound;            /**< the terminal connects (RFC 6135)     */
	bool reinviting;         /**< a re-INVITE in flight               */
	bool releasing;          /**< it releases files (port 0)          */
	bool release_due;        /**< files to release after it           */
	bool release_off;        /**< the terminal refused a release      */
	bool ending;
	bool retried_422;
};


static int invite(struct psess *ps);
static int offer_make(struct psess *ps);


static void psess_destructor(void *arg)
{
	struct psess *ps = arg;

	tmr_cancel(&ps->tmr);
	mem_deref(ps->req);
	mem_deref(ps->offer);
	for (size_t i = 0; i < ps->n; i++) {
		mem_deref(msrp_sess_detach(ps->ms[i]));
		mem_deref(ps->path[i]);
		if (ps->fd[i] >= 0)
			(void)close(ps->fd[i]);
	}
	mem_deref(ps->ss);   /* BYE, or CANCEL before an answer */
}


/* The session is over: free it (BYE/CANCEL), then the outcome */
static void end(struct psess *ps, enum outcome_event ev, uint16_t scode,
		const char *why)
{
	struct delivery *d = ps->d;
	struct target *t = ps->t;

	if (ps->ending)
		return;
	ps->ending = true;
	d->ps = NULL;
	mem_deref(ps);
	dlv_step(d, "%s", why);
	t->reph(t, d, &(const struct attempt){.ev = ev, .scode = scode,
					       .why = why});
}


static void release(struct psess *ps);


static void check_done(struct psess *ps)
{
	char why[64];

	if (ps->nleft)
		return;

	/* BYE once our re-INVITE has its answer (and our ACK) */
	if (ps->reinviting)
		return;

	if (ps->nok && !ps->fail) {
		re_snprintf(why, sizeof(why), "msrp %zu/%zu files", ps->nok,
			    ps->n);
		end(ps, OE_SIP, 200, ps->nrefused ? why : "msrp 200");
		return;
	}
	if (ps->fail) {
		re_snprintf(why, sizeof(why), "msrp %u", ps->fail);
		end(ps, OE_MSRP, ps->fail, why);
		return;
	}
	/* every file refused by the terminal (port 0) */
	end(ps, OE_SIP, 603, "all files refused");
}


static void sent_h(int err, uint16_t scode, void *arg)
{
	struct pfx *fx = arg;
	struct psess *ps = fx->ps;

	--ps->nleft;
	ps->fin[fx->i] = true;
	if (!err)
		++ps->nok;
	else if (!ps->fail)
		ps->fail = scode ? scode : 408;

	/* TS §7.3.2.1 #5: a file done while others go on is released with
	 * port 0 in a re-INVITE; after the last, BYE */
	if (ps->nleft)
		release(ps);
	else
		check_done(ps);
}


static void ms_closed(int err, void *arg)
{
	struct psess *ps = arg;

	plog(SIPPUSH_LOG_INFO, MOD, "%s: MSRP connection closed (%m)", ps->d->call_id,
	     err);
}


static int contact_h(enum sip_transp tp, const struct sa *src,
		     const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct psess *ps = arg;
	struct sip_contact c;
	(void)dst;

	sip_contact_set(&c, ps->t->s->conf.contact_user, src, tp);
	return mbuf_printf(mb, "%H", sip_contact_print, &c);
}


static void refresh_tmr(void *arg);


/* The ACK of a re-INVITE's 2xx: ours to send, libre's sipsess knows
 * nothing of this transaction */
static void reinvite_ack(struct psess *ps, const struct sip_msg *msg)
{
	int err = sip_drequestf(NULL, ps->t->s->sip, false, "ACK",
				sipsess_dialog(ps->ss), msg->cseq.num, NULL,
				contact_h, NULL, ps,
				"Content-Length: 0\r\n\r\n");

	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s: ACK of the re-INVITE: %m",
		     ps->d->call_id, err);
}


/* Our release re-INVITE is answered: the released files' MSRP goes */
static void released(struct psess *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		if (!ps->zero[i] || !ps->ms[i])
			continue;
		ps->ms[i] = mem_deref(msrp_sess_detach(ps->ms[i]));
		if (ps->fd[i] >= 0)
			(void)close(ps->fd[i]);
		ps->fd[i] = -1;
		dlv_step(ps->d, "re-INVITE: file %zu at port 0", i + 1);
	}
}


/* Our release re-INVITE is refused: the files not released yet are
 * back in the offer (a new version of it, RFC 3264 §8) */
static void release_undo(struct psess *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		ps->zero[i] = ps->zero[i] && !ps->ms[i];
	++ps->sess_ver;
	if (offer_make(ps))
		ps->release_off = true;
}


static void refresh_resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct psess *ps = arg;
	const bool inv = !err && !pl_strcmp(&msg->cseq.met, "INVITE");
	const bool releasing = ps->releasing;
	uint32_t se;

	if (!err && msg->scode < 200)
		return;
	if (ps->reinviting) {
		ps->reinviting = false;
		ps->releasing = false;
	}
	if (inv && msg->scode < 300) {
		reinvite_ack(ps, msg);
		(void)sip_dialog_update(sipsess_dialog(ps->ss), msg);
		if (releasing)
			released(ps);
	}
	if (!err && !inv && (msg->scode == 405 || msg->scode == 501)) {
		/* its Allow said UPDATE, its answer says no: re-INVITE */
		ps->update_ok = false;
		dlv_step(ps->d, "update %u: re-INVITE", msg->scode);
		tmr_start(&ps->tmr, 0, refresh_tmr, ps);
		return;
	}
	if (!err && msg->scode == 491) {
		/* RFC 3261 §14.1: a re-INVITE of the terminal's crossed ours */
		if (releasing) {
			release_undo(ps);
			ps->release_due = true;
		}
		tmr_start(&ps->tmr, 2100 + rand_u16() % 1900, refresh_tmr, ps);
		return;
	}
	if (releasing && !err && msg->scode >= 300 && msg->scode != 408 &&
	    msg->scode != 481) {
		/* RFC 3261 §14.1: refused, the session stays as it was; the
		 * files stay until the BYE */
		release_undo(ps);
		ps->release_off = true;
		dlv_step(ps->d, "re-INVITE %u: files kept", msg->scode);
		tmr_start(&ps->tmr, (uint64_t)ps->se * 500, refresh_tmr, ps);
		check_done(ps);
		return;
	}
	if ((err || msg->scode >= 300) && !ps->nleft) {
		/* every file is done: the outcome is theirs, then BYE */
		check_done(ps);
		return;
	}
	if (err || msg->scode >= 300) {
		/* RFC 4028 §10: a failed refresh ends the session */
		char why[48];

		re_snprintf(why, sizeof(why), "session refresh failed (%u)",
			    err ? 408 : msg->scode);
		end(ps, OE_SIP, err ? 408 : msg->scode, why);
		return;
	}

	/* RFC 4028 §7.2: the interval is what the answer says */
	se = hdr_secs(msg, "Session-Expires");
	if (se && se < ps->se)
		ps->se = se;
	if (!releasing)
		dlv_step(ps->d, inv ? "refreshed (re-INVITE)" : "refreshed");
	tmr_start(&ps->tmr, (uint64_t)ps->se * 500, refresh_tmr, ps);

	/* the last file done meanwhile: BYE now; else what waits */
	if (!ps->nleft)
		check_done(ps);
	else if (ps->release_due)
		release(ps);
}


/* A re-INVITE with our offer as it stands (a refresh, or a release),
 * with Session-Expires: libre's sipsess_modify() would send none (its
 * sipsess_reinvite() prints only Content-Type and the body), so it goes
 * out here, on sipsess's dialog */
static int reinvite_send(struct psess *ps)
{
	struct ims_hdrs ims;
	char icid[64];

	/* in the dialog, the session's charging vector goes on */
	dlv_ims(ps->d, &ims, icid, sizeof(icid));
	ps->offer->pos = 0;
	ps->reinviting = true;
	return sip_drequestf(&ps->req, ps->t->s->sip, true, "INVITE",
			     sipsess_dialog(ps->ss), 0, NULL, contact_h,
			     refresh_resp_h, ps,
			     "Supported: timer\r\n"
			     "Session-Expires: %u;refresher=uac\r\n"
			     "%s%H"
			     "Content-Type: application/sdp\r\n"
			     "Content-Length: %zu\r\n\r\n%b", ps->se, allow,
			     ims_hdrs_print, &ims, mbuf_get_left(ps->offer),
			     mbuf_buf(ps->offer), mbuf_get_left(ps->offer));
}


/* RFC 4028 §7.4: by UPDATE when the terminal allows it, else by
 * re-INVITE with our offer again */
static void refresh_tmr(void *arg)
{
	struct psess *ps = arg;
	int err;

	ps->req = mem_deref(ps->req);
	ps->reinviting = false;
	if (ps->release_due) {
		release(ps);
		return;
	}
	if (ps->update_ok) {
		struct ims_hdrs ims;
		char icid[64];

		dlv_ims(ps->d, &ims, icid, sizeof(icid));
		err = sip_drequestf(&ps->req, ps->t->s->sip, true, "UPDATE",
				    sipsess_dialog(ps->ss), 0, NULL, contact_h,
				    refresh_resp_h, ps,
				    "Supported: timer\r\n"
				    "Session-Expires: %u;refresher=uac\r\n"
				    "%H"
				    "Content-Length: 0\r\n\r\n", ps->se,
				    ims_hdrs_print, &ims);
	}
	else
		err = reinvite_send(ps);
	if (err)
		end(ps, OE_TIMEOUT, 0, "cannot refresh the session");
}


/*
 * TS §7.3.2.1 #5, §7.3.2.3: the files done while others are still sent
 * go to port 0 in a new offer (RFC 3264 §8.2), sent by re-INVITE; after
 * the request in flight, if any. The re-INVITE refreshes the session too.
 */
static void release(struct psess *ps)
{
	bool any = false;
	int err;

	for (size_t i = 0; i < ps->n; i++)
		any |= ps->fin[i] && !ps->zero[i];
	if (!any || ps->release_off || !ps->ss) {
		ps->release_due = false;
		return;
	}
	if (ps->req) {
		ps->release_due = true;
		return;
	}

	ps->release_due = false;
	for (size_t i = 0; i < ps->n; i++)
		ps->zero[i] = ps->fin[i];
	++ps->sess_ver;
	err = offer_make(ps);
	if (!err) {
		err = reinvite_send(ps);
		ps->releasing = !err;
	}
	if (err) {
		ps->reinviting = false;
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot release files: %m",
		     ps->d->call_id, err);
		ps->release_off = true;
	}
	/* the next refresh at half the interval from this one */
	if (!err)
		tmr_cancel(&ps->tmr);
}


static bool path_allowed(const struct sender *s, const char *path,
			 const struct sip_msg *msg)
{
	struct pl pl, id;
	struct sa sa;

	pl_set_str(&pl, path);
	if (!msrp_path_addr(&sa, &id, &pl) &&
	    msrppeer_allowed(&sa, &msg->src, s->conf.msrp_allowv,
			     s->conf.msrp_allown))
		return true;

	plog(SIPPUSH_LOG_WARN, MOD, "MSRP path %s refused: not %J, where the SIP "
	     "dialog went, or not public (--msrp-allow)", path, &msg->src);
	return false;
}


/* The answer: connect to every accepted file's path and send */
static int answer_h(const struct sip_msg *msg, void *arg)
{
	struct psess *ps = arg;
	const struct push *p = ps->d->p;
	struct msrpsdp sd;
	struct pl body = {(const char *)mbuf_buf(msg->mb),
			  mbuf_get_left(msg->mb)};
	size_t inbound = 0;
	bool connects;
	int err;

	if (msrpsdp_decode(&sd, &body) || sd.n != ps->n)
		return EPROTO;

	ps->answered = true;
	ps->nleft = ps->n;
	for (size_t i = 0; i < ps->n; i++) {
		const struct pfile *f = p->nfiles ? &p->files[i] : NULL;
		const char *disp = f && f->disposition ? f->disposition :
			p->disposition ? p->disposition : "attachment";
		char cdisp[320], path[512];
		struct msrp_out_spec o = {
			.data = f ? NULL : p->body, .fd = ps->fd[i],
			.size = f ? f->size : p->body_len,
			.ctype = f ? f->ctype : p->ctype,
			.success_report = true, .cdisp = cdisp,
		};

		re_snprintf(cdisp, sizeof(cdisp), "%s%s%s%s", disp,
			    (f && f->filename) || p->filename ?
			    "; filename=\"" : "",
			    f && f->filename ? f->filename :
			    p->filename ? p->filename : "",
			    (f && f->filename) || p->filename ? "\"" : "");

		if (!sd.m[i].msrp || !sd.m[i].port || !pl_isset(&sd.m[i].path)) {
			++ps->nrefused;
			--ps->nleft;
			ps->fin[i] = true;
			continue;
		}
		(void)pl_strcpy(&sd.m[i].path, path, sizeof(path));

		/* RFC 6135: the terminal may connect to us instead */
		if (msrp_setup_offerer_connects(&connects, ps->offered,
						sd.m[i].setup)) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: a=setup:%s does not "
			     "answer a=setup:%s", ps->d->call_id,
			     msrp_setup_name(sd.m[i].setup) ?
			     msrp_setup_name(sd.m[i].setup) : "(none)",
			     msrp_setup_name(ps->offered));
			--ps->nleft;
			ps->fin[i] = true;
			if (!ps->fail)
				ps->fail = 488;
			continue;
		}
		if (!connects) {
			err = msrp_sess_send(ps->ms[i], &o, sent_h,
					     &ps->fx[i]);
			if (err) {
				--ps->nleft;
				ps->fin[i] = true;
				if (!ps->fail)
					ps->fail = 400;
				continue;
			}
			++inbound;
			continue;
		}

		/* never where the dialog did not go (msrppeer.h) */
		if (!path_allowed(ps->t->s, path, msg)) {
			--ps->nleft;
			ps->fin[i] = true;
			if (!ps->fail)
				ps->fail = 488;
			continue;
		}

		/* msrps: only to the certificate the answer names */
		if (ps->t->s->msrp_tls) {
			if (!sd.has_fp || strncasecmp(path, "msrps:", 6)) {
				plog(SIPPUSH_LOG_WARN, MOD, "%s: msrps answer without "
				     "a fingerprint or with %s", ps->d->call_id,
				     path);
				--ps->nleft;
				ps->fin[i] = true;
				if (!ps->fail)
					ps->fail = 488;
				continue;
			}
			msrp_sess_expect_fp(ps->ms[i], sd.fp);
		}
		err = msrp_sess_connect(ps->ms[i], path);
		err = err ? err : msrp_sess_send(ps->ms[i], &o, sent_h,
						 &ps->fx[i]);
		if (err) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: MSRP to %s: %m",
			     ps->d->call_id, path, err);
			--ps->nleft;
			ps->fin[i] = true;
			if (!ps->fail)
				ps->fail = 400;
		}
	}
	ps->inbound = inbound > 0;
	return 0;
}


static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct psess *ps = arg;
	const uint32_t se = hdr_secs(msg, "Session-Expires");

	dlv_step(ps->d, "invite 200");
	if (ps->inbound)
		dlv_step(ps->d, "terminal connects");
	sender_sip_response(ps->t->s, msg->scode);
	if (se && se < ps->se)
		ps->se = se;
	/* TS §7.3.2.1: the methods it takes decide how we refresh */
	ps->update_ok = sip_msg_hdr_has_value(msg, SIP_HDR_ALLOW, "UPDATE");
	if (ps->se)
		tmr_start(&ps->tmr, (uint64_t)ps->se * 500, refresh_tmr, ps);

	/* nothing accepted or sent: decide now */
	check_done(ps);
}


static int offer_h(struct mbuf **descp, const struct sip_msg *msg,
		   void *arg)
{
	(void)descp;
	(void)msg;
	(void)arg;
	return EPROTO;   /* the terminal sends no offers to us */
}


static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct psess *ps = arg;
	char why[64];

	ps->ss = NULL;   /* libre frees it */
	if (msg)
		sender_sip_response(ps->t->s, msg->scode);
	if (err) {
		re_snprintf(why, sizeof(why), "invite: %m", err);
		end(ps, OE_TIMEOUT, 0, why);
		return;
	}
	if (msg && msg->scode == 422 && !ps->retried_422 &&
	    hdr_secs(msg, "Min-SE") > ps->se) {
		/* RFC 4028 §8: again with the interval the terminal wants */
		ps->retried_422 = true;
		ps->se = hdr_secs(msg, "Min-SE");
		dlv_step(ps->d, "invite 422: Session-Expires %u", ps->se);
		if (!invite(ps))
			return;
	}
	if (msg && msg->scode >= 300) {
		re_snprintf(why, sizeof(why), "invite %u %r", msg->scode,
			    &msg->reason);
		end(ps, OE_SIP, msg->scode, why);
		return;
	}
	/* the terminal hung up (BYE) before the content was confirmed */
	end(ps, OE_MSRP, 408, "closed by the terminal");
}


/* Our SDP offer into ps->offer, again for every (re-)INVITE */
static int offer_make(struct psess *ps)
{
	const struct push *p = ps->d->p;
	struct msrpsdp_file f[MSRPSDP_MAX];
	char ftid[MSRPSDP_MAX][80], addr[64];
	uint8_t sha[20] = {0};
	struct msrpsdp_spec spec;
	struct mbuf *mb;
	uint16_t lport = 0;
	struct sa la;
	int err;

	/* offering actpass: the m-line names where we listen (RFC 4145) */
	if (ps->offered == MSRP_SETUP_ACTPASS &&
	    !msrp_listener_laddr(ps->t->s->msrp_lsn, &la))
		lport = sa_port(&la);
	if (!p->nfiles)
		SHA1(p->body, p->body_len, sha);
	re_snprintf(addr, sizeof(addr), "%j", &ps->laddr);
	for (size_t i = 0; i < ps->n; i++) {
		const struct pfile *pf = p->nfiles ? &p->files[i] : NULL;

		/* stable per delivery and file: the terminal's identity */
		re_snprintf(ftid[i], sizeof(ftid[i]), "%s.%zu", ps->d->call_id,
			    i);
		f[i] = (struct msrpsdp_file){
			.name = pf ? pf->filename : p->filename,
			.type = pf ? pf->ctype : p->ctype,
			.size = pf ? pf->size : p->body_len,
			.sha1 = pf ? (pf->has_sha1 ? pf->sha1 : NULL) : sha,
			.ftid = ftid[i],
			.disposition = pf && pf->disposition ?
				pf->disposition : p->disposition ?
				p->disposition : "attachment",
			.path = ps->path[i],
			.port = ps->zero[i] ? 0 : lport ? lport : 9,
			.setup = ps->offered,
		};
	}
	spec = (struct msrpsdp_spec){
		.addr = addr, .sess_id = ps->sess_id, .sess_ver = ps->sess_ver,
		.filev = f, .n = ps->n, .tls = ps->t->s->msrp_tls != NULL,
	};

	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "%H", msrpsdp_print, &spec);
	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->pos = 0;
	mem_deref(ps->offer);
	ps->offer = mb;
	return 0;
}


/* The INVITE (again after a 422): offer, route, timer headers */
static int invite(struct psess *ps)
{
	struct delivery *d = ps->d;
	struct sender *s = ps->t->s;
	const struct push *p = d->p;
	const struct ac_spec ac = {.app = p->app, .require = true,
				   .explicit_ = true,
				   .instance = dlv_instance(d)};
	const char *routev[1] = {NULL};
	char route[512];
	struct ims_hdrs ims;
	char icid[64];
	int err;

	dlv_ims(d, &ims, icid, sizeof(icid));
	err = offer_make(ps);
	if (err)
		goto out;

	/* the first hop: the core, or the Path the terminal registered */
	dlv_route_refresh(d);
	if (s->conf.outbound) {
		routev[0] = s->conf.outbound;
	}
	else if (d->route) {
		struct sip_addr a;
		struct pl rp;

		pl_set_str(&rp, d->route);
		if (sip_addr_decode(&a, &rp) ||
		    pl_strcpy(&a.auri, route, sizeof(route))) {
			err = EINVAL;
			goto out;
		}
		routev[0] = route;
	}

	ps->ss = NULL;
	err = sipsess_connect(&ps->ss, s->sess_sock, d->ruri, NULL,
			      push_from(p), s->conf.contact_user, routev,
			      routev[0] ? 1 : 0, "application/sdp", ps->offer,
			      NULL, NULL, false, offer_h, answer_h, NULL,
			      estab_h, NULL, NULL, close_h, ps,
			      "%s%s%s"
			      "Accept-Contact: %H\r\n"
			      "%H"
			      "Supported: timer\r\n"
			      "Session-Expires: %u;refresher=uac\r\n"
			      "%s",
			      push_pai(p) ? "P-Asserted-Identity: <" : "",
			      push_pai(p) ? push_pai(p) : "",
			      push_pai(p) ? ">\r\n" : "",
			      ac_print, &ac, ims_hdrs_print, &ims, ps->se,
			      allow);
 out:
	return err;
}


/** Start a session-mode delivery on target t (its one outstanding) */
int session_start(struct target *t, struct delivery *d)
{
	struct sender *s = t->s;
	const struct push *p = d->p;
	const struct msrp_sess_conf mc = {
		.closeh = ms_closed, .chunk = s->conf.msrp_chunk,
		.tls = s->msrp_tls,
	};
	struct psess *ps;
	int err;

	if ((!p->nfiles && !p->body_len) || !s->sess_sock ||
	    p->nfiles > MSRPSDP_MAX)
		return EINVAL;

	ps = mem_zalloc(sizeof(*ps), psess_destructor);
	if (!ps)
		return ENOMEM;
	ps->d = d;
	ps->t = t;
	ps->n = p->nfiles ? p->nfiles : 1;
	for (size_t i = 0; i < MSRPSDP_MAX; i++) {
		ps->fd[i] = -1;
		ps->fx[i] = (struct pfx){ps, i};
	}
	for (size_t i = 0; i < p->nfiles; i++) {
		ps->fd[i] = open(p->files[i].path, O_RDONLY | O_CLOEXEC);
		if (ps->fd[i] < 0) {
			err = errno;
			plog(SIPPUSH_LOG_WARN, MOD, "%s: %s: %m", p->id,
			     p->files[i].path, err);
			mem_deref(ps);
			return err;
		}
	}
	ps->se = s->conf.session_expires;
	tmr_init(&ps->tmr);
	/* with a listener either end may connect (RFC 6135); without
	 * (msrps), we do, as RFC 4975 has it */
	ps->offered = s->msrp_lsn ? MSRP_SETUP_ACTPASS : MSRP_SETUP_NONE;

	ps->sess_id = rand_u32();
	ps->sess_ver = 1;

	err = sip_transp_laddr(s->sip, &ps->laddr, SIP_TRANSP_UDP, NULL);
	for (size_t i = 0; i < ps->n && !err; i++) {
		struct msrp_sess_conf c = mc;

		c.arg = ps;
		err = msrp_sess_alloc(&ps->ms[i], s->msrp_lsn, &ps->laddr, &c);
		err = err ? err : str_dup(&ps->path[i],
					  msrp_sess_path(ps->ms[i]));
	}
	err = err ? err : invite(ps);
	if (err) {
		mem_deref(ps);
		return err;
	}

	d->ps = ps;
	dlv_step(d, "invite");
	return 0;
}


/** The push was cancelled: CANCEL before an answer, else let it end */
bool session_cancel(struct delivery *d)
{
	struct psess *ps = d->ps;

	if (!ps || ps->answered)
		return false;
	end(ps, OE_CANCELLED, 0, "cancelled: CANCEL");
	return true;
}
