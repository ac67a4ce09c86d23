/**
 * @file lookup.c  A push looked up in the store: its PAP outcome, its owner,
 *                 its content by token (GET /v1/content/{token})
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <re.h>
#include "engine.h"
#include "clock.h"


struct outcome_acc {
	struct push_outcome *o;
	bool found;
};


static void oc_push_h(const struct push_rec *r, void *arg)
{
	struct outcome_acc *a = arg;

	a->found = true;
	str_ncpy(a->o->state, r->state, sizeof(a->o->state));
	a->o->event_ms = r->final_ms ? r->final_ms : r->created_ms;
}


static void oc_dlv_h(const struct dlv_rec *r, void *arg)
{
	struct outcome_acc *a = arg;

	a->o->pap_code = outcome_pap_fold(a->o->pap_code, r->pap_code);
	if (r->last_error && !a->o->desc[0])
		str_ncpy(a->o->desc, r->last_error, sizeof(a->o->desc));
}


/** A push's state and PAP code (for PAP status queries); ENOENT */
int sender_push_outcome(struct sender *s, const char *id,
			struct push_outcome *o)
{
	struct outcome_acc a = {o, false};
	enum push_state ps;
	struct pl st;
	int err;

	if (!s || !id || !o)
		return EINVAL;
	memset(o, 0, sizeof(*o));
	err = store_push_get(s->st, id, oc_push_h, oc_dlv_h, &a);
	if (err)
		return err;
	if (!a.found)
		return ENOENT;

	/* PAP codes by state when no delivery gave one (§5.2, §5.4) */
	pl_set_str(&st, o->state);
	if (push_state_decode(&ps, &st))
		ps = PS_UNDELIVERABLE;   /* unknown: 4000, as before */
	if (ps == PS_PENDING || !o->pap_code)
		o->pap_code = outcome_pap_of_state(ps);
	return 0;
}


static void owner_h(const struct push_rec *r, void *arg)
{
	char **owner = arg;

	(void)str_dup(owner, r->owner ? r->owner : "");
}


/**
 * Whose the push is: its named initiator's name, "" for the admin's.
 * ENOENT: unknown.
 */
int sender_push_owner(struct sender *s, const char *id, char *owner,
		      size_t sz)
{
	char *o = NULL;
	int err;

	if (!s || !id || !owner || !sz)
		return EINVAL;
	err = store_push_get(s->st, id, owner_h, NULL, &o);
	if (!err && !o)
		err = ENOMEM;
	if (!err)
		str_ncpy(owner, o, sz);
	mem_deref(o);
	return err;
}


struct content {
	struct mbuf *mb;
	char *ctype;
	char *id;
	char *path;
	int64_t expires_ms;
	bool has_body;
};


static void content_h(const struct push_rec *r, void *arg)
{
	struct content *c = arg;

	c->expires_ms = r->expires_ms;
	(void)str_dup(&c->id, r->id);
	if (!r->body)
		return;
	c->has_body = true;
	c->mb = mbuf_alloc(r->body_len ? r->body_len : 1);
	if (c->mb)
		(void)mbuf_write_mem(c->mb, r->body, r->body_len);
	(void)str_dup(&c->ctype, r->ctype);
}


/* A push whose content is a file: its first file is served */
static void first_file_h(const struct file_rec *f, void *arg)
{
	struct content *c = arg;

	if (f->idx || c->path)
		return;
	(void)str_dup(&c->path, f->path);
	(void)str_dup(&c->ctype, f->ctype);
}


/**
 * Content served for indirection: in memory (*mbp) or a file (*path);
 * ENOENT unknown, ETIMEDOUT expired.
 */
int sender_content(struct sender *s, const char *token, struct mbuf **mbp,
		   char **ctype, char **path, uint8_t sha1[20])
{
	struct content c = {0};
	int err;

	if (!s || !token || !mbp || !ctype || !path)
		return EINVAL;

	*mbp = NULL;
	*path = NULL;
	err = store_push_content(s->st, token, content_h, &c);
	if (!err && !c.has_body && c.id)
		err = store_files_of(s->st, c.id, first_file_h, &c);
	mem_deref(c.id);
	if (err)
		goto fail;

	if ((!c.has_body && !c.path) || !c.ctype) {
		err = c.has_body ? ENOMEM : ENOENT;
		goto fail;
	}

	if (sender_now_ms(s) > c.expires_ms +
	    (int64_t)s->conf.content_ttl * 1000) {
		err = ETIMEDOUT;
		goto fail;
	}

	if (sha1 && c.mb)
		SHA1(c.mb->buf, c.mb->end, sha1);
	*mbp = c.mb;
	*path = c.path;
	*ctype = c.ctype;
	return 0;

 fail:
	mem_deref(c.mb);
	mem_deref(c.ctype);
	mem_deref(c.path);
	return err;
}
