/**
 * @file auth.h  Digest authentication of peers that are not trusted
 */

enum { NONCE_MAX_AGE = 300, NONCES_MAX = 65536 };

bool auth_digest(struct sender *s, const struct sip_msg *msg,
		 const char *aor, const struct pl *aor_user);
