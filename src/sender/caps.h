/**
 * @file caps.h  What terminals tell of themselves (ua-profile, UAProf)
 */

struct caps *caps_find(const struct sender *s, const char *aor,
		       const char *tkey);
int caps_save(const struct sender *s, const struct caps *c);
int caps_update(struct sender *s, const char *aor, const char *tkey,
		const struct uaprof_event *ev);
int caps_load(struct sender *s);
