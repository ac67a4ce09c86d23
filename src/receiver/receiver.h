/**
 * @file src/receiver/receiver.h  Internals of the Push Receiver Agent engine
 */
#include <sippush/receiver.h>

struct seen;
struct fetcher;
struct refer;

/** What the agent implements: every one goes in Accept-Contact methods */
#define RECEIVER_METHODS "MESSAGE,NOTIFY,REFER,INVITE"

/** Who is believed (trust.c) */
struct trust_rules {
	const struct cidr *v;
	size_t n;
	bool udp;                /**< also over UDP (spoofable)          */
	bool tls_only;           /**< only over TLS (--trust-cert)       */
	bool any_flow;           /**< not only on the registration flow  */
};

/** The registration's flow: where the 2xx to our REGISTER came from */
struct trust_flow {
	enum sip_transp tp;
	struct sa peer;
	const void *sock;        /**< libre's connection (or UDP socket);
				      compared, never dereferenced       */
	bool set;
};

/** One oma-app subscription of this terminal (its own libre dialog) */
struct rsub {
	struct le le;            /**< in receiver.subs                   */
	struct receiver *r;
	const struct receiver_app *app;
	char *uri;               /**< Request-URI: the PSA or the AoR    */
	char *event;             /**< the whole Event header value       */
	char *ac;                /**< Accept-Contact                     */
	struct sip_dialog *dlg;
	struct sip_request *req;
	struct refer *refer;     /**< a REFER waiting for its outcome    */
	struct tmr tmr;          /**< refresh or retry                   */
	uint32_t expires;
	uint32_t auth_tries;
	uint32_t short_grants;   /**< too-short grants in a row (backoff) */
	bool active;
	bool notified;           /**< its first NOTIFY came              */
	bool unsubscribing;
};

struct receiver {
	struct receiver_conf conf;
	struct sip *sip;
	struct sip_request *req;
	struct sip_auth *auth;
	struct sip_keepalive *ka;  /**< RFC 5626 flow keep-alive          */
	struct tmr tmr;
	struct seen *seen;
	struct fetcher *fetcher;
	receiver_push_h *ph;
	receiver_reg_h *rh;
	void *arg;
	char *aor;
	char *registrar;
	char *instance;
	char *apps;              /**< "mms.ua,syncml.dm"                 */
	char *auth_user;
	char *auth_pass;
	char call_id[40];
	char from_tag[20];
	char gruu[384];
	uint32_t cseq;
	uint32_t expires;        /**< what we ask; 0 while de-registering */
	uint32_t auth_tries;
	uint32_t short_grants;   /**< too-short grants in a row (backoff) */
	struct trust_rules trust;
	struct trust_flow flow;
	struct list subs;        /**< struct rsub                        */
	struct list sessions;    /**< struct rsess (session mode)        */
	struct list pending;     /**< indirect pushes being fetched      */
	struct sipsess_sock *sess_sock;
	struct msrp_listener *msrp;
	struct tls *msrp_tls;    /**< msrps: our certificate, or NULL    */
	bool withdrawn;
	bool pref;               /**< send Require: pref                 */
	bool stopping;
};

/* register.c */
int  reg_send(struct receiver *r);
int  reg_contact_print(struct re_printf *pf, const struct receiver *r);

/* subscribe.c */
int  rsub_start(struct rsub **rsp, struct receiver *r,
		const struct receiver_app *app, const char *uri,
		const char *event, const char *ac);
void rsub_start_all(struct receiver *r);
void rsub_stop_all(struct receiver *r);
bool rsub_notify(struct receiver *r, const struct sip_msg *msg);

/* refer.c */
void inbound_refer(struct receiver *r, const struct sip_msg *msg);
void refer_report(struct rsub *rs, uint16_t code);

/* seen.c: identities of pushes already handed over */
int  seen_open(struct seen **sp, const char *dir, uint32_t max);
bool seen_has(const struct seen *s, const char *id);
int  seen_add(struct seen *s, const char *id);

/* trust.c */
int  trust_check(const struct trust_rules *t, const struct trust_flow *f,
		 enum sip_transp tp, const struct sa *src, const void *sock,
		 const char **why);
void trust_flow_set(struct trust_flow *f, const struct sip_msg *msg);
int  receiver_trusted(const struct receiver *r, const struct sip_msg *msg,
		      bool in_dialog);

/* inbound.c */
bool inbound_request(struct receiver *r, const struct sip_msg *msg);
int  inbound_push(struct receiver *r, const struct sip_msg *msg,
		  const struct receiver_app *app, const char *method);
const struct receiver_app *app_find(const struct receiver *r,
				    const struct pl *id);
int  inbound_ac_app(struct pl *app, const struct sip_msg *msg);
int  inbound_asserted(char *from, size_t sz, struct receiver *r,
		      const struct sip_msg *msg);

/* session.c */
int  rsess_init(struct receiver *r);
bool rsess_update(struct receiver *r, const struct sip_msg *msg);
