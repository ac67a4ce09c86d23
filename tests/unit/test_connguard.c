/**
 * @file test_connguard.c  Which SIP TCP connections the guard shuts down
 */
#include "testutil.h"
#include "rt/connguard.h"


static void entry(struct connguard_entry *e, const char *ip, uint16_t port,
		  uint64_t since, bool msg)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(sa_set_str(&e->peer, ip, port), 0);
	e->since_ms = since;
	e->msg = msg;
}


static void test_select(void **state)
{
	const struct connguard_conf c = {.max_total = 4, .max_per_peer = 2,
					 .first_ms = 1000};
	struct connguard_entry v[7];
	(void)state;

	entry(&v[0], "10.0.0.1", 1, 100, true);   /* oldest of .1     */
	entry(&v[1], "10.0.0.1", 2, 200, true);
	entry(&v[2], "10.0.0.1", 3, 300, true);   /* third of .1: cut */
	entry(&v[3], "10.0.0.2", 1, 150, false);  /* silent 1850 ms   */
	entry(&v[4], "10.0.0.3", 1, 1500, false); /* silent 450 ms    */
	entry(&v[5], "10.0.0.4", 1, 1600, true);
	entry(&v[6], "10.0.0.5", 1, 1700, true);  /* fifth kept: cut  */

	assert_int_equal(connguard_select(v, 7, &c, 1950), 3);
	assert_false(v[0].cut);
	assert_false(v[1].cut);
	assert_true(v[2].cut);
	assert_string_equal(v[2].why, "over the connections per address");
	assert_true(v[3].cut);
	assert_string_equal(v[3].why, "no whole message in time");
	assert_false(v[4].cut);
	assert_false(v[5].cut);
	assert_true(v[6].cut);
	assert_string_equal(v[6].why, "over the connections in all");

	/* no caps, no deadline: nothing */
	const struct connguard_conf none = {0};

	assert_int_equal(connguard_select(v, 7, &none, 1e9), 0);
	assert_int_equal(connguard_select(NULL, 0, &c, 0), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
