/**
 * @file registrar.c  REGISTER at sippushd: as the terminal's registrar, and
 *                    third-party REGISTER from the SIP/IP core (TS §8.1)
 *
 * A REGISTER is third-party when its From differs from its To (someone
 * registers on behalf of the user) or it carries the terminal's REGISTER
 * and/or its 200 as message/sip. Only a trusted peer (trust.c) may send
 * those.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/param.h"
#include "core/featuretag.h"
#include "core/extbody.h"
#include "core/imshdr.h"
#include "engine.h"
#include "auth.h"
#include "clock.h"
#include "push.h"
#include "refuse.h"
#include "registrar.h"
#include "regwatch.h"
#include "terminal.h"
#include "trust.h"

#include <sippush/log.h>

#define MOD "registrar"

enum { MAX_CONTACTS = 16, DEFAULT_EXPIRES = 3600 };

static const char *const known_options[] = {"pref", "gruu", "path",
					    "outbound"};

struct reg_ctx {
	struct sender *s;
	const struct sip_msg *msg;
	char aor[256];
	char path[512];
	char charging[256];      /**< the core's P-Charging-Vector          */
	const char *source;
	uint32_t dflt_expires;
	bool held;               /**< msg referenced until the commit      */
	bool third_party;
	bool gruu;
	bool outbound;           /**< RFC 5626: Require: outbound in the 200 */
	int err;
	uint16_t scode;
	const char *reason;
};


static bool unsupported_h(const struct sip_hdr *hdr,
			  const struct sip_msg *msg, void *arg)
{
	(void)msg;
	for (size_t i = 0; i < ARRAY_SIZE(known_options); i++)
		if (!pl_strcasecmp(&hdr->val, known_options[i]))
			return false;
	*(const struct pl **)arg = &hdr->val;
	return true;
}


/**
 * Is the sender of this REGISTER allowed to act for the AoR?
 * Returns true when it may go on; otherwise the answer has been sent.
 */
static bool authorize(struct reg_ctx *rc)
{
	const struct sip_msg *msg = rc->msg;
	struct sender *s = rc->s;

	if (sender_trusted(s, msg))
		return true;

	if (rc->third_party) {
		sender_refuse(s, msg, 403, "Third-party REGISTER "
			      "only from a trusted core");
		return false;
	}

	return auth_digest(s, msg, rc->aor, &msg->to.uri.user);
}


static bool path_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		   void *arg)
{
	struct reg_ctx *rc = arg;
	size_t len = strlen(rc->path);
	(void)msg;

	if (re_snprintf(rc->path + len, sizeof(rc->path) - len, "%s%r",
			len ? "," : "", &hdr->val) < 0)
		rc->err = EOVERFLOW;
	return rc->err != 0;
}


static void term_key(char *buf, size_t sz, const struct contact_feat *cf)
{
	if (pl_isset(&cf->instance))
		re_snprintf(buf, sz, "%r", &cf->instance);
	else
		re_snprintf(buf, sz, "%r", &cf->uri);
}


/* One Contact of the terminal: add, refresh or remove its record */
static int apply_contact(struct reg_ctx *rc, const struct contact_feat *cf,
			 const struct contact_feat *ok, bool aor_level)
{
	char tkey[256], contact[256], inst[160] = "", pub[384] = "",
		temp[384] = "", apps[256] = "", methods[160] = "";
	struct sender *s = rc->s;
	struct term_rec r;
	uint32_t expires = rc->dflt_expires;
	bool became = false;
	int err;

	if (cf->has_expires)
		expires = cf->expires;
	if (ok && ok->has_expires)
		expires = ok->expires;

	term_key(tkey, sizeof(tkey), cf);
	if (!expires) {
		struct terminal *t = term_find(user_find(s, rc->aor), tkey);
		if (t)
			term_remove(t);
		return 0;
	}

	if (expires < s->conf.min_expires) {
		rc->scode = 423;
		rc->reason = "Interval Too Brief";
		return EINVAL;
	}
	if (expires > s->conf.max_expires)
		expires = s->conf.max_expires;

	re_snprintf(contact, sizeof(contact), "%r", &cf->uri);
	if (!aor_level && pl_isset(&cf->instance))
		re_snprintf(inst, sizeof(inst), "%r", &cf->instance);
	if (!aor_level && pl_isset(&cf->apps))
		re_snprintf(apps, sizeof(apps), "%r", &cf->apps);
	if (pl_isset(&cf->methods))
		re_snprintf(methods, sizeof(methods), "%r", &cf->methods);

	if (ok && pl_isset(&ok->pub_gruu))
		re_snprintf(pub, sizeof(pub), "%r", &ok->pub_gruu);
	else if (inst[0] && !rc->third_party)
		/* as its registrar, sippushd gives it (RFC 5627 §5.1's form);
		 * through a core, only what the core gave is stored */
		re_snprintf(pub, sizeof(pub), "%s;gr=%s", rc->aor, inst);
	if (ok && pl_isset(&ok->temp_gruu))
		re_snprintf(temp, sizeof(temp), "%r", &ok->temp_gruu);

	r = (struct term_rec){
		.aor = rc->aor, .tkey = tkey,
		.instance = inst[0] ? inst : NULL, .contact = contact,
		.pub_gruu = pub[0] ? pub : NULL,
		.temp_gruu = temp[0] ? temp : NULL,
		.apps = apps[0] ? apps : NULL,
		.methods = methods[0] ? methods : NULL,
		.path = rc->path[0] ? rc->path : NULL,
		.source = rc->source,
		.charging = rc->charging[0] ? rc->charging : NULL,
		.expires_at = sender_now_s(rc->s) + expires,
		/* an AoR-level record's applications are unknown: try it */
		.push = aor_level || apps[0],
	};

	err = term_upsert(s, &r, &became);
	if (err == E2BIG) {
		rc->scode = 403;
		rc->reason = "Too many terminals for this user";
	}
	if (!err && became)
		push_user_ready(user_find(s, rc->aor));

	return err;
}


struct contacts {
	struct contact_feat v[MAX_CONTACTS];
	size_t n;
	bool star;
	int err;
};


static bool contact_h(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	struct contacts *cs = arg;
	(void)msg;

	if (!pl_strcmp(&hdr->val, "*")) {
		cs->star = true;
		return false;
	}

	if (cs->n >= MAX_CONTACTS) {
		cs->err = EOVERFLOW;
		return true;
	}

	if (contact_feat_decode(&cs->v[cs->n], &hdr->val)) {
		cs->err = EBADMSG;
		return true;
	}
	++cs->n;
	return false;
}


static int contacts_of(struct contacts *cs, const struct sip_msg *msg)
{
	memset(cs, 0, sizeof(*cs));
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_h, cs);
	return cs->err;
}


static const struct contact_feat *same_contact(const struct contacts *cs,
					       const struct contact_feat *cf)
{
	for (size_t i = 0; i < cs->n; i++) {
		const struct contact_feat *o = &cs->v[i];

		if (pl_isset(&cf->instance) ? !pl_cmp(&o->instance,
						      &cf->instance)
		    : !pl_cmp(&o->uri, &cf->uri))
			return o;
	}
	return NULL;
}


static uint32_t msg_expires(const struct sip_msg *msg, uint32_t dflt)
{
	uint32_t v;

	if (pl_isset(&msg->expires) && !pl_u32_strict(&msg->expires, &v))
		return v;
	return dflt;
}


static void remove_all(struct sender *s, const char *aor)
{
	struct user *u = user_find(s, aor);

	while (u && u->terms.head)
		term_remove(u->terms.head->data);
}


static int apply_all(struct reg_ctx *rc, const struct contacts *req,
		     const struct contacts *ok, bool aor_level)
{
	int err = 0;

	if (req->star) {
		if (rc->dflt_expires || req->n) {
			rc->scode = 400;
			rc->reason = "Contact * needs Expires: 0 alone";
			return EINVAL;
		}
		remove_all(rc->s, rc->aor);
		return 0;
	}

	for (size_t i = 0; !err && i < req->n; i++)
		err = apply_contact(rc, &req->v[i],
				    ok ? same_contact(ok, &req->v[i]) : NULL,
				    aor_level);

	/* only the 200 came: its contacts are the terminal's */
	if (!req->n && ok)
		for (size_t i = 0; !err && i < ok->n; i++)
			err = apply_contact(rc, &ok->v[i], &ok->v[i],
					    aor_level);

	return err;
}


static int decode_part(struct sip_msg **req, struct sip_msg **resp,
		       const struct pl *body)
{
	struct sip_msg *m = NULL;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(body->l + 4);
	if (!mb)
		return ENOMEM;
	(void)mbuf_write_pl(mb, body);

	/* a header-only message/sip may end with the body, without the
	 * empty line libre's decoder looks for */
	if (body->l < 4 || memcmp(body->p + body->l - 4, "\r\n\r\n", 4))
		(void)mbuf_write_str(mb, body->l >= 2 && !memcmp(
			body->p + body->l - 2, "\r\n", 2) ? "\r\n" :
			"\r\n\r\n");
	mb->pos = 0;

	err = sip_msg_decode(&m, mb);
	mem_deref(mb);
	if (err)
		return EBADMSG;

	if (m->req && !pl_strcmp(&m->met, "REGISTER") && !*req)
		*req = m;
	else if (!m->req && m->scode == 200 && !*resp)
		*resp = m;
	else {
		mem_deref(m);
		return EBADMSG;
	}

	return 0;
}


/* The terminal's REGISTER and/or its 200, as message/sip or multipart */
static int body_msgs(struct sip_msg **req, struct sip_msg **resp,
		     const struct sip_msg *msg)
{
	struct pl body = {(const char *)mbuf_buf(msg->mb),
			  mbuf_get_left(msg->mb)};
	struct pl ctype = msg->ctyp.type;
	struct mpart partv[4];
	size_t n = 0;
	int err;

	if (msg_ctype_cmp(&msg->ctyp, "message", "sip"))
		return decode_part(req, resp, &body);

	if (msg_ctype_cmp(&msg->ctyp, "multipart", "mixed")) {
		const struct sip_hdr *h = sip_msg_hdr(msg,
						      SIP_HDR_CONTENT_TYPE);
		ctype = h ? h->val : ctype;
		err = mpart_decode(partv, ARRAY_SIZE(partv), &n, &ctype,
				   &body);
		if (err)
			return EBADMSG;
		for (size_t i = 0; i < n; i++) {
			struct pl t = partv[i].ctype;

			pl_trim_lws(&t);
			if (!pl_strcasecmp(&t, "message/sip")) {
				err = decode_part(req, resp, &partv[i].body);
				if (err)
					return err;
			}
		}
		return (*req || *resp) ? 0 : EBADMSG;
	}

	return EBADMSG;
}


static int reply_ok(struct reg_ctx *rc)
{
	struct user *u = user_find(rc->s, rc->aor);
	struct mbuf *mb = mbuf_alloc(512);
	int64_t now = sender_now_s(rc->s);
	int err = 0;

	if (!mb)
		return ENOMEM;

	for (struct le *le = u ? u->terms.head : NULL; le; le = le->next) {
		const struct terminal *t = le->data;

		err |= mbuf_printf(mb, "Contact: <%s>;expires=%lld",
				   t->contact,
				   (long long)(t->expires_at - now));
		if (t->instance)
			err |= mbuf_printf(mb, ";+sip.instance=\"<%s>\"",
					   t->instance);
		if (rc->gruu && t->pub_gruu)
			err |= mbuf_printf(mb, ";pub-gruu=\"%s\"",
					   t->pub_gruu);
		err |= mbuf_write_str(mb, "\r\n");
	}

	if (!err && rc->outbound) {
		err = mbuf_write_str(mb, "Require: outbound\r\n");
		if (rc->s->conf.flow_timer)
			err |= mbuf_printf(mb, "Flow-Timer: %u\r\n",
					   rc->s->conf.flow_timer);
	}
	if (!err)
		err = sip_replyf(rc->s->sip, rc->msg, 200, "OK",
				 "%bSupported: gruu, path, outbound\r\n"
				 "Content-Length: 0\r\n\r\n",
				 mb->buf, mb->end);
	mem_deref(mb);
	return err;
}


static bool is_third_party(const struct sip_msg *msg)
{
	char from[256], to[256];

	if (mbuf_get_left(msg->mb))
		return true;

	/* the same AoR in both spellings (aor.h): DAVE is not dave */
	if (aor_print(from, sizeof(from), &msg->from.uri) ||
	    aor_print(to, sizeof(to), &msg->to.uri))
		return true;
	return strcmp(from, to) != 0;
}


/*
 * RFC 5626 §6: a REGISTER asking for outbound (Supported: outbound, every
 * Contact with +sip.instance and reg-id) whose first hop is us or an edge
 * proxy that supports it (its Path URI has ;ob) gets Require: outbound.
 * Straight from the terminal, the flow it came on becomes its route: our
 * requests go back to that source address, over the same connection for
 * TCP/TLS (libre reuses a connection to that peer), which is what
 * reaches a terminal behind a NAT. With no such flow (a TCP connection
 * gone after our restart), sending fails and the terminal's keep-alive
 * makes it register again on a new one.
 */
static void outbound(struct reg_ctx *rc, const struct contacts *cs)
{
	const struct sip_msg *msg = rc->msg;
	const struct sip_hdr *path;
	struct sip_addr edge;
	struct pl ob;

	if (!sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "outbound") &&
	    !sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "outbound"))
		return;
	if (cs->star || !cs->n)
		return;
	for (size_t i = 0; i < cs->n; i++)
		if (!pl_isset(&cs->v[i].instance) || !cs->v[i].has_reg_id)
			return;

	path = sip_msg_hdr(msg, SIP_HDR_PATH);
	if (path) {
		/* the edge proxy keeps the flow; it says so with ;ob */
		rc->outbound = !addr_decode(&edge, &path->val) &&
			!param_get(&edge.uri.params, "ob", &ob, NULL);
		return;
	}
	if (sip_msg_hdr_count(msg, SIP_HDR_VIA) != 1)
		return;   /* through a proxy that did not say it keeps flows */

	re_snprintf(rc->path, sizeof(rc->path), "<sip:%J%s;lr>",
		    &msg->src, sip_transp_param(msg->tp));
	rc->outbound = true;
}


static int third_party(struct reg_ctx *rc)
{
	struct sip_msg *req = NULL, *resp = NULL;
	struct contacts *creq = NULL, *cok = NULL, *core = NULL;
	int err;

	core = mem_zalloc(sizeof(*core), NULL);
	creq = mem_zalloc(sizeof(*creq), NULL);
	cok = mem_zalloc(sizeof(*cok), NULL);
	if (!core || !creq || !cok) {
		err = ENOMEM;
		goto out;
	}

	err = contacts_of(core, rc->msg);
	if (err)
		goto out;

	/* what the core charges this registration by, for the audit log */
	{
		const struct sip_hdr *pcv = sip_msg_xhdr(rc->msg,
							 "P-Charging-Vector");

		if (pcv && ims_printable(&pcv->val))
			(void)pl_strcpy(&pcv->val, rc->charging,
					sizeof(rc->charging));
	}

	/* the terminal is reached through the core that registered it */
	rc->path[0] = '\0';
	if (core->n)
		re_snprintf(rc->path, sizeof(rc->path), "<%r;lr>",
			    &core->v[0].uri);

	if (!mbuf_get_left(rc->msg->mb)) {
		/* no body: the Contact is the core's; an AoR-level record */
		err = apply_all(rc, core, NULL, true);
		goto out;
	}

	err = body_msgs(&req, &resp, rc->msg);
	if (err) {
		rc->scode = 400;
		rc->reason = "Bad message/sip body";
		goto out;
	}

	if (req) {
		err = aor_print(rc->aor, sizeof(rc->aor), &req->to.uri);
		err = err ? err : contacts_of(creq, req);
		rc->dflt_expires = msg_expires(req, rc->dflt_expires);
	}
	if (!err && resp)
		err = contacts_of(cok, resp);
	if (err) {
		rc->scode = 400;
		rc->reason = "Bad Contact in message/sip body";
		goto out;
	}

	err = apply_all(rc, creq, resp ? cok : NULL, false);

 out:
	/* the reg event of this AoR, through the same core (--reg-watch-auto) */
	if (!err && core && core->n) {
		char route[300];

		re_snprintf(route, sizeof(route), "%r;lr", &core->v[0].uri);
		regwatch_auto(rc->s, rc->aor, route);
	}
	mem_deref(req);
	mem_deref(resp);
	mem_deref(core);
	mem_deref(creq);
	mem_deref(cok);
	return err;
}


static void committed_h(int err, void *arg)
{
	struct reg_ctx *rc = arg;

	if (err)
		(void)sip_reply(rc->s->sip, rc->msg, 500, "Store failed");
	else
		(void)reply_ok(rc);
	mem_deref(rc);
}


static void reg_ctx_destructor(void *arg)
{
	struct reg_ctx *rc = arg;

	if (rc->held)
		mem_deref((void *)rc->msg);
}


bool registrar_request(struct sender *s, const struct sip_msg *msg)
{
	struct reg_ctx *rc;
	const struct pl *unsup = NULL;
	struct contacts *cs = NULL;
	int err;

	if (pl_strcmp(&msg->met, "REGISTER"))
		return false;

	if (sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, unsupported_h,
			      &unsup)) {
		(void)sip_replyf(s->sip, msg, 420, "Bad Extension",
				 "Unsupported: %r\r\nContent-Length: 0\r\n\r\n",
				 unsup);
		return true;
	}

	rc = mem_zalloc(sizeof(*rc), reg_ctx_destructor);
	if (!rc) {
		(void)sip_reply(s->sip, msg, 500, "Out of memory");
		return true;
	}

	rc->s = s;
	rc->msg = msg;
	rc->third_party = is_third_party(msg);
	rc->source = rc->third_party ? "third-party" : "register";
	rc->gruu = sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "gruu");
	rc->dflt_expires = msg_expires(msg, DEFAULT_EXPIRES);
	if (aor_print(rc->aor, sizeof(rc->aor), &msg->to.uri)) {
		sender_refuse(s, msg, 400, "Bad To URI");
		goto out;
	}

	if (!authorize(rc))
		goto out;

	if (rc->third_party) {
		err = third_party(rc);
	}
	else {
		cs = mem_zalloc(sizeof(*cs), NULL);
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_PATH, path_h, rc);
		err = cs ? contacts_of(cs, msg) : ENOMEM;
		if (err == EBADMSG || err == EOVERFLOW || rc->err) {
			rc->scode = 400;
			rc->reason = err == EOVERFLOW ? "Too many Contacts"
				: "Bad Contact or Path";
		}
		err = err ? err : rc->err;
		if (!err)
			outbound(rc, cs);
		err = err ? err : apply_all(rc, cs, NULL, false);
	}

	if (!err) {
		/* the 200 goes out once the bindings are on disk */
		rc->msg = mem_ref((void *)msg);
		rc->held = true;
		if (!store_sync(s->st, committed_h, mem_ref(rc)))
			goto out;
		mem_deref(rc);
		(void)sip_reply(s->sip, msg, 500, "Server Internal Error");
	}
	else if (rc->scode == 423)
		(void)sip_replyf(s->sip, msg, 423, rc->reason,
				 "Min-Expires: %u\r\nContent-Length: 0\r\n\r\n",
				 s->conf.min_expires);
	else if (rc->scode)
		sender_refuse(s, msg, rc->scode, rc->reason);
	else
		(void)sip_reply(s->sip, msg, 500, "Server Internal Error");

 out:
	mem_deref(cs);
	mem_deref(rc);
	return true;
}
