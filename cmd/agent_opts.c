/**
 * @file agent_opts.c  sippush-agent's options: one row each (rt/opts.h)
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include <sippush/cidr.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "receiver/sink.h"
#include "rt/connguard.h"
#include "rt/opts.h"
#include "agent_opts.h"

#define CF(f)  .off = offsetof(struct agent_conf, f), \
	.size = sizeof(((struct agent_conf *)0)->f)
#define LIST(f, n, cap)  .off = offsetof(struct agent_conf, f), \
	.size = sizeof(((struct agent_conf *)0)->f[0]), \
	.noff = offsetof(struct agent_conf, n), .max = (cap)
#define REP  OPTS_REPEAT


static int sip_uri(struct opts_ctx *ctx, const char *v)
{
	struct uri u;
	struct pl pl;

	pl_set_str(&pl, v);
	if (uri_decode(&u, &pl) || strpbrk(v, "<>\r\n ")) {
		ctx->why = "not a SIP URI";
		return EINVAL;
	}
	return 0;
}


/* Event parameters are quoted strings: no quote, backslash or control */
static int quoted(struct opts_ctx *ctx, const char *v)
{
	if (!*v || strpbrk(v, "\"\\\r\n")) {
		ctx->why = "empty, or has a quote";
		return EINVAL;
	}
	return 0;
}


static int dev_cap(struct opts_ctx *ctx, const char *v)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		ctx->why = "must be an http(s) URL";
		return EINVAL;
	}
	return quoted(ctx, v);
}


static int readable(struct opts_ctx *ctx, const char *v)
{
	if (access(v, R_OK)) {
		ctx->why = "cannot read";
		return EACCES;
	}
	return 0;
}


/* "mms.ua=dir:/path": the handler checked (sink.h) */
static int app_set(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;
	const char *eq;
	const size_t i = c->appn;
	int err;

	if (!v) {
		c->appn = 0;
		return 0;
	}
	eq = strchr(v, '=');
	if (!eq || eq == v) {
		ctx->why = "use ID=dir:/path or ID=exec:/path";
		return EINVAL;
	}
	if (i >= MAX_APPS)
		return E2BIG;
	if ((size_t)(eq - v) >= sizeof(c->ids[i]) ||
	    strlen(eq + 1) >= sizeof(c->handlers[i]))
		return ENAMETOOLONG;
	err = sink_check(eq + 1, &ctx->why);
	if (err)
		return err;
	memcpy(c->ids[i], v, (size_t)(eq - v));
	c->ids[i][eq - v] = '\0';
	str_ncpy(c->handlers[i], eq + 1, sizeof(c->handlers[i]));
	memset(&c->appv[i], 0, sizeof(c->appv[i]));
	c->appv[i].id = c->ids[i];
	c->appn = i + 1;
	return 0;
}


static int accept_set(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;
	const char *eq = v ? strchr(v, '=') : NULL;

	if (!v)
		return 0;
	for (size_t i = 0; eq && i < c->appn; i++) {
		if (strlen(c->ids[i]) == (size_t)(eq - v) &&
		    !strncmp(c->ids[i], v, (size_t)(eq - v))) {
			str_ncpy(c->accepts[i], eq + 1, sizeof(c->accepts[i]));
			c->appv[i].accept = c->accepts[i];
			return 0;
		}
	}
	ctx->why = "use ID=type/sub[,type/sub] after its --app";
	return EINVAL;
}


/* A secret kept out of argv (ps shows argv): the file's first line */
static int auth_pass_file(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;
	FILE *f;
	bool ok;

	if (!v)
		return 0;
	f = fopen(v, "re");
	if (!f) {
		ctx->why = "cannot read";
		return EACCES;
	}
	ok = fgets(c->auth_pass, sizeof(c->auth_pass), f) != NULL;
	(void)fclose(f);
	c->auth_pass[ok ? strcspn(c->auth_pass, "\r\n") : 0] = '\0';
	if (!c->auth_pass[0]) {
		ctx->why = "empty";
		return EINVAL;
	}
	return 0;
}


static int msrp_setup(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;

	if (!v || !strcmp(v, "auto"))
		c->msrp_setup = RECEIVER_MSRP_AUTO;
	else if (!strcmp(v, "active"))
		c->msrp_setup = RECEIVER_MSRP_ACTIVE;
	else if (!strcmp(v, "passive"))
		c->msrp_setup = RECEIVER_MSRP_PASSIVE;
	else {
		ctx->why = "auto, active or passive";
		return EINVAL;
	}
	return 0;
}


static int via_flow(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;

	if (!v || !strcmp(v, "yes"))
		c->any_flow = false;
	else if (!strcmp(v, "no"))
		c->any_flow = true;
	else {
		ctx->why = "yes or no";
		return EINVAL;
	}
	return 0;
}


/* --version alone prints ours (every program has it); --version=V is
 * the Event parameter */
static int version_set(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;
	int err;

	if (!v) {
		c->version[0] = '\0';
		c->want_version = false;
		return 0;
	}
	if (!*v) {
		c->want_version = true;
		return 0;
	}
	err = quoted(ctx, v);
	if (!err && strlen(v) >= sizeof(c->version))
		err = ENAMETOOLONG;
	if (!err)
		str_ncpy(c->version, v, sizeof(c->version));
	return err;
}


static int log_level_opt(struct opts_ctx *ctx, const char *v)
{
	struct agent_conf *c = ctx->conf;
	enum log_level lvl = SIPPUSH_LOG_INFO;

	if (v && log_level_decode(&lvl, v)) {
		ctx->why = "error, warn, info or debug";
		return EINVAL;
	}
	c->log_level = (int)lvl;
	return 0;
}


const struct opt agent_opts[] = {
	{"aor", .type = OPTS_STR, CF(aor), .arg = "URI",
	 .help = "the user's public identity (required)"},
	{"registrar", .type = OPTS_STR, CF(registrar), .arg = "URI",
	 .help = "where to REGISTER: sippushd or a SIP/IP core (required)"},
	{"sip", .type = OPTS_ADDR, CF(sip), .def = "127.0.0.1:5062",
	 .arg = "ADDR:PORT", .help = "own SIP address, UDP and TCP"},
	{"app", .type = OPTS_FUNC, .flags = REP, .set = app_set,
	 .arg = "ID=HANDLER", .help = "push application and its handler "
	 "(at least one); HANDLER is dir:/path or exec:/path; the first is "
	 "the default when a push names no application"},
	{"accept", .type = OPTS_FUNC, .set = accept_set, .arg = "ID=TYPES",
	 .help = "content types the app takes (comma list)",
	 .defhelp = "any"},
	{"instance", .type = OPTS_STR, CF(instance), .arg = "URN",
	 .help = "+sip.instance", .defhelp = "generated once, kept in "
	 "--state-dir"},
	{"state-dir", .type = OPTS_STR, CF(state_dir), .min = 1,
	 .def = "sippush-agent", .arg = "DIR",
	 .help = "instance and seen pushes"},
	{"trust", .type = OPTS_CIDRS, .flags = REP,
	 LIST(trust, ntrust, MAX_TRUST), .def = "127.0.0.0/8", .arg = "CIDR",
	 .help = "where P-Asserted-Identity is believed from; give the "
	 "P-CSCF's or registrar's /32"},
	{"trust-udp", .type = OPTS_FLAG, CF(trust_udp), .help = "believe "
	 "--trust peers over UDP too (a forged source address is enough "
	 "there); without it: only over TCP/TLS"},
	{"trust-cert", .type = OPTS_STR, CF(trust_cert), .min = 1,
	 .arg = "NAME", .help = "believe only TLS peers, and require every "
	 "TLS peer (registrar and listener alike) to present a verified "
	 "certificate naming NAME"},
	{"pushes-via-flow", .type = OPTS_FUNC, .set = via_flow, .def = "yes",
	 .arg = "yes|no", .help = "take trusted pushes only on the flow our "
	 "REGISTER went out on (yes: what a phone does with its P-CSCF); no: "
	 "from any --trust peer"},
	{"auth-user", .type = OPTS_STR, CF(auth_user), .arg = "U",
	 .help = "digest user name"},
	{"auth-pass-file", .type = OPTS_FUNC, .set = auth_pass_file,
	 .arg = "F", .help = "the digest password: the first line of F (or "
	 "the environment's SIPPUSH_AUTH_PASS)"},
	{"auth-pass", .type = OPTS_STR, CF(auth_pass), .arg = "P",
	 .help = "the digest password itself (shows in ps)"},
	{"expires", .type = OPTS_U32, CF(expires), .max = 86400 * 7,
	 .def = "3600", .arg = "S", .help = "registration lifetime asked"},
	{"reg-retry", .type = OPTS_U32, CF(retry_ms), .min = 1, .max = 3600,
	 .scale = 1000, .def = "30", .arg = "S", .help = "after a failed "
	 "REGISTER or SUBSCRIBE (or a lost flow), try again in S s"},
	{"no-require-pref", .type = OPTS_FLAG, CF(no_pref),
	 .help = "do not send Require: pref"},
	{"exec-max", .type = OPTS_U32, CF(exec_max), .min = 1,
	 .max = SINK_EXEC_MAX, .def = "8", .arg = "N",
	 .help = "exec handlers at once"},
	{"exec-timeout", .type = OPTS_U32, CF(exec_timeout_s), .min = 1,
	 .max = 3600, .def = "30", .arg = "S",
	 .help = "kill an exec handler after S s"},
	{"fetch-max", .type = OPTS_SIZE, CF(fetch_max), .min = 1,
	 .max = 1ull << 32, .def = "16M", .arg = "SIZE",
	 .help = "content-indirection size cap"},
	{"fetch-timeout", .type = OPTS_U32, CF(fetch_timeout_s), .min = 1,
	 .max = 3600, .def = "30", .arg = "S",
	 .help = "content-indirection time limit"},
	{"allow-private-fetch", .type = OPTS_FLAG, CF(allow_private),
	 .help = "fetch from loopback/private addresses too"},
	{"fetch-allow", .type = OPTS_CIDRS, .flags = REP,
	 LIST(fetch_allow, nfetch_allow, MAX_TRUST), .arg = "CIDR",
	 .help = "content may also come from this non-public range (checked "
	 "on every connection, redirects included)"},
	{"subscribe", .type = OPTS_STRS, .flags = REP, .check = sip_uri,
	 LIST(subscribe, nsubscribe, MAX_PSA), .arg = "URI",
	 .help = "after registering, SUBSCRIBE (ua-profile, oma-app) at URI: "
	 "a Push Sender Agent's URI or the AoR; again for each PSA the "
	 "capabilities go to"},
	{"subscribe-app", .type = OPTS_STRS, .flags = REP,
	 LIST(sub_apps, nsub_apps, MAX_APPS), .arg = "ID",
	 .help = "subscribe only for these apps", .defhelp = "every --app"},
	{"vendor", .type = OPTS_STR, CF(vendor), .check = quoted, .arg = "V",
	 .help = "oma-app Event parameter vendor"},
	{"model", .type = OPTS_STR, CF(model), .check = quoted, .arg = "M",
	 .help = "oma-app Event parameter model"},
	{"ua-version", .type = OPTS_STR, CF(version), .check = quoted,
	 .arg = "V", .help = "oma-app Event parameter version"},
	{"dev-cap", .type = OPTS_STR, CF(dev_cap), .check = dev_cap,
	 .arg = "URL", .help = "UAProf document URL (Event dev-cap)"},
	{"ppi", .type = OPTS_STR, CF(ppi), .check = sip_uri, .arg = "URI",
	 .help = "P-Preferred-Identity in SUBSCRIBE"},
	{"sub-expires", .type = OPTS_U32, CF(sub_expires), .min = 1,
	 .max = 30 * 86400, .def = "86400", .arg = "S",
	 .help = "subscription lifetime asked"},
	{"session-max", .type = OPTS_SIZE, CF(session_max), .min = 1,
	 .def = "1G", .arg = "SIZE",
	 .help = "largest file taken by session mode"},
	{"min-se", .type = OPTS_U32, CF(min_se), .min = 1, .max = 86400,
	 .def = "90", .arg = "S", .help = "shortest session-timer interval"},
	{"max-sessions", .type = OPTS_U32, CF(max_sessions), .min = 1,
	 .max = 1000, .def = "8", .arg = "N",
	 .help = "session-mode pushes at once (more: 486)"},
	{"msrp", .type = OPTS_ADDR, CF(msrp), .arg = "ADDR:PORT",
	 .help = "MSRP listen address", .defhelp = "--sip's, any port"},
	{"msrp-setup", .type = OPTS_FUNC, .set = msrp_setup, .def = "auto",
	 .arg = "auto|active|passive", .help = "who opens a session's MSRP "
	 "connection when the sender offers either (RFC 6135): we (active; "
	 "auto: when the registrar saw us behind a NAT) or the sender"},
	{"msrp-cert", .type = OPTS_STR, CF(msrp_cert), .check = readable,
	 .arg = "PEM", .help = "certificate + key: MSRP over TLS (msrps) "
	 "only, its SHA-256 fingerprint in the SDP answer"},
	{"sip-tls", .type = OPTS_ADDR, CF(sip_tls), .arg = "ADDR:PORT",
	 .help = "SIP over TLS too: a registrar URI with ;transport=tls (or "
	 "sips:) goes over it; pushes come in on it (--tls-cert)"},
	{"tls-cert", .type = OPTS_STR, CF(tls_cert), .arg = "PEM",
	 .help = "our certificate + key"},
	{"tls-ca", .type = OPTS_STR, CF(tls_ca), .arg = "FILE",
	 .help = "CAs of the registrar's certificate",
	 .defhelp = "the system's"},
	{"tls-verify-host", .type = OPTS_STR, CF(tls_host), .arg = "N",
	 .help = "the name it must carry",
	 .defhelp = "the registrar URI's host"},
	/* a terminal is reached by its core or PSA: a few connections */
	{"sip-tcp-max", .type = OPTS_U32, CF(guard.max_total),
	 .max = 1000000, .def = "64", .arg = "N",
	 .help = "SIP TCP/TLS connections accepted at most"},
	{"sip-tcp-max-per-peer", .type = OPTS_U32, CF(guard.max_per_peer),
	 .max = 1000000, .def = "16", .arg = "N",
	 .help = "SIP TCP/TLS connections from one address"},
	{"sip-tcp-first-msg", .type = OPTS_U32, CF(guard.first_ms),
	 .max = 900, .scale = 1000, .def = "10", .arg = "S",
	 .help = "each must send a whole message within S s (0: no limit)"},
	{"config", .type = OPTS_CONFIG, .arg = "FILE", .help = "options from "
	 "a file (name value per line; the command line overrides; see "
	 "etc/sippush-agent.conf)"},
	{"log-level", .type = OPTS_FUNC, .set = log_level_opt, .def = "info",
	 .arg = "LEVEL", .help = "error, warn, info, debug"},
	{"help", 'h', OPTS_HELP, .help = "this help"},
	{"version", .type = OPTS_FUNC, .flags = OPTS_OPTARG,
	 .set = version_set, .arg = "V", .help = "without V: the agent's "
	 "version; with: as --ua-version"},
	{NULL},
};
