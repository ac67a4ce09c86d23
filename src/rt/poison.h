/**
 * @file poison.h  Free lists and arenas told to AddressSanitizer
 *
 * Memory a pool of ours keeps for reuse is poisoned while it waits, so
 * that a use after free or a second free of it still fails under ASan
 * as it would with malloc's. Without ASan these do nothing.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SIPPUSH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIPPUSH_ASAN 1
#endif
#endif

#ifdef SIPPUSH_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
