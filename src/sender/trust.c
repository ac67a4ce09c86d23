/**
 * @file trust.c  Whose word sippushd takes: --trust, --trust-udp, --trust-cert
 *
 * A trusted peer's third-party or credential-less REGISTER and asserted
 * SUBSCRIBE are believed without a digest. The source address alone
 * proves nothing over UDP (anyone can write it in a datagram), so a UDP
 * peer counts only with --trust-udp; TCP and TLS peers have completed a
 * handshake from that address. With --trust-cert only a TLS peer whose
 * verified certificate names it counts.
 */
#include <re.h>
#include <sippush/cidr.h>
#include "rt/sipconn.h"
#include "engine.h"
#include "trust.h"


bool sender_trusted(const struct sender *s, const struct sip_msg *msg)
{
	const struct sender_conf *c = &s->conf;

	if (!cidr_list_match(c->trust, c->ntrust, &msg->src))
		return false;

	if (c->trust_cert)
		return sipconn_cert_names(msg, c->trust_cert);

	switch (msg->tp) {

	case SIP_TRANSP_UDP: return c->trust_udp;
	case SIP_TRANSP_TCP:
	case SIP_TRANSP_TLS: return true;
	default:             return false;
	}
}
