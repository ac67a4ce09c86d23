/**
 * @file evring.c  Bounded ring of numbered event lines
 */
#include <errno.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include "core/evring.h"


/* A slot keeps its buffer from one event to the next: once the ring has
 * gone round, adding an event allocates nothing */
struct slot {
	char *buf;        /**< the line (or record), NUL, the scope, NUL */
	size_t size;      /**< of buf                                    */
	size_t len;       /**< of the line or record                     */
	size_t scope;     /**< offset of the scope in buf, 0: none       */
	bool rec;         /**< a record, for the render handler          */
};

struct evring {
	struct slot *slot;  /**< cap slots; seq n is in (n - 1) % cap       */
	size_t cap;
	size_t max_line;
	uint64_t head;      /**< the last number given, 0 before any        */
	evring_render_h *rh;
};


static void destructor(void *arg)
{
	struct evring *er = arg;

	for (size_t i = 0; i < er->cap; i++)
		mem_deref(er->slot[i].buf);
	mem_deref(er->slot);
}


/** A ring keeping the last cap events of at most max_line bytes each */
int evring_alloc(struct evring **erp, size_t cap, size_t max_line)
{
	struct evring *er;

	if (!erp || !cap || !max_line)
		return EINVAL;

	er = mem_zalloc(sizeof(*er), destructor);
	if (!er)
		return ENOMEM;
	er->slot = mem_zalloc(cap * sizeof(*er->slot), NULL);
	if (!er->slot) {
		mem_deref(er);
		return ENOMEM;
	}
	er->cap = cap;
	er->max_line = max_line;
	*erp = er;
	return 0;
}


/** Append one event (a JSON object, copied); it gets the next number */
int evring_add(struct evring *er, const char *json, uint64_t *seqp)
{
	return evring_add_scoped(er, json, NULL, seqp);
}


/* Copy n bytes and the scope into the next slot, number it */
static int put(struct evring *er, const void *data, size_t len,
	       const char *scope, bool rec, uint64_t *seqp)
{
	const size_t slen = scope ? strlen(scope) : 0;
	const size_t need = len + 1 + (scope ? slen + 1 : 0);
	struct slot *sl = &er->slot[er->head % er->cap];

	if (need > sl->size) {
		/* rounded up: lines of one kind differ by a few bytes */
		size_t size = (need + 127) & ~(size_t)127;
		char *buf = mem_alloc(size, NULL);

		if (!buf)
			return ENOMEM;
		mem_deref(sl->buf);
		sl->buf = buf;
		sl->size = size;
	}
	memcpy(sl->buf, data, len);
	sl->buf[len] = '\0';
	sl->len = len;
	sl->rec = rec;
	sl->scope = scope ? len + 1 : 0;
	if (scope)
		memcpy(sl->buf + len + 1, scope, slen + 1);
	++er->head;
	if (seqp)
		*seqp = er->head;
	return 0;
}


/** Append one event with a scope (copied; NULL: none), which readers'
 *  filters see */
int evring_add_scoped(struct evring *er, const char *json,
		      const char *scope, uint64_t *seqp)
{
	size_t len;

	if (!er || !json)
		return EINVAL;

	/* an object, on one line: it is spliced into a JSON array */
	len = strlen(json);
	if (len < 4 || len > er->max_line || json[0] != '{' ||
	    json[1] != '"' || json[len - 1] != '}' ||
	    memchr(json, '\n', len))
		return EINVAL;

	return put(er, json, len, scope, false, seqp);
}


/** Append one event as a record (len bytes, copied), made a line by the
 *  render handler when it is read */
int evring_add_rec(struct evring *er, const void *rec, size_t len,
		   const char *scope, uint64_t *seqp)
{
	if (!er || !rec || !len || len > er->max_line || !er->rh)
		return EINVAL;

	return put(er, rec, len, scope, true, seqp);
}


/** How records become lines (evring_add_rec) */
void evring_set_render(struct evring *er, evring_render_h *rh)
{
	if (er)
		er->rh = rh;
}


/** The number of the newest event (0: none yet) */
uint64_t evring_head(const struct evring *er)
{
	return er ? er->head : 0;
}


/** The number of the oldest event still held (head + 1 when empty) */
uint64_t evring_oldest(const struct evring *er)
{
	if (!er)
		return 1;
	return er->head > er->cap ? er->head - er->cap + 1 : 1;
}


/* The first number above after still held; *missed: those gone */
static uint64_t first_of(const struct evring *er, uint64_t after,
			 uint64_t *missed)
{
	uint64_t first;

	if (after > er->head)
		after = 0;
	first = after + 1;
	*missed = 0;
	if (first < evring_oldest(er)) {
		*missed = evring_oldest(er) - first;
		first = evring_oldest(er);
	}
	return first;
}


static bool seen(const struct evring *er, uint64_t n, evring_filter_h *fh,
		 void *arg)
{
	const struct slot *sl = &er->slot[(n - 1) % er->cap];

	return !fh || fh(sl->scope ? sl->buf + sl->scope : NULL, arg);
}


/**
 * Print "next":N,"missed":M,"events":[...] (members: the caller puts
 * them in an object of its own) with at most max events
 * numbered above after. An after beyond the head (a reader from before a
 * restart) reads from the start. nextp: the after for the next call.
 */
int evring_print(struct re_printf *pf, const struct evring *er,
		 uint64_t after, size_t max, uint64_t *nextp)
{
	return evring_print_if(pf, er, after, max, nextp, NULL, NULL);
}


/**
 * evring_print() of the events fh lets through (NULL: all): those it
 * hides are passed over, "next" moves past them all the same.
 */
int evring_print_if(struct re_printf *pf, const struct evring *er,
		    uint64_t after, size_t max, uint64_t *nextp,
		    evring_filter_h *fh, void *arg)
{
	uint64_t first, last, missed, n;
	size_t shown = 0;
	struct mbuf *mb;
	char *line = NULL;
	int err = 0;

	if (!pf || !er)
		return EINVAL;

	first = first_of(er, after, &missed);
	last = first - 1;
	mb = mbuf_alloc(1024);
	if (!mb)
		return ENOMEM;

	for (n = first; !err && n <= er->head && shown < max; n++) {
		const struct slot *sl = &er->slot[(n - 1) % er->cap];
		const char *l = sl->buf;

		last = n;
		if (!seen(er, n, fh, arg))
			continue;
		if (sl->rec) {
			/* a line that cannot be written (a string not UTF-8,
			 * too long) is passed over */
			if (!line) {
				line = mem_alloc(er->max_line + 1, NULL);
				if (!line) {
					err = ENOMEM;
					break;
				}
			}
			if (er->rh(line, er->max_line + 1, sl->buf, sl->len) ||
			    line[0] != '{' || line[1] != '"')
				continue;
			l = line;
		}
		/* each line gets its number as its first member */
		err = mbuf_printf(mb, "%s{\"seq\":%llu,%s", shown ? "," : "",
				  (unsigned long long)n, l + 1);
		++shown;
	}

	err = err ? err : re_hprintf(pf, "\"next\":%llu,\"missed\":%llu,"
				     "\"events\":[%b]",
				     (unsigned long long)last,
				     (unsigned long long)missed, mb->buf,
				     mb->end);
	mem_deref(mb);
	mem_deref(line);
	if (!err && nextp)
		*nextp = last;
	return err;
}


/** Whether an event numbered above after passes fh (NULL: any) */
bool evring_any(const struct evring *er, uint64_t after,
		evring_filter_h *fh, void *arg)
{
	uint64_t missed;

	if (!er)
		return false;
	for (uint64_t n = first_of(er, after, &missed); n <= er->head; n++)
		if (seen(er, n, fh, arg))
			return true;
	return false;
}
