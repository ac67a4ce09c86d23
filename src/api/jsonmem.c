/**
 * @file jsonmem.c  jansson's allocations from an arena while they last
 *
 * Each block has a 16-byte header holding its length, so that a freed
 * block can be poisoned under AddressSanitizer (a use after free of arena
 * memory still fails there), and whether it was freed.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "api/jsonmem.h"
#include "rt/poison.h"


/* Before each block: its length, and whether it was freed (a second
 * free aborts, as glibc's does, rather than reset the arena early) */
struct hdr {
	size_t need;
	size_t freed;
};

enum { HDR = 16 };
_Static_assert(sizeof(struct hdr) <= HDR, "a block's header fits its 16 bytes");

static struct {
	_Alignas(16) unsigned char buf[JSONMEM_ARENA];
	size_t top;
	size_t live;
	uint64_t arena;
	uint64_t libc;
} A;

static _Thread_local bool mine;


static bool in_arena(const void *p)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)A.buf;

	return u >= b && u < b + sizeof(A.buf);
}


static void *jm_malloc(size_t n)
{
	unsigned char *h;
	size_t need = HDR + ((n + 15) & ~(size_t)15);

	/* n bounded first: need must not wrap */
	if (!mine || n > sizeof(A.buf) - HDR || need > sizeof(A.buf) - A.top) {
		++A.libc;
		return malloc(n);
	}

	h = A.buf + A.top;
	UNPOISON(h, need);
	memcpy(h, &(struct hdr){need, 0}, sizeof(struct hdr));
	A.top += need;
	++A.live;
	++A.arena;
	return h + HDR;
}


static void jm_free(void *p)
{
	unsigned char *h;
	struct hdr hd;

	if (!in_arena(p)) {
		free(p);
		return;
	}

	h = (unsigned char *)p - HDR;
	memcpy(&hd, h, sizeof(hd));
	if (hd.freed)
		abort();
	hd.freed = 1;
	memcpy(h, &hd, sizeof(hd));
	POISON(h, hd.need);
	if (--A.live == 0)
		A.top = 0;
}


void jsonmem_free(void *p)
{
	jm_free(p);
}


void jsonmem_install(void)
{
	mine = true;
	POISON(A.buf, sizeof(A.buf));
	json_set_alloc_funcs(jm_malloc, jm_free);
}


void jsonmem_stats(struct jsonmem_stats *st)
{
	if (!st)
		return;
	st->arena = A.arena;
	st->libc  = A.libc;
	st->live  = A.live;
	st->used  = A.top;
}
