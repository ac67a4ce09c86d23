/**
 * @file inbound.c  Requests to the terminal: page-mode pushes (MESSAGE)
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/appid.h"
#include <sippush/cidr.h>
#include "core/extbody.h"
#include "core/featuretag.h"
#include "fetch/fetch.h"
#include <sippush/log.h>
#include "core/outcome.h"
#include "core/method.h"
#include "core/reqcheck.h"
#include "receiver.h"

#define MOD "inbound"

static const char allow[] = "Allow: MESSAGE, NOTIFY, REFER, INVITE, ACK, "
	"CANCEL, BYE, UPDATE, OPTIONS\r\n";


/* The application Accept-Contact names, or NULL when it names none */
int inbound_ac_app(struct pl *app, const struct sip_msg *msg)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_ACCEPT_CONTACT);
	struct ac_pred predv[AC_MAX];
	size_t n = 0;

	if (!h)
		return ENOENT;
	if (ac_decode(predv, ARRAY_SIZE(predv), &n, &h->val))
		return EBADMSG;

	for (size_t i = 0; i < n; i++) {
		const struct ftag *t = ftag_find(&predv[i].tags,
						 "+g.oma.pusheventapp");
		struct pl rest, item;

		if (!t)
			continue;
		rest = t->value;
		if (ftag_value_next(&rest, &item))
			return EBADMSG;
		return appid_normalize(app, &item) ? EBADMSG : 0;
	}
	return ENOENT;
}


const struct receiver_app *app_find(const struct receiver *r,
				    const struct pl *id)
{
	for (size_t i = 0; i < r->conf.appn; i++) {
		struct pl a;

		pl_set_str(&a, r->conf.appv[i].id);
		if (appid_equal(&a, id))
			return &r->conf.appv[i];
	}
	return NULL;
}


/*
 * The answer follows the application: 200 once it took the push (then
 * the push is remembered as seen), 503 when it is busy, 500 when it
 * failed (a full disk, say), so that the sender tries again rather than
 * count as delivered what never landed. stp: the server transaction of
 * a push answered later, or NULL.
 */
static int answer(struct receiver *r, const struct sip_msg *msg,
		  struct sip_strans **stp, const char *id, int hr)
{
	int err;

	if (hr == EBUSY)
		return sip_treplyf(stp, NULL, r->sip, msg, false, 503, "Busy",
				   "Retry-After: 5\r\n"
				   "Content-Length: 0\r\n\r\n");
	if (hr)
		return sip_treply(stp, r->sip, msg, 500, "Application failed");

	err = seen_add(r->seen, id);
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s: not remembered: %m", id, err);

	/* RFC 3428: no Contact, no body */
	return sip_treply(stp, r->sip, msg, 200, "OK");
}


/* A push whose answer waits: its content being fetched, or its handler
 * still at work (it returned EINPROGRESS) */
struct pending {
	struct le le;            /**< in receiver.pending                */
	struct receiver *r;
	struct sip_strans *st;   /**< absorbs re-sent copies meanwhile   */
	const struct sip_msg *msg;
	char *app, *from, *ctype, *push_id;
	const char *method;
	bool handler;            /**< waiting for receiver_push_done()   */
};


static void pending_destructor(void *arg)
{
	struct pending *pd = arg;

	list_unlink(&pd->le);
	mem_deref(pd->st);
	mem_deref((void *)pd->msg);
	mem_deref(pd->app);
	mem_deref(pd->from);
	mem_deref(pd->ctype);
	mem_deref(pd->push_id);
}


static struct pending *pending_find(const struct receiver *r,
				    const char *id)
{
	for (struct le *le = r->pending.head; le; le = le->next) {
		struct pending *pd = le->data;

		if (!str_cmp(pd->push_id, id))
			return pd;
	}
	return NULL;
}


/* Keep the request until the answer is known (the transaction absorbs
 * re-sent copies meanwhile) */
static struct pending *pending_alloc(struct receiver *r,
				    const struct sip_msg *msg,
				    const struct receiver_push *p)
{
	struct pending *pd = mem_zalloc(sizeof(*pd), pending_destructor);

	if (!pd || str_dup(&pd->app, p->app) || str_dup(&pd->from, p->from)
	    || str_dup(&pd->ctype, p->ctype) ||
	    str_dup(&pd->push_id, p->push_id) ||
	    sip_strans_alloc(&pd->st, r->sip, msg, NULL, NULL))
		return mem_deref(pd);
	pd->r = r;
	pd->method = p->method;
	pd->msg = mem_ref((void *)msg);
	list_append(&r->pending, &pd->le, pd);
	return pd;
}


/**
 * A handler that returned EINPROGRESS is done: answer the push (0: taken,
 * EBUSY: 503, else 500). An unknown push_id is ignored.
 */
void receiver_push_done(struct receiver *r, const char *push_id, int err)
{
	struct pending *pd = r ? pending_find(r, push_id) : NULL;

	if (!pd || !pd->handler)
		return;
	(void)answer(r, pd->msg, &pd->st, pd->push_id, err);
	mem_deref(pd);
}


static void fetched_h(int err, const char *why, struct mbuf *mb, void *arg)
{
	struct pending *pd = arg;
	struct receiver_push p = {
		.app = pd->app, .from = pd->from, .ctype = pd->ctype,
		.method = pd->method, .push_id = pd->push_id,
		.body = mb ? mb->buf : NULL, .body_len = mb ? mb->end : 0,
		.error = err ? why : NULL, .deferrable = true,
	};
	int hr;

	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s: %s", pd->push_id, why);
	hr = pd->r->ph(&p, pd->r->arg);
	if (hr == EINPROGRESS) {
		pd->handler = true;   /* receiver_push_done() answers */
		return;
	}
	(void)answer(pd->r, pd->msg, &pd->st, pd->push_id, hr);
	mem_deref(pd);
}


/* A failed indirection is the application's news, not a SIP error */
static int fail_push(struct receiver *r, const struct sip_msg *msg,
		     struct receiver_push *p, const char *why)
{
	p->body = NULL;
	p->body_len = 0;
	p->error = why;
	plog(SIPPUSH_LOG_WARN, MOD, "%s: %s", p->push_id, why);
	return answer(r, msg, NULL, p->push_id, r->ph(p, r->arg));
}


/*
 * RFC 4483 content indirection: fetch, hand over, then answer (see
 * answer()); a re-sent copy meanwhile is absorbed by the transaction
 * (same branch) or answered 503 (a new one). --fetch-timeout bounds the
 * wait: keep it below the sender's transaction timeout (32 s).
 */
static int indirect(struct receiver *r, const struct sip_msg *msg,
		    struct receiver_push *p)
{
	const struct sip_hdr *ct = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
	struct pl body = {(const char *)mbuf_buf(msg->mb),
			  mbuf_get_left(msg->mb)};
	struct pending *pd;
	struct extbody eb;
	char url[1024], inner[160];
	int err;

	if (!ct || extbody_decode(&eb, &ct->val, &body))
		return sip_reply(r->sip, msg, 400, "Bad message/external-body");

	re_snprintf(inner, sizeof(inner), "%r", &eb.ctype);
	p->ctype = inner[0] ? inner : "application/octet-stream";
	if (eb.expiration && eb.expiration < (uint64_t)time(NULL))
		return fail_push(r, msg, p, "content expired before it could "
				 "be fetched");
	if (pl_strcpy(&eb.url, url, sizeof(url)))
		return fail_push(r, msg, p, "URL too long");

	pd = pending_alloc(r, msg, p);
	if (!pd)
		return sip_reply(r->sip, msg, 503, "Out of memory");

	err = fetch_start(r->fetcher, url, eb.has_size ? (int64_t)eb.size :
			  -1, eb.has_hash ? eb.sha1 : NULL, fetched_h, pd);
	if (err) {
		mem_deref(pd);
		return fail_push(r, msg, p, err == EFBIG ? "announced size "
				 "above the limit" : "URL not fetchable "
				 "(http/https only)");
	}
	return 0;
}


/* Who pushed: the P-Asserted-Identity of a trusted peer (in_dialog: see
 * receiver_trusted) */
static int asserted(char *from, size_t sz, struct receiver *r,
		    const struct sip_msg *msg, bool in_dialog)
{
	const struct sip_hdr *pai = sip_msg_hdr(msg,
					       SIP_HDR_P_ASSERTED_IDENTITY);
	struct sip_addr addr;

	if (!pai || receiver_trusted(r, msg, in_dialog))
		return EPERM;
	if (sip_addr_decode(&addr, &pai->val))
		return EBADMSG;
	re_snprintf(from, sz, "%r", &addr.auri);
	return 0;
}


int inbound_asserted(char *from, size_t sz, struct receiver *r,
		     const struct sip_msg *msg)
{
	return asserted(from, sz, r, msg, false);
}


/*
 * The identity a push keeps across re-sends: a NOTIFY's Content-ID (its
 * CSeq changes, its dialog's Call-ID is shared by every push), else the
 * request's Call-ID (a MESSAGE re-sent keeps it).
 */
static void push_identity(char *buf, size_t sz, const struct sip_msg *msg)
{
	const struct sip_hdr *cid = sip_msg_xhdr(msg, "Content-ID");
	struct pl v;

	if (cid && !re_regex(cid->val.p, cid->val.l, "<[^>]+>", &v)) {
		(void)pl_strcpy(&v, buf, sz);
		return;
	}
	if (!pl_strcmp(&msg->met, "NOTIFY"))
		re_snprintf(buf, sz, "%r;%u", &msg->callid, msg->cseq.num);
	else
		(void)pl_strcpy(&msg->callid, buf, sz);
}


/**
 * Hand one push (a MESSAGE, or a NOTIFY with content) to its application
 * and answer it: 415 for a type the app does not take, 200 once taken
 * (or once seen before), 503 when the application is busy.
 */
int inbound_push(struct receiver *r, const struct sip_msg *msg,
		 const struct receiver_app *app, const char *method)
{
	char from[256], ctype[160], cid[256];
	struct receiver_push p;
	struct pl acc;
	bool is_ext, in_dialog;
	int err;

	/* a NOTIFY comes here only in one of our subscriptions' dialogs */
	in_dialog = !pl_strcmp(&msg->met, "NOTIFY");
	err = asserted(from, sizeof(from), r, msg, in_dialog);
	if (err == EPERM && in_dialog && !receiver_trusted(r, msg, true)) {
		/* in our dialog from a trusted peer: the dialog's peer */
		re_snprintf(from, sizeof(from), "%r", &msg->from.auri);
		err = 0;
	}
	if (err == EPERM)
		return sip_reply(r->sip, msg, 403, "No trusted "
				 "P-Asserted-Identity");
	if (err)
		return sip_reply(r->sip, msg, 400, "Bad P-Asserted-Identity");

	if (!pl_isset(&msg->ctyp.type))
		return sip_reply(r->sip, msg, 400, "No Content-Type");
	re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
		    &msg->ctyp.subtype);

	is_ext = msg_ctype_cmp(&msg->ctyp, "message", "external-body");

	/* external-body is always taken: the type that counts is inside */
	if (app->accept && !is_ext) {
		pl_set_str(&acc, app->accept);
		if (!ctype_accepted(&acc, ctype))
			return sip_replyf(r->sip, msg, 415, "Unsupported "
					  "Media Type", "Accept: %s\r\n"
					  "Content-Length: 0\r\n\r\n",
					  app->accept);
	}

	push_identity(cid, sizeof(cid), msg);
	if (seen_has(r->seen, cid)) {
		plog(SIPPUSH_LOG_INFO, MOD, "%s: already handed over", cid);
		return sip_reply(r->sip, msg, 200, "OK");
	}
	/* a new copy (another transaction) of one still being taken */
	if (pending_find(r, cid))
		return sip_replyf(r->sip, msg, 503, "Being handled",
				  "Retry-After: 5\r\n"
				  "Content-Length: 0\r\n\r\n");

	memset(&p, 0, sizeof(p));
	p.app = app->id;
	p.from = from;
	p.ctype = ctype;
	p.method = method;
	p.push_id = cid;
	p.body = mbuf_buf(msg->mb);
	p.body_len = mbuf_get_left(msg->mb);
	if (is_ext)
		return indirect(r, msg, &p);

	p.deferrable = true;
	err = r->ph(&p, r->arg);
	if (err == EINPROGRESS) {
		struct pending *pd = pending_alloc(r, msg, &p);

		if (!pd)   /* the handler runs on: the sender tries again */
			return sip_reply(r->sip, msg, 503, "Out of memory");
		pd->handler = true;
		return 0;
	}
	return answer(r, msg, NULL, cid, err);
}


static int handle_message(struct receiver *r, const struct sip_msg *msg)
{
	const struct receiver_app *app;
	char from[256];
	struct pl id;
	int err;

	/* identity first: nobody learns which applications exist */
	err = inbound_asserted(from, sizeof(from), r, msg);
	if (err == EPERM)
		return sip_reply(r->sip, msg, 403, "No trusted "
				 "P-Asserted-Identity");
	if (err)
		return sip_reply(r->sip, msg, 400, "Bad P-Asserted-Identity");

	err = inbound_ac_app(&id, msg);
	if (err == EBADMSG)
		return sip_reply(r->sip, msg, 400, "Bad Accept-Contact");
	if (err)
		pl_set_str(&id, r->conf.appv[0].id);   /* the default app */

	app = app_find(r, &id);
	if (!app)
		return sip_reply(r->sip, msg, 404, "Unknown push "
				 "application");

	return inbound_push(r, msg, app, "MESSAGE");
}


bool inbound_request(struct receiver *r, const struct sip_msg *msg)
{
	struct reqcheck_ans ans;

	if (reqcheck_refuse(msg, allow, &ans)) {
		(void)sip_replyf(r->sip, msg, ans.scode, ans.reason, "%H",
				 reqcheck_ans_print, &ans);
		return true;
	}

	if (!pl_strcmp(&msg->met, "MESSAGE")) {
		(void)handle_message(r, msg);
		return true;
	}

	if (!pl_strcmp(&msg->met, "NOTIFY")) {
		if (!rsub_notify(r, msg))
			(void)sip_reply(r->sip, msg, 481, "Subscription Does "
					"Not Exist");
		return true;
	}

	if (!pl_strcmp(&msg->met, "REFER")) {
		inbound_refer(r, msg);
		return true;
	}

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_replyf(r->sip, msg, 200, "OK", "%s"
				 "Content-Length: 0\r\n\r\n", allow);
		return true;
	}

	/* INVITE dialogs are libre's sipsess (session.c); UPDATE is ours */
	if (!pl_strcmp(&msg->met, "INVITE") || !pl_strcmp(&msg->met, "BYE") ||
	    !pl_strcmp(&msg->met, "ACK"))
		return false;

	if (!pl_strcmp(&msg->met, "UPDATE")) {
		if (!rsess_update(r, msg))
			(void)sip_reply(r->sip, msg, 481, "Call/Transaction "
					"Does Not Exist");
		return true;
	}

	(void)sip_replyf(r->sip, msg, 405, "Method Not Allowed",
			 "%sContent-Length: 0\r\n\r\n", allow);
	return true;
}
