/**
 * @file test_seen.c  The agent's set of pushes already handed over:
 *                    bounded, and it survives a restart
 */
#include "testutil.h"
#include <stdlib.h>
#include <unistd.h>
#include <sippush/receiver.h>
#include "receiver/seen.h"


static void test_seen(void **state)
{
	char dir[] = "/tmp/sippush-seen-XXXXXX", path[64], id[32];
	struct seen *s = NULL;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(seen_open(&s, dir, 100), 0);
	assert_false(seen_has(s, "a@x"));
	assert_int_equal(seen_add(s, "a@x"), 0);
	assert_true(seen_has(s, "a@x"));
	assert_int_equal(seen_add(s, "bad\nid"), EINVAL);
	mem_deref(s);

	/* a restarted agent still knows it */
	assert_int_equal(seen_open(&s, dir, 100), 0);
	assert_true(seen_has(s, "a@x"));

	/* bounded: the oldest goes first; the file is compacted */
	for (int i = 0; i < 450; i++) {
		re_snprintf(id, sizeof(id), "id%d@x", i);
		assert_int_equal(seen_add(s, id), 0);
	}
	assert_false(seen_has(s, "a@x"));
	assert_false(seen_has(s, "id349@x"));
	assert_true(seen_has(s, "id350@x"));
	assert_true(seen_has(s, "id449@x"));
	mem_deref(s);

	assert_int_equal(seen_open(&s, dir, 100), 0);
	assert_true(seen_has(s, "id449@x"));
	assert_false(seen_has(s, "id349@x"));
	mem_deref(s);

	re_snprintf(path, sizeof(path), "%s/seen", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}


static void test_instance(void **state)
{
	char dir[] = "/tmp/sippush-inst-XXXXXX", a[64], b[64], path[64];
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(receiver_instance_load(a, sizeof(a), dir), 0);
	assert_int_equal(strlen(a), 45);
	assert_memory_equal(a, "urn:uuid:", 9);
	assert_int_equal(a[9 + 14], '4');     /* version 4 */
	assert_int_equal(receiver_instance_load(b, sizeof(b), dir), 0);
	assert_string_equal(a, b);            /* generated once */
	re_snprintf(path, sizeof(path), "%s/instance", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_instance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
