/**
 * @file test_addrclass.c  Public unicast or not (IANA special-purpose
 *                         registries): what the fetch filter and the MSRP
 *                         peer check let through
 */
#include "testutil.h"
#include "core/addrclass.h"
#include "fetch/fetch.h"


static bool pub(const char *addr)
{
	struct sa sa;

	assert_int_equal(sa_set_str(&sa, addr, 80), 0);
	assert_int_equal(addr_is_public(&sa), fetch_addr_public(&sa));
	return addr_is_public(&sa);
}


static void test_v4(void **state)
{
	(void)state;
	assert_true(pub("8.8.8.8"));
	assert_true(pub("193.0.0.1"));
	assert_true(pub("192.0.1.1"));
	assert_false(pub("0.1.2.3"));
	assert_false(pub("10.1.2.3"));
	assert_false(pub("100.64.0.1"));
	assert_false(pub("127.0.0.1"));
	assert_false(pub("169.254.1.1"));
	assert_false(pub("172.31.0.1"));
	assert_false(pub("192.0.0.170"));      /* NAT64 discovery */
	assert_false(pub("192.0.2.10"));
	assert_false(pub("192.88.99.1"));      /* 6to4 relay anycast */
	assert_false(pub("192.168.0.1"));
	assert_false(pub("198.19.255.255"));   /* benchmarking */
	assert_false(pub("198.51.100.7"));
	assert_false(pub("203.0.113.9"));
	assert_false(pub("224.0.0.1"));
	assert_false(pub("255.255.255.255"));
}


static void test_v6(void **state)
{
	(void)state;
	assert_true(pub("2a00:1450:4001::1"));
	assert_true(pub("2001:4860::8888"));   /* outside 2001::/23 */
	assert_false(pub("::1"));
	assert_false(pub("::"));
	assert_false(pub("::ffff:127.0.0.1"));
	assert_false(pub("::127.0.0.1"));      /* IPv4-compatible */
	/* NAT64 and local-use NAT64: any IPv4 address behind them */
	assert_false(pub("64:ff9b::7f00:1"));
	assert_false(pub("64:ff9b::a00:1"));
	assert_false(pub("64:ff9b:1::a00:1"));
	/* 6to4 and Teredo carry an IPv4 address too */
	assert_false(pub("2002:7f00:1::1"));
	assert_false(pub("2002:c0a8:1::1"));
	assert_false(pub("2001:0:4136:e378::1"));
	assert_false(pub("2001:2::1"));        /* benchmarking */
	assert_false(pub("2001:db8::1"));
	assert_false(pub("3fff::1"));
	assert_false(pub("100::1"));           /* discard-only */
	assert_false(pub("5f00::1"));          /* SRv6 SIDs */
	assert_false(pub("fc00::1"));
	assert_false(pub("fd12:3456::1"));
	assert_false(pub("fe80::1"));
	assert_false(pub("fec0::1"));
	assert_false(pub("ff02::1"));
	assert_false(pub("2620:4f:8000::1"));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
