/**
 * @file sqmem.c  SQLite's small allocations from free lists of our own
 *
 * A block is a header (its size class, or 0 and its size for the C
 * library's) and what SQLite asked for. A freed small block goes on its
 * class's list while the lists hold less than SQMEM_CACHE_MAX bytes.
 * Under AddressSanitizer a listed block's content is poisoned: a use
 * after free still fails there; a second free aborts, as glibc's does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "store/sqmem.h"
#include "rt/poison.h"


enum { GRAIN = 16, CLASSES = SQMEM_SMALL_MAX / GRAIN };

/* 16 bytes: what follows keeps malloc()'s alignment. A listed block's
 * link is here, outside what is poisoned: LeakSanitizer still finds the
 * blocks through it */
struct hdr {
	uint32_t cls;       /* 1..CLASSES; 0: the C library's           */
	uint32_t listed;    /* on a list: a second free is caught       */
	union {
		uint64_t size;      /* cls 0: the size asked            */
		struct hdr *next;   /* listed: the next on its list     */
	} u;
};

static struct {
	struct hdr *list[CLASSES + 1];
	size_t cached;
	uint64_t reused;
	uint64_t fresh;
} pool;


static size_t blk_bytes(uint32_t cls)
{
	return sizeof(struct hdr) + (size_t)cls * GRAIN;
}


static struct hdr *hdr_of(void *p)
{
	return (struct hdr *)((uintptr_t)p - sizeof(struct hdr));
}


static void *sq_malloc(int n)
{
	struct hdr *h;
	uint32_t cls;

	if (n <= 0)
		return NULL;

	if (n > SQMEM_SMALL_MAX) {
		h = malloc(sizeof(*h) + (size_t)n);
		if (!h)
			return NULL;
		h->cls = 0;
		h->listed = 0;
		h->u.size = (uint64_t)n;
		return h + 1;
	}

	cls = (uint32_t)((n + GRAIN - 1) / GRAIN);
	h = pool.list[cls];
	if (h) {
		pool.list[cls] = h->u.next;
		pool.cached -= blk_bytes(cls);
		h->listed = 0;
		h->u.next = NULL;
		UNPOISON(h + 1, (size_t)cls * GRAIN);
		++pool.reused;
		return h + 1;
	}

	h = malloc(blk_bytes(cls));
	if (!h)
		return NULL;
	h->cls = cls;
	h->listed = 0;
	h->u.next = NULL;
	++pool.fresh;
	return h + 1;
}


static void sq_free(void *p)
{
	struct hdr *h;

	if (!p)
		return;

	h = hdr_of(p);
	if (h->listed)
		abort();    /* freed twice: as glibc's free() would */
	if (!h->cls || pool.cached + blk_bytes(h->cls) > SQMEM_CACHE_MAX) {
		free(h);
		return;
	}

	h->listed = 1;
	h->u.next = pool.list[h->cls];
	pool.list[h->cls] = h;
	pool.cached += blk_bytes(h->cls);
	POISON(h + 1, (size_t)h->cls * GRAIN);
}


static int sq_size(void *p)
{
	struct hdr *h;

	if (!p)
		return 0;
	h = hdr_of(p);
	return h->cls ? (int)h->cls * GRAIN : (int)h->u.size;
}


static void *sq_realloc(void *p, int n)
{
	struct hdr *h = hdr_of(p);
	int have = sq_size(p);
	void *q;

	if (n <= 0)
		return NULL;

	/* a small block that still fits stays where it is */
	if (h->cls && n <= have)
		return p;

	if (!h->cls && n > SQMEM_SMALL_MAX) {
		h = realloc(h, sizeof(*h) + (size_t)n);
		if (!h)
			return NULL;
		h->u.size = (uint64_t)n;
		return h + 1;
	}

	q = sq_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, (size_t)(n < have ? n : have));
	sq_free(p);
	return q;
}


static int sq_roundup(int n)
{
	if (n <= SQMEM_SMALL_MAX)
		return (n + GRAIN - 1) / GRAIN * GRAIN;
	return (n + 7) & ~7;
}


static int sq_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}


static void sq_shutdown(void *arg)
{
	(void)arg;
	sqmem_trim();
}


static const sqlite3_mem_methods methods = {
	.xMalloc   = sq_malloc,
	.xFree     = sq_free,
	.xRealloc  = sq_realloc,
	.xSize     = sq_size,
	.xRoundup  = sq_roundup,
	.xInit     = sq_init,
	.xShutdown = sq_shutdown,
	.pAppData  = NULL,
};


const struct sqlite3_mem_methods *sqmem_methods(void)
{
	return &methods;
}


void sqmem_trim(void)
{
	for (uint32_t cls = 1; cls <= CLASSES; cls++) {

		while (pool.list[cls]) {
			struct hdr *h = pool.list[cls];

			pool.list[cls] = h->u.next;
			UNPOISON(h + 1, (size_t)cls * GRAIN);
			free(h);
		}
	}
	pool.cached = 0;
}


void sqmem_stats(struct sqmem_stats *st)
{
	if (!st)
		return;
	st->reused = pool.reused;
	st->fresh  = pool.fresh;
	st->cached = pool.cached;
}
