/**
 * @file uaprof.c  Fetch a terminal's UAProf document (the dev-cap URL of its
 *                 SUBSCRIBE) and keep its PushCharacteristics
 *
 * The same bounded fetcher as content indirection (fetch.h): http/https,
 * size and time caps, no private addresses unless allowed. A failed fetch
 * or a document that does not parse leaves the capabilities unknown.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "fetch/fetch.h"
#include "core/uaprofdoc.h"
#include "engine.h"

#include <sippush/log.h>

#define MOD "uaprof"


static void fetched_h(int err, const char *why, struct mbuf *mb, void *arg)
{
	struct caps *c = arg;
	struct sender *s = c->s;
	struct uaprofdoc *doc = NULL;

	c->fetching = false;
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s %s: %s: %s", c->aor, c->tkey,
		     c->dev_cap, why);
		goto out;
	}

	doc = mem_zalloc(sizeof(*doc), NULL);
	if (!doc)
		goto out;

	err = uaprofdoc_parse(doc, (const char *)mb->buf, mb->end);
	if (err) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s %s: %s: not a usable UAProf (%m)",
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
	plog(SIPPUSH_LOG_INFO, MOD, "%s %s: Push-Accept %s, Push-Accept-AppID %s, "
	     "Push-MsgSize %u", c->aor, c->tkey,
	     c->push_accept ? c->push_accept : "-",
	     c->push_appids ? c->push_appids : "-", c->push_msgsize);

 out:
	mem_deref(doc);
	mem_deref(c);
}


/** Read c->dev_cap in the background; the result lands in c */
void uaprof_fetch(struct sender *s, struct caps *c)
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
		plog(SIPPUSH_LOG_WARN, MOD, "%s %s: %s: not fetchable (%m)", c->aor,
		     c->tkey, c->dev_cap, err);
	}
}
