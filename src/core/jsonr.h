/**
 * @file jsonr.h  A JSON document (RFC 8259) read into two allocations:
 *                its values in one array, in document order, and its
 *                strings decoded into one buffer. For the push request's
 *                path, where jansson's json_loadb() built a tree of ~20
 *                allocations and cost more than the rest of the request.
 *
 * It accepts and refuses what json_loadb(JSON_REJECT_DUPLICATES) does
 * (test_jsonr compares the two): an object or an array at the top, strict
 * UTF-8, no NUL in a string, no duplicate member names, integers that fit
 * in 64 bits, reals that do not overflow, nesting up to 2048 values deep.
 */

enum jsonr_type {
	JSONR_NULL, JSONR_FALSE, JSONR_TRUE, JSONR_INT, JSONR_REAL,
	JSONR_STRING, JSONR_ARRAY, JSONR_OBJECT,
};

/* A value; the children of an array or object follow it in the array,
 * each followed by its own children, so end skips a whole subtree */
struct jsonr_val {
	enum jsonr_type type;
	uint32_t n;           /**< string: bytes; array, object: children  */
	uint32_t end;         /**< index of the value after this subtree   */
	const char *key;      /**< a member's name, NUL-terminated; or NULL */
	union {
		const char *s;    /**< NUL-terminated, n bytes             */
		int64_t i;
		double d;
	} u;
};

struct jsonr;

int jsonr_parse(struct jsonr **jp, const char *buf, size_t len,
		char *why, size_t whysz);
const struct jsonr_val *jsonr_root(const struct jsonr *j);
const struct jsonr_val *jsonr_first(const struct jsonr *j,
				    const struct jsonr_val *v);
const struct jsonr_val *jsonr_next(const struct jsonr *j,
				   const struct jsonr_val *parent,
				   const struct jsonr_val *child);
const struct jsonr_val *jsonr_get(const struct jsonr *j,
				  const struct jsonr_val *obj,
				  const char *key);
const struct jsonr_val *jsonr_at(const struct jsonr *j,
				 const struct jsonr_val *arr, size_t i);

/* Every child of v (an array's elements, an object's members) */
#define JSONR_EACH(j, v, c) \
	for ((c) = jsonr_first((j), (v)); (c); \
	     (c) = jsonr_next((j), (v), (c)))
