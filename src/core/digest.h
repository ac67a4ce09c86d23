/**
 * @file digest.h  Server side of SIP digest authentication (RFC 3261 §22)
 *
 * Stateless nonces: "<16 hex: issue time, seconds><16 hex: random>" +
 * MD5(secret:time+random) in hex, so a restart with the same secret still
 * accepts fresh nonces and nothing is kept per challenge; no two
 * challenges share one (their nonce counts are kept apart, noncecount.h).
 * Times are given by the caller. Passwords are never stored: only
 * HA1 = MD5(user:realm:password), in hex.
 */

enum { DIGEST_NONCE_LEN = 64, DIGEST_HA1_HEX = 32 };

int  digest_ha1_hex(char ha1hex[DIGEST_HA1_HEX + 1], const char *user,
		    const char *realm, const char *password);
int  digest_nonce(char nonce[DIGEST_NONCE_LEN + 1], const char *secret,
		  uint64_t now);
int  digest_nonce_check(const struct pl *nonce, const char *secret,
			uint64_t now, uint32_t max_age, bool *stale);
int  digest_verify(const struct pl *authz, const struct pl *method,
		   const char *realm, const char *ha1hex, const char *secret,
		   uint64_t now, uint32_t max_age, struct pl *user,
		   bool *stale);
