/**
 * @file refuse.h  Refusing a SIP request, and saying so in the log
 */

void sender_refusal_log(struct sender *s, const struct sip_msg *msg,
			uint16_t scode, const char *reason);
void sender_refuse(struct sender *s, const struct sip_msg *msg,
		   uint16_t scode, const char *reason);
