/**
 * @file test_evring.c  The event ring: numbering, reading after N, the
 *                      cap per call, what a slow reader missed, bad lines
 */
#include "testutil.h"
#include "core/evring.h"

static uint64_t next;

static int print_after(struct re_printf *pf, const struct evring *er)
{
	int err = re_hprintf(pf, "{");

	err = err ? err : evring_print(pf, er, next, 2, &next);
	return err ? err : re_hprintf(pf, "}");
}


static void test_evring(void **state)
{
	struct evring *er = NULL;
	char buf[512], ev[32];
	uint64_t seq = 0;
	(void)state;

	assert_int_equal(evring_alloc(&er, 3, 64), 0);

	/* empty: nothing, next stays 0 */
	next = 0;
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":0,\"missed\":0,\"events\":[]}");

	for (int i = 1; i <= 2; i++) {
		re_snprintf(ev, sizeof(ev), "{\"n\":%d}", i);
		assert_int_equal(evring_add(er, ev, &seq), 0);
		assert_int_equal(seq, i);
	}
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":2,\"missed\":0,\"events\":["
			    "{\"seq\":1,\"n\":1},{\"seq\":2,\"n\":2}]}");
	assert_int_equal(next, 2);

	/* caught up: an empty answer that keeps the place */
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":2,\"missed\":0,\"events\":[]}");

	/* five more into a ring of three: 3 and 4 are gone for us */
	for (int i = 3; i <= 7; i++) {
		re_snprintf(ev, sizeof(ev), "{\"n\":%d}", i);
		assert_int_equal(evring_add(er, ev, NULL), 0);
	}
	assert_int_equal(evring_head(er), 7);
	assert_int_equal(evring_oldest(er), 5);
	PRINT(buf, "%H", print_after, er);   /* at most 2 per call */
	assert_string_equal(buf, "{\"next\":6,\"missed\":2,\"events\":["
			    "{\"seq\":5,\"n\":5},{\"seq\":6,\"n\":6}]}");
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":7,\"missed\":0,\"events\":["
			    "{\"seq\":7,\"n\":7}]}");

	/* a reader from before a restart (after > head) starts over */
	next = 99;
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":6,\"missed\":4,\"events\":["
			    "{\"seq\":5,\"n\":5},{\"seq\":6,\"n\":6}]}");

	/* only one-line objects with a first member, within the bound */
	assert_int_equal(evring_add(er, "{}", NULL), EINVAL);
	assert_int_equal(evring_add(er, "[1]", NULL), EINVAL);
	assert_int_equal(evring_add(er, "{\"a\":\n1}", NULL), EINVAL);
	memset(buf, 'x', 100);
	memcpy(buf, "{\"a\":\"", 6);
	memcpy(buf + 98, "\"}", 3);
	assert_int_equal(evring_add(er, buf, NULL), EINVAL);
	assert_int_equal(evring_head(er), 7);

	assert_int_equal(evring_alloc(&er, 0, 64), EINVAL);
	mem_deref(er);
}


static bool mine_h(const char *scope, void *arg)
{
	return scope && !strcmp(scope, arg);
}


static uint64_t fnext;

static int print_mine(struct re_printf *pf, const struct evring *er)
{
	int err = re_hprintf(pf, "{");

	err = err ? err : evring_print_if(pf, er, fnext, 2, &fnext, mine_h,
					  "a");
	return err ? err : re_hprintf(pf, "}");
}


/* A reader sees only the events of its scope; "next" passes the others */
static void test_evring_scoped(void **state)
{
	static const char *scope[] = {"a", "b", NULL, "a", "b", "a", "b"};
	struct evring *er = NULL;
	char buf[512], ev[32];
	(void)state;

	assert_int_equal(evring_alloc(&er, 8, 64), 0);
	for (size_t i = 0; i < ARRAY_SIZE(scope); i++) {
		re_snprintf(ev, sizeof(ev), "{\"n\":%zu}", i + 1);
		assert_int_equal(evring_add_scoped(er, ev, scope[i], NULL), 0);
	}

	fnext = 0;
	PRINT(buf, "%H", print_mine, er);
	assert_string_equal(buf, "{\"next\":4,\"missed\":0,\"events\":["
			    "{\"seq\":1,\"n\":1},{\"seq\":4,\"n\":4}]}");
	PRINT(buf, "%H", print_mine, er);
	assert_string_equal(buf, "{\"next\":7,\"missed\":0,\"events\":["
			    "{\"seq\":6,\"n\":6}]}");
	/* caught up */
	PRINT(buf, "%H", print_mine, er);
	assert_string_equal(buf, "{\"next\":7,\"missed\":0,\"events\":[]}");

	assert_true(evring_any(er, 5, mine_h, "a"));
	assert_false(evring_any(er, 6, mine_h, "a"));
	assert_true(evring_any(er, 6, mine_h, "b"));
	assert_false(evring_any(er, 7, NULL, NULL));
	assert_true(evring_any(er, 6, NULL, NULL));
	mem_deref(er);
}


/* A slot keeps its buffer round after round: a long line, then a short
 * one and no scope, then a long one and a scope again, all read back
 * whole with their own scope */
static void test_evring_reuse(void **state)
{
	static const char *scope[] = {"a", NULL, "b"};
	struct evring *er = NULL;
	char buf[1024], ev[400], want[1024];
	(void)state;

	assert_int_equal(evring_alloc(&er, 1, 512), 0);
	for (size_t i = 0; i < 6; i++) {
		size_t len = i % 2 ? 3 : 300 + 20 * i;

		memset(ev, 'x', sizeof(ev));
		memcpy(ev, "{\"s\":\"", 6);
		memcpy(ev + 6 + len, "\"}", 3);
		assert_int_equal(evring_add_scoped(er, ev, scope[i % 3], NULL),
				 0);
		next = i;
		PRINT(buf, "%H", print_after, er);
		re_snprintf(want, sizeof(want), "{\"next\":%zu,\"missed\":0,"
			    "\"events\":[{\"seq\":%zu,%s]}", i + 1, i + 1,
			    ev + 1);
		assert_string_equal(buf, want);
		assert_true(evring_any(er, i, mine_h, "a") ==
			    (scope[i % 3] && !strcmp(scope[i % 3], "a")));
		assert_true(evring_any(er, i, NULL, NULL));
	}
	mem_deref(er);
}


/* Records become lines only when read: the handler's line, with its
 * number; one it cannot make is passed over, "next" moves past it */
static int upper_h(char *buf, size_t sz, const void *rec, size_t len)
{
	if (len && ((const char *)rec)[0] == '!')
		return EILSEQ;
	return re_snprintf(buf, sz, "{\"r\":\"%b\"}", rec, len) < 0 ?
		ENOSPC : 0;
}


static void test_evring_records(void **state)
{
	struct evring *er = NULL;
	char buf[512];
	(void)state;

	assert_int_equal(evring_alloc(&er, 4, 64), 0);
	/* no handler yet: no record */
	assert_int_equal(evring_add_rec(er, "a", 1, NULL, NULL), EINVAL);
	evring_set_render(er, upper_h);
	assert_int_equal(evring_add_rec(er, "rec1", 4, "a", NULL), 0);
	assert_int_equal(evring_add_scoped(er, "{\"line\":2}", NULL, NULL),
			 0);
	assert_int_equal(evring_add_rec(er, "!bad", 4, NULL, NULL), 0);
	assert_int_equal(evring_add_rec(er, "rec4", 4, "b", NULL), 0);
	assert_int_equal(evring_head(er), 4);

	next = 0;
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":2,\"missed\":0,\"events\":["
			    "{\"seq\":1,\"r\":\"rec1\"},"
			    "{\"seq\":2,\"line\":2}]}");
	PRINT(buf, "%H", print_after, er);
	assert_string_equal(buf, "{\"next\":4,\"missed\":0,\"events\":["
			    "{\"seq\":4,\"r\":\"rec4\"}]}");
	assert_true(evring_any(er, 3, mine_h, "b"));
	assert_false(evring_any(er, 3, mine_h, "a"));

	/* a record longer than a line may be */
	assert_int_equal(evring_add_rec(er, buf, 65, NULL, NULL), EINVAL);
	mem_deref(er);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evring_records),
		cmocka_unit_test(test_evring),
		cmocka_unit_test(test_evring_scoped),
		cmocka_unit_test(test_evring_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
