/**
 * @file sqmem.c  SQLite's small allocations from free lists of our own
 *
 * A block is a header (its size class, or 0 and its size for the C
 * library's) and what SQLite asked for. A freed small block goes on its
 * class's list while the lists hold less than SQMEM_CACHE_MAX bytes.
 * Under AddressSanitizer a listed block is poisoned, header and all: a
 * use after free or a second free still fails there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "store/sqmem.h"
#include "rt/poison.h"


enum { GRAIN = 16, CLASSES = SQMEM_SMALL_MAX / GRAIN };

/* 16 bytes: what follows keeps malloc()'s alignment */
struct hdr {
	uint32_t cls;       /* 1..CLASSES; 0: the C library's           */
	uint32_t pad;
	uint64_t size;      /* cls 0: the size asked                    */
};

struct blk {
	struct blk *next;
};

static struct {
	struct blk *list[CLASSES + 1];
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
	struct blk *b;
	uint32_t cls;

	if (n <= 0)
		return NULL;

	if (n > SQMEM_SMALL_MAX) {
		h = malloc(sizeof(*h) + (size_t)n);
		if (!h)
			return NULL;
		h->cls = 0;
		h->size = (uint64_t)n;
		return h + 1;
	}

	cls = (uint32_t)((n + GRAIN - 1) / GRAIN);
	b = pool.list[cls];
	if (b) {
		h = hdr_of(b);
		UNPOISON(h, blk_bytes(cls));
		pool.list[cls] = b->next;
		pool.cached -= blk_bytes(cls);
		++pool.reused;
		return b;
	}

	h = malloc(blk_bytes(cls));
	if (!h)
		return NULL;
	h->cls = cls;
	h->size = 0;
	++pool.fresh;
	return h + 1;
}


static void sq_free(void *p)
{
	struct hdr *h;
	struct blk *b = p;

	if (!p)
		return;

	h = hdr_of(p);
	if (!h->cls || pool.cached + blk_bytes(h->cls) > SQMEM_CACHE_MAX) {
		free(h);
		return;
	}

	b->next = pool.list[h->cls];
	pool.list[h->cls] = b;
	pool.cached += blk_bytes(h->cls);
	POISON(h, blk_bytes(h->cls));
}


static int sq_size(void *p)
{
	struct hdr *h;

	if (!p)
		return 0;
	h = hdr_of(p);
	return h->cls ? (int)h->cls * GRAIN : (int)h->size;
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
		h->size = (uint64_t)n;
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
			struct blk *b = pool.list[cls];
			struct hdr *h = hdr_of(b);

			UNPOISON(h, blk_bytes(cls));
			pool.list[cls] = b->next;
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
