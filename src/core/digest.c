/**
 * @file digest.c  Server side of SIP digest authentication
 */
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/digest.h"


int digest_ha1_hex(char ha1hex[DIGEST_HA1_HEX + 1], const char *user,
		   const char *realm, const char *password)
{
	uint8_t ha1[MD5_SIZE];
	int err;

	if (!ha1hex || !user || !realm || !password)
		return EINVAL;

	err = md5_printf(ha1, "%s:%s:%s", user, realm, password);
	if (err)
		return err;

	return re_snprintf(ha1hex, DIGEST_HA1_HEX + 1, "%w", ha1,
			   sizeof(ha1)) < 0 ? ENOMEM : 0;
}


static int nonce_mac(char mac[33], const char *secret, const char ts[33])
{
	uint8_t d[MD5_SIZE];
	int err = md5_printf(d, "%s:%s", secret, ts);

	if (err)
		return err;
	return re_snprintf(mac, 33, "%w", d, sizeof(d)) < 0 ? ENOMEM : 0;
}


int digest_nonce(char nonce[DIGEST_NONCE_LEN + 1], const char *secret,
		 uint64_t now)
{
	char ts[33], mac[33];
	int err;

	if (!nonce || !secret)
		return EINVAL;

	re_snprintf(ts, sizeof(ts), "%016llx%016llx", (unsigned long long)now,
		    (unsigned long long)rand_u64());
	err = nonce_mac(mac, secret, ts);
	if (err)
		return err;

	re_snprintf(nonce, DIGEST_NONCE_LEN + 1, "%s%s", ts, mac);
	return 0;
}


/**
 * EAUTH for a forged nonce; a genuine one older than max_age sets *stale.
 */
int digest_nonce_check(const struct pl *nonce, const char *secret,
		       uint64_t now, uint32_t max_age, bool *stale)
{
	char ts[33], mac[33];
	uint64_t t;
	int err;

	if (!nonce || !secret || !stale)
		return EINVAL;

	*stale = false;
	if (nonce->l != DIGEST_NONCE_LEN)
		return EAUTH;

	memcpy(ts, nonce->p, 32);
	ts[32] = '\0';
	for (size_t i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)ts[i]))
			return EAUTH;

	err = nonce_mac(mac, secret, ts);
	if (err)
		return err;
	if (memcmp(mac, nonce->p + 32, 32))
		return EAUTH;

	ts[16] = '\0';
	t = strtoull(ts, NULL, 16);
	if (t > now + 5 || now - t > max_age)
		*stale = true;

	return 0;
}


static int ha1_decode(uint8_t ha1[MD5_SIZE], const char *hex)
{
	if (!hex || strlen(hex) != 2 * MD5_SIZE)
		return EINVAL;

	for (size_t i = 0; i < MD5_SIZE; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]))
			return EINVAL;
		ha1[i] = (uint8_t)(ch_hex(hex[2 * i]) << 4 |
				   ch_hex(hex[2 * i + 1]));
	}
	return 0;
}


/**
 * Check an Authorization header value against the user's HA1.
 * 0: authentic (and *user is the username it claims); EAUTH: wrong or
 * forged; *stale: genuine but expired nonce (answer 401 stale=true).
 */
int digest_verify(const struct pl *authz, const struct pl *method,
		  const char *realm, const char *ha1hex, const char *secret,
		  uint64_t now, uint32_t max_age, struct pl *user,
		  bool *stale)
{
	struct httpauth_digest_resp resp;
	uint8_t ha1[MD5_SIZE];
	int err;

	if (!authz || !method || !realm || !ha1hex || !secret || !stale)
		return EINVAL;

	*stale = false;
	if (httpauth_digest_response_decode(&resp, authz))
		return EAUTH;

	if (pl_strcmp(&resp.realm, realm))
		return EAUTH;

	err = digest_nonce_check(&resp.nonce, secret, now, max_age, stale);
	if (err)
		return err;

	err = ha1_decode(ha1, ha1hex);
	if (err)
		return err;

	err = httpauth_digest_response_auth(&resp, method, ha1);
	if (err)
		return EAUTH;

	if (user)
		*user = resp.username;

	return 0;
}
