/**
 * @file src/receiver/seen.h  Identities of pushes already handed over
 */

struct seen;

int  seen_open(struct seen **sp, const char *dir, uint32_t max);
bool seen_has(const struct seen *s, const char *id);
int  seen_add(struct seen *s, const char *id);
