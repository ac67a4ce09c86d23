/**
 * @file test_promlabel.c  A node label on every sample of /metrics
 */
#include "testutil.h"
#include "core/promlabel.h"


static int print_l(struct re_printf *pf, const char *text)
{
	struct pl pl;

	pl_set_str(&pl, text);
	return promlabel_print(pf, &pl, "node", "psa-1");
}


static void test_samples(void **state)
{
	char buf[1024];
	(void)state;

	PRINT(buf, "%H", print_l,
	      "# TYPE a_total counter\n"
	      "a_total 3\n"
	      "b{initiator=\"api\"} 1\n"
	      "\n"
	      "c_bucket{le=\"+Inf\"} 7\n");
	assert_string_equal(buf,
			    "# TYPE a_total counter\n"
			    "a_total{node=\"psa-1\"} 3\n"
			    "b{node=\"psa-1\",initiator=\"api\"} 1\n"
			    "\n"
			    "c_bucket{node=\"psa-1\",le=\"+Inf\"} 7\n");
}


static void test_refused(void **state)
{
	char buf[256];
	struct re_printf pf = {NULL, NULL};
	struct pl pl = PL("m 1\n");
	(void)state;
	(void)buf;

	/* a sample without a value, a value that would need escaping, a
	 * name that is no label name */
	pl_set_str(&pl, "m\n");
	assert_int_equal(promlabel_print(&pf, &pl, "node", "a"), EINVAL);
	pl_set_str(&pl, "m 1\n");
	assert_int_equal(promlabel_print(&pf, &pl, "node", "a\"b"), EINVAL);
	assert_int_equal(promlabel_print(&pf, &pl, "no-de", "a"), EINVAL);
	assert_false(promlabel_value_ok(""));
	assert_false(promlabel_value_ok("a b"));
	assert_false(promlabel_value_ok(
		"0123456789012345678901234567890123456789012345678901234567890123"));
	assert_true(promlabel_value_ok("node-2.example_net"));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
