/**
 * @file src/sender/engine.h  Internals of the Push Sender Agent engine
 */
#include <stdio.h>
#include "core/aor.h"
#include "core/outcome.h"
#include "core/method.h"
#include "store/store.h"
#include "sender/sender.h"
#include "core/uaprofile.h"
#include "core/histo.h"
#include "core/evring.h"

struct user {
	struct le he;            /**< in sender.users, by AoR              */
	char *aor;
	struct list terms;       /**< struct terminal                      */
	struct list waiting;     /**< pushes with no delivery yet (offline) */
	struct list subs;        /**< struct sub                           */
	struct sender *s;
};

struct terminal {
	struct le le;            /**< in user.terms                        */
	struct user *u;
	char *tkey;
	char *instance;
	char *contact;
	char *pub_gruu;
	char *temp_gruu;
	char *apps;
	char *methods;
	char *path;
	char *source;
	int64_t expires_at;      /**< unix seconds                         */
	bool push;
	struct tmr tmr;          /**< expiry                               */
};

/** Capabilities of a terminal (ua-profile Event, UAProf document) */
struct caps {
	struct le he;            /**< in sender.caps, by aor + tkey        */
	struct sender *s;
	char *aor, *tkey;
	char *vendor, *model, *version, *dev_cap;
	char *push_accept;       /**< UAProf Push-Accept                   */
	char *push_appids;       /**< UAProf Push-Accept-AppID             */
	uint32_t push_msgsize;   /**< UAProf Push-MsgSize; 0: unknown      */
	int64_t updated_at;
	bool fetching;
};

struct target;

/** An oma-app subscription, sippushd being the notifier */
struct sub {
	struct le he;            /**< in sender.subs, by Call-ID           */
	struct le ule;           /**< in user.subs                         */
	struct sender *s;
	struct user *u;
	char *aor, *tkey, *app;
	char *call_id, *ltag, *rtag, *local, *remote, *target, *route;
	char *accept, *methods;
	uint32_t lseq, rseq;
	int64_t expires_at;      /**< unix seconds                         */
	struct tmr tmr;          /**< expiry                               */
	struct target *t;        /**< its content NOTIFY queue, if any     */
	struct sip_request *req; /**< state NOTIFY in flight               */
	bool state_due;          /**< a state NOTIFY must go next          */
	bool ending;             /**< its final NOTIFY is due or in flight */
	bool busy;               /**< a state NOTIFY is in flight          */
};

/** A file of a push, on disk */
struct pfile {
	char *path, *filename, *ctype, *disposition;
	uint64_t size;
	uint8_t sha1[20];
	bool has_sha1;
};

struct push {
	struct le he;            /**< in sender.pushes, by id              */
	struct le wle;           /**< in user.waiting while offline        */
	struct le tle;           /**< in sender.topics                     */
	struct sender *s;
	char id[17];
	uint64_t seq;
	char *aor, *app, *ctype, *url, *method, *target, *topic, *token;
	char *filename, *disposition;
	const char *initiator;   /**< "api" or "pap" (static)              */
	char *identity;          /**< From of its requests; NULL: ours     */
	char *owner;             /**< its named initiator; NULL: admin's   */
	char *waiting;           /**< why nothing was sent yet, or NULL    */
	bool asserted;           /**< PAI sent (a trusted initiator)       */
	struct mbuf *body;
	struct pfile *files;     /**< mem array of nfiles, or NULL         */
	size_t nfiles;
	int priority;
	uint32_t ttl;
	uint16_t pap_code;       /**< its deliveries' codes, folded as they
				      end (outcome_pap_fold)           */
	int64_t created_ms, expires_ms;
	struct list dlvs;        /**< struct delivery                      */
	struct tmr tmr;          /**< TTL                                  */
	struct tmr tmr_defer;    /**< deferred delivery                    */
	int64_t not_before_ms;   /**< 0: at once                           */
	enum push_relay relay;
	bool committed;
	bool final;
};

struct delivery {
	struct le le;            /**< in push.dlvs                         */
	struct le qle;           /**< in target.q                          */
	struct le ale;           /**< in sender.awaiting (REFER accepted)  */
	struct tmr tmr;          /**< how long a REFER's SUBSCRIBE may take */
	struct push *p;
	struct target *t;
	char *tkey, *terminal, *ruri, *route, *call_id, *last_error;
	enum delivery_state state;
	uint16_t scode, pap;
	uint32_t attempts, cseq;
	char *steps;             /**< methods tried, for the status        */
	char refer_ltag[17];     /**< our tag of the last REFER (random)   */
	char *refer_rtag;        /**< the terminal's, from its 2xx         */
	enum plan_kind kind;     /**< MESSAGE, NOTIFY or REFER             */
	bool indirect;
	bool cancelled;          /**< cancel asked while in flight          */
	bool awaiting_sub;       /**< REFER accepted: waits for SUBSCRIBE  */
	struct psess *ps;        /**< its INVITE session, while one runs   */
	bool relayed;            /**< 202: out of the queue, ends at the TTL */
};

/* What one attempt came to, reported once by its method (methods.c) */
struct attempt {
	enum outcome_event ev;
	uint16_t scode;
	const char *why;          /**< for the status; a 2xx's is dropped   */
	uint64_t retry_after_ms;  /**< the peer's Retry-After               */
	bool parked;              /**< accepted, waits out of the queue for
				       its next step (REFER: the SUBSCRIBE) */
};

typedef void (attempt_h)(struct target *t, struct delivery *d,
			 const struct attempt *a);

/* A push method: one row of methods.c */
struct dlv_method {
	const char *sip;          /**< its request, for reasons            */
	int  (*start)(struct target *t, struct delivery *d);
	bool (*cancel)(struct delivery *d);   /**< NULL: the answer decides */
	void (*ended)(struct target *t, const char *why);  /**< its dialog
							       is gone */
	bool fallback_on_error;   /**< cannot start: another method        */
};

/* The queue's way up to the planner (push.c sets it) */
struct planner {
	void (*final)(struct delivery *d);
	int  (*fallback)(struct delivery *d, const char *why);
	void (*parked)(struct delivery *d);
};

struct target {
	struct le he;            /**< in sender.targets, by key            */
	struct le ple;           /**< in sender.paced while waiting a token */
	struct sender *s;
	char *key;
	struct list q;           /**< struct delivery, in order            */
	struct delivery *busy;   /**< the one request outstanding          */
	struct sub *sub;         /**< NOTIFY queue of this subscription    */
	struct sip_request *req;
	attempt_h *reph;         /**< where its method reports (deliver.c) */
	struct tmr tmr;          /**< retry backoff                        */
	uint32_t nq;             /**< deliveries in q                      */
	struct tmr tmr_stall;    /**< its request unanswered for too long  */
	bool waiting;            /**< its head waits out a retry delay     */
	bool stalled;            /**< no answer for STALL_MS               */
	bool paced;
};

/* Listeners of final deliveries and pushes (observe.c) */
typedef void (dlv_final_h)(const struct delivery *d, void *arg);
typedef void (push_final_h)(const struct push *p, enum push_state ps,
			    void *arg);

struct observer {
	dlv_final_h *dlvh;
	push_final_h *pushh;
	void *arg;
};

struct sender {
	struct sender_conf conf;
	struct sip *sip;
	struct store *st;
	struct hash *users;
	struct hash *pushes;
	struct hash *targets;
	struct hash *topics;
	struct hash *subs;
	struct hash *caps;
	struct fetcher *fetcher; /**< UAProf documents                    */
	struct sipsess_sock *sess_sock;
	struct tls *msrp_tls;    /**< msrps client context (--msrps)      */
	struct fetcher *notifier;/**< PAP result notifications            */
	struct list notes;       /**< their queue (papnotify.c)           */
	FILE *audit;             /**< --audit-log, or NULL                */
	struct list uncommitted; /**< accepted this turn, not yet durable  */
	struct list paced;       /**< targets waiting for a pacing token   */
	struct list awaiting;    /**< deliveries whose REFER was accepted  */
	struct tmr tmr_pace;
	struct tmr tmr_purge;
	double tokens;
	uint64_t pace_last;
	uint64_t seq;
	bool sync_pending;
	struct list *loading;    /**< push_load() collects here          */
	struct sender_stats stats;
	/* for /metrics */
	uint64_t by_method_state[PLAN_KINDS][DS_STATES];
	uint64_t sip_codes[700];          /**< final responses we got     */
	uint64_t accepted_pap;
	struct histo latency;             /**< accepted -> final delivery  */
	struct evring *events;            /**< the live feed (events.c)    */
	char boot[17];                    /**< this run's id for the feed  */
	bool draining;                    /**< stopping: nothing new goes   */
	uint64_t refused_sec;             /**< refusals logged: this second */
	uint32_t refused_n, refused_quiet;
	struct tmr tmr_refused;           /**< says how many went unlogged  */
	struct list regwatches;           /**< reg event subscriptions     */
	struct noncecount *nonces;        /**< digest counts (replay)      */
	sender_event_h *evh;
	void *evarg;
	struct planner plan;              /**< push.c                      */
	struct observer obsv[8];          /**< observe.c                   */
	size_t obsn;
	sender_clock_h *clockh;           /**< wall clock (clock.c)        */
	void *clock_arg;
};

/* clock.c */
int64_t sender_now_ms(const struct sender *s);
int64_t sender_now_s(const struct sender *s);

const char *push_waiting(struct sender *s, const char *id);
void sender_refuse(struct sender *s, const struct sip_msg *msg,
		   uint16_t scode, const char *reason);
void sender_refusal_log(struct sender *s, const struct sip_msg *msg,
			uint16_t scode, const char *reason);

/* terminal.c */
struct user *user_find(struct sender *s, const char *aor);
int  user_get(struct user **up, struct sender *s, const char *aor);
int  term_upsert(struct sender *s, const struct term_rec *r, bool *became);
void term_remove(struct terminal *t);
bool term_room(const struct user *u);
struct terminal *term_find(struct user *u, const char *tkey);
void term_caps_of(struct term_caps *tc, const struct terminal *t);
int  term_load(struct sender *s);

/* trust.c */
bool sender_trusted(const struct sender *s, const struct sip_msg *msg);

/* registrar.c */
bool registrar_request(struct sender *s, const struct sip_msg *msg);

/* auth.c */
enum { NONCE_MAX_AGE = 300, NONCES_MAX = 65536 };
bool auth_digest(struct sender *s, const struct sip_msg *msg,
		 const char *aor, const struct pl *aor_user);

/* notifier.c */
bool notifier_request(struct sender *s, const struct sip_msg *msg);
struct sub *sub_find(const struct user *u, const char *tkey,
		     const char *app);
int  sub_load(struct sender *s);
void sub_kick(struct sub *sub);
void sub_gone(struct sub *sub, const char *why);
int  sub_notify_send(struct sub *sub, struct delivery *d,
		     sip_resp_h *resph, void *arg);

/* methods.c */
const struct dlv_method *dlv_method(enum plan_kind k);
void attempt_sip(struct attempt *a, char *why, size_t sz, struct sender *s,
		 int err, const struct sip_msg *msg);
void dlv_sip_resp_h(int err, const struct sip_msg *msg, void *arg);

/* message.c */
int  message_start(struct target *t, struct delivery *d);

/* caps.c */
struct caps *caps_find(const struct sender *s, const char *aor,
		       const char *tkey);
int  caps_update(struct sender *s, const char *aor, const char *tkey,
		 const struct uaprof_event *ev);
int  caps_load(struct sender *s);
int  caps_save(const struct sender *s, const struct caps *c);

/* uaprof.c */
void uaprof_fetch(struct sender *s, struct caps *c);

/* regwatch.c */
enum { REGWATCH_MAX = 4096 };
int  regwatch_start(struct sender *s, const char *uri, const char *route);
void regwatch_start_all(struct sender *s);
void regwatch_auto(struct sender *s, const char *aor, const char *route);
void regwatch_loaded(struct sender *s);
bool regwatch_notify(struct sender *s, const struct sip_msg *msg);
uint32_t regwatch_count(const struct sender *s);
uint32_t regwatch_stop_all(struct sender *s);

/* observe.c */
int  observer_add(struct sender *s, dlv_final_h *dlvh, push_final_h *pushh,
		  void *arg);
void observe_delivery(struct sender *s, const struct delivery *d);
void observe_push(struct sender *s, const struct push *p,
		  enum push_state ps);

/* metrics.c */
int  metrics_init(struct sender *s);

/* events.c */
int  events_init(struct sender *s);
void event_accepted(const struct push *p);
void event_attempt(const struct delivery *d, uint16_t scode,
		   const char *why, uint64_t retry_ms);
void event_terminal(struct sender *s, const char *aor,
		    const struct terminal *t, bool gone);

/* delivery.c */
const char *dlv_dest_ruri(const struct terminal *t, const char *aor);
int  dlv_new(struct delivery **dp, struct push *p, const struct terminal *t,
	     const struct plan *pl);
int  dlv_load(struct delivery **dp, struct push *p, const struct dlv_rec *r);
void dlv_step(struct delivery *d, const char *fmt, ...);
int  dlv_save(struct delivery *d);
int  dlv_content(const struct delivery *d, char **ctype, char **entity,
		 const uint8_t **body, size_t *body_len, bool *indirect);
void dlv_route_refresh(struct delivery *d);
int  dlv_first_hop(const struct delivery *d, struct uri *route);

/* push.c */
void push_user_ready(struct user *u);
const char *push_from(const struct push *p);
const char *push_pai(const struct push *p);
void push_delivery_final(struct delivery *d);
void push_sub_ready(struct sub *sub);
void push_init(struct sender *s);
int  dlv_fallback(struct delivery *d, const char *why);
int  push_load(struct sender *s);

/* refer.c */
int  refer_start(struct target *t, struct delivery *d);
bool refer_notify(struct sender *s, const struct sip_msg *msg);

/* audit.c */
int  audit_init(struct sender *s);
int  audit_reopen(struct sender *s);

/* papnotify.c */
int  papnotify_init(struct sender *s);
int  papnotify_load(struct sender *s);

/* session.c */
int  session_start(struct target *t, struct delivery *d);
bool session_cancel(struct delivery *d);

/* deliver.c */
int  deliver_enqueue(struct delivery *d);
void dlv_dequeue(struct delivery *d);
void deliver_kick(struct target *t);
void deliver_soon(struct target *t);
void deliver_cancel(struct delivery *d);
void deliver_ttl_end(struct delivery *d);
void deliver_finish(struct delivery *d, enum delivery_state ds,
		    uint16_t pap);
void deliver_terminal_moved(struct sender *s, const char *aor,
			    const char *tkey);
