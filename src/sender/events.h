/**
 * @file events.h  The live event feed (a bounded ring read by /v1/events)
 */

struct jsonw;

/* The longest line the feed keeps */
enum { EVENT_MAX_LINE = 2048 };

int  events_init(struct sender *s);
void events_emit(struct sender *s, const char *type, struct jsonw *w,
		 const char *scope);
void event_terminal(struct sender *s, const char *aor,
		    const struct terminal *t, const char *gruu, bool gone);
void events_take(struct sender *s, const char *scope, const char *line);
int  events_scope(char *buf, size_t sz, const char *pfx, const char *name);
