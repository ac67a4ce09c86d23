/**
 * @file test_regrefresh.c  A registration refresh is never sooner than the
 *                          floor, and backs off while grants stay short
 */
#include "testutil.h"
#include <sippush/regrefresh.h>


static void test_refresh(void **state)
{
	uint32_t n = 0;
	(void)state;

	assert_int_equal(regrefresh_ms(3600, &n, 30000), 3540000);
	assert_int_equal(regrefresh_ms(60, &n, 30000), 30000);
	assert_int_equal(n, 0);

	/* expires=0 or 1: 5 s, then 10, 20, capped at 30 */
	assert_int_equal(regrefresh_ms(0, &n, 30000), 5000);
	assert_int_equal(regrefresh_ms(1, &n, 30000), 10000);
	assert_int_equal(regrefresh_ms(0, &n, 30000), 20000);
	assert_int_equal(regrefresh_ms(0, &n, 30000), 30000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(regrefresh_ms(0, &n, 30000), 30000);

	/* a sane grant resets the backoff */
	assert_int_equal(regrefresh_ms(600, &n, 30000), 540000);
	assert_int_equal(n, 0);
	assert_int_equal(regrefresh_ms(2, &n, 30000), 5000);
	/* a cap below the floor is the floor */
	n = 7;
	assert_int_equal(regrefresh_ms(0, &n, 1000), 5000);
	assert_int_equal(regrefresh_ms(9, NULL, 30000), 5000);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
