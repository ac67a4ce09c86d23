/**
 * @file pap.c  OMA PAP on POST /pap (docs/protocol.md, "PAP"): push-message
 *              (one push per address), statusquery, cancel, ccq
 *
 * The push-response (1001) goes only after the pushes are committed, like
 * a 202. A document that cannot be read gets a badmessage-response with
 * the offending fragment. Addresses: WAPPUSH=<AoR>/TYPE=USER, or
 * WAPPUSH=<E.164>/TYPE=PLMN mapped to sip:<E.164>@<plmn domain>.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "../re_nojson.h"
#include "api/api.h"
#include "core/appid.h"
#include "core/initiator.h"
#include "core/param.h"
#include "core/extbody.h"
#include <sippush/log.h>
#include "core/pap.h"
#include "api/pushjson.h"
#include "sender/sender.h"
#include "api/views.h"
#include "store/store.h"
#include "papapi.h"

#define MOD "pap"

enum { MAX_PARTS = 4 };

static const char head[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE pap PUBLIC "
	"\"-//WAPFORUM//DTD PAP 2.1//EN\" \"http://www.openmobilealliance.org/"
	"tech/DTD/pap_2.1.dtd\">\n<pap>";


static int badmessage(char **xml, unsigned code, const char *why,
		      const char *frag)
{
	return re_sdprintf(xml, "%s<badmessage-response code=\"%u\" "
			   "desc=\"%H\" bad-message-fragment=\"%H\"/></pap>\n",
			   head, code, pap_escape_print, why,
			   pap_escape_print, frag);
}


static int now_print(struct re_printf *pf, void *unused)
{
	const int64_t t = (int64_t)time(NULL);
	(void)unused;
	return pap_time_print(pf, &t);
}


/* A push-response refusing the push: code and desc (desc2 appended) */
static int refused(char **xml, const char *push_id, unsigned code,
		   const char *desc, const char *desc2)
{
	return re_sdprintf(xml, "%s<push-response push-id=\"%H\" "
			   "reply-time=\"%H\"><response-result code=\"%u\" "
			   "desc=\"%H%H\"/></push-response></pap>\n", head,
			   pap_escape_print, push_id, now_print, NULL, code,
			   pap_escape_print, desc, pap_escape_print,
			   desc2 ? desc2 : "");
}


/* An address-value to a user's AoR */
static int address_aor(char *aor, size_t sz, const struct api_conf *pc,
		       const char *av)
{
	struct pap_addr a;
	char uri[600];

	if (pap_addr_decode(&a, av))
		return EBADMSG;

	if (!strcasecmp(a.type, "USER"))
		return pushjson_aor(aor, sz, a.value) ? EBADMSG : 0;

	if (!strcasecmp(a.type, "PLMN")) {
		const size_t n = strlen(a.value);

		if (!pc->plmn_domain || n < 4 || n > 16 || a.value[0] != '+' ||
		    strspn(a.value + 1, "0123456789") != n - 1)
			return EBADMSG;
		re_snprintf(uri, sizeof(uri), "sip:%s@%s", a.value,
			    pc->plmn_domain);
		return pushjson_aor(aor, sz, uri) ? EBADMSG : 0;
	}

	return ENOTSUP;
}


/* The content part's application: X-Wap-Application-Id and friends */
static int part_app(char *app, size_t sz, const struct mpart *p,
		    const char *dflt)
{
	struct pl rest = p->hdrs, name, val, norm;

	while (!mime_hdr_next(&rest, &name, &val)) {
		if (pl_strcasecmp(&name, "X-Wap-Application-Id") &&
		    pl_strcasecmp(&name, "X-Oma-Application-Id") &&
		    pl_strcasecmp(&name, "Push-Application-Id"))
			continue;
		if (appid_normalize(&norm, &val) || !pl_is_token(&norm) ||
		    pl_strcpy(&norm, app, sz))
			return EBADMSG;
		return 0;
	}
	if (!dflt)
		return ENOENT;
	str_ncpy(app, dflt, sz);
	return 0;
}


static int push_message(const struct papapi *pa, const struct pap_doc *d,
			const struct mpart *content, char **xml,
			bool *wait)
{
	const int64_t now = (int64_t)time(NULL);
	char app[65], ctype[128], aor[256], id[32];
	struct push_req pr;
	const char *busy;
	int exists, err;
	uint32_t ttl = 0, retry_s;

	exists = store_pap_get(pa->st, d->push_id, NULL, NULL);
	if (!exists)
		return refused(xml, d->push_id, 2007, "duplicate push-id",
			       NULL);

	if (!content)
		return badmessage(xml, 2000, "push-message without a content "
				  "part", d->push_id);
	if (part_app(app, sizeof(app), content, pa->conf->pap_app))
		return badmessage(xml, 2000, "content part names no push "
				  "application (X-Wap-Application-Id)", "");
	if (!pl_isset(&content->ctype) ||
	    pl_strcpy(&content->ctype, ctype, sizeof(ctype)) ||
	    !pushjson_ctype_ok(ctype))
		return badmessage(xml, 2000, "content part without a valid "
				  "Content-Type", "");
	if (d->deliver_before) {
		if (d->deliver_before <= now ||
		    d->deliver_before <= d->deliver_after)
			return badmessage(xml, 2000, "deliver-before-"
					  "timestamp has passed or is not "
					  "after deliver-after-timestamp", "");
		ttl = (uint32_t)(d->deliver_before - now);
	}

	/* every address first: all accepted, or none */
	for (size_t i = 0; i < d->naddr; i++) {
		err = address_aor(aor, sizeof(aor), pa->conf, d->addr[i]);
		if (err)
			return refused(xml, d->push_id, 2002,
				       "address error: ", d->addr[i]);
	}
	/* the initiator's applications and rate (2001, 4001) */
	if (pa->in && !initiator_app_ok(pa->in, app))
		return refused(xml, d->push_id, 2001, "application not "
			       "allowed for this initiator", NULL);
	/* refused while busy before the rate is spent, as over REST */
	busy = sender_refuses(pa->s, (uint32_t)d->naddr, &retry_s);
	if (busy)
		return refused(xml, d->push_id, 4001, busy, NULL);
	if (pa->in && !initiator_take(pa->in, (uint64_t)now * 1000,
				      (uint32_t)d->naddr))
		return refused(xml, d->push_id, 4001, "over this "
			       "initiator's rate", NULL);

	for (size_t i = 0; i < d->naddr; i++) {
		struct pap_rec rec;

		(void)address_aor(aor, sizeof(aor), pa->conf, d->addr[i]);
		memset(&pr, 0, sizeof(pr));
		pr.aor = aor;
		pr.app = app;
		pr.ctype = ctype;
		pr.body = (const uint8_t *)content->body.p;
		pr.body_len = content->body.l;
		pr.method = "auto";
		pr.ttl = ttl;
		pr.priority = !strcmp(d->priority, "high") ? 9 :
			!strcmp(d->priority, "low") ? 1 : 5;
		pr.not_before = d->deliver_after > now ? d->deliver_after : 0;
		pr.initiator = "pap";
		/* a relay's 202 confirms nothing: "confirmed" waits for the
		 * terminal's own answer, "unconfirmed" takes the relay's */
		pr.relay = !strcmp(d->delivery_method, "confirmed") ?
			RELAY_PENDING : !strcmp(d->delivery_method,
						"unconfirmed") ?
			RELAY_DELIVERED : RELAY_DEFAULT;
		if (pa->in) {
			pr.identity = pa->in->identity[0] ? pa->in->identity :
				NULL;
			pr.unasserted = !pa->in->trusted;
			pr.owner = pa->in->name;
		}
		err = sender_push_accept(pa->s, &pr, id, sizeof(id));
		rec = (struct pap_rec){
			.pap_id = d->push_id, .addr = d->addr[i],
			.push_id = id, .created_ms = (int64_t)now * 1000,
			.notify_to = d->notify_to[0] ? d->notify_to : NULL,
		};
		err = err ? err : store_pap_add(pa->st, &rec);
		if (err) {
			plog(SIPPUSH_LOG_WARN, MOD, "%s: not accepted (%m)",
			     d->push_id, err);
			return re_sdprintf(xml, "%s<push-response push-id="
					   "\"%H\" reply-time=\"%H\">"
					   "<response-result code=\"3000\" "
					   "desc=\"not accepted\"/>"
					   "</push-response></pap>\n", head,
					   pap_escape_print, d->push_id,
					   now_print, NULL);
		}
	}

	*wait = true;   /* 1001 only once it is on disk */
	return re_sdprintf(xml, "%s<push-response push-id=\"%H\" "
			   "reply-time=\"%H\"><response-result code=\"1001\" "
			   "desc=\"Accepted for processing\"/>"
			   "</push-response></pap>\n", head, pap_escape_print,
			   d->push_id, now_print, NULL);
}


struct walk {
	const struct papapi *pa;
	struct mbuf *mb;
	bool cancel;
	int err;
};


static const char *message_state(const char *state)
{
	/* PAP has no "partial": some terminals got it */
	return !strcmp(state, "partial") ? "delivered" : state;
}


static void result_h(const struct pap_rec *r, void *arg)
{
	struct walk *w = arg;
	struct push_outcome o;
	int64_t t;

	if (w->cancel) {
		int err = sender_push_cancel(w->pa->s, r->push_id);

		w->err |= mbuf_printf(w->mb, "<cancel-result code=\"%u\" "
				      "desc=\"%s\"><address address-value="
				      "\"%H\"/></cancel-result>",
				      !err ? 1000 : err == EINPROGRESS ? 1001 :
				      err == EALREADY ? 3003 : 2004,
				      !err ? "cancelled" : err == EINPROGRESS ?
				      "accepted for cancellation" :
				      err == EALREADY ? "already final" :
				      "push-id not found", pap_escape_print,
				      r->addr);
		return;
	}

	if (sender_push_outcome(w->pa->s, r->push_id, &o)) {
		w->err |= mbuf_printf(w->mb, "<statusquery-result code="
				      "\"2004\" message-state=\"unknown\">"
				      "<address address-value=\"%H\"/>"
				      "</statusquery-result>",
				      pap_escape_print, r->addr);
		return;
	}
	t = o.event_ms / 1000;
	w->err |= mbuf_printf(w->mb, "<statusquery-result event-time=\"%H\" "
			      "message-state=\"%s\" code=\"%u\"%s%H%s>"
			      "<address address-value=\"%H\"/>"
			      "</statusquery-result>", pap_time_print, &t,
			      message_state(o.state), o.pap_code,
			      o.desc[0] ? " desc=\"" : "", pap_escape_print,
			      o.desc[0] ? o.desc : NULL,
			      o.desc[0] ? "\"" : "", pap_escape_print,
			      r->addr);
}


struct mine {
	const struct papapi *pa;
	bool others;
};


static void mine_h(const struct pap_rec *r, void *arg)
{
	struct mine *m = arg;
	char owner[64];

	if (sender_push_owner(m->pa->s, r->push_id, owner, sizeof(owner)) ||
	    !m->pa->in || strcmp(owner, m->pa->in->name))
		m->others = true;
}


/* Whether the push-id has a push that is not the initiator's to see */
static bool not_theirs(const struct papapi *pa, const char *push_id)
{
	struct mine m = {pa, false};

	if (pa->admin)
		return false;
	(void)store_pap_get(pa->st, push_id, mine_h, &m);
	return m.others;
}


static int query_or_cancel(const struct papapi *pa, const struct pap_doc *d,
			   bool cancel, char **xml, bool *wait)
{
	const char *el = cancel ? "cancel-response" : "statusquery-response";
	struct walk w = {pa, mbuf_alloc(1024), cancel, 0};
	int err;

	if (!w.mb)
		return ENOMEM;

	/* another initiator's push-id: 2001, saying nothing of it */
	if (not_theirs(pa, d->push_id))
		err = mbuf_printf(w.mb, "<%s code=\"2001\" desc=\"forbidden: "
				  "not this initiator's push-id\"/>", cancel ?
				  "cancel-result" : "statusquery-result") ?
			ENOMEM : 0;
	else
		err = store_pap_get(pa->st, d->push_id, result_h, &w);
	if (err == ENOENT) {
		w.err = mbuf_printf(w.mb, "<%s code=\"2004\" desc=\"push-id "
				    "not found\"/>", cancel ? "cancel-result" :
				    "statusquery-result");
		err = 0;
	}
	if (!err && !w.err) {
		err = re_sdprintf(xml, "%s<%s push-id=\"%H\">%b</%s></pap>\n",
				  head, el, pap_escape_print, d->push_id,
				  w.mb->buf, w.mb->end, el);
		*wait = cancel;   /* the cancellation is committed first */
	}
	mem_deref(w.mb);
	return err ? err : w.err;
}


static int mb_print(const char *p, size_t n, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, n);
}


/* ccq: what the user's terminals told of themselves (TS §6.1) */
static int ccq(const struct papapi *pa, const struct pap_doc *d, char **xml)
{
	struct mbuf *mb;
	char aor[256];
	int err;

	if (!d->naddr || address_aor(aor, sizeof(aor), pa->conf, d->addr[0]))
		return badmessage(xml, 2002, "ccq-message needs a valid "
				  "address", d->naddr ? d->addr[0] : "");

	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;
	{
		struct re_printf pf = {mb_print, mb};

		err = sender_terminals_print(&pf, pa->s, aor, pa->admin ||
					     !pa->in || !pa->in->apps[0] ?
					     NULL : pa->in->apps);
		err = err ? err : mbuf_write_u8(mb, 0);
	}
	if (!err)
		err = re_sdprintf(xml, "%s<ccq-response query-id=\"%H\" "
				  "code=\"1000\" desc=\"%H\"/></pap>\n", head,
				  pap_escape_print, d->query_id,
				  pap_escape_print, (char *)mb->buf);
	mem_deref(mb);
	return err;
}


/**
 * One POST /pap: the response document in *xml (*status its HTTP
 * status), and *wait when it may go only after the store's commit.
 */
int papapi_request(const struct papapi *pa, const char *ctype,
		   const uint8_t *body, size_t len, char **xml,
		   unsigned *status, bool *wait)
{
	struct mpart parts[MAX_PARTS];
	const struct mpart *content = NULL;
	struct pl ct, bd = {(const char *)body, len}, doc_pl;
	struct pap_doc *d;
	char frag[PAP_FRAG_MAX];
	const char *why = NULL;
	size_t n = 0;
	int err;

	*wait = false;
	*status = 202;
	pl_set_str(&ct, ctype ? ctype : "");

	/* multipart/related: the PAP document, then the content */
	if (!re_regex(ct.p, ct.l, "multipart/[^;]+", NULL)) {
		err = mpart_decode(parts, ARRAY_SIZE(parts), &n, &ct, &bd);
		if (err || !n) {
			*status = 400;
			return badmessage(xml, 2000, "body: not a multipart "
					  "body with a PAP document", "");
		}
		doc_pl = parts[0].body;
		content = n > 1 ? &parts[1] : NULL;
	}
	else {
		doc_pl = bd;
	}

	d = mem_zalloc(sizeof(*d), NULL);
	if (!d)
		return ENOMEM;

	err = pap_decode(d, doc_pl.p, doc_pl.l, frag, sizeof(frag), &why);
	if (err) {
		*status = 400;
		err = badmessage(xml, err == ENOTSUP && why &&
				 strstr(why, "version") ? 3002 : 2000,
				 why ? why : "not a PAP document", frag);
		goto out;
	}

	switch (d->kind) {

	case PAP_PUSH:
		err = push_message(pa, d, content, xml, wait);
		break;

	case PAP_STATUSQUERY:
		err = query_or_cancel(pa, d, false, xml, wait);
		break;

	case PAP_CANCEL:
		err = query_or_cancel(pa, d, true, xml, wait);
		break;

	case PAP_CCQ:
		err = ccq(pa, d, xml);
		break;

	default:
		/* a resultnotification-response: noted, nothing to answer */
		*status = 204;
		err = 0;
		break;
	}

 out:
	mem_deref(d);
	return err;
}
