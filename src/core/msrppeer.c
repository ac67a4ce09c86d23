/**
 * @file msrppeer.c  Where sippushd may connect for a session's MSRP
 */
#include <re.h>
#include "core/addrclass.h"
#include <sippush/cidr.h>
#include "core/msrppeer.h"


bool msrppeer_allowed(const struct sa *msrp, const struct sa *sip_peer,
		      const struct cidr *allowv, size_t allown)
{
	if (!msrp)
		return false;
	if (cidr_list_match(allowv, allown, msrp))
		return true;
	return sip_peer && sa_cmp(msrp, sip_peer, SA_ADDR) &&
		addr_is_public(msrp);
}
