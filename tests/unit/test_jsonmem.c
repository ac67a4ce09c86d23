/**
 * @file test_jsonmem.c  jansson's allocations from an arena while they
 *                       last (src/api/jsonmem.c)
 *
 * Installed before any other jansson call, as sippushd does: documents
 * parsed and dumped come from the arena; it starts again once all are
 * freed; a document kept pins it and what follows goes to the C library,
 * intact; so do values too large for it and those of another thread.
 */
/* not testutil.h: re.h and jansson.h both name JSON_STRING */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <jansson.h>
#include "api/jsonmem.h"

static const char PUSH[] =
	"{\"to\":\"sip:u1@example.com\",\"app\":\"mms.ua\","
	"\"content_type\":\"text/plain\",\"body\":\"push 1\",\"ttl\":60,"
	"\"terminals\":[\"all\"]}";


static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(j);
	return j;
}


static void check_push(json_t *j)
{
	char *d;

	assert_string_equal(json_string_value(json_object_get(j, "to")),
			    "sip:u1@example.com");
	assert_string_equal(json_string_value(json_object_get(j, "body")),
			    "push 1");
	assert_int_equal(json_integer_value(json_object_get(j, "ttl")), 60);
	d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(d);
	assert_string_equal(d, "{\"app\":\"mms.ua\",\"body\":\"push 1\","
			    "\"content_type\":\"text/plain\",\"terminals\":"
			    "[\"all\"],\"to\":\"sip:u1@example.com\",\"ttl\""
			    ":60}");
	jsonmem_free(d);     /* jansson's: not free()'s */
}


/* every arena block freed: it starts again from its beginning */
static void assert_arena_empty(void)
{
	struct jsonmem_stats st;

	jsonmem_stats(&st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.used, 0);
}


static void test_parse_in_arena(void **state)
{
	struct jsonmem_stats a, b;
	json_t *j;

	(void)state;
	jsonmem_stats(&a);
	assert_int_equal(a.live, 0);
	j = parse(PUSH);
	jsonmem_stats(&b);
	assert_true(b.arena - a.arena >= 10);
	assert_int_equal(b.libc, a.libc);
	assert_true(b.live > 0);
	check_push(j);
	json_decref(j);

	/* all freed: the arena starts again */
	assert_arena_empty();
}


static void test_out_of_order(void **state)
{
	struct jsonmem_stats st;
	json_t *x, *y;

	(void)state;
	x = parse(PUSH);
	y = parse("[1,2,{\"a\":\"b\"}]");
	json_decref(x);
	jsonmem_stats(&st);
	assert_true(st.live > 0);
	assert_true(st.used > 0);
	assert_int_equal(json_array_size(y), 3);
	assert_string_equal(json_string_value(json_object_get(
					json_array_get(y, 2), "a")), "b");
	json_decref(y);
	assert_arena_empty();
}


/* one document kept: the arena fills, the rest goes to malloc, intact */
static void test_kept_pins(void **state)
{
	struct jsonmem_stats a, b;
	json_t *kept;

	(void)state;
	kept = parse(PUSH);
	jsonmem_stats(&a);
	for (int i = 0; i < 400; i++) {
		json_t *j = parse(PUSH);

		check_push(j);
		json_decref(j);
	}
	jsonmem_stats(&b);
	assert_true(b.libc - a.libc > 100);
	assert_true(b.live > 0);
	check_push(kept);
	json_decref(kept);

	assert_arena_empty();
	jsonmem_stats(&a);
	json_decref(parse(PUSH));
	jsonmem_stats(&b);
	assert_int_equal(b.libc, a.libc);
}


static void test_large_value(void **state)
{
	struct jsonmem_stats a, b;
	size_t n = 3 * JSONMEM_ARENA;
	char *s = malloc(n + 3);
	json_t *j;

	(void)state;
	assert_non_null(s);
	s[0] = '"';
	memset(s + 1, 'x', n);
	s[n + 1] = '"';
	s[n + 2] = 0;
	jsonmem_stats(&a);
	j = json_loads(s, JSON_DECODE_ANY, NULL);
	jsonmem_stats(&b);
	assert_non_null(j);
	assert_true(b.libc > a.libc);
	assert_int_equal(json_string_length(j), n);
	assert_int_equal(json_string_value(j)[n - 1], 'x');
	json_decref(j);
	free(s);
	jsonmem_stats(&b);
	assert_int_equal(b.live, 0);
}


static void *other_thread(void *arg)
{
	json_t *j = parse(PUSH);

	check_push(j);
	json_decref(j);
	return arg;
}


static void test_other_thread(void **state)
{
	struct jsonmem_stats a, b;
	pthread_t t;

	(void)state;
	jsonmem_stats(&a);
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	jsonmem_stats(&b);
	assert_int_equal(b.arena, a.arena);
	assert_true(b.libc - a.libc >= 10);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_in_arena),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_kept_pins),
		cmocka_unit_test(test_large_value),
		cmocka_unit_test(test_other_thread),
	};

	jsonmem_install();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
