/**
 * @file attempt.h  What a SIP answer says of one attempt, and the response
 *                  handler of MESSAGE and content NOTIFY
 */

void attempt_sip(struct attempt *a, char *why, size_t sz, struct sender *s,
		 int err, const struct sip_msg *msg);
void dlv_sip_resp_h(int err, const struct sip_msg *msg, void *arg);
