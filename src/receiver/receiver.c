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
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "bodypush.h"
#include "contact.h"
#include "deliver.h"
#include "dispatch.h"
#include "page.h"
#include "refer.h"
#include "register.h"
#include "session.h"
#include "subscribe.h"
#include "trust.h"

#define MOD "receiver"

/*
 * The layers, each calling only downwards: this file (set-up, controls,
 * the SIP entry) -> dispatch.c (a request to its method's handler, from
 * the table set here) -> the methods (page.c MESSAGE, subscribe.c NOTIFY,
 * refer.c REFER, session.c INVITE and UPDATE; register.c) -> bodypush.c
 * (a push in a request's body) -> deliver.c (every push to the
 * application) -> seen.c. What goes back up goes through a handler set
 * here or by the caller: the registration holding (register.c), a
 * referred subscription's outcome (subscribe.c to refer.c), how a push
 * ended (deliver.c to its method).
 */
struct receiver {
	struct receiver_conf conf;
	struct sip *sip;
	struct sip_auth *auth;
	struct contact *contact;
	struct trust trust;
	struct deliver *deliver;
	struct bodypush *bodypush;
	struct page page;
	struct subs *subs;
	struct refer_sock *refer;
	struct rsess_sock *sess;
	struct reg *reg;
	struct dispatch_method methv[6];
	receiver_reg_h *rh;
	void *arg;
	char *auth_user;
	char *auth_pass;
};


static void destructor(void *arg)
{
	struct receiver *r = arg;

	mem_deref(r->reg);
	mem_deref(r->subs);
	mem_deref(r->sess);
	mem_deref(r->refer);
	mem_deref(r->auth);
	mem_deref(r->bodypush);
	mem_deref(r->deliver);
	mem_deref(r->contact);
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


/* The registration's outcome, to the application */
static void reg_h(int err, uint16_t scode, const char *gruu,
		  uint32_t expires, void *arg)
{
	struct receiver *r = arg;

	if (r->rh)
		r->rh(err, scode, gruu, expires, r->arg);
}


/* Registered: the subscriptions start (TS §7.2) */
static void registered_h(void *arg)
{
	struct receiver *r = arg;

	subs_start_all(r->subs);
}


int receiver_alloc(struct receiver **rp, struct sip *sip,
		   const struct receiver_conf *conf, receiver_push_h *ph,
		   receiver_reg_h *rh, void *arg)
{
	struct receiver *r;
	int err;

	if (!rp || !sip || !conf || !conf->aor || !conf->registrar ||
	    !conf->instance || !conf->appn || !conf->state_dir || !ph)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	/* conf->appv stays the caller's: it must outlive the receiver */
	r->conf = *conf;
	if (!r->conf.retry_ms)
		r->conf.retry_ms = 30000;
	if (!r->conf.session_max)
		r->conf.session_max = 1ull << 30;
	if (!r->conf.min_se)
		r->conf.min_se = 90;
	conf = &r->conf;   /* every part reads this copy */
	r->sip = sip;
	r->rh = rh;
	r->arg = arg;
	trust_init(&r->trust, conf);

	err = 0;
	if (conf->auth_user)
		err |= str_dup(&r->auth_user, conf->auth_user);
	if (conf->auth_pass)
		err |= str_dup(&r->auth_pass, conf->auth_pass);
	err = err ? ENOMEM : contact_alloc(&r->contact, sip, conf);
	if (err)
		goto out;

	/* no reference back to r: r owns the auth object */
	err = sip_auth_alloc(&r->auth, auth_h, r, false);
	if (err)
		goto out;

	err = deliver_alloc(&r->deliver, conf->state_dir, conf->seen_max,
			    ph, arg);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "%s: cannot keep seen pushes: %m",
		     conf->state_dir, err);
		goto out;
	}

	err = bodypush_alloc(&r->bodypush, sip, conf, &r->trust, r->deliver);
	if (err)
		goto out;
	r->page = (struct page){
		.sip = sip, .conf = conf, .trust = &r->trust,
		.bodypush = r->bodypush,
	};

	err = rsess_sock_alloc(&r->sess, sip, conf, &r->trust, r->contact,
			       r->deliver);
	if (err) {
		plog(SIPPUSH_LOG_ERROR, MOD, "session mode unavailable: %m",
		     err);
		goto out;
	}

	err  = subs_alloc(&r->subs, sip, r->auth, conf, r->contact,
			  r->bodypush);
	err = err ? err : refer_sock_alloc(&r->refer, sip, conf, &r->trust,
					   r->contact, r->subs);
	err = err ? err : reg_alloc(&r->reg, sip, r->auth, conf, r->contact,
				    &r->trust, reg_h, registered_h, r);
	if (err)
		goto out;

	r->methv[0] = (struct dispatch_method){"MESSAGE", page_message,
					       &r->page};
	r->methv[1] = (struct dispatch_method){"NOTIFY", subs_notify,
					       r->subs};
	r->methv[2] = (struct dispatch_method){"REFER", refer_request,
					       r->refer};
	r->methv[3] = (struct dispatch_method){"UPDATE", rsess_update,
					       r->sess};
	/* INVITEs here, not in sipsess: its 200 to a re-INVITE can carry
	 * no Session-Expires (session.c); the ACKs go on to sipsess too */
	r->methv[4] = (struct dispatch_method){"INVITE", rsess_invite,
					       r->sess};
	r->methv[5] = (struct dispatch_method){"ACK", rsess_ack, r->sess,
					       .pass = true};

 out:
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
	subs_resume(r->subs);
	return reg_start(r->reg);
}


/** Stay registered, with (false) or without (true) the push feature tags */
int receiver_withdraw(struct receiver *r, bool withdraw)
{
	if (!r)
		return EINVAL;
	r->contact->withdrawn = withdraw;
	return reg_refresh(r->reg);
}


int receiver_unregister(struct receiver *r)
{
	if (!r)
		return EINVAL;
	subs_stop_all(r->subs);
	return reg_stop(r->reg);
}


const char *receiver_gruu(const struct receiver *r)
{
	return r && r->contact->gruu[0] ? r->contact->gruu : NULL;
}


bool receiver_sip_request(struct receiver *r, const struct sip_msg *msg)
{
	return r && msg && dispatch_request(r->sip, r->methv,
					    ARRAY_SIZE(r->methv), msg);
}


/**
 * A handler that returned EINPROGRESS is done: answer the push (0: taken,
 * EBUSY: 503, else 500). An unknown push_id is ignored.
 */
void receiver_push_done(struct receiver *r, const char *push_id, int err)
{
	if (r)
		deliver_done(r->deliver, push_id, err);
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
