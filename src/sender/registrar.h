/**
 * @file registrar.h  REGISTER at sippushd (its own and third-party)
 */

bool registrar_request(struct sender *s, const struct sip_msg *msg);
