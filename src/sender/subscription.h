/**
 * @file subscription.h  An oma-app subscription's dialog: NOTIFYs, end, fallback
 */

int sub_save(const struct sub *sub);
struct sub *sub_by_callid(const struct sender *s, const char *cid);
struct sub *sub_find(const struct user *u, const char *tkey,
		     const char *app);
bool subs_room(const struct sender *s, const struct user *u,
	       const char *tkey, const char *app);
void sub_gone(struct sub *sub, const char *why);
void sub_forget(struct sub *sub);
void sub_kick(struct sub *sub);
void sub_end(struct sub *sub, const char *why);
void sub_fetch(struct sub *sub);
void sub_arm(struct sub *sub);
int sub_alloc(struct sub **subp);
int sub_notify_start(struct target *t, struct delivery *d);
void sub_notify_ended(struct target *t, const struct attempt *a,
		      const char *why);
