/**
 * @file src/receiver/bodypush.h  Pushes carried in a request's body (a
 *                                MESSAGE, a subscription's NOTIFY)
 */

struct bodypush;
struct deliver;
struct receiver_app;
struct receiver_conf;
struct sip;
struct sip_msg;
struct trust;

int bodypush_alloc(struct bodypush **bpp, struct sip *sip,
		   const struct receiver_conf *conf, const struct trust *t,
		   struct deliver *d);
int bodypush_push(struct bodypush *bp, const struct sip_msg *msg,
		  const struct receiver_app *app, const char *method);
