/**
 * @file events.h  The live event feed (a bounded ring read by /v1/events)
 */

struct json_t;

int  events_init(struct sender *s);
void events_emit(struct sender *s, const char *type, struct json_t *ev,
		 const char *scope);
void event_terminal(struct sender *s, const char *aor,
		    const struct terminal *t, const char *gruu, bool gone);
