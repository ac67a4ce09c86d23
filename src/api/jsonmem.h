/**
 * @file jsonmem.h  jansson's allocations from an arena while they last
 *
 * Parsing a push makes some twenty small allocations (the object, its
 * table, a pair per member, a string and its copy per value), all freed
 * when the request has been answered. Installed (json_set_alloc_funcs),
 * jansson's allocations on the installing thread come from one arena in
 * turn, 16-byte aligned; when every block of it is freed it starts again
 * from its beginning. What does not fit, and every allocation on another
 * thread, is the C library's: a document kept for long only pins the
 * arena, and later ones go to malloc until it is freed. Only the thread
 * that installed it may free what its arena handed out (jansson's values
 * do not cross threads in sippushd).
 */

#include <stddef.h>
#include <stdint.h>

enum { JSONMEM_ARENA = 32768 };

struct jsonmem_stats {
	uint64_t arena;     /**< allocations from the arena              */
	uint64_t libc;      /**< allocations from the C library          */
	size_t live;        /**< arena blocks not yet freed              */
	size_t used;        /**< arena bytes handed out since its start  */
};

/** Before any other jansson call; on the thread that runs the loop */
void jsonmem_install(void);
/** Frees what jansson handed out to keep (json_dumps()'s text): jansson
 *  allocates it with the installed functions, so free() cannot */
void jsonmem_free(void *p);
void jsonmem_stats(struct jsonmem_stats *st);
