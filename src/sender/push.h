/**
 * @file push.h  Pushes: acceptance, topics, planning, fallback, states
 */

void push_delivery_final(struct delivery *d);
int dlv_fallback(struct delivery *d, const char *why);
void push_sub_ready(struct sub *sub);
void push_init(struct sender *s);
void push_user_ready(struct user *u);
int push_load(struct sender *s);
const char *push_waiting(struct sender *s, const char *id, char *buf,
			 size_t sz);
int push_load_shards(struct sender *s, const bool *mask);
int push_load_one(struct sender *s, const char *id);
bool push_busy_shard(struct sender *s, uint32_t shard);
void push_forget_shard(struct sender *s, uint32_t shard);
int push_take(struct sender *s, const char *txt);
