/**
 * @file tlspeer.h  A TLS context whose every peer must be named NAME
 *
 * libre 1.1.0 tells a SIP request nothing of the connection's certificate,
 * so "trust a TLS peer only when its certificate names NAME" is enforced
 * at the handshake: every connection of the context, made or taken, must
 * present a certificate that verifies and names NAME (a DNS name or an IP
 * address in its SAN, or its CN), else the handshake fails. A connection
 * we take must present one (a client certificate is required).
 */

struct tls;

/** name must outlive the context */
int tlspeer_require_name(struct tls *tls, const char *name);
/** The check itself: 1 when the certificate (X509 *) names name */
int tlspeer_names(void *x509, const char *name);
