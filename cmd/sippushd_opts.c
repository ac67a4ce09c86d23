/**
 * @file sippushd_opts.c  sippushd's options: one row each (opts.h)
 *
 * OPTS_RELOAD marks what a SIGHUP applies: the sender's rows (sender_reload()
 * takes the whole reloaded sender_conf), what api_reload() takes over,
 * the secrets and the log level. The rest (the addresses, identity,
 * store, TLS and size limits) needs a restart: opts_reload() keeps them.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include <sippush/cidr.h>
#include <sippush/log.h>
#include "api/api.h"
#include "core/appid.h"
#include "core/imshdr.h"
#include "core/initiator.h"
#include "core/param.h"
#include "core/promlabel.h"
#include "rt/connguard.h"
#include "rt/opts.h"
#include "sender/sender.h"
#include "store/store.h"
#include "sippushd_opts.h"

#define CF(f)  .off = offsetof(struct conf, f), \
	.size = sizeof(((struct conf *)0)->f)
#define LIST(f, n, cap)  .off = offsetof(struct conf, f), \
	.size = sizeof(((struct conf *)0)->f[0]), \
	.noff = offsetof(struct conf, n), .max = (cap)
#define R  OPTS_RELOAD
#define REP  OPTS_REPEAT


static int sip_uri(struct opts_ctx *ctx, const char *v)
{
	struct uri uri;
	struct pl pl;

	(void)ctx;
	pl_set_str(&pl, v);
	return uri_decode(&uri, &pl) ? EINVAL : 0;
}


/* --store: a backend this build has */
static int store_url(struct opts_ctx *ctx, const char *v)
{
	if (!store_backend(v) || !strcmp(v, "sqlite:")) {
		ctx->why = "sqlite:PATH or a PostgreSQL URL (this build has "
			   "PostgreSQL only when libpq was found)";
		return EINVAL;
	}
	return 0;
}


/* --orig-ioi: a token (RFC 7315 orig-ioi = gen-value) */
static int ioi_token(struct opts_ctx *ctx, const char *v)
{
	if (!ims_token_valid(v)) {
		ctx->why = "a token of at most 64 characters";
		return EINVAL;
	}
	return 0;
}


/* --reg-watch: a sip: URI only */
static int sip_aor(struct opts_ctx *ctx, const char *v)
{
	struct uri uri;
	struct pl pl;

	pl_set_str(&pl, v);
	if (uri_decode(&uri, &pl) || pl_strcasecmp(&uri.scheme, "sip")) {
		ctx->why = "a sip: URI";
		return EINVAL;
	}
	return 0;
}


static int http_url(struct opts_ctx *ctx, const char *v)
{
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		ctx->why = "an http:// or https:// URL";
		return EINVAL;
	}
	return 0;
}


/* A SIP URI as a Contact takes it: sip: or sips:, nothing to quote */
static int contact_uri(struct opts_ctx *ctx, const char *v)
{
	struct uri u;
	struct pl pl;

	pl_set_str(&pl, v);
	ctx->why = "a sip: or sips: URI with a host, no <>, quotes or spaces";
	if ((strncmp(v, "sip:", 4) && strncmp(v, "sips:", 5)) ||
	    strpbrk(v, "<>\" \t,") || uri_decode(&u, &pl) || !pl_isset(&u.host))
		return EINVAL;
	ctx->why = NULL;
	return 0;
}


/* A node's name: a metrics label as it is, so [A-Za-z0-9._-] */
static int node_name(struct opts_ctx *ctx, const char *v)
{
	ctx->why = "1 to 63 of A-Z a-z 0-9 . _ -";
	if (!promlabel_value_ok(v))
		return EINVAL;
	ctx->why = NULL;
	return 0;
}


/* "mms.ua,syncml.dm": application IDs, nothing that breaks a list */
static int app_list(struct opts_ctx *ctx, const char *v)
{
	ctx->why = "a comma list of application IDs";
	if (!*v || strpbrk(v, " \t;\"<>") || strstr(v, ",,") ||
	    *v == ',' || v[strlen(v) - 1] == ',')
		return EINVAL;
	ctx->why = NULL;
	return 0;
}


static int http_host(struct opts_ctx *ctx, const char *v)
{
	(void)ctx;
	return !*v || strpbrk(v, " /@[]\"") ? EINVAL : 0;
}


static int plmn_domain(struct opts_ctx *ctx, const char *v)
{
	(void)ctx;
	return !*v || strpbrk(v, " @;<>\"/") ? EINVAL : 0;
}


/* a secret on the command line shows in ps: sippushd says so */
static int api_token(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;

	(void)v;
	if (ctx->argv)
		cf->argv_secret = true;
	return 0;
}


/* --gruu: what sippushd assumes of the core's GRUUs */
static int gruu_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;

	if (!v || !strcmp(v, "construct"))
		cf->sc.gruu_given_only = false;
	else if (!strcmp(v, "given-only"))
		cf->sc.gruu_given_only = true;
	else {
		ctx->why = "construct or given-only";
		return EINVAL;
	}
	return 0;
}


static int sync_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;

	if (!v || !strcmp(v, "full"))
		cf->so.sync = STORE_SYNC_FULL;
	else if (!strcmp(v, "full-inline"))
		cf->so.sync = STORE_SYNC_FULL_INLINE;
	else if (!strcmp(v, "normal"))
		cf->so.sync = STORE_SYNC_NORMAL;
	else {
		ctx->why = "full, full-inline or normal";
		return EINVAL;
	}
	return 0;
}


/* "mms.ua method=notify" */
static int app_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;
	const size_t i = cf->sc.prefn;
	char app[64], met[16];

	if (!v) {
		cf->sc.prefn = 0;
		return 0;
	}
	if (i >= MAX_PREFS)
		return E2BIG;
	if (re_regex(v, strlen(v), "[^ \t]+[ \t]+method=[a-z]+", NULL, NULL,
		     NULL) ||
	    sscanf(v, "%63s method=%15s", app, met) != 2 ||
	    (strcmp(met, "auto") && strcmp(met, "notify"))) {
		ctx->why = "\"ID method=auto|notify\"";
		return EINVAL;
	}
	str_ncpy(cf->pref_app[i], app, sizeof(cf->pref_app[i]));
	str_ncpy(cf->pref_method[i], met, sizeof(cf->pref_method[i]));
	cf->prefs[i].app = cf->pref_app[i];
	cf->prefs[i].method = cf->pref_method[i];
	cf->sc.prefn = i + 1;
	return 0;
}


/* "ICSI=ARI" */
static int icsi_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;
	const size_t i = cf->sc.icsin;
	struct pl in, name, ari;

	if (!v) {
		cf->sc.icsin = 0;
		return 0;
	}
	if (i >= MAX_ICSI)
		return E2BIG;
	pl_set_str(&in, v);
	if (appid_alias_decode(&name, &ari, &in) ||
	    pl_strcpy(&name, cf->icsi_name[i], sizeof(cf->icsi_name[i])) ||
	    pl_strcpy(&ari, cf->icsi_ari[i], sizeof(cf->icsi_ari[i]))) {
		ctx->why = "ICSI=ARI, e.g. urn:urn-7:3gpp-service.ims.icsi."
			"oma.push=mms.ua";
		return EINVAL;
	}
	cf->icsis[i].name = cf->icsi_name[i];
	cf->icsis[i].ari = cf->icsi_ari[i];
	cf->sc.icsin = i + 1;
	return 0;
}


static int pap_app_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;
	struct pl in = PL_INIT, norm;

	cf->pap_app[0] = '\0';
	if (!v)
		return 0;
	pl_set_str(&in, v);
	if (appid_normalize(&norm, &in) || !pl_is_token(&norm) ||
	    pl_strcpy(&norm, cf->pap_app, sizeof(cf->pap_app))) {
		cf->pap_app[0] = '\0';
		return EINVAL;
	}
	return 0;
}


static int initiator_set(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;
	int err;

	if (!v) {
		cf->ninit = 0;
		return 0;
	}
	if (cf->ninit >= INITIATOR_MAX)
		return E2BIG;
	err = initiator_decode(&cf->initv[cf->ninit], v);
	if (err)
		return err;
	++cf->ninit;
	if (ctx->argv && (strstr(v, "token=") || strstr(v, "pass=")))
		cf->argv_secret = true;
	return 0;
}


static int log_level_opt(struct opts_ctx *ctx, const char *v)
{
	struct conf *cf = ctx->conf;
	enum log_level lvl = SIPPUSH_LOG_INFO;

	if (v && log_level_decode(&lvl, v)) {
		ctx->why = "error, warn, info or debug";
		return EINVAL;
	}
	cf->log_level = (int)lvl;
	return 0;
}


const struct opt sippushd_opts[] = {
	{"sip", .type = OPTS_ADDR, CF(sip), .def = "127.0.0.1:5060",
	 .arg = "ADDR:PORT", .help = "SIP on UDP and TCP"},
	{"http", .type = OPTS_ADDR, CF(http), .def = "127.0.0.1:8080",
	 .arg = "ADDR:PORT", .help = "HTTP API"},
	{"db", .type = OPTS_STR, CF(db), .def = "sippush.db", .arg = "PATH",
	 .help = "SQLite file (without --store), and the start of the "
	 "names of the token file and spool"},
	{"store", .type = OPTS_STR, CF(store), .check = store_url,
	 .arg = "URL", .help = "the store: sqlite:PATH, or PostgreSQL "
	 "(postgresql://... or a libpq conninfo)", .defhelp = "sqlite:<db>"},
	{"sync", .type = OPTS_FUNC, .set = sync_set, .def = "full",
	 .arg = "full|full-inline|normal", .help = "durability of a "
	 "commit (full survives power loss, normal only process crashes; "
	 "full-inline: as full, SQLite's fsync on the loop, not its own "
	 "thread; PostgreSQL: synchronous_commit on or local)"},
	{"identity", .type = OPTS_STR, CF(identity), .check = sip_uri,
	 .def = "sip:push@localhost", .arg = "URI",
	 .help = "From and P-Asserted-Identity"},
	{"orig-ioi", .type = OPTS_STR, CF(orig_ioi), .check = ioi_token,
	 .arg = "NAME", .help = "orig-ioi in the P-Charging-Vector of "
	 "every request sippushd sends (the operator it charges as)"},
	{"trust", .type = OPTS_CIDRS, .flags = R | REP,
	 LIST(trust, ntrust, MAX_TRUST), .def = "127.0.0.0/8", .arg = "CIDR",
	 .help = "peers whose identity is believed, over TCP and TLS only: a "
	 "UDP source is forgeable"},
	{"trust-udp", .type = OPTS_FLAG, .flags = R, CF(sc.trust_udp),
	 .help = "believe --trust peers over UDP too (spoofable)"},
	{"trust-cert", .type = OPTS_STR, .flags = R, CF(trust_cert),
	 .min = 1, .arg = "NAME", .help = "believe only TLS peers (within "
	 "--trust) whose certificate, verified against --tls-ca, names NAME"},
	{"outbound", .type = OPTS_STR, CF(outbound), .check = sip_uri,
	 .arg = "URI", .help = "send every request through this SIP/IP core"},
	{"api-token", .type = OPTS_STR, .flags = R, CF(token),
	 .check = api_token, .arg = "TOKEN", .help = "the admin's "
	 "Authorization: Bearer TOKEN (shows in ps: prefer --api-token-file "
	 "or SIPPUSH_API_TOKEN); none given: one generated at the first "
	 "start, printed and kept in <db>.token (mode 0600)"},
	{"api-token-file", .type = OPTS_STR, .flags = R, CF(token_file),
	 .arg = "FILE", .help = "the admin token from a file"},
	{"http-host", .type = OPTS_STRS, .flags = R | REP,
	 LIST(http_host, ac.http_hostn, MAX_HOSTS), .check = http_host,
	 .arg = "NAME", .help = "a name clients reach the API by (Host, "
	 "Origin); * accepts any", .defhelp = "its address, and localhost on "
	 "loopback"},
	{"config", .type = OPTS_CONFIG, .arg = "FILE",
	 .help = "options from a file (name value per line)"},
	{"realm", .type = OPTS_STR, CF(realm), .def = "sippush",
	 .arg = "REALM", .help = "digest realm"},
	{"max-push-size", .type = OPTS_SIZE, CF(ac.max_push_size), .min = 1,
	 .max = 1ull << 30, .def = "16M", .arg = "SIZE",
	 .help = "inline content per push"},
	{"max-queue", .type = OPTS_U32, .flags = R, CF(sc.max_queue),
	 .min = 1, .max = 100000000, .def = "1000000", .arg = "N",
	 .help = "pending pushes kept at most"},
	{"max-backlog", .type = OPTS_U32, .flags = R, CF(sc.max_backlog),
	 .max = 100000000, .def = "20000", .arg = "N", .help = "new pushes "
	 "get 503 while more than N deliveries wait to go out (0: no bound)"},
	{"max-batch", .type = OPTS_U32, .flags = R, CF(ac.max_batch),
	 .min = 1, .max = 100000, .def = "1000", .arg = "N",
	 .help = "pushes per batch request"},
	{"ttl", .type = OPTS_DURATION, .flags = R, CF(sc.default_ttl),
	 .min = 1, .max = 365 * 86400, .def = "1d", .arg = "DURATION",
	 .help = "default push lifetime"},
	{"max-ttl", .type = OPTS_DURATION, .flags = R, CF(sc.max_ttl),
	 .min = 1, .max = 365 * 86400, .def = "30d", .arg = "DURATION",
	 .help = "longest lifetime accepted"},
	{"retry-base", .type = OPTS_U32, .flags = R, CF(sc.retry_base_ms),
	 .min = 1, .max = 3600000, .def = "1000", .arg = "MS",
	 .help = "first retry delay"},
	{"retry-max", .type = OPTS_U32, .flags = R, CF(sc.retry_max_ms),
	 .min = 1, .max = 86400000, .def = "60000", .arg = "MS",
	 .help = "longest retry delay"},
	{"pace", .type = OPTS_U32, .flags = R, CF(sc.pace_rate),
	 .max = 10000000, .def = "0", .arg = "N",
	 .help = "at most N requests/s toward the core (0: off)"},
	{"pace-burst", .type = OPTS_U32, .flags = R, CF(sc.pace_burst),
	 .min = 1, .max = 10000000, .arg = "N", .help = "token bucket depth",
	 .defhelp = "--pace's N"},
	{"retention", .type = OPTS_DURATION, .flags = R,
	 CF(sc.retention_ms), .scale = 1000, .def = "7d", .arg = "DURATION",
	 .help = "keep final pushes this long"},
	{"content-base", .type = OPTS_STR, CF(content_base), .check = http_url,
	 .arg = "URL", .help = "base of content-indirection URLs",
	 .defhelp = "http://<--http>"},
	{"content-ttl", .type = OPTS_DURATION, .flags = R,
	 CF(sc.content_ttl), .max = 30 * 86400, .def = "1h",
	 .arg = "DURATION", .help = "content stays fetchable after the TTL"},
	{"gruu", .type = OPTS_FUNC, .flags = R, .set = gruu_set,
	 .def = "construct", .arg = "construct|given-only",
	 .help = "through a core that gave a terminal no GRUU: build "
	 "AoR;gr=instance as the core would (construct), or address the "
	 "public identity with the instance as a caller preference "
	 "(given-only)"},
	{"relay-is-delivered", .type = OPTS_FLAG, .flags = R,
	 CF(sc.relay_is_delivered),
	 .help = "a 202 to MESSAGE counts as delivered"},
	{"min-expires", .type = OPTS_U32, .flags = R, CF(sc.min_expires),
	 .min = 1, .max = 86400, .def = "60", .arg = "S",
	 .help = "shortest REGISTER expiry"},
	{"max-expires", .type = OPTS_U32, .flags = R, CF(sc.max_expires),
	 .min = 1, .max = 30 * 86400, .def = "86400", .arg = "S",
	 .help = "longest REGISTER expiry"},
	{"flow-timer", .type = OPTS_U32, .flags = R, CF(sc.flow_timer),
	 .max = 86400, .def = "0", .arg = "S", .help = "RFC 5626 outbound: "
	 "ask terminals for a keep-alive every S s (0: none sent, theirs "
	 "apply)"},
	{"udp-rcvbuf", .type = OPTS_SIZE, CF(rcvbuf), .max = 1u << 30,
	 .def = "8M", .arg = "SIZE", .help = "SIP UDP receive buffer"},
	{"min-sub-expires", .type = OPTS_U32, .flags = R,
	 CF(sc.min_sub_expires), .min = 1, .max = 86400, .def = "60",
	 .arg = "S", .help = "shortest SUBSCRIBE expiry"},
	{"max-sub-expires", .type = OPTS_U32, .flags = R,
	 CF(sc.max_sub_expires), .min = 1, .max = 30 * 86400, .def = "86400",
	 .arg = "S", .help = "longest SUBSCRIBE expiry"},
	{"app", .type = OPTS_FUNC, .flags = R | REP, .set = app_set,
	 .arg = "\"ID method=M\"", .help = "per-application preference; M: "
	 "auto or notify (notify: auto uses subscription mode, REFER first)"},
	{"contact-uri", .type = OPTS_STR, CF(contact_uri),
	 .check = contact_uri, .arg = "URI", .help = "the Contact of the "
	 "dialogs sippushd makes (subscriptions, REFER, sessions): a "
	 "cluster's address (Kamailio's dispatcher), so that in-dialog "
	 "requests reach any node", .defhelp = "sip:USER@<its SIP address>"},
	{"node", .type = OPTS_STR, CF(node), .check = node_name,
	 .arg = "NAME", .help = "this node's name (unique in a cluster); "
	 "given, it is a node label on every /metrics sample",
	 .defhelp = "the host name, no label"},
	{"cluster", .type = OPTS_FLAG, CF(cluster), .help = "one node of "
	 "several sharing the --store PostgreSQL database: each delivers "
	 "to the users of the shards it leases, any accepts (--node names "
	 "it, unique)"},
	{"lease-time", .type = OPTS_U32, CF(sc.lease_ms), .min = 3,
	 .max = 600, .scale = 1000, .def = "4", .arg = "S", .help = "with "
	 "--cluster: a shard's lease, renewed every second; a dead node's "
	 "users are taken over after it"},
	{"plain-apps", .type = OPTS_STR, .flags = R, CF(plain_apps),
	 .check = app_list, .arg = "LIST", .help = "applications (comma "
	 "list) whose page-mode pushes also go to terminals registered "
	 "without +g.oma.pusheventapp, as a plain SIP MESSAGE (to those "
	 "whose methods are unknown or list MESSAGE)", .defhelp = "none"},
	{"icsi", .type = OPTS_FUNC, .flags = R | REP, .set = icsi_set,
	 .arg = "ICSI=ARI", .help = "the push application an ICSI names: a "
	 "SUBSCRIBE naming the ICSI (no event-app-id) subscribes to the ARI "
	 "pushes are addressed by"},
	{"allow-private-fetch", .type = OPTS_FLAG,
	 CF(sc.allow_private_fetch),
	 .help = "UAProf documents from loopback/private hosts"},
	{"fetch-proxy", .type = OPTS_STR, CF(fetch_proxy), .check = http_url,
	 .arg = "URL", .help = "UAProf and PAP notification requests through "
	 "this HTTP proxy (*_proxy variables are ignored)",
	 .defhelp = "none"},
	{"uaprof-max", .type = OPTS_SIZE, CF(sc.uaprof_max), .min = 1024,
	 .max = 16u << 20, .def = "256K", .arg = "SIZE",
	 .help = "largest UAProf document read"},
	{"session-expires", .type = OPTS_U32, CF(sc.session_expires),
	 .min = 2, .max = 86400, .def = "1800", .arg = "S",
	 .help = "session-mode RFC 4028 interval"},
	{"msrp-chunk", .type = OPTS_SIZE, CF(sc.msrp_chunk), .min = 256,
	 .max = 4u << 20, .def = "64K", .arg = "SIZE",
	 .help = "MSRP chunk size sent"},
	{"spool", .type = OPTS_STR, CF(spool), .arg = "DIR",
	 .help = "files of multipart pushes (an absolute path, required "
	 "with PostgreSQL)", .defhelp = "<db>.spool"},
	{"max-file-size", .type = OPTS_SIZE, CF(ac.max_file_size), .min = 1,
	 .def = "4G", .arg = "SIZE", .help = "per file of a multipart push"},
	{"msrp-allow", .type = OPTS_CIDRS, .flags = REP,
	 LIST(msrp_allow, sc.msrp_allown, MAX_MSRP_ALLOW), .arg = "CIDR",
	 .help = "MSRP peers allowed in this range; otherwise only the SIP "
	 "peer's own public address"},
	{"msrp", .type = OPTS_ADDR, CF(msrp), .arg = "ADDR:PORT",
	 .help = "MSRP listener for terminals that connect to us (RFC 6135 "
	 "a=setup:actpass: a terminal behind a NAT); not with --msrps",
	 .defhelp = "--sip's address, any port"},
	{"msrps", .type = OPTS_FLAG, CF(sc.msrps), .help = "session mode over "
	 "MSRP/TLS only (the terminal's certificate checked against its SDP "
	 "fingerprint)"},
	{"pap-app", .type = OPTS_FUNC, .flags = R, .set = pap_app_set,
	 .arg = "ID", .help = "PAP: application when the content names none"},
	{"plmn-domain", .type = OPTS_STR, .flags = R, CF(plmn_domain),
	 .check = plmn_domain, .arg = "DOMAIN",
	 .help = "PAP: TYPE=PLMN +E164 -> sip:+E164@DOMAIN"},
	{"notify-allow-private", .type = OPTS_FLAG,
	 CF(sc.notify_allow_private),
	 .help = "PAP result notifications to loopback/private addresses too"},
	{"audit-log", .type = OPTS_STR, .flags = R, CF(audit), .arg = "FILE",
	 .help = "one JSON line per final delivery (reopened on SIGHUP, for "
	 "rotation)"},
	{"initiator", .type = OPTS_FUNC, .flags = R | REP,
	 .set = initiator_set, .arg = "\"NAME token=T user=U pass=P apps=A,B "
	 "rate=N identity=URI [trusted] [admin]\"", .help = "a named push "
	 "initiator; token-file=PATH, pass-file=PATH read the secrets from "
	 "files, token-env=VAR, pass-env=VAR from the environment (token=, "
	 "pass= show in ps); admin: it administers like the --api-token"},
	{"sip-tls", .type = OPTS_ADDR, CF(sip_tls), .arg = "ADDR:PORT",
	 .help = "SIP over TLS too (needs --tls-cert)"},
	{"tls-cert", .type = OPTS_STR, CF(tls_cert), .arg = "PEM",
	 .help = "its certificate and private key"},
	{"tls-ca", .type = OPTS_STR, CF(tls_ca), .arg = "FILE",
	 .help = "CAs that sign the servers we connect to over TLS; the chain "
	 "is verified", .defhelp = "the system's"},
	{"tls-verify-host", .type = OPTS_STR, CF(tls_host), .arg = "NAME",
	 .help = "the name (or IP) their certificate must carry"},
	{"http-cert", .type = OPTS_STR, CF(http_cert), .arg = "PEM",
	 .help = "the HTTP API over HTTPS (with --http-key, or a PEM holding "
	 "both)"},
	{"http-key", .type = OPTS_STR, CF(http_key), .arg = "PEM",
	 .help = "the HTTPS private key"},
	{"http-max-conns", .type = OPTS_U32, CF(ac.max_conns), .min = 1,
	 .max = 100000, .def = "1024", .arg = "N",
	 .help = "HTTP connections at once"},
	{"http-timeout", .type = OPTS_U32, CF(ac.timeout_s), .min = 1,
	 .max = 3600, .def = "30", .arg = "S",
	 .help = "idle HTTP connections closed after S s"},
	{"http-max-conns-per-peer", .type = OPTS_U32, CF(ac.max_conns_peer),
	 .max = 100000, .def = "256", .arg = "N",
	 .help = "HTTP connections from one address (0: no cap)"},
	{"http-intake", .type = OPTS_U32, CF(ac.intake), .min = 1,
	 .max = 100000, .def = "32", .arg = "N", .help = "requests that "
	 "write, taken per loop turn; more wait for the next turn"},
	{"max-notify-queue", .type = OPTS_U32, CF(sc.max_notes), .min = 1,
	 .max = 10000000, .def = "100000", .arg = "N",
	 .help = "PAP result notifications waiting"},
	{"max-terminals", .type = OPTS_U32, .flags = R, CF(sc.max_terms),
	 .min = 1, .max = 100000, .def = "16", .arg = "N",
	 .help = "terminals per user (more: 403)"},
	{"max-subs", .type = OPTS_U32, .flags = R, CF(sc.max_subs), .min = 1,
	 .max = 1000, .def = "8", .arg = "N",
	 .help = "subscriptions per terminal (more: 403)"},
	{"sip-tcp-max", .type = OPTS_U32, CF(guard.max_total),
	 .max = 1000000, .def = "4096", .arg = "N",
	 .help = "SIP TCP/TLS connections at most"},
	{"sip-tcp-max-per-peer", .type = OPTS_U32, CF(guard.max_per_peer),
	 .max = 1000000, .def = "256", .arg = "N",
	 .help = "SIP TCP/TLS connections from one address"},
	{"sip-tcp-first-msg", .type = OPTS_U32, CF(guard.first_ms),
	 .max = 900, .scale = 1000, .def = "10", .arg = "S",
	 .help = "each SIP TCP/TLS connection must send a whole message "
	 "within S s (0: no deadline)"},
	{"reg-watch", .type = OPTS_STRS, .flags = REP,
	 LIST(reg_watch, sc.reg_watchn, MAX_WATCH), .check = sip_aor,
	 .arg = "URI", .help = "SUBSCRIBE to the reg event (RFC 3680) of an "
	 "AoR, through --outbound"},
	{"reg-watch-auto", .type = OPTS_FLAG, CF(sc.reg_watch_auto),
	 .help = "also of every AoR a third-party REGISTER teaches"},
	{"reg-watch-expires", .type = OPTS_U32, CF(sc.reg_watch_expires),
	 .min = 60, .max = 86400, .def = "3600", .arg = "S",
	 .help = "their Expires"},
	{"drain-timeout", .type = OPTS_U32, CF(drain_ms), .max = 3600,
	 .scale = 1000, .def = "32", .arg = "S", .help = "on SIGTERM, wait "
	 "at most S s (0: stop at once) for requests in flight; SIGHUP "
	 "reloads the configuration"},
	{"log-level", .type = OPTS_FUNC, .flags = R, .set = log_level_opt,
	 .def = "info", .arg = "LEVEL", .help = "error, warn, info, debug"},
	{"help", 'h', OPTS_HELP, .help = "this help"},
	{"version", .type = OPTS_VERSION, .help = "sippushd's version"},
	{NULL},
};


/** The fields that follow from the options, after a parse or reload */
void conf_derive(struct conf *cf)
{
	cf->sc.trust = cf->trust;
	cf->sc.ntrust = cf->ntrust;
	cf->sc.trust_cert = cf->trust_cert[0] ? cf->trust_cert : NULL;
	cf->ac.max_ttl = cf->sc.max_ttl;
	if (!cf->sc.pace_burst)
		cf->sc.pace_burst = cf->sc.pace_rate ? cf->sc.pace_rate : 1;
	cf->sc.prefv = cf->sc.prefn ? cf->prefs : NULL;
	cf->sc.icsiv = cf->sc.icsin ? cf->icsis : NULL;
	cf->sc.orig_ioi = cf->orig_ioi[0] ? cf->orig_ioi : NULL;
	cf->sc.fetch_proxy = cf->fetch_proxy[0] ? cf->fetch_proxy : NULL;
	cf->sc.audit_path = cf->audit[0] ? cf->audit : NULL;
	cf->sc.plain_apps = cf->plain_apps[0] ? cf->plain_apps : NULL;
	/* the node's name: given, else the host name cut to what a label
	 * takes; /metrics labels its samples only when it was given (one
	 * node alone keeps the plain names its dashboards know) */
	str_ncpy(cf->node_name, cf->node, sizeof(cf->node_name));
	if (!cf->node_name[0]) {
		char host[256] = "";

		(void)gethostname(host, sizeof(host) - 1);
		str_ncpy(cf->node_name, host, sizeof(cf->node_name));
		if (!promlabel_value_ok(cf->node_name))
			str_ncpy(cf->node_name, "sippushd",
				 sizeof(cf->node_name));
	}
	cf->ac.node = cf->node[0] ? cf->node : NULL;
	cf->sc.msrp_allowv = cf->sc.msrp_allown ? cf->msrp_allow : NULL;
	cf->sc.msrp_laddr = sa_af(&cf->msrp) != AF_UNSPEC ? &cf->msrp : NULL;
	for (size_t i = 0; i < cf->sc.reg_watchn; i++)
		cf->reg_watchv[i] = cf->reg_watch[i];
	cf->sc.reg_watchv = cf->sc.reg_watchn ? cf->reg_watchv : NULL;
	for (size_t i = 0; i < cf->ac.http_hostn; i++)
		cf->http_hostv[i] = cf->http_host[i];
	cf->ac.http_hosts = cf->ac.http_hostn ? cf->http_hostv : NULL;
	cf->ac.pap_app = cf->pap_app[0] ? cf->pap_app : NULL;
	cf->ac.plmn_domain = cf->plmn_domain[0] ? cf->plmn_domain : NULL;
	cf->ac.initv = cf->ninit ? cf->initv : NULL;
	cf->ac.initn = cf->ninit;
	cf->ac.token = cf->token;
}
