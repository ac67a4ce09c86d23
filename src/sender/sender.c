/**
 * @file sender.c  The Push Sender Agent engine: setup, SIP entry, views
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/sha.h>
#include "../re_nojson.h"
#include "core/appid.h"
#include "core/digest.h"
#include "core/noncecount.h"
#include "fetch/fetch.h"
#include "core/param.h"
#include "core/reqcheck.h"
#include "engine.h"

#include <sippush/log.h>

#define MOD "sender"

enum { PURGE_INTERVAL_MS = 60 * 1000 };


static void destructor(void *arg)
{
	struct sender *s = arg;

	tmr_cancel(&s->tmr_pace);
	tmr_cancel(&s->tmr_purge);
	tmr_cancel(&s->tmr_refused);
	list_flush(&s->regwatches);
	hash_flush(s->targets);
	hash_flush(s->subs);
	hash_flush(s->pushes);
	hash_flush(s->users);
	mem_deref(s->targets);
	mem_deref(s->pushes);
	mem_deref(s->users);
	mem_deref(s->topics);
	hash_flush(s->caps);
	sipsess_close_all(s->sess_sock);
	mem_deref(s->sess_sock);
	mem_deref(s->msrp_tls);
	mem_deref(s->subs);
	mem_deref(s->caps);
	mem_deref(s->fetcher);
	list_flush(&s->notes);
	mem_deref(s->notifier);
	mem_deref(s->events);
	mem_deref(s->nonces);
	if (s->audit)
		(void)fclose(s->audit);
}


static void purge_tmr(void *arg)
{
	struct sender *s = arg;

	uint64_t every = PURGE_INTERVAL_MS;

	(void)sender_purge(s);

	/* a short retention is purged at its own pace, at most once a second */
	if (s->conf.retention_ms && (uint64_t)s->conf.retention_ms / 2 < every)
		every = (uint64_t)s->conf.retention_ms / 2;
	if (every < 1000)
		every = 1000;
	tmr_start(&s->tmr_purge, every, purge_tmr, s);
}


static const double latency_le[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				     0.5, 1, 5, 30, 300, 3600};


/* The file of a final push left behind by a crash */
static void unlink_h(const struct file_rec *f, void *arg)
{
	(void)arg;
	(void)unlink(f->path);
}


/* sippushd originates sessions; it takes none */
static void sess_conn_h(const struct sip_msg *msg, void *arg)
{
	struct sender *s = arg;

	(void)sip_treply(NULL, s->sip, msg, 488, "Not Acceptable Here");
}


int sender_alloc(struct sender **sp, struct sip *sip, struct store *st,
		 const struct sender_conf *conf)
{
	struct sender *s;
	int err;

	if (!sp || !sip || !st || !conf || !conf->identity || !conf->realm ||
	    !conf->secret)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;

	s->conf = *conf;
	s->sip = sip;
	histo_init(&s->latency, latency_le, ARRAY_SIZE(latency_le));
	s->st = st;
	s->pace_last = tmr_jiffies();
	s->tokens = conf->pace_burst;
	tmr_init(&s->tmr_pace);
	tmr_init(&s->tmr_purge);
	tmr_init(&s->tmr_refused);

	push_init(s);

	/* listeners of final deliveries and pushes, in this order */
	err  = metrics_init(s);
	err |= audit_init(s);
	err |= events_init(s);
	err |= papnotify_init(s);
	err |= hash_alloc(&s->users, 4096);
	err |= hash_alloc(&s->pushes, 65536);
	err |= hash_alloc(&s->targets, 4096);
	err |= hash_alloc(&s->topics, 1024);
	err |= hash_alloc(&s->subs, 4096);
	err |= hash_alloc(&s->caps, 4096);
	err |= noncecount_alloc(&s->nonces, NONCES_MAX, NONCE_MAX_AGE);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	err = term_load(s);
	if (err)
		goto out;

	{
		const struct fetch_limits lim = {
			.max_size = conf->uaprof_max ? conf->uaprof_max :
				256u << 10,
			.timeout_ms = 10000,
			.allow_private = conf->allow_private_fetch,
			.proxy = conf->fetch_proxy,
		};

		err = fetcher_alloc(&s->fetcher, &lim);
		if (err)
			goto out;

		/* PAP initiators are configured peers: their private
		 * addresses only with --notify-allow-private */
		const struct fetch_limits nlim = {
			.max_size = 65536, .timeout_ms = 10000,
			.allow_private = conf->notify_allow_private,
			.proxy = conf->fetch_proxy,
		};

		err = fetcher_alloc(&s->notifier, &nlim);
		if (err)
			goto out;
	}

	err = audit_reopen(s);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "%s: cannot open the audit log: %m",
		     conf->audit_path, err);
		goto out;
	}

	err = sipsess_listen(&s->sess_sock, sip, 64, sess_conn_h, s);
	if (!err && conf->msrps)
		err = tls_alloc(&s->msrp_tls, TLS_METHOD_SSLV23, NULL, NULL);
	if (err)
		goto out;

	err = caps_load(s);
	err = err ? err : sub_load(s);
	err = err ? err : push_load(s);
	err = err ? err : papnotify_load(s);
	if (!err)
		(void)store_files_final(st, unlink_h, NULL);
	if (err)
		goto out;

	regwatch_start_all(s);
	regwatch_loaded(s);

	tmr_start(&s->tmr_purge, 0, purge_tmr, s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;
	return err;
}


/**
 * Entry for every SIP request sippushd receives. Returns true when handled.
 */
/* An operator sees refused requests without a capture; a flood of them
 * costs at most REFUSALS_LOGGED lines a second, then one count */
enum { REFUSALS_LOGGED = 10 };


static void refused_tmr(void *arg)
{
	struct sender *s = arg;

	if (s->refused_quiet)
		plog(SIPPUSH_LOG_INFO, MOD, "%u more requests refused in that second "
		     "(not logged one by one)", s->refused_quiet);
	s->refused_quiet = 0;
}


void sender_refusal_log(struct sender *s, const struct sip_msg *msg,
			uint16_t scode, const char *reason)
{
	const uint64_t now = tmr_jiffies();

	if (now / 1000 != s->refused_sec) {
		refused_tmr(s);
		s->refused_sec = now / 1000;
		s->refused_n = 0;
	}
	if (++s->refused_n > REFUSALS_LOGGED) {
		if (!s->refused_quiet++)
			tmr_start(&s->tmr_refused, 1000 - now % 1000,
				  refused_tmr, s);
		return;
	}
	plog(SIPPUSH_LOG_INFO, MOD, "refused %r from %J (%s): %u %s", &msg->met,
	     &msg->src, sip_transp_name(msg->tp), scode, reason);
}


/** Refuse a request (4xx) and say so in the log */
void sender_refuse(struct sender *s, const struct sip_msg *msg,
		   uint16_t scode, const char *reason)
{
	sender_refusal_log(s, msg, scode, reason);
	(void)sip_reply(s->sip, msg, scode, reason);
}


/* What sippushd takes out of dialog (405 and 501 list it) */
#define ALLOW "Allow: REGISTER, SUBSCRIBE, NOTIFY, OPTIONS\r\n"


bool sender_sip_request(struct sender *s, const struct sip_msg *msg)
{
	struct reqcheck_ans ans;

	if (!s || !msg)
		return false;

	if (reqcheck_refuse(msg, ALLOW, &ans)) {
		sender_refusal_log(s, msg, ans.scode, ans.reason);
		(void)sip_replyf(s->sip, msg, ans.scode, ans.reason, "%H",
				 reqcheck_ans_print, &ans);
		return true;
	}

	if (registrar_request(s, msg))
		return true;

	if (regwatch_notify(s, msg))
		return true;

	if (notifier_request(s, msg))
		return true;

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_replyf(s->sip, msg, 200, "OK",
				 "Allow: REGISTER, SUBSCRIBE, NOTIFY, "
				 "OPTIONS\r\n"
				 "Allow-Events: ua-profile, refer\r\n"
				 "Accept: application/sdp\r\n"
				 "Supported: gruu, path\r\n"
				 "Content-Length: 0\r\n\r\n");
		return true;
	}

	/* in-dialog requests of sessions: libre's sipsess has them */
	if (!pl_strcmp(&msg->met, "ACK") || !pl_strcmp(&msg->met, "BYE") ||
	    !pl_strcmp(&msg->met, "INVITE"))
		return false;

	(void)sip_replyf(s->sip, msg, 405, "Method Not Allowed",
			 "%sContent-Length: 0\r\n\r\n", ALLOW);
	return true;
}


/** Digest credentials of an AoR; the username is the AoR's user part */
int sender_user_set(struct sender *s, const char *aor, const char *password)
{
	char ha1[DIGEST_HA1_HEX + 1], user[128], key[256];
	struct uri u;
	struct pl pl;
	int err;

	if (!s || !aor || !password)
		return EINVAL;

	pl_set_str(&pl, aor);
	if (uri_decode(&u, &pl) || !pl_isset(&u.user) ||
	    aor_print(key, sizeof(key), &u))
		return EINVAL;

	(void)pl_strcpy(&u.user, user, sizeof(user));
	err = digest_ha1_hex(ha1, user, s->conf.realm, password);
	if (err)
		return err;

	/* stored under the spelling REGISTER and pushes look up */
	return store_user_set(s->st, key, s->conf.realm, ha1);
}


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
	free(txt);
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

		if (!apps_seen(apps, t->apps))
			continue;

		json_array_append_new(arr, json_pack(
			"{s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:I,s:s,s:o,s:o}",
			"contact", jstr(t->contact),
			"instance", jstr(t->instance),
			"gruu", jstr(t->pub_gruu),
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
	why = push_waiting(s, id);
	if (why)
		json_object_set_new(st.push, "waiting", json_string(why));
	return json_out(pf, st.push);
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


void sender_stats(const struct sender *s, struct sender_stats *stats)
{
	if (s && stats)
		*stats = s->stats;
}


int sender_purge(struct sender *s)
{
	uint32_t n = 0;
	int err;

	if (!s || !s->conf.retention_ms)
		return 0;

	err = store_purge(s->st, sender_now_ms(s) - s->conf.retention_ms, &n);
	if (!err && n)
		plog(SIPPUSH_LOG_INFO, MOD, "purged %u final pushes", n);
	return err;
}


/**
 * SIGTERM: send nothing new (queued deliveries stay in the store for the
 * next start); what is in flight still gets its answer, reg watches
 * are unsubscribed. Returns the number of requests in flight and of
 * unsubscribes unanswered: stop when it reaches 0.
 */
uint32_t sender_drain(struct sender *s)
{
	if (!s)
		return 0;
	s->draining = true;
	return s->stats.inflight + regwatch_stop_all(s);
}


/**
 * SIGHUP: take what can change while running from a new configuration
 * (its arrays and strings must outlive the next reload): trust, queue
 * and TTL bounds, retries, pacing, expiry bounds, retention, method
 * preferences, the audit log's path. Addresses, identity, the store and
 * the fetch limits need a restart.
 */
int sender_reload(struct sender *s, const struct sender_conf *nc)
{
	struct sender_conf *c;

	if (!s || !nc)
		return EINVAL;

	c = &s->conf;
	c->trust = nc->trust;
	c->ntrust = nc->ntrust;
	c->trust_udp = nc->trust_udp;
	c->trust_cert = nc->trust_cert;
	c->max_queue = nc->max_queue;
	c->max_backlog = nc->max_backlog;
	c->max_terms = nc->max_terms;
	c->max_subs = nc->max_subs;
	c->default_ttl = nc->default_ttl;
	c->max_ttl = nc->max_ttl;
	c->retry_base_ms = nc->retry_base_ms;
	c->retry_max_ms = nc->retry_max_ms;
	c->pace_rate = nc->pace_rate;
	c->pace_burst = nc->pace_burst;
	c->min_expires = nc->min_expires;
	c->flow_timer = nc->flow_timer;
	c->max_expires = nc->max_expires;
	c->min_sub_expires = nc->min_sub_expires;
	c->max_sub_expires = nc->max_sub_expires;
	c->content_ttl = nc->content_ttl;
	c->retention_ms = nc->retention_ms;
	c->relay_is_delivered = nc->relay_is_delivered;
	c->prefv = nc->prefv;
	c->prefn = nc->prefn;
	c->audit_path = nc->audit_path;

	/* a new path opens the new file; the same path reopens (rotation) */
	if (!c->audit_path && s->audit) {
		(void)fclose(s->audit);
		s->audit = NULL;
	}
	return audit_reopen(s);
}


/** SIGHUP: files that rotate are opened again */
int sender_reopen_logs(struct sender *s)
{
	return audit_reopen(s);
}
