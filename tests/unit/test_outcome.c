/**
 * @file test_outcome.c  Outcome tables: SIP/MSRP/local events, push states
 */
#include "testutil.h"
#include "core/outcome.h"


struct row {
	enum outcome_event ev;
	uint16_t scode;
	bool ttl_left;
	enum delivery_state state;
	uint16_t pap;
	bool retry;
	bool other;
};

static const struct row rows[] = {
	{OE_SIP, 200, true,  DS_DELIVERED,     1000, false, false},
	{OE_SIP, 204, true,  DS_DELIVERED,     1000, false, false},
	{OE_SIP, 202, true,  DS_PENDING,       1001, false, false},
	{OE_SIP, 400, true,  DS_UNDELIVERABLE, 2000, false, false},
	{OE_SIP, 420, true,  DS_UNDELIVERABLE, 2000, false, false},
	{OE_SIP, 403, true,  DS_UNDELIVERABLE, 2001, false, false},
	{OE_SIP, 407, true,  DS_UNDELIVERABLE, 2001, false, false},
	{OE_SIP, 404, true,  DS_UNDELIVERABLE, 2002, false, false},
	{OE_SIP, 604, true,  DS_UNDELIVERABLE, 2002, false, false},
	{OE_SIP, 415, true,  DS_UNDELIVERABLE, 2005, false, false},
	{OE_SIP, 488, true,  DS_UNDELIVERABLE, 2005, false, false},
	{OE_SIP, 413, true,  DS_UNDELIVERABLE, 2006, false, true},
	{OE_SIP, 513, true,  DS_UNDELIVERABLE, 2006, false, true},
	{OE_SIP, 489, true,  DS_UNDELIVERABLE, 3007, false, true},
	{OE_SIP, 405, true,  DS_UNDELIVERABLE, 3007, false, true},
	{OE_SIP, 501, true,  DS_UNDELIVERABLE, 3007, false, true},
	{OE_SIP, 408, true,  DS_PENDING,       1001, true,  false},
	{OE_SIP, 408, false, DS_TIMEOUT,       4000, false, false},
	{OE_SIP, 480, true,  DS_PENDING,       1001, true,  false},
	{OE_SIP, 480, false, DS_UNDELIVERABLE, 4001, false, false},
	{OE_SIP, 503, false, DS_UNDELIVERABLE, 4001, false, false},
	{OE_SIP, 500, true,  DS_PENDING,       1001, true,  false},
	{OE_SIP, 500, false, DS_UNDELIVERABLE, 4000, false, false},
	{OE_SIP, 502, true,  DS_UNDELIVERABLE, 4000, false, false},
	{OE_SIP, 481, true,  DS_UNDELIVERABLE, 4000, false, true},
	{OE_SIP, 486, true,  DS_ABORTED,       5000, false, false},
	{OE_SIP, 600, true,  DS_ABORTED,       5000, false, false},
	{OE_SIP, 603, true,  DS_ABORTED,       5000, false, false},
	{OE_SIP, 606, true,  DS_ABORTED,       5000, false, false},
	{OE_SIP, 302, true,  DS_UNDELIVERABLE, 2002, false, false},
	{OE_SIP, 499, true,  DS_UNDELIVERABLE, 2000, false, false},
	{OE_SIP, 180, true,  DS_PENDING,       1001, false, false},
	{OE_MSRP, 200, true, DS_DELIVERED,     1000, false, false},
	{OE_MSRP, 403, true, DS_ABORTED,       5000, false, false},
	{OE_MSRP, 415, true, DS_UNDELIVERABLE, 2005, false, false},
	{OE_MSRP, 413, true, DS_UNDELIVERABLE, 2006, false, false},
	{OE_MSRP, 408, true, DS_PENDING,       1001, true,  false},
	{OE_MSRP, 408, false, DS_TIMEOUT,      4000, false, false},
	{OE_MSRP, 481, true, DS_UNDELIVERABLE, 4000, false, false},
	{OE_MSRP, 500, true, DS_PENDING,       1001, true,  false},
	{OE_MSRP, 500, false, DS_UNDELIVERABLE, 4000, false, false},
	{OE_MSRP, 503, true, DS_PENDING,       1001, true,  false},
	{OE_MSRP, 400, true, DS_UNDELIVERABLE, 2000, false, false},
	{OE_TIMEOUT, 0, true,  DS_PENDING,     1001, true,  false},
	{OE_TIMEOUT, 0, false, DS_TIMEOUT,     4000, false, false},
	{OE_TTL_PASSED, 0, false, DS_EXPIRED,  2001, false, false},
	{OE_CANCELLED, 0, true, DS_CANCELLED,  1000, false, false},
};


static void test_outcome_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];
		struct outcome o;

		outcome_map(&o, r->ev, r->scode, r->ttl_left, NULL);
		if (o.state != r->state || o.pap_code != r->pap ||
		    o.retry != r->retry || o.other_method != r->other)
			fail_msg("row %zu (ev %d, %u, ttl %d): %s/%u/%d/%d, "
				 "want %s/%u/%d/%d", i, r->ev, r->scode,
				 r->ttl_left, delivery_state_name(o.state),
				 o.pap_code, o.retry, o.other_method,
				 delivery_state_name(r->state), r->pap,
				 r->retry, r->other);
	}
}


static void test_relay_policy(void **state)
{
	const struct outcome_policy pol = {.relay_is_delivered = true};
	struct outcome o;
	(void)state;

	outcome_map(&o, OE_SIP, 202, true, &pol);
	assert_int_equal(o.state, DS_DELIVERED);
	assert_int_equal(o.pap_code, 1001);
}


static void test_push_state(void **state)
{
	static const struct {
		enum delivery_state v[3];
		size_t n;
		enum push_state want;
	} cases[] = {
		{{0}, 0, PS_PENDING},
		{{DS_DELIVERED}, 1, PS_DELIVERED},
		{{DS_DELIVERED, DS_DELIVERED, DS_DELIVERED}, 3, PS_DELIVERED},
		{{DS_DELIVERED, DS_PENDING}, 2, PS_PENDING},
		{{DS_DELIVERED, DS_TIMEOUT}, 2, PS_PARTIAL},
		{{DS_ABORTED, DS_DELIVERED}, 2, PS_PARTIAL},
		{{DS_UNDELIVERABLE, DS_TIMEOUT}, 2, PS_TIMEOUT},
		{{DS_TIMEOUT, DS_UNDELIVERABLE}, 2, PS_UNDELIVERABLE},
		{{DS_ABORTED}, 1, PS_ABORTED},
		{{DS_EXPIRED}, 1, PS_EXPIRED},
		{{DS_CANCELLED, DS_CANCELLED}, 2, PS_CANCELLED},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		enum push_state ps = push_state_of(cases[i].v, cases[i].n);

		if (ps != cases[i].want)
			fail_msg("case %zu: %s, want %s", i,
				 push_state_name(ps),
				 push_state_name(cases[i].want));
	}
}


static void test_backoff(void **state)
{
	(void)state;

	assert_int_equal(outcome_backoff(0, 1000, 60000), 1000);
	assert_int_equal(outcome_backoff(1, 1000, 60000), 2000);
	assert_int_equal(outcome_backoff(5, 1000, 60000), 32000);
	assert_int_equal(outcome_backoff(6, 1000, 60000), 60000);
	assert_int_equal(outcome_backoff(UINT32_MAX, 1000, 60000), 60000);
}


static void test_names(void **state)
{
	enum delivery_state ds;
	int i;
	(void)state;

	for (i = DS_PENDING; i <= DS_CANCELLED; i++) {
		struct pl pl;

		pl_set_str(&pl, delivery_state_name((enum delivery_state)i));
		assert_int_equal(delivery_state_decode(&ds, &pl), 0);
		assert_int_equal(ds, i);
	}

	assert_int_equal(delivery_state_decode(&ds, &PL_STR("Delivered")),
			 EBADMSG);
	assert_string_equal(push_state_name(PS_PARTIAL), "partial");
	assert_string_equal(delivery_state_name((enum delivery_state)99),
			    "?");
}


/* A push's PAP code from its deliveries', as they end */
static void test_pap_fold(void **state)
{
	enum push_state ps;
	(void)state;

	assert_int_equal(outcome_pap_fold(0, 1000), 1000);
	assert_int_equal(outcome_pap_fold(1000, 2002), 2002);  /* failure */
	assert_int_equal(outcome_pap_fold(2002, 1000), 2002);
	assert_int_equal(outcome_pap_fold(2002, 4000), 2002);  /* first */
	assert_int_equal(outcome_pap_fold(1000, 0), 1000);
	assert_int_equal(outcome_pap_fold(0, 0), 0);

	assert_int_equal(outcome_pap_of_state(PS_PENDING), 1001);
	assert_int_equal(outcome_pap_of_state(PS_DELIVERED), 1000);
	assert_int_equal(outcome_pap_of_state(PS_CANCELLED), 1000);
	assert_int_equal(outcome_pap_of_state(PS_EXPIRED), 2001);
	assert_int_equal(outcome_pap_of_state(PS_ABORTED), 5000);
	assert_int_equal(outcome_pap_of_state(PS_TIMEOUT), 4000);
	assert_int_equal(outcome_pap_of_state(PS_UNDELIVERABLE), 4000);

	assert_int_equal(push_state_decode(&ps, &PL_STR("partial")), 0);
	assert_int_equal(ps, PS_PARTIAL);
	assert_int_equal(push_state_decode(&ps, &PL_STR("gone")), EBADMSG);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pap_fold),
		cmocka_unit_test(test_outcome_table),
		cmocka_unit_test(test_relay_policy),
		cmocka_unit_test(test_push_state),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
