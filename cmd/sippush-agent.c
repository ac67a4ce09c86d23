/**
 * @file sippush-agent.c  The Push Receiver Agent daemon: options and wiring
 *
 * Each --app ID=HANDLER hands its pushes to a dir: or exec: handler
 * (receiver/sink.h), with --exec-max and --exec-timeout.
 * SIGUSR1 withdraws SIP Push (stays registered), SIGUSR2 restores it,
 * SIGTERM/SIGINT de-register and exit.
 */
#include <errno.h>
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
#include "agent_opts.h"

#define MOD "agent"

static struct {
	struct agent_conf c;
	struct connguard *guard_tcp, *guard_tls;
	struct sink *sink;
	struct receiver *r;
	struct tmr tmr;
	bool quitting;
} g;

static volatile sig_atomic_t sig_withdraw, sig_restore;


static bool sip_tls_set(void)
{
	return sa_af(&g.c.sip_tls) != AF_UNSPEC;
}


static void usage(void)
{
	(void)re_printf("usage: sippush-agent --aor URI --registrar URI "
			"--app ID=HANDLER [options]\n%H", opts_help,
			agent_opts);
}


static void die(const char *what, const char *val)
{
	(void)fprintf(stderr, "sippush-agent: %s%s%s\n", what,
		      val ? ": " : "", val ? val : "");
	exit(2);
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


/* Defaults, the --config files, the command line; --help and --version
 * exit here, and so does a bad option (2) */
static void parse(int argc, char *argv[])
{
	struct agent_conf *c = &g.c;
	const struct opt *action = NULL;
	char why[512];

	if (opts_defaults(agent_opts, c, 0, why, sizeof(why)) ||
	    opts_parse(agent_opts, c, argc, argv, OPTS_ARGS_NONE, NULL,
		       &action, why, sizeof(why)))
		die(why, NULL);
	if (action) {
		usage();
		exit(0);
	}
	if (c->want_version) {
		(void)printf("sippush-agent %s\n", SIPPUSH_VERSION);
		exit(0);
	}
	log_level_set((enum log_level)c->log_level);
	if (!c->auth_pass[0] && getenv("SIPPUSH_AUTH_PASS"))
		str_ncpy(c->auth_pass, getenv("SIPPUSH_AUTH_PASS"),
			 sizeof(c->auth_pass));
	(void)unsetenv("SIPPUSH_AUTH_PASS");   /* not the handlers' */
	if (!c->aor[0] || !c->registrar[0])
		die("--aor and --registrar are required", NULL);
	if (!c->appn)
		die("at least one --app ID=HANDLER is required", NULL);
	if (c->trust_cert[0] && !sip_tls_set())
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
	if (g.c.tls_host[0])
		str_ncpy(host, g.c.tls_host, sizeof(host));
	else if (pl_set_str(&pl, g.c.registrar), !uri_decode(&u, &pl))
		(void)pl_strcpy(&u.host, host, sizeof(host));

	err = tlsverify_sip_add(tlsp, sip, &g.c.sip_tls,
				g.c.tls_cert[0] ? g.c.tls_cert : NULL,
				g.c.tls_ca[0] ? g.c.tls_ca : NULL,
				host[0] ? host : NULL, why, sizeof(why));
	if (!err && g.c.trust_cert[0]) {
		err = tlspeer_require_name(*tlsp, g.c.trust_cert);
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
	int err, sdfd;

	parse(argc, argv);

	err = libre_init();
	if (err)
		die("libre_init failed", NULL);
	log_route_libre();

	/* ours alone: the instance, seen pushes, session-mode spool */
	err = safedir_open(&sdfd, g.c.state_dir, 0700);
	if (err == EPERM)
		die("--state-dir: group/world-writable and not ours: refused",
		    g.c.state_dir);
	if (err)
		die("--state-dir: cannot open or create (a symlink is "
		    "refused)", g.c.state_dir);
	(void)close(sdfd);
	if (!g.c.instance[0] && receiver_instance_load(g.c.instance,
						     sizeof(g.c.instance),
						     g.c.state_dir))
		die("--state-dir: cannot keep the instance in", g.c.state_dir);

	err = sip_alloc(&sip, NULL, 1024, 1024, 1024,
			"sippush-agent/" SIPPUSH_VERSION, NULL, NULL);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_UDP, &g.c.sip);
	err = err ? err : sip_transp_add(sip, SIP_TRANSP_TCP, &g.c.sip);
	if (err) {
		(void)re_fprintf(stderr, "sippush-agent: --sip %J: cannot "
				 "listen (%s)\n", &g.c.sip, strerror(err));
		return 1;
	}
	if (sip_tls_set() && tls_add(sip, &tls))
		return 1;
	/* libre takes every TCP connection and waits 900 s for a message */
	err = connguard_alloc(&g.guard_tcp, &g.c.sip, &g.c.guard);
	if (!err && sip_tls_set())
		err = connguard_alloc(&g.guard_tls, &g.c.sip_tls, &g.c.guard);
	if (err) {
		(void)fprintf(stderr, "sippush-agent: cannot guard the SIP "
			      "listeners: %s\n", strerror(err));
		return 1;
	}

	memset(&rc, 0, sizeof(rc));
	rc.aor = g.c.aor;
	rc.registrar = g.c.registrar;
	rc.instance = g.c.instance;
	rc.auth_user = g.c.auth_user[0] ? g.c.auth_user : NULL;
	rc.auth_pass = g.c.auth_pass[0] ? g.c.auth_pass : NULL;
	rc.appv = g.c.appv;
	rc.appn = g.c.appn;
	rc.trust = g.c.trust;
	rc.ntrust = g.c.ntrust;
	rc.trust_udp = g.c.trust_udp;
	rc.trust_tls_only = g.c.trust_cert[0] != '\0';
	rc.pushes_any_flow = g.c.any_flow;
	rc.state_dir = g.c.state_dir;
	rc.expires = g.c.expires;
	rc.retry_ms = g.c.retry_ms;
	rc.reg_id = 1;
	rc.require_pref = !g.c.no_pref;
	rc.fetch_max = (size_t)g.c.fetch_max;
	rc.fetch_timeout_ms = g.c.fetch_timeout_s * 1000;
	rc.allow_private_fetch = g.c.allow_private;
	rc.fetch_allowv = g.c.fetch_allow;
	rc.fetch_allown = g.c.nfetch_allow;
	if (g.c.nsubscribe) {
		if (!g.c.dev_cap[0] &&
		    !(g.c.vendor[0] && g.c.model[0] && g.c.version[0])) {
			(void)fprintf(stderr, "sippush-agent: --subscribe needs "
				      "--dev-cap or --vendor, --model and "
				      "--version\n");
			return 2;
		}
		for (size_t i = 0; i < g.c.nsubscribe; i++)
			g.c.subscribev[i] = g.c.subscribe[i];
		rc.subscribe = g.c.subscribe[0];
		rc.subscribev = g.c.subscribev;
		rc.subscriben = g.c.nsubscribe;
		for (size_t i = 0; i < g.c.appn; i++) {
			bool on = !g.c.nsub_apps;

			for (size_t j = 0; j < g.c.nsub_apps; j++)
				on |= !strcmp(g.c.sub_apps[j], g.c.ids[i]);
			g.c.appv[i].subscribe = on;
		}
	}
	rc.vendor = g.c.vendor[0] ? g.c.vendor : NULL;
	rc.model = g.c.model[0] ? g.c.model : NULL;
	rc.version = g.c.version[0] ? g.c.version : NULL;
	rc.dev_cap = g.c.dev_cap[0] ? g.c.dev_cap : NULL;
	rc.ppi = g.c.ppi[0] ? g.c.ppi : NULL;
	rc.sub_expires = g.c.sub_expires;
	rc.session_max = g.c.session_max;
	rc.min_se = g.c.min_se;
	rc.max_sessions = g.c.max_sessions;
	rc.msrp_laddr = sa_af(&g.c.msrp) != AF_UNSPEC ? &g.c.msrp : NULL;
	rc.msrp_setup = g.c.msrp_setup;
	rc.msrp_cert = g.c.msrp_cert[0] ? g.c.msrp_cert : NULL;

	{
		struct sink_conf skc = {g.c.exec_max, g.c.exec_timeout_s,
					g.c.state_dir};

		err = sink_alloc(&g.sink, &skc, done_h, NULL);
		for (size_t i = 0; !err && i < g.c.appn; i++)
			err = sink_add(g.sink, g.c.ids[i], g.c.handlers[i]);
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

	plog(SIPPUSH_LOG_INFO, MOD, "%s (%s) on %J, registering at %s", g.c.aor,
	     g.c.instance, &g.c.sip, g.c.registrar);
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
