/**
 * @file session.c  MSRP sessions over libre TCP: connect or bind by
 *                  To-Path, streamed sending, receiving with reports
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <re.h>
#include "msrp/msrp.h"
#include "msrp/msrpsess.h"
#include <sippush/log.h>

#define MOD "msrp"

enum {
	DEFAULT_CHUNK = 65536,
	DEFAULT_TIMEOUT_MS = 30000,
	FIRST_MSG_MS = 30000,     /**< a connection must bind within this */
	MAX_INBOUND = 8,          /**< messages being received at once    */
	MAX_OUTSTANDING = 64,     /**< chunks awaiting their response     */
	RX_SIZE = 65536,          /**< bytes read per wake-up (libre: 8K) */
	LISTEN_BACKLOG = 256,
	/* connections that have not bound to a session yet: a flood of them
	 * (or a slow sender holding them) is capped, others still get in */
	MAX_UNBOUND = 64,
	MAX_UNBOUND_PER_PEER = 8,
};

struct msrp_listener {
	struct tcp_sock *ts;
	struct tls *tls;          /**< msrps: our certificate             */
	struct hash *sessions;    /**< by session id                      */
	struct list conns;        /**< not yet bound                      */
};

struct conn {
	struct le le;             /**< in listener.conns while unbound    */
	struct msrp_listener *l;
	struct msrp_sess *s;      /**< bound session                      */
	struct tcp_conn *tc;
	struct tls_conn *tlsc;    /**< msrps                              */
	struct msrp_parser *p;
	struct tmr tmr;           /**< deadline for the first request     */
	struct sa peer;
	uint16_t refuse;          /**< status for the current request     */
	bool estab;               /**< connected                          */
};

struct inmsg {
	struct le le;
	char *msgid;
	void *ctx;
	struct msrp_reasm ra;
	uint16_t status;          /**< non-zero: refused, body ignored    */
};

struct outmsg {
	struct msrp_out_spec o;
	char msgid[20];
	char *ctype, *cdisp, *cdesc;
	uint64_t off;             /**< next byte to send                  */
	uint32_t outstanding;     /**< chunks without a response          */
	bool last_sent;
	bool reported;
	msrp_sent_h *h;
	void *arg;
	uint8_t *buf;
};

struct msrp_sess {
	struct le he;             /**< in listener.sessions               */
	struct msrp_listener *l;
	struct msrp_sess_conf c;
	char id[24];
	char *path;
	char *remote;             /**< the peer's path (active side)      */
	struct conn *conn;
	struct list in;           /**< struct inmsg                       */
	struct outmsg *out;
	struct tmr tmr;           /**< response timer                     */
	struct msrp_hdrs cur;     /**< headers of the request being read  */
	uint8_t fp[32];           /**< the peer certificate's SHA-256     */
	bool has_fp;
	struct inmsg *cur_in;
	uint64_t cur_off;
	bool closed;
};


static void conn_destructor(void *arg)
{
	struct conn *cn = arg;

	list_unlink(&cn->le);
	tmr_cancel(&cn->tmr);
	mem_deref(cn->tlsc);
	mem_deref(cn->tc);
	mem_deref(cn->p);
}


static void inmsg_destructor(void *arg)
{
	struct inmsg *m = arg;

	list_unlink(&m->le);
	mem_deref(m->msgid);
}


static void outmsg_destructor(void *arg)
{
	struct outmsg *o = arg;

	mem_deref(o->ctype);
	mem_deref(o->cdisp);
	mem_deref(o->cdesc);
	mem_deref(o->buf);
}


static void sess_destructor(void *arg)
{
	struct msrp_sess *s = arg;

	tmr_cancel(&s->tmr);
	hash_unlink(&s->he);
	s->c.doneh = NULL;
	while (s->in.head)
		mem_deref(s->in.head->data);
	if (s->conn) {
		s->conn->s = NULL;
		mem_deref(s->conn);
	}
	mem_deref(s->out);
	mem_deref(s->path);
	mem_deref(s->remote);
}


static void listener_destructor(void *arg)
{
	struct msrp_listener *l = arg;

	list_flush(&l->conns);
	hash_clear(l->sessions);
	mem_deref(l->sessions);
	mem_deref(l->ts);
	mem_deref(l->tls);
}


/**
 * "msrp://host:port/id;tcp" -> the address and the session id.
 * Only literal IP addresses: no name is ever resolved here.
 */
int msrp_path_addr(struct sa *sa, struct pl *id, const struct pl *path)
{
	struct pl scheme, host, port, sid, rest;

	if (!sa || !id || !path)
		return EINVAL;

	if (re_regex(path->p, path->l, "[a-z]+://[^/]+/[^;]+;[a-z]+",
		     &scheme, &host, &sid, &rest) || scheme.p != path->p)
		return EBADMSG;
	if (pl_strcasecmp(&scheme, "msrp") && pl_strcasecmp(&scheme, "msrps"))
		return EBADMSG;

	/* host:port, host in [] for IPv6 */
	if (host.l && host.p[0] == '[') {
		struct pl h6;

		if (re_regex(host.p, host.l, "\\[[^\\]]+\\]:[0-9]+", &h6,
			     &port))
			return EBADMSG;
		host = h6;
	}
	else if (re_regex(host.p, host.l, "[^:]+:[0-9]+", &scheme, &port)) {
		return EBADMSG;
	}
	else {
		host = scheme;
	}

	if (sa_set(sa, &host, (uint16_t)pl_u32(&port)))
		return EBADMSG;
	*id = sid;
	return 0;
}


static int out_start(struct msrp_sess *s);


static void closed(struct msrp_sess *s, int err)
{
	msrp_close_h *h = s->c.closeh;

	if (s->closed)
		return;
	s->closed = true;
	tmr_cancel(&s->tmr);
	if (h)
		h(err, s->c.arg);
}


static void out_finish(struct msrp_sess *s, int err, uint16_t scode)
{
	struct outmsg *o = s->out;

	if (!o)
		return;
	s->out = NULL;
	tmr_cancel(&s->tmr);
	if (s->conn && s->conn->tc)
		(void)tcp_set_send(s->conn->tc, NULL);
	if (o->h)
		o->h(err, scode, o->arg);
	mem_deref(o);
}


static void timeout_h(void *arg)
{
	struct msrp_sess *s = arg;

	plog(SIPPUSH_LOG_WARN, MOD, "%s: %s", s->id, s->conn ?
	     "no MSRP response in time" : "the peer never connected");
	out_finish(s, ETIMEDOUT, 408);
}


static int mb_print(const char *p, size_t n, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, n);
}


static int conn_send(struct conn *cn, struct mbuf *mb)
{
	mb->pos = 0;
	return cn->tc ? tcp_send(cn->tc, mb) : ENOTCONN;
}


static int respond(struct msrp_sess *s, struct conn *cn,
		   const struct msrp_hdrs *h, uint16_t scode,
		   const char *reason)
{
	struct re_printf pf = {mb_print, NULL};
	struct msrp_answer a;
	struct mbuf *mb;
	char tid[MSRP_TID_MAX + 1];
	int err;

	msrp_answer_rules(&a, h, scode);
	if (!a.response)
		return 0;

	mb = mbuf_alloc(256);
	if (!mb)
		return ENOMEM;
	pf.arg = mb;
	(void)pl_strcpy(&h->tid, tid, sizeof(tid));
	err = msrp_resp_print(&pf, tid, scode, reason, &h->from_path,
			      s ? s->path : "msrp://0.0.0.0:9/x;tcp");
	if (!err)
		err = conn_send(cn, mb);
	mem_deref(mb);
	return err;
}

/* A request without a body (a REPORT, a binding SEND), sent whole */
static int send_bodiless(struct msrp_sess *s, const struct msrp_req_spec *rs)
{
	struct re_printf pf = {mb_print, NULL};
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;
	pf.arg = mb;
	err  = msrp_req_print(&pf, rs);
	err |= msrp_end_print(&pf, rs->tid, '$', false);
	if (!err)
		err = conn_send(s->conn, mb);
	mem_deref(mb);
	return err;
}



static int send_report(struct msrp_sess *s, const struct msrp_hdrs *h,
		       const char *msgid, uint64_t total, uint16_t scode)
{
	const struct msrp_range r = {.start = 1, .end = total,
				     .total = total};
	char tid[20], to[512], status[40];
	struct msrp_req_spec rs;

	(void)msrp_tid_make(tid, sizeof(tid));
	(void)pl_strcpy(&h->from_path, to, sizeof(to));
	rs = (struct msrp_req_spec){
		.method = "REPORT", .tid = tid, .to_path = to,
		.from_path = s->path, .message_id = msgid, .range = &r,
		.status = status,
	};

	re_snprintf(status, sizeof(status), "000 %u %s", scode,
		    scode == 200 ? "OK" : "Not Taken");

	return send_bodiless(s, &rs);
}


/* --- receiving --------------------------------------------------------- */

static struct inmsg *in_find(struct msrp_sess *s, const struct pl *msgid)
{
	for (struct le *le = s->in.head; le; le = le->next) {
		struct inmsg *m = le->data;

		if (!pl_strcmp(msgid, m->msgid))
			return m;
	}
	return NULL;
}


static int in_begin(struct msrp_sess *s, const struct msrp_hdrs *h,
		    struct inmsg **mp)
{
	const uint64_t total = h->has_range && !h->range.total_star ?
		h->range.total : 0;
	struct inmsg *m;
	int st;

	if (list_count(&s->in) >= MAX_INBOUND)
		return 503;

	m = mem_zalloc(sizeof(*m), inmsg_destructor);
	if (!m || pl_strdup(&m->msgid, &h->message_id)) {
		mem_deref(m);
		return 500;
	}
	m->ra.total = total;
	list_append(&s->in, &m->le, m);
	*mp = m;

	if (s->c.max_size && total > s->c.max_size) {
		m->status = 413;
		return 0;
	}

	st = s->c.beginh ? s->c.beginh(&m->ctx, h, total, s->c.arg) : 0;
	if (st)
		m->status = (uint16_t)st;
	return 0;
}


/* The application's verdict: 0, or an MSRP status for a failure REPORT */
static int in_end(struct msrp_sess *s, struct inmsg *m, int err)
{
	msrp_done_h *h = s->c.doneh;
	void *ctx = m->ctx;

	m->ctx = NULL;
	mem_deref(m);
	return h && ctx ? h(ctx, err, s->c.arg) : 0;
}


static int send_hdrs(struct msrp_sess *s, const struct msrp_hdrs *h)
{
	struct inmsg *m;
	uint16_t st;

	s->cur_in = NULL;
	s->cur_off = h->has_range ? h->range.start - 1 : 0;

	if (!pl_isset(&h->ctype))
		return 0;   /* an empty SEND: binds or keeps alive */

	m = in_find(s, &h->message_id);
	if (!m) {
		st = (uint16_t)in_begin(s, h, &m);
		if (st) {
			s->conn->refuse = st;
			return 0;
		}
	}
	if (!m->ra.total && h->has_range && !h->range.total_star)
		m->ra.total = h->range.total;
	if (s->c.max_size && s->cur_off > s->c.max_size)
		m->status = 413;
	s->cur_in = m;
	return 0;
}


static bool id_cmp(struct le *le, void *arg)
{
	const struct msrp_sess *c = le->data;

	return !pl_strcmp(arg, c->id);
}


static int hdrs_h(const struct msrp_hdrs *h, void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = cn->s;

	cn->refuse = 0;

	/* the first request binds the connection (RFC 4975 §5.4) */
	if (!s && h->req) {
		struct pl first, id;
		struct sa sa;
		struct le *le;

		first = h->to_path;
		if (re_regex(first.p, first.l, "[^ ]+", &first) ||
		    msrp_path_addr(&sa, &id, &first)) {
			cn->refuse = 400;
			return 0;
		}
		le = hash_lookup(cn->l->sessions, hash_joaat(
				 (const uint8_t *)id.p, id.l), id_cmp, &id);
		if (!le) {
			cn->refuse = 481;
			return 0;
		}
		s = le->data;
		if (s->conn) {
			cn->refuse = 506;
			return 0;
		}
		/* what we send goes to the peer's first From-Path URI */
		first = h->from_path;
		if (!s->remote &&
		    (re_regex(first.p, first.l, "[^ ]+", &first) ||
		     pl_strdup(&s->remote, &first))) {
			cn->refuse = 400;
			return 0;
		}
		list_unlink(&cn->le);
		tmr_cancel(&cn->tmr);
		cn->s = s;
		s->conn = cn;

		/* the peer connected (RFC 6135): what waits goes now */
		if (s->out) {
			tmr_cancel(&s->tmr);
			(void)out_start(s);
		}
	}

	if (!s)
		return EPROTO;   /* a response before any request */

	s->cur = *h;
	if (h->req && !pl_strcmp(&h->method, "SEND"))
		return send_hdrs(s, h);
	return 0;
}


static int data_h(const uint8_t *p, size_t n, void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = cn->s;
	struct inmsg *m = s ? s->cur_in : NULL;
	int err = 0;

	if (!m || cn->refuse || m->status) {
		if (s)
			s->cur_off += n;
		return 0;   /* refused: the body is read and dropped */
	}

	if (s->c.max_size && s->cur_off + n > s->c.max_size) {
		m->status = 413;
		return 0;
	}
	/* nothing past the message's declared total (a later chunk's end
	 * "*" or its total "*" cannot stretch it) */
	if (m->ra.total && s->cur_off + n > m->ra.total) {
		m->status = 400;
		return 0;
	}

	if (s->c.chunkh)
		err = s->c.chunkh(m->ctx, s->cur_off, p, n, s->c.arg);
	if (err)
		m->status = 500;
	s->cur_off += n;
	return 0;
}


static void report_in(struct msrp_sess *s, const struct msrp_hdrs *h)
{
	struct outmsg *o = s->out;
	struct pl code;

	if (!o || pl_strcmp(&h->message_id, o->msgid))
		return;

	if (re_regex(h->status.p, h->status.l, "[0-9]+ [0-9]+", NULL,
		     &code)) {
		out_finish(s, EPROTO, 400);
		return;
	}
	o->reported = true;
	if (pl_u32(&code) == 200 && o->last_sent)
		out_finish(s, 0, 200);
	else if (pl_u32(&code) >= 300)
		out_finish(s, EPROTO, (uint16_t)pl_u32(&code));
}


static void send_ready_h(void *arg);


static void response_in(struct msrp_sess *s, const struct msrp_hdrs *h)
{
	struct outmsg *o = s->out;

	if (!o)
		return;

	if (h->scode >= 300) {
		out_finish(s, EPROTO, h->scode);
		return;
	}

	if (o->outstanding)
		--o->outstanding;
	tmr_start(&s->tmr, s->c.timeout_ms, timeout_h, s);

	/* without a REPORT asked, the last chunk's 200 ends it */
	if (o->last_sent && !o->outstanding && !o->o.success_report)
		out_finish(s, 0, 200);
	else if (!o->last_sent && s->conn && s->conn->tc)
		(void)tcp_set_send(s->conn->tc, send_ready_h);
}


static int end_h(const struct msrp_hdrs *h, char flag, uint64_t len,
		 void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = cn->s;
	struct inmsg *m;
	uint16_t st;

	if (cn->refuse) {
		(void)respond(s, cn, h, cn->refuse, cn->refuse == 481 ?
			      "Session Does Not Exist" : cn->refuse == 506 ?
			      "Wrong Connection" : "Refused");
		if (!s)
			return ECONNREFUSED;   /* closes the connection */
		return 0;
	}
	if (!s)
		return EPROTO;

	if (!h->req) {
		response_in(s, h);
		return 0;
	}

	if (!pl_strcmp(&h->method, "REPORT")) {
		report_in(s, h);
		return 0;   /* never answered */
	}

	if (pl_strcmp(&h->method, "SEND")) {
		(void)respond(s, cn, h, 501, "Not Implemented");
		return 0;
	}

	m = s->cur_in;
	s->cur_in = NULL;
	if (!m) {
		(void)respond(s, cn, h, 200, "OK");
		return 0;
	}

	st = m->status ? m->status : 200;
	if (!m->status && msrp_reasm_add(&m->ra, s->cur_off - len + 1, len))
		st = m->status = 413;
	(void)respond(s, cn, h, st, st == 200 ? "OK" : st == 413 ?
		      "Message Too Large" : "Refused");

	if (m->status || flag == '#') {
		/* a refused or aborted message stops here */
		in_end(s, m, flag == '#' ? ECANCELED : EPROTO);
		return 0;
	}

	if (flag == '$' && !m->ra.total)
		m->ra.total = s->cur_off;   /* the total was "*" */

	if (msrp_reasm_complete(&m->ra)) {
		const uint64_t total = m->ra.total;
		struct msrp_answer a;
		char msgid[128];
		int refused;

		str_ncpy(msgid, m->msgid, sizeof(msgid));
		/* the application has it before the sender hears so; if it
		 * could not take it, a failure REPORT says so (RFC 4975
		 * §7.1.2: unless Failure-Report is "no") */
		refused = in_end(s, m, 0);
		st = refused ? (uint16_t)refused : 200;
		msrp_answer_rules(&a, h, st);
		if ((refused ? a.response : a.report) && s->conn)
			(void)send_report(s, h, msgid, total, st);
	}
	return 0;
}


static void conn_close_h(int err, void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = cn->s;

	if (!s) {
		mem_deref(cn);
		return;
	}

	/* a handler below may let the session go: it lives to the end */
	mem_ref(s);
	s->conn = NULL;
	cn->s = NULL;
	mem_deref(cn);

	while (s->in.head)
		in_end(s, s->in.head->data, err ? err : ECONNRESET);
	out_finish(s, err ? err : ECONNRESET, 0);
	closed(s, err ? err : ECONNRESET);
	mem_deref(s);
}


static void recv_h(struct mbuf *mb, void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = mem_ref(cn->s);   /* outlives its handlers */
	int err;

	mem_ref(cn);
	err = msrp_parser_feed(cn->p, mbuf_buf(mb), mbuf_get_left(mb));
	if (err && cn->tc) {
		plog(SIPPUSH_LOG_WARN, MOD, "closing a connection: %m", err);
		conn_close_h(err, cn);
	}
	mem_deref(cn);
	mem_deref(s);
}


static int conn_alloc(struct conn **cnp, uint64_t max_chunk)
{
	struct conn *cn = mem_zalloc(sizeof(*cn), conn_destructor);
	int err;

	if (!cn)
		return ENOMEM;
	tmr_init(&cn->tmr);
	err = msrp_parser_alloc(&cn->p, max_chunk, hdrs_h, data_h, end_h, cn);
	if (err) {
		mem_deref(cn);
		return err;
	}
	*cnp = cn;
	return 0;
}


static void unbound_tmr(void *arg)
{
	struct conn *cn = arg;

	plog(SIPPUSH_LOG_WARN, MOD, "a connection sent no request in time");
	mem_deref(cn);
}


static bool too_many(const struct msrp_listener *l, const struct sa *peer)
{
	uint32_t same = 0;

	if (list_count(&l->conns) >= MAX_UNBOUND)
		return true;
	for (struct le *le = l->conns.head; le; le = le->next) {
		const struct conn *c = le->data;

		if (sa_cmp(&c->peer, peer, SA_ADDR) &&
		    ++same >= MAX_UNBOUND_PER_PEER)
			return true;
	}
	return false;
}


static void accept_h(const struct sa *peer, void *arg)
{
	struct msrp_listener *l = arg;
	struct conn *cn;

	if (too_many(l, peer)) {
		plog(SIPPUSH_LOG_WARN, MOD, "%J: too many connections without a "
		     "session: refused", peer);
		tcp_reject(l->ts);
		return;
	}

	/* its bound is that of the sessions it may bind to: the largest */
	if (conn_alloc(&cn, 1ull << 24)) {
		tcp_reject(l->ts);
		return;
	}
	cn->l = l;
	cn->peer = *peer;
	if (tcp_accept(&cn->tc, l->ts, NULL, recv_h, conn_close_h, cn) ||
	    (l->tls && tls_start_tcp(&cn->tlsc, l->tls, cn->tc, 0))) {
		mem_deref(cn);
		tcp_reject(l->ts);
		return;
	}
	cn->estab = true;
	tcp_conn_rxsz_set(cn->tc, RX_SIZE);
	list_append(&l->conns, &cn->le, cn);
	tmr_start(&cn->tmr, FIRST_MSG_MS, unbound_tmr, cn);
}


int msrp_listener_alloc(struct msrp_listener **lp, const struct sa *laddr,
			struct tls *tls)
{
	struct msrp_listener *l;
	int err;

	if (!lp || !laddr)
		return EINVAL;

	l = mem_zalloc(sizeof(*l), listener_destructor);
	if (!l)
		return ENOMEM;
	l->tls = mem_ref(tls);

	/* libre's tcp_listen() has a backlog of 5: bursts of sessions
	 * would overflow it, so the socket is set up by hand */
	err = hash_alloc(&l->sessions, 64);
	err = err ? err : tcp_sock_alloc(&l->ts, laddr, accept_h, l);
	err = err ? err : tcp_sock_bind(l->ts, laddr);
	err = err ? err : tcp_sock_listen(l->ts, LISTEN_BACKLOG);
	if (err)
		mem_deref(l);
	else
		*lp = l;
	return err;
}


int msrp_listener_laddr(const struct msrp_listener *l, struct sa *laddr)
{
	return l ? tcp_sock_local_get(l->ts, laddr) : EINVAL;
}


/* --- sending ----------------------------------------------------------- */

static int chunk_send(struct msrp_sess *s, struct outmsg *o)
{
	const size_t csz = s->c.chunk;
	const uint64_t left = o->o.size - o->off;
	const size_t n = left < csz ? (size_t)left : csz;
	const bool last = o->off + n == o->o.size;
	struct msrp_range r = {.start = o->off + 1, .total = o->o.size};
	struct re_printf pf = {mb_print, NULL};
	struct msrp_req_spec rs;
	const uint8_t *body;
	struct mbuf *mb;
	char tid[20];
	int err;

	if (o->o.data) {
		body = o->o.data + o->off;
	}
	else {
		ssize_t got = pread(o->o.fd, o->buf, n, (off_t)o->off);

		if (got != (ssize_t)n)
			return got < 0 ? errno : EIO;
		body = o->buf;
	}

	/* a chunk longer than 2048 octets could be interrupted: end "*" */
	r.end = o->off + n;
	r.end_star = n > MSRP_SMALL_CHUNK && !last;

	/* the end-line must not be in the body: another id if it is */
	do {
		(void)msrp_tid_make(tid, sizeof(tid));
	} while (!msrp_body_safe(body, n, tid));

	rs = (struct msrp_req_spec){
		.method = "SEND", .tid = tid, .to_path = s->remote,
		.from_path = s->path, .message_id = o->msgid,
		.success_report = o->o.success_report ? "yes" : NULL,
		.range = &r, .cdisp = o->cdisp, .cdesc = o->cdesc,
		.ctype = o->ctype,
	};

	mb = mbuf_alloc(n + 512);
	if (!mb)
		return ENOMEM;
	pf.arg = mb;
	err  = msrp_req_print(&pf, &rs);
	err |= mbuf_write_mem(mb, body, n);
	err |= msrp_end_print(&pf, tid, last ? '$' : '+', true);
	if (!err)
		err = conn_send(s->conn, mb);
	mem_deref(mb);
	if (err)
		return err;

	o->off += n;
	++o->outstanding;
	o->last_sent = last;
	if (!tmr_isrunning(&s->tmr))
		tmr_start(&s->tmr, s->c.timeout_ms, timeout_h, s);
	return 0;
}


/* The socket can take more: the next chunk (one at a time) */
static void out_pull(struct msrp_sess *s)
{
	struct outmsg *o = s->out;
	int err;

	if (!o || !s->conn || !s->conn->tc)
		return;

	if (o->last_sent || o->outstanding >= MAX_OUTSTANDING) {
		(void)tcp_set_send(s->conn->tc, NULL);
		return;
	}

	err = chunk_send(s, o);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send: %m", s->id, err);
		out_finish(s, err, 0);
		return;
	}
	if (o->last_sent)
		(void)tcp_set_send(s->conn->tc, NULL);
}


/* libre's send handler: the socket took everything queued (arg: conn) */
static void send_ready_h(void *arg)
{
	struct conn *cn = arg;

	if (cn->s)
		out_pull(cn->s);
}


static int out_start(struct msrp_sess *s)
{
	if (!s->out || !s->conn || !s->conn->tc || !s->conn->estab)
		return 0;
	return tcp_set_send(s->conn->tc, send_ready_h);
}


/**
 * Send one message. sent_h reports its end: the REPORT (when asked) or
 * the last chunk's 200, or the first error.
 */
int msrp_sess_send(struct msrp_sess *s, const struct msrp_out_spec *spec,
		   msrp_sent_h *h, void *arg)
{
	struct outmsg *o;
	int err;

	if (!s || !spec || !spec->ctype || (!spec->data && spec->fd < 0) ||
	    !spec->size)
		return EINVAL;
	if (s->out)
		return EBUSY;

	o = mem_zalloc(sizeof(*o), outmsg_destructor);
	if (!o)
		return ENOMEM;

	o->o = *spec;
	o->h = h;
	o->arg = arg;
	(void)msrp_tid_make(o->msgid, sizeof(o->msgid));
	err  = str_dup(&o->ctype, spec->ctype);
	err |= spec->cdisp ? str_dup(&o->cdisp, spec->cdisp) : 0;
	err |= spec->cdesc ? str_dup(&o->cdesc, spec->cdesc) : 0;
	if (!spec->data) {
		o->buf = mem_alloc(s->c.chunk, NULL);
		err |= o->buf ? 0 : ENOMEM;
	}
	if (err) {
		mem_deref(o);
		return ENOMEM;
	}
	o->o.cdisp = o->cdisp;
	o->o.cdesc = o->cdesc;
	o->o.ctype = o->ctype;

	s->out = o;

	/* a passive session the peer has not connected to yet: it has the
	 * response timer's time to do so */
	if (!s->conn)
		tmr_start(&s->tmr, s->c.timeout_ms, timeout_h, s);
	return out_start(s);
}


/* The active side with nothing to send: a bodiless SEND, so that the
 * passive side can bind the connection (RFC 4975 §5.4, RFC 6135) */
static int bind_send(struct msrp_sess *s)
{
	const struct msrp_range r = {.start = 1, .end = 0, .total = 0};
	struct msrp_req_spec rs;
	char tid[20], msgid[20];

	(void)msrp_tid_make(tid, sizeof(tid));
	(void)msrp_tid_make(msgid, sizeof(msgid));
	rs = (struct msrp_req_spec){
		.method = "SEND", .tid = tid, .to_path = s->remote,
		.from_path = s->path, .message_id = msgid, .range = &r,
	};

	return send_bodiless(s, &rs);
}


static void estab_h(void *arg)
{
	struct conn *cn = arg;
	struct msrp_sess *s = cn->s;

	/* msrps: the certificate must be the one the SDP named */
	if (s && (s->has_fp || cn->tlsc)) {
		uint8_t md[32];

		if (!cn->tlsc || !s->has_fp ||
		    tls_peer_fingerprint(cn->tlsc, TLS_FINGERPRINT_SHA256,
					 md, sizeof(md)) ||
		    memcmp(md, s->fp, sizeof(md))) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: peer certificate does not "
			     "match the SDP fingerprint", s->id);
			conn_close_h(EAUTH, cn);
			return;
		}
	}

	cn->estab = true;
	if (cn->s && cn->s->out)
		(void)out_start(cn->s);
	else if (cn->s && bind_send(cn->s))
		plog(SIPPUSH_LOG_WARN, MOD, "%s: cannot send the binding "
		     "request", cn->s->id);
}


static void active_close_h(int err, void *arg)
{
	struct conn *cn = arg;

	conn_close_h(err, cn);
}


/** The active side: connect to the peer's path (literal IP only) */
int msrp_sess_connect(struct msrp_sess *s, const char *remote_path)
{
	struct conn *cn;
	struct pl path, id;
	struct sa sa;
	int err;

	if (!s || !remote_path || s->conn)
		return EINVAL;

	pl_set_str(&path, remote_path);
	err = msrp_path_addr(&sa, &id, &path);
	if (err)
		return err;

	err = str_dup(&s->remote, remote_path);
	err = err ? err : conn_alloc(&cn, s->c.max_chunk);
	if (err)
		return err;

	cn->s = s;
	s->conn = cn;
	err = tcp_connect(&cn->tc, &sa, estab_h, recv_h, active_close_h, cn);
	if (!err && !strncasecmp(remote_path, "msrps:", 6))
		err = s->c.tls ? tls_start_tcp(&cn->tlsc, s->c.tls, cn->tc, 0)
			: ENOTSUP;
	if (err) {
		s->conn = NULL;
		mem_deref(cn);
		return err;
	}
	tcp_conn_rxsz_set(cn->tc, RX_SIZE);
	return 0;
}


/** msrps: the SHA-256 fingerprint (RFC 4572) the peer must present */
void msrp_sess_expect_fp(struct msrp_sess *s, const uint8_t fp[32])
{
	if (!s || !fp)
		return;
	memcpy(s->fp, fp, sizeof(s->fp));
	s->has_fp = true;
}


/**
 * The owner lets the session go: no handler of its is called any more,
 * even from a callback in progress. Returns s, for mem_deref().
 */
struct msrp_sess *msrp_sess_detach(struct msrp_sess *s)
{
	if (!s)
		return NULL;
	s->c.beginh = NULL;
	s->c.chunkh = NULL;
	s->c.doneh = NULL;
	s->c.closeh = NULL;
	s->c.arg = NULL;
	if (s->out)
		s->out->h = NULL;
	return s;
}


bool msrp_sess_bound(const struct msrp_sess *s)
{
	return s && s->conn;
}


const char *msrp_sess_path(const struct msrp_sess *s)
{
	return s ? s->path : NULL;
}


/**
 * A session. With a listener it is passive (its path is the listener's
 * address); without, active (its path names laddr with port 9, the
 * discard port: it never listens).
 */
int msrp_sess_alloc(struct msrp_sess **sp, struct msrp_listener *l,
		    const struct sa *laddr, const struct msrp_sess_conf *c)
{
	struct msrp_sess *s;
	struct sa a;
	int err;

	if (!sp || !c || (!l && !laddr))
		return EINVAL;

	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;

	s->c = *c;
	if (!s->c.chunk)
		s->c.chunk = DEFAULT_CHUNK;
	if (!s->c.timeout_ms)
		s->c.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!s->c.max_chunk)
		s->c.max_chunk = 1u << 24;
	tmr_init(&s->tmr);
	s->l = l;
	(void)msrp_tid_make(s->id, sizeof(s->id));

	if (l) {
		err = msrp_listener_laddr(l, &a);
		if (err)
			goto out;
	}
	else {
		a = *laddr;
		sa_set_port(&a, 9);
	}

	err = re_sdprintf(&s->path, "%s://%J/%s;tcp",
			  (l && l->tls) || (!l && c->tls) ? "msrps" : "msrp",
			  &a, s->id);
	if (err)
		goto out;

	if (l)
		hash_append(l->sessions, hash_joaat((const uint8_t *)s->id,
						    strlen(s->id)), &s->he, s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}
