/**
 * @file sippushd.c  The Push Sender Agent daemon: options and wiring only
 */
#include <errno.h>
#include <signal.h>
#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "core/appid.h"
#include "core/initiator.h"
#include "core/param.h"
#include <sippush/cidr.h>
#include <sippush/log.h>
#include "rt/opts.h"
#include "sender/sender.h"
#include "store/store.h"
#include "rt/udpbuf.h"
#include "rt/tlsverify.h"
#include "rt/connguard.h"

#define MOD "sippushd"

enum { MAX_TRUST = 32, MAX_PREFS = 32, MAX_WATCH = 64,
       MAX_MSRP_ALLOW = 32, MAX_HOSTS = 16 };

struct conf {
	struct sa sip;
	struct sa http;
	char db[512];
	char identity[256];
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
	bool trust_given;
	char trust_cert[256];
	char fetch_proxy[256];
	struct cidr msrp_allow[MAX_MSRP_ALLOW];
	struct sender_conf sc;
	struct api_conf ac;
	struct store_opts so;
	uint32_t rcvbuf;
	char pref_app[MAX_PREFS][64];
	char pref_method[MAX_PREFS][16];
	struct app_pref prefs[MAX_PREFS];
	char contact_user[64];
	char spool[520];
	char pap_app[65];
	char audit[512];
	struct initiator initv[INITIATOR_MAX];
	size_t ninit;
	char plmn_domain[256];
	uint64_t drain_ms;
	struct sa sip_tls;
	bool sip_tls_set;
	char tls_cert[512];
	char tls_ca[512];
	char tls_host[256];
	char http_cert[512];
	char http_key[512];
	char reg_watch[MAX_WATCH][256];
	const char *reg_watchv[MAX_WATCH];
	struct connguard_conf guard;
};

/* the SIP TCP and TLS listeners' guards (connguard.h) */
static struct connguard *guard_tcp, *guard_tls;

static const struct option longopts[] = {
	{"sip",          required_argument, NULL, 's'},
	{"http",         required_argument, NULL, 'H'},
	{"db",           required_argument, NULL, 'd'},
	{"identity",     required_argument, NULL, 'i'},
	{"trust",        required_argument, NULL, 't'},
	{"trust-udp",    no_argument,       NULL, 70},
	{"trust-cert",   required_argument, NULL, 71},
	{"outbound",     required_argument, NULL, 'o'},
	{"api-token",    required_argument, NULL, 'T'},
	{"config",       required_argument, NULL, 'c'},
	{"realm",        required_argument, NULL, 'r'},
	{"max-push-size", required_argument, NULL, 1},
	{"max-queue",    required_argument, NULL, 2},
	{"max-batch",    required_argument, NULL, 3},
	{"ttl",          required_argument, NULL, 4},
	{"max-ttl",      required_argument, NULL, 5},
	{"retry-base",   required_argument, NULL, 6},
	{"retry-max",    required_argument, NULL, 7},
	{"pace",         required_argument, NULL, 8},
	{"pace-burst",   required_argument, NULL, 9},
	{"retention",    required_argument, NULL, 10},
	{"sync",         required_argument, NULL, 11},
	{"content-base", required_argument, NULL, 12},
	{"content-ttl",  required_argument, NULL, 13},
	{"relay-is-delivered", no_argument, NULL, 14},
	{"min-expires",  required_argument, NULL, 15},
	{"max-expires",  required_argument, NULL, 16},
	{"udp-rcvbuf",   required_argument, NULL, 17},
	{"min-sub-expires", required_argument, NULL, 18},
	{"max-sub-expires", required_argument, NULL, 19},
	{"app",          required_argument, NULL, 20},
	{"allow-private-fetch", no_argument, NULL, 21},
	{"fetch-proxy",  required_argument, NULL, 73},
	{"uaprof-max",   required_argument, NULL, 22},
	{"session-expires", required_argument, NULL, 23},
	{"msrp-chunk",   required_argument, NULL, 24},
	{"spool",        required_argument, NULL, 25},
	{"max-file-size", required_argument, NULL, 26},
	{"msrps",        no_argument,       NULL, 27},
	{"msrp-allow",   required_argument, NULL, 201},
	{"pap-app",      required_argument, NULL, 28},
	{"plmn-domain",  required_argument, NULL, 29},
	{"notify-allow-private", no_argument, NULL, 30},
	{"audit-log",    required_argument, NULL, 31},
	{"initiator",    required_argument, NULL, 32},
	{"drain-timeout", required_argument, NULL, 33},
	{"reg-watch",    required_argument, NULL, 34},
	{"reg-watch-auto", no_argument,     NULL, 35},
	{"reg-watch-expires", required_argument, NULL, 36},
	{"sip-tls",      required_argument, NULL, 37},
	{"tls-cert",     required_argument, NULL, 38},
	{"tls-ca",       required_argument, NULL, 39},
	{"tls-verify-host", required_argument, NULL, 40},
	{"http-cert",    required_argument, NULL, 41},
	{"http-key",     required_argument, NULL, 42},
	{"sip-tcp-max",  required_argument, NULL, 43},
	{"max-terminals", required_argument, NULL, 46},
	{"max-subs",     required_argument, NULL, 47},
	{"http-max-conns", required_argument, NULL, 48},
	{"http-timeout", required_argument, NULL, 49},
	{"max-notify-queue", required_argument, NULL, 50},
	{"sip-tcp-max-per-peer", required_argument, NULL, 44},
	{"sip-tcp-first-msg", required_argument, NULL, 45},
	{"flow-timer",   required_argument, NULL, 51},
	{"http-max-conns-per-peer", required_argument, NULL, 52},
	{"max-backlog",  required_argument, NULL, 53},
	{"http-intake",  required_argument, NULL, 54},
	{"api-token-file", required_argument, NULL, 55},
	{"http-host",    required_argument, NULL, 56},
	{"log-level",    required_argument, NULL, 'l'},
	{"help",         no_argument,       NULL, 'h'},
	{"version",      no_argument,       NULL, 'V'},
	{NULL, 0, NULL, 0},
};


static void usage(void)
{
	(void)printf(
"usage: sippushd [options]\n"
"  --sip ADDR:PORT        SIP on UDP and TCP (default 127.0.0.1:5060)\n"
"  --http ADDR:PORT       HTTP API (default 127.0.0.1:8080)\n"
"  --db PATH              SQLite file (default sippush.db)\n"
"  --identity URI         From and P-Asserted-Identity "
"(default sip:push@localhost)\n"
"  --trust CIDR           peers whose identity is believed; repeatable "
"(default 127.0.0.0/8)\n"
"                         over TCP and TLS only: a UDP source is forgeable\n"
"  --trust-udp            believe --trust peers over UDP too (spoofable)\n"
"  --trust-cert NAME      believe only TLS peers (within --trust) whose\n"
"                         certificate, verified against --tls-ca, names NAME\n"
"  --outbound URI         send every request through this SIP/IP core\n"
"  --api-token TOKEN      the admin's Authorization: Bearer TOKEN (shows in\n"
"                         ps: prefer --api-token-file or SIPPUSH_API_TOKEN);\n"
"                         none given: one generated at the first start,\n"
"                         printed and kept in <db>.token (mode 0600)\n"
"  --api-token-file FILE  the admin token from a file\n"
"  --http-host NAME       a name clients reach the API by (Host, Origin);\n"
"                         repeatable; default: its address, and localhost\n"
"                         on loopback; * accepts any\n"
"  --config FILE          options from a file (name value per line)\n"
"  --realm REALM          digest realm (default sippush)\n"
"  --max-push-size SIZE   inline content per push (default 16M)\n"
"  --max-queue N          pending pushes kept at most (default 1000000)\n"
"  --max-backlog N        new pushes get 503 while more than N deliveries\n"
"                         wait to go out (default 20000; 0: no bound)\n"
"  --max-batch N          pushes per batch request (default 1000)\n"
"  --ttl DURATION         default push lifetime (default 1d)\n"
"  --max-ttl DURATION     longest lifetime accepted (default 30d)\n"
"  --retry-base MS        first retry delay (default 1000)\n"
"  --retry-max MS         longest retry delay (default 60000)\n"
"  --pace N               at most N requests/s toward the core (0: off)\n"
"  --pace-burst N         token bucket depth (default N)\n"
"  --retention DURATION   keep final pushes this long (default 7d)\n"
"  --sync full|normal     SQLite synchronous mode (default full)\n"
"  --content-base URL     base of content-indirection URLs "
"(default http://<--http>)\n"
"  --content-ttl DURATION content stays fetchable after the TTL "
"(default 1h)\n"
"  --relay-is-delivered   a 202 to MESSAGE counts as delivered\n"
"  --min-expires S        shortest REGISTER expiry (default 60)\n"
"  --max-expires S        longest REGISTER expiry (default 86400)\n"
"  --flow-timer S         RFC 5626 outbound: ask terminals for a keep-alive\n"
"                         every S s (default 0: none sent, theirs apply)\n"
"  --udp-rcvbuf SIZE      SIP UDP receive buffer (default 8M)\n"
"  --min-sub-expires S    shortest SUBSCRIBE expiry (default 60)\n"
"  --max-sub-expires S    longest SUBSCRIBE expiry (default 86400)\n"
"  --app \"ID method=M\"    per-application preference; M: auto or notify\n"
"                         (notify: auto uses subscription mode, REFER first)\n"
"  --allow-private-fetch  UAProf documents from loopback/private hosts\n"
"  --fetch-proxy URL      UAProf and PAP notification requests through this\n"
"                         HTTP proxy (default: none; *_proxy variables are\n"
"                         ignored)\n"
"  --uaprof-max SIZE      largest UAProf document read (default 256K)\n"
"  --session-expires S    session-mode RFC 4028 interval (default 1800)\n"
"  --msrp-chunk SIZE      MSRP chunk size sent (default 64K)\n"
"  --spool DIR            files of multipart pushes (default <db>.spool)\n"
"  --max-file-size SIZE   per file of a multipart push (default 4G)\n"
"  --msrp-allow CIDR      MSRP peers allowed in this range (repeatable);\n"
"                         otherwise only the SIP peer's own public address\n"
"  --msrps                session mode over MSRP/TLS only (the terminal's\n"
"                         certificate checked against its SDP fingerprint)\n"
"  --pap-app ID           PAP: application when the content names none\n"
"  --plmn-domain DOMAIN   PAP: TYPE=PLMN +E164 -> sip:+E164@DOMAIN\n"
"  --notify-allow-private PAP result notifications to loopback/private\n"
"                         addresses too\n"
"  --audit-log FILE       one JSON line per final delivery (reopened on\n"
"                         SIGHUP, for rotation)\n"
"  --initiator \"NAME token=T user=U pass=P apps=A,B rate=N identity=URI\n"
"               [trusted] [admin]\"  a named push initiator; repeatable;\n"
"                         token-file=PATH, pass-file=PATH read the secrets\n"
"                         from files, token-env=VAR, pass-env=VAR from the\n"
"                         environment (token=, pass= show in ps); admin:\n"
"                         it administers like the --api-token\n"
"  --sip-tls ADDR:PORT    SIP over TLS too (needs --tls-cert)\n"
"  --tls-cert PEM         its certificate and private key\n"
"  --tls-ca FILE          CAs that sign the servers we connect to over TLS\n"
"                         (default: the system's); the chain is verified\n"
"  --tls-verify-host NAME the name (or IP) their certificate must carry\n"
"  --http-cert PEM        the HTTP API over HTTPS (with --http-key, or a PEM\n"
"  --http-key PEM         holding both)\n"
"  --http-max-conns N     HTTP connections at once (1024); --http-timeout S\n"
"                         closes idle ones (30)\n"
"  --http-max-conns-per-peer N  from one address (256; 0: no cap)\n"
"  --http-intake N        requests that write, taken per loop turn; more\n"
"                         wait for the next turn (default 32)\n"
"  --max-notify-queue N   PAP result notifications waiting (100000)\n"
"  --max-terminals N      terminals per user (16; more: 403)\n"
"  --max-subs N           subscriptions per terminal (8; more: 403)\n"
"  --sip-tcp-max N        SIP TCP/TLS connections at most (4096), from one\n"
"  --sip-tcp-max-per-peer N  address (256); each must send a whole message\n"
"  --sip-tcp-first-msg S  within S s (10; 0: no deadline)\n"
"  --reg-watch URI        SUBSCRIBE to the reg event (RFC 3680) of an AoR,\n"
"                         through --outbound (repeatable)\n"
"  --reg-watch-auto       also of every AoR a third-party REGISTER teaches\n"
"  --reg-watch-expires S  their Expires (default 3600)\n"
"  --drain-timeout S      on SIGTERM, wait at most S s (default 32, 0: stop\n"
"                         at once) for requests in flight; SIGHUP reloads\n"
"                         the configuration\n"
"  --log-level LEVEL      error, warn, info, debug (default info)\n"
"  --help, --version\n");
}


static int apply(int c, const char *v, struct conf *cf)
{
	uint64_t n;
	uint32_t u;
	int err = 0;

	switch (c) {

	case 's': return opts_addr(&cf->sip, v);
	case 'H': return opts_addr(&cf->http, v);
	case 'd': str_ncpy(cf->db, v, sizeof(cf->db)); return 0;
	case 'i': {
		struct uri uri;
		struct pl pl;

		pl_set_str(&pl, v);
		if (uri_decode(&uri, &pl))
			return EINVAL;
		str_ncpy(cf->identity, v, sizeof(cf->identity));
		return 0;
	}
	case 't': {
		struct pl pl;

		if (!cf->trust_given) {
			cf->ntrust = 0;
			cf->trust_given = true;
		}
		if (cf->ntrust >= MAX_TRUST)
			return E2BIG;
		pl_set_str(&pl, v);
		err = cidr_decode(&cf->trust[cf->ntrust], &pl);
		if (!err)
			++cf->ntrust;
		return err;
	}
	case 70: cf->sc.trust_udp = true; return 0;
	case 71:
		if (!*v)
			return EINVAL;
		str_ncpy(cf->trust_cert, v, sizeof(cf->trust_cert));
		cf->sc.trust_cert = cf->trust_cert;
		return 0;
	case 'o': {
		struct uri uri;
		struct pl pl;

		pl_set_str(&pl, v);
		if (uri_decode(&uri, &pl))
			return EINVAL;
		str_ncpy(cf->outbound, v, sizeof(cf->outbound));
		return 0;
	}
	case 'T': str_ncpy(cf->token, v, sizeof(cf->token)); return 0;
	case 'r': str_ncpy(cf->realm, v, sizeof(cf->realm)); return 0;
	case 1:
		err = opts_size(&n, v);
		if (!err && (n < 1 || n > (1ull << 30)))
			err = ERANGE;
		cf->ac.max_push_size = (size_t)n;
		return err;
	case 2: return opts_u32(&cf->sc.max_queue, v, 1, 100000000);
	case 3:
		err = opts_u32(&u, v, 1, 100000);
		cf->ac.max_batch = u;
		return err;
	case 4:
		err = opts_duration(&n, v);
		if (!err && (n < 1 || n > 365 * 86400))
			err = ERANGE;
		cf->sc.default_ttl = (uint32_t)n;
		return err;
	case 5:
		err = opts_duration(&n, v);
		if (!err && (n < 1 || n > 365 * 86400))
			err = ERANGE;
		cf->sc.max_ttl = cf->ac.max_ttl = (uint32_t)n;
		return err;
	case 6:
		err = opts_u32(&u, v, 1, 3600000);
		cf->sc.retry_base_ms = u;
		return err;
	case 7:
		err = opts_u32(&u, v, 1, 86400000);
		cf->sc.retry_max_ms = u;
		return err;
	case 8: return opts_u32(&cf->sc.pace_rate, v, 0, 10000000);
	case 9: return opts_u32(&cf->sc.pace_burst, v, 1, 10000000);
	case 10:
		err = opts_duration(&n, v);
		cf->sc.retention_ms = (int64_t)n * 1000;
		return err;
	case 11:
		if (!strcmp(v, "full"))
			cf->so.sync = STORE_SYNC_FULL;
		else if (!strcmp(v, "normal"))
			cf->so.sync = STORE_SYNC_NORMAL;
		else
			return EINVAL;
		return 0;
	case 12:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return EINVAL;
		str_ncpy(cf->content_base, v, sizeof(cf->content_base));
		return 0;
	case 13:
		err = opts_duration(&n, v);
		if (!err && n > 30 * 86400)
			err = ERANGE;
		cf->sc.content_ttl = (uint32_t)n;
		return err;
	case 14: cf->sc.relay_is_delivered = true; return 0;
	case 15: return opts_u32(&cf->sc.min_expires, v, 1, 86400);
	case 51: return opts_u32(&cf->sc.flow_timer, v, 0, 86400);
	case 52: return opts_u32(&cf->ac.max_conns_peer, v, 0, 100000);
	case 53: return opts_u32(&cf->sc.max_backlog, v, 0, 100000000);
	case 54: return opts_u32(&cf->ac.intake, v, 1, 100000);
	case 55:
		str_ncpy(cf->token_file, v, sizeof(cf->token_file));
		return 0;
	case 56:
		if (cf->ac.http_hostn >= MAX_HOSTS)
			return E2BIG;
		if (!*v || strpbrk(v, " /@[]\"") ||
		    strlen(v) >= sizeof(cf->http_host[0]))
			return EINVAL;
		str_ncpy(cf->http_host[cf->ac.http_hostn], v,
			 sizeof(cf->http_host[0]));
		cf->http_hostv[cf->ac.http_hostn] =
			cf->http_host[cf->ac.http_hostn];
		cf->ac.http_hosts = cf->http_hostv;
		++cf->ac.http_hostn;
		return 0;
	case 16: return opts_u32(&cf->sc.max_expires, v, 1, 30 * 86400);
	case 17:
		err = opts_size(&n, v);
		if (!err && n > (1u << 30))
			err = ERANGE;
		cf->rcvbuf = (uint32_t)n;
		return err;
	case 18: return opts_u32(&cf->sc.min_sub_expires, v, 1, 86400);
	case 19: return opts_u32(&cf->sc.max_sub_expires, v, 1, 30 * 86400);
	case 20: {
		/* "mms.ua method=notify" */
		const size_t i = cf->sc.prefn;
		char app[64], met[16];

		if (i >= MAX_PREFS)
			return E2BIG;
		if (re_regex(v, strlen(v), "[^ \t]+[ \t]+method=[a-z]+", NULL,
			     NULL, NULL) ||
		    sscanf(v, "%63s method=%15s", app, met) != 2 ||
		    (strcmp(met, "auto") && strcmp(met, "notify")))
			return EINVAL;
		str_ncpy(cf->pref_app[i], app, sizeof(cf->pref_app[i]));
		str_ncpy(cf->pref_method[i], met, sizeof(cf->pref_method[i]));
		cf->prefs[i].app = cf->pref_app[i];
		cf->prefs[i].method = cf->pref_method[i];
		cf->sc.prefv = cf->prefs;
		cf->sc.prefn = i + 1;
		return 0;
	}
	case 21: cf->sc.allow_private_fetch = true; return 0;
	case 73:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return EINVAL;
		str_ncpy(cf->fetch_proxy, v, sizeof(cf->fetch_proxy));
		cf->sc.fetch_proxy = cf->fetch_proxy;
		return 0;
	case 22:
		err = opts_size(&n, v);
		if (!err && (n < 1024 || n > (16u << 20)))
			err = ERANGE;
		cf->sc.uaprof_max = (size_t)n;
		return err;
	case 23: return opts_u32(&cf->sc.session_expires, v, 2, 86400);
	case 24:
		err = opts_size(&n, v);
		if (!err && (n < 256 || n > (4u << 20)))
			err = ERANGE;
		cf->sc.msrp_chunk = (size_t)n;
		return err;
	case 25: str_ncpy(cf->spool, v, sizeof(cf->spool)); return 0;
	case 27: cf->sc.msrps = true; return 0;
	case 201: {
		struct pl pl;

		if (cf->sc.msrp_allown >= MAX_MSRP_ALLOW)
			return E2BIG;
		pl_set_str(&pl, v);
		err = cidr_decode(&cf->msrp_allow[cf->sc.msrp_allown], &pl);
		if (err)
			return err;
		cf->sc.msrp_allowv = cf->msrp_allow;
		++cf->sc.msrp_allown;
		return 0;
	}
	case 30: cf->sc.notify_allow_private = true; return 0;
	case 31:
		str_ncpy(cf->audit, v, sizeof(cf->audit));
		cf->sc.audit_path = cf->audit;
		return 0;
	case 34: {
		struct uri uri;
		struct pl pl;

		pl_set_str(&pl, v);
		if (uri_decode(&uri, &pl) || pl_strcasecmp(&uri.scheme, "sip"))
			return EINVAL;
		if (cf->sc.reg_watchn >= MAX_WATCH)
			return E2BIG;
		str_ncpy(cf->reg_watch[cf->sc.reg_watchn], v,
			 sizeof(cf->reg_watch[0]));
		cf->reg_watchv[cf->sc.reg_watchn] =
			cf->reg_watch[cf->sc.reg_watchn];
		cf->sc.reg_watchv = cf->reg_watchv;
		++cf->sc.reg_watchn;
		return 0;
	}
	case 35: cf->sc.reg_watch_auto = true; return 0;
	case 37:
		cf->sip_tls_set = true;
		return opts_addr(&cf->sip_tls, v);
	case 38: str_ncpy(cf->tls_cert, v, sizeof(cf->tls_cert)); return 0;
	case 39: str_ncpy(cf->tls_ca, v, sizeof(cf->tls_ca)); return 0;
	case 40: str_ncpy(cf->tls_host, v, sizeof(cf->tls_host)); return 0;
	case 41: str_ncpy(cf->http_cert, v, sizeof(cf->http_cert)); return 0;
	case 42: str_ncpy(cf->http_key, v, sizeof(cf->http_key)); return 0;
	case 43: return opts_u32(&cf->guard.max_total, v, 0, 1000000);
	case 46: return opts_u32(&cf->sc.max_terms, v, 1, 100000);
	case 47: return opts_u32(&cf->sc.max_subs, v, 1, 1000);
	case 48: return opts_u32(&cf->ac.max_conns, v, 1, 100000);
	case 49: return opts_u32(&cf->ac.timeout_s, v, 1, 3600);
	case 50: return opts_u32(&cf->sc.max_notes, v, 1, 10000000);
	case 44: return opts_u32(&cf->guard.max_per_peer, v, 0, 1000000);
	case 45:
		err = opts_u32(&u, v, 0, 900);
		cf->guard.first_ms = (uint64_t)u * 1000;
		return err;
	case 36: return opts_u32(&cf->sc.reg_watch_expires, v, 60, 86400);
	case 33:
		err = opts_u32(&u, v, 0, 3600);
		cf->drain_ms = (uint64_t)u * 1000;
		return err;
	case 32:
		if (cf->ninit >= INITIATOR_MAX)
			return E2BIG;
		err = initiator_decode(&cf->initv[cf->ninit], v);
		if (err)
			return err;
		cf->ac.initv = cf->initv;
		cf->ac.initn = ++cf->ninit;
		return 0;
	case 28: {
		struct pl in = PL_INIT, norm;

		pl_set_str(&in, v);
		if (appid_normalize(&norm, &in) || !pl_is_token(&norm) ||
		    pl_strcpy(&norm, cf->pap_app, sizeof(cf->pap_app)))
			return EINVAL;
		cf->ac.pap_app = cf->pap_app;
		return 0;
	}
	case 29:
		if (!*v || strpbrk(v, " @;<>\"/"))
			return EINVAL;
		str_ncpy(cf->plmn_domain, v, sizeof(cf->plmn_domain));
		cf->ac.plmn_domain = cf->plmn_domain;
		return 0;
	case 26:
		err = opts_size(&n, v);
		if (!err && !n)
			err = ERANGE;
		cf->ac.max_file_size = n;
		return err;
	case 'l': {
		enum log_level lvl;

		err = log_level_decode(&lvl, v);
		if (!err)
			log_level_set(lvl);
		return err;
	}
	default:
		return EINVAL;
	}
}


static int file_h(const char *name, const char *value, void *arg)
{
	for (const struct option *o = longopts; o->name; o++) {
		if (strcmp(o->name, name))
			continue;
		if (o->val == 'c' || o->val == 'h' || o->val == 'V')
			break;
		return apply(o->val, value, arg);
	}
	return ENOENT;
}


static void defaults(struct conf *cf)
{
	memset(cf, 0, sizeof(*cf));
	(void)sa_set_str(&cf->sip, "127.0.0.1", 5060);
	(void)sa_set_str(&cf->http, "127.0.0.1", 8080);
	str_ncpy(cf->db, "sippush.db", sizeof(cf->db));
	str_ncpy(cf->identity, "sip:push@localhost", sizeof(cf->identity));
	str_ncpy(cf->realm, "sippush", sizeof(cf->realm));
	{
		struct pl pl = PL("127.0.0.0/8");
		(void)cidr_decode(&cf->trust[0], &pl);
		cf->ntrust = 1;
	}
	cf->sc.max_queue = 1000000;
	cf->sc.max_backlog = 20000;
	cf->ac.intake = 32;
	cf->sc.default_ttl = 86400;
	cf->sc.max_ttl = cf->ac.max_ttl = 30 * 86400;
	cf->sc.retry_base_ms = 1000;
	cf->sc.retry_max_ms = 60000;
	cf->sc.min_expires = 60;
	cf->ac.max_conns_peer = 256;
	cf->sc.max_expires = 86400;
	cf->sc.min_sub_expires = 60;
	cf->sc.max_sub_expires = 86400;
	cf->sc.uaprof_max = 256u << 10;
	cf->sc.session_expires = 1800;
	cf->sc.msrp_chunk = 64u << 10;
	cf->ac.max_file_size = 4ull << 30;
	cf->sc.content_ttl = 3600;
	cf->sc.retention_ms = 7ll * 86400 * 1000;
	cf->ac.max_push_size = 16u << 20;
	cf->ac.max_batch = 1000;
	cf->so.sync = STORE_SYNC_FULL;
	cf->rcvbuf = 8u << 20;
	cf->drain_ms = 32000;     /* a non-INVITE transaction's Timer F */
	cf->sc.max_terms = 16;
	cf->sc.max_subs = 8;
	cf->guard.max_total = 4096;
	cf->guard.max_per_peer = 256;   /* a core may hold many to us */
	cf->guard.first_ms = 10000;
}


static int parse(struct conf *cf, int argc, char *argv[])
{
	char why[256];
	int c, err;

	/* --config first, so the command line overrides the file */
	if (opts_config_files(argc, argv, file_h, cf, why, sizeof(why))) {
		(void)fprintf(stderr, "sippushd: %s\n", why);
		return EINVAL;
	}

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			exit(0);
		}
		if (c == 'V') {
			(void)printf("sippushd %s\n", SIPPUSH_VERSION);
			exit(0);
		}
		if (c == 'c')
			continue;
		if (c == '?')
			return EINVAL;
		if (c == 'T' || (c == 32 && (strstr(optarg, "token=") ||
					     strstr(optarg, "pass="))))
			cf->argv_secret = true;
		err = apply(c, optarg, cf);
		if (err) {
			const char *name = "?";

			for (const struct option *o = longopts; o->name; o++)
				if (o->val == c)
					name = o->name;
			(void)fprintf(stderr, "sippushd: --%s %s: invalid "
				      "value (%s)\n", name, optarg,
				      strerror(err));
			return err;
		}
	}

	if (optind < argc) {
		(void)fprintf(stderr, "sippushd: unexpected argument '%s'\n",
			      argv[optind]);
		return EINVAL;
	}

	if (!cf->sc.pace_burst)
		cf->sc.pace_burst = cf->sc.pace_rate ? cf->sc.pace_rate : 1;
	return 0;
}


/* A secret from a file: its first line, at most sz - 1 bytes */
static int secret_read(char *buf, size_t sz, const char *path)
{
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f)
		return errno;
	if (!fgets(buf, (int)sz, f))
		err = EINVAL;
	(void)fclose(f);
	if (!err) {
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!buf[0])
			err = EINVAL;
	}
	return err;
}


/* A secret given by reference: *file: buf holds a path, *env: a
 * variable's name; replaced by what they hold */
static int secret_deref(char *buf, size_t sz, bool *file, bool *env)
{
	char ref[128];
	const char *v;
	int err = 0;

	if (!*file && !*env)
		return 0;
	str_ncpy(ref, buf, sizeof(ref));
	if (*file) {
		err = secret_read(buf, sz, ref);
	}
	else {
		v = getenv(ref);
		if (!v || !*v || strlen(v) >= sz)
			err = ENOENT;
		else
			str_ncpy(buf, v, sz);
	}
	if (err)
		(void)fprintf(stderr, "sippushd: --initiator: cannot read %s%s "
			      "(%s)\n", *env ? "$" : "", ref, strerror(err));
	else
		*file = *env = false;
	return err;
}


/* Initiators' token-file=, pass-file=, token-env=, pass-env= */
static int initiator_secrets(struct conf *cf)
{
	for (size_t i = 0; i < cf->ninit; i++) {
		struct initiator *in = &cf->initv[i];
		int err;

		err = secret_deref(in->token, sizeof(in->token),
				   &in->token_file, &in->token_env);
		err = err ? err : secret_deref(in->pass, sizeof(in->pass),
					       &in->pass_file, &in->pass_env);
		if (err)
			return err;
	}
	return 0;
}


/*
 * The admin token, in this order: --api-token, --api-token-file,
 * SIPPUSH_API_TOKEN, or <db>.token, generated at the first start (128
 * random bits, mode 0600, created exclusively, never through a symlink)
 * and printed then: the default is never an open API.
 */
static int admin_token(struct conf *cf, bool first)
{
	const char *env = getenv("SIPPUSH_API_TOKEN");
	char path[sizeof(cf->db) + 8];
	uint8_t key[16];
	int fd, err;

	if (cf->token[0])
		return 0;
	if (cf->token_file[0]) {
		err = secret_read(cf->token, sizeof(cf->token),
				  cf->token_file);
		if (err)
			(void)fprintf(stderr, "sippushd: --api-token-file %s: "
				      "%s\n", cf->token_file, strerror(err));
		return err;
	}
	if (env && *env) {
		str_ncpy(cf->token, env, sizeof(cf->token));
		return 0;
	}

	re_snprintf(path, sizeof(path), "%s.token", cf->db);
	err = secret_read(cf->token, sizeof(cf->token), path);
	if (err != ENOENT) {
		if (err)
			(void)fprintf(stderr, "sippushd: %s: %s\n", path,
				      strerror(err));
		else if (first)
			plog(SIPPUSH_LOG_INFO, MOD, "the admin API token is in %s",
			     path);
		return err;
	}

	rand_bytes(key, sizeof(key));
	re_snprintf(cf->token, sizeof(cf->token), "%w", key, sizeof(key));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 ||
	    write(fd, cf->token, strlen(cf->token)) != (ssize_t)strlen(cf->token)
	    || write(fd, "\n", 1) != 1 || fsync(fd)) {
		err = errno ? errno : EIO;
		(void)fprintf(stderr, "sippushd: cannot write %s (%s)\n",
			      path, strerror(err));
		if (fd >= 0) {
			(void)close(fd);
			(void)unlink(path);
		}
		return err;
	}
	(void)close(fd);
	(void)printf("sippushd: generated the admin API token %s; it is kept "
		     "in %s (mode 0600)\n", cf->token, path);
	(void)fflush(stdout);
	return 0;
}


/*
 * Signals only raise flags (libre calls signal_h in signal context); a
 * 100 ms timer acts on them from the loop. SIGTERM/SIGINT: drain (no new
 * pushes, nothing new sent, in-flight requests answered) for at most
 * --drain-timeout, then stop and commit; a second one stops at once.
 * SIGHUP: reload the configuration (what can change while running) and
 * reopen the audit log.
 */
static volatile sig_atomic_t hup, term;

static void signal_h(int sig)
{
	(void)sig;
	++term;
}


static void hup_h(int sig)
{
	(void)sig;
	hup = 1;
}


struct ctl {
	struct tmr tmr;
	struct sender **sp;
	struct api **ap;
	struct conf *cf;          /**< as started                        */
	struct conf *reloaded;    /**< the last SIGHUP's, kept until the next */
	int argc;
	char **argv;
	uint64_t deadline;        /**< draining until then (jiffies)     */
	bool draining;
};

static void reload(struct ctl *c)
{
	struct conf *nc = calloc(1, sizeof(*nc));

	if (!nc)
		return;
	defaults(nc);
	optind = 0;
	if (parse(nc, c->argc, c->argv)) {
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: the configuration has an error: "
		     "nothing reloaded");
		free(nc);
		return;
	}
	if (initiator_secrets(nc) || admin_token(nc, false)) {
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: a secret cannot be read: nothing "
		     "reloaded");
		free(nc);
		return;
	}
	nc->sc.trust = nc->trust;
	nc->sc.ntrust = nc->ntrust;
	nc->ac.token = nc->token;

	if (sender_reload(*c->sp, &nc->sc))
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: cannot open the audit log");
	if (api_reload(*c->ap, &nc->ac))
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: cannot reload the API settings");
	free(c->reloaded);
	c->reloaded = nc;
	plog(SIPPUSH_LOG_INFO, MOD, "SIGHUP: reloaded (trust, initiators, token, "
	     "limits, retries, pacing, log level; audit log reopened); "
	     "addresses, identity and store need a restart");
}


static void ctl_tmr(void *arg)
{
	struct ctl *c = arg;
	uint32_t left;

	if (hup && *c->sp && *c->ap) {
		hup = 0;
		reload(c);
	}

	if (term > 1 || (term && !c->cf->drain_ms)) {
		plog(SIPPUSH_LOG_INFO, MOD, "stopping");
		re_cancel();
		return;
	}
	if (term && !c->draining) {
		c->draining = true;
		c->deadline = tmr_jiffies() + c->cf->drain_ms;
		api_drain(*c->ap);
		plog(SIPPUSH_LOG_INFO, MOD, "stopping: draining %u request(s) in "
		     "flight (at most %llu ms)", sender_drain(*c->sp),
		     (unsigned long long)c->cf->drain_ms);
	}
	if (c->draining) {
		left = sender_drain(*c->sp);
		if (!left) {
			plog(SIPPUSH_LOG_INFO, MOD, "drained: stopping");
			re_cancel();
			return;
		}
		if (tmr_jiffies() >= c->deadline) {
			plog(SIPPUSH_LOG_WARN, MOD, "drain timeout: %u request(s) "
			     "still in flight; they go again at the next "
			     "start", left);
			re_cancel();
			return;
		}
	}
	tmr_start(&c->tmr, 100, ctl_tmr, c);
}


/* arg: where the sender will be; it listens before libre's sipsess so
 * that requests outside a session (INFO, ...) are answered here first */
static bool sip_req_h(const struct sip_msg *msg, void *arg)
{
	struct sender **sp = arg;

	connguard_seen(msg->tp == SIP_TRANSP_TLS ? guard_tls : guard_tcp, msg);
	return *sp && sender_sip_request(*sp, msg);
}


/* SIP over TLS: our certificate, and every peer's checked (tlsverify.h) */
static int sip_tls_add(struct sip *sip, const struct conf *cf,
		       struct tls **tlsp)
{
	const char *host = cf->tls_host[0] ? cf->tls_host : NULL;
	char why[600];
	int err;

	if (!cf->tls_cert[0]) {
		(void)fprintf(stderr, "sippushd: --sip-tls needs --tls-cert\n");
		return EINVAL;
	}
	err = tlsverify_sip_add(tlsp, sip, &cf->sip_tls, cf->tls_cert,
				cf->tls_ca[0] ? cf->tls_ca : NULL, host, why,
				sizeof(why));
	if (err) {
		(void)fprintf(stderr, "sippushd: %s\n", why);
		return err;
	}
	if (!host)
		plog(SIPPUSH_LOG_WARN, MOD, "TLS: no --tls-verify-host: peers' chains "
		     "are checked, not their names");
	return 0;
}


/* A PEM file read whole (the HTTPS certificate and key) */
static char *pem_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && n < (1 << 20) &&
	    !fseek(f, 0, SEEK_SET)) {
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	(void)fclose(f);
	return buf;
}


static void spool_clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[800];

	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, ".up-", 4))
			continue;
		re_snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		(void)unlink(path);
	}
	if (d)
		(void)closedir(d);
}


int main(int argc, char *argv[])
{
	struct conf *cf;
	struct sip *sip = NULL;
	struct sip_lsnr *lsnr = NULL;
	struct store *st = NULL;
	struct sender *s = NULL;
	struct api *api = NULL;
	struct tls *tls = NULL;
	char *http_cert = NULL, *http_key = NULL;
	char secret[33];
	int err, got = 0;

	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return 1;
	defaults(cf);
	if (parse(cf, argc, argv)) {
		free(cf);
		return 2;
	}

	err = libre_init();
	if (err) {
		(void)fprintf(stderr, "sippushd: libre_init: %s\n",
			      strerror(err));
		free(cf);
		return 1;
	}
	log_route_libre();

	err = store_open(&st, cf->db, &cf->so);
	if (err) {
		(void)fprintf(stderr, "sippushd: --db %s: cannot open (%s)%s\n",
			      cf->db, strerror(err), err == EBUSY ?
			      ": another sippushd uses it" : err == EBADMSG ?
			      ": database is corrupt" : "");
		goto out;
	}

	err = sip_alloc(&sip, NULL, 32768, 32768, 32768,
			"sippushd/" SIPPUSH_VERSION, NULL, NULL);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_UDP, &cf->sip);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_TCP, &cf->sip);
	if (err) {
		(void)re_fprintf(stderr, "sippushd: --sip %J: cannot listen "
			      "(%s)\n", &cf->sip, strerror(err));
		goto out;
	}

	if (cf->sip_tls_set) {
		err = sip_tls_add(sip, cf, &tls);
		if (err)
			goto out;
	}

	if (cf->trust_cert[0] && !cf->sip_tls_set)
		plog(SIPPUSH_LOG_WARN, MOD, "--trust-cert without --sip-tls: no peer "
		     "is trusted");

	err = connguard_alloc(&guard_tcp, &cf->sip, &cf->guard);
	if (!err && cf->sip_tls_set)
		err = connguard_alloc(&guard_tls, &cf->sip_tls, &cf->guard);
	if (err)
		goto out;

	if (cf->rcvbuf && udpbuf_set(&cf->sip, (int)cf->rcvbuf, &got))
		plog(SIPPUSH_LOG_WARN, MOD, "cannot size the UDP receive buffer");

	{
		uint8_t key[16];

		rand_bytes(key, sizeof(key));
		re_snprintf(secret, sizeof(secret), "%w", key, sizeof(key));
	}

	cf->sc.identity = cf->identity;
	cf->sc.outbound = cf->outbound[0] ? cf->outbound : NULL;
	cf->sc.realm = cf->realm;
	cf->sc.secret = secret;
	cf->sc.trust = cf->trust;
	cf->sc.ntrust = cf->ntrust;
	if (cf->http_cert[0]) {
		http_cert = pem_read(cf->http_cert);
		http_key = pem_read(cf->http_key[0] ? cf->http_key :
				    cf->http_cert);
		if (!http_cert || !http_key) {
			(void)fprintf(stderr, "sippushd: --http-cert/--http-key:"
				      " cannot read %s\n", !http_cert ?
				      cf->http_cert : cf->http_key);
			err = ENOENT;
			goto out;
		}
		cf->ac.tls_cert_pem = http_cert;
		cf->ac.tls_key_pem = http_key;
	}
	if (!cf->content_base[0])
		re_snprintf(cf->content_base, sizeof(cf->content_base),
			    "%s://%J", http_cert ? "https" : "http",
			    &cf->http);
	cf->sc.content_base = cf->content_base;
	{
		struct uri u;
		struct pl pl;

		pl_set_str(&pl, cf->identity);
		if (!uri_decode(&u, &pl) && pl_isset(&u.user))
			(void)pl_strcpy(&u.user, cf->contact_user,
					sizeof(cf->contact_user));
		else
			str_ncpy(cf->contact_user, "push",
				 sizeof(cf->contact_user));
		cf->sc.contact_user = cf->contact_user;
	}

	/* the spool of file pushes: uploads never accepted are removed */
	if (!cf->spool[0])
		re_snprintf(cf->spool, sizeof(cf->spool), "%s.spool", cf->db);
	if (mkdir(cf->spool, 0700) && errno != EEXIST) {
		(void)fprintf(stderr, "sippushd: --spool %s: %s\n", cf->spool,
			      strerror(errno));
		err = errno;
		goto out;
	}
	spool_clean(cf->spool);
	cf->ac.spool = cf->spool;

	err = sip_listen(&lsnr, sip, true, sip_req_h, &s);
	err = err ? err : sender_alloc(&s, sip, st, &cf->sc);
	if (err) {
		(void)fprintf(stderr, "sippushd: cannot load the store (%s)\n",
			      strerror(err));
		goto out;
	}

	err = initiator_secrets(cf);
	err = err ? err : admin_token(cf, true);
	if (err)
		goto out;
	if (cf->argv_secret)
		plog(SIPPUSH_LOG_WARN, MOD, "a token or password on the command line "
		     "shows in ps: use --api-token-file, SIPPUSH_API_TOKEN, "
		     "token-file=/pass-file= or --config");

	cf->ac.laddr = &cf->http;
	cf->ac.token = cf->token;
	err = api_alloc(&api, s, st, &cf->ac);
	if (err) {
		(void)re_fprintf(stderr, "sippushd: --http %J: cannot listen "
			      "(%s)\n", &cf->http, strerror(err));
		goto out;
	}

	/* Linux doubles what is asked (bookkeeping) and caps it at
	 * net.core.rmem_max: say both, labelled */
	plog(SIPPUSH_LOG_INFO, MOD, "SIP on %J (UDP receive buffer: asked %u, "
	     "the kernel reports %d), HTTP on %J, store %s", &cf->sip,
	     cf->rcvbuf, got, &cf->http, cf->db);

	{
		struct ctl c = {.sp = &s, .ap = &api, .cf = cf, .argc = argc,
				.argv = argv};

		tmr_init(&c.tmr);
		(void)signal(SIGHUP, hup_h);
		/* a file-size limit (or full quota) is a write error the
		 * store reports (503), not a reason to die */
		(void)signal(SIGXFSZ, SIG_IGN);
		(void)signal(SIGPIPE, SIG_IGN);
		tmr_start(&c.tmr, 100, ctl_tmr, &c);
		err = re_main(signal_h);
		tmr_cancel(&c.tmr);
		free(c.reloaded);
	}

 out:
	/* answers waiting for a commit go before the API that holds them */
	(void)store_flush(st);
	mem_deref(api);
	guard_tcp = mem_deref(guard_tcp);
	guard_tls = mem_deref(guard_tls);
	mem_deref(lsnr);
	mem_deref(s);
	if (sip)
		sip_close(sip, true);
	mem_deref(sip);
	mem_deref(st);   /* commits what is pending */
	mem_deref(tls);
	free(http_cert);
	free(http_key);
	libre_close();
	free(cf);
	return err ? 1 : 0;
}
