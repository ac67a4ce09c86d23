/**
 * @file views.c  The engine's JSON views: a user's terminals (from memory),
 *                a push with its deliveries and the recent pushes (from the
 *                store), as GET /v1/users/{aor}/terminals, /v1/pushes/{id}
 *                and /v1/pushes show them
 */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include "../re_nojson.h"
#include "core/appid.h"
#include "core/param.h"
#include "sender/engine.h"
#include "sender/caps.h"
#include "sender/clock.h"
#include "sender/push.h"
#include "sender/subscription.h"
#include "sender/terminal.h"
#include "api/views.h"
#include "api/jsonmem.h"


static json_t *jstr(const char *v)
{
	return v ? json_string(v) : json_null();
}


/* "mms.ua,syncml.dm" (as stored) to a JSON array */
static json_t *jlist(const char *v)
{
	json_t *a = json_array();
	struct pl rest, item;

	if (!v)
		return a;
	pl_set_str(&rest, v);
	while (!list_next(&rest, ',', &item)) {
		pl_trim_lws(&item);
		if (item.l)
			json_array_append_new(a, json_stringn(item.p, item.l));
	}
	return a;
}


static int json_out(struct re_printf *pf, json_t *j)
{
	char *txt;
	int err;

	if (!j)
		return ENOMEM;
	txt = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!txt)
		return ENOMEM;
	err = re_hprintf(pf, "%s", txt);
	jsonmem_free(txt);
	return err;
}


/* Whether a reader limited to the applications in filter (NULL: none
 * limited) sees something of the applications in apps */
static bool apps_seen(const char *filter, const char *apps)
{
	struct pl f, a;

	if (!filter)
		return true;
	if (!apps)
		return false;
	pl_set_str(&f, filter);
	pl_set_str(&a, apps);
	return appid_lists_meet(&f, &a);
}


static json_t *subs_json(const struct terminal *t, int64_t now,
			 const char *filter)
{
	json_t *arr = json_array();

	for (struct le *le = t->u->subs.head; le; le = le->next) {
		const struct sub *sub = le->data;

		if (str_cmp(sub->tkey, t->tkey) ||
		    !apps_seen(filter, sub->app))
			continue;
		json_array_append_new(arr, json_pack(
			"{s:s,s:s,s:s,s:o,s:o,s:I}",
			"app", sub->app, "event", "ua-profile;oma-app",
			"call_id", sub->call_id, "accept", jlist(sub->accept),
			"methods", jlist(sub->methods),
			"expires", (json_int_t)(sub->expires_at - now)));
	}
	return arr;
}


static json_t *caps_json(const struct caps *c)
{
	if (!c)
		return json_null();

	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:I}",
			 "vendor", jstr(c->vendor), "model", jstr(c->model),
			 "version", jstr(c->version),
			 "dev_cap", jstr(c->dev_cap),
			 "push_accept", jlist(c->push_accept),
			 "push_appids", jlist(c->push_appids),
			 "push_msgsize", (json_int_t)c->push_msgsize);
}


/**
 * The user's terminals as JSON; apps (a comma list, NULL: no limit)
 * limits them to those registered for one of these applications.
 */
int sender_terminals_print(struct re_printf *pf, struct sender *s,
			   const char *aor, const char *apps)
{
	int64_t now = sender_now_s(s);
	json_t *arr;
	struct user *u;
	char key[256];

	if (!s || !aor || aor_canon(key, sizeof(key), aor))
		return EINVAL;
	aor = key;
	u = user_find(s, aor);
	arr = json_array();

	for (struct le *le = u ? u->terms.head : NULL; le; le = le->next) {
		const struct terminal *t = le->data;
		const char *gsrc = NULL, *gruu;

		if (!apps_seen(apps, t->apps))
			continue;

		gruu = term_gruu(t, &gsrc);
		json_array_append_new(arr, json_pack(
			"{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:I,s:s,s:o,s:o}",
			"contact", jstr(t->contact),
			"instance", jstr(t->instance),
			"gruu", jstr(gruu),
			"gruu_source", jstr(gsrc),
			"temp_gruu", jstr(t->temp_gruu),
			"apps", jlist(t->apps),
			"methods", jlist(t->methods),
			"push", t->push,
			"path", jstr(t->path),
			"expires", (json_int_t)(t->expires_at - now),
			"source", t->source,
			"capabilities", caps_json(caps_find(s, aor, t->tkey)),
			"subscriptions", subs_json(t, now, apps)));
	}

	return json_out(pf, json_pack("{s:s,s:o}", "aor", aor, "terminals",
				      arr));
}


struct status {
	json_t *push;
	json_t *dlvs;
};


static void status_push_h(const struct push_rec *r, void *arg)
{
	struct status *st = arg;

	st->dlvs = json_array();
	st->push = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:i,s:I,s:I,"
			     "s:o}",
			     "id", r->id, "state", r->state, "to", r->aor,
			     "app", r->app, "method", r->method,
			     "terminals", r->target ? json_string(r->target)
			     : json_string("all"),
			     "topic", jstr(r->topic),
			     "ttl", (json_int_t)r->ttl,
			     "priority", r->priority,
			     "created_ms", (json_int_t)r->created_ms,
			     "expires_ms", (json_int_t)r->expires_ms,
			     "final_ms", r->final_ms ?
			     json_integer(r->final_ms) : json_null());
}


static void status_dlv_h(const struct dlv_rec *r, void *arg)
{
	struct status *st = arg;

	json_array_append_new(st->dlvs, json_pack(
		"{s:o,s:s,s:i,s:s,s:i,s:I,s:o,s:b,s:s,s:o}",
		"terminal", jstr(r->terminal), "method", r->method,
		"sip_status", r->sip_status, "state", r->state,
		"pap_code", r->pap_code, "attempts", (json_int_t)r->attempts,
		"last_error", jstr(r->last_error), "indirect", r->indirect,
		"call_id", r->call_id, "steps", jstr(r->steps)));
}


struct recent {
	struct status st;
	json_t *list;
};


/* The push before is complete: into the list with its deliveries */
static void recent_flush(struct recent *r)
{
	if (!r->st.push)
		return;
	json_object_set_new(r->st.push, "deliveries", r->st.dlvs);
	json_array_append_new(r->list, r->st.push);
	r->st.push = NULL;
	r->st.dlvs = NULL;
}


static void recent_push_h(const struct push_rec *p, void *arg)
{
	struct recent *r = arg;

	recent_flush(r);
	status_push_h(p, &r->st);
}


static void recent_dlv_h(const struct dlv_rec *d, void *arg)
{
	struct recent *r = arg;

	status_dlv_h(d, &r->st);
}


/** The newest pushes with their deliveries, as a JSON array */
int sender_recent_print(struct re_printf *pf, struct sender *s,
			const char *limit, const char *owner)
{
	struct recent r = {{NULL, NULL}, json_array()};
	uint32_t n = 20;
	struct pl pl;
	int err;

	if (!s)
		return EINVAL;
	if (limit) {
		pl_set_str(&pl, limit);
		if (pl_u32_strict(&pl, &n) || !n || n > 200) {
			json_decref(r.list);
			return EINVAL;
		}
	}

	err = store_push_recent(s->st, n, owner, recent_push_h, recent_dlv_h,
				&r);
	recent_flush(&r);
	if (err) {
		json_decref(r.list);
		return err;
	}
	return json_out(pf, json_pack("{s:o}", "pushes", r.list));
}


/** The push's status as JSON, from the store (ENOENT when unknown) */
int sender_push_print(struct re_printf *pf, struct sender *s, const char *id)
{
	struct status st = {NULL, NULL};
	char buf[512];
	const char *why;
	int err;

	if (!s || !id)
		return EINVAL;

	err = store_push_get(s->st, id, status_push_h, status_dlv_h, &st);
	if (err || !st.push) {
		json_decref(st.push);
		json_decref(st.dlvs);
		return err ? err : ENOENT;
	}

	json_object_set_new(st.push, "deliveries", st.dlvs);
	why = push_waiting(s, id, buf, sizeof(buf));
	if (why)
		json_object_set_new(st.push, "waiting", json_string(why));
	return json_out(pf, st.push);
}
