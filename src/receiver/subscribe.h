/**
 * @file src/receiver/subscribe.h  The terminal's oma-app subscriptions
 *                                 (TS §7.2)
 */

struct bodypush;
struct contact;
struct receiver_app;
struct receiver_conf;
struct sip;
struct sip_auth;
struct sip_msg;
struct subs;

/**
 * The outcome of one subscription's first SUBSCRIBE: its failure code,
 * or 200 at its first NOTIFY. arg is a mem object the subscription holds
 * from subs_start() on; its reference passes to the handler.
 */
typedef void (subs_result_h)(uint16_t code, void *arg);

int  subs_alloc(struct subs **sp, struct sip *sip, struct sip_auth *auth,
		const struct receiver_conf *conf, const struct contact *c,
		struct bodypush *bp);
int  subs_start(struct subs *s, const struct receiver_app *app,
		const char *uri, const char *event, const char *ac,
		subs_result_h *resh, void *arg);
void subs_drop_app(struct subs *s, const struct receiver_app *app,
		   const char *uri);
void subs_start_all(struct subs *s);
void subs_stop_all(struct subs *s);
void subs_resume(struct subs *s);
void subs_notify(const struct sip_msg *msg, void *arg);
