/**
 * @file test_regrefresh.c  A registration refresh is never sooner than the
 *                          floor, and backs off while grants stay short
 */
#include "testutil.h"
#include "core/regrefresh.h"


static void test_refresh(void **state)
{
	const uint32_t F = REGREFRESH_REG_FLOOR_MS;
	uint32_t n = 0;
	(void)state;

	assert_int_equal(regrefresh_ms(3600, F, &n, 30000), 3540000);
	assert_int_equal(regrefresh_ms(60, F, &n, 30000), 30000);
	assert_int_equal(n, 0);

	/* expires=0 or 1: 5 s, then 10, 20, capped at 30 */
	assert_int_equal(regrefresh_ms(0, F, &n, 30000), 5000);
	assert_int_equal(regrefresh_ms(1, F, &n, 30000), 10000);
	assert_int_equal(regrefresh_ms(0, F, &n, 30000), 20000);
	assert_int_equal(regrefresh_ms(0, F, &n, 30000), 30000);
	for (int i = 0; i < 100; i++)
		assert_int_equal(regrefresh_ms(0, F, &n, 30000), 30000);

	/* a sane grant resets the backoff */
	assert_int_equal(regrefresh_ms(600, F, &n, 30000), 540000);
	assert_int_equal(n, 0);
	assert_int_equal(regrefresh_ms(2, F, &n, 30000), 5000);
	/* a cap below the floor is the floor */
	n = 7;
	assert_int_equal(regrefresh_ms(0, F, &n, 1000), 5000);
	assert_int_equal(regrefresh_ms(9, F, NULL, 30000), 5000);

	/* SUBSCRIBE's floor: a 4 s grant is refreshed at 2 s, 1 s at 1 s
	 * then 2, 4 ... */
	n = 0;
	assert_int_equal(regrefresh_ms(4, REGREFRESH_SUB_FLOOR_MS, &n, 30000),
			 2000);
	assert_int_equal(regrefresh_ms(1, REGREFRESH_SUB_FLOOR_MS, &n, 30000),
			 1000);
	assert_int_equal(regrefresh_ms(1, REGREFRESH_SUB_FLOOR_MS, &n, 30000),
			 2000);
	assert_int_equal(regrefresh_ms(0, REGREFRESH_SUB_FLOOR_MS, &n, 30000),
			 4000);
	assert_int_equal(regrefresh_ms(4, REGREFRESH_SUB_FLOOR_MS, &n, 30000),
			 2000);
	assert_int_equal(n, 0);
	/* a floor of 0 is still not 0 ms */
	assert_true(regrefresh_ms(0, 0, NULL, 0) > 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refresh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
