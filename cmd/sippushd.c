/**
 * @file sippushd.c  The Push Sender Agent daemon: options and wiring only
 */
#include <errno.h>
#include <signal.h>
#include <dirent.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/jsonmem.h"
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
#include "sippushd_opts.h"

#define MOD "sippushd"

static bool sip_tls_set(const struct conf *cf)
{
	return sa_af(&cf->sip_tls) != AF_UNSPEC;
}


/* the SIP TCP and TLS listeners' guards (connguard.h) */
static struct connguard *guard_tcp, *guard_tls;

static void usage(void)
{
	(void)re_printf("usage: sippushd [options]\n%H", opts_help,
			sippushd_opts);
}


/* Defaults, the --config files, the command line; --help and --version
 * exit here */
static int parse(struct conf *cf, int argc, char *argv[])
{
	const struct opt *action = NULL;
	char why[512];
	int err;

	memset(cf, 0, sizeof(*cf));
	err = opts_defaults(sippushd_opts, cf, 0, why, sizeof(why));
	err = err ? err : opts_parse(sippushd_opts, cf, argc, argv,
				     OPTS_ARGS_NONE, NULL, &action, why,
				     sizeof(why));
	if (err) {
		(void)fprintf(stderr, "sippushd: %s\n", why);
		return err;
	}
	if (action && action->type == OPTS_HELP) {
		usage();
		exit(0);
	}
	if (action) {
		(void)printf("sippushd %s\n", SIPPUSH_VERSION);
		exit(0);
	}
	if (cf->sc.msrps && sa_af(&cf->msrp) != AF_UNSPEC) {
		(void)fprintf(stderr, "sippushd: --msrp is for plain MSRP; "
			      "with --msrps sippushd always connects\n");
		return EINVAL;
	}
	/* On PostgreSQL the store names each uploaded file by its path:
	 * a directory named after --db (a local file beside no database)
	 * would hold them where no other sippushd sharing the database
	 * finds them. Every push may be a multipart upload: required. */
	if (cf->store[0] && strncmp(cf->store, "sqlite:", 7) &&
	    cf->spool[0] != '/') {
		(void)fprintf(stderr, "sippushd: --store postgresql needs "
			      "--spool DIR, an absolute path: the files of "
			      "multipart pushes (with several sippushd, a "
			      "directory each mounts at that path)\n");
		return EINVAL;
	}
	conf_derive(cf);
	log_level_set((enum log_level)cf->log_level);
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


static int trust_print(struct re_printf *pf, const struct conf *cf)
{
	int err = 0;

	if (!cf->ntrust)
		err |= re_hprintf(pf, "none by address");
	for (size_t i = 0; i < cf->ntrust; i++)
		err |= re_hprintf(pf, "%s%j/%u", i ? ", " : "",
				  &cf->trust[i].net, cf->trust[i].bits);
	/* as sender_trusted() decides: the certificate, when asked for,
	 * is the only way in */
	if (cf->ntrust && cf->trust_cert[0])
		err |= re_hprintf(pf, " over TLS only, with a certificate "
				  "naming %s", cf->trust_cert);
	else if (cf->ntrust)
		err |= re_hprintf(pf, " over %s", cf->sc.trust_udp ?
				  "UDP, TCP and TLS (--trust-udp: a UDP source "
				  "can be forged)" : "TCP and TLS only (UDP "
				  "sources can be forged: --trust-udp)");
	return err;
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
	uint32_t peak;            /**< most pushes pending since a trim  */
	uint64_t trim_again;      /**< the second trim (jiffies), or 0   */
	uint64_t trimmed;         /**< the last first trim (jiffies)     */
	struct store *st;
};


/*
 * glibc keeps what a burst freed (a drained queue of 100k pushes) in its
 * arenas, as RSS, until the process ends, and the store its page cache.
 * Give both back to the kernel once a large backlog is gone (pending down
 * to a sixteenth of a peak of 1000 or more; at most every 10 s), and once
 * more when the SIP transactions of its last requests have ended (Timer
 * K, 5 s over UDP) and freed their buffers too.
 */
enum { TRIM_PEAK = 1000, TRIM_AGAIN_MS = 6000, TRIM_EVERY_MS = 10000 };

static void trim_step(struct ctl *c)
{
	struct sender_stats st;
	const uint64_t now = tmr_jiffies();

	sender_stats(*c->sp, &st);
	if (st.pending > c->peak)
		c->peak = st.pending;
	/* bursts drained one after the other: at most every 10 s (the
	 * trim and the store's cache both cost the loop some time) */
	if (c->peak >= TRIM_PEAK && st.pending <= c->peak / 16 &&
	    now - c->trimmed >= TRIM_EVERY_MS) {
		plog(SIPPUSH_LOG_DEBUG, MOD, "backlog %u -> %u: freed memory "
		     "given back", c->peak, st.pending);
		store_release(c->st);
		(void)malloc_trim(0);
		c->peak = st.pending;
		c->trimmed = now;
		c->trim_again = now + TRIM_AGAIN_MS;
	}
	else if (c->trim_again && now >= c->trim_again) {
		store_release(c->st);
		(void)malloc_trim(0);
		c->trim_again = 0;
	}
}
/* The running configuration with the rows marked OPTS_RELOAD read anew
 * (sippushd_opts.c); the others are checked, not applied */
static void reload(struct ctl *c)
{
	struct conf *nc = malloc(sizeof(*nc));
	struct conf *scratch = calloc(1, sizeof(*scratch));
	char why[512];

	if (!nc || !scratch)
		goto out;
	memcpy(nc, c->cf, sizeof(*nc));
	if (opts_reload(sippushd_opts, nc, scratch, c->argc, c->argv, why,
			sizeof(why))) {
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: the configuration has an error: "
		     "nothing reloaded (%s)", why);
		goto out;
	}
	conf_derive(nc);
	if (initiator_secrets(nc) || admin_token(nc, false)) {
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: a secret cannot be read: nothing "
		     "reloaded");
		goto out;
	}
	log_level_set((enum log_level)nc->log_level);

	if (sender_reload(*c->sp, &nc->sc))
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: cannot open the audit log");
	if (api_reload(*c->ap, &nc->ac))
		plog(SIPPUSH_LOG_WARN, MOD, "SIGHUP: cannot reload the API settings");
	free(c->reloaded);
	c->reloaded = nc;
	nc = NULL;
	plog(SIPPUSH_LOG_INFO, MOD, "SIGHUP: reloaded (trust, initiators, token, "
	     "limits, retries, pacing, log level; audit log reopened); "
	     "addresses, identity and store need a restart");
 out:
	free(scratch);
	free(nc);
}


static void ctl_tmr(void *arg)
{
	struct ctl *c = arg;
	uint32_t left;

	if (hup && *c->sp && *c->ap) {
		hup = 0;
		reload(c);
	}
	if (*c->sp)
		trim_step(c);

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
	char appname[80];
	int err, got = 0;

	/* first: jansson takes its allocator before anything else of it */
	jsonmem_install();

	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return 1;
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

	/* --store sqlite:PATH is --db PATH (its token file and spool too);
	 * --db is SQLite's whatever its path holds (a '=' is no conninfo) */
	if (!strncmp(cf->store, "sqlite:", 7)) {
		str_ncpy(cf->db, cf->store + 7, sizeof(cf->db));
		cf->store[0] = '\0';
	}
	if (!cf->store[0])
		re_snprintf(cf->store, sizeof(cf->store), "sqlite:%s", cf->db);
	if (cf->cluster && (!strncmp(cf->store, "sqlite:", 7) ||
			    str_cmp(store_backend(cf->store), "postgresql"))) {
		(void)fprintf(stderr, "sippushd: --cluster: the nodes share "
			      "one PostgreSQL database (--store "
			      "postgresql://...)%s\n", store_backend(cf->store) ?
			      "" : ", and this build has no PostgreSQL support");
		err = EINVAL;
		goto out;
	}
	cf->so.cluster = cf->cluster;
	cf->sc.cluster_store = cf->cluster ? cf->store : NULL;
	cf->sc.node = cf->node_name;
	re_snprintf(appname, sizeof(appname), "sippushd store%s%s",
		    cf->cluster ? " " : "", cf->cluster ? cf->node_name : "");
	cf->so.name = appname;
	err = store_open(&st, cf->store, &cf->so);
	if (err) {
		/* a conninfo may hold a password: not printed */
		(void)fprintf(stderr, "sippushd: %s%s: cannot open (%s)%s\n",
			      strncmp(cf->store, "sqlite:", 7) ? "--store " :
			      "--db ", strncmp(cf->store, "sqlite:", 7) ?
			      store_backend(cf->store) : cf->db,
			      strerror(err), err == EBUSY ?
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

	if (sip_tls_set(cf)) {
		err = sip_tls_add(sip, cf, &tls);
		if (err)
			goto out;
	}

	if (cf->trust_cert[0] && !sip_tls_set(cf))
		plog(SIPPUSH_LOG_WARN, MOD, "--trust-cert without --sip-tls: no peer "
		     "is trusted");

	err = connguard_alloc(&guard_tcp, &cf->sip, &cf->guard);
	if (!err && sip_tls_set(cf))
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
		/* libre prints a Contact "user" holding a ':' as the URI */
		cf->sc.contact_user = cf->contact_uri[0] ? cf->contact_uri :
			cf->contact_user;
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
	plog(SIPPUSH_LOG_INFO, MOD, "node %s: SIP on %J (UDP receive buffer: "
	     "asked %u, "
	     "the kernel reports %d), HTTP on %J, store %s", cf->node_name,
	     &cf->sip,
	     cf->rcvbuf, got, &cf->http,
	     strncmp(cf->store, "sqlite:", 7) ? store_backend(cf->store) :
	     cf->db);

	/* who is believed without a digest, said once at start: the default
	 * (loopback over TCP/TLS) must not be a surprise */
	plog(SIPPUSH_LOG_INFO, MOD, "trusted peers (P-Asserted-Identity "
	     "believed, REGISTER and third-party REGISTER without digest): "
	     "%H", trust_print, cf);

	{
		struct ctl c = {.sp = &s, .ap = &api, .cf = cf, .argc = argc,
				.argv = argv, .st = st};

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
