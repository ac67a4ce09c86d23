/**
 * @file engine_harness.c  The sender engine in one process, on a fake clock
 *
 * See engine_harness.h. Nothing here reaches into src/sender: the engine is
 * driven through its API (sender.h) and SIP, and read back through its
 * status JSON, which comes from the store.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "tmr/tmrset.h"
#include "store/store.h"
#include <sippush/cidr.h>
#include <sippush/log.h>
#include "sender/sender.h"
#include "api/views.h"
#include "engine_harness.h"


enum {
	MONO_START  = 1000000,           /* fake tmr_jiffies() at start   */
	REAL_MAX_MS = 30000,             /* real time one wait may take   */
	STEPS_MAX   = 2000000,
	IDLE_STEPS  = 2,                 /* quiet steps before a jump     */
	LOST_STEPS  = 200,               /* in flight this long: dropped  */
};

/* 2023-11-14T22:13:20Z: the engine's wall clock at fake time 0 */
static const int64_t WALL_EPOCH_MS = 1700000000000LL;

struct harness {
	char dir[64];
	char db[96];
	struct store *st;
	struct sip *sip;
	struct sip_lsnr *lsnr;
	struct sender *s;
	struct sender_conf conf;
	struct cidr trust;
	struct sa laddr;
	char uri[64];
	uint64_t mono;               /* the fake clock, tmr_jiffies()     */
	uint64_t ntx, nrx, lost;     /* datagrams over every stack here   */
	struct tmr tmr_step;
	struct list terms;
	struct store_opts so;
	bool trace;
};

struct script {
	struct le le;
	char method[16];
	uint16_t scode;              /* 0: never answered                 */
	char *hdrs;
	uint64_t delay;
};

struct held {
	struct le le;
	struct term *t;
	struct rx *r;
	uint16_t scode;
	char *hdrs;
	struct tmr tmr;
};

struct term {
	struct le le;                /* in harness.terms                  */
	struct harness *h;
	struct sip *sip;
	struct sip_lsnr *lsnr;
	struct sa laddr;
	char user[32], aor[96], inst[96], contact[128], methods[64];
	struct list rxl;             /* struct rx, in arrival order       */
	struct list scripts;
	struct list helds;
	struct sip_request *req;     /* REGISTER / SUBSCRIBE              */
	uint16_t last_scode;
	bool req_done;
	uint32_t cseq;
	/* its oma-app subscription (the dialog's side we need) */
	char sub_cid[64], sub_ltag[64], sub_rtag[24];
	uint32_t sub_n;
	/* a REFER makes it subscribe */
	bool refer_sub;
	char refer_app[32];
	uint64_t refer_delay;
	struct tmr tmr_refer;
};


static uint64_t real_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}


static uint64_t mono_h(void *arg)
{
	const struct harness *h = arg;

	return h->mono;
}


static int64_t wall_h(void *arg)
{
	const struct harness *h = arg;

	return WALL_EPOCH_MS + (int64_t)(h->mono - MONO_START);
}


/* Every SIP stack here is traced: sent minus received is what is in
 * flight, exactly (loopback UDP, nobody else on these ports) */
static void trace_h(bool tx, enum sip_transp tp, const struct sa *src,
		    const struct sa *dst, const uint8_t *pkt, size_t len,
		    void *arg)
{
	struct harness *h = arg;
	struct pl line = {(const char *)pkt, len};
	const char *eol;
	(void)tp;

	if (tx)
		++h->ntx;
	else
		++h->nrx;

	if (!tx || !h->trace)
		return;
	eol = pl_strchr(&line, '\r');
	if (eol)
		line.l = (size_t)(eol - line.p);
	(void)re_fprintf(stderr, "[%8llu] %u -> %u  %r\n",
			 (unsigned long long)(h->mono - MONO_START),
			 sa_port(src), sa_port(dst), &line);
}


static void step_h(void *arg)
{
	(void)arg;
	re_cancel();
}


/* One pass of the loop: ready I/O, then every timer due now */
static int step(struct harness *h)
{
	tmr_start(&h->tmr_step, 0, step_h, h);
	return re_main(NULL);
}


static uint64_t in_flight(const struct harness *h)
{
	return h->ntx - h->nrx - h->lost;
}


uint64_t h_now(const struct harness *h)
{
	return h->mono - MONO_START;
}


/**
 * Run the loop until cond (NULL: until max_ms of fake time have passed
 * and all is quiet). ETIMEDOUT: cond did not come true within max_ms;
 * ETIME: the real-time or step bound ran out (a stuck engine).
 */
int h_run_until(struct harness *h, h_cond_h *cond, void *arg,
		uint64_t max_ms)
{
	const uint64_t end = h->mono + max_ms;
	const uint64_t real_end = real_ms() + REAL_MAX_MS;
	uint32_t idle = 0, quiet = 0;
	int err;

	for (uint32_t i = 0; i < STEPS_MAX; i++) {
		const uint64_t before = h->ntx + h->nrx;
		uint64_t next;

		if (cond && cond(arg))
			return 0;
		if (real_ms() > real_end)
			break;

		err = step(h);
		if (err)
			return err;

		if (h->ntx + h->nrx != before) {
			idle = quiet = 0;
			continue;
		}
		if (in_flight(h)) {
			/* a datagram nobody will ever read (a closed port) */
			if (++quiet > LOST_STEPS) {
				h->lost += in_flight(h);
				quiet = 0;
			}
			continue;
		}
		if (++idle < IDLE_STEPS)
			continue;
		idle = 0;

		/* all quiet: time moves to the next timer */
		next = tmr_next_timeout(NULL);
		if (h->mono >= end)
			return cond ? ETIMEDOUT : 0;
		if (!next || h->mono + next > end)
			h->mono = end;
		else
			h->mono += next;
	}

	(void)re_fprintf(stderr, "engine_harness: stuck at %llu ms\n",
			 (unsigned long long)h_now(h));
	return ETIME;
}


int h_run_for(struct harness *h, uint64_t ms)
{
	return h_run_until(h, NULL, NULL, ms);
}


static bool lsnr_h(const struct sip_msg *msg, void *arg)
{
	struct harness *h = arg;

	return h->s && sender_sip_request(h->s, msg);
}


int h_alloc(struct harness **hp)
{
	struct harness *h;
	struct pl pl = PL("127.0.0.0/8");
	struct sender_conf *c;

	h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;

	h->mono = MONO_START;
	h->so = (struct store_opts){.sync = STORE_SYNC_NORMAL, .lazy_ms = 50};
	h->trace = getenv("SIPPUSH_ENGTEST_TRACE") != NULL;
	log_level_set(h->trace ? SIPPUSH_LOG_INFO : SIPPUSH_LOG_WARN);
	tmr_init(&h->tmr_step);
	tmrset_clock_set(mono_h, h);
	(void)cidr_decode(&h->trust, &pl);

	/* sippushd's defaults where they matter, smaller where a test
	 * would otherwise wait long (cmd/sippushd_opts.c) */
	c = &h->conf;
	c->identity = "sip:push@example.net";
	c->realm = "sippush";
	c->secret = "00112233445566778899aabbccddeeff";
	c->trust = &h->trust;
	c->ntrust = 1;
	c->trust_udp = true;
	c->max_queue = 10000;
	c->default_ttl = 3600;
	c->max_ttl = 86400;
	c->retry_base_ms = 1000;
	c->retry_max_ms = 60000;
	c->min_expires = 60;
	c->max_expires = 86400;
	c->min_sub_expires = 60;
	c->max_sub_expires = 86400;
	c->content_ttl = 3600;
	c->content_base = "http://127.0.0.1:9";
	c->contact_user = "push";
	c->uaprof_max = 65536;
	c->session_expires = 1800;
	c->msrp_chunk = 65536;
	c->max_terms = 16;
	c->max_subs = 8;
	c->max_notes = 1000;

	*hp = h;
	return 0;
}


struct sender_conf *h_conf(struct harness *h)
{
	return &h->conf;
}


/* The store's options, changed before h_start() (NORMAL by default) */
struct store_opts *h_store_opts(struct harness *h)
{
	return &h->so;
}


int h_start(struct harness *h)
{
	const char *tmp = getenv("TMPDIR");
	int err;

	re_snprintf(h->dir, sizeof(h->dir), "%s/sippush-engine-XXXXXX",
		    tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(h->dir))
		return errno;
	re_snprintf(h->db, sizeof(h->db), "%s/engine.db", h->dir);

	err = store_open(&h->st, h->db, &h->so);
	if (err)
		return err;

	err = sip_alloc(&h->sip, NULL, 32, 32, 32, "sippush-engtest", NULL,
			h);
	if (err)
		return err;
	sip_set_trace_handler(h->sip, trace_h);
	(void)sa_set_str(&h->laddr, "127.0.0.1", 0);
	err = sip_transp_add(h->sip, SIP_TRANSP_UDP, &h->laddr);
	err = err ? err : sip_transp_laddr(h->sip, &h->laddr,
					   SIP_TRANSP_UDP, NULL);
	if (err)
		return err;
	re_snprintf(h->uri, sizeof(h->uri), "sip:%J", &h->laddr);

	err = sip_listen(&h->lsnr, h->sip, true, lsnr_h, h);
	err = err ? err : sender_alloc(&h->s, h->sip, h->st, &h->conf);
	if (err)
		return err;
	sender_clock_set(h->s, wall_h, h);

	/* the purge timer's first run, and anything else due at start */
	return h_run_for(h, 0);
}


struct sender *h_sender(const struct harness *h)
{
	return h->s;
}


const char *h_uri(const struct harness *h)
{
	return h->uri;
}


int h_push(struct harness *h, const struct push_req *r, char *id,
	   size_t idsz)
{
	struct push_req req = *r;

	return sender_push_accept(h->s, &req, id, idsz);
}


int h_push_text(struct harness *h, const char *aor, const char *body,
		char *id, size_t idsz)
{
	const struct push_req r = {
		.aor = aor, .app = "mms.ua", .ctype = "text/plain",
		.body = (const uint8_t *)body, .body_len = strlen(body),
		.method = "auto",
	};

	return h_push(h, &r, id, idsz);
}


static int mbuf_print_h(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


struct print_ctx {
	struct harness *h;
	const char *key;
	bool terminals;
};


static int to_str(char **json, const struct print_ctx *pc)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct re_printf pf = {mbuf_print_h, mb};
	int err;

	if (!mb)
		return ENOMEM;
	err = pc->terminals ?
		sender_terminals_print(&pf, pc->h->s, pc->key, NULL) :
		sender_push_print(&pf, pc->h->s, pc->key);
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, json, mb->end);
	}
	mem_deref(mb);
	return err;
}


/** The push's status, as GET /v1/pushes/{id} shows it (from the store) */
int h_status(struct harness *h, const char *id, char **json)
{
	const struct print_ctx pc = {h, id, false};

	return to_str(json, &pc);
}


/** The user's terminals, as GET /v1/users/{aor}/terminals shows them */
int h_terminals(struct harness *h, const char *aor, char **json)
{
	const struct print_ctx pc = {h, aor, true};

	return to_str(json, &pc);
}


struct final_ctx {
	struct harness *h;
	const char *id;
};


bool h_is_final(struct harness *h, const char *id)
{
	struct push_outcome o;

	return !sender_push_outcome(h->s, id, &o) &&
		strcmp(o.state, "pending") != 0;
}


static bool final_h(void *arg)
{
	struct final_ctx *fc = arg;

	return h_is_final(fc->h, fc->id);
}


int h_wait_final(struct harness *h, const char *id, uint64_t max_ms)
{
	struct final_ctx fc = {h, id};

	return h_run_until(h, final_h, &fc, max_ms);
}


static void term_free(struct term *t);


void h_free(struct harness *h)
{
	char p[128];

	if (!h)
		return;

	/* as sippushd stops: answers waiting for a commit first */
	if (h->st)
		(void)store_flush(h->st);
	h->lsnr = mem_deref(h->lsnr);
	h->s = mem_deref(h->s);
	if (h->sip)
		sip_close(h->sip, true);
	h->sip = mem_deref(h->sip);
	while (h->terms.head)
		term_free(h->terms.head->data);
	h->st = mem_deref(h->st);
	tmr_cancel(&h->tmr_step);
	tmr_poll(NULL);   /* libre's deferred frees */

	for (size_t i = 0; i < 3 && h->db[0]; i++) {
		re_snprintf(p, sizeof(p), "%s%s", h->db,
			    (const char *[]){"", "-wal", "-shm"}[i]);
		(void)unlink(p);
	}
	if (h->dir[0])
		(void)rmdir(h->dir);
	tmrset_clock_set(NULL, NULL);
	free(h);
}


/* --- terminals --------------------------------------------------------- */

static const char *reason_of(uint16_t scode)
{
	switch (scode) {

	case 200: return "OK";
	case 202: return "Accepted";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 415: return "Unsupported Media Type";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 486: return "Busy Here";
	case 489: return "Bad Event";
	case 500: return "Server Internal Error";
	case 503: return "Service Unavailable";
	default:  return "Answer";
	}
}


static void script_destructor(void *arg)
{
	struct script *sc = arg;

	list_unlink(&sc->le);
	mem_deref(sc->hdrs);
}


static void rx_destructor(void *arg)
{
	struct rx *r = arg;

	list_unlink(&r->le);
	mem_deref(r->msg);
}


static void held_destructor(void *arg)
{
	struct held *hd = arg;

	tmr_cancel(&hd->tmr);
	list_unlink(&hd->le);
	mem_deref(hd->hdrs);
}


static void term_free(struct term *t)
{
	list_unlink(&t->le);
	tmr_cancel(&t->tmr_refer);
	list_flush(&t->helds);
	list_flush(&t->scripts);
	t->req = mem_deref(t->req);
	t->lsnr = mem_deref(t->lsnr);
	if (t->sip)
		sip_close(t->sip, true);
	t->sip = mem_deref(t->sip);
	list_flush(&t->rxl);
	free(t);
}


static int reply(struct term *t, const struct sip_msg *msg, uint16_t scode,
		 const char *hdrs)
{
	return sip_replyf(t->sip, msg, scode, reason_of(scode),
			  "%sContent-Length: 0\r\n\r\n", hdrs ? hdrs : "");
}


/* What the script says for the next request of this method */
static void script_take(struct term *t, const char *method,
			uint16_t *scode, char **hdrs, uint64_t *delay)
{
	*hdrs = NULL;
	*delay = 0;
	for (struct le *le = t->scripts.head; le; le = le->next) {
		struct script *sc = le->data;

		if (strcmp(sc->method, method))
			continue;
		*scode = sc->scode;
		*hdrs = mem_ref(sc->hdrs);
		*delay = sc->delay;
		mem_deref(sc);
		return;
	}

	*scode = !strcmp(method, "REFER") ? 202 : 200;
}


static int subscribe_send(struct term *t, const char *app,
			  uint32_t expires);


static void refer_tmr(void *arg)
{
	struct term *t = arg;

	(void)subscribe_send(t, t->refer_app, 600);
}


static void answered(struct term *t, struct rx *r, uint16_t scode)
{
	r->answered = scode;
	if (!strcmp(r->method, "REFER") && scode < 300 && t->refer_sub) {
		t->refer_sub = false;
		tmr_start(&t->tmr_refer, t->refer_delay, refer_tmr, t);
	}
}


static void held_tmr(void *arg)
{
	struct held *hd = arg;

	if (!reply(hd->t, hd->r->msg, hd->scode, hd->hdrs))
		answered(hd->t, hd->r, hd->scode);
	mem_deref(hd);
}


static bool same_request(const struct sip_msg *a, const struct sip_msg *b)
{
	return !pl_cmp(&a->met, &b->met) && !pl_cmp(&a->callid, &b->callid)
		&& a->cseq.num == b->cseq.num &&
		!pl_cmp(&a->via.branch, &b->via.branch);
}


static bool term_req_h(const struct sip_msg *msg, void *arg)
{
	struct term *t = arg;
	struct rx *r;
	uint16_t scode;
	uint64_t delay;
	char *hdrs;

	for (struct le *le = t->rxl.head; le; le = le->next) {
		r = le->data;
		if (!same_request(r->msg, msg))
			continue;
		/* a retransmission: the same answer, if there was one */
		++r->retrans;
		if (r->answered)
			(void)reply(t, msg, r->answered, NULL);
		return true;
	}

	r = mem_zalloc(sizeof(*r), rx_destructor);
	if (!r)
		return true;
	(void)pl_strcpy(&msg->met, r->method, sizeof(r->method));
	r->at = h_now(t->h);
	r->msg = mem_ref((void *)msg);
	list_append(&t->rxl, &r->le, r);

	script_take(t, r->method, &scode, &hdrs, &delay);
	if (!scode) {
		mem_deref(hdrs);
		return true;   /* never answered */
	}

	if (delay) {
		struct held *hd = mem_zalloc(sizeof(*hd), held_destructor);

		if (!hd) {
			mem_deref(hdrs);
			return true;
		}
		hd->t = t;
		hd->r = r;
		hd->scode = scode;
		hd->hdrs = hdrs;
		list_append(&t->helds, &hd->le, hd);
		tmr_start(&hd->tmr, delay, held_tmr, hd);
		return true;
	}

	if (!reply(t, msg, scode, hdrs))
		answered(t, r, scode);
	mem_deref(hdrs);
	return true;
}


/**
 * A terminal of user@example.com on its own loopback port; idx tells a
 * user's terminals apart (their +sip.instance).
 */
int term_alloc(struct term **tp, struct harness *h, const char *user,
	       int idx)
{
	struct term *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	t->h = h;
	tmr_init(&t->tmr_refer);
	list_append(&h->terms, &t->le, t);

	err = sip_alloc(&t->sip, NULL, 16, 16, 16, "sippush-engtest-ua",
			NULL, h);
	if (err)
		return err;
	sip_set_trace_handler(t->sip, trace_h);
	(void)sa_set_str(&t->laddr, "127.0.0.1", 0);
	err = sip_transp_add(t->sip, SIP_TRANSP_UDP, &t->laddr);
	err = err ? err : sip_transp_laddr(t->sip, &t->laddr,
					   SIP_TRANSP_UDP, NULL);
	err = err ? err : sip_listen(&t->lsnr, t->sip, true, term_req_h, t);
	if (err)
		return err;

	str_ncpy(t->user, user, sizeof(t->user));
	re_snprintf(t->aor, sizeof(t->aor), "sip:%s@example.com", user);
	re_snprintf(t->inst, sizeof(t->inst),
		    "urn:uuid:6c2b6c1e-0000-4000-8000-%012d", idx);
	re_snprintf(t->contact, sizeof(t->contact), "sip:%s@%J", user,
		    &t->laddr);
	str_ncpy(t->methods, "MESSAGE,NOTIFY,REFER,OPTIONS",
		 sizeof(t->methods));
	t->cseq = 100;
	*tp = t;
	return 0;
}


const char *term_aor(const struct term *t)
{
	return t->aor;
}


const char *term_instance(const struct term *t)
{
	return t->inst;
}


const char *term_contact(const struct term *t)
{
	return t->contact;
}


/** The methods its REGISTER advertises (NULL: no methods parameter) */
void term_methods(struct term *t, const char *methods)
{
	str_ncpy(t->methods, methods ? methods : "", sizeof(t->methods));
}


/**
 * Script the answer to the next request of this method not yet scripted:
 * scode 0 never answers; hdrs are extra header lines ("Retry-After: 5\r\n");
 * delay_ms holds the answer that long. Unscripted requests get 200 (REFER
 * 202) at once.
 */
int term_answer(struct term *t, const char *method, uint16_t scode,
		const char *hdrs, uint64_t delay_ms)
{
	struct script *sc = mem_zalloc(sizeof(*sc), script_destructor);

	if (!sc)
		return ENOMEM;
	str_ncpy(sc->method, method, sizeof(sc->method));
	sc->scode = scode;
	sc->delay = delay_ms;
	if (hdrs && str_dup(&sc->hdrs, hdrs)) {
		mem_deref(sc);
		return ENOMEM;
	}
	list_append(&t->scripts, &sc->le, sc);
	return 0;
}


/** Answer a request that was left unanswered (script code 0) now */
int term_answer_now(struct term *t, struct rx *r, uint16_t scode,
		    const char *hdrs)
{
	int err = reply(t, r->msg, scode, hdrs);

	if (!err)
		answered(t, r, scode);
	return err;
}


static void resp_h(int err, const struct sip_msg *msg, void *arg)
{
	struct term *t = arg;

	if (!err && msg->scode < 200)
		return;

	t->last_scode = err ? 0 : msg->scode;
	t->req_done = true;
	if (!err && msg->scode < 300 && !pl_strcmp(&msg->cseq.met,
						   "SUBSCRIBE") &&
	    !pl_strcmp(&msg->callid, t->sub_cid))
		(void)pl_strcpy(&msg->to.tag, t->sub_ltag,
				sizeof(t->sub_ltag));
}


static bool done_h(void *arg)
{
	const struct term *t = arg;

	return t->req_done;
}


static int send_req(struct term *t, const char *met, const char *fmt, ...)
{
	struct mbuf *mb = mbuf_alloc(512);
	va_list ap;
	int err;

	if (!mb)
		return ENOMEM;
	va_start(ap, fmt);
	err = mbuf_vprintf(mb, fmt, ap);
	va_end(ap);
	if (err)
		goto out;

	t->req = mem_deref(t->req);
	t->req_done = false;
	t->last_scode = 0;
	err = sip_requestf(&t->req, t->sip, true, met, t->h->uri, NULL, NULL,
			   NULL, resp_h, t, "%b"
			   "Content-Length: 0\r\n\r\n", mb->buf, mb->end);
 out:
	mem_deref(mb);
	return err;
}


/* Run until our request has its final answer: 0 on 2xx */
static int wait_done(struct term *t)
{
	int err = h_run_until(t->h, done_h, t, 64000);

	if (err)
		return err;
	return t->last_scode >= 200 && t->last_scode < 300 ? 0 : EPROTO;
}


/**
 * REGISTER straight to the engine (a trusted peer: no digest), with the
 * push feature tags for apps (NULL: none, push withdrawn) and its
 * +sip.instance; waits for the 200.
 */
int term_register(struct term *t, const char *apps, uint32_t expires)
{
	char tags[256] = "";
	int err;

	if (apps)
		re_snprintf(tags, sizeof(tags), ";+g.oma.pusheventapp=\"%s\"",
			    apps);
	if (t->methods[0])
		re_snprintf(tags + strlen(tags), sizeof(tags) - strlen(tags),
			    ";methods=\"%s\"", t->methods);

	err = send_req(t, "REGISTER",
		       "From: <%s>;tag=reg-%s\r\n"
		       "To: <%s>\r\n"
		       "Call-ID: reg-%s-%s@engtest\r\n"
		       "CSeq: %u REGISTER\r\n"
		       "Contact: <%s>;+sip.instance=\"<%s>\"%s\r\n"
		       "Supported: gruu\r\n"
		       "Expires: %u\r\n",
		       t->aor, t->user, t->aor, t->user, t->inst + 9, ++t->cseq,
		       t->contact, t->inst, tags, expires);

	return err ? err : wait_done(t);
}


static int subscribe_send(struct term *t, const char *app, uint32_t expires)
{
	re_snprintf(t->sub_cid, sizeof(t->sub_cid), "sub-%s-%u-%s@engtest",
		    t->user, ++t->sub_n, t->inst + 9);
	re_snprintf(t->sub_rtag, sizeof(t->sub_rtag), "s%u", t->sub_n);
	t->sub_ltag[0] = '\0';

	return send_req(t, "SUBSCRIBE",
			"From: <%s>;tag=%s\r\n"
			"To: <%s>\r\n"
			"Call-ID: %s\r\n"
			"CSeq: %u SUBSCRIBE\r\n"
			"Contact: <%s>;+sip.instance=\"<%s>\"\r\n"
			"P-Asserted-Identity: <%s>\r\n"
			"Event: ua-profile;profile-type=oma-app;"
			"event-app-id=\"%s\";vendor=\"engtest\";"
			"model=\"T1\";version=\"1.0\"\r\n"
			"Expires: %u\r\n",
			t->aor, t->sub_rtag, t->aor, t->sub_cid, ++t->cseq,
			t->contact, t->inst, t->aor, app, expires);
}


/** SUBSCRIBE ua-profile;profile-type=oma-app for app; waits for the 200 */
int term_subscribe(struct term *t, const char *app, uint32_t expires)
{
	int err = subscribe_send(t, app, expires);

	return err ? err : wait_done(t);
}


/** End its subscription: SUBSCRIBE in the dialog, Expires: 0 */
int term_unsubscribe(struct term *t)
{
	int err;

	if (!t->sub_ltag[0])
		return ENOENT;

	err = send_req(t, "SUBSCRIBE",
		       "From: <%s>;tag=%s\r\n"
		       "To: <%s>;tag=%s\r\n"
		       "Call-ID: %s\r\n"
		       "CSeq: %u SUBSCRIBE\r\n"
		       "Contact: <%s>;+sip.instance=\"<%s>\"\r\n"
		       "Event: ua-profile;profile-type=oma-app\r\n"
		       "Expires: 0\r\n",
		       t->aor, t->sub_rtag, t->aor, t->sub_ltag, t->sub_cid,
		       ++t->cseq, t->contact, t->inst);

	return err ? err : wait_done(t);
}


/** When a REFER is answered 2xx, SUBSCRIBE for app delay_ms later */
void term_subscribe_on_refer(struct term *t, const char *app,
			     uint64_t delay_ms)
{
	t->refer_sub = true;
	t->refer_delay = delay_ms;
	str_ncpy(t->refer_app, app, sizeof(t->refer_app));
}


uint16_t term_last_scode(const struct term *t)
{
	return t->last_scode;
}


bool term_request_done(const struct term *t)
{
	return t->req_done;
}


const struct list *term_rxl(const struct term *t)
{
	return &t->rxl;
}


/** Requests of this method received (NULL: any), retransmissions not */
size_t term_count(const struct term *t, const char *method)
{
	size_t n = 0;

	for (struct le *le = t->rxl.head; le; le = le->next) {
		const struct rx *r = le->data;

		if (!method || !strcmp(r->method, method))
			++n;
	}
	return n;
}


/** The n-th (from 0) request of this method (NULL: any), or NULL */
struct rx *term_rx(const struct term *t, const char *method, size_t n)
{
	for (struct le *le = t->rxl.head; le; le = le->next) {
		struct rx *r = le->data;

		if (method && strcmp(r->method, method))
			continue;
		if (!n--)
			return r;
	}
	return NULL;
}


struct rx_wait {
	struct term *t;
	const char *method;
	size_t n;
};


static bool rx_h(void *arg)
{
	const struct rx_wait *w = arg;

	return term_count(w->t, w->method) >= w->n;
}


/** Run until the terminal has received n requests of this method */
int term_wait_rx(struct term *t, const char *method, size_t n,
		 uint64_t max_ms)
{
	struct rx_wait w = {t, method, n};

	return h_run_until(t->h, rx_h, &w, max_ms);
}


/** The body of a received request, as a string */
int rx_body(const struct rx *r, char *buf, size_t sz)
{
	const struct mbuf *mb = r->msg->mb;
	struct pl b = {(const char *)mb->buf + mb->pos, mb->end - mb->pos};

	return pl_strcpy(&b, buf, sz);
}


/** A header of a received request by name ("" when absent) */
int rx_hdr(const struct rx *r, const char *name, char *buf, size_t sz)
{
	const struct sip_hdr *hd = sip_msg_xhdr(r->msg, name);

	buf[0] = '\0';
	return hd ? pl_strcpy(&hd->val, buf, sz) : ENOENT;
}
