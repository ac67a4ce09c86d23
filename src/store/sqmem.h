/**
 * @file sqmem.h  SQLite's small allocations from free lists of our own
 *
 * Debian builds SQLite with SQLITE_OMIT_LOOKASIDE, so every record,
 * cursor and value a statement makes is a malloc() and a free(): some
 * 24 of each per push. These methods (SQLITE_CONFIG_MALLOC) keep freed
 * blocks up to SQMEM_SMALL_MAX bytes on a list per 16-byte size class
 * and hand them out again; larger ones, and any beyond the cache's bound,
 * go to the C library. Not thread-safe: installed only with SQLite in
 * single-thread mode (SQLITE_CONFIG_SINGLETHREAD), as sippushd runs it.
 */

#include <stddef.h>
#include <stdint.h>

struct sqlite3_mem_methods;

enum {
	SQMEM_SMALL_MAX = 1024,            /**< larger: the C library's  */
	SQMEM_CACHE_MAX = 1024 * 1024,     /**< bytes kept on the lists  */
};

struct sqmem_stats {
	uint64_t reused;    /**< small allocations taken from a list      */
	uint64_t fresh;     /**< small allocations from the C library     */
	size_t cached;      /**< bytes on the lists now                   */
};

/** The methods, for SQLITE_CONFIG_MALLOC (and for tests to call) */
const struct sqlite3_mem_methods *sqmem_methods(void);
/** Every cached block back to the C library */
void sqmem_trim(void);
void sqmem_stats(struct sqmem_stats *st);
