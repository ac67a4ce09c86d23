/**
 * @file src/receiver/refer.h  REFER from the Push Sender Agent: subscribe
 *                             as told (TS §7.2.3)
 */

struct contact;
struct receiver_conf;
struct refer_sock;
struct sip;
struct sip_msg;
struct subs;
struct trust;

int  refer_sock_alloc(struct refer_sock **rsp, struct sip *sip,
		      const struct receiver_conf *conf, const struct trust *t,
		      const struct contact *c, struct subs *subs);
void refer_request(const struct sip_msg *msg, void *arg);
