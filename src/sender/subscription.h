/**
 * @file subscription.h  An oma-app subscription's dialog: NOTIFYs, end, fallback
 */

/* A subscription read back from the store sends its NOTIFYs this far
 * above the CSeq saved; the CSeq is saved every CSEQ_SAVE_EVERY NOTIFYs
 * (the save is lazy: a crash may lose the last one, still 2 x 256 below
 * the gap) */
enum { CSEQ_RELOAD_GAP = 1000, CSEQ_SAVE_EVERY = 256 };

int sub_save(struct sub *sub);
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
