/**
 * @file test_msrppeer.c  The MSRP path of an answer: the SIP peer's own
 *                        public address, or within --msrp-allow
 */
#include "testutil.h"
#include <sippush/cidr.h>
#include "core/msrppeer.h"


static bool ok(const char *msrp, const char *sip, const char *allow)
{
	struct sa m, s;
	struct cidr c;
	struct pl pl;

	assert_int_equal(sa_set_str(&m, msrp, 2855), 0);
	assert_int_equal(sa_set_str(&s, sip, 5060), 0);
	if (allow) {
		pl_set_str(&pl, allow);
		assert_int_equal(cidr_decode(&c, &pl), 0);
	}
	return msrppeer_allowed(&m, &s, allow ? &c : NULL, allow ? 1 : 0);
}


static void test_rules(void **state)
{
	(void)state;
	/* the address the dialog reached, public: any port */
	assert_true(ok("198.41.0.4", "198.41.0.4", NULL));
	assert_true(ok("2a00:1450::5", "2a00:1450::5", NULL));
	/* somewhere else */
	assert_false(ok("198.41.0.5", "198.41.0.4", NULL));
	/* the dialog's own, but loopback, private, NAT64: only if allowed */
	assert_false(ok("127.0.0.1", "127.0.0.1", NULL));
	assert_false(ok("10.1.2.3", "10.1.2.3", NULL));
	assert_false(ok("64:ff9b::a01:203", "64:ff9b::a01:203", NULL));
	assert_true(ok("127.0.0.1", "127.0.0.1", "127.0.0.0/8"));
	/* an operator's range: terminals behind the core */
	assert_true(ok("10.1.2.3", "198.41.0.4", "10.0.0.0/8"));
	assert_false(ok("10.1.2.3", "198.41.0.4", "10.9.0.0/16"));
	assert_false(msrppeer_allowed(NULL, NULL, NULL, 0));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
