/**
 * @file test_trust.c  Whose P-Asserted-Identity the terminal believes:
 *                     --trust addresses, over TCP/TLS unless --trust-udp,
 *                     TLS only with --trust-cert, and on the
 *                     registration's flow unless --pushes-via-flow no
 */
#include "testutil.h"
#include <sippush/cidr.h>
#include "receiver/trust.h"


static void test_trust(void **state)
{
	struct cidr c;
	struct pl pl = PL("192.0.2.1/32");
	struct trust_rules t = {.v = &c, .n = 1};
	struct trust_flow f = {0};
	struct sa reg, other;
	int conn, conn2;     /* stand-ins: the flow's socket is compared */
	const char *why;
	(void)state;

	assert_int_equal(cidr_decode(&c, &pl), 0);
	assert_int_equal(sa_set_str(&reg, "192.0.2.1", 5060), 0);
	assert_int_equal(sa_set_str(&other, "192.0.2.2", 5060), 0);

	/* no flow yet: nothing, even from the trusted address over TCP */
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &reg, &conn,
				     &why), EPERM);
	assert_string_equal(why, "not on the registration flow");

	f.tp = SIP_TRANSP_TCP;
	f.peer = reg;
	f.sock = &conn;
	f.set = true;
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &reg, &conn,
				     &why), 0);
	assert_null(why);
	/* the same address on another connection, or over UDP */
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &reg, &conn2,
				     NULL), EPERM);
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_UDP, &reg, &conn,
				     &why), EPERM);
	assert_string_equal(why, "UDP (spoofable) without --trust-udp");
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &other, &conn,
				     &why), EPERM);
	assert_string_equal(why, "source not in --trust");

	/* any flow: any TCP connection from the trusted address */
	t.any_flow = true;
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &reg, &conn2,
				     NULL), 0);
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_UDP, &reg, &conn2,
				     NULL), EPERM);
	t.udp = true;
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_UDP, &reg, &conn2,
				     NULL), 0);

	/* --trust-cert: TLS only */
	t.tls_only = true;
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TCP, &reg, &conn,
				     &why), EPERM);
	assert_string_equal(why, "not TLS (--trust-cert)");
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_TLS, &reg, &conn,
				     NULL), 0);

	/* a UDP flow: the registrar's address and port, our socket */
	t = (struct trust_rules){.v = &c, .n = 1, .udp = true};
	f.tp = SIP_TRANSP_UDP;
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_UDP, &reg, &conn,
				     NULL), 0);
	sa_set_port(&reg, 5070);
	assert_int_equal(trust_check(&t, &f, SIP_TRANSP_UDP, &reg, &conn,
				     NULL), EPERM);
	assert_int_equal(trust_check(NULL, &f, SIP_TRANSP_UDP, &reg, &conn,
				     NULL), EPERM);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
