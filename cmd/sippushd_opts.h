/**
 * @file sippushd_opts.h  sippushd's configuration and its options table
 */

enum { MAX_TRUST = 32, MAX_PREFS = 32, MAX_ICSI = 32, MAX_WATCH = 64,
       MAX_MSRP_ALLOW = 32, MAX_HOSTS = 16 };

struct conf {
	struct sa sip;
	struct sa http;
	char db[512];
	char store[1024];         /**< --store URL; empty: sqlite:<db>     */
	char identity[256];
	char orig_ioi[65];
	char outbound[256];
	char realm[128];
	char token[256];
	char token_file[512];
	bool argv_secret;         /**< a secret came on the command line  */
	char http_host[MAX_HOSTS][256];
	const char *http_hostv[MAX_HOSTS];
	char content_base[256];
	struct cidr trust[MAX_TRUST];
	size_t ntrust;
	char trust_cert[256];
	char fetch_proxy[256];
	struct cidr msrp_allow[MAX_MSRP_ALLOW];
	struct sa msrp;           /**< AF_UNSPEC: no --msrp               */
	struct sender_conf sc;
	struct api_conf ac;
	struct store_opts so;
	uint32_t rcvbuf;
	char pref_app[MAX_PREFS][64];
	char pref_method[MAX_PREFS][16];
	struct app_pref prefs[MAX_PREFS];
	char icsi_name[MAX_ICSI][256];
	char icsi_ari[MAX_ICSI][64];
	struct appid_alias icsis[MAX_ICSI];
	char contact_user[64];
	char spool[520];
	char pap_app[65];
	char audit[512];
	char plain_apps[256];
	char node[64];
	char contact_uri[256];
	char node_name[64];       /**< --node, else the host name        */
	bool cluster;             /**< --cluster                         */
	struct initiator initv[INITIATOR_MAX];
	size_t ninit;
	char plmn_domain[256];
	uint64_t drain_ms;
	struct sa sip_tls;        /**< AF_UNSPEC: no --sip-tls            */
	char tls_cert[512];
	char tls_ca[512];
	char tls_host[256];
	char http_cert[512];
	char http_key[512];
	char reg_watch[MAX_WATCH][256];
	const char *reg_watchv[MAX_WATCH];
	struct connguard_conf guard;
	int log_level;            /**< enum log_level                    */
};

extern const struct opt sippushd_opts[];

void conf_derive(struct conf *cf);
