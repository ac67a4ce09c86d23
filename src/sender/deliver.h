/**
 * @file deliver.h  The queue: one per destination, one request outstanding
 *                  on each, retries, pacing
 */

int deliver_enqueue(struct delivery *d);
void deliver_ttl_end(struct delivery *d);
void deliver_finish(struct delivery *d, enum delivery_state ds, uint16_t pap);
void deliver_cancel(struct delivery *d);
void deliver_kick(struct target *t);
void deliver_terminal_moved(struct sender *s, const char *aor,
			    const char *tkey);
void deliver_soon(struct target *t);
void deliver_init(struct sender *s);
