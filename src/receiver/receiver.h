/**
 * @file src/receiver/receiver.h  Internals of the Push Receiver Agent engine
 */
#include <sippush/receiver.h>

struct seen;
struct fetcher;

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
	bool withdrawn;
	bool pref;               /**< send Require: pref                 */
	bool stopping;
};

/* register.c */
int  reg_send(struct receiver *r);

/* seen.c: identities of pushes already handed over */
int  seen_open(struct seen **sp, const char *dir, uint32_t max);
bool seen_has(const struct seen *s, const char *id);
int  seen_add(struct seen *s, const char *id);

/* inbound.c */
bool inbound_request(struct receiver *r, const struct sip_msg *msg);
