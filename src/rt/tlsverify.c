/**
 * @file tlsverify.c  Chain and host name checks on a libre TLS context
 */
#include <errno.h>
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re.h>
#include "rt/tlsverify.h"


/**
 * SIP over TLS on laddr: our certificate (PEM with its key; NULL: none,
 * for a client only), every peer verified as tlsverify_setup() says.
 * why: what failed, for a one-line error.
 */
int tlsverify_sip_add(struct tls **tlsp, struct sip *sip,
		      const struct sa *laddr, const char *cert,
		      const char *cafile, const char *host,
		      char *why, size_t whysz)
{
	int err;

	if (!tlsp || !sip || !laddr)
		return EINVAL;

	err = tls_alloc(tlsp, TLS_METHOD_SSLV23, cert, NULL);
	if (err) {
		re_snprintf(why, whysz, "--tls-cert %s: cannot load (%m)",
			    cert ? cert : "-", err);
		return err;
	}
	err = tlsverify_setup(*tlsp, cafile, host);
	if (err) {
		re_snprintf(why, whysz, "--tls-ca %s / --tls-verify-host %s: "
			    "%m", cafile ? cafile : "(system)",
			    host ? host : "-", err);
		return err;
	}
	err = sip_transp_add(sip, SIP_TRANSP_TLS, laddr, *tlsp);
	if (err)
		re_snprintf(why, whysz, "--sip-tls %J: cannot listen (%m)",
			    laddr, err);
	return err;
}


/** Make every connection of this context verify its peer */
int tlsverify_setup(struct tls *tls, const char *cafile, const char *host)
{
	SSL_CTX *ctx;
	X509_VERIFY_PARAM *vp;
	struct sa ip;
	int err;

	if (!tls)
		return EINVAL;
	ctx = tls_openssl_context(tls);
	if (!ctx)
		return EINVAL;

	if (cafile) {
		err = tls_add_ca(tls, cafile);
		if (err)
			return err;
	}
	else if (!SSL_CTX_set_default_verify_paths(ctx)) {
		return ENOENT;
	}

	/* the default callback keeps OpenSSL's verdict: a bad chain fails
	 * the handshake (libre's own callback would accept it) */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);

	if (!host)
		return 0;
	vp = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(vp,
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (!sa_set_str(&ip, host, 0)) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(vp, host))
			return EINVAL;
	}
	else if (!X509_VERIFY_PARAM_set1_host(vp, host, strlen(host))) {
		return EINVAL;
	}
	return 0;
}
