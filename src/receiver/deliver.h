/**
 * @file src/receiver/deliver.h  Every push's way to the application,
 *                               whatever method brought it
 */

struct deliver;
struct receiver_push;

/**
 * How a push ended, once: 0 taken (now, or before: a re-sent copy),
 * EBUSY when the application is busy, else it failed. The method turns
 * it into its answer (200/503/500, an MSRP status).
 */
typedef void (deliver_end_h)(int err, void *arg);

int  deliver_alloc(struct deliver **dp, const char *state_dir,
		   uint32_t seen_max, receiver_push_h *ph, void *arg);
bool deliver_seen(const struct deliver *d, const char *push_id);
void deliver_push(struct deliver *d, const struct receiver_push *p,
		  deliver_end_h *endh, void *arg);
void deliver_failed(struct deliver *d, const struct receiver_push *p);
void deliver_done(struct deliver *d, const char *push_id, int err);
