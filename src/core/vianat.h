/**
 * @file vianat.h  Is there a NAT between us and the registrar?
 *
 * The registrar writes where our request came from into our Via
 * (received, and rport for a client that asked, RFC 3581); an address
 * other than the one we sent from means a NAT rewrote it, and nobody can
 * open a connection to us (the agent then connects out, RFC 6135).
 */

struct sip_via;

bool vianat_behind(const struct sip_via *via);
