/**
 * @file auth.c  Digest authentication of peers that are not trusted
 *               (RFC 3261 §22, qop=auth with nonce counts: RFC 7616)
 *
 * The nonce is stateless (digest.c: time and an HMAC of it); what is kept
 * is each nonce's last count (noncecount.c), so a verified Authorization
 * cannot be replayed on another request.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/digest.h"
#include "core/noncecount.h"
#include "engine.h"
#include "auth.h"
#include "clock.h"
#include "refuse.h"


static int challenge(struct sender *s, const struct sip_msg *msg,
		     bool stale)
{
	char nonce[DIGEST_NONCE_LEN + 1];
	int err;

	err = digest_nonce(nonce, s->conf.secret, (uint64_t)sender_now_s(s));
	if (err)
		return err;

	return sip_replyf(s->sip, msg, 401, "Unauthorized",
			  "WWW-Authenticate: Digest realm=\"%s\", "
			  "nonce=\"%s\", algorithm=MD5, qop=\"auth\"%s\r\n"
			  "Content-Length: 0\r\n\r\n", s->conf.realm, nonce,
			  stale ? ", stale=true" : "");
}


/*
 * A verified response is good once per nonce count (noncecount.h): the
 * same Authorization on another request is a replay. The same UDP
 * request again is a retransmission (sippushd answers statelessly).
 */
static bool nonce_fresh(struct sender *s, const struct sip_msg *msg,
			const struct pl *authz)
{
	uint8_t md[MD5_SIZE];
	bool udp = msg->tp == SIP_TRANSP_UDP;
	int err;

	if (udp)
		md5(msg->mb->buf, msg->mb->end, md);
	err = noncecount_use(s->nonces, authz, udp ? md : NULL,
			     (uint64_t)sender_now_s(s));
	switch (err) {

	case 0:
		return true;
	case EPROTO:
		sender_refuse(s, msg, 403, "Digest needs qop=auth "
			      "and nc");
		return false;
	case ESTALE:
	case EALREADY:
		/* a new nonce: the client's credentials were right */
		(void)challenge(s, msg, true);
		return false;
	default:
		(void)sip_reply(s->sip, msg, 500, "Server Internal Error");
		return false;
	}
}


/**
 * Digest authentication of an untrusted peer acting for aor, whose user
 * part is the username. True when proven; otherwise the answer (401 or
 * 403) has been sent.
 */
bool auth_digest(struct sender *s, const struct sip_msg *msg,
		 const char *aor, const struct pl *aor_user)
{
	const struct sip_hdr *hdr;
	char ha1[DIGEST_HA1_HEX + 1];
	struct pl user;
	bool stale = false;
	int err;

	if (store_user_ha1(s->st, aor, ha1, sizeof(ha1))) {
		sender_refuse(s, msg, 403, "No credentials for this "
			      "AoR");
		return false;
	}

	hdr = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
	if (!hdr) {
		(void)challenge(s, msg, false);
		return false;
	}

	err = digest_verify(&hdr->val, &msg->met, s->conf.realm, ha1,
			    s->conf.secret, (uint64_t)sender_now_s(s),
			    NONCE_MAX_AGE, &user, &stale);
	if (!err && stale) {
		(void)challenge(s, msg, true);
		return false;
	}
	if (err || pl_cmp(&user, aor_user)) {
		sender_refuse(s, msg, 403, "Authentication failed");
		return false;
	}

	return nonce_fresh(s, msg, &hdr->val);
}
