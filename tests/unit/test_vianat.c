/**
 * @file test_vianat.c  A NAT between the agent and its registrar, as the
 *                      Via of the REGISTER's response shows it (RFC 3581)
 */
#include "testutil.h"
#include "core/vianat.h"


static bool behind(const char *via)
{
	char raw[512];
	struct sip_msg *msg = NULL;
	struct mbuf *mb = mbuf_alloc(512);
	bool b;

	re_snprintf(raw, sizeof(raw), "SIP/2.0 200 OK\r\nVia: %s\r\n"
		    "From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\n"
		    "Call-ID: c\r\nCSeq: 1 REGISTER\r\n"
		    "Content-Length: 0\r\n\r\n", via);
	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, raw), 0);
	mb->pos = 0;
	assert_int_equal(sip_msg_decode(&msg, mb), 0);
	b = vianat_behind(&msg->via);
	mem_deref(msg);
	mem_deref(mb);
	return b;
}


static void test_vianat(void **state)
{
	(void)state;

	/* the registrar saw what we sent from */
	assert_false(behind("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1"));
	assert_false(behind("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;"
			    "received=10.0.0.5;rport=5062"));
	assert_false(behind("SIP/2.0/UDP 10.0.0.5;rport=5060;branch=z"));
	/* another address: a NAT rewrote it */
	assert_true(behind("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK1;"
			   "received=198.51.100.7"));
	assert_true(behind("SIP/2.0/TCP 10.0.0.5:5062;branch=z9hG4bK1;"
			   "received=198.51.100.7;rport=40001"));
	/* UDP from another port: a NAT too; TCP's port says nothing */
	assert_true(behind("SIP/2.0/UDP 10.0.0.5:5062;branch=z;"
			   "rport=61000;received=10.0.0.5"));
	assert_false(behind("SIP/2.0/TCP 10.0.0.5:5062;branch=z;"
			    "rport=61000;received=10.0.0.5"));
	/* rport asked but not filled in, a name as sent-by: nothing known */
	assert_false(behind("SIP/2.0/UDP 10.0.0.5:5062;rport;branch=z"));
	assert_false(behind("SIP/2.0/UDP phone.example:5062;branch=z;"
			    "received=198.51.100.7"));
	/* a received that is no address */
	assert_false(behind("SIP/2.0/UDP 10.0.0.5:5062;branch=z;"
			    "received=nonsense"));
	assert_false(vianat_behind(NULL));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vianat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
