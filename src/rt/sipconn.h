/**
 * @file sipconn.h  The connection a SIP request came on: the certificate
 *                  of a TLS one, closing a stream
 *
 * libre 1.1.0 keeps a SIP connection's TLS state private; sippushd cannot
 * require every TLS peer to present a certificate (terminals connect over
 * TLS without one), so it asks per request. sipconn.c reads the
 * connection through a copy of libre's layout, checks the copy against
 * what libre does expose and fails closed on any mismatch.
 */

struct sip_msg;

bool sipconn_cert_names(const struct sip_msg *msg, const char *name);
void sipconn_shutdown(const struct sip_msg *msg);
bool sipconn_is_shut(const struct sip_msg *msg);
