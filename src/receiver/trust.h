/**
 * @file src/receiver/trust.h  Whose P-Asserted-Identity the terminal
 *                             believes
 */

struct cidr;
struct receiver_conf;
struct sip_msg;

/** Who is believed */
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

/** The receiver's rules and its flow (register.c sets and clears it) */
struct trust {
	struct trust_rules rules;
	struct trust_flow flow;
};

int  trust_check(const struct trust_rules *t, const struct trust_flow *f,
		 enum sip_transp tp, const struct sa *src, const void *sock,
		 const char **why);
void trust_flow_set(struct trust_flow *f, const struct sip_msg *msg);
void trust_init(struct trust *t, const struct receiver_conf *conf);
int  trust_msg(const struct trust *t, const struct sip_msg *msg,
	       bool in_dialog);
int  trust_asserted(char *from, size_t sz, const struct trust *t,
		    const struct sip_msg *msg, bool in_dialog);
