/**
 * @file test_aor.c  One spelling per AoR (RFC 3261 §19.1.4): scheme and
 *                   host fold case, the user part does not
 */
#include "testutil.h"
#include "core/aor.h"


static void canon(const char *in, const char *want)
{
	char buf[256];

	assert_int_equal(aor_canon(buf, sizeof(buf), in), 0);
	assert_string_equal(buf, want);
}


static void test_case(void **state)
{
	(void)state;
	canon("sip:dave@example.com", "sip:dave@example.com");
	canon("SIP:dave@EXAMPLE.Com", "sip:dave@example.com");
	/* the user part is case-sensitive: DAVE is someone else */
	canon("sip:DAVE@example.com", "sip:DAVE@example.com");
	canon("sips:Dave@Example.COM:5061;transport=tls?h=v",
	      "sips:Dave@example.com:5061");
	canon("sip:example.com", "sip:example.com");
	canon("sip:+4912345;phone-context=x@Example.com",
	      "sip:+4912345;phone-context=x@example.com");
}


static void test_escapes(void **state)
{
	(void)state;
	/* an unreserved character escaped is the same character */
	canon("sip:%61lice@atlanta.com", "sip:alice@atlanta.com");
	canon("sip:%41lice@atlanta.com", "sip:Alice@atlanta.com");
	/* a reserved one is not; its hex digits fold case */
	canon("sip:a%2cb@x.org", "sip:a%2Cb@x.org");
	canon("sip:a%40b@x.org", "sip:a%40b@x.org");
	canon("sip:a%4@x.org", "sip:a%4@x.org");
}


static void test_port_and_v6(void **state)
{
	char buf[24];
	(void)state;

	/* an explicit port is not the default one (§19.1.4) */
	canon("sip:a@x.org:5060", "sip:a@x.org:5060");
	canon("sip:a@[2001:DB8::1]:5060", "sip:a@[2001:db8::1]:5060");
	canon("sip:a@[::1]", "sip:a@[::1]");
	assert_int_not_equal(aor_canon(buf, sizeof(buf), "nothing"), 0);
	/* too long for the buffer: an error, never a truncated key */
	assert_int_not_equal(aor_canon(buf, sizeof(buf),
				       "sip:averylongusername@example.com"),
			     0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_port_and_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
