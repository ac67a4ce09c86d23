/**
 * @file strpack.h  Strings packed after an object, in its own allocation
 *
 * An object with a few strings that never change is one allocation, not
 * one per string (each malloc costs a header, its rounding and a call):
 * the strings' sizes are summed, the object allocated with room for them
 * after it, and each copied there in turn. A NULL string takes no room
 * and stays NULL.
 */

/** What str takes in a pack: its bytes and its NUL (0 for NULL) */
static inline size_t strpack_size(const char *str)
{
	return str ? strlen(str) + 1 : 0;
}


/** str copied at *at, which moves past it; the copy (NULL for NULL) */
static inline char *strpack_put(char **at, const char *str)
{
	const size_t n = strpack_size(str);
	char *d = *at;

	if (!n)
		return NULL;
	memcpy(d, str, n);
	*at += n;
	return d;
}
