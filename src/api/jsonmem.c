/**
 * @file jsonmem.c  jansson's allocations from an arena while they last
 *
 * Each block has a 16-byte header holding its length, so that a freed
 * block can be poisoned under AddressSanitizer: a use after free, or a
 * second free, of arena memory still fails there.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <jansson.h>
#include "api/jsonmem.h"
#include "rt/poison.h"


enum { HDR = 16 };

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
	*(size_t *)(void *)h = need;
	A.top += need;
	++A.live;
	++A.arena;
	return h + HDR;
}


static void jm_free(void *p)
{
	unsigned char *h;

	if (!in_arena(p)) {
		free(p);
		return;
	}

	h = (unsigned char *)p - HDR;
	POISON(h, *(size_t *)(void *)h);
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
