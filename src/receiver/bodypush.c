/**
 * @file bodypush.c  Pushes carried in a request's body: a page-mode
 *                   MESSAGE, a content NOTIFY of a subscription
 *
 * Who pushed (a trusted P-Asserted-Identity, else 403), the content type
 * (415 + Accept), the push's identity across re-sends; content
 * indirection (message/external-body) is answered once fetched inside
 * the loop (fetch.h), a failed fetch by its cause (503 when it may pass,
 * else a final 4xx saying why, the application told with `error` set).
 * The push itself goes the common way (deliver.c); its outcome is the
 * SIP answer: 200 taken, 503 busy, 500 failed, so that the sender tries
 * again rather than count as delivered what never landed.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "core/extbody.h"
#include "core/outcome.h"   /* before method.h, which uses it */
#include "core/method.h"
#include "fetch/fetch.h"
#include "bodypush.h"
#include "deliver.h"
#include "trust.h"

#define MOD "bodypush"

struct bodypush {
	struct sip *sip;
	const struct trust *trust;
	struct deliver *deliver;
	struct fetcher *fetcher;
	struct list pending;     /**< struct pending                     */
};

/* A push until it is answered: its content being fetched, its handler
 * at work, or (briefly) in the handler's call */
struct pending {
	struct le le;            /**< in bodypush.pending                */
	struct bodypush *bp;
	struct sip_strans *st;   /**< absorbs re-sent copies meanwhile   */
	const struct sip_msg *msg;
	char *app, *from, *ctype, *push_id;
	const char *method;
};


static void destructor(void *arg)
{
	struct bodypush *bp = arg;

	mem_deref(bp->fetcher);
	list_flush(&bp->pending);   /* after the fetcher: no more callbacks */
}


int bodypush_alloc(struct bodypush **bpp, struct sip *sip,
		   const struct receiver_conf *conf, const struct trust *t,
		   struct deliver *d)
{
	const struct fetch_limits lim = {
		.max_size = conf->fetch_max ? conf->fetch_max : 16u << 20,
		.timeout_ms = conf->fetch_timeout_ms ?
			conf->fetch_timeout_ms : 30000,
		.allow_private = conf->allow_private_fetch,
		.allowv = conf->fetch_allowv,
		.allown = conf->fetch_allown,
	};
	struct bodypush *bp;
	int err;

	bp = mem_zalloc(sizeof(*bp), destructor);
	if (!bp)
		return ENOMEM;
	bp->sip = sip;
	bp->trust = t;
	bp->deliver = d;

	err = fetcher_alloc(&bp->fetcher, &lim);
	if (err)
		mem_deref(bp);
	else
		*bpp = bp;
	return err;
}


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


static struct pending *pending_find(const struct bodypush *bp,
				    const char *id)
{
	for (struct le *le = bp->pending.head; le; le = le->next) {
		struct pending *pd = le->data;

		if (!str_cmp(pd->push_id, id))
			return pd;
	}
	return NULL;
}


/* Keep the request until the answer is known (the transaction absorbs
 * re-sent copies meanwhile) */
static struct pending *pending_alloc(struct bodypush *bp,
				    const struct sip_msg *msg,
				    const struct receiver_push *p)
{
	struct pending *pd = mem_zalloc(sizeof(*pd), pending_destructor);

	if (!pd || str_dup(&pd->app, p->app) || str_dup(&pd->from, p->from)
	    || str_dup(&pd->ctype, p->ctype) ||
	    str_dup(&pd->push_id, p->push_id) ||
	    sip_strans_alloc(&pd->st, bp->sip, msg, NULL, NULL))
		return mem_deref(pd);
	pd->bp = bp;
	pd->method = p->method;
	pd->msg = mem_ref((void *)msg);
	list_append(&bp->pending, &pd->le, pd);
	return pd;
}


/* How the push ended (deliver.c), as the answer: then it is over */
static void answer_h(int err, void *arg)
{
	struct pending *pd = arg;
	struct sip *sip = pd->bp->sip;

	if (err == EBUSY)
		(void)sip_treplyf(&pd->st, NULL, sip, pd->msg, false, 503,
				  "Busy", "Retry-After: 5\r\n"
				  "Content-Length: 0\r\n\r\n");
	else if (err)
		(void)sip_treply(&pd->st, sip, pd->msg, 500,
				 "Application failed");
	else   /* RFC 3428: no Contact, no body */
		(void)sip_treply(&pd->st, sip, pd->msg, 200, "OK");
	mem_deref(pd);
}


/*
 * Content that could not be had: the answer says why (extbody_fail() in
 * the core), so that the sender reports a failed push, not a delivered
 * one, and tries again only when that can help. A final failure is also
 * the application's news; one that may pass is not (the push may yet
 * come). Neither is remembered as handed over: a re-sent copy is fetched
 * again.
 */
static void fail_push(struct pending *pd, struct receiver_push *p,
		      int cause, const char *why)
{
	struct sip *sip = pd->bp->sip;
	struct extbody_fail f;
	char reason[96];

	extbody_fail(&f, cause);
	if (f.detail && why)
		re_snprintf(reason, sizeof(reason), "%s (%s)", f.reason, why);
	else
		str_ncpy(reason, f.reason, sizeof(reason));

	plog(SIPPUSH_LOG_WARN, MOD, "%s: %s: answered %u", p->push_id,
	     why ? why : f.reason, f.scode);
	if (f.final) {
		p->body = NULL;
		p->body_len = 0;
		p->error = why ? why : f.reason;
		p->deferrable = false;
		deliver_failed(pd->bp->deliver, p);
	}

	if (f.retry_after)
		(void)sip_treplyf(&pd->st, NULL, sip, pd->msg, false, f.scode,
				  reason, "Retry-After: %u\r\n"
				  "Content-Length: 0\r\n\r\n",
				  f.retry_after);
	else
		(void)sip_treply(&pd->st, sip, pd->msg, f.scode, reason);
	mem_deref(pd);
}


static void fetched_h(int err, const char *why, struct mbuf *mb, void *arg)
{
	struct pending *pd = arg;
	struct receiver_push p = {
		.app = pd->app, .from = pd->from, .ctype = pd->ctype,
		.method = pd->method, .push_id = pd->push_id,
		.body = mb ? mb->buf : NULL, .body_len = mb ? mb->end : 0,
		.deferrable = true,
	};

	if (err)
		fail_push(pd, &p, err, why);
	else
		deliver_push(pd->bp->deliver, &p, answer_h, pd);
}


/*
 * RFC 4483 content indirection: fetch, hand over, then answer; a re-sent
 * copy meanwhile is absorbed by the transaction (same branch) or answered
 * 503 (a new one). --fetch-timeout bounds the wait: keep it below the
 * sender's transaction timeout (32 s).
 */
static int indirect(struct bodypush *bp, const struct sip_msg *msg,
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
		return sip_reply(bp->sip, msg, 400,
				 "Bad message/external-body");

	re_snprintf(inner, sizeof(inner), "%r", &eb.ctype);
	p->ctype = inner[0] ? inner : "application/octet-stream";

	pd = pending_alloc(bp, msg, p);
	if (!pd)
		return sip_reply(bp->sip, msg, 503, "Out of memory");

	if (eb.expiration && eb.expiration < (uint64_t)time(NULL)) {
		fail_push(pd, p, ETIME, "content expired before it could be "
			  "fetched");
		return 0;
	}
	if (pl_strcpy(&eb.url, url, sizeof(url))) {
		fail_push(pd, p, ENAMETOOLONG, "URL too long");
		return 0;
	}

	err = fetch_start(bp->fetcher, url, eb.has_size ? (int64_t)eb.size :
			  -1, eb.has_hash ? eb.sha1 : NULL, fetched_h, pd);
	if (err)
		fail_push(pd, p, err, err == EFBIG ? "announced size above "
			  "the limit" : err == EPROTONOSUPPORT ? "URL not "
			  "fetchable (http/https only)" : err == EPERM ?
			  "address not allowed (proxy)" : "not fetched");
	return 0;
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
int bodypush_push(struct bodypush *bp, const struct sip_msg *msg,
		  const struct receiver_app *app, const char *method)
{
	char from[256], ctype[160], cid[256];
	struct receiver_push p;
	struct pending *pd;
	struct pl acc;
	bool is_ext, in_dialog;
	int err;

	/* a NOTIFY comes here only in one of our subscriptions' dialogs */
	in_dialog = !pl_strcmp(&msg->met, "NOTIFY");
	err = trust_asserted(from, sizeof(from), bp->trust, msg, in_dialog);
	if (err == EPERM && in_dialog && !trust_msg(bp->trust, msg, true)) {
		/* in our dialog from a trusted peer: the dialog's peer */
		re_snprintf(from, sizeof(from), "%r", &msg->from.auri);
		err = 0;
	}
	if (err == EPERM)
		return sip_reply(bp->sip, msg, 403, "No trusted "
				 "P-Asserted-Identity");
	if (err)
		return sip_reply(bp->sip, msg, 400, "Bad P-Asserted-Identity");

	if (!pl_isset(&msg->ctyp.type))
		return sip_reply(bp->sip, msg, 400, "No Content-Type");
	re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
		    &msg->ctyp.subtype);

	is_ext = msg_ctype_cmp(&msg->ctyp, "message", "external-body");

	/* external-body is always taken: the type that counts is inside */
	if (app->accept && !is_ext) {
		pl_set_str(&acc, app->accept);
		if (!ctype_accepted(&acc, ctype))
			return sip_replyf(bp->sip, msg, 415, "Unsupported "
					  "Media Type", "Accept: %s\r\n"
					  "Content-Length: 0\r\n\r\n",
					  app->accept);
	}

	/* before any fetch: a copy handed over before is not fetched again */
	push_identity(cid, sizeof(cid), msg);
	if (deliver_seen(bp->deliver, cid))
		return sip_reply(bp->sip, msg, 200, "OK");
	/* a new copy (another transaction) of one still being taken */
	if (pending_find(bp, cid))
		return sip_replyf(bp->sip, msg, 503, "Being handled",
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
		return indirect(bp, msg, &p);

	pd = pending_alloc(bp, msg, &p);
	if (!pd)
		return sip_reply(bp->sip, msg, 503, "Out of memory");
	p.deferrable = true;
	deliver_push(bp->deliver, &p, answer_h, pd);
	return 0;
}
