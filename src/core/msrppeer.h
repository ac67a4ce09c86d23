/**
 * @file msrppeer.h  Where sippushd may connect for a session's MSRP
 *
 * The terminal's SDP answer names the MSRP path; believed, it would make
 * sippushd connect wherever the terminal likes (a service on this host,
 * its LAN) and send it the push. So the path's address must be the one
 * the SIP dialog reached and public, or within the operator's ranges
 * (--msrp-allow), which are the only way to loopback or private ones.
 */

struct sa;
struct cidr;

bool msrppeer_allowed(const struct sa *msrp, const struct sa *sip_peer,
		      const struct cidr *allowv, size_t allown);
