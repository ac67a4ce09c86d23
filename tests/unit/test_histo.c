/**
 * @file test_histo.c  Prometheus histograms: buckets, +Inf, sum, count
 */
#include "testutil.h"
#include "core/histo.h"


static int print_h(struct re_printf *pf, const struct histo *h)
{
	return histo_print(pf, "x_seconds", h);
}


static void test_histo(void **state)
{
	static const double le[] = {0.1, 1, 10};
	struct histo h;
	char buf[1024];
	(void)state;

	histo_init(&h, le, 3);
	histo_add(&h, 0.05);
	histo_add(&h, 0.1);      /* on the bound: in it */
	histo_add(&h, 2);
	histo_add(&h, 100);      /* beyond every bound: +Inf only */
	histo_add(&h, __builtin_nan(""));   /* ignored */
	assert_int_equal(h.count, 4);
	PRINT(buf, "%H", print_h, &h);
	assert_string_equal(buf,
			    "# TYPE x_seconds histogram\n"
			    "x_seconds_bucket{le=\"0.1\"} 2\n"
			    "x_seconds_bucket{le=\"1\"} 2\n"
			    "x_seconds_bucket{le=\"10\"} 3\n"
			    "x_seconds_bucket{le=\"+Inf\"} 4\n"
			    "x_seconds_sum 102.150000\n"
			    "x_seconds_count 4\n");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_histo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
