/**
 * @file sippush-agent.c  The Push Receiver Agent daemon: options and wiring
 *
 * Each --app ID=HANDLER hands its pushes to a dir: or exec: handler
 * (receiver/sink.h), with --exec-max and --exec-timeout.
 * SIGUSR1 withdraws SIP Push (stays registered), SIGUSR2 restores it,
 * SIGTERM/SIGINT de-register and exit.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include <sippush/cidr.h>
#include "rt/connguard.h"
#include <sippush/log.h>
#include "rt/tlspeer.h"
#include "rt/tlsverify.h"
#include "rt/opts.h"
#include <sippush/receiver.h>
#include "rt/safefile.h"
#include "receiver/sink.h"

#define MOD "agent"

enum { MAX_APPS = 16, MAX_TRUST = 16 };

static struct {
	struct receiver_app appv[MAX_APPS];
	char handlers[MAX_APPS][405];   /**< dir:PATH or exec:PATH (sink.h) */
	char ids[MAX_APPS][64];
	char accepts[MAX_APPS][256];
	size_t appn;
	struct cidr trust[MAX_TRUST];
	size_t ntrust;
	bool trust_given;
	bool trust_udp, any_flow;
	char trust_cert[256];
	struct sa sip;
	char aor[256], registrar[256], instance[64], state_dir[400];
	char auth_user[128], auth_pass[128];
	uint32_t expires, exec_max, exec_timeout_s, fetch_timeout_s, retry_s;
	uint64_t fetch_max;
	char subscribe[256], vendor[128], model[128], version[64];
	char dev_cap[256], ppi[256];
	char sub_apps[MAX_APPS][64];
	size_t nsub_apps;
	uint32_t sub_expires, min_se, max_sessions;
	uint64_t session_max;
	struct sa msrp;
	char msrp_cert[400];
	bool msrp_set;
	struct sa sip_tls;
	bool sip_tls_set;
	struct connguard_conf guard;
	struct connguard *guard_tcp, *guard_tls;
	struct cidr fetch_allow[MAX_TRUST];
	size_t nfetch_allow;
	char tls_cert[400], tls_ca[400], tls_host[256];
	bool no_pref, allow_private;
	struct sink *sink;
	struct receiver *r;
	struct tmr tmr;
	bool quitting;
} g;

static volatile sig_atomic_t sig_withdraw, sig_restore;


static void usage(void)
{
	(void)printf(
"usage: sippush-agent --aor URI --registrar URI --app ID=HANDLER [options]\n"
"  --aor URI            the user's public identity\n"
"  --registrar URI      where to REGISTER (sippushd or a SIP/IP core)\n"
"  --sip ADDR:PORT      own SIP address, UDP and TCP (default 127.0.0.1:5062)\n"
"  --app ID=HANDLER     push application and its handler, repeatable;\n"
"                       HANDLER is dir:/path or exec:/path; the first is\n"
"                       the default when a push names no application\n"
"  --accept ID=TYPES    content types the app takes (comma list; default\n"
"                       any)\n"
"  --instance URN       +sip.instance (default: generated once, kept in\n"
"                       --state-dir)\n"
"  --state-dir DIR      instance and seen pushes (default ./sippush-agent)\n"
"  --trust CIDR         where P-Asserted-Identity is believed from;\n"
"                       repeatable (default 127.0.0.0/8); give the\n"
"                       P-CSCF's or registrar's /32\n"
"  --trust-udp          believe --trust peers over UDP too (a forged\n"
"                       source address is enough there); default: only\n"
"                       over TCP/TLS\n"
"  --trust-cert NAME    believe only TLS peers, and require every TLS\n"
"                       peer (registrar and listener alike) to present a\n"
"                       verified certificate naming NAME\n"
"  --pushes-via-flow yes|no  take trusted pushes only on the flow our\n"
"                       REGISTER went out on (default yes: what a phone\n"
"                       does with its P-CSCF); no: from any --trust peer\n"
"  --auth-user U       digest user name\n"
"  --auth-pass-file F   the digest password: the first line of F (or\n"
"                       the environment's SIPPUSH_AUTH_PASS); --auth-pass P\n"
"                       works too but shows in ps\n"
"  --expires S          registration lifetime asked (default 3600)\n"
"  --reg-retry S        after a failed REGISTER or SUBSCRIBE (or a lost\n"
"                       flow), try again in S s (default 30)\n"
"  --no-require-pref    do not send Require: pref\n"
"  --exec-max N         exec handlers at once (default 8)\n"
"  --exec-timeout S     kill an exec handler after S s (default 30)\n"
"  --fetch-max SIZE     content-indirection size cap (default 16M)\n"
"  --fetch-timeout S    content-indirection time limit (default 30)\n"
"  --allow-private-fetch  fetch from loopback/private addresses too\n"
"  --subscribe URI      after registering, SUBSCRIBE (ua-profile, oma-app)\n"
"                       at URI: the Push Sender Agent's URI or the AoR\n"
"  --subscribe-app ID   subscribe only for these apps (repeatable;\n"
"                       default: every --app)\n"
"  --vendor V, --model M, --ua-version V (or --version=V)\n"
"                       oma-app Event parameters\n"
"  --dev-cap URL        UAProf document URL (Event dev-cap)\n"
"  --ppi URI            P-Preferred-Identity in SUBSCRIBE\n"
"  --sub-expires S      subscription lifetime asked (default 86400)\n"
"  --session-max SIZE   largest file taken by session mode (default 1G)\n"
"  --min-se S           shortest session-timer interval (default 90)\n"
"  --max-sessions N     session-mode pushes at once (default 8; 486)\n"
"  --msrp ADDR:PORT     MSRP listen address (default: --sip's, any port)\n"
"  --msrp-cert PEM      certificate + key: MSRP over TLS (msrps) only, its\n"
"                       SHA-256 fingerprint in the SDP answer\n"
"  --fetch-allow CIDR   content may also come from this non-public range\n"
"                       (repeatable; checked on every connection,\n"
"                       redirects included)\n"
"  --sip-tls ADDR:PORT  SIP over TLS too: a registrar URI with\n"
"                       ;transport=tls (or sips:) goes over it; pushes\n"
"                       come in on it (--tls-cert)\n"
"  --tls-cert PEM       our certificate + key\n"
"  --tls-ca FILE        CAs of the registrar's certificate (default: the\n"
"                       system's)\n"
"  --tls-verify-host N  the name it must carry (default: the registrar\n"
"                       URI's host)\n"
"  --sip-tcp-max N      SIP TCP/TLS connections accepted at most (64),\n"
"  --sip-tcp-max-per-peer N  from one address (16); each must send a\n"
"  --sip-tcp-first-msg S     whole message within S s (10; 0: no limit)\n"
"  --config FILE        options from a file (name value per line; the\n"
"                       command line overrides; see etc/sippush-agent.conf)\n"
"  --log-level LEVEL    error, warn, info, debug\n"
"  --help, --version\n");
}


static void die(const char *what, const char *val)
{
	(void)fprintf(stderr, "sippush-agent: %s%s%s\n", what,
		      val ? ": " : "", val ? val : "");
	exit(2);
}


static void parse_app(const char *v)
{
	const char *eq = strchr(v, '='), *why = NULL;
	size_t i = g.appn;

	if (!eq || eq == v || i >= MAX_APPS)
		die("--app: use ID=dir:/path or ID=exec:/path", v);
	if ((size_t)(eq - v) >= sizeof(g.ids[i]))
		die("--app: ID too long", v);
	memcpy(g.ids[i], v, (size_t)(eq - v));
	g.ids[i][eq - v] = '\0';
	if (strlen(eq + 1) >= sizeof(g.handlers[i]))
		die("--app: handler path too long", v);
	if (sink_check(eq + 1, &why)) {
		(void)fprintf(stderr, "sippush-agent: --app: %s: %s\n", why,
			      eq + 1);
		exit(2);
	}
	str_ncpy(g.handlers[i], eq + 1, sizeof(g.handlers[i]));
	g.appv[i].id = g.ids[i];
	++g.appn;
}


static void parse_accept(const char *v)
{
	const char *eq = strchr(v, '=');

	for (size_t i = 0; eq && i < g.appn; i++) {
		if (strlen(g.ids[i]) == (size_t)(eq - v) &&
		    !strncmp(g.ids[i], v, (size_t)(eq - v))) {
			str_ncpy(g.accepts[i], eq + 1, sizeof(g.accepts[i]));
			g.appv[i].accept = g.accepts[i];
			return;
		}
	}
	die("--accept: use ID=type/sub[,type/sub] after its --app", v);
}


static int push_h(const struct receiver_push *p, void *arg)
{
	(void)arg;
	return sink_push(g.sink, p);
}


static void done_h(const char *push_id, int err, void *arg)
{
	(void)arg;
	receiver_push_done(g.r, push_id, err);
}


static void reg_h(int err, uint16_t scode, const char *gruu,
		  uint32_t expires, void *arg)
{
	(void)arg;
	(void)gruu;
	(void)expires;

	if (g.quitting) {
		plog(SIPPUSH_LOG_INFO, MOD, "de-registered (%u)", scode);
		re_cancel();
		return;
	}
	if (err)
		plog(SIPPUSH_LOG_WARN, MOD, "registration: %m (%u)", err, scode);
}


static void poll_tmr(void *arg)
{
	(void)arg;

	sink_poll(g.sink);
	if (sig_withdraw) {
		sig_withdraw = 0;
		plog(SIPPUSH_LOG_INFO, MOD, "withdrawing SIP Push");
		(void)receiver_withdraw(g.r, true);
	}
	if (sig_restore) {
		sig_restore = 0;
		plog(SIPPUSH_LOG_INFO, MOD, "restoring SIP Push");
		(void)receiver_withdraw(g.r, false);
	}
	tmr_start(&g.tmr, 100, poll_tmr, NULL);
}


static void quit_tmr(void *arg)
{
	(void)arg;
	plog(SIPPUSH_LOG_WARN, MOD, "no answer to the de-registration: exiting");
	re_cancel();
}


static void signal_h(int sig)
{
	if (g.quitting) {
		re_cancel();
		return;
	}
	plog(SIPPUSH_LOG_INFO, MOD, "signal %d: de-registering", sig);
	g.quitting = true;
	if (receiver_unregister(g.r))
		re_cancel();
	else
		tmr_start(&g.tmr, 5000, quit_tmr, NULL);
}


static void usr_h(int sig)
{
	if (sig == SIGUSR1)
		sig_withdraw = 1;
	else
		sig_restore = 1;
}


static bool sip_req_h(const struct sip_msg *msg, void *arg)
{
	(void)arg;
	connguard_seen(msg->tp == SIP_TRANSP_TLS ? g.guard_tls : g.guard_tcp,
		       msg);
	return receiver_sip_request(g.r, msg);
}


static void uri_arg(char *dst, size_t sz, const char *v, const char *name)
{
	struct uri u;
	struct pl pl;

	pl_set_str(&pl, v);
	if (strlen(v) >= sz || uri_decode(&u, &pl) || strpbrk(v, "<>\r\n "))
		die(name, "not a SIP URI");
	str_ncpy(dst, v, sz);
}


/* Event parameters are quoted strings: no quote, backslash or control */
static void quoted_arg(char *dst, size_t sz, const char *v,
		       const char *name)
{
	if (!*v || strlen(v) >= sz || strpbrk(v, "\"\\\r\n"))
		die(name, "empty, too long, or has a quote");
	str_ncpy(dst, v, sz);
}


/* A secret kept out of argv (ps shows argv): the file's first line */
static void secret_file(char *dst, size_t sz, const char *path,
			const char *name)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		die(name, "cannot read");
	ok = fgets(dst, (int)sz, f) != NULL;
	(void)fclose(f);
	dst[ok ? strcspn(dst, "\r\n") : 0] = '\0';
	if (!dst[0])
		die(name, "empty");
}


static const struct option lo[] = {
	{"aor", 1, NULL, 'a'}, {"registrar", 1, NULL, 'r'},
	{"sip", 1, NULL, 's'}, {"app", 1, NULL, 'A'},
	{"accept", 1, NULL, 'C'}, {"instance", 1, NULL, 'i'},
	{"state-dir", 1, NULL, 'd'}, {"trust", 1, NULL, 't'},
	{"auth-user", 1, NULL, 'u'}, {"auth-pass", 1, NULL, 'p'},
	{"auth-pass-file", 1, NULL, 23}, {"trust-udp", 0, NULL, 24},
	{"trust-cert", 1, NULL, 25}, {"pushes-via-flow", 1, NULL, 26},
	{"expires", 1, NULL, 'e'}, {"no-require-pref", 0, NULL, 'N'},
	{"exec-max", 1, NULL, 'm'}, {"exec-timeout", 1, NULL, 'T'},
	{"fetch-max", 1, NULL, 'F'}, {"fetch-timeout", 1, NULL, 'O'},
	{"allow-private-fetch", 0, NULL, 'P'},
	{"subscribe", 1, NULL, 1}, {"subscribe-app", 1, NULL, 2},
	{"vendor", 1, NULL, 3}, {"model", 1, NULL, 4},
	{"version", 2, NULL, 5}, {"ua-version", 1, NULL, 5},
	{"dev-cap", 1, NULL, 6},
	{"ppi", 1, NULL, 7}, {"sub-expires", 1, NULL, 8},
	{"session-max", 1, NULL, 9}, {"min-se", 1, NULL, 10},
	{"max-sessions", 1, NULL, 11}, {"msrp", 1, NULL, 12},
	{"msrp-cert", 1, NULL, 13}, {"config", 1, NULL, 'c'},
	{"sip-tls", 1, NULL, 14}, {"tls-cert", 1, NULL, 15},
	{"fetch-allow", 1, NULL, 18},
	{"tls-ca", 1, NULL, 16}, {"tls-verify-host", 1, NULL, 17},
	{"sip-tcp-max", 1, NULL, 19}, {"sip-tcp-max-per-peer", 1, NULL, 20},
	{"sip-tcp-first-msg", 1, NULL, 21}, {"reg-retry", 1, NULL, 22},
	{"log-level", 1, NULL, 'l'}, {"help", 0, NULL, 'h'},
	{NULL, 0, NULL, 0},
};


/* One option, from the command line or a --config file line */
static void apply(int c, const char *arg)
{
	enum log_level lvl;
	struct pl pl;
	uint32_t u;

	switch (c) {
	case 'a': str_ncpy(g.aor, arg, sizeof(g.aor)); break;
	case 'r': str_ncpy(g.registrar, arg, sizeof(g.registrar));
		break;
	case 's':
		if (opts_addr(&g.sip, arg))
			die("--sip: not ADDR:PORT", arg);
		break;
	case 'A': parse_app(arg); break;
	case 'C': parse_accept(arg); break;
	case 'i': str_ncpy(g.instance, arg, sizeof(g.instance));
		break;
	case 'd': str_ncpy(g.state_dir, arg, sizeof(g.state_dir));
		break;
	case 't':
		if (!g.trust_given)
			g.ntrust = 0;
		g.trust_given = true;
		pl_set_str(&pl, arg);
		if (g.ntrust >= MAX_TRUST ||
		    cidr_decode(&g.trust[g.ntrust], &pl))
			die("--trust: not a CIDR", arg);
		++g.ntrust;
		break;
	case 'u': str_ncpy(g.auth_user, arg, sizeof(g.auth_user));
		break;
	case 'p': str_ncpy(g.auth_pass, arg, sizeof(g.auth_pass));
		break;
	case 'e':
		if (opts_u32(&g.expires, arg, 0, 86400 * 7))
			die("--expires: not a number of seconds",
			    arg);
		break;
	case 'N': g.no_pref = true; break;
	case 'm':
		if (opts_u32(&g.exec_max, arg, 1, SINK_EXEC_MAX))
			die("--exec-max: 1..64", arg);
		break;
	case 'T':
		if (opts_u32(&g.exec_timeout_s, arg, 1, 3600))
			die("--exec-timeout: 1..3600 s", arg);
		break;
	case 'F':
		if (opts_size(&g.fetch_max, arg) || !g.fetch_max ||
		    g.fetch_max > (1ull << 32))
			die("--fetch-max: a size like 16M", arg);
		break;
	case 'O':
		if (opts_u32(&g.fetch_timeout_s, arg, 1, 3600))
			die("--fetch-timeout: 1..3600 s", arg);
		break;
	case 'P': g.allow_private = true; break;
	case 1: uri_arg(g.subscribe, sizeof(g.subscribe), arg,
			"--subscribe"); break;
	case 2:
		if (g.nsub_apps >= MAX_APPS)
			die("too many --subscribe-app", NULL);
		str_ncpy(g.sub_apps[g.nsub_apps++], arg,
			 sizeof(g.sub_apps[0]));
		break;
	case 3: quoted_arg(g.vendor, sizeof(g.vendor), arg,
			   "--vendor"); break;
	case 4: quoted_arg(g.model, sizeof(g.model), arg,
			   "--model"); break;
	case 5:
		/* --version alone prints ours (every program has
		 * it); --version=V is the Event parameter */
		if (!arg) {
			(void)printf("sippush-agent %s\n",
				     SIPPUSH_VERSION);
			exit(0);
		}
		quoted_arg(g.version, sizeof(g.version), arg,
			   "--version");
		break;
	case 6:
		if (strncmp(arg, "http://", 7) &&
		    strncmp(arg, "https://", 8))
			die("--dev-cap must be an http(s) URL", arg);
		quoted_arg(g.dev_cap, sizeof(g.dev_cap), arg,
			   "--dev-cap");
		break;
	case 7: uri_arg(g.ppi, sizeof(g.ppi), arg, "--ppi"); break;
	case 8:
		if (opts_u32(&g.sub_expires, arg, 1, 30 * 86400))
			die("bad --sub-expires", arg);
		break;
	case 9:
		if (opts_size(&g.session_max, arg) ||
		    !g.session_max)
			die("bad --session-max", arg);
		break;
	case 10:
		if (opts_u32(&g.min_se, arg, 1, 86400))
			die("bad --min-se", arg);
		break;
	case 11:
		if (opts_u32(&g.max_sessions, arg, 1, 1000))
			die("bad --max-sessions", arg);
		break;
	case 12:
		if (opts_addr(&g.msrp, arg))
			die("bad --msrp address", arg);
		g.msrp_set = true;
		break;
	case 13:
		if (access(arg, R_OK))
			die("--msrp-cert: cannot read", arg);
		str_ncpy(g.msrp_cert, arg, sizeof(g.msrp_cert));
		break;
	case 14:
		if (opts_addr(&g.sip_tls, arg))
			die("--sip-tls: not ADDR:PORT", arg);
		g.sip_tls_set = true;
		break;
	case 15: str_ncpy(g.tls_cert, arg, sizeof(g.tls_cert)); break;
	case 16: str_ncpy(g.tls_ca, arg, sizeof(g.tls_ca)); break;
	case 17: str_ncpy(g.tls_host, arg, sizeof(g.tls_host)); break;
	case 18:
		pl_set_str(&pl, arg);
		if (g.nfetch_allow >= MAX_TRUST ||
		    cidr_decode(&g.fetch_allow[g.nfetch_allow], &pl))
			die("--fetch-allow: not an address prefix", arg);
		++g.nfetch_allow;
		break;
	case 19:
		if (opts_u32(&g.guard.max_total, arg, 0, 1000000))
			die("bad --sip-tcp-max", arg);
		break;
	case 20:
		if (opts_u32(&g.guard.max_per_peer, arg, 0, 1000000))
			die("bad --sip-tcp-max-per-peer", arg);
		break;
	case 21:
		if (opts_u32(&u, arg, 0, 900))
			die("bad --sip-tcp-first-msg", arg);
		g.guard.first_ms = (uint64_t)u * 1000;
		break;
	case 22:
		if (opts_u32(&g.retry_s, arg, 1, 3600))
			die("bad --reg-retry", arg);
		break;
	case 23: secret_file(g.auth_pass, sizeof(g.auth_pass), arg,
			     "--auth-pass-file"); break;
	case 24: g.trust_udp = true; break;
	case 25:
		if (!*arg || strlen(arg) >= sizeof(g.trust_cert))
			die("--trust-cert: a DNS name or IP address", arg);
		str_ncpy(g.trust_cert, arg, sizeof(g.trust_cert));
		break;
	case 26:
		if (!strcmp(arg, "yes"))
			g.any_flow = false;
		else if (!strcmp(arg, "no"))
			g.any_flow = true;
		else
			die("--pushes-via-flow: yes or no", arg);
		break;
	case 'l':
		if (log_level_decode(&lvl, arg))
			die("--log-level: error, warn, info, debug",
			    arg);
		log_level_set(lvl);
		break;
	case 'h': usage(); exit(0);
	case 'V': (void)printf("sippush-agent %s\n", SIPPUSH_VERSION);
		exit(0);
	default: exit(2);
	}
}


static int file_h(const char *name, const char *value, void *arg)
{
	(void)arg;
	for (const struct option *o = lo; o->name; o++) {
		if (strcmp(o->name, name) || o->val == 'h' || o->val == 'c')
			continue;
		if (o->has_arg == no_argument && value && *value &&
		    strcmp(value, "yes") && strcmp(value, "true"))
			return EINVAL;
		apply(o->val, value && *value ? value : NULL);
		return 0;
	}
	return ENOENT;
}


static void parse(int argc, char *argv[])
{
	char why[256];
	int c;

	/* --config first, so the command line overrides the file */
	if (opts_config_files(argc, argv, file_h, NULL, why, sizeof(why)))
		die(why, NULL);

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'c')
			continue;   /* read above */
		apply(c, optarg);
	}
	if (optind < argc)
		die("unexpected argument", argv[optind]);
	if (!g.auth_pass[0] && getenv("SIPPUSH_AUTH_PASS"))
		str_ncpy(g.auth_pass, getenv("SIPPUSH_AUTH_PASS"),
			 sizeof(g.auth_pass));
	(void)unsetenv("SIPPUSH_AUTH_PASS");   /* not the handlers' */
	if (!g.aor[0] || !g.registrar[0])
		die("--aor and --registrar are required", NULL);
	if (!g.appn)
		die("at least one --app ID=HANDLER is required", NULL);
	if (g.trust_cert[0] && !g.sip_tls_set)
		die("--trust-cert needs --sip-tls", NULL);
}


/* SIP over TLS: the registrar's certificate checked (chain and name) */
static int tls_add(struct sip *sip, struct tls **tlsp)
{
	char host[256] = "", why[600];
	struct uri u;
	struct pl pl;
	int err;

	/* the name to check: given, or the registrar URI's host */
	if (g.tls_host[0])
		str_ncpy(host, g.tls_host, sizeof(host));
	else if (pl_set_str(&pl, g.registrar), !uri_decode(&u, &pl))
		(void)pl_strcpy(&u.host, host, sizeof(host));

	err = tlsverify_sip_add(tlsp, sip, &g.sip_tls,
				g.tls_cert[0] ? g.tls_cert : NULL,
				g.tls_ca[0] ? g.tls_ca : NULL,
				host[0] ? host : NULL, why, sizeof(why));
	if (!err && g.trust_cert[0]) {
		err = tlspeer_require_name(*tlsp, g.trust_cert);
		if (err)
			re_snprintf(why, sizeof(why), "--trust-cert: %m", err);
	}
	if (err)
		(void)fprintf(stderr, "sippush-agent: %s\n", why);
	return err;
}


int main(int argc, char *argv[])
{
	struct receiver_conf rc;
	struct sip *sip = NULL;
	struct sip_lsnr *lsnr = NULL;
	struct tls *tls = NULL;
	struct sigaction sa;
	struct pl pl = PL("127.0.0.0/8");
	int err, sdfd;

	(void)sa_set_str(&g.sip, "127.0.0.1", 5062);
	str_ncpy(g.state_dir, "sippush-agent", sizeof(g.state_dir));
	(void)cidr_decode(&g.trust[0], &pl);
	g.ntrust = 1;
	g.expires = 3600;
	g.exec_max = 8;
	g.exec_timeout_s = 30;
	g.fetch_max = 16u << 20;
	g.fetch_timeout_s = 30;
	/* a terminal is reached by its core or PSA: a few connections */
	g.guard.max_total = 64;
	g.guard.max_per_peer = 16;
	g.guard.first_ms = 10000;
	parse(argc, argv);

	err = libre_init();
	if (err)
		die("libre_init failed", NULL);
	log_route_libre();

	/* ours alone: the instance, seen pushes, session-mode spool */
	err = safedir_open(&sdfd, g.state_dir, 0700);
	if (err == EPERM)
		die("--state-dir: group/world-writable and not ours: refused",
		    g.state_dir);
	if (err)
		die("--state-dir: cannot open or create (a symlink is "
		    "refused)", g.state_dir);
	(void)close(sdfd);
	if (!g.instance[0] && receiver_instance_load(g.instance,
						     sizeof(g.instance),
						     g.state_dir))
		die("--state-dir: cannot keep the instance in", g.state_dir);

	err = sip_alloc(&sip, NULL, 1024, 1024, 1024,
			"sippush-agent/" SIPPUSH_VERSION, NULL, NULL);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_UDP, &g.sip);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_TCP, &g.sip);
	if (err) {
		(void)re_fprintf(stderr, "sippush-agent: --sip %J: cannot "
				 "listen (%s)\n", &g.sip, strerror(err));
		return 1;
	}
	if (g.sip_tls_set && tls_add(sip, &tls))
		return 1;
	/* libre takes every TCP connection and waits 900 s for a message */
	err = connguard_alloc(&g.guard_tcp, &g.sip, &g.guard);
	if (!err && g.sip_tls_set)
		err = connguard_alloc(&g.guard_tls, &g.sip_tls, &g.guard);
	if (err) {
		(void)fprintf(stderr, "sippush-agent: cannot guard the SIP "
			      "listeners: %s\n", strerror(err));
		return 1;
	}

	memset(&rc, 0, sizeof(rc));
	rc.aor = g.aor;
	rc.registrar = g.registrar;
	rc.instance = g.instance;
	rc.auth_user = g.auth_user[0] ? g.auth_user : NULL;
	rc.auth_pass = g.auth_pass[0] ? g.auth_pass : NULL;
	rc.appv = g.appv;
	rc.appn = g.appn;
	rc.trust = g.trust;
	rc.ntrust = g.ntrust;
	rc.trust_udp = g.trust_udp;
	rc.trust_tls_only = g.trust_cert[0] != '\0';
	rc.pushes_any_flow = g.any_flow;
	rc.state_dir = g.state_dir;
	rc.expires = g.expires;
	rc.retry_ms = (uint32_t)g.retry_s * 1000;
	rc.reg_id = 1;
	rc.require_pref = !g.no_pref;
	rc.fetch_max = (size_t)g.fetch_max;
	rc.fetch_timeout_ms = g.fetch_timeout_s * 1000;
	rc.allow_private_fetch = g.allow_private;
	rc.fetch_allowv = g.fetch_allow;
	rc.fetch_allown = g.nfetch_allow;
	if (g.subscribe[0]) {
		if (!g.dev_cap[0] &&
		    !(g.vendor[0] && g.model[0] && g.version[0])) {
			(void)fprintf(stderr, "sippush-agent: --subscribe needs "
				      "--dev-cap or --vendor, --model and "
				      "--version\n");
			return 2;
		}
		rc.subscribe = g.subscribe;
		for (size_t i = 0; i < g.appn; i++) {
			bool on = !g.nsub_apps;

			for (size_t j = 0; j < g.nsub_apps; j++)
				on |= !strcmp(g.sub_apps[j], g.ids[i]);
			g.appv[i].subscribe = on;
		}
	}
	rc.vendor = g.vendor[0] ? g.vendor : NULL;
	rc.model = g.model[0] ? g.model : NULL;
	rc.version = g.version[0] ? g.version : NULL;
	rc.dev_cap = g.dev_cap[0] ? g.dev_cap : NULL;
	rc.ppi = g.ppi[0] ? g.ppi : NULL;
	rc.sub_expires = g.sub_expires;
	rc.session_max = g.session_max;
	rc.min_se = g.min_se;
	rc.max_sessions = g.max_sessions;
	rc.msrp_laddr = g.msrp_set ? &g.msrp : NULL;
	rc.msrp_cert = g.msrp_cert[0] ? g.msrp_cert : NULL;

	{
		struct sink_conf skc = {g.exec_max, g.exec_timeout_s,
					g.state_dir};

		err = sink_alloc(&g.sink, &skc, done_h, NULL);
		for (size_t i = 0; !err && i < g.appn; i++)
			err = sink_add(g.sink, g.ids[i], g.handlers[i]);
		if (err) {
			(void)fprintf(stderr, "sippush-agent: cannot set up the "
				      "handlers: %s\n", strerror(err));
			return 1;
		}
	}

	/* ahead of libre's sipsess listener (made by receiver_alloc) */
	err = sip_listen(&lsnr, sip, true, sip_req_h, NULL);
	err = err ? err : receiver_alloc(&g.r, sip, &rc, push_h, reg_h, NULL);
	err = err ? err : receiver_register(g.r);
	if (err) {
		(void)fprintf(stderr, "sippush-agent: cannot start: %s\n",
			      strerror(err));
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = usr_h;
	(void)sigaction(SIGUSR1, &sa, NULL);
	(void)sigaction(SIGUSR2, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGXFSZ, SIG_IGN);   /* a write error, not a death */
	tmr_init(&g.tmr);
	tmr_start(&g.tmr, 100, poll_tmr, NULL);

	plog(SIPPUSH_LOG_INFO, MOD, "%s (%s) on %J, registering at %s", g.aor,
	     g.instance, &g.sip, g.registrar);
	(void)re_main(signal_h);

	tmr_cancel(&g.tmr);
	mem_deref(lsnr);
	g.r = mem_deref(g.r);
	g.sink = mem_deref(g.sink);
	g.guard_tcp = mem_deref(g.guard_tcp);
	g.guard_tls = mem_deref(g.guard_tls);
	sip_close(sip, true);
	mem_deref(sip);
	mem_deref(tls);
	libre_close();
	return 0;
}
