/**
 * @file terminal.h  The registry of users' terminals
 */

struct user *user_find(struct sender *s, const char *aor);
int user_get(struct user **up, struct sender *s, const char *aor);
struct terminal *term_find(struct user *u, const char *tkey);
bool term_room(const struct user *u);
void term_remove(struct terminal *t);
int term_upsert(struct sender *s, const struct term_rec *r, bool *became);
bool term_via_core(const struct terminal *t);
bool term_charged(const struct terminal *t);
const char *term_gruu(const struct terminal *t, const char **source);
void term_caps_of(struct term_caps *tc, const struct terminal *t);
int term_load(struct sender *s);
int term_reload(struct sender *s, const char *aor);
int term_reload_shards(struct sender *s, const bool *mask);
