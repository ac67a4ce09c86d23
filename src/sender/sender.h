/**
 * @file sender.h  The Push Sender Agent engine (sippushd without its I/O setup)
 *
 * @facade: the engine's interface to the API and the daemon, implemented by
 * several files of src/sender (docs/design.md, "The sender engine").
 *
 * It owns the terminal registry (REGISTER as registrar and third-party
 * REGISTER from the SIP/IP core), the push queue and page-mode delivery.
 * Durability: sender_push_accept() writes the push into the store's open
 * transaction; it is acknowledged only from a store_sync() handler, and
 * delivery starts only after that commit.
 */

struct sender;
struct store;
struct appid_alias;
struct cidr;
struct sip;
struct sip_msg;

struct sender_conf {
	const char *identity;        /**< From and P-Asserted-Identity     */
	const char *outbound;        /**< first hop for every request      */
	const char *realm;           /**< digest realm                     */
	const char *secret;          /**< nonce secret                     */
	const struct cidr *trust;
	size_t ntrust;
	bool trust_udp;              /**< --trust peers over UDP too       */
	const char *trust_cert;      /**< only TLS peers whose certificate
					  names it; NULL: any transport */
	uint32_t max_queue;          /**< pending pushes kept at most      */
	uint32_t max_backlog;        /**< new pushes refused while more
					  deliveries than this wait to go
					  out (0: no bound)              */
	uint32_t default_ttl;        /**< seconds                          */
	uint32_t max_ttl;
	uint64_t retry_base_ms;
	uint64_t retry_max_ms;
	uint32_t pace_rate;          /**< requests/s toward the core; 0: off */
	uint32_t pace_burst;
	uint32_t min_expires;        /**< REGISTER expiry bounds           */
	uint32_t flow_timer;         /**< RFC 5626 Flow-Timer sent, 0: none */
	uint32_t max_expires;
	uint32_t content_ttl;        /**< seconds an indirect URL lives    */
	const char *content_base;    /**< "http://host:port"               */
	int64_t retention_ms;        /**< final pushes are purged after it */
	bool relay_is_delivered;     /**< 202 to MESSAGE = delivered       */
	bool gruu_given_only;        /**< through a core, only GRUUs it gave:
					  never build AoR;gr=instance    */
	const char *orig_ioi;        /**< P-Charging-Vector orig-ioi, or NULL */
	const char *contact_user;    /**< user part of our Contact ("push"),
					  or a whole URI (--contact-uri) */
	uint32_t min_sub_expires;    /**< SUBSCRIBE expiry bounds          */
	uint32_t max_sub_expires;
	const struct app_pref *prefv;/**< per-application method preference */
	size_t prefn;
	const struct appid_alias *icsiv; /**< ICSI -> ARI (--icsi)         */
	size_t icsin;
	const char *plain_apps;      /**< apps whose page-mode pushes also go
					  to terminals without the push
					  feature tag; NULL: none        */
	size_t uaprof_max;           /**< largest UAProf document read     */
	uint32_t session_expires;    /**< RFC 4028 interval asked (1800 s) */
	size_t msrp_chunk;           /**< MSRP chunk size sent (64 KiB)    */
	bool msrps;                  /**< offer MSRP over TLS only         */
	const struct sa *msrp_laddr; /**< where terminals connect (RFC 6135
					  a=setup:actpass); NULL: the SIP
					  address, any port              */
	const struct cidr *msrp_allowv; /**< MSRP peers allowed anywhere
					  in these; else only the SIP
					  peer's own public address     */
	size_t msrp_allown;
	bool notify_allow_private;   /**< PAP notifications to loopback/LAN */
	const char *audit_path;      /**< one JSON line per final delivery */
	bool allow_private_fetch;    /**< UAProf from loopback/private     */
	const char *fetch_proxy;     /**< HTTP fetches through it; NULL: none
					  (*_proxy variables ignored)    */
	uint32_t max_terms;          /**< terminals per user (16)          */
	uint32_t max_subs;           /**< subscriptions per terminal (8)   */
	uint32_t max_notes;          /**< PAP notifications waiting (1e5)  */
	const char *const *reg_watchv;   /**< --reg-watch AoRs (RFC 3680)  */
	size_t reg_watchn;
	bool reg_watch_auto;         /**< watch every third-party AoR too  */
	uint32_t reg_watch_expires;  /**< SUBSCRIBE Expires (3600)         */
	const char *cluster_store;   /**< --cluster: the shared store's URL
					  (NULL: this node is alone)     */
	const char *node;            /**< this node's name (--node)        */
	uint32_t lease_ms;           /**< a shard's lease time (4000)      */
};

/** Per-application preference: "app mms.ua method=notify" */
struct app_pref {
	const char *app;
	const char *method;          /**< "notify": subscription mode      */
};

/** A file of a push, already on disk (streamed there by the API) */
/** Does a relay's 202 deliver a push? (PAP delivery-method) */
enum push_relay {
	RELAY_DEFAULT = 0,           /**< --relay-is-delivered decides      */
	RELAY_DELIVERED,             /**< yes (PAP "unconfirmed")           */
	RELAY_PENDING,               /**< no: only the terminal's answer
					  (PAP "confirmed")              */
};

struct push_file {
	const char *path;            /**< the sender owns it once accepted */
	const char *filename;        /**< or NULL                          */
	const char *ctype;
	const char *disposition;     /**< or NULL (the push's)             */
	uint64_t size;
	uint8_t sha1[20];
};

enum { PUSH_FILES_MAX = 8 };

/** One push as the initiator gave it; strings belong to the caller */
struct push_req {
	const char *aor;
	bool aor_canonical;    /**< aor is aor_print()'s form already   */
	const char *app;
	const char *ctype;
	const uint8_t *body;
	size_t body_len;
	const char *url;
	const char *method;          /**< auto, message, notify, refer      */
	const char *target;          /**< NULL or "all": every terminal     */
	const char *topic;
	const char *filename;        /**< session mode: file-selector name */
	const char *disposition;     /**< "render" or "attachment"         */
	int priority;                /**< 0..9, higher first                */
	uint32_t ttl;                /**< 0: default                        */
	const char *identity;        /**< From of its requests (its
					  initiator's); NULL: --identity */
	bool unasserted;             /**< no P-Asserted-Identity (TS §7.1.2:
					  only for trusted initiators)   */
	const char *initiator;       /**< for the audit log: a static string
					  ("api", "pap"); NULL: "api"    */
	const char *owner;           /**< the named initiator it belongs to
					  (who may read and cancel it);
					  NULL: the admin's              */
	int64_t not_before;          /**< unix s: deliver from then (PAP
					  deliver-after); 0: at once     */
	enum push_relay relay;       /**< what a relay's 202 means         */
	const char *privacy;         /**< Privacy of its requests (RFC 3323,
					  e.g. "id"), or NULL            */
	const struct push_file *filev;   /**< content as files, or NULL    */
	size_t filen;
};

struct sender_stats {
	uint64_t accepted;
	uint64_t delivered;          /**< deliveries that ended delivered   */
	uint64_t failed;             /**< deliveries that ended otherwise   */
	uint64_t sent;               /**< MESSAGE requests sent (incl. retries) */
	uint32_t pending;            /**< pushes not final                  */
	uint32_t terminals;
	uint32_t inflight;
	uint32_t backlog;            /**< deliveries queued toward terminals,
					  not waiting out a retry delay  */
	uint32_t subscriptions;      /**< active oma-app subscriptions      */
};

int  sender_alloc(struct sender **sp, struct sip *sip, struct store *st,
		  const struct sender_conf *conf);
bool sender_sip_request(struct sender *s, const struct sip_msg *msg);
int  sender_push_accept(struct sender *s, struct push_req *r,
			char *id, size_t idsz);
const char *sender_refuses(const struct sender *s, uint32_t n,
			   uint32_t *retry_s);
bool sender_behind(const struct sender *s);
int  sender_push_cancel(struct sender *s, const char *id);
int  sender_push_adopt(struct sender *s, const char *id);
int  sender_user_set(struct sender *s, const char *aor,
		     const char *password);
int  sender_push_owner(struct sender *s, const char *id, char *owner,
		       size_t sz);
int  sender_content(struct sender *s, const char *token, struct mbuf **mbp,
		    char **ctype, char **path, uint8_t sha1[20]);
void sender_stats(const struct sender *s, struct sender_stats *stats);

/** What became of a push, in PAP terms */
struct push_outcome {
	char state[16];              /**< pending, delivered, partial, ... */
	uint16_t pap_code;
	int64_t event_ms;
	char desc[96];
};

int  sender_push_outcome(struct sender *s, const char *id,
			 struct push_outcome *o);
int  sender_purge(struct sender *s);
int  sender_reopen_logs(struct sender *s);
int  sender_reload(struct sender *s, const struct sender_conf *nc);
uint32_t sender_drain(struct sender *s);
int  sender_metrics_print(struct re_printf *pf, const struct sender *s);

/* The live event feed (GET /v1/events, sippush watch) */
typedef void (sender_event_h)(void *arg);
/* Whether a reader may see an event of this scope: "p:OWNER" (a push's;
 * "p:" the admin's) or "t:APPS" (a terminal's applications) */
typedef bool (sender_event_scope_h)(const char *scope, void *arg);
void     sender_set_event_h(struct sender *s, sender_event_h *h, void *arg);

/** The engine's wall clock in ms since the epoch (tests replace it) */
typedef int64_t (sender_clock_h)(void *arg);
void     sender_clock_set(struct sender *s, sender_clock_h *h, void *arg);
uint64_t sender_events_head(const struct sender *s);
void     sender_events_watch(struct sender *s);
const char *sender_events_boot(const struct sender *s);
int      sender_events_print(struct re_printf *pf, const struct sender *s,
			     uint64_t after, size_t max, uint64_t *nextp,
			     sender_event_scope_h *sh, void *arg);
bool     sender_events_any(const struct sender *s, uint64_t after,
			   sender_event_scope_h *sh, void *arg);
void sender_sip_response(struct sender *s, uint16_t scode);
