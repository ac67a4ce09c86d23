/**
 * @file tmr.c  libre's tmr_* API on per-delay FIFO lanes, one set per thread
 *
 * libre 1.1.0 keeps every timer in one sorted list and walks it on each
 * tmr_start(): O(n) per insert, which caps a SIP client near 3k requests/s.
 * This file provides the same public functions, linked as an object ahead of
 * libre.a so the archive's tmr.o is never pulled in (see CMakeLists.txt).
 *
 * A SIP stack starts timers with a handful of delays (T1, T2, T4, 64*T1...).
 * Timers with one delay expire in the order they were started, because the
 * clock is monotonic; so each delay gets a FIFO "lane" (a libre list) and a
 * start is an O(1) append, a cancel an O(1) unlink. Only lane heads compete:
 * a binary heap of non-empty lanes, keyed by head expiry, gives the next
 * timer in O(log lanes). Equal expiries fire in start order across lanes.
 *
 * struct tmr (re_tmr.h) is libre's: tmr->le links it into its lane, and
 * tmr->le.data holds its start sequence number instead of a data pointer
 * (the tmr is the le's container).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <re.h>
#include "tmr/tmrset.h"


enum {
	LANE_BUCKETS = 1024,
	LANES_SPARE  = 32,    /* emptied lanes kept for reuse */
};

struct lane {
	struct le he;         /* in tmr_set.lanes, keyed by delay */
	struct list tmrl;     /* its timers, expiry ascending     */
	uint64_t delay;
	size_t pos;           /* index in tmr_set.heap            */
};

struct tmr_set {
	struct hash *lanes;
	struct lane **heap;   /* non-empty lanes, earliest head first */
	size_t nheap;
	size_t cap;
	size_t count;
	uintptr_t seq;
	tmrset_clock_h *clockh;
	void *clock_arg;
	struct lane *spare[LANES_SPARE];
	size_t nspare;
};

static _Thread_local struct tmr_set tset;

/* A thread's set is freed when the thread exits (a key destructor), so a
 * worker thread that used timers leaks nothing. */
static pthread_key_t set_key;
static pthread_once_t set_once = PTHREAD_ONCE_INIT;


static void set_release(void *arg)
{
	struct tmr_set *s = arg;
	size_t i;

	for (i = 0; i < s->nheap; i++)
		free(s->heap[i]);   /* empty lanes are freed as they empty */
	for (i = 0; i < s->nspare; i++)
		free(s->spare[i]);

	free(s->heap);
	mem_deref(s->lanes);
	memset(s, 0, sizeof(*s));
}


static void key_init(void)
{
	(void)pthread_key_create(&set_key, set_release);
}


static uint64_t mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		return 0;

	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}


/* tmr_start() cannot report failure, and a timer that never fires silently
 * breaks a SIP state machine: stop loudly instead. */
static void oom(const char *what)
{
	fprintf(stderr, "tmr: out of memory (%s)\n", what);
	abort();
}


static inline struct tmr *le_tmr(const struct le *le)
{
	return (struct tmr *)(void *)le;  /* le is struct tmr's first member */
}


static inline uintptr_t tmr_seq(const struct tmr *tmr)
{
	return (uintptr_t)tmr->le.data;
}


static inline bool tmr_before(const struct tmr *a, const struct tmr *b)
{
	if (a->jfs != b->jfs)
		return a->jfs < b->jfs;

	/* wrap-safe on 32-bit sequence numbers */
	return (intptr_t)(tmr_seq(a) - tmr_seq(b)) < 0;
}


static inline struct tmr *lane_head(const struct lane *l)
{
	return le_tmr(l->tmrl.head);
}


static inline bool lane_before(const struct lane *a, const struct lane *b)
{
	return tmr_before(lane_head(a), lane_head(b));
}


static inline void heap_put(struct tmr_set *s, size_t i, struct lane *l)
{
	s->heap[i] = l;
	l->pos = i;
}


static void sift_up(struct tmr_set *s, size_t i)
{
	struct lane *l = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!lane_before(l, s->heap[parent]))
			break;

		heap_put(s, i, s->heap[parent]);
		i = parent;
	}

	heap_put(s, i, l);
}


static void sift_down(struct tmr_set *s, size_t i)
{
	struct lane *l = s->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;

		if (c + 1 < s->nheap && lane_before(s->heap[c + 1], s->heap[c]))
			++c;

		if (!lane_before(s->heap[c], l))
			break;

		heap_put(s, i, s->heap[c]);
		i = c;
	}

	heap_put(s, i, l);
}


static void heap_fix(struct tmr_set *s, size_t i)
{
	if (i > 0 && lane_before(s->heap[i], s->heap[(i - 1) / 2]))
		sift_up(s, i);
	else
		sift_down(s, i);
}


static void heap_add(struct tmr_set *s, struct lane *l)
{
	if (s->nheap == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct lane **v = realloc(s->heap, cap * sizeof(*v));

		if (!v)
			oom("lane heap");

		s->heap = v;
		s->cap = cap;
	}

	heap_put(s, s->nheap, l);
	sift_up(s, s->nheap++);
}


static void heap_del(struct tmr_set *s, struct lane *l)
{
	size_t i = l->pos;

	if (--s->nheap == i)
		return;

	heap_put(s, i, s->heap[s->nheap]);
	heap_fix(s, i);
}


static uint32_t delay_key(uint64_t delay)
{
	return (uint32_t)((delay * 0x9e3779b97f4a7c15ull) >> 32);
}


static struct lane *lane_get(struct tmr_set *s, uint64_t delay)
{
	struct lane *l;
	struct le *le;

	if (!s->lanes) {
		if (hash_alloc(&s->lanes, LANE_BUCKETS))
			oom("lane table");

		(void)pthread_once(&set_once, key_init);
		(void)pthread_setspecific(set_key, s);
	}

	LIST_FOREACH(hash_list(s->lanes, delay_key(delay)), le) {
		l = le->data;
		if (l->delay == delay)
			return l;
	}

	/* a lane emptied before, if any: a timer with a delay of its own
	 * (a push's TTL) would otherwise allocate and free one per start */
	if (s->nspare) {
		l = s->spare[--s->nspare];
		memset(l, 0, sizeof(*l));
	}
	else {
		l = calloc(1, sizeof(*l));
		if (!l)
			oom("lane");
	}

	l->delay = delay;
	hash_append(s->lanes, delay_key(delay), &l->he, l);

	return l;
}


static void lane_insert(struct tmr_set *s, struct lane *l, struct tmr *tmr)
{
	const bool was_empty = list_isempty(&l->tmrl);
	struct le *le = l->tmrl.tail;

	/* Normally appends at once; walks back only if the clock went back. */
	while (le && tmr_before(tmr, le_tmr(le)))
		le = le->prev;

	if (le)
		list_insert_after(&l->tmrl, le, &tmr->le, tmr->le.data);
	else
		list_prepend(&l->tmrl, &tmr->le, tmr->le.data);

	if (was_empty)
		heap_add(s, l);
	else if (l->tmrl.head == &tmr->le)
		heap_fix(s, l->pos);
}


static void lane_remove(struct tmr_set *s, struct tmr *tmr)
{
	struct lane *l;
	bool was_head;

	if (!tmr->le.list)
		return;  /* not linked (e.g. another thread's set) */

	l = (struct lane *)(void *)((char *)tmr->le.list -
				    offsetof(struct lane, tmrl));
	was_head = l->tmrl.head == &tmr->le;

	list_unlink(&tmr->le);
	--s->count;

	if (list_isempty(&l->tmrl)) {
		heap_del(s, l);
		hash_unlink(&l->he);
		if (s->nspare < LANES_SPARE)
			s->spare[s->nspare++] = l;
		else
			free(l);
	}
	else if (was_head) {
		sift_down(s, l->pos);
	}
}


uint64_t tmr_jiffies(void)
{
	if (tset.clockh)
		return tset.clockh(tset.clock_arg);

	return mono_ms();
}


void tmr_init(struct tmr *tmr)
{
	if (!tmr)
		return;

	memset(tmr, 0, sizeof(*tmr));
}


void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	struct tmr_set *s = &tset;

	if (!tmr)
		return;

	if (tmr->th)
		lane_remove(s, tmr);

	tmr->th  = th;
	tmr->arg = arg;

	if (!th)
		return;

	tmr->jfs = tmr_jiffies() + delay;
	tmr->le.data = (void *)s->seq++;
	lane_insert(s, lane_get(s, delay), tmr);
	++s->count;
}


void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}


uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;

	now = tmr_jiffies();

	return tmr->jfs > now ? tmr->jfs - now : 0;
}


/* Same contract as libre's: fire everything due at entry, including timers
 * a handler starts with a delay of 0 (they are due at the same instant). */
void tmr_poll(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();
	struct tmr_set *s = &tset;

	(void)tmrl;

	while (s->nheap) {
		struct tmr *tmr = lane_head(s->heap[0]);
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		if (tmr->jfs > now)
			break;

		lane_remove(s, tmr);
		tmr->th = NULL;

		if (th)
			th(arg);
	}
}


/* 0 means "no timers" to re_main (it then waits for I/O without limit). */
uint64_t tmr_next_timeout(struct list *tmrl)
{
	uint64_t now, jfs;

	(void)tmrl;

	if (!tset.nheap)
		return 0;

	now = tmr_jiffies();
	jfs = lane_head(tset.heap[0])->jfs;

	return jfs <= now ? 1 : jfs - now;
}


int tmr_status(struct re_printf *pf, void *unused)
{
	const uint64_t now = tmr_jiffies();
	size_t i;
	int err;

	(void)unused;

	if (!tset.count)
		return 0;

	err = re_hprintf(pf, "Timers (%zu in %zu lanes):\n", tset.count,
			 tset.nheap);

	for (i = 0; i < tset.nheap && i < 100; i++) {
		const struct lane *l = tset.heap[i];
		const struct tmr *tmr = lane_head(l);

		err |= re_hprintf(pf, "  lane %llums: %u timers, first %p "
				  "th=%p expire=%llums\n",
				  (unsigned long long)l->delay,
				  list_count(&l->tmrl), (const void *)tmr,
				  (void *)tmr->th,
				  (unsigned long long)(tmr->jfs > now ?
						       tmr->jfs - now : 0));
	}

	return err;
}


void tmr_debug(void)
{
	if (tset.count)
		(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}


size_t tmrset_count(void)
{
	return tset.count;
}


void tmrset_clock_set(tmrset_clock_h *clockh, void *arg)
{
	tset.clockh = clockh;
	tset.clock_arg = arg;
}
