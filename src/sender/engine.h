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

struct delivery;
struct target;

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
	char *pub_gruu;          /**< the GRUU its registrar gave (the core,
				      or sippushd as registrar), or NULL */
	char *gruu_built;        /**< AoR;gr=instance (RFC 5627 §5.1)      */
	char *temp_gruu;
	char *apps;
	char *methods;
	char *path;
	char *source;
	char *charging;          /**< the core's P-Charging-Vector, or NULL */
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
	uint32_t lseq_saved;     /**< the lseq last written to the store    */
	int64_t expires_at;      /**< unix seconds                         */
	struct tmr tmr;          /**< expiry                               */
	struct target *t;        /**< its content NOTIFY queue, if any     */
	struct sip_request *req; /**< state NOTIFY in flight               */
	bool state_due;          /**< a state NOTIFY must go next          */
	bool ending;             /**< its final NOTIFY is due or in flight */
	bool busy;               /**< a state NOTIFY is in flight          */
	bool mark;               /**< a cluster's re-read: still stored    */
	bool fresh;              /**< and made at another node since       */
};

/** A file of a push, on disk */
struct pfile {
	char *path, *filename, *ctype, *disposition;
	uint64_t size;
	uint8_t sha1[20];
	bool has_sha1;
};

/*
 * A push, with its strings and its content in the same allocation
 * (push_alloc()): a pending push costs one malloc, not twenty. Fields
 * are ordered largest first so none pads; what only some pushes need
 * (a deferral's timer) is allocated when one does.
 */
struct push {
	struct le he;            /**< in sender.pushes, by id              */
	struct le wle;           /**< in user.waiting while offline, or a
				      cluster's walk over a shard         */
	struct le tle;           /**< in sender.topics                     */
	struct sender *s;
	uint64_t seq;
	char *aor, *app, *ctype, *url, *method, *target, *topic, *token;
	char *filename, *disposition;
	const char *initiator;   /**< "api" or "pap" (static)              */
	char *identity;          /**< From of its requests; NULL: ours     */
	char *owner;             /**< its named initiator; NULL: admin's   */
	char *privacy;           /**< Privacy of its requests, or NULL     */
	uint8_t *body;           /**< its content (NULL: none), body_len   */
	size_t body_len;
	struct pfile *files;     /**< mem array of nfiles, or NULL         */
	size_t nfiles;
	int64_t created_ms, expires_ms;
	int64_t not_before_ms;   /**< 0: at once                           */
	struct list dlvs;        /**< struct delivery                      */
	struct tmr tmr;          /**< TTL                                  */
	struct tmr *defer;       /**< deferred delivery, or NULL           */
	int priority;
	uint32_t ttl;
	uint32_t wait_n;         /**< terminals, for wait (push_waiting())  */
	enum push_relay relay;
	uint16_t pap_code;       /**< its deliveries' codes, folded as they
				      end (outcome_pap_fold)           */
	uint8_t wait;            /**< why nothing was sent yet (push.c)    */
	uint8_t wait_why;        /**< the plan's reason, for wait          */
	char id[17];
	bool asserted;           /**< PAI sent (a trusted initiator)       */
	bool committed;
	bool final;
	bool orphan;             /**< its shard went to another node: what
				      is in flight ends, nothing is said */
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
	void (*ended)(struct target *t, const struct attempt *a,
		      const char *why);   /**< after a fallback: its dialog
					       may be gone */
	bool fallback_on_error;   /**< cannot start: another method        */
};

/*
 * The ways up. Dependencies in the engine run one way (setup and SIP entry
 * -> registries and pushes -> queue -> methods -> delivery); where a lower
 * part must tell an upper one, it calls one of these, which the upper part
 * sets at setup (deliver_init(), push_init()).
 */
struct hooks {
	/* the queue's (deliver.c) */
	void (*target_kick)(struct target *t);
	void (*target_soon)(struct target *t);
	void (*terminal_moved)(struct sender *s, const char *aor,
			       const char *tkey);
	/* the planner's (push.c) */
	void (*final)(struct delivery *d);
	int  (*fallback)(struct delivery *d, const char *why);
	int  (*retarget)(struct delivery *d, const char *why);
	void (*parked)(struct delivery *d);
	/* a cluster's (push.c): shards taken or lost, another node's news */
	int  (*shards_taken)(struct sender *s, const bool *mask);
	void (*shard_lost)(struct sender *s, uint32_t shard);
	bool (*shard_busy)(struct sender *s, uint32_t shard);
	int  (*push_news)(struct sender *s, const char *id);
	int  (*push_whole)(struct sender *s, const char *txt);
	int  (*push_cancel)(struct sender *s, const char *id);
	int  (*user_news)(struct sender *s, const char *aor);
	void (*event_in)(struct sender *s, const char *scope,
			 const char *line);
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

/* A queue counts in the backlog unless it waits out a retry delay or its
 * request has had no answer for a while (deliver.c) */
static inline bool target_counted(const struct target *t)
{
	return !t->waiting && !t->stalled;
}

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
	struct msrp_listener *msrp_lsn; /**< terminals that connect (RFC
					     6135); NULL with --msrps     */
	struct fetcher *notifier;/**< PAP result notifications            */
	struct list notes;       /**< their queue (papnotify.c)           */
	FILE *audit;             /**< --audit-log, or NULL                */
	struct accepted *accepted; /**< this store turn's pushes, waiting for
				    its commit (push.c)              */
	uint64_t accepted_turn;  /**< that turn (store_turn())           */
	struct list paced;       /**< targets waiting for a pacing token   */
	struct list awaiting;    /**< deliveries whose REFER was accepted  */
	struct tmr tmr_pace;
	struct tmr tmr_purge;
	double tokens;
	uint64_t pace_last;
	uint64_t seq;
	uint64_t route_gen;      /**< + 1 when a terminal went or its Path
				      changed: deliveries look again       */
	struct list *loading;    /**< push_load() collects here          */
	const bool *load_mask;   /**< and only these shards' (a cluster)  */
	bool load_announced;     /**< a push another node sent whole      */
	bool load_news;          /**< a push from another node's news     */
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
	struct hooks up;                  /**< the ways up (struct hooks)  */
	struct observer obsv[8];          /**< observe.c                   */
	size_t obsn;
	struct cluster *cl;               /**< --cluster; NULL: alone      */
	sender_clock_h *clockh;           /**< wall clock (clock.c)        */
	void *clock_arg;
};
