/**
 * @file test_subdlg.c  Notifier dialogs as data; UAProf PushCharacteristics
 */
#include "testutil.h"
#include "core/subdlg.h"
#include "core/uaprofdoc.h"


static const struct subdlg dlg = {
	.call_id = "c1@t", .ltag = "l1", .rtag = "r1",
	.local = "<sip:push@localhost>", .remote = "<sip:a@example.com>",
	.route = "<sip:10.0.0.1;lr>,<sip:10.0.0.2;lr>", .cseq = 42,
};


/* subdlg_hdrs_print() takes the method too: not a two-argument %H */
static int notify_hdrs_h(struct re_printf *pf, const struct subdlg *d)
{
	return subdlg_hdrs_print(pf, d, "NOTIFY");
}


static void test_hdrs(void **state)
{
	char buf[1024];
	(void)state;

	PRINT(buf, "%H", notify_hdrs_h, &dlg);
	assert_string_equal(buf,
			    "Route: <sip:10.0.0.1;lr>\r\n"
			    "Route: <sip:10.0.0.2;lr>\r\n"
			    "To: <sip:a@example.com>;tag=r1\r\n"
			    "From: <sip:push@localhost>;tag=l1\r\n"
			    "Call-ID: c1@t\r\n"
			    "CSeq: 42 NOTIFY\r\n");
}


static void test_notify(void **state)
{
	struct subdlg d = dlg;
	struct notify_spec ns = {
		.dlg = &d, .event = "ua-profile", .state = "active",
		.expires = 3600, .pai = "sip:push@localhost",
		.content_id = "p1@sippush", .ctype = "text/plain",
		.body_len = 5,
	};
	char buf[1024];
	(void)state;

	d.route = NULL;
	PRINT(buf, "%H", notify_hdrs_print, &ns);
	assert_non_null(strstr(buf, "Event: ua-profile\r\n"
			       "Subscription-State: active;expires=3600\r\n"
			       "P-Asserted-Identity: <sip:push@localhost>\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-ID: <p1@sippush>\r\n"
			       "Content-Length: 5\r\n\r\n"));
	assert_null(strstr(buf, "Route:"));

	/* the final NOTIFY: terminated with a reason, no body */
	ns.state = "terminated";
	ns.reason = "noresource";
	ns.ctype = NULL;
	ns.event = "refer";
	PRINT(buf, "%H", notify_hdrs_print, &ns);
	assert_non_null(strstr(buf, "Subscription-State: terminated;"
			       "reason=noresource\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 0\r\n\r\n"));
	assert_null(strstr(buf, "Content-ID"));

	ns.dlg = NULL;
	assert_true(re_snprintf(buf, sizeof(buf), "%H", notify_hdrs_print,
				&ns) < 0 || !strstr(buf, "NOTIFY"));
}


static void test_first_hop(void **state)
{
	struct uri hop;
	struct pl buf;
	(void)state;

	assert_int_equal(subdlg_first_hop(&hop, &buf, dlg.route,
					  "sip:a@127.0.0.1:5062"), 0);
	assert_pl_equal(hop.host, "10.0.0.1");
	assert_int_equal(subdlg_first_hop(&hop, &buf, NULL,
					  "sip:a@127.0.0.1:5062"), 0);
	assert_pl_equal(hop.host, "127.0.0.1");
	assert_int_equal(hop.port, 5062);
	assert_int_equal(subdlg_first_hop(&hop, &buf, "garbage<", "sip:a@b"),
			 EBADMSG);
}


static const char rdf[] =
	"<?xml version=\"1.0\"?>\n"
	"<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"\n"
	" xmlns:prf=\"http://www.openmobilealliance.org/tech/profiles/"
	"UAPROF/ccppschema-20021212#\">\n"
	"<rdf:Description rdf:ID=\"Profile\"><prf:component>\n"
	"<rdf:Description rdf:ID=\"PushCharacteristics\">\n"
	" <prf:Push-Accept><rdf:Bag>\n"
	"  <rdf:li>application/vnd.wap.mms-message</rdf:li>\n"
	"  <rdf:li> text/plain </rdf:li>\n"
	" </rdf:Bag></prf:Push-Accept>\n"
	" <prf:Push-Accept-AppID><rdf:Bag>\n"
	"  <rdf:li>x-wap-application:mms.ua</rdf:li>\n"
	" </rdf:Bag></prf:Push-Accept-AppID>\n"
	" <prf:Push-MsgSize>1400</prf:Push-MsgSize>\n"
	" <prf:Vendor>ignored</prf:Vendor>\n"
	"</rdf:Description></prf:component></rdf:Description></rdf:RDF>\n";


static void test_uaprofdoc(void **state)
{
	struct uaprofdoc doc;
	(void)state;

	assert_int_equal(uaprofdoc_parse(&doc, rdf, sizeof(rdf) - 1), 0);
	assert_string_equal(doc.push_accept,
			    "application/vnd.wap.mms-message,text/plain");
	assert_string_equal(doc.push_appids, "mms.ua");
	assert_int_equal(doc.push_msgsize, 1400);
	assert_true(doc.has_push);
}


static void test_uaprofdoc_hostile(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;\">]><r>&b;</r>";
	static const char external[] =
		"<?xml version=\"1.0\"?><!DOCTYPE r SYSTEM "
		"\"http://127.0.0.1/x.dtd\"><r/>";
	static const char badsize[] =
		"<r><Push-MsgSize>12x</Push-MsgSize></r>";
	static const char quote[] =
		"<r><Push-Accept><li>text/\"plain</li></Push-Accept></r>";
	char deep[4096], big[4096];
	struct uaprofdoc doc;
	size_t n = 0;
	(void)state;

	assert_int_equal(uaprofdoc_parse(&doc, laughs, sizeof(laughs) - 1),
			 EBADMSG);
	assert_int_equal(uaprofdoc_parse(&doc, external,
					 sizeof(external) - 1), EBADMSG);
	assert_int_equal(uaprofdoc_parse(&doc, badsize, sizeof(badsize) - 1),
			 EBADMSG);
	assert_int_equal(uaprofdoc_parse(&doc, quote, sizeof(quote) - 1),
			 EBADMSG);
	assert_int_equal(uaprofdoc_parse(&doc, "<r>", 3), EBADMSG);

	/* nesting beyond the bound */
	for (int i = 0; i < 40; i++)
		n += (size_t)re_snprintf(deep + n, sizeof(deep) - n, "<e>");
	for (int i = 0; i < 40; i++)
		n += (size_t)re_snprintf(deep + n, sizeof(deep) - n, "</e>");
	assert_int_equal(uaprofdoc_parse(&doc, deep, n), EBADMSG);

	/* a list item longer than its buffer */
	n = (size_t)re_snprintf(big, sizeof(big), "<r><Push-Accept><li>");
	memset(big + n, 'a', 1000);
	n += 1000;
	n += (size_t)re_snprintf(big + n, sizeof(big) - n,
				 "</li></Push-Accept></r>");
	assert_int_equal(uaprofdoc_parse(&doc, big, n), EOVERFLOW);
	assert_string_equal(doc.push_accept, "");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdrs),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_first_hop),
		cmocka_unit_test(test_uaprofdoc),
		cmocka_unit_test(test_uaprofdoc_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
