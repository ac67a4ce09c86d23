/**
 * @file regwatch.h  The reg event package (RFC 3680) as a watcher
 */

enum { REGWATCH_MAX = 4096 };

int regwatch_start(struct sender *s, const char *uri, const char *route);
void regwatch_start_all(struct sender *s);
void regwatch_auto(struct sender *s, const char *aor, const char *route);
void regwatch_loaded(struct sender *s);
void regwatch_user(struct sender *s, struct user *u);
void regwatch_drop_shard(struct sender *s, uint32_t shard);
bool regwatch_notify(struct sender *s, const struct sip_msg *msg);
uint32_t regwatch_stop_all(struct sender *s);
uint32_t regwatch_count(const struct sender *s);
