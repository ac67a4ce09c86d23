/**
 * @file agent_opts.h  sippush-agent's configuration and its options table
 */

enum { MAX_APPS = 16, MAX_TRUST = 16, MAX_PSA = 8 };

struct agent_conf {
	struct receiver_app appv[MAX_APPS];
	char ids[MAX_APPS][64];
	char handlers[MAX_APPS][405];  /**< dir:PATH or exec:PATH (sink.h) */
	char accepts[MAX_APPS][256];
	size_t appn;
	struct cidr trust[MAX_TRUST];
	size_t ntrust;
	bool trust_udp;
	bool any_flow;            /**< --pushes-via-flow no              */
	char trust_cert[256];
	struct sa sip;
	char aor[256], registrar[256], instance[64], state_dir[400];
	char auth_user[128], auth_pass[128];
	uint32_t expires, exec_max, exec_timeout_s, fetch_timeout_s;
	uint32_t retry_ms;
	uint64_t fetch_max;
	char subscribe[MAX_PSA][256];  /**< the Push Sender Agents      */
	const char *subscribev[MAX_PSA];
	size_t nsubscribe;
	char vendor[128], model[128], version[64];
	char dev_cap[256], ppi[256];
	char sub_apps[MAX_APPS][64];
	size_t nsub_apps;
	uint32_t sub_expires, min_se, max_sessions;
	uint64_t session_max;
	struct sa msrp;           /**< AF_UNSPEC: no --msrp              */
	char msrp_cert[400];
	enum receiver_msrp_setup msrp_setup;
	struct sa sip_tls;        /**< AF_UNSPEC: no --sip-tls           */
	struct connguard_conf guard;
	struct cidr fetch_allow[MAX_TRUST];
	size_t nfetch_allow;
	char tls_cert[400], tls_ca[400], tls_host[256];
	bool no_pref, allow_private;
	bool want_version;        /**< --version without a value         */
	int log_level;            /**< enum log_level                    */
};

extern const struct opt agent_opts[];
