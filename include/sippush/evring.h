/**
 * @file evring.h  A bounded ring of event lines (JSON objects) numbered
 *                 1, 2, 3 ... so a reader can ask for "what came after N"
 *                 and learn how many it missed when the ring moved on.
 *                 Feeds GET /v1/events and `sippush watch`.
 */

struct evring;
struct re_printf;

int      evring_alloc(struct evring **erp, size_t cap, size_t max_line);
int      evring_add(struct evring *er, const char *json, uint64_t *seqp);
uint64_t evring_head(const struct evring *er);
uint64_t evring_oldest(const struct evring *er);
int      evring_print(struct re_printf *pf, const struct evring *er,
		      uint64_t after, size_t max, uint64_t *nextp);
