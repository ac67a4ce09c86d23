/**
 * @file tlspeer.c  A TLS context whose every peer must be named NAME
 */
#include <errno.h>
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re.h>
#include "rt/tlspeer.h"

static int name_idx = -1;


int tlspeer_names(void *x509, const char *name)
{
	X509 *cert = x509;
	struct sa ip;

	if (!cert || !name || !*name)
		return 0;
	if (!sa_set_str(&ip, name, 0))
		return X509_check_ip_asc(cert, name, 0) == 1;
	return X509_check_host(cert, name, 0,
			       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
			       NULL) == 1;
}


/* OpenSSL's verdict on the chain (and the context's host, if any), then
 * the leaf must name ours */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	const char *name;

	if (!ok || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs,
				SSL_get_ex_data_X509_STORE_CTX_idx());
	name = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), name_idx) :
		NULL;
	if (!name)
		return ok;
	if (tlspeer_names(X509_STORE_CTX_get_current_cert(xs), name))
		return 1;
	X509_STORE_CTX_set_error(xs, X509_V_ERR_HOSTNAME_MISMATCH);
	return 0;
}


int tlspeer_require_name(struct tls *tls, const char *name)
{
	SSL_CTX *ctx = tls ? tls_openssl_context(tls) : NULL;

	if (!ctx || !name || !*name)
		return EINVAL;
	if (name_idx < 0)
		name_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (name_idx < 0 || !SSL_CTX_set_ex_data(ctx, name_idx, (void *)name))
		return ENOMEM;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
	return 0;
}
