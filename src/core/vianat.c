/**
 * @file vianat.c  Is there a NAT between us and the registrar?
 */
#include <re.h>
#include "core/vianat.h"


/**
 * Whether the top Via of a response to our request shows another source
 * than its sent-by: received naming another address, or (UDP, where we
 * send from the port we name) rport naming another port. A sent-by that
 * is a name, not an address, tells nothing: false.
 */
bool vianat_behind(const struct sip_via *via)
{
	struct pl v;
	struct sa rcvd;

	if (!via || !sa_isset(&via->addr, SA_ADDR))
		return false;

	if (!msg_param_decode(&via->params, "received", &v) &&
	    !sa_set(&rcvd, &v, 0) && !sa_cmp(&rcvd, &via->addr, SA_ADDR))
		return true;

	/* over TCP the source port is any: only UDP's says something */
	if (via->tp == SIP_TRANSP_UDP &&
	    !msg_param_decode(&via->params, "rport", &v) && pl_isset(&v)) {
		const uint16_t sent = sa_port(&via->addr) ?
			sa_port(&via->addr) : 5060;

		return pl_u32(&v) != sent;
	}
	return false;
}
