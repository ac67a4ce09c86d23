/**
 * @file test_reginfo.c  RFC 3680 documents: what Kamailio publishes, what
 *                       an IMS core with feature tags and GRUUs sends,
 *                       partial state, and the hostile and broken ones
 */
#include <string.h>
#include "testutil.h"
#include "core/reginfo.h"

#define HDR "<?xml version=\"1.0\"?>\n"
#define NS  "xmlns=\"urn:ietf:params:xml:ns:reginfo\""


static int decode(struct reginfo **ri, const char *xml, char *why,
		  size_t sz)
{
	*ri = NULL;
	return reginfo_decode(ri, xml, strlen(xml), why, sz);
}


static void test_kamailio_full(void **state)
{
	/* the shape of Kamailio 5.6 pua_reginfo: no feature tags */
	const char *xml = HDR
		"<reginfo " NS " version=\"0\" state=\"full\">\n"
		" <registration aor=\"sip:alice@example.com\" id=\"0x7f1\""
		" state=\"active\">\n"
		"  <contact id=\"0x7f2\" state=\"active\" event=\"registered\""
		" expires=\"600\" callid=\"abc\" cseq=\"2\">\n"
		"   <uri>sip:alice@127.0.0.1:5072</uri>\n"
		"  </contact>\n"
		" </registration>\n"
		"</reginfo>\n";
	struct reginfo *ri;
	char why[128];
	(void)state;

	assert_int_equal(decode(&ri, xml, why, sizeof(why)), 0);
	assert_true(ri->full);
	assert_int_equal(ri->version, 0);
	assert_int_equal(ri->regn, 1);
	assert_string_equal(ri->regv[0].aor, "sip:alice@example.com");
	assert_string_equal(ri->regv[0].state, "active");
	assert_int_equal(ri->regv[0].contactn, 1);
	assert_string_equal(ri->regv[0].contactv[0].uri,
			    "sip:alice@127.0.0.1:5072");
	assert_string_equal(ri->regv[0].contactv[0].event, "registered");
	assert_true(ri->regv[0].contactv[0].has_expires);
	assert_int_equal(ri->regv[0].contactv[0].expires, 600);
	assert_string_equal(ri->regv[0].contactv[0].instance, "");
	assert_false(ri->regv[0].contactv[0].has_push);
	mem_deref(ri);
}


static void test_feature_tags_and_gruu(void **state)
{
	const char *xml = HDR
		"<r:reginfo xmlns:r=\"urn:ietf:params:xml:ns:reginfo\""
		" xmlns:gr=\"urn:ietf:params:xml:ns:gruuinfo\""
		" xmlns:x=\"urn:example:ext\" version=\"7\" state=\"partial\">"
		"<r:registration aor=\"sip:bob@example.com\" id=\"r1\""
		" state=\"active\">"
		"<r:contact id=\"c1\" state=\"active\" event=\"created\""
		" expires=\"3600\">"
		"<r:uri>sip:bob@192.0.2.7:5060;transport=tcp</r:uri>"
		"<x:whatever a=\"b\"><r:uri>sip:ignored@x</r:uri></x:whatever>"
		"<r:unknown-param name=\"+sip.instance\">"
		"\"&lt;urn:uuid:00000000-0000-0000-0000-0000000000b1&gt;\""
		"</r:unknown-param>"
		"<r:unknown-param name=\"+g.oma.pusheventapp\">"
		" \"mms.ua,syncml.dm\" </r:unknown-param>"
		"<r:unknown-param name=\"methods\">\"MESSAGE,NOTIFY\""
		"</r:unknown-param>"
		"<gr:pub-gruu uri=\"sip:bob@example.com;gr=urn:uuid:"
		"00000000-0000-0000-0000-0000000000b1\"/>"
		"<gr:temp-gruu uri=\"sip:tgruu.7hs==@example.com;gr\""
		" first-cseq=\"9\"/>"
		"</r:contact>"
		"<r:contact id=\"c2\" state=\"terminated\" event=\"expired\">"
		"<r:uri>sip:bob@192.0.2.8</r:uri></r:contact>"
		"</r:registration></r:reginfo>";
	struct reginfo *ri;
	const struct reginfo_contact *c;
	(void)state;

	assert_int_equal(decode(&ri, xml, NULL, 0), 0);
	assert_false(ri->full);
	assert_int_equal(ri->version, 7);
	assert_int_equal(ri->regv[0].contactn, 2);
	c = &ri->regv[0].contactv[0];
	assert_string_equal(c->uri, "sip:bob@192.0.2.7:5060;transport=tcp");
	assert_string_equal(c->instance,
			    "urn:uuid:00000000-0000-0000-0000-0000000000b1");
	assert_true(c->has_push);
	assert_string_equal(c->apps, "mms.ua,syncml.dm");
	assert_string_equal(c->methods, "MESSAGE,NOTIFY");
	assert_string_equal(c->pub_gruu, "sip:bob@example.com;gr=urn:uuid:"
			    "00000000-0000-0000-0000-0000000000b1");
	assert_string_equal(c->temp_gruu, "sip:tgruu.7hs==@example.com;gr");
	c = &ri->regv[0].contactv[1];
	assert_string_equal(c->state, "terminated");
	assert_string_equal(c->event, "expired");
	assert_false(c->has_expires);
	mem_deref(ri);
}


struct bad {
	const char *xml;
	int err;
	const char *why;     /* a part of the reason */
};


static void test_refused(void **state)
{
	static const struct bad bad[] = {
		{"<reginfo " NS " state=\"full\"/>", EBADMSG, "version"},
		{"<reginfo " NS " version=\"1\"/>", EBADMSG, "state"},
		{"<reginfo " NS " version=\"-1\" state=\"full\"/>", EBADMSG,
		 "version"},
		{"<reginfo " NS " version=\"99999999999\" state=\"full\"/>",
		 EBADMSG, "version"},
		{"<reginfo " NS " version=\"1\" state=\"most\"/>", EBADMSG,
		 "state"},
		{"<reginfo version=\"1\" state=\"full\"/>", EBADMSG,
		 "not a reginfo"},
		{"<presence " NS " version=\"1\" state=\"full\"/>", EBADMSG,
		 "not a reginfo"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<registration id=\"a\" state=\"active\"/></reginfo>",
		 EBADMSG, "aor"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<registration aor=\"sip:a@b\" id=\"a\" state=\"gone\"/>"
		 "</reginfo>", EBADMSG, "state"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<registration aor=\"sip:a@b\" id=\"a\" state=\"active\">"
		 "<contact id=\"c\" state=\"active\" event=\"registered\"/>"
		 "</registration></reginfo>", EBADMSG, "no uri"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<registration aor=\"sip:a@b\" id=\"a\" state=\"active\">"
		 "<contact id=\"c\" state=\"active\" event=\"teleported\">"
		 "<uri>sip:a@c</uri></contact></registration></reginfo>",
		 EBADMSG, "event"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<registration aor=\"sip:a@b\" id=\"a\" state=\"active\">"
		 "<contact id=\"c\" state=\"active\" event=\"registered\""
		 " expires=\"soon\"><uri>sip:a@c</uri></contact>"
		 "</registration></reginfo>", EBADMSG, "expires"},
		{"<reginfo " NS " version=\"1\" state=\"full\">"
		 "<contact id=\"c\" state=\"active\" event=\"registered\">"
		 "<uri>sip:a@c</uri></contact></reginfo>", EBADMSG,
		 "out of place"},
		{"<reginfo " NS " version=\"1\" state=\"full\">", EBADMSG,
		 "well-formed"},
		{"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">"
		 "<!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>"
		 "<reginfo " NS " version=\"1\" state=\"full\">&b;</reginfo>",
		 EBADMSG, ""},
		{"<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM "
		 "\"http://127.0.0.1/x.dtd\"><reginfo " NS " version=\"1\""
		 " state=\"full\"/>", EBADMSG, ""},
	};
	struct reginfo *ri;
	char why[128];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = decode(&ri, bad[i].xml, why, sizeof(why));

		if (err != bad[i].err || !strstr(why, bad[i].why))
			fail_msg("case %zu: %d (%s)", i, err, why);
		assert_null(ri);
	}
}


static void test_bounds(void **state)
{
	struct mbuf *mb = mbuf_alloc(70000);
	struct reginfo *ri;
	char why[128];
	(void)state;

	/* one contact too many */
	(void)mbuf_printf(mb, "<reginfo " NS " version=\"1\" state=\"full\">"
			  "<registration aor=\"sip:a@b\" id=\"a\""
			  " state=\"active\">");
	for (int i = 0; i <= REGINFO_CONTACTS; i++)
		(void)mbuf_printf(mb, "<contact id=\"c%d\" state=\"active\""
				  " event=\"registered\"><uri>sip:a@%d</uri>"
				  "</contact>", i, i);
	(void)mbuf_printf(mb, "</registration></reginfo>");
	assert_int_equal(reginfo_decode(&ri, (char *)mb->buf, mb->end, why,
					sizeof(why)), EOVERFLOW);
	assert_non_null(strstr(why, "too many contacts"));

	/* nesting deeper than the bound, inside an extension */
	mbuf_reset(mb);
	(void)mbuf_printf(mb, "<reginfo " NS " version=\"1\" state=\"full\">");
	for (int i = 0; i < 20; i++)
		(void)mbuf_printf(mb, "<x:e xmlns:x=\"urn:x\">");
	for (int i = 0; i < 20; i++)
		(void)mbuf_printf(mb, "</x:e>");
	(void)mbuf_printf(mb, "</reginfo>");
	assert_int_equal(reginfo_decode(&ri, (char *)mb->buf, mb->end, why,
					sizeof(why)), EBADMSG);
	assert_non_null(strstr(why, "deep"));

	/* a URI longer than its field */
	mbuf_reset(mb);
	(void)mbuf_printf(mb, "<reginfo " NS " version=\"1\" state=\"full\">"
			  "<registration aor=\"sip:a@b\" id=\"a\""
			  " state=\"active\"><contact id=\"c\""
			  " state=\"active\" event=\"registered\"><uri>sip:");
	for (int i = 0; i < 300; i++)
		(void)mbuf_write_u8(mb, 'x');
	(void)mbuf_printf(mb, "@b</uri></contact></registration></reginfo>");
	assert_int_not_equal(reginfo_decode(&ri, (char *)mb->buf, mb->end, why,
					    sizeof(why)), 0);

	/* the whole document */
	mbuf_reset(mb);
	(void)mbuf_fill(mb, ' ', REGINFO_MAX_DOC + 1);
	assert_int_equal(reginfo_decode(&ri, (char *)mb->buf, mb->end, why,
					sizeof(why)), EOVERFLOW);
	mem_deref(mb);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kamailio_full),
		cmocka_unit_test(test_feature_tags_and_gruu),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
