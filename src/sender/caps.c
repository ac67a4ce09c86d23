/**
 * @file caps.c  What terminals tell of themselves: the ua-profile Event
 *               parameters of their SUBSCRIBE (vendor, model, version,
 *               dev-cap) and the PushCharacteristics of their UAProf
 *               document, fetched from dev-cap in the background with the
 *               bounded fetcher (fetch.h); a failed fetch or a document
 *               that does not parse leaves the capabilities unknown
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "fetch/fetch.h"
#include "core/uaprofdoc.h"
#include "engine.h"
#include "caps.h"
#include "clock.h"

#include <sippush/log.h>

#define MOD "caps"


static void caps_destructor(void *arg)
{
	struct caps *c = arg;

	hash_unlink(&c->he);
	mem_deref(c->aor);
	mem_deref(c->tkey);
	mem_deref(c->vendor);
	mem_deref(c->model);
	mem_deref(c->version);
	mem_deref(c->dev_cap);
	mem_deref(c->push_accept);
	mem_deref(c->push_appids);
}


static uint32_t caps_hash(const char *aor, const char *tkey)
{
	return hash_joaat_str(aor) ^ hash_joaat_str(tkey);
}


struct key {
	const char *aor, *tkey;
};


static bool key_cmp(struct le *le, void *arg)
{
	const struct caps *c = le->data;
	const struct key *k = arg;

	return !str_cmp(c->aor, k->aor) && !str_cmp(c->tkey, k->tkey);
}


struct caps *caps_find(const struct sender *s, const char *aor,
		       const char *tkey)
{
	struct key k = {aor, tkey};
	struct le *le;

	if (!s || !aor || !tkey)
		return NULL;

	le = hash_lookup(s->caps, caps_hash(aor, tkey), key_cmp, &k);
	return le ? le->data : NULL;
}


static int caps_get(struct caps **cp, struct sender *s, const char *aor,
		    const char *tkey)
{
	struct caps *c = caps_find(s, aor, tkey);

	if (c) {
		*cp = c;
		return 0;
	}

	c = mem_zalloc(sizeof(*c), caps_destructor);
	if (!c)
		return ENOMEM;
	if (str_dup(&c->aor, aor) || str_dup(&c->tkey, tkey)) {
		mem_deref(c);
		return ENOMEM;
	}
	c->s = s;
	hash_append(s->caps, caps_hash(aor, tkey), &c->he, c);
	*cp = c;
	return 0;
}


static int set_pl(char **dst, const struct pl *v)
{
	*dst = mem_deref(*dst);
	return pl_isset(v) ? pl_strdup(dst, v) : 0;
}


int caps_save(const struct sender *s, const struct caps *c)
{
	const struct caps_rec r = {
		.aor = c->aor, .tkey = c->tkey, .vendor = c->vendor,
		.model = c->model, .version = c->version,
		.dev_cap = c->dev_cap, .push_accept = c->push_accept,
		.push_appids = c->push_appids,
		.push_msgsize = c->push_msgsize, .updated_at = c->updated_at,
	};

	return store_caps_put(s->st, &r);
}


static void fetched_h(int err, const char *why, struct mbuf *mb, void *arg)
{
	struct caps *c = arg;
	struct sender *s = c->s;
	struct uaprofdoc *doc = NULL;

	c->fetching = false;
	if (err) {
		plog(SIPPUSH_LOG_WARN, "uaprof", "%s %s: %s: %s", c->aor, c->tkey,
		     c->dev_cap, why);
		goto out;
	}

	doc = mem_zalloc(sizeof(*doc), NULL);
	if (!doc)
		goto out;

	err = uaprofdoc_parse(doc, (const char *)mb->buf, mb->end);
	if (err) {
		plog(SIPPUSH_LOG_WARN, "uaprof", "%s %s: %s: not a usable UAProf (%m)",
		     c->aor, c->tkey, c->dev_cap, err);
		goto out;
	}

	c->push_accept = mem_deref(c->push_accept);
	c->push_appids = mem_deref(c->push_appids);
	err  = doc->push_accept[0] ? str_dup(&c->push_accept,
					     doc->push_accept) : 0;
	err |= doc->push_appids[0] ? str_dup(&c->push_appids,
					     doc->push_appids) : 0;
	c->push_msgsize = doc->push_msgsize;
	if (!err)
		(void)caps_save(s, c);
	plog(SIPPUSH_LOG_INFO, "uaprof", "%s %s: Push-Accept %s, Push-Accept-AppID %s, "
	     "Push-MsgSize %u", c->aor, c->tkey,
	     c->push_accept ? c->push_accept : "-",
	     c->push_appids ? c->push_appids : "-", c->push_msgsize);

 out:
	mem_deref(doc);
	mem_deref(c);
}


/** Read c->dev_cap in the background; the result lands in c */
static void uaprof_fetch(struct sender *s, struct caps *c)
{
	int err;

	if (!s->fetcher || !c->dev_cap || c->fetching)
		return;

	c->fetching = true;
	err = fetch_start(s->fetcher, c->dev_cap, -1, NULL, fetched_h,
			  mem_ref(c));
	if (err) {
		c->fetching = false;
		mem_deref(c);
		plog(SIPPUSH_LOG_WARN, "uaprof", "%s %s: %s: not fetchable (%m)", c->aor,
		     c->tkey, c->dev_cap, err);
	}
}


/** A SUBSCRIBE told us this: keep it, and read its UAProf when new */
int caps_update(struct sender *s, const char *aor, const char *tkey,
		const struct uaprof_event *ev)
{
	struct caps *c;
	bool new_devcap;
	int err;

	err = caps_get(&c, s, aor, tkey);
	if (err)
		return err;

	new_devcap = pl_isset(&ev->dev_cap) &&
		(!c->dev_cap || pl_strcmp(&ev->dev_cap, c->dev_cap));

	err  = set_pl(&c->vendor, &ev->vendor);
	err |= set_pl(&c->model, &ev->model);
	err |= set_pl(&c->version, &ev->version);
	if (new_devcap || !pl_isset(&ev->dev_cap)) {
		err |= set_pl(&c->dev_cap, &ev->dev_cap);
		c->push_accept = mem_deref(c->push_accept);
		c->push_appids = mem_deref(c->push_appids);
		c->push_msgsize = 0;
	}
	if (err)
		return ENOMEM;
	c->updated_at = sender_now_s(s);

	if (new_devcap)
		uaprof_fetch(s, c);

	return caps_save(s, c);
}


static void load_h(const struct caps_rec *r, void *arg)
{
	struct sender *s = arg;
	struct caps *c;
	int err;

	if (caps_get(&c, s, r->aor, r->tkey))
		return;

	err  = r->vendor ? str_dup(&c->vendor, r->vendor) : 0;
	err |= r->model ? str_dup(&c->model, r->model) : 0;
	err |= r->version ? str_dup(&c->version, r->version) : 0;
	err |= r->dev_cap ? str_dup(&c->dev_cap, r->dev_cap) : 0;
	err |= r->push_accept ? str_dup(&c->push_accept, r->push_accept) : 0;
	err |= r->push_appids ? str_dup(&c->push_appids, r->push_appids) : 0;
	c->push_msgsize = r->push_msgsize;
	c->updated_at = r->updated_at;
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "%s %s: not loaded", r->aor, r->tkey);
}


int caps_load(struct sender *s)
{
	return store_caps_load(s->st, load_h, s);
}
