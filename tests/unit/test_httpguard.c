/**
 * @file test_httpguard.c  Host (DNS rebinding), Origin (cross-site) and
 *                         Content-Type checks of the HTTP API
 */
#include "testutil.h"
#include "core/httpguard.h"


static void test_host(void **state)
{
	static const char *const names[] = {"push.example.com"};
	struct sa lo, any, pub, any6;
	(void)state;

	assert_int_equal(sa_set_str(&lo, "127.0.0.1", 8080), 0);
	assert_int_equal(sa_set_str(&any, "0.0.0.0", 8080), 0);
	assert_int_equal(sa_set_str(&pub, "192.0.2.7", 8080), 0);
	assert_int_equal(sa_set_str(&any6, "::", 8080), 0);

	assert_true(httpguard_host_ok("127.0.0.1:8080", &lo, NULL, 0));
	assert_true(httpguard_host_ok("127.0.0.1", &lo, NULL, 0));
	assert_true(httpguard_host_ok("LOCALHOST:8080", &lo, NULL, 0));
	/* a rebinding page's own name; another address */
	assert_false(httpguard_host_ok("evil.example:8080", &lo, NULL, 0));
	assert_false(httpguard_host_ok("127.0.0.2:8080", &lo, NULL, 0));
	assert_false(httpguard_host_ok("localhost.evil.example", &lo, NULL,
				       0));
	assert_false(httpguard_host_ok("", &lo, NULL, 0));
	assert_false(httpguard_host_ok(NULL, &lo, NULL, 0));
	assert_false(httpguard_host_ok("a:b:c", &lo, NULL, 0));

	/* a wildcard listener: any address, localhost, the names given */
	assert_true(httpguard_host_ok("198.51.100.1:8080", &any, NULL, 0));
	assert_true(httpguard_host_ok("[2001:db8::1]:8080", &any6, NULL, 0));
	assert_true(httpguard_host_ok("localhost", &any, NULL, 0));
	assert_false(httpguard_host_ok("push.example.com", &any, NULL, 0));
	assert_true(httpguard_host_ok("Push.Example.com:443", &any, names,
				      1));

	/* a public address: itself or a name; no localhost */
	assert_true(httpguard_host_ok("192.0.2.7:8080", &pub, NULL, 0));
	assert_false(httpguard_host_ok("localhost:8080", &pub, NULL, 0));
	assert_true(httpguard_host_ok("whatever", &pub,
				      (const char *const[]){"*"}, 1));
}


static void test_origin(void **state)
{
	(void)state;

	assert_true(httpguard_origin_ok(NULL, "127.0.0.1:8080"));
	assert_true(httpguard_origin_ok("http://127.0.0.1:8080",
					"127.0.0.1:8080"));
	assert_true(httpguard_origin_ok("https://Push.example.com",
					"push.example.com"));
	assert_false(httpguard_origin_ok("http://evil.example",
					 "127.0.0.1:8080"));
	assert_false(httpguard_origin_ok("http://127.0.0.1:9999",
					 "127.0.0.1:8080"));
	assert_false(httpguard_origin_ok("null", "127.0.0.1:8080"));
	assert_false(httpguard_origin_ok("ftp://127.0.0.1:8080",
					 "127.0.0.1:8080"));
	assert_false(httpguard_origin_ok("http://127.0.0.1:8080/x",
					 "127.0.0.1:8080"));
	assert_false(httpguard_origin_ok("http://127.0.0.1:8080", NULL));
}


static void test_ctype(void **state)
{
	static const char *const json[] = {"application/json"};
	(void)state;

	assert_true(httpguard_ctype_in("application/json", json, 1));
	assert_true(httpguard_ctype_in("Application/JSON; charset=utf-8",
				       json, 1));
	/* what a form or a no-cors fetch sends */
	assert_false(httpguard_ctype_in("text/plain", json, 1));
	assert_false(httpguard_ctype_in("application/x-www-form-urlencoded",
					json, 1));
	assert_false(httpguard_ctype_in("application/jsonx", json, 1));
	assert_false(httpguard_ctype_in("", json, 1));
	assert_false(httpguard_ctype_in(NULL, json, 1));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_ctype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
