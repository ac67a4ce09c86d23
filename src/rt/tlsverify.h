/**
 * @file tlsverify.h  Certificate checks libre 1.1.0 does not make
 *
 * libre's TLS accepts any server certificate (docs/design.md, libre 1.1.0) and its SIP
 * transport creates connections without a hook to name the peer. So the
 * whole context verifies: the chain against cafile (or the system's
 * CAs), and, when host is given, that the peer's certificate names it
 * (a DNS name, or an IP address in its SAN). A failed check fails the
 * handshake.
 */

struct tls;

struct sip;
struct sa;

int tlsverify_setup(struct tls *tls, const char *cafile, const char *host);
int tlsverify_sip_add(struct tls **tlsp, struct sip *sip,
		      const struct sa *laddr, const char *cert,
		      const char *cafile, const char *host,
		      char *why, size_t whysz);
