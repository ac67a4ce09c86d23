/**
 * @file evring.c  Bounded ring of numbered event lines
 */
#include <errno.h>
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <sippush/evring.h>


struct evring {
	char **line;      /**< cap slots; slot of seq n is (n - 1) % cap  */
	size_t cap;
	size_t max_line;
	uint64_t head;    /**< the last number given, 0 before any        */
};


static void destructor(void *arg)
{
	struct evring *er = arg;

	for (size_t i = 0; i < er->cap; i++)
		mem_deref(er->line[i]);
	mem_deref(er->line);
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
	er->line = mem_zalloc(cap * sizeof(*er->line), NULL);
	if (!er->line) {
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
	size_t len, slot;
	char *copy;

	if (!er || !json)
		return EINVAL;

	/* an object, on one line: it is spliced into a JSON array */
	len = strlen(json);
	if (len < 4 || len > er->max_line || json[0] != '{' ||
	    json[1] != '"' || json[len - 1] != '}' ||
	    memchr(json, '\n', len))
		return EINVAL;

	copy = mem_alloc(len + 1, NULL);
	if (!copy)
		return ENOMEM;
	memcpy(copy, json, len + 1);

	slot = (size_t)(er->head % er->cap);
	mem_deref(er->line[slot]);
	er->line[slot] = copy;
	++er->head;
	if (seqp)
		*seqp = er->head;
	return 0;
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


/**
 * Print "next":N,"missed":M,"events":[...] (members: the caller puts
 * them in an object of its own) with at most max events
 * numbered above after. An after beyond the head (a reader from before a
 * restart) reads from the start. nextp: the after for the next call.
 */
int evring_print(struct re_printf *pf, const struct evring *er,
		 uint64_t after, size_t max, uint64_t *nextp)
{
	uint64_t first, last, missed = 0;
	int err;

	if (!pf || !er)
		return EINVAL;

	if (after > er->head)
		after = 0;
	first = after + 1;
	if (first < evring_oldest(er)) {
		missed = evring_oldest(er) - first;
		first = evring_oldest(er);
	}
	last = er->head;
	if (last >= first && last - first + 1 > max)
		last = first + max - 1;
	if (last < first)
		last = first - 1;   /* nothing to print */

	err = re_hprintf(pf, "\"next\":%llu,\"missed\":%llu,\"events\":[",
			 (unsigned long long)last, (unsigned long long)missed);
	for (uint64_t n = first; !err && n <= last; n++) {
		const char *l = er->line[(n - 1) % er->cap];

		/* each line gets its number as its first member */
		err = re_hprintf(pf, "%s{\"seq\":%llu,%s", n > first ? "," : "",
				 (unsigned long long)n, l + 1);
	}
	if (!err)
		err = re_hprintf(pf, "]");
	if (!err && nextp)
		*nextp = last;
	return err;
}
