/**
 * @file addrclass.h  Is an address a public unicast one?
 *
 * What sippush connects to on someone else's word (content URLs, UAProf
 * documents, PAP notification URLs, MSRP paths) must not reach this host
 * or its networks by a special address. Not public: everything in IANA's
 * IPv4 and IPv6 Special-Purpose Address Registries, multicast and the
 * reserved space; in IPv6 anything outside 2000::/3, and the prefixes
 * inside it that carry an IPv4 address (6to4, Teredo) or are special.
 * NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and IPv4-mapped addresses are
 * outside 2000::/3: a NAT64 gateway would take them to any IPv4 address.
 */

struct sa;

bool addr_is_public(const struct sa *sa);
