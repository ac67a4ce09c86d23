/**
 * @file src/receiver/register.h  The terminal's own REGISTER client
 */

struct contact;
struct receiver_conf;
struct reg;
struct sip;
struct sip_auth;
struct trust;

/** Registered (not de-registering), the flow kept: after the
 *  application heard it (TS §7.2: subscriptions may start) */
typedef void (reg_ok_h)(void *arg);

int  reg_alloc(struct reg **regp, struct sip *sip, struct sip_auth *auth,
	       const struct receiver_conf *conf, struct contact *c,
	       struct trust *t, receiver_reg_h *rh, reg_ok_h *okh,
	       void *arg);
int  reg_start(struct reg *reg);
int  reg_refresh(struct reg *reg);
int  reg_stop(struct reg *reg);
