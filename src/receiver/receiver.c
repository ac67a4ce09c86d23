/**
 * @file receiver.c  The Push Receiver Agent engine: setup and controls
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "fetch/fetch.h"
#include <sippush/log.h>
#include "receiver.h"

#define MOD "receiver"


static void destructor(void *arg)
{
	struct receiver *r = arg;

	tmr_cancel(&r->tmr);
	list_flush(&r->subs);
	while (r->sessions.head)
		mem_deref(r->sessions.head->data);
	sipsess_close_all(r->sess_sock);   /* also ended ones libre keeps */
	mem_deref(r->sess_sock);
	mem_deref(r->msrp);
	mem_deref(r->msrp_tls);
	mem_deref(r->req);
	mem_deref(r->ka);
	mem_deref(r->auth);
	mem_deref(r->seen);
	mem_deref(r->fetcher);
	list_flush(&r->pending);   /* after the fetcher: no more callbacks */
	mem_deref(r->aor);
	mem_deref(r->registrar);
	mem_deref(r->instance);
	mem_deref(r->apps);
	mem_deref(r->auth_user);
	mem_deref(r->auth_pass);
}


static int auth_h(char **user, char **pass, const char *realm, void *arg)
{
	struct receiver *r = arg;
	int err;
	(void)realm;

	if (!r->auth_user || !r->auth_pass)
		return EAUTH;

	err  = str_dup(user, r->auth_user);
	err |= str_dup(pass, r->auth_pass);
	return err;
}


int receiver_alloc(struct receiver **rp, struct sip *sip,
		   const struct receiver_conf *conf, receiver_push_h *ph,
		   receiver_reg_h *rh, void *arg)
{
	struct receiver *r;
	struct mbuf *mb = NULL;
	int err;

	if (!rp || !sip || !conf || !conf->aor || !conf->registrar ||
	    !conf->instance || !conf->appn || !conf->state_dir || !ph)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	r->conf = *conf;
	if (!r->conf.retry_ms)
		r->conf.retry_ms = 30000;
	/* conf->appv stays the caller's: it must outlive the receiver */
	r->sip = sip;
	r->ph = ph;
	r->rh = rh;
	r->arg = arg;
	r->pref = conf->require_pref;
	r->trust.v = conf->trust;
	r->trust.n = conf->ntrust;
	r->trust.udp = conf->trust_udp;
	r->trust.tls_only = conf->trust_tls_only;
	r->trust.any_flow = conf->pushes_any_flow;
	r->expires = conf->expires ? conf->expires : 3600;
	tmr_init(&r->tmr);
	re_snprintf(r->call_id, sizeof(r->call_id), "%016llx@sippush-agent",
		    (unsigned long long)rand_u64());
	re_snprintf(r->from_tag, sizeof(r->from_tag), "%016llx",
		    (unsigned long long)rand_u64());

	err  = str_dup(&r->aor, conf->aor);
	err |= str_dup(&r->registrar, conf->registrar);
	err |= str_dup(&r->instance, conf->instance);
	if (conf->auth_user)
		err |= str_dup(&r->auth_user, conf->auth_user);
	if (conf->auth_pass)
		err |= str_dup(&r->auth_pass, conf->auth_pass);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	mb = mbuf_alloc(128);
	for (size_t i = 0; mb && i < conf->appn; i++)
		err |= mbuf_printf(mb, "%s%s", i ? "," : "",
				   conf->appv[i].id);
	if (!mb || err) {
		err = ENOMEM;
		goto out;
	}
	mb->pos = 0;
	err = mbuf_strdup(mb, &r->apps, mb->end);
	if (err)
		goto out;

	/* no reference back to r: r owns the auth object */
	err = sip_auth_alloc(&r->auth, auth_h, r, false);
	if (err)
		goto out;

	{
		const struct fetch_limits lim = {
			.max_size = conf->fetch_max ? conf->fetch_max :
				16u << 20,
			.timeout_ms = conf->fetch_timeout_ms ?
				conf->fetch_timeout_ms : 30000,
			.allow_private = conf->allow_private_fetch,
			.allowv = conf->fetch_allowv,
			.allown = conf->fetch_allown,
		};

		err = fetcher_alloc(&r->fetcher, &lim);
		if (err)
			goto out;
	}

	if (!r->conf.session_max)
		r->conf.session_max = 1ull << 30;
	if (!r->conf.min_se)
		r->conf.min_se = 90;
	err = rsess_init(r);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "session mode unavailable: %m", err);
		goto out;
	}

	err = seen_open(&r->seen, conf->state_dir, conf->seen_max);
	if (err)
		plog(SIPPUSH_LOG_ERROR, MOD, "%s: cannot keep seen pushes: %m",
		     conf->state_dir, err);

 out:
	mem_deref(mb);
	if (err)
		mem_deref(r);
	else
		*rp = r;
	return err;
}


int receiver_register(struct receiver *r)
{
	if (!r)
		return EINVAL;
	r->stopping = false;
	return reg_send(r);
}


/** Stay registered, with (false) or without (true) the push feature tags */
int receiver_withdraw(struct receiver *r, bool withdraw)
{
	if (!r)
		return EINVAL;
	r->withdrawn = withdraw;
	r->req = mem_deref(r->req);
	return reg_send(r);
}


int receiver_unregister(struct receiver *r)
{
	if (!r)
		return EINVAL;
	r->stopping = true;
	rsub_stop_all(r);
	r->expires = 0;
	r->flow.set = false;
	r->ka = mem_deref(r->ka);
	tmr_cancel(&r->tmr);
	r->req = mem_deref(r->req);
	return reg_send(r);
}


const char *receiver_gruu(const struct receiver *r)
{
	return r && r->gruu[0] ? r->gruu : NULL;
}


bool receiver_sip_request(struct receiver *r, const struct sip_msg *msg)
{
	return r && msg && inbound_request(r, msg);
}


/**
 * The terminal's +sip.instance, generated once (a random UUID) and kept in
 * <state_dir>/instance.
 */
int receiver_instance_load(char *buf, size_t sz, const char *state_dir)
{
	char path[512];
	uint8_t u[16];
	FILE *f;
	int fd;

	if (!buf || sz < 46 || !state_dir)
		return EINVAL;

	(void)mkdir(state_dir, 0700);
	re_snprintf(path, sizeof(path), "%s/instance", state_dir);
	/* never through a planted symlink, for reading or writing */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (f) {
		bool ok = fgets(buf, (int)sz, f) != NULL;

		(void)fclose(f);
		buf[strcspn(buf, "\r\n")] = '\0';
		if (ok && !strncmp(buf, "urn:uuid:", 9) && strlen(buf) == 45)
			return 0;
		return EBADMSG;
	}
	if (fd >= 0)
		(void)close(fd);
	if (errno != ENOENT)
		return errno;

	rand_bytes(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;   /* version 4 */
	u[8] = (u[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
	re_snprintf(buf, sz, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-"
		    "%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
		    u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		    u[12], u[13], u[14], u[15]);

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			(void)close(fd);
		return errno ? errno : ENOMEM;
	}
	(void)fprintf(f, "%s\n", buf);
	return fclose(f) ? errno : 0;
}
