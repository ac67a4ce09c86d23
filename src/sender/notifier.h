/**
 * @file notifier.h  SUBSCRIBE at sippushd: making and refreshing oma-app
 *                   subscriptions, and loading them at start
 */

bool notifier_request(struct sender *s, const struct sip_msg *msg);
int sub_load(struct sender *s);
