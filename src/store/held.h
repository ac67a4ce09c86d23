/**
 * @file held.h  Progress records held in memory (internal to the store)
 *
 * A delivery's record or a push's final state, with its statement and
 * values copied into one allocation: written later in one go (held for
 * its batch), remembered with the turn that wrote it (kept again if its
 * commit fails), or kept after a failed commit. Nothing is encoded: the
 * values go to the backend as they are.
 */

struct held {
	struct le he;            /**< in its set's hash                    */
	struct le le;            /**< in a set's list, or a turn's         */
	enum store_q q;
	size_t n;
	const char *key;         /**< a delivery, or a push's final state  */
	struct sval v[];         /**< n values, then the key and the text  */
};

/** Held records by key, the newest of each, oldest first in the list */
struct held_set {
	struct hash *h;
	struct list l;
	uint32_t n;
};

int  held_alloc(struct held **hp, enum store_q q, const struct sval *v,
		size_t n);
int  held_put(struct held_set *hs, struct held *h, uint32_t max);
void held_take(struct held_set *hs, struct held *h);
void held_drop(struct held_set *hs, const char *key);
