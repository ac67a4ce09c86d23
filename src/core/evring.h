/**
 * @file evring.h  A bounded ring of event lines (JSON objects) numbered
 *                 1, 2, 3 ... so a reader can ask for "what came after N"
 *                 and learn how many it missed when the ring moved on.
 *                 Feeds GET /v1/events and `sippush watch`.
 *
 * An event is a line, or a record its writer keeps cheaper than a line
 * (evring_add_rec), made a line by the render handler only when read:
 * most events are never read.
 */

struct evring;
struct re_printf;

/* Whether a reader sees an event of this scope (what evring_add_scoped
 * was given: never printed) */
typedef bool (evring_filter_h)(const char *scope, void *arg);

/* The line (a JSON object, NUL-terminated) a record stands for; non-zero:
 * none, and the reader passes the event over */
typedef int (evring_render_h)(char *buf, size_t sz, const void *rec,
			      size_t len);

int      evring_alloc(struct evring **erp, size_t cap, size_t max_line);
void     evring_set_render(struct evring *er, evring_render_h *rh);
int      evring_add_rec(struct evring *er, const void *rec, size_t len,
			const char *scope, uint64_t *seqp);
int      evring_add(struct evring *er, const char *json, uint64_t *seqp);
int      evring_add_scoped(struct evring *er, const char *json,
			   const char *scope, uint64_t *seqp);
uint64_t evring_head(const struct evring *er);
uint64_t evring_oldest(const struct evring *er);
int      evring_print(struct re_printf *pf, const struct evring *er,
		      uint64_t after, size_t max, uint64_t *nextp);
int      evring_print_if(struct re_printf *pf, const struct evring *er,
			 uint64_t after, size_t max, uint64_t *nextp,
			 evring_filter_h *fh, void *arg);
bool     evring_any(const struct evring *er, uint64_t after,
		    evring_filter_h *fh, void *arg);
