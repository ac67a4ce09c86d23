/**
 * @file store.h  Durable storage of users, terminals, pushes and deliveries
 *
 * Backends: SQLite (embedded, the default) and PostgreSQL, chosen by the
 * URL given to store_open(); what they share is store.c, what each does
 * is a function table (backend.h). Writes go into one open transaction
 * per loop turn: every write begins it if needed, and store_sync() asks for
 * a commit at the end of the loop turn and calls the handler once the
 * commit is durable. The caller answers "accepted" only from that handler
 * (group commit: all pushes of a turn share one fsync). Writes nobody
 * waits for (delivery progress) commit within lazy_ms. Records are passed as views: strings in callbacks
 * are valid only during the callback.
 *
 * A write's error may come at once or only with its commit (PostgreSQL
 * sends a turn's writes pipelined): a failed commit fails every waiter of
 * its turn. Reads are synchronous and see the open transaction; on
 * PostgreSQL each is a round trip (docs/design.md says which are used
 * where).
 */

struct store;

enum store_sync_mode {
	STORE_SYNC_NORMAL = 1,
	STORE_SYNC_FULL   = 2,   /**< SQLite: fdatasync off the loop      */
	STORE_SYNC_FULL_INLINE = 3, /**< SQLite: synced inside COMMIT, on
					 the loop (PostgreSQL: as FULL) */
};

struct store_opts {
	enum store_sync_mode sync;
	uint32_t lazy_ms;        /**< commit delay when nobody waits (50)   */
	uint32_t progress_ms;    /**< delivery progress held and written in
				      one go this often (0: 100; UINT32_MAX:
				      written at once)                      */
	uint32_t timeout_ms;     /**< a synchronous wait at most (5000)     */
	bool cluster;            /**< shared by several sippushd (--cluster):
				      no exclusive lock; PostgreSQL only */
	/** Tests: what syncs SQLite's WAL with STORE_SYNC_FULL, on its
	 *  thread (NULL: fdatasync); 0 or an errno */
	int (*fsync)(int fd, void *arg);
	void *fsync_arg;
	const char *name;        /**< PostgreSQL's application_name (what
				      pg_stat_activity shows); the URL's
				      own wins */
};

/** A write made for a shard's owner: dropped by the store unless node
 *  still holds the shard's lease of that epoch (issue 24, fencing) */
struct store_fence {
	const char *node;
	uint32_t shard;
	uint64_t epoch;
};

struct term_rec {
	const char *aor;
	const char *tkey;        /**< +sip.instance, or the contact URI     */
	const char *instance;    /**< NULL: AoR-level record               */
	const char *contact;
	const char *pub_gruu;
	const char *temp_gruu;
	const char *apps;        /**< "mms.ua,syncml.dm"; NULL: none/unknown */
	const char *methods;
	const char *path;        /**< Path header values, comma separated  */
	const char *source;      /**< "register", "third-party", ...       */
	int64_t expires_at;      /**< unix seconds                          */
	bool push;               /**< carries the push feature tags         */
	const char *charging;    /**< the core's P-Charging-Vector, or NULL */
};

struct push_rec {
	const char *id;
	uint64_t seq;
	const char *aor;
	const char *app;
	const char *ctype;
	const uint8_t *body;
	size_t body_len;
	const char *url;
	const char *method;
	const char *target;      /**< NULL: all terminals                   */
	const char *topic;
	const char *token;       /**< content-indirection token, or NULL    */
	const char *filename;    /**< session mode: the file's name, or NULL */
	const char *disposition; /**< "render"/"attachment", or NULL       */
	int64_t not_before_ms;   /**< deferred delivery; 0: none           */
	const char *identity;    /**< its From; NULL: the sender's         */
	bool unasserted;         /**< sent without P-Asserted-Identity     */
	int relay;               /**< enum push_relay (sender.h)           */
	const char *owner;       /**< named initiator it belongs to; NULL:
				      the admin's (--api-token)           */
	const char *privacy;     /**< Privacy (RFC 3323), or NULL      */
	const char *state;
	int priority;
	uint32_t ttl;
	int64_t created_ms;
	int64_t expires_ms;
	int64_t final_ms;        /**< 0 while pending                       */
};

struct dlv_rec {
	const char *push_id;
	const char *tkey;
	const char *terminal;    /**< what the status shows: GRUU/contact   */
	const char *ruri;
	const char *route;       /**< first hop URI, or NULL                */
	const char *method;
	const char *state;
	const char *last_error;
	const char *call_id;
	uint16_t sip_status;
	uint16_t pap_code;
	uint32_t attempts;
	uint32_t cseq;
	bool indirect;
	const char *steps;       /**< what happened, e.g. "refer 202; notify" */
};

/** An oma-app subscription: the notifier side of its dialog */
struct sub_rec {
	const char *call_id;
	const char *aor;
	const char *tkey;        /**< the subscribing terminal's key        */
	const char *app;
	const char *ltag;        /**< our tag (To of the SUBSCRIBE)         */
	const char *rtag;        /**< the subscriber's tag                  */
	const char *local;       /**< our name-addr, without tag            */
	const char *remote;      /**< the subscriber's name-addr, w/o tag   */
	const char *target;      /**< remote target (its Contact URI)       */
	const char *route;       /**< route set, "<uri>,<uri>", or NULL     */
	const char *accept;      /**< its Accept                            */
	const char *methods;     /**< methods from its Accept-Contact       */
	uint32_t lseq;           /**< last CSeq we sent                     */
	uint32_t rseq;           /**< last CSeq it sent                     */
	int64_t expires_at;      /**< unix seconds                          */
};

/** What a terminal told of itself (ua-profile Event, UAProf document) */
struct caps_rec {
	const char *aor;
	const char *tkey;
	const char *vendor;
	const char *model;
	const char *version;
	const char *dev_cap;     /**< UAProf URL                            */
	const char *push_accept; /**< UAProf Push-Accept types, comma list  */
	const char *push_appids; /**< UAProf Push-Accept-AppID, comma list  */
	uint32_t push_msgsize;   /**< UAProf Push-MsgSize; 0: unknown       */
	int64_t updated_at;
};

/** One file of a push (content streamed to disk, session mode) */
struct file_rec {
	const char *push_id;
	uint32_t idx;
	const char *path;
	const char *filename;
	const char *ctype;
	const char *disposition;
	uint64_t size;
	const uint8_t *sha1;     /**< 20 bytes, or NULL                     */
};

/** A PAP push-id's push for one address */
struct pap_rec {
	const char *pap_id;
	const char *addr;        /**< the address-value as the PI gave it  */
	const char *push_id;
	const char *notify_to;   /**< ppg-notify-requested-to, or NULL     */
	int64_t created_ms;
};

/** The answer given to a request with an Idempotency-Key */
struct idem_rec {
	const char *owner;       /**< the initiator; "": the admin        */
	const char *key;
	uint16_t status;
	const char *answer;      /**< the body sent                        */
	int64_t created_ms;
};

typedef void (store_sync_h)(int err, void *arg);
typedef void (store_term_h)(const struct term_rec *t, void *arg);
typedef void (store_push_h)(const struct push_rec *p, void *arg);
typedef bool (store_push_want_h)(const struct push_rec *p, void *arg);
typedef void (store_dlv_h)(const struct dlv_rec *d, void *arg);
typedef void (store_sub_h)(const struct sub_rec *r, void *arg);
typedef void (store_caps_h)(const struct caps_rec *r, void *arg);
typedef void (store_file_h)(const struct file_rec *f, void *arg);
typedef void (store_pap_h)(const struct pap_rec *r, void *arg);
typedef void (store_idem_h)(const struct idem_rec *r, void *arg);
typedef void (store_note_h)(int64_t id, const char *url, const char *body,
			    uint32_t attempts, int64_t next_ms, void *arg);

int  store_open(struct store **stp, const char *url,
		const struct store_opts *opts);
const char *store_backend(const char *url);
int  store_sync(struct store *st, store_sync_h *h, void *arg);
int  store_flush(struct store *st);
int  store_abandon(struct store *st);
int  store_schema_version(struct store *st, int *ver);

int  store_user_set(struct store *st, const char *aor, const char *realm,
		    const char *ha1hex);
int  store_user_ha1(struct store *st, const char *aor, char *ha1hex,
		    size_t sz);

int  store_term_put(struct store *st, const struct term_rec *t);
int  store_term_del(struct store *st, const char *aor, const char *tkey);
int  store_term_load(struct store *st, store_term_h *h, void *arg);

int  store_push_add(struct store *st, const struct push_rec *p);
int  store_push_final(struct store *st, const char *id, const char *state,
		      int64_t final_ms);
int  store_push_load_pending(struct store *st, store_push_h *ph,
			     store_dlv_h *dh, void *arg);
int  store_push_load_pending_if(struct store *st, store_push_want_h *want,
				store_push_h *ph, store_dlv_h *dh, void *arg);
int  store_push_encode(char **txtp, const struct push_rec *p, size_t max);
int  store_push_decode(const char *txt, store_push_h *ph, void *arg);
int  store_push_get(struct store *st, const char *id, store_push_h *ph,
		    store_dlv_h *dh, void *arg);
int  store_push_recent(struct store *st, uint32_t limit, const char *owner,
		       store_push_h *ph, store_dlv_h *dh, void *arg);
int  store_push_content(struct store *st, const char *token,
			store_push_h *ph, void *arg);
int  store_dlv_put(struct store *st, const struct dlv_rec *d);
int  store_purge(struct store *st, int64_t before_ms, uint32_t *npurged);
uint64_t store_max_seq(struct store *st);

int  store_sub_put(struct store *st, const struct sub_rec *r);
int  store_sub_del(struct store *st, const char *call_id);
int  store_sub_load(struct store *st, store_sub_h *h, void *arg);
int  store_sub_of(struct store *st, const char *aor, store_sub_h *h,
		  void *arg);
int  store_sub_get(struct store *st, const char *call_id, store_sub_h *h,
		   void *arg);
int  store_caps_put(struct store *st, const struct caps_rec *r);
int  store_caps_load(struct store *st, store_caps_h *h, void *arg);
int  store_file_add(struct store *st, const struct file_rec *f);
int  store_files_of(struct store *st, const char *push_id, store_file_h *h,
		    void *arg);
int  store_files_final(struct store *st, store_file_h *h, void *arg);
int  store_pap_add(struct store *st, const struct pap_rec *r);
int  store_pap_get(struct store *st, const char *pap_id, store_pap_h *h,
		   void *arg);
int  store_pap_by_push(struct store *st, const char *push_id,
		       store_pap_h *h, void *arg);
int  store_note_add(struct store *st, const char *url, const char *body,
		    int64_t next_ms, int64_t *id);
int  store_note_del(struct store *st, int64_t id);
int  store_note_update(struct store *st, int64_t id, uint32_t attempts,
		       int64_t next_ms);
int  store_note_load(struct store *st, store_note_h *h, void *arg);
int  store_idem_put(struct store *st, const struct idem_rec *r);
int  store_idem_get(struct store *st, const char *owner, const char *key,
		    store_idem_h *h, void *arg);
int  store_term_of(struct store *st, const char *aor, store_term_h *h,
		   void *arg);
int  store_notify(struct store *st, const char *msg);
int  store_fence(struct store *st, const struct store_fence *f);
bool store_shared(const struct store *st);

struct histo;
const struct histo *store_commit_histo(const struct store *st);
uint64_t store_turn(const struct store *st);
void store_release(struct store *st);
void store_retry(struct store *st);
