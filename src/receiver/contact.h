/**
 * @file src/receiver/contact.h  How the terminal is reached: the Contact
 *                               its REGISTER gives, its GRUU
 */

struct re_printf;
struct receiver_conf;
struct sip;

/** What the agent implements: every one goes in Accept-Contact methods */
#define RECEIVER_METHODS "MESSAGE,NOTIFY,REFER,INVITE"

struct contact {
	struct sip *sip;
	char *aor;
	char *registrar;
	char *instance;
	char *apps;              /**< "mms.ua,syncml.dm"                 */
	uint32_t reg_id;
	bool withdrawn;          /**< registered without the push tags   */
	bool behind_nat;         /**< the registrar saw another address  */
	char gruu[384];          /**< the registrar's, or ""             */
};

int contact_alloc(struct contact **cp, struct sip *sip,
		  const struct receiver_conf *conf);
int contact_print(struct re_printf *pf, const struct contact *c);
