/**
 * @file tlsverify.c  Chain and host name checks on a libre TLS context
 */
#include <errno.h>
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re.h>
#include <sippush/tlsverify.h>


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
