/**
 * @file trust.c  Whose P-Asserted-Identity the terminal believes
 *
 * A source address proves nothing over UDP (anyone on the path can forge
 * it), so a --trust address counts only over TCP/TLS unless udp is set,
 * only over TLS when a certificate name is required (the handshake checked
 * it), and, unless any_flow is set, only on the terminal's own
 * registration flow: the connection its REGISTER went out on (or, over
 * UDP, the registrar's address and our socket), which is how a phone
 * takes requests from its P-CSCF.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <sippush/cidr.h>
#include <sippush/log.h>
#include <sippush/receiver.h>
#include "trust.h"

#define MOD "trust"


/** 0 when trusted, else EPERM; why (may be NULL) says what failed */
int trust_check(const struct trust_rules *t, const struct trust_flow *f,
		enum sip_transp tp, const struct sa *src, const void *sock,
		const char **why)
{
	const char *w = NULL;

	if (!t || !src)
		w = "no rules";
	else if (!cidr_list_match(t->v, t->n, src))
		w = "source not in --trust";
	else if (tp == SIP_TRANSP_UDP && !t->udp)
		w = "UDP (spoofable) without --trust-udp";
	else if (tp != SIP_TRANSP_TLS && t->tls_only)
		w = "not TLS (--trust-cert)";
	else if (!t->any_flow && (!f || !f->set || f->tp != tp ||
				  f->sock != sock ||
				  !sa_cmp(&f->peer, src, SA_ALL)))
		w = "not on the registration flow";

	if (why)
		*why = w;
	return w ? EPERM : 0;
}


/** The flow a 2xx to our REGISTER came on */
void trust_flow_set(struct trust_flow *f, const struct sip_msg *msg)
{
	f->tp = msg->tp;
	f->peer = msg->src;
	f->sock = msg->sock;
	f->set = true;
}


/** The rules the configuration gives; no flow until registered */
void trust_init(struct trust *t, const struct receiver_conf *conf)
{
	memset(t, 0, sizeof(*t));
	t->rules.v = conf->trust;
	t->rules.n = conf->ntrust;
	t->rules.udp = conf->trust_udp;
	t->rules.tls_only = conf->trust_tls_only;
	t->rules.any_flow = conf->pushes_any_flow;
}


/*
 * A request from a trusted peer, as the receiver's rules say. in_dialog:
 * it matched one of our own dialogs (a NOTIFY of our subscription, whose
 * Call-ID and tag we drew at random): the notifier may send it on a
 * connection of its own (to our Contact), so the flow is not required;
 * the address and transport rules still are.
 */
int trust_msg(const struct trust *t, const struct sip_msg *msg,
	      bool in_dialog)
{
	struct trust_rules rules = t->rules;
	const char *why = NULL;
	int err;

	rules.any_flow |= in_dialog;
	err = trust_check(&rules, &t->flow, msg->tp, &msg->src, msg->sock,
			  &why);

	if (err)
		plog(SIPPUSH_LOG_INFO, MOD, "%s from %J: not trusted: %s",
		     sip_transp_name(msg->tp), &msg->src, why);
	return err;
}


/** Who pushed: the P-Asserted-Identity of a trusted peer (in_dialog: see
 *  trust_msg); EPERM: none, or not from a trusted peer */
int trust_asserted(char *from, size_t sz, const struct trust *t,
		   const struct sip_msg *msg, bool in_dialog)
{
	const struct sip_hdr *pai = sip_msg_hdr(msg,
					       SIP_HDR_P_ASSERTED_IDENTITY);
	struct sip_addr addr;

	if (!pai || trust_msg(t, msg, in_dialog))
		return EPERM;
	if (sip_addr_decode(&addr, &pai->val))
		return EBADMSG;
	re_snprintf(from, sz, "%r", &addr.auri);
	return 0;
}
