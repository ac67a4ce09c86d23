/**
 * @file test_reqcheck.c  Request validation on messages decoded by libre
 */
#include "testutil.h"
#include "core/reqcheck.h"


#define VIA  "Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1\r\n"
#define FROM "From: <sip:alice@example.com>;tag=a1\r\n"
#define TO   "To: <sip:push@example.com>\r\n"
#define CID  "Call-ID: c1@127.0.0.1\r\n"
#define MF   "Max-Forwards: 70\r\n"

#define MESSAGE_OK							\
	"MESSAGE sip:alice@example.com SIP/2.0\r\n" VIA FROM TO CID MF	\
	"CSeq: 1 MESSAGE\r\nContent-Type: text/plain\r\n"		\
	"Content-Length: 5\r\n\r\nhello"


/* Decode raw text with libre; NULL when libre itself refuses it. */
static struct sip_msg *decode(const char *raw, enum sip_transp tp)
{
	struct mbuf *mb = mbuf_alloc(strlen(raw) + 1);
	struct sip_msg *msg = NULL;

	assert_non_null(mb);
	assert_int_equal(mbuf_write_str(mb, raw), 0);
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb))
		msg = NULL;
	else
		msg->tp = tp;
	mem_deref(mb);

	return msg;
}


struct vcase {
	const char *raw;
	const char *reason;     /* NULL: valid */
	enum sip_transp tp;
};

static const struct vcase cases[] = {
	{MESSAGE_OK, NULL, SIP_TRANSP_UDP},
	{MESSAGE_OK, NULL, SIP_TRANSP_TCP},
	{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 7 OPTIONS\r\n\r\n", NULL, SIP_TRANSP_UDP},
	{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 7 OPTIONS\r\n\r\n", "Missing Content-Length", SIP_TRANSP_TCP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Missing or bad Via", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Missing From", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Missing To", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Missing Call-ID", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "Content-Length: 0\r\n\r\n", "Missing CSeq", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Missing Max-Forwards", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Duplicate From", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	 "CSeq method does not match the request", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 4294967296 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad CSeq number", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID
	 "Max-Forwards: many\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Max-Forwards", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 4294967296\r\n\r\n",
	 "Bad Content-Length", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 18446744073709551616\r\n\r\n",
	 "Bad Content-Length", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 50\r\n\r\nshort",
	 "Content-Length does not match the body", SIP_TRANSP_UDP},
	/* RFC 3261 §18.3: a datagram's octets beyond it are discarded */
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhello",
	 NULL, SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 2\r\n\r\nhello",
	 "Content-Length does not match the body", SIP_TRANSP_TCP},
	/* RFC 4475 §3.1.1.1: a folded CSeq is LWS */
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 0009\r\n  MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	/* §3.1.2.6, §3.1.2.1: an open quote, an empty parameter */
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM CID MF
	 "To: \"Mr. J. User <sip:j@example.com>\r\n"
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad To", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "Contact: \"Joe\" <sip:joe@example.org>;;;;\r\n"
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Contact", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA
	 "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n" FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Via", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM MF
	 "To: \"a \\\" b\" <sip:j@example.com>\r\n" CID
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	/* an IPv6 reference that is not an address */
	{"OPTIONS sip:user@[2001:db8::zz] SIP/2.0\r\n" VIA FROM
	 TO CID MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	/* RFC 5118 §4.10: RFC 3261's (RFC 2373's) third colon before an
	 * embedded IPv4 address is tolerated; anywhere else it is not */
	{"OPTIONS sip:user@[2001:db8:::192.0.2.1] SIP/2.0\r\n" VIA FROM TO CID
	 MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"OPTIONS sip:user@[:::192.0.2.1] SIP/2.0\r\n" VIA FROM TO CID
	 MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"OPTIONS sip:user@[2001:db8:::10] SIP/2.0\r\n" VIA FROM TO CID
	 MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"OPTIONS sip:user@[2001:db8::::192.0.2.1] SIP/2.0\r\n" VIA FROM TO
	 CID MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"OPTIONS sip:user@[2001:db8:::192.0.2] SIP/2.0\r\n" VIA FROM TO CID
	 MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	/* §4.2: an IPv6 address without its brackets; a port of digits */
	{"REGISTER sip:2001:db8::10 SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x:50x0 SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x:65536 SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@[2001:db8::10]x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	/* §4.3, §4.4: inside the brackets 5070 is the address's, after
	 * them the port */
	{"REGISTER sip:[2001:db8::10:5070] SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"REGISTER sip:[2001:db8::10]:5070;transport=tcp SIP/2.0\r\n" VIA FROM
	 TO CID MF "CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x:5060?Subject=hi SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"MESSAGE tel:+1-201-555-0123;phone-context=x SIP/2.0\r\n" VIA FROM
	 TO CID MF "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"OPTIONS sip:user@[2001:db8::10] SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nExpires: -1\r\nContent-Length: 0\r\n\r\n",
	 "Bad Expires", SIP_TRANSP_UDP},
	/* a scheme we do not know: reqcheck_support()'s 416, not a 400 */
	{"MESSAGE http://p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 NULL, SIP_TRANSP_UDP},
	{"MESSAGE 1http://p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad Request-URI", SIP_TRANSP_UDP},
	{"MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM "To: <sip:p@x\r\n" CID MF
	 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
	 "Bad To", SIP_TRANSP_UDP},
	{"SUBSCRIBE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 SUBSCRIBE\r\nEvent: ua-profile;profile-type=oma-app\r\n"
	 "Content-Length: 0\r\n\r\n", NULL, SIP_TRANSP_UDP},
	{"SUBSCRIBE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 SUBSCRIBE\r\nContent-Length: 0\r\n\r\n",
	 "Missing or duplicate Event", SIP_TRANSP_UDP},
	{"SUBSCRIBE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 1 SUBSCRIBE\r\nEvent: ua-profile;profile-type=\"x\r\n"
	 "Content-Length: 0\r\n\r\n", "Bad Event", SIP_TRANSP_UDP},
	{"NOTIFY sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 2 NOTIFY\r\nEvent: ua-profile\r\n"
	 "Subscription-State: active;expires=600\r\n"
	 "Content-Length: 0\r\n\r\n", NULL, SIP_TRANSP_UDP},
	{"NOTIFY sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 2 NOTIFY\r\nEvent: ua-profile\r\nContent-Length: 0\r\n\r\n",
	 "Missing or duplicate Subscription-State", SIP_TRANSP_UDP},
	{"NOTIFY sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
	 "CSeq: 2 NOTIFY\r\nEvent: refer\r\n"
	 "Subscription-State: active;expires=soon\r\n"
	 "Content-Length: 0\r\n\r\n", "Bad Subscription-State",
	 SIP_TRANSP_UDP},
};


static void test_cases(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sip_msg *msg = decode(cases[i].raw, cases[i].tp);
		const char *why = NULL;
		int err;

		if (!msg)
			fail_msg("case %zu: libre refused it", i);

		err = reqcheck_request(msg, &why);
		mem_deref(msg);

		if (!cases[i].reason) {
			if (err)
				fail_msg("case %zu: rejected (%s)", i, why);
			continue;
		}

		if (err != EBADMSG || !why || strcmp(why, cases[i].reason))
			fail_msg("case %zu: '%s', want '%s' (%.60s)", i,
				 why ? why : "(valid)", cases[i].reason,
				 cases[i].raw);
	}
}


/* What libre refuses to decode never reaches reqcheck (no 400 possible). */
static void test_libre_drops(void **state)
{
	(void)state;

	assert_null(decode("garbage\r\n\r\n", SIP_TRANSP_UDP));
	assert_null(decode("MESSAGE sip:p@x SIP/3.0\r\n" VIA "\r\n",
			   SIP_TRANSP_UDP));
	assert_null(decode("MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
			   "CSeq: abc MESSAGE\r\nContent-Length: 0\r\n\r\n",
			   SIP_TRANSP_UDP));
	assert_null(decode("MESSAGE sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
			   "CSeq: 1\r\nContent-Length: 0\r\n\r\n",
			   SIP_TRANSP_UDP));
	assert_null(decode("MESSAGE sip:p@x SIP/2.0\r\n" VIA "From: garbage\r\n"
			   TO CID MF "CSeq: 1 MESSAGE\r\n\r\n",
			   SIP_TRANSP_UDP));
}


/* 416, 501 and 420 (with the tag) after a request passed the 400s */
static void test_support(void **state)
{
	static const struct {
		const char *raw;
		uint16_t scode;
		const char *unsup;
	} sv[] = {
		{"OPTIONS nobodyKnowsThisScheme:opaque SIP/2.0\r\n" VIA FROM TO
		 CID MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 416, ""},
		{"MESSAGE http://p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n", 416, ""},
		{"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\r\n" VIA FROM TO
		 CID MF "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 416, ""},
		{"RE%47IST%45R sip:r@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 RE%47IST%45R\r\nContent-Length: 0\r\n\r\n",
		 501, ""},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "Require: gruu, nothingSupportsThis\r\n"
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 420, "nothingSupportsThis"},
		{"ACK sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "Require: nothingSupportsThis\r\n"
		 "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n", 0, ""},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "Require: timer, path\r\nProxy-Require: noProxy\r\n"
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", 0, ""},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(sv); i++) {
		struct sip_msg *msg = decode(sv[i].raw, SIP_TRANSP_UDP);
		const char *reason = NULL;
		struct pl unsup;
		uint16_t scode = 0;
		int err;

		assert_non_null(msg);
		assert_int_equal(reqcheck_request(msg, &reason), 0);
		err = reqcheck_support(msg, reqcheck_options,
				       reqcheck_noptions, &scode, &reason,
				       &unsup);
		assert_int_equal(err, sv[i].scode ? ENOTSUP : 0);
		assert_int_equal(scode, sv[i].scode);
		assert_int_equal(pl_strcmp(&unsup, sv[i].unsup), 0);
		mem_deref(msg);
	}
}


/* A stream whose framing is lost is closed after the 400; a datagram,
 * or a 400 for any other reason, leaves the connection as it is */
static void test_unframed(void **state)
{
	static const struct {
		const char *raw;
		enum sip_transp tp;
		bool close;
	} cv[] = {
		{MESSAGE_OK, SIP_TRANSP_TCP, false},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 OPTIONS\r\nContent-Length: -999\r\n\r\n",
		 SIP_TRANSP_TCP, true},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 OPTIONS\r\nContent-Length: -999\r\n\r\n",
		 SIP_TRANSP_UDP, false},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 OPTIONS\r\n\r\n", SIP_TRANSP_TLS, true},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID MF
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n"
		 "Content-Length: 0\r\n\r\n", SIP_TRANSP_TCP, true},
		{"OPTIONS sip:p@x SIP/2.0\r\n" VIA FROM TO CID
		 "Max-Forwards: x\r\n"
		 "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		 SIP_TRANSP_TCP, false},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cv); i++) {
		struct sip_msg *msg = decode(cv[i].raw, cv[i].tp);
		struct reqcheck_ans ans;

		assert_non_null(msg);
		assert_int_equal(reqcheck_refuse(msg, NULL, &ans),
				 i != 0);   /* all but the first are 400 */
		assert_int_equal(ans.close, cv[i].close);
		assert_int_equal(reqcheck_unframed(msg), cv[i].close);
		mem_deref(msg);
	}
}


static void test_substate(void **state)
{
	struct substate ss;
	struct pl h;
	(void)state;

	h = (struct pl)PL_STR("terminated;reason=noresource;retry-after=30");
	assert_int_equal(substate_decode(&ss, &h), 0);
	assert_pl_equal(ss.state, "terminated");
	assert_pl_equal(ss.reason, "noresource");
	assert_true(ss.has_retry_after);
	assert_int_equal(ss.retry_after, 30);

	h = (struct pl)PL_STR(" active ; expires=86400 ");
	assert_int_equal(substate_decode(&ss, &h), 0);
	assert_pl_equal(ss.state, "active");
	assert_int_equal(ss.expires, 86400);

	h = (struct pl)PL_STR("");
	assert_int_equal(substate_decode(&ss, &h), EBADMSG);
	h = (struct pl)PL_STR("active;expires=1;expires=2");
	assert_int_equal(substate_decode(&ss, &h), EBADMSG);
	h = (struct pl)PL_STR("terminated;reason=\"no resource\"");
	assert_int_equal(substate_decode(&ss, &h), EBADMSG);
	h = (struct pl)PL_STR("active expires=1");
	assert_int_equal(substate_decode(&ss, &h), EBADMSG);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_libre_drops),
		cmocka_unit_test(test_support),
		cmocka_unit_test(test_unframed),
		cmocka_unit_test(test_substate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
