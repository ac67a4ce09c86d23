/**
 * @file trust.h  Which peers are trusted (--trust, over TCP/TLS)
 */

bool sender_trusted(const struct sender *s, const struct sip_msg *msg);
