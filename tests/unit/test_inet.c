/**
 * @file test_inet.c  src/sa/inet.c against glibc, which libre's own
 * ntop.o and pton.o call: the same text, the same addresses, the same
 * refusals
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "sa/inet.h"


static uint32_t next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}


/* What libre 1.1.0's net_inet_pton() makes of s, by glibc */
static int ref_pton(const char *s, struct sa *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, s, &sa->u.in.sin_addr) > 0) {
		sa->u.in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sa->u.in6.sin6_addr) > 0) {
		if (IN6_IS_ADDR_V4MAPPED(&sa->u.in6.sin6_addr)) {
			uint8_t a[4];

			memcpy(a, &sa->u.in6.sin6_addr.s6_addr[12], 4);
			sa->u.in.sin_family = AF_INET;
			memcpy(&sa->u.in.sin_addr, a, 4);
		}
		else {
			sa->u.in6.sin6_family = AF_INET6;
		}
		return 0;
	}
	return EINVAL;
}


static void same_pton(const char *s)
{
	struct sa a, b;
	int ea, eb;

	ea = ref_pton(s, &a);
	memset(&b, 0, sizeof(b));
	eb = net_inet_pton(s, &b);
	if (ea != eb)
		fail_msg("\"%s\": glibc %d, ours %d", s, ea, eb);
	if (ea)
		return;
	assert_int_equal(a.u.sa.sa_family, b.u.sa.sa_family);
	if (a.u.sa.sa_family == AF_INET)
		assert_memory_equal(&a.u.in.sin_addr, &b.u.in.sin_addr, 4);
	else
		assert_memory_equal(&a.u.in6.sin6_addr, &b.u.in6.sin6_addr,
				    16);
}


static void test_pton_cases(void **state)
{
	static const char *cases[] = {
		"0.0.0.0", "127.0.0.1", "255.255.255.255", "256.1.1.1",
		"1.2.3", "1.2.3.4.", ".1.2.3.4", "1..2.3", "01.2.3.4",
		"1.2.3.04", "0.0.0.00", "1.2.3.4x", "1.2.3.4 ", " 1.2.3.4",
		"1.2.3.4.5", "", ".", "1", "999.1.1.1", "1.2.3.255",
		"1.2.3.2555", "::1", "::", "::ffff:10.0.0.1",
		"::ffff:0a00:0001", "fe80::1", "2001:db8::1:2", "1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "::ffff:1.2.3", "example.com", "+1.2.3.4",
		"-1.2.3.4", "0x1.2.3.4", "1.2.3.4/24",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same_pton(cases[i]);
	assert_int_equal(net_inet_pton(NULL, NULL), EINVAL);
}


/* strings of digits, dots, colons and hex letters, up to 20 long */
static void test_pton_random(void **state)
{
	static const char alpha[] = "0123456789.....:::abfx";
	uint32_t x = 2463534242u;
	char s[24];
	(void)state;

	for (int k = 0; k < 300000; k++) {
		const size_t len = next(&x) % 21;

		for (size_t i = 0; i < len; i++)
			s[i] = alpha[next(&x) % (sizeof(alpha) - 1)];
		s[len] = '\0';
		same_pton(s);
	}
	/* well-formed quads with numbers near the limits */
	for (int k = 0; k < 100000; k++) {
		unsigned v[4];

		for (int i = 0; i < 4; i++)
			v[i] = next(&x) % 300;
		(void)re_snprintf(s, sizeof(s), "%u.%u.%u.%u", v[0], v[1],
				  v[2], v[3]);
		same_pton(s);
	}
}


static void test_ntop(void **state)
{
	uint32_t x = 88172645u;
	char want[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN];
	struct sa sa;
	(void)state;

	for (int k = 0; k < 300000; k++) {
		uint32_t a = next(&x);

		/* small octets too: 0, one and two digits */
		if (k % 3 == 0)
			a &= 0x0f1f3f07;
		memset(&sa, 0, sizeof(sa));
		sa.u.in.sin_family = AF_INET;
		memcpy(&sa.u.in.sin_addr, &a, 4);
		assert_non_null(inet_ntop(AF_INET, &a, want, sizeof(want)));
		memset(got, 'x', sizeof(got));
		assert_int_equal(net_inet_ntop(&sa, got, sizeof(got)), 0);
		assert_string_equal(got, want);
	}

	/* IPv6 as glibc prints it; no family, no buffer: refused */
	assert_int_equal(sa_set_str(&sa, "2001:db8::1", 0), 0);
	assert_int_equal(net_inet_ntop(&sa, got, sizeof(got)), 0);
	assert_string_equal(got, "2001:db8::1");
	memset(&sa, 0, sizeof(sa));
	assert_int_equal(net_inet_ntop(&sa, got, sizeof(got)), EAFNOSUPPORT);
	assert_int_equal(net_inet_ntop(NULL, got, sizeof(got)), EINVAL);
	assert_int_equal(net_inet_ntop(&sa, NULL, 0), EINVAL);

	/* what libre prints with it */
	assert_int_equal(sa_set_str(&sa, "10.0.20.255", 5060), 0);
	(void)re_snprintf(got, sizeof(got), "%J", &sa);
	assert_string_equal(got, "10.0.20.255:5060");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pton_cases),
		cmocka_unit_test(test_pton_random),
		cmocka_unit_test(test_ntop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
