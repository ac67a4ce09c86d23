/**
 * @file src/receiver/session.h  Session-mode pushes at the terminal
 *                               (TS §7.3): INVITE + MSRP
 */

struct contact;
struct deliver;
struct receiver_conf;
struct rsess_sock;
struct sip;
struct sip_msg;
struct trust;

int  rsess_sock_alloc(struct rsess_sock **ssp, struct sip *sip,
		      const struct receiver_conf *conf, const struct trust *t,
		      const struct contact *c, struct deliver *d);
void rsess_update(const struct sip_msg *msg, void *arg);
void rsess_invite(const struct sip_msg *msg, void *arg);
void rsess_ack(const struct sip_msg *msg, void *arg);
