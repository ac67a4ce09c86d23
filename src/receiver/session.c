/**
 * @file session.c  Session-mode pushes at the terminal (TS §7.3): INVITE
 *                  with an MSRP offer, files received over MSRP
 *
 * The page-mode rules first (trusted P-Asserted-Identity, else 403; the
 * application from Accept-Contact, 404 for an unknown one); each offered
 * file is taken (its MSRP session listens) or refused (its m-line answered
 * with port 0); none taken: 488. To a sender with Supported: timer the
 * 200 carries Require: timer and Session-Expires (RFC 4028), and so do
 * our 200s to its refreshes (UPDATE, or a re-INVITE: answered here, not
 * by libre's sipsess); a session nobody refreshes ends. Files stream to a temporary file
 * in the state directory, never to memory, and reach the application by
 * path when complete. To a=setup:actpass (RFC 6135) we answer active and
 * connect to the sender's path when behind a NAT or told to, else our
 * listener waits for the sender.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "core/outcome.h"   /* before method.h, which uses it */
#include "core/method.h"
#include "core/msrpsetup.h"
#include "core/msrpsdp.h"
#include "msrp/msrp.h"
#include "msrp/msrpsess.h"
#include "app.h"
#include "contact.h"
#include "deliver.h"
#include "session.h"
#include "trust.h"

#define MOD "session"

enum { MSRP_CONNECT_MS = 30000 };

static const char allow[] = "Allow: MESSAGE, NOTIFY, REFER, INVITE, ACK, "
	"CANCEL, BYE, UPDATE, OPTIONS\r\n";

struct rfile;

/* Session mode: the INVITE listener, the MSRP listener, the sessions */
struct rsess_sock {
	struct list sessions;    /**< struct rsess                       */
	struct sip *sip;
	const struct receiver_conf *conf;
	const struct trust *trust;
	const struct contact *c;
	struct deliver *deliver;
	struct sipsess_sock *sess_sock;
	struct msrp_listener *msrp;
	struct tls *msrp_tls;    /**< msrps: our certificate, or NULL    */
};


/* The delta-seconds of a Session-Expires header, 0 if none */
static uint32_t se_secs(const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_xhdr(msg, "Session-Expires");
	struct pl v;

	if (!h || re_regex(h->val.p, h->val.l, "[0-9]+", &v))
		return 0;
	return pl_u32(&v);
}

/* RFC 4028 §9: timers only with a sender that supports them */
static bool timer_wanted(const struct sip_msg *msg)
{
	return sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "timer") ||
		sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "timer");
}


struct rsess {
	struct le le;            /**< in rsess_sock.sessions             */
	struct rsess_sock *sock;
	const struct receiver_app *app;
	struct sipsess *ss;
	struct mbuf *answer;     /**< for a re-INVITE                    */
	struct rfile *files[MSRPSDP_MAX];
	size_t n;
	char from[256];
	struct tmr tmr;          /**< session timer                      */
	uint32_t se;
	bool timer;              /**< the sender takes RFC 4028 timers:
				      else se is only our own guard      */
	char user[64];           /**< our Contact's user part            */
	uint32_t sess_id;        /**< our answer's o= line               */
	uint32_t sess_ver;
	struct mbuf *reply;      /**< a re-INVITE's 200 until its ACK    */
	const struct sip_msg *reply_msg;
	struct tmr tmr_reply;    /**< its retransmission (UDP)           */
	uint32_t reply_ms;       /**< how long it has been sent          */
	uint32_t reply_iv;       /**< until it goes again                */
};

struct rfile {
	struct rsess *rs;
	struct msrp_sess *ms;
	enum msrp_setup setup;   /**< what our answer says               */
	char remote[512];        /**< active: the sender's path          */
	char ftid[128];
	char name[256];
	char type[128];
	char disp[32];
	char path[512];
	int fd;
	int status;              /**< the MSRP answer to its last chunk  */
	bool done;
};


static void rfile_destructor(void *arg)
{
	struct rfile *f = arg;

	mem_deref(msrp_sess_detach(f->ms));
	if (f->fd >= 0)
		(void)close(f->fd);
	if (f->path[0])
		(void)unlink(f->path);   /* incomplete, or not taken */
}


static void rsess_destructor(void *arg)
{
	struct rsess *rs = arg;

	list_unlink(&rs->le);
	tmr_cancel(&rs->tmr);
	tmr_cancel(&rs->tmr_reply);
	mem_deref(rs->reply);
	mem_deref((void *)rs->reply_msg);
	for (size_t i = 0; i < rs->n; i++)
		mem_deref(rs->files[i]);
	mem_deref(rs->answer);
	mem_deref(rs->ss);   /* BYE when still up */
}


/* A 2xx's timer headers (TS §7.3.1.1 #8, #9), when the sender takes
 * timers; the sender refreshes, as its INVITE said */
static int timer_hdrs(struct re_printf *pf, const struct rsess *rs)
{
	if (!rs->timer)
		return 0;
	return re_hprintf(pf, "Require: timer\r\n"
			  "Session-Expires: %u;refresher=uac\r\n", rs->se);
}


static void session_end(struct rsess *rs, const char *why)
{
	plog(SIPPUSH_LOG_INFO, MOD, "%s: session ends (%s)", rs->app->id, why);
	mem_deref(rs);
}


static void timer_expired(void *arg)
{
	struct rsess *rs = arg;

	/* RFC 4028 §10: nobody refreshed it; without timers, nothing
	 * came for that long */
	session_end(rs, rs->timer ? "session timer expired" :
		    "idle, no session timer");
}


static void timer_restart(struct rsess *rs)
{
	if (rs->se)
		tmr_start(&rs->tmr, (uint64_t)rs->se * 1000, timer_expired,
			  rs);
}


static int begin_h(void **ctxp, const struct msrp_hdrs *h, uint64_t total,
		   void *arg)
{
	struct rfile *f = arg;
	struct rsess_sock *sock = f->rs->sock;

	if (f->fd >= 0)
		return 400;   /* one message per file session */
	if (sock->conf->session_max && total > sock->conf->session_max)
		return 413;

	re_snprintf(f->path, sizeof(f->path), "%s/.msrp-XXXXXX",
		    sock->conf->state_dir);
	f->fd = mkstemp(f->path);
	if (f->fd < 0) {
		f->path[0] = '\0';
		return 0;
	}
	if (pl_isset(&h->ctype))
		(void)pl_strcpy(&h->ctype, f->type, sizeof(f->type));
	*ctxp = f;
	return 0;
}


static int chunk_h(void *ctx, uint64_t off, const uint8_t *p, size_t n,
		   void *arg)
{
	struct rfile *f = ctx;
	(void)arg;

	/* no session timer: the data is what keeps the session */
	if (!f->rs->timer)
		timer_restart(f->rs);
	while (n) {
		ssize_t w = pwrite(f->fd, p, n, (off_t)off);

		if (w <= 0)
			return errno ? errno : EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}


static void transfer_failed(void *arg)
{
	session_end(arg, "transfer failed");
}


static bool all_done(const struct rsess *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->files[i] && !rs->files[i]->done)
			return false;
	return true;
}


/* How the file's push ended (deliver.c; not deferrable, so at once):
 * the status the transfer is answered with */
static void ended_h(int err, void *arg)
{
	struct rfile *f = arg;

	f->status = 0;
	if (err) {
		/* a failure REPORT: the sender tries again */
		plog(SIPPUSH_LOG_WARN, MOD,
		     "%s: the application refused it (%m)", f->ftid, err);
		f->status = 500;
	}
}


static int done_h(void *ctx, int err, void *arg)
{
	struct rfile *f = ctx;
	struct rsess_sock *sock = f->rs->sock;
	struct receiver_push p;
	(void)arg;

	f->done = true;
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: file not received (%m)",
		     f->ftid, err);
		/* the partial file goes now, not when the session ends: a
		 * sender that died sends no BYE */
		if (f->fd >= 0)
			(void)close(f->fd);
		f->fd = -1;
		if (f->path[0])
			(void)unlink(f->path);
		f->path[0] = '\0';
		/* nothing more can come: end it (BYE) from the loop, not
		 * from inside the MSRP session's callback */
		if (all_done(f->rs))
			tmr_start(&f->rs->tmr, 0, transfer_failed, f->rs);
		return 0;
	}
	if (fsync(f->fd))
		plog(SIPPUSH_LOG_WARN, MOD, "%s: fsync: %m", f->ftid, errno);
	(void)close(f->fd);
	f->fd = -1;

	memset(&p, 0, sizeof(p));
	p.app = f->rs->app->id;
	p.from = f->rs->from;
	p.ctype = f->type[0] ? f->type : "application/octet-stream";
	p.method = "INVITE";
	p.push_id = f->ftid;
	p.file = f->path;
	p.filename = f->name[0] ? f->name : NULL;
	p.disposition = f->disp[0] ? f->disp : NULL;
	deliver_push(sock->deliver, &p, ended_h, f);
	return f->status;
}


static void ms_closed(int err, void *arg)
{
	struct rfile *f = arg;

	if (f->done)
		return;
	plog(SIPPUSH_LOG_INFO, MOD, "%s: MSRP connection closed (%m)",
	     f->ftid, err);

	/* ours failed before anything came: nothing more will (a passive
	 * file may still see the sender connect again) */
	if (f->setup == MSRP_SETUP_ACTIVE) {
		f->done = true;
		if (all_done(f->rs))
			tmr_start(&f->rs->tmr, 0, transfer_failed, f->rs);
	}
}


static int offer_h(struct mbuf **descp, const struct sip_msg *msg,
		   void *arg)
{
	struct rsess *rs = arg;
	const uint32_t se = se_secs(msg);

	/* a re-INVITE refresh: the same answer, the timer again */
	if (se >= rs->sock->conf->min_se)
		rs->se = se;
	timer_restart(rs);
	*descp = mem_ref(rs->answer);
	rs->answer->pos = 0;
	return 0;
}


static int answer_h(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return 0;
}


static void estab_h(const struct sip_msg *msg, void *arg)
{
	struct rsess *rs = arg;
	(void)msg;

	plog(SIPPUSH_LOG_INFO, MOD, "%s: session established (%zu files)",
	     rs->app->id, rs->n);
}


static void close_h(int err, const struct sip_msg *msg, void *arg)
{
	struct rsess *rs = arg;
	(void)msg;

	rs->ss = NULL;   /* libre frees it */
	session_end(rs, err ? "closed" : "BYE");
}


/* Can this app take the offered file? */
static bool wanted(const struct rsess_sock *sock,
		   const struct receiver_app *app,
		   const struct msrpsdp_media *m)
{
	char type[128], types[256];
	struct pl acc;

	if (!m->msrp || !m->port || !pl_isset(&m->path))
		return false;
	/* with a certificate only msrps; without one only plain TCP */
	if (!pl_strcasecmp(&m->proto, "TCP/TLS/MSRP") != !!sock->msrp_tls)
		return false;
	if (sock->conf->session_max && m->has_size &&
	    m->size > sock->conf->session_max)
		return false;
	if (!app->accept)
		return true;

	/* the file's type (file-selector), else one of the accept-types */
	if (!pl_isset(&m->type))
		return !msrpsdp_accept_meet(types, sizeof(types),
					    &m->accept_types, app->accept);
	if (pl_strcpy(&m->type, type, sizeof(type)))
		return false;
	pl_set_str(&acc, app->accept);
	return ctype_accepted(&acc, type);
}


/*
 * Who connects for this m-line (RFC 6135): we, when the sender lets us
 * choose and we are behind a NAT or told so, or when it insists; never
 * with msrps (our certificate makes us the TLS server) nor to a path we
 * cannot dial. EPROTO: the offer asks what we cannot do.
 */
static int setup_pick(enum msrp_setup *ans, const struct rsess_sock *sock,
		      const struct msrpsdp_media *m)
{
	const enum receiver_msrp_setup want = sock->conf->msrp_setup;
	const bool prefer = !sock->msrp_tls &&
		(want == RECEIVER_MSRP_ACTIVE ||
		 (want == RECEIVER_MSRP_AUTO && sock->c->behind_nat));
	struct pl id;
	struct sa sa;
	int err;

	err = msrp_setup_answer(ans, m->setup, prefer);
	if (err)
		return err;
	if (*ans == MSRP_SETUP_ACTIVE &&
	    (sock->msrp_tls || msrp_path_addr(&sa, &id, &m->path)))
		return EPROTO;
	return 0;
}


static int rfile_alloc(struct rfile **fp, struct rsess *rs,
		       const struct msrpsdp_media *m, enum msrp_setup setup,
		       const char *push_id, size_t idx)
{
	const struct msrp_sess_conf c = {
		.max_size = rs->sock->conf->session_max,
		.beginh = begin_h, .chunkh = chunk_h, .doneh = done_h,
		.closeh = ms_closed,
	};
	struct msrp_sess_conf cc = c;
	struct rfile *f;
	int err;

	f = mem_zalloc(sizeof(*f), rfile_destructor);
	if (!f)
		return ENOMEM;
	f->rs = rs;
	f->fd = -1;
	if (pl_isset(&m->ftid))
		(void)pl_strcpy(&m->ftid, f->ftid, sizeof(f->ftid));
	else
		re_snprintf(f->ftid, sizeof(f->ftid), "%s.%zu", push_id, idx);
	(void)pl_strcpy(&m->name, f->name, sizeof(f->name));
	(void)pl_strcpy(&m->disposition, f->disp, sizeof(f->disp));
	if (pl_isset(&m->type))
		(void)pl_strcpy(&m->type, f->type, sizeof(f->type));

	cc.arg = f;
	f->setup = setup;
	if (setup == MSRP_SETUP_ACTIVE) {
		/* we connect: the path names port 9, we listen nowhere */
		struct sa laddr;

		err = msrp_listener_laddr(rs->sock->msrp, &laddr);
		err = err ? err : pl_strcpy(&m->path, f->remote,
					    sizeof(f->remote));
		err = err ? err : msrp_sess_alloc(&f->ms, NULL, &laddr, &cc);
	}
	else {
		err = msrp_sess_alloc(&f->ms, rs->sock->msrp, NULL, &cc);
	}
	if (err) {
		mem_deref(f);
		return err;
	}
	*fp = f;
	return 0;
}


static int answer_print(struct rsess *rs, const struct msrpsdp *sd)
{
	struct msrpsdp_file fv[MSRPSDP_MAX];
	char types[MSRPSDP_MAX][256], ftids[MSRPSDP_MAX][128];
	struct msrpsdp_spec spec;
	struct mbuf *mb;
	struct sa laddr;
	uint8_t fp[32];
	char addr[64];
	int err;

	err = msrp_listener_laddr(rs->sock->msrp, &laddr);
	if (err)
		return err;
	re_snprintf(addr, sizeof(addr), "%j", &laddr);

	for (size_t i = 0; i < sd->n; i++) {
		const struct msrpsdp_media *m = &sd->m[i];
		const struct rfile *f = rs->files[i];

		/* the file's type, else what we take of the offered ones */
		if (pl_isset(&m->type))
			(void)pl_strcpy(&m->type, types[i], sizeof(types[i]));
		else if (msrpsdp_accept_meet(types[i], sizeof(types[i]),
					     &m->accept_types,
					     rs->app->accept))
			types[i][0] = '\0';
		if (!types[i][0])
			str_ncpy(types[i], "*", sizeof(types[i]));
		(void)pl_strcpy(&m->ftid, ftids[i], sizeof(ftids[i]));
		fv[i] = (struct msrpsdp_file){
			.type = types[i], .size = m->size,
			.ftid = ftids[i][0] ? ftids[i] : "-",
			.path = f ? msrp_sess_path(f->ms) : NULL,
			.port = !f ? 0 : f->setup == MSRP_SETUP_ACTIVE ? 9 :
				sa_port(&laddr),
			.setup = f ? f->setup : MSRP_SETUP_NONE,
		};
	}

	spec = (struct msrpsdp_spec){
		.addr = addr, .sess_id = rs->sess_id, .sess_ver = rs->sess_ver,
		.answer = true, .max_size = rs->sock->conf->session_max,
		.filev = fv, .n = sd->n, .tls = rs->sock->msrp_tls != NULL,
	};
	if (rs->sock->msrp_tls) {
		err = tls_fingerprint(rs->sock->msrp_tls,
				      TLS_FINGERPRINT_SHA256, fp, sizeof(fp));
		if (err)
			return err;
		spec.fp = fp;
	}
	/* a new answer replaces the one in force only when whole */
	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;
	err = mbuf_printf(mb, "%H", msrpsdp_print, &spec);
	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->pos = 0;
	mem_deref(rs->answer);
	rs->answer = mb;
	return 0;
}


/* Answered active (RFC 6135): we open the connections, the sender's
 * listener takes them; one that cannot start fails its file */
static void connect_out(struct rsess *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct rfile *f = rs->files[i];
		int err;

		if (!f || f->setup != MSRP_SETUP_ACTIVE)
			continue;
		err = msrp_sess_connect(f->ms, f->remote);
		if (!err) {
			plog(SIPPUSH_LOG_INFO, MOD, "%s: connecting to %s",
			     f->ftid, f->remote);
			continue;
		}
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot connect to %s: %m",
		     f->ftid, f->remote, err);
		f->done = true;
		if (all_done(rs))
			tmr_start(&rs->tmr, 0, transfer_failed, rs);
	}
}


static void conn_h(const struct sip_msg *msg, void *arg)
{
	struct rsess_sock *sock = arg;
	const struct receiver_app *app;
	struct pl id, body;
	struct msrpsdp *sd = NULL;
	struct rsess *rs = NULL;
	char cid[128];
	size_t taken = 0;
	uint32_t se;
	struct uri au;
	int err;

	rs = mem_zalloc(sizeof(*rs), rsess_destructor);
	sd = mem_zalloc(sizeof(*sd), NULL);
	if (!rs || !sd) {
		(void)sip_treply(NULL, sock->sip, msg, 500, "Out of memory");
		goto out;
	}
	rs->sock = sock;
	tmr_init(&rs->tmr);
	tmr_init(&rs->tmr_reply);
	rs->sess_id = rand_u32();
	rs->sess_ver = 1;

	err = trust_asserted(rs->from, sizeof(rs->from), sock->trust, msg,
			     false);
	if (err) {
		(void)sip_treply(NULL, sock->sip, msg,
				 err == EPERM ? 403 : 400, err == EPERM ?
				 "No trusted "
				 "P-Asserted-Identity" :
				 "Bad P-Asserted-Identity");
		goto out;
	}

	err = app_pick(&app, sock->conf, msg);
	if (err == EBADMSG) {
		(void)sip_treply(NULL, sock->sip, msg, 400,
				 "Bad Accept-Contact");
		goto out;
	}
	if (err) {
		(void)sip_treply(NULL, sock->sip, msg, 404, "Unknown push "
				 "application");
		goto out;
	}
	rs->app = app;

	if (list_count(&sock->sessions) >= (sock->conf->max_sessions ?
					  sock->conf->max_sessions : 8)) {
		(void)sip_treply(NULL, sock->sip, msg, 486, "Busy Here");
		goto out;
	}

	/* RFC 4028: an interval below our Min-SE gets 422, when the sender
	 * takes timers at all (§9: else it could do nothing with a 422) */
	rs->timer = timer_wanted(msg);
	se = se_secs(msg) ? se_secs(msg) : 1800;
	if (rs->timer && se < sock->conf->min_se) {
		(void)sip_treplyf(NULL, NULL, sock->sip, msg, false, 422,
				  "Session Interval Too Small",
				  "Min-SE: %u\r\nContent-Length: 0\r\n\r\n",
				  sock->conf->min_se);
		goto out;
	}
	rs->se = MAX(se, sock->conf->min_se);

	body = (struct pl){(const char *)mbuf_buf(msg->mb),
			   mbuf_get_left(msg->mb)};
	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp") ||
	    msrpsdp_decode(sd, &body)) {
		(void)sip_treply(NULL, sock->sip, msg, 488, "Not Acceptable "
				 "Here: no MSRP offer");
		goto out;
	}

	(void)pl_strcpy(&msg->callid, cid, sizeof(cid));
	for (size_t i = 0; i < sd->n; i++) {
		enum msrp_setup setup;

		if (!wanted(sock, app, &sd->m[i]) ||
		    setup_pick(&setup, sock, &sd->m[i]))
			continue;
		err = rfile_alloc(&rs->files[i], rs, &sd->m[i], setup, cid,
				  i);
		if (err) {
			(void)sip_treply(NULL, sock->sip, msg, 503, "Service "
					 "Unavailable");
			goto out;
		}
		++taken;
	}
	rs->n = sd->n;

	if (!taken) {
		plog(SIPPUSH_LOG_INFO, MOD,
		     "%s: INVITE refused: no acceptable file", app->id);
		(void)sip_treply(NULL, sock->sip, msg, 488, "Not Acceptable "
				 "Here: no acceptable file");
		goto out;
	}

	err = answer_print(rs, sd);
	if (err) {
		(void)sip_treply(NULL, sock->sip, msg, 500, "Server Error");
		goto out;
	}

	pl_set_str(&id, sock->c->aor);
	if (uri_decode(&au, &id) ||
	    pl_strcpy(&au.user, rs->user, sizeof(rs->user)))
		str_ncpy(rs->user, "push", sizeof(rs->user));

	err = sipsess_accept(&rs->ss, sock->sess_sock, msg, 200, "OK",
			     rs->user, "application/sdp", rs->answer, NULL,
			     NULL, false, offer_h, answer_h, estab_h, NULL,
			     NULL, close_h, rs, "%H%s", timer_hdrs, rs,
			     allow);
	if (err) {
		(void)sip_treply(NULL, sock->sip, msg, 500, "Server Error");
		goto out;
	}

	list_append(&sock->sessions, &rs->le, rs);
	timer_restart(rs);
	connect_out(rs);
	plog(SIPPUSH_LOG_INFO, MOD,
	     "%s: INVITE from %s: %zu of %zu files taken", app->id, rs->from,
	     taken, sd->n);
	rs = NULL;

 out:
	mem_deref(sd);
	mem_deref(rs);
}


/** A session refresh by UPDATE (RFC 4028 §7.4; arg: struct rsess_sock);
 *  in no session of ours, 481 */
void rsess_update(const struct sip_msg *msg, void *arg)
{
	struct rsess_sock *sock = arg;
	const uint32_t se = se_secs(msg);

	for (struct le *le = sock->sessions.head; le; le = le->next) {
		struct rsess *rs = le->data;

		if (!rs->ss || !sip_dialog_cmp(sipsess_dialog(rs->ss), msg))
			continue;
		rs->timer = timer_wanted(msg);
		if (se >= sock->conf->min_se)
			rs->se = se;
		timer_restart(rs);
		(void)sip_replyf(sock->sip, msg, 200, "OK",
				 "%H"
				 "Contact: %H\r\n"
				 "Content-Length: 0\r\n\r\n", timer_hdrs, rs,
				 contact_print, sock->c);
		return;
	}
	(void)sip_reply(sock->sip, msg, 481, "Call/Transaction Does Not "
			"Exist");
}


static struct rsess *rsess_find(const struct rsess_sock *sock,
				const struct sip_msg *msg)
{
	for (struct le *le = sock->sessions.head; le; le = le->next) {
		struct rsess *rs = le->data;

		if (rs->ss && sip_dialog_cmp(sipsess_dialog(rs->ss), msg))
			return rs;
	}
	return NULL;
}


/*
 * A re-INVITE's offer (TS §7.3.2.1 #5, §7.3.2.3): an m-line the sender
 * sets to port 0 releases its file (RFC 3264 §8.2): its MSRP session and
 * what is left of it go, and our answer says port 0 there too, in a new
 * version. Every m-line must still be there (§8); none: the same answer.
 */
static int release(struct rsess *rs, const struct sip_msg *msg)
{
	struct pl body = {(const char *)mbuf_buf(msg->mb),
			  mbuf_get_left(msg->mb)};
	struct msrpsdp *sd;
	bool changed = false;
	int err = 0;

	if (!body.l)
		return 0;
	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
		return EPROTO;
	sd = mem_zalloc(sizeof(*sd), NULL);
	if (!sd)
		return ENOMEM;
	if (msrpsdp_decode(sd, &body) || sd->n != rs->n) {
		err = EPROTO;
		goto out;
	}

	for (size_t i = 0; i < rs->n; i++) {
		struct rfile *f = rs->files[i];

		if (sd->m[i].port || !f)
			continue;
		plog(SIPPUSH_LOG_INFO, MOD, "%s: released by the sender (%s)",
		     f->ftid, f->done ? "done" : "before its end");
		rs->files[i] = NULL;
		mem_deref(f);
		changed = true;
	}
	if (changed) {
		++rs->sess_ver;
		err = answer_print(rs, sd);
	}
 out:
	mem_deref(sd);
	return err;
}


/* The 200 to a re-INVITE again over UDP until its ACK (RFC 3261
 * §13.3.1.4); without one for 64*T1, the session ends */
static void reply_tmr(void *arg)
{
	struct rsess *rs = arg;
	const struct sip_msg *m = rs->reply_msg;

	rs->reply_ms += rs->reply_iv;
	if (rs->reply_ms >= 64 * SIP_T1) {
		session_end(rs, "no ACK for the 200 to a re-INVITE");
		return;
	}
	(void)sip_send(rs->sock->sip, m->sock, m->tp, &m->src, rs->reply);
	rs->reply_iv = MIN(2 * rs->reply_iv, SIP_T2);
	tmr_start(&rs->tmr_reply, rs->reply_iv, reply_tmr, rs);
}


/*
 * A re-INVITE (a refresh, RFC 4028 §7.4): answered here, not by libre's
 * sipsess, whose 200 to a re-INVITE carries no headers of ours (its
 * reinvite_handler() calls sipsess_reply_2xx() with none), so no
 * Session-Expires (TS §7.3.1.1 #9). The same answer as before.
 */
static void reinvite(struct rsess_sock *sock, const struct sip_msg *msg)
{
	struct rsess *rs = rsess_find(sock, msg);
	const uint32_t se = se_secs(msg);
	struct sip_contact contact;
	struct sip_dialog *dlg;
	struct mbuf *mb = NULL;
	int err;

	if (!rs) {
		(void)sip_treply(NULL, sock->sip, msg, 481, "Call/Transaction "
				 "Does Not Exist");
		return;
	}
	dlg = sipsess_dialog(rs->ss);
	if (!sip_dialog_rseq_valid(dlg, msg)) {
		(void)sip_treply(NULL, sock->sip, msg, 500, "Server Internal "
				 "Error");
		return;
	}
	if (timer_wanted(msg) && se && se < sock->conf->min_se) {
		(void)sip_treplyf(NULL, NULL, sock->sip, msg, false, 422,
				  "Session Interval Too Small",
				  "Min-SE: %u\r\nContent-Length: 0\r\n\r\n",
				  sock->conf->min_se);
		return;
	}

	err = release(rs, msg);
	if (err) {
		(void)sip_treply(NULL, sock->sip, msg, 488, err == ENOMEM ?
				 "Not Acceptable Here" : "Not Acceptable "
				 "Here: not the session's m-lines");
		return;
	}

	rs->timer = timer_wanted(msg);
	if (se)
		rs->se = MAX(se, sock->conf->min_se);
	timer_restart(rs);
	(void)sip_dialog_update(dlg, msg);

	rs->answer->pos = 0;
	sip_contact_set(&contact, rs->user, &msg->dst, msg->tp);
	err = sip_treplyf(NULL, &mb, sock->sip, msg, true, 200, "OK",
			  "%H%H%s"
			  "Content-Type: application/sdp\r\n"
			  "Content-Length: %zu\r\n\r\n%b",
			  sip_contact_print, &contact, timer_hdrs, rs, allow,
			  mbuf_get_left(rs->answer), mbuf_buf(rs->answer),
			  mbuf_get_left(rs->answer));
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: answering a re-INVITE: %m",
		     rs->app->id, err);
		mem_deref(mb);
		return;
	}
	plog(SIPPUSH_LOG_DEBUG, MOD, "%s: re-INVITE answered", rs->app->id);

	/* a reliable transport carries the 200; over UDP it is ours to
	 * send again until the ACK */
	tmr_cancel(&rs->tmr_reply);
	mem_deref(rs->reply);
	mem_deref((void *)rs->reply_msg);
	rs->reply = NULL;
	rs->reply_msg = NULL;
	if (msg->tp != SIP_TRANSP_UDP) {
		mem_deref(mb);
		return;
	}
	rs->reply = mb;
	rs->reply_msg = mem_ref((void *)msg);
	rs->reply_ms = 0;
	rs->reply_iv = SIP_T1;
	tmr_start(&rs->tmr_reply, SIP_T1, reply_tmr, rs);
}


/** An INVITE (arg: struct rsess_sock): a new session, or a re-INVITE in
 *  one of ours */
void rsess_invite(const struct sip_msg *msg, void *arg)
{
	if (pl_isset(&msg->to.tag))
		reinvite(arg, msg);
	else
		conn_h(msg, arg);
}


/** An ACK (arg: struct rsess_sock): the one for a re-INVITE's 200 stops
 *  its retransmission; every ACK also goes on to sipsess */
void rsess_ack(const struct sip_msg *msg, void *arg)
{
	struct rsess *rs = rsess_find(arg, msg);

	if (!rs || !rs->reply_msg || rs->reply_msg->cseq.num != msg->cseq.num)
		return;
	tmr_cancel(&rs->tmr_reply);
	rs->reply = mem_deref(rs->reply);
	rs->reply_msg = mem_deref((void *)rs->reply_msg);
}


/* A TLS context with our certificate and key from one PEM file; set
 * through libre's tls_set_certificate() so tls_fingerprint() knows it */
static int cert_load(struct tls **tlsp, const char *path)
{
	struct mbuf *mb = mbuf_alloc(8192);
	uint8_t buf[4096];
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!mb || fd < 0) {
		err = mb ? errno : ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0 && mb->end < 65536)
		err |= mbuf_write_mem(mb, buf, (size_t)n);
	if (n < 0)
		err = errno;

	err = err ? err : tls_alloc(tlsp, TLS_METHOD_SSLV23, NULL, NULL);
	err = err ? err : tls_set_certificate(*tlsp, (const char *)mb->buf,
					      mb->end);
	if (err)
		*tlsp = mem_deref(*tlsp);
 out:
	if (fd >= 0)
		(void)close(fd);
	mem_deref(mb);
	return err;
}


/* Partial files a crash of ours left behind (.msrp-XXXXXX) */
static void leftovers_remove(const char *dir)
{
	struct dirent *e;
	char path[512];
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, ".msrp-", 6))
			continue;
		re_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!unlink(path))
			plog(SIPPUSH_LOG_INFO, MOD,
			     "%s: partial file of an earlier run removed",
			     path);
	}
	(void)closedir(d);
}


static void sock_destructor(void *arg)
{
	struct rsess_sock *sock = arg;

	while (sock->sessions.head)
		mem_deref(sock->sessions.head->data);
	sipsess_close_all(sock->sess_sock);   /* also ended ones libre keeps */
	mem_deref(sock->sess_sock);
	mem_deref(sock->msrp);
	mem_deref(sock->msrp_tls);
}


/** Sessions: libre's sipsess for INVITE, an MSRP listener for files */
int rsess_sock_alloc(struct rsess_sock **ssp, struct sip *sip,
		     const struct receiver_conf *conf, const struct trust *t,
		     const struct contact *c, struct deliver *d)
{
	struct rsess_sock *sock;
	struct sa laddr;
	int err;

	sock = mem_zalloc(sizeof(*sock), sock_destructor);
	if (!sock)
		return ENOMEM;
	sock->sip = sip;
	sock->conf = conf;
	sock->trust = t;
	sock->c = c;
	sock->deliver = d;

	leftovers_remove(conf->state_dir);

	if (conf->msrp_laddr) {
		laddr = *conf->msrp_laddr;
	}
	else {
		err = sip_transp_laddr(sip, &laddr, SIP_TRANSP_TCP, NULL);
		if (err)
			err = sip_transp_laddr(sip, &laddr, SIP_TRANSP_UDP,
					       NULL);
		if (err)
			goto out;
		sa_set_port(&laddr, 0);
	}

	if (conf->msrp_cert) {
		err = cert_load(&sock->msrp_tls, conf->msrp_cert);
		if (err) {
			plog(SIPPUSH_LOG_ERROR, MOD,
			     "%s: not a PEM certificate and key (%m)",
			     conf->msrp_cert, err);
			goto out;
		}
	}

	err = msrp_listener_alloc(&sock->msrp, &laddr, sock->msrp_tls);
	err = err ? err : sipsess_listen(&sock->sess_sock, sip, 32, conn_h,
					 sock);
 out:
	if (err)
		mem_deref(sock);
	else
		*ssp = sock;
	return err;
}
