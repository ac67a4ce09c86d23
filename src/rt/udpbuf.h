/**
 * @file udpbuf.h  Size the receive buffer of libre's UDP socket
 *
 * libre gives no access to the socket of a SIP UDP transport, and its
 * default buffer drops datagrams at ~40k requests/s (docs/design.md, libre 1.1.0). The
 * socket is found among the process's descriptors by its local address.
 */

int udpbuf_set(const struct sa *laddr, int bytes, int *got);
