/**
 * @file receiver.h  The Push Receiver Agent engine (libsippush, terminal side)
 *
 * Embeddable without sippushd: give it a libre `struct sip` with a
 * transport, pass it every SIP request (receiver_sip_request) and receive
 * pushes through a callback. It registers with its own REGISTER client
 * (libre's sipreg cannot change its Contact parameters and de-registers
 * when freed): push feature tags, +sip.instance, reg-id, methods,
 * Supported: gruu, Require: pref (dropped once on a 420), digest auth,
 * refresh before expiry, withdraw/restore push, de-register.
 *
 * Subscription mode: after registering, one SUBSCRIBE (ua-profile;
 * profile-type=oma-app) per application with `subscribe` set and per
 * Push Sender Agent (`subscribe`, or each of `subscribev`), each in its
 * own dialog, refreshed, re-established after a retryable termination,
 * ended with Expires: 0 by receiver_unregister(); content NOTIFYs reach
 * the application like MESSAGE pushes; a REFER from a trusted peer makes
 * it subscribe as the Refer-To says (TS §7.2.3).
 *
 * Page mode: MESSAGE with P-Asserted-Identity from a trusted peer
 * (else 403), application from Accept-Contact (unknown: 404), content type
 * checked (415 + Accept), duplicates (same Call-ID) handed over once, the
 * set of seen pushes bounded and kept in the state directory. Content
 * indirection (message/external-body) is fetched inside the loop
 * (fetch.h), then handed over and answered; a failed fetch is answered
 * by its cause (503 when it may pass, else a final 4xx that also reaches
 * the application as a push with `error` set).
 */

struct receiver;
struct cidr;
struct sip;
struct sip_msg;
struct re_printf;

/** One push application on this terminal */
struct receiver_app {
	const char *id;           /**< ARI, e.g. "mms.ua"                */
	const char *accept;       /**< "type/sub,type/sub"; NULL: any    */
	bool subscribe;           /**< subscription mode (conf.subscribe) */
};

/** Who opens a session's MSRP connection when the sender lets us choose
 *  (RFC 6135 a=setup:actpass) */
enum receiver_msrp_setup {
	RECEIVER_MSRP_AUTO = 0,   /**< we do when behind a NAT, else the
				       sender does                      */
	RECEIVER_MSRP_ACTIVE,     /**< we always do                      */
	RECEIVER_MSRP_PASSIVE,    /**< the sender always does            */
};

struct receiver_conf {
	const char *aor;
	const char *registrar;    /**< URI REGISTER goes to              */
	const char *instance;     /**< "urn:uuid:..."                    */
	const char *auth_user;    /**< digest; NULL: none                */
	const char *auth_pass;
	const struct receiver_app *appv;   /**< must outlive the receiver */
	size_t appn;
	const struct cidr *trust;  /**< where P-Asserted-Identity is
				       believed from, and only:          */
	size_t ntrust;
	bool trust_udp;           /**< over UDP too (a forged source is
				       enough there); default TCP/TLS only */
	bool trust_tls_only;      /**< over TLS only (the certificate was
				       checked at the handshake)        */
	bool pushes_any_flow;     /**< from any connection; default: only
				       on the registration's own flow   */
	const char *state_dir;    /**< seen pushes are kept here          */
	uint32_t expires;         /**< asked registration lifetime, s    */
	uint32_t retry_ms;        /**< after a failed REGISTER/SUBSCRIBE
					   (0: 30 s, RFC 5626 §4.5's base) */
	uint32_t reg_id;
	uint32_t seen_max;        /**< identities remembered (10000)     */
	bool require_pref;
	size_t fetch_max;         /**< content-indirection cap (16 MiB)  */
	uint32_t fetch_timeout_ms;/**< (30000)                           */
	bool allow_private_fetch; /**< fetch from loopback/private hosts */
	const struct cidr *fetch_allowv; /**< only these non-public ones  */
	size_t fetch_allown;
	const char *subscribe;    /**< SUBSCRIBE Request-URI (the PSA or
				       the AoR); NULL: page mode only  */
	const char *const *subscribev; /**< several PSAs (TS §7.2: the
				       capabilities go to every one), one
				       subscription per application at
				       each; given, subscribe is unused */
	size_t subscriben;
	const char *vendor;       /**< ua-profile Event parameters       */
	const char *model;
	const char *version;
	const char *dev_cap;      /**< UAProf URL                        */
	const char *ppi;          /**< P-Preferred-Identity, or NULL     */
	uint32_t sub_expires;     /**< asked subscription lifetime (86400) */
	uint64_t session_max;     /**< largest file by MSRP (1 GiB)      */
	uint32_t min_se;          /**< RFC 4028 Min-SE (90)              */
	uint32_t max_sessions;    /**< INVITE sessions at once (8; 486)  */
	const struct sa *msrp_laddr; /**< MSRP listen address; NULL: the
				       SIP address, any port             */
	const char *msrp_cert;    /**< PEM certificate + key: MSRP over
				       TLS only (msrps); NULL: TCP only  */
	enum receiver_msrp_setup msrp_setup;
};

/** One push handed to the application; views valid during the call */
struct receiver_push {
	const char *app;
	const char *from;         /**< P-Asserted-Identity              */
	const char *ctype;
	const char *method;       /**< "MESSAGE", "NOTIFY" or "INVITE"  */
	const char *push_id;      /**< the sender's identity: Call-ID of
				       a MESSAGE, Content-ID of a NOTIFY */
	const uint8_t *body;
	size_t body_len;
	const char *error;        /**< non-NULL: the push failed (e.g. a
				       content fetch), no content       */
	const char *file;         /**< session mode: the content is this
				       file (body NULL); the handler may
				       rename it, else it is removed    */
	const char *filename;     /**< the sender's name for it, or NULL */
	const char *disposition;  /**< "render"/"attachment", or NULL   */
	bool deferrable;          /**< the handler may return EINPROGRESS
				       and tell later with
				       receiver_push_done()             */
};

/** 0: taken; EBUSY: answer 503 (the sender retries); EINPROGRESS (when
 *  deferrable): the answer waits for receiver_push_done(); else 500 */
typedef int  (receiver_push_h)(const struct receiver_push *p, void *arg);
/** Registration state: err/scode of the last attempt, GRUU when known */
typedef void (receiver_reg_h)(int err, uint16_t scode, const char *gruu,
			      uint32_t expires, void *arg);

int  receiver_alloc(struct receiver **rp, struct sip *sip,
		    const struct receiver_conf *conf, receiver_push_h *ph,
		    receiver_reg_h *rh, void *arg);
int  receiver_register(struct receiver *r);
void receiver_push_done(struct receiver *r, const char *push_id, int err);
int  receiver_withdraw(struct receiver *r, bool withdraw);
int  receiver_unregister(struct receiver *r);
bool receiver_sip_request(struct receiver *r, const struct sip_msg *msg);
const char *receiver_gruu(const struct receiver *r);
int  receiver_instance_load(char *buf, size_t sz, const char *state_dir);
/** The push's metadata, "name: value" lines (app, from, content-type,
 *  method, push-id, then error, filename, disposition when set) */
int  receiver_meta_print(struct re_printf *pf,
			 const struct receiver_push *p);
