/**
 * @file notifier.h  SUBSCRIBE at sippushd: making and refreshing oma-app
 *                   subscriptions, and loading them at start
 */

bool notifier_request(struct sender *s, const struct sip_msg *msg);
int sub_load(struct sender *s);
int sub_reload_shards(struct sender *s, const bool *mask);
int sub_reload_user(struct sender *s, const char *aor);
void sub_forget_shard(struct sender *s, uint32_t shard);
