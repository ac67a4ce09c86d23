/**
 * @file api.c  sippushd's HTTP API: routes, auth, group-committed 202s
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <string.h>
#include <jansson.h>
#include <microhttpd.h>
#include "../re_nojson.h"
#include <re_md5.h>
#include <sippush/log.h>
#include "sender/sender.h"
#include "sender/clock.h"
#include "api/views.h"
#include "store/store.h"
#include "api/pushjson.h"
#include "api/api.h"
#include "api/jsonmem.h"
#include "upload.h"
#include "papapi.h"
#include "statuspage.h"
#include "core/initiator.h"
#include "core/appid.h"
#include "core/httpguard.h"
#include "core/promlabel.h"
#include "core/jsonw.h"
#include <time.h>

#define MOD "api"

/* a string literal and its length, for reply() */
#define LIT(s) (s), (sizeof(s) - 1)

struct api {
	struct api_conf conf;
	struct MHD_Daemon *mhd;
	struct sender *s;
	struct store *st;
	struct tmr tmr;
	struct tmr tmr_intake;    /**< the turn's end; or, delivery behind,
				       the next intake                    */
	bool intake_pause;        /**< tmr_intake runs BEHIND_MS          */
	int epfd;
	int kickfd;               /**< eventfd: run MHD in the next turn  */
	bool kicked;
	char *token;
	size_t max_body;
	size_t body_bytes;        /**< request bodies held, all connections */
	struct list waiters;      /**< GET /v1/events waiting for news    */
	struct list deferred;     /**< writes over this turn's intake     */
	uint32_t intake;          /**< writes taken this loop turn        */
	bool draining;            /**< stopping: no new pushes            */
	struct initiator initv[INITIATOR_MAX];   /**< ours: reloads in place */
};

/* All request bodies held at once, whatever the number of connections */
enum { MAX_BODY_BYTES = 256u << 20 };

/* While delivery is behind, new writes are taken (refused) this often */
enum { BEHIND_MS = 10 };

/* libmicrohttpd's pool per connection: request headers, read buffer */
enum { HTTP_CONN_MEMORY = 16384 };

/* One request in progress */
struct req {
	struct api *api;
	struct MHD_Connection *conn;
	struct mbuf *body;
	bool too_big;
	bool overload;
	bool suspended;
	unsigned status;          /**< set when the answer is ready      */
	unsigned ok;              /**< its status once committed (202)   */
	const char *answer_type;  /**< NULL: application/json            */
	char *answer;
	char *ids;
	struct upload *up;        /**< a multipart (file) push            */
	bool discard;             /**< public: a body is read, never kept */
	struct initiator *in;     /**< who sent it (NULL: the default)     */
	bool admin;               /**< --api-token or an admin initiator  */
	uint64_t deadline;        /**< GET /v1/events: wait until (jiffies) */
	/* GET /v1/events: a long poll */
	struct le wle;            /**< in api.waiters while suspended     */
	struct le dle;            /**< in api.deferred while suspended    */
	struct tmr wtmr;          /**< its wait= deadline                 */
	uint64_t after;
	bool waited;
};


static void run(struct api *api);
static void mhd_tmr_h(void *arg);
static void intake_tmr_h(void *arg);


/*
 * Run MHD once in the next loop turn. A resumed connection is served only
 * by MHD_run, and MHD wakes nothing by itself in external epoll mode; the
 * callers (a commit, the event feed) run inside other callbacks, where
 * MHD must not run.
 */
static void kick(struct api *api)
{
	const uint64_t one = 1;

	if (api->kicked || api->kickfd < 0)
		return;
	if (write(api->kickfd, &one, sizeof(one)) == sizeof(one))
		api->kicked = true;
}


static void kick_h(int flags, void *arg)
{
	struct api *api = arg;
	uint64_t n;
	(void)flags;

	if (read(api->kickfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		plog(SIPPUSH_LOG_WARN, MOD, "eventfd: %m", errno);
	api->kicked = false;
	run(api);
}


static void req_destructor(void *arg)
{
	struct req *r = arg;

	if (r->body)
		r->api->body_bytes -= r->body->end;
	list_unlink(&r->wle);
	list_unlink(&r->dle);
	tmr_cancel(&r->wtmr);
	mem_deref(r->body);
	mem_deref(r->answer);
	mem_deref(r->ids);
	mem_deref(r->up);
}


static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *ctype, const void *body, size_t len,
			     const char *hname, const char *hval)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, (void *)body,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	(void)MHD_add_response_header(resp, "Content-Type", ctype);
	if (hname)
		(void)MHD_add_response_header(resp, hname, hval);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}


static enum MHD_Result reply_json(struct MHD_Connection *conn,
				  unsigned status, const char *txt)
{
	return reply(conn, status, "application/json", txt, strlen(txt),
		     NULL, NULL);
}


static enum MHD_Result reply_error(struct MHD_Connection *conn,
				   unsigned status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg);
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(j);
	if (!txt)
		return MHD_NO;
	ret = reply_json(conn, status, txt);
	jsonmem_free(txt);
	return ret;
}


/*
 * Who may use the API: --api-token (Bearer), or a named initiator (Bearer
 * or Basic); nobody configured: everyone. The token and initiators marked
 * admin are the admin. Constant-time comparisons.
 */
static bool authorized(const struct api *api, struct MHD_Connection *conn,
		       struct initiator **inp, bool *adminp)
{
	const char *h;
	size_t n, m;
	uint8_t diff = 0;

	*inp = NULL;
	*adminp = true;
	if (!api->token && !api->conf.initn)
		return true;

	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					"Authorization");
	if (!h)
		return false;

	*inp = initiator_auth(api->conf.initv, api->conf.initn, h);
	if (*inp) {
		*adminp = (*inp)->admin;
		return true;
	}

	if (!api->token || strncmp(h, "Bearer ", 7))
		return false;
	h += 7;
	n = strlen(h);
	m = strlen(api->token);
	for (size_t i = 0; i < m; i++)
		diff |= (uint8_t)(api->token[i] ^ (i < n ? h[i] : 0));
	return !diff && n == m;
}


static uint64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* The initiator's rules on n pushes for app: NULL when allowed */
static const char *initiator_refuses(struct initiator *in, const char *app,
				     uint32_t n, unsigned *status)
{
	if (!in)
		return NULL;
	if (!initiator_app_ok(in, app)) {
		*status = 403;
		return "app: not allowed for this initiator";
	}
	if (!initiator_take(in, now_ms(), n)) {
		*status = 429;
		return "rate: over this initiator's pushes per second";
	}
	return NULL;
}


/* Its pushes carry its identity (asserted only when it is trusted) and
 * are its own */
static void as_initiator(struct push_req *r, const struct initiator *in)
{
	if (!in)
		return;
	r->identity = in->identity[0] ? in->identity : NULL;
	r->unasserted = !in->trusted;
	r->owner = in->name;
}


/* The applications an initiator is limited to; NULL: none limited */
static const char *apps_of(const struct req *r)
{
	return r->admin || !r->in || !r->in->apps[0] ? NULL : r->in->apps;
}


/* The push is the requester's to read or cancel; false: answered */
static bool mine(struct api *api, struct req *r, const char *id,
		 enum MHD_Result *ret)
{
	char owner[sizeof(r->in->name)];
	int err;

	if (r->admin)
		return true;
	err = sender_push_owner(api->s, id, owner, sizeof(owner));
	if (err == ENOENT)
		*ret = reply_error(r->conn, 404, "no such push");
	else if (err)
		*ret = reply_error(r->conn, 500, "cannot read the store");
	else if (!r->in || strcmp(owner, r->in->name))
		*ret = reply_error(r->conn, 403, "not this initiator's push");
	else
		return true;
	return false;
}


/* GET /v1/events: what this requester may see (sender_event_scope_h) */
static bool scope_h(const char *scope, void *arg)
{
	const struct req *r = arg;
	struct pl a, b;

	if (r->admin)
		return true;
	if (!scope || !r->in)
		return false;
	if (!strncmp(scope, "p:", 2))
		return !strcmp(scope + 2, r->in->name);
	if (strncmp(scope, "t:", 2))
		return false;
	if (!apps_of(r))
		return true;
	pl_set_str(&a, scope + 2);
	pl_set_str(&b, r->in->apps);
	return appid_lists_meet(&a, &b);
}


static int print_mb(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


/* A JSON view of the sender: key names what, scope limits it */
typedef int (view_h)(struct re_printf *pf, struct sender *s,
		     const char *key, const char *scope);


static int push_view(struct re_printf *pf, struct sender *s,
		     const char *id, const char *unused)
{
	(void)unused;
	return sender_push_print(pf, s, id);
}


/* A view as a string, for an answer that waits for a commit */
static int view_str(char **strp, struct api *api, view_h *vh,
		    const char *key)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct re_printf pf = {print_mb, mb};
	int err;

	if (!mb)
		return ENOMEM;
	err = vh(&pf, api->s, key, NULL);
	if (!err)
		err = re_sdprintf(strp, "%b", mb->buf, mb->end);
	mem_deref(mb);
	return err;
}


static enum MHD_Result reply_view(struct api *api,
				  struct MHD_Connection *conn, view_h *vh,
				  const char *key, const char *scope)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct re_printf pf = {print_mb, mb};
	enum MHD_Result ret;
	int err;

	if (!mb)
		return MHD_NO;

	err = vh(&pf, api->s, key, scope);
	if (err == ENOENT)
		ret = reply_error(conn, 404, "no such push");
	else if (err)
		ret = reply_error(conn, 500, "cannot read the store");
	else
		ret = reply(conn, 200, "application/json", mb->buf, mb->end,
			    NULL, NULL);
	mem_deref(mb);
	return ret;
}


static void committed_h(int err, void *arg)
{
	struct req *r = arg;

	if (err) {
		r->status = 503;
		mem_deref(r->answer);
		(void)re_sdprintf(&r->answer, "{\"error\":\"store: commit "
				  "failed (%m)\"}", err);
	}
	else {
		r->status = r->ok ? r->ok : 202;
	}

	/* The answer goes out from the next MHD_run, in the next loop turn
	 * (MHD's own wake-up fd): never run MHD from the commit path, where
	 * it would take new requests into a transaction this commit has not
	 * seen and reach their handlers before their own commit. */
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
		kick(r->api);
	}
	mem_deref(r);
}


/* r->answer is ready: it goes out once the store's commit has it */
static enum MHD_Result wait_commit(struct api *api, struct req *r)
{
	if (store_sync(api->st, committed_h, mem_ref(r))) {
		mem_deref(r);
		return reply_error(r->conn, 503, "out of memory");
	}
	r->suspended = true;
	MHD_suspend_connection(r->conn);
	return MHD_YES;
}


/*
 * The 202 body is ready (txt, copied): it goes out from committed_h()
 * once the store's group commit has the pushes on disk.
 */
static enum MHD_Result answer_after_commit(struct api *api, struct req *r,
					   const char *txt)
{
	if (!txt || str_dup(&r->answer, txt))
		return reply_error(r->conn, 503, "out of memory");

	return wait_commit(api, r);
}


/* answer_after_commit() of a json_t (consumed) */
static enum MHD_Result answer_json_after_commit(struct api *api,
						struct req *r, json_t *ans)
{
	char *txt = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	enum MHD_Result ret;

	json_decref(ans);
	ret = answer_after_commit(api, r, txt);
	jsonmem_free(txt);
	return ret;
}


/* answer_after_commit() of {"id":ID,"ttl":TTL[,"files":N]} (files < 0:
 * none), written straight: the one answer of every single push */
static enum MHD_Result answer_id_after_commit(struct api *api,
					      struct req *r, const char *id,
					      int64_t ttl, int64_t files)
{
	char txt[128];
	struct jsonw w;

	jsonw_begin(&w, txt, sizeof(txt));
	jsonw_str(&w, "id", id);
	jsonw_int(&w, "ttl", ttl);
	if (files >= 0)
		jsonw_int(&w, "files", files);
	return answer_after_commit(api, r, jsonw_end(&w) ? NULL : txt);
}


/* 503 + Retry-After when the sender takes no more pushes now */
static bool refuse_busy(struct api *api, struct req *r, uint32_t n,
			enum MHD_Result *ret)
{
	uint32_t retry_s = 1;
	const char *why = sender_refuses(api->s, n, &retry_s);
	char body[96], ra[12];

	if (!why)
		return false;
	re_snprintf(body, sizeof(body), "{\"error\":\"%s\"}", why);
	re_snprintf(ra, sizeof(ra), "%u", retry_s);
	*ret = reply(r->conn, 503, "application/json", body, strlen(body),
		     "Retry-After", ra);
	return true;
}


/* Idempotency-Key: 1 to 255 visible characters; NULL when absent */
static const char *idem_key(struct req *r, bool *bad)
{
	const char *k = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    "Idempotency-Key");
	size_t n = k ? strlen(k) : 0;

	*bad = k && (!n || n > 255);
	for (size_t i = 0; i < n && !*bad; i++)
		*bad = k[i] < 0x21 || k[i] > 0x7e;
	return k;
}


static void idem_h(const struct idem_rec *k, void *arg)
{
	struct req *r = arg;

	r->ok = k->status;
	(void)str_dup(&r->answer, k->answer);
}


/* The pushes a kept answer names ("id", or "ids" of a batch): a commit
 * whose answer was lost (503) may have held them, unknown to the
 * sender; they go to work now */
static void idem_adopt(struct api *api, const char *answer)
{
	json_t *doc = json_loads(answer, 0, NULL);
	json_t *ids = json_object_get(doc, "ids");
	const char *id = json_string_value(json_object_get(doc, "id"));

	if (id)
		(void)sender_push_adopt(api->s, id);
	for (size_t i = 0; i < json_array_size(ids); i++)
		(void)sender_push_adopt(api->s, json_string_value(
						json_array_get(ids, i)));
	json_decref(doc);
}


/* A bad Idempotency-Key (400), a repeat (the first answer, once what it
 * answered for is committed), or the key's look-up failing (503): true,
 * with the answer in *ret; false: the request goes on */
static bool idem_repeat(struct api *api, struct req *r, const char *ikey,
			const char *iown, bool bad, enum MHD_Result *ret)
{
	int err;

	if (bad) {
		*ret = reply_error(r->conn, 400, "Idempotency-Key: 1 to 255 "
				   "visible characters");
		return true;
	}
	if (!ikey)
		return false;

	err = store_idem_get(api->st, iown, ikey, idem_h, r);
	if (!err && r->answer) {
		idem_adopt(api, r->answer);
		*ret = wait_commit(api, r);
		return true;
	}
	if (err != ENOENT) {
		*ret = reply(r->conn, 503, "application/json",
			     LIT("{\"error\":\"store: cannot look up the "
				 "Idempotency-Key\"}"), "Retry-After", "1");
		return true;
	}
	return false;
}


/* The answer kept for the key, in the transaction of the pushes */
static int idem_keep(struct api *api, const char *owner, const char *key,
		     const json_t *ans)
{
	char *txt = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
	const struct idem_rec k = {
		.owner = owner, .key = key, .status = 202, .answer = txt,
		.created_ms = sender_now_ms(api->s),
	};
	int err = txt ? store_idem_put(api->st, &k) : ENOMEM;

	jsonmem_free(txt);
	return err;
}


/* The answer (its reference taken) once committed, kept first under the
 * Idempotency-Key if there is one; the key not kept: the turn abandoned
 * (the pushes go with it), 503 */
static enum MHD_Result answer_kept(struct api *api, struct req *r,
				   const char *iown, const char *ikey,
				   json_t *ans)
{
	if (ikey && idem_keep(api, iown, ikey, ans)) {
		(void)store_abandon(api->st);
		json_decref(ans);
		return reply(r->conn, 503, "application/json",
			     LIT("{\"error\":\"store: cannot accept now\"}"),
			     "Retry-After", "1");
	}
	return answer_json_after_commit(api, r, ans);
}


static enum MHD_Result post_pushes(struct api *api, struct req *r)
{
	const struct pushjson_limits lim = {
		.max_body = api->conf.max_push_size,
		.max_ttl = api->conf.max_ttl,
		.max_batch = api->conf.max_batch,
	};
	struct pushjson *pjv = NULL;
	struct push_req *prv = NULL;
	json_t *doc, *ids = NULL;
	json_error_t jerr;
	size_t n, i;
	char why[192], id[32];
	bool batch, bad;
	const char *ikey = idem_key(r, &bad);
	const char *iown = r->in ? r->in->name : "";
	json_t *ans;
	int err = 0;
	enum MHD_Result ret;

	/* a request repeated with its key: the first answer, nothing new
	 * stored; it leaves once what it answered for is committed */
	if (idem_repeat(api, r, ikey, iown, bad, &ret))
		return ret;

	doc = json_loadb((const char *)r->body->buf, r->body->end,
			 JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		re_snprintf(why, sizeof(why), "body: invalid JSON (%s, line "
			    "%d)", jerr.text, jerr.line);
		return reply_error(r->conn, 400, why);
	}

	batch = json_is_array(doc);
	n = batch ? json_array_size(doc) : 1;
	if (batch && (n == 0 || n > api->conf.max_batch)) {
		re_snprintf(why, sizeof(why), "body: a batch holds 1..%zu "
			    "pushes", api->conf.max_batch);
		ret = reply_error(r->conn, 400, why);
		goto out;
	}

	if (refuse_busy(api, r, (uint32_t)n, &ret))
		goto out;

	pjv = mem_zalloc(n * sizeof(*pjv), NULL);
	prv = mem_zalloc(n * sizeof(*prv), NULL);
	if (!pjv || !prv) {
		ret = reply_error(r->conn, 503, "out of memory");
		goto out;
	}

	/* validate all first: a batch is accepted whole or not at all */
	for (i = 0; i < n; i++) {
		char one[160];

		err = pushjson_decode(&prv[i], &pjv[i], batch ?
				      json_array_get(doc, i) : doc, &lim,
				      one, sizeof(one));
		if (err) {
			if (batch)
				re_snprintf(why, sizeof(why), "[%zu].%s", i,
					    one);
			else
				str_ncpy(why, one, sizeof(why));
			ret = reply_error(r->conn, err == EINVAL ? 400 : 503,
					  err == EINVAL ? why :
					  "out of memory");
			goto out;
		}
	}

	for (i = 0; i < n; i++) {
		unsigned st = 0;
		const char *no = initiator_refuses(r->in, prv[i].app,
						   i ? 0 : (uint32_t)n, &st);

		if (no) {
			ret = st == 429 ? reply(r->conn, 429, "application/json",
				LIT("{\"error\":\"rate: over this initiator's "
				    "pushes per second\"}"), "Retry-After", "1")
				: reply_error(r->conn, st, no);
			goto out;
		}
		as_initiator(&prv[i], r->in);
	}

	ids = batch || ikey ? json_array() : NULL;
	for (i = 0; i < n; i++) {
		err = sender_push_accept(api->s, &prv[i], id, sizeof(id));
		if (err)
			break;
		if (ids)
			json_array_append_new(ids, json_string(id));
	}

	if (err) {
		/* what was written is in the open transaction: abandoned,
		 * so that a batch failing half-way commits nothing */
		plog(SIPPUSH_LOG_WARN, MOD, "accept failed: %m", err);
		(void)store_abandon(api->st);
		ret = reply(r->conn, 503, "application/json",
			    LIT("{\"error\":\"store: cannot accept now\"}"),
			    "Retry-After", "1");
		goto out;
	}

	if (!batch && !ikey) {
		/* the common case, written straight */
		ret = answer_id_after_commit(api, r, id, (int64_t)prv[0].ttl,
					     -1);
		goto out;
	}
	ans = batch ? json_pack("{s:O}", "ids", ids) :
		json_pack("{s:O,s:I}", "id", json_array_get(ids, 0), "ttl",
			  (json_int_t)prv[0].ttl);
	ret = answer_kept(api, r, ikey ? iown : NULL, ikey, ans);

 out:
	for (i = 0; pjv && i < n; i++)
		mem_deref(pjv[i].body);
	mem_deref(pjv);
	mem_deref(prv);
	json_decref(ids);
	json_decref(doc);
	return ret;
}


/* Per-file dispositions: "dispositions": ["render", "attachment"] */
static int dispositions(struct push_file *fv, size_t n, json_t *doc,
			const char **why)
{
	json_t *a = json_object_get(doc, "dispositions");

	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) != n) {
		*why = "dispositions: one per file part";
		return EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *v = json_string_value(json_array_get(a, i));

		if (!v || (strcmp(v, "render") && strcmp(v, "attachment"))) {
			*why = "dispositions: render or attachment";
			return EINVAL;
		}
		fv[i].disposition = v;
	}
	json_object_del(doc, "dispositions");
	return 0;
}


/*
 * A push whose content came as file parts, already on disk: validate the
 * JSON part, accept it (the files become the sender's), 202 after the
 * commit like any push.
 */
static enum MHD_Result post_multipart(struct api *api, struct req *r)
{
	struct push_file fv[PUSH_FILES_MAX];
	struct pushjson pj;
	struct push_req pr;
	struct pushjson_limits lim = {
		.max_body = api->conf.max_push_size,
		.max_ttl = api->conf.max_ttl, .max_batch = 1,
	};
	const char *json, *why = NULL;
	size_t n = 0, jlen = 0;
	json_t *doc = NULL, *ans;
	json_error_t jerr;
	char msg[192], id[32];
	unsigned st;
	bool bad;
	const char *ikey = idem_key(r, &bad);
	const char *iown = r->in ? r->in->name : "";
	enum MHD_Result ret;
	int err;

	memset(&pj, 0, sizeof(pj));
	st = upload_end(r->up, fv, &n, &json, &jlen, &why);
	if (st)
		return reply_error(r->conn, st, why);

	/* as for JSON: a repeat gets the first answer, and its files, not
	 * kept, are removed with the upload */
	if (idem_repeat(api, r, ikey, iown, bad, &ret))
		return ret;

	doc = json_loadb(json, jlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		re_snprintf(msg, sizeof(msg), "push: invalid JSON object (%s)",
			    doc ? "not an object" : jerr.text);
		ret = reply_error(r->conn, 400, msg);
		goto out;
	}
	if (dispositions(fv, n, doc, &why)) {
		ret = reply_error(r->conn, 400, why);
		goto out;
	}

	lim.files = n;
	err = pushjson_decode(&pr, &pj, doc, &lim, msg, sizeof(msg));
	if (err) {
		ret = reply_error(r->conn, err == EINVAL ? 400 : 503,
				  err == EINVAL ? msg : "out of memory");
		goto out;
	}
	if (!pr.ctype)
		pr.ctype = fv[0].ctype;
	pr.filev = fv;
	pr.filen = n;

	if (refuse_busy(api, r, 1, &ret))
		goto out;

	{
		unsigned code = 0;
		const char *no = initiator_refuses(r->in, pr.app, 1, &code);

		if (no) {
			ret = reply_error(r->conn, code, no);
			goto out;
		}
		as_initiator(&pr, r->in);
	}

	err = sender_push_accept(api->s, &pr, id, sizeof(id));
	if (err) {
		(void)store_abandon(api->st);
		ret = reply(r->conn, 503, "application/json",
			    LIT("{\"error\":\"store: cannot accept now\"}"),
			    "Retry-After", "1");
		goto out;
	}
	upload_keep(r->up);   /* the sender owns the files now */

	if (!ikey) {
		ret = answer_id_after_commit(api, r, id, (int64_t)pr.ttl,
					     (int64_t)n);
		goto out;
	}
	ans = json_pack("{s:s,s:I,s:I}", "id", id, "ttl", (json_int_t)pr.ttl,
			"files", (json_int_t)n);
	ret = answer_kept(api, r, iown, ikey, ans);

 out:
	mem_deref(pj.body);
	json_decref(doc);
	return ret;
}


/* POST /pap: OMA PAP; answers are PAP documents (application/xml) */
static enum MHD_Result post_pap(struct api *api, struct req *r)
{
	const struct papapi pa = {api->s, api->st, &api->conf, r->in,
				  r->admin};
	const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						     "Content-Type");
	unsigned status = 202;
	char *xml = NULL;
	bool wait = false;
	enum MHD_Result ret;
	int err;

	err = papapi_request(&pa, ct, r->body->buf, r->body->end, &xml,
			     &status, &wait);
	if (err || !xml) {
		mem_deref(xml);
		return reply_error(r->conn, 503, "cannot answer the PAP "
				   "request now");
	}

	if (wait) {
		/* like a 202 to a push: only once it is on disk */
		r->answer = xml;
		r->answer_type = "application/xml";
		r->ok = status;
		return wait_commit(api, r);
	}

	ret = reply(r->conn, status, "application/xml", xml, strlen(xml),
		    NULL, NULL);
	mem_deref(xml);
	return ret;
}


/* GET /v1/pushes?limit=N (newest first; 20 by default, at most 200);
 * owner: only its pushes, NULL: all */
static int recent_view(struct re_printf *pf, struct sender *s,
		       const char *limit, const char *owner)
{
	return sender_recent_print(pf, s, limit, owner);
}


/* apps: only terminals of these applications, NULL: all */
static int terms_view(struct re_printf *pf, struct sender *s,
		      const char *aor, const char *apps)
{
	return sender_terminals_print(pf, s, aor, apps);
}


/* 200 with the push's view, once the cancellation is committed */
static enum MHD_Result delete_push(struct api *api, struct req *r,
				   const char *id)
{
	enum MHD_Result ret;
	int err;

	if (!mine(api, r, id, &ret))
		return ret;
	err = sender_push_cancel(api->s, id);

	if (err == ENOENT)
		return reply_error(r->conn, 404, "no such push");
	if (err == EALREADY)
		return reply_error(r->conn, 409, "push is already final");
	if (err && err != EINPROGRESS)
		return reply_error(r->conn, 500, "cannot cancel");

	/* EINPROGRESS: a cluster's node that does not own the user told the
	 * owner, which cancels (202, the push as it stands) */
	r->ok = err ? 202 : 200;
	err = view_str(&r->answer, api, push_view, id);
	if (err)
		return reply_error(r->conn, 500, "cannot read the push");
	return wait_commit(api, r);
}


static enum MHD_Result put_credentials(struct api *api, struct req *r,
				       const char *aor_in)
{
	char aor[256];
	json_t *doc, *pw;
	int err;

	if (pushjson_aor(aor, sizeof(aor), aor_in))
		return reply_error(r->conn, 400, "aor: not a SIP URI with a "
				   "user");

	doc = json_loadb((const char *)r->body->buf, r->body->end, 0, NULL);
	pw = json_object_get(doc, "password");
	if (!json_is_string(pw) || json_string_length(pw) < 1 ||
	    json_string_length(pw) > 128) {
		json_decref(doc);
		return reply_error(r->conn, 400, "password: missing or not "
				   "1..128 characters");
	}

	err = sender_user_set(api->s, aor, json_string_value(pw));
	json_decref(doc);
	if (err)
		return reply_error(r->conn, 500, "cannot store credentials");

	/* acknowledged after the commit, like a push */
	return answer_json_after_commit(api, r, json_pack("{s:b}", "stored",
							   1));
}


/*
 * Content is the initiator's, served on the API's origin (where the status
 * page keeps its token): downloaded, never rendered or sniffed, and
 * sandboxed should a browser render it anyway.
 */
static enum MHD_Result queue_content(struct MHD_Connection *conn,
				     struct MHD_Response *resp,
				     const char *ctype)
{
	enum MHD_Result ret;

	(void)MHD_add_response_header(resp, "Content-Type", ctype);
	(void)MHD_add_response_header(resp, "Cache-Control", "no-store");
	(void)MHD_add_response_header(resp, "Content-Disposition",
				      "attachment");
	(void)MHD_add_response_header(resp, "X-Content-Type-Options",
				      "nosniff");
	(void)MHD_add_response_header(resp, "Content-Security-Policy",
				      "sandbox; default-src 'none'");
	ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}


/* A file streamed from disk by libmicrohttpd (never read whole) */
static enum MHD_Result reply_file(struct MHD_Connection *conn,
				  const char *ctype, const char *path)
{
	struct MHD_Response *resp;
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			(void)close(fd);
		return reply_error(conn, 410, "content no longer kept");
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		(void)close(fd);
		return MHD_NO;
	}
	return queue_content(conn, resp, ctype);
}


static enum MHD_Result reply_mem(struct MHD_Connection *conn,
				 const char *ctype, const struct mbuf *mb)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(mb->end, mb->buf,
					       MHD_RESPMEM_MUST_COPY);
	return resp ? queue_content(conn, resp, ctype) : MHD_NO;
}


static enum MHD_Result get_content(struct api *api,
				   struct MHD_Connection *conn,
				   const char *token)
{
	struct mbuf *mb = NULL;
	char *ctype = NULL, *path = NULL;
	enum MHD_Result ret;
	int err;

	err = sender_content(api->s, token, &mb, &ctype, &path, NULL);
	if (err == ENOENT)
		return reply_error(conn, 404, "no such content");
	if (err == ETIMEDOUT)
		return reply_error(conn, 410, "content expired");
	if (err)
		return reply_error(conn, 500, "cannot read the store");

	ret = path ? reply_file(conn, ctype, path) :
		reply_mem(conn, ctype, mb);
	mem_deref(mb);
	mem_deref(ctype);
	mem_deref(path);
	return ret;
}


static enum MHD_Result get_metrics(struct api *api,
				   struct MHD_Connection *conn)
{
	struct mbuf *mb = mbuf_alloc(4096);
	struct re_printf pf = {print_mb, mb};
	enum MHD_Result ret;

	struct mbuf *lb = NULL;

	if (!mb || sender_metrics_print(&pf, api->s))
		goto nomem;
	if (api->conf.node) {
		struct pl text;

		/* which node said it: one label on every sample */
		lb = mbuf_alloc(mb->end + mb->end / 2);
		pf.arg = lb;
		text.p = (const char *)mb->buf;
		text.l = mb->end;
		if (!lb || promlabel_print(&pf, &text, "node", api->conf.node))
			goto nomem;
		mem_deref(mb);
		mb = lb;
	}
	ret = reply(conn, 200, "text/plain; version=0.0.4", mb->buf, mb->end,
		    NULL, NULL);
	mem_deref(mb);
	return ret;

 nomem:
	mem_deref(lb);
	mem_deref(mb);
	return reply_error(conn, 503, "out of memory");
}


enum { EVENTS_PER_REPLY = 500, EVENT_WAIT_MAX = 30, WAITERS_MAX = 64 };


/* News or the deadline: the waiting GETs answer on the next MHD_run (never
 * run MHD from here: an event can fire inside one of its callbacks) */
static void wake(struct api *api, struct req *only)
{
	struct le *le = api->waiters.head;
	bool woke = false;

	while (le) {
		struct req *r = le->data;

		le = le->next;
		if (only && r != only)
			continue;
		list_unlink(&r->wle);
		tmr_cancel(&r->wtmr);
		MHD_resume_connection(r->conn);
		woke = true;
	}
	/* an event nobody waits for (most of them) runs nothing: no
	 * eventfd written and read for it */
	if (woke)
		kick(api);
}


static void events_h(void *arg)
{
	wake(arg, NULL);
}


static void wait_tmr_h(void *arg)
{
	struct req *r = arg;

	wake(r->api, r);
}


static bool digits(const char *v, size_t max)
{
	size_t n = strlen(v);

	return n && n <= max && strspn(v, "0123456789") == n;
}


/*
 * GET /v1/events?after=N&boot=B&wait=S: the events numbered above N
 * (default: from now on), at once when there are some, else after the
 * first one or S seconds (0..30). Numbers restart with the daemon: an N
 * from another run (B is not this one's "boot") reads from the start.
 */
static enum MHD_Result get_events(struct api *api, struct req *r)
{
	const char *a = MHD_lookup_connection_value(r->conn,
		MHD_GET_ARGUMENT_KIND, "after");
	const char *w = MHD_lookup_connection_value(r->conn,
		MHD_GET_ARGUMENT_KIND, "wait");
	const char *b = MHD_lookup_connection_value(r->conn,
		MHD_GET_ARGUMENT_KIND, "boot");
	struct mbuf *mb;
	struct re_printf pf;
	enum MHD_Result ret;
	unsigned long wait = 0;

	if (a && !digits(a, 19))
		return reply_error(r->conn, 400, "after: an event number");
	if (w && (!digits(w, 2) || (wait = strtoul(w, NULL, 10)) >
		  EVENT_WAIT_MAX))
		return reply_error(r->conn, 400, "wait: 0..30 seconds");

	if (!r->waited) {
		sender_events_watch(api->s);   /* a cluster: all nodes' */
		r->after = a ? strtoull(a, NULL, 10) :
			sender_events_head(api->s);
		r->deadline = tmr_jiffies() + wait * 1000;
	}
	if (!r->waited && b && strcmp(b, sender_events_boot(api->s)))
		r->after = 0;

	/* news for others only: this one waits on until its deadline */
	if (wait && !api->draining && tmr_jiffies() < r->deadline &&
	    !sender_events_any(api->s, r->after, scope_h, r)) {
		if (!r->waited && list_count(&api->waiters) >= WAITERS_MAX)
			return reply(r->conn, 503, "application/json",
				     LIT("{\"error\":\"too many watchers\"}"),
				     "Retry-After", "1");
		r->waited = true;
		list_append(&api->waiters, &r->wle, r);
		tmr_start(&r->wtmr, r->deadline - tmr_jiffies(), wait_tmr_h,
			  r);
		MHD_suspend_connection(r->conn);
		return MHD_YES;
	}

	mb = mbuf_alloc(4096);
	pf = (struct re_printf){print_mb, mb};
	if (!mb || sender_events_print(&pf, api->s, r->after,
				       EVENTS_PER_REPLY, NULL, scope_h, r)) {
		mem_deref(mb);
		return reply_error(r->conn, 503, "out of memory");
	}
	ret = reply(r->conn, 200, "application/json", mb->buf, mb->end,
		    "Cache-Control", "no-store");
	mem_deref(mb);
	return ret;
}


/* "/v1/users/{aor}/terminals" -> aor, or NULL */
static const char *path_arg(char *buf, size_t sz, const char *url,
			    const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = suffix ? strlen(suffix) : 0;
	size_t ul = strlen(url);

	if (strncmp(url, prefix, pl) || ul <= pl + sl)
		return NULL;
	if (sl && strcmp(url + ul - sl, suffix))
		return NULL;
	if (ul - pl - sl >= sz)
		return NULL;
	memcpy(buf, url + pl, ul - pl - sl);
	buf[ul - pl - sl] = '\0';
	if (!suffix && strchr(buf, '/'))
		return NULL;
	return buf;
}


static enum MHD_Result route(struct api *api, struct req *r,
			     const char *url, const char *method)
{
	struct MHD_Connection *conn = r->conn;
	char arg[300];
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	if (get && path_arg(arg, sizeof(arg), url, "/v1/content/", NULL))
		return get_content(api, conn, arg);

	/* the page itself is static; what it shows needs the token */
	if (get && (!strcmp(url, "/") || !strcmp(url, "/index.html")))
		return reply(conn, 200, "text/html; charset=utf-8",
			     statuspage_html, statuspage_len,
			     "Cache-Control", "no-store");

	if (api->draining && !strcmp(method, "POST"))
		return reply(conn, 503, "application/json",
			     LIT("{\"error\":\"shutting down\"}"),
			     "Retry-After", "5");

	if (!strcmp(url, "/v1/pushes")) {
		if (!strcmp(method, "POST") && r->up)
			return post_multipart(api, r);
		if (!strcmp(method, "POST"))
			return post_pushes(api, r);
		if (get) {
			const char *lim = MHD_lookup_connection_value(
				conn, MHD_GET_ARGUMENT_KIND, "limit");
			long n = lim ? strtol(lim, NULL, 10) : 20;

			if (n < 1 || n > 200 || (lim && strspn(lim,
				"0123456789") != strlen(lim)))
				return reply_error(conn, 400, "limit: 1..200");
			return reply_view(api, conn, recent_view, lim,
					  r->admin || !r->in ? NULL :
					  r->in->name);
		}
		return reply_error(conn, 405, "use POST");
	}

	if (!strcmp(url, "/pap")) {
		if (!strcmp(method, "POST"))
			return post_pap(api, r);
		return reply_error(conn, 405, "use POST");
	}

	if (path_arg(arg, sizeof(arg), url, "/v1/pushes/", NULL)) {
		enum MHD_Result ret;

		if (get && !mine(api, r, arg, &ret))
			return ret;
		if (get)
			return reply_view(api, conn, push_view, arg, NULL);
		if (!strcmp(method, "DELETE"))
			return delete_push(api, r, arg);
		return reply_error(conn, 405, "use GET or DELETE");
	}

	if (path_arg(arg, sizeof(arg), url, "/v1/users/", "/terminals")) {
		char aor[256];

		if (!get)
			return reply_error(conn, 405, "use GET");
		if (pushjson_aor(aor, sizeof(aor), arg))
			return reply_error(conn, 400, "aor: not a SIP URI "
					   "with a user");
		return reply_view(api, conn, terms_view, aor, apps_of(r));
	}

	if (path_arg(arg, sizeof(arg), url, "/v1/users/", "/credentials")) {
		if (strcmp(method, "PUT"))
			return reply_error(conn, 405, "use PUT");
		return put_credentials(api, r, arg);
	}

	if (get && !strcmp(url, "/metrics"))
		return get_metrics(api, conn);

	if (get && !strcmp(url, "/v1/events"))
		return get_events(api, r);

	return reply_error(conn, 404, "no such resource");
}


/* What needs no token: the static page and the content URLs (their
 * token is in the URL, for terminals) */
static bool public_url(const char *url, const char *method)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return false;
	return !strcmp(url, "/") || !strcmp(url, "/index.html") ||
		!strncmp(url, "/v1/content/", 12);
}


/* Administration: user credentials and the metrics of everyone */
static bool admin_only(const char *url, const char *method)
{
	const size_t n = strlen(url);

	if (!strcmp(url, "/metrics"))
		return true;
	return !strncmp(url, "/v1/users/", 10) && n > 22 &&
		!strcmp(url + n - 12, "/credentials") &&
		!strcmp(method, "PUT");
}


/*
 * The bodies it takes: none that an HTML form or a no-cors fetch can send
 * (text/plain, application/x-www-form-urlencoded), but for file pushes.
 */
static bool body_type_ok(const char *url, const char *method,
			 const char *ctype)
{
	static const char *const json[] = {"application/json"};
	static const char *const push[] = {"application/json",
					   "multipart/form-data"};
	static const char *const pap[] = {"application/xml", "text/xml",
					  "multipart/related"};

	if (!strcmp(method, "POST") && !strcmp(url, "/v1/pushes"))
		return httpguard_ctype_in(ctype, push, ARRAY_SIZE(push));
	if (!strcmp(method, "POST") && !strcmp(url, "/pap"))
		return httpguard_ctype_in(ctype, pap, ARRAY_SIZE(pap));
	if (admin_only(url, method) && strcmp(url, "/metrics"))
		return httpguard_ctype_in(ctype, json, ARRAY_SIZE(json));
	return true;
}


/*
 * A request's headers, before any of its body is read: whoever is not
 * authenticated is answered now (MHD then reads no body and closes), so
 * no body of theirs is ever buffered.
 */
static enum MHD_Result headers_h(struct api *api, struct req *r,
				 const char *url, const char *method,
				 const char *version)
{
	struct MHD_Connection *conn = r->conn;
	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       "Host");

	/* RFC 9112 §3.2: an HTTP/1.1 request without Host gets 400 */
	if (!strcmp(version, "HTTP/1.1") && !host)
		return reply_error(conn, 400, "Host: missing");

	if (public_url(url, method)) {
		r->discard = true;
		return MHD_YES;
	}

	/* no web page drives it through a browser: its own name (DNS
	 * rebinding), its origin (a cross-site request) */
	if (host && !httpguard_host_ok(host, api->conf.laddr,
				       api->conf.http_hosts,
				       api->conf.http_hostn))
		return reply_error(conn, 421, "Host: not this server's name "
				   "(see --http-host)");
	if (!httpguard_origin_ok(MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, "Origin"), host))
		return reply_error(conn, 403, "Origin: a cross-origin request");

	if (!authorized(api, conn, &r->in, &r->admin))
		return reply(conn, 401, "application/json",
			     LIT("{\"error\":\"Authorization: bearer token "
				 "(or Basic for PAP) missing or wrong\"}"),
			     "WWW-Authenticate", "Bearer");

	if (!r->admin && admin_only(url, method))
		return reply_error(conn, 403, "this needs the admin role "
				   "(--api-token or an admin initiator)");

	if (!body_type_ok(url, method, MHD_lookup_connection_value(
				  conn, MHD_HEADER_KIND, "Content-Type")))
		return reply_error(conn, 415, "Content-Type: not one this "
				   "resource takes");

	/* files stream to disk */
	if (!strcmp(method, "POST") && !strcmp(url, "/v1/pushes") &&
	    upload_begin(&r->up, conn, api->conf.spool,
			 api->conf.max_file_size))
		r->too_big = true;
	return MHD_YES;
}


static enum MHD_Result access_h(void *cls, struct MHD_Connection *conn,
				const char *url, const char *method,
				const char *version, const char *upload,
				size_t *upload_size, void **con_cls)
{
	struct api *api = cls;
	struct req *r = *con_cls;

	if (!r) {
		r = mem_zalloc(sizeof(*r), req_destructor);
		if (!r)
			return MHD_NO;
		r->api = api;
		r->conn = conn;
		r->body = mbuf_alloc(1024);
		if (!r->body) {
			mem_deref(r);
			return MHD_NO;
		}
		*con_cls = r;
		return headers_h(api, r, url, method, version);
	}

	if (*upload_size && (r->up || r->discard)) {
		if (r->up)
			upload_data(r->up, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}

	if (*upload_size) {
		if (r->body->end + *upload_size > api->max_body)
			r->too_big = true;
		else if (api->body_bytes + *upload_size > MAX_BODY_BYTES)
			r->overload = true;
		else if (!r->too_big && !r->overload &&
			 !mbuf_write_mem(r->body, (const uint8_t *)upload,
					 *upload_size))
			api->body_bytes += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}

	/* resumed after the commit: the answer is ready */
	if (r->status) {
		if (r->status < 300 && r->answer && r->answer_type)
			return reply(conn, r->status, r->answer_type,
				     r->answer, strlen(r->answer), NULL, NULL);
		if (r->status < 300 && r->answer)
			return reply_json(conn, r->status, r->answer);
		/* a failed commit (the database away): try again soon */
		if (r->status == 503)
			return reply(conn, 503, "application/json",
				     r->answer ? r->answer : "{}",
				     r->answer ? strlen(r->answer) : 2,
				     "Retry-After", "1");
		return reply_json(conn, r->status, r->answer ? r->answer :
				  "{\"error\":\"unavailable\"}");
	}

	if (r->overload)
		return reply(conn, 503, "application/json",
			     LIT("{\"error\":\"too many request bodies in "
				 "progress\"}"), "Retry-After", "1");

	if (r->too_big) {
		char why[96];
		re_snprintf(why, sizeof(why), "body: larger than %zu bytes",
			    api->max_body);
		return reply_error(conn, 413, why);
	}

	/* bounded intake per loop turn: the rest waits for the next turn
	 * (suspended, costing nothing), so one turn's commit stays small and
	 * SIP and delivery get their share of the loop */
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		if (api->intake >= api->conf.intake) {
			list_append(&api->deferred, &r->dle, r);
			MHD_suspend_connection(conn);
			return MHD_YES;
		}
		/* a 0 ms timer fires at the end of this loop turn, after
		 * every fd handler (MHD may run several times in a turn) */
		if (!api->intake++ && !tmr_isrunning(&api->tmr_intake))
			tmr_start(&api->tmr_intake, 0, intake_tmr_h, api);
	}

	return route(api, r, url, method);
}


static void completed_h(void *cls, struct MHD_Connection *conn,
			void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	*con_cls = mem_deref(*con_cls);
}


static void mhd_tmr_h(void *arg)
{
	run(arg);
}


static void resume_deferred(struct api *api)
{
	tmr_cancel(&api->tmr_intake);
	api->intake_pause = false;
	api->intake = 0;
	if (!api->deferred.head)
		return;
	while (api->deferred.head) {
		struct req *r = api->deferred.head->data;

		list_unlink(&r->dle);
		MHD_resume_connection(r->conn);
	}
	kick(api);
}


/*
 * The end of a loop turn that took writes: the next turn takes them
 * again. While delivery is behind, only after BEHIND_MS: the refusals
 * (503) come in small batches and the loop is delivery's in between;
 * the clients wait, costing nothing.
 */
static void intake_tmr_h(void *arg)
{
	struct api *api = arg;

	if (!api->intake_pause && sender_behind(api->s)) {
		api->intake_pause = true;
		tmr_start(&api->tmr_intake, BEHIND_MS, intake_tmr_h, api);
		return;
	}
	resume_deferred(api);
}


static void run(struct api *api)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	(void)MHD_run(api->mhd);
	if (MHD_get_timeout(api->mhd, &ms) == MHD_YES)
		tmr_start(&api->tmr, ms > 60000 ? 60000 : ms, mhd_tmr_h, api);
	else
		tmr_start(&api->tmr, 1000, mhd_tmr_h, api);
}


static void mhd_fd_h(int flags, void *arg)
{
	(void)flags;
	run(arg);
}


static void destructor(void *arg)
{
	struct api *api = arg;

	sender_set_event_h(api->s, NULL, NULL);
	wake(api, NULL);   /* resumed, so MHD can close them */
	resume_deferred(api);
	tmr_cancel(&api->tmr);
	tmr_cancel(&api->tmr_intake);
	if (api->epfd >= 0)
		fd_close(api->epfd);
	if (api->kickfd >= 0) {
		fd_close(api->kickfd);
		(void)close(api->kickfd);
	}
	if (api->mhd)
		MHD_stop_daemon(api->mhd);
	mem_deref(api->token);
}


static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	(void)cls;

	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	plog(SIPPUSH_LOG_DEBUG, "mhd", "%s", buf);
}


/**
 * SIGHUP: the token, the initiators (one kept by name keeps its rate
 * budget), the batch and TTL bounds and the PAP settings of a new
 * configuration. Addresses and size limits need a restart.
 */
int api_reload(struct api *api, const struct api_conf *conf)
{
	struct initiator nv[INITIATOR_MAX];
	char *tok = NULL;
	size_t n = 0;
	int err = 0;

	if (!api || !conf)
		return EINVAL;
	/* out of memory for the token, the old one stays, but everything
	 * else goes over: the caller frees the configuration the old
	 * pointers point into */
	if (conf->token && str_dup(&tok, conf->token))
		err = ENOMEM;

	for (size_t i = 0; i < conf->initn && n < INITIATOR_MAX; i++) {
		nv[n] = conf->initv[i];
		for (size_t j = 0; j < api->conf.initn; j++) {
			if (strcmp(api->initv[j].name, nv[n].name))
				continue;
			nv[n].tokens = api->initv[j].tokens;
			nv[n].last_ms = api->initv[j].last_ms;
		}
		++n;
	}
	memcpy(api->initv, nv, n * sizeof(nv[0]));
	api->conf.initn = n;

	if (!err) {
		mem_deref(api->token);
		api->token = tok;
	}
	api->conf.max_batch = conf->max_batch;
	api->conf.max_ttl = conf->max_ttl;
	api->conf.pap_app = conf->pap_app;
	api->conf.plmn_domain = conf->plmn_domain;
	api->conf.http_hosts = conf->http_hosts;
	api->conf.http_hostn = conf->http_hostn;
	return err;
}


/** SIGTERM: new pushes get 503; watchers get their answer now */
void api_drain(struct api *api)
{
	if (!api)
		return;
	api->draining = true;
	wake(api, NULL);
}


int api_alloc(struct api **ap, struct sender *s, struct store *st,
	      const struct api_conf *conf)
{
	const union MHD_DaemonInfo *info;
	struct api *api;
	int err = 0;

	if (!ap || !s || !st || !conf || !conf->laddr)
		return EINVAL;

	api = mem_zalloc(sizeof(*api), destructor);
	if (!api)
		return ENOMEM;

	api->conf = *conf;
	if (!api->conf.intake)
		api->conf.intake = 32;
	api->conf.initn = 0;
	api->conf.initv = api->initv;
	for (size_t i = 0; i < conf->initn && i < INITIATOR_MAX; i++)
		api->initv[api->conf.initn++] = conf->initv[i];
	api->s = s;
	api->st = st;
	api->epfd = -1;
	api->kickfd = -1;
	tmr_init(&api->tmr);
	tmr_init(&api->tmr_intake);
	/* base64 grows content by 4/3; 1 MiB for the other fields and
	 * for batches (a batch is for many small pushes) */
	api->max_body = conf->max_push_size / 3 * 4 + (1u << 20);
	if (conf->token)
		err = str_dup(&api->token, conf->token);
	if (err)
		goto out;

	/* HTTPS (libmicrohttpd's GnuTLS) when a certificate is given */
	struct MHD_OptionItem tlsopt[] = {
		{conf->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END,
		 0, (void *)conf->tls_key_pem},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)conf->tls_cert_pem},
		{MHD_OPTION_END, 0, NULL},
	};

	api->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME
				    | MHD_USE_ERROR_LOG |
				    (conf->tls_cert_pem ? MHD_USE_TLS : 0),
				    sa_port(conf->laddr), NULL, NULL,
				    access_h, api,
				    MHD_OPTION_SOCK_ADDR, &conf->laddr->u.sa,
				    MHD_OPTION_NOTIFY_COMPLETED, completed_h,
				    api,
				    MHD_OPTION_CONNECTION_LIMIT,
				    (unsigned)(conf->max_conns ?
					       conf->max_conns : 1024),
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				    (unsigned)conf->max_conns_peer,
				    MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned)(conf->timeout_s ? conf->timeout_s :
					       30),
				    /* libmicrohttpd clears a connection's whole
				     * pool after each request: 32 KiB by
				     * default, half of it is room enough for
				     * the headers and the read buffer */
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				    (size_t)HTTP_CONN_MEMORY,
				    MHD_OPTION_LISTEN_BACKLOG_SIZE,
				    (unsigned)1024,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
				    MHD_OPTION_ARRAY, tlsopt,
				    MHD_OPTION_END);
	if (!api->mhd) {
		err = EADDRINUSE;
		goto out;
	}

	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		err = ENOTSUP;
		goto out;
	}
	api->epfd = info->epoll_fd;

	err = fd_listen(api->epfd, FD_READ, mhd_fd_h, api);
	if (err)
		goto out;

	api->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (api->kickfd < 0) {
		err = errno;
		goto out;
	}
	err = fd_listen(api->kickfd, FD_READ, kick_h, api);
	if (err)
		goto out;

	sender_set_event_h(s, events_h, api);

	run(api);

 out:
	if (err)
		mem_deref(api);
	else
		*ap = api;
	return err;
}
