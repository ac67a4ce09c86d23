/**
 * @file test_pap.c  PAP documents: each request type, the address and time
 *                   forms, and hostile documents (billion laughs, external
 *                   entity, deep nesting, huge attribute, unknown version)
 */
#include "testutil.h"
#include <stdlib.h>
#include "core/pap.h"

#define DT21 "<?xml version=\"1.0\"?>\n<!DOCTYPE pap PUBLIC \"-//WAPFORUM" \
	"//DTD PAP 2.1//EN\" \"http://www.openmobilealliance.org/tech/DTD/" \
	"pap_2.1.dtd\">\n"


static int decode(struct pap_doc *d, const char *xml, const char **why)
{
	char frag[PAP_FRAG_MAX];

	return pap_decode(d, xml, strlen(xml), frag, sizeof(frag), why);
}


static void test_push_message(void **state)
{
	static const char xml[] = DT21
		"<pap><push-message push-id=\"p-123\" "
		"deliver-before-timestamp=\"2030-06-24T09:00:00Z\" "
		"deliver-after-timestamp=\"2030-06-24T08:00:00Z\" "
		"source-reference=\"mmsc-1\" "
		"ppg-notify-requested-to=\"http://127.0.0.1:9/notify\">"
		"<address address-value=\"WAPPUSH=sip%3Aalice%40example.com/"
		"TYPE=USER@ppg.example\"/>"
		"<address address-value=\"WAPPUSH=%2B15551234567/TYPE=PLMN@"
		"ppg.example\"/>"
		"<quality-of-service priority=\"high\" "
		"delivery-method=\"confirmed\"/></push-message></pap>";
	struct pap_doc d;
	struct pap_addr a;
	const char *why;
	(void)state;

	assert_int_equal(decode(&d, xml, &why), 0);
	assert_int_equal(d.kind, PAP_PUSH);
	assert_string_equal(d.push_id, "p-123");
	assert_string_equal(d.source_ref, "mmsc-1");
	assert_string_equal(d.notify_to, "http://127.0.0.1:9/notify");
	assert_int_equal(d.deliver_before, 1908522000);
	assert_int_equal(d.deliver_after, 1908518400);
	assert_string_equal(d.priority, "high");
	assert_string_equal(d.delivery_method, "confirmed");
	assert_int_equal(d.naddr, 2);

	assert_int_equal(pap_addr_decode(&a, d.addr[0]), 0);
	assert_string_equal(a.value, "sip:alice@example.com");
	assert_string_equal(a.type, "USER");
	assert_int_equal(pap_addr_decode(&a, d.addr[1]), 0);
	assert_string_equal(a.value, "+15551234567");
	assert_string_equal(a.type, "PLMN");
}


static void test_other_requests(void **state)
{
	struct pap_doc d;
	const char *why;
	(void)state;

	assert_int_equal(decode(&d, DT21 "<pap><statusquery-message "
				"push-id=\"p-1\"/></pap>", &why), 0);
	assert_int_equal(d.kind, PAP_STATUSQUERY);
	assert_int_equal(decode(&d, "<pap><cancel-message push-id=\"p-2\">"
				"<address address-value=\"WAPPUSH=x/TYPE=USER@"
				"p\"/></cancel-message></pap>", &why), 0);
	assert_int_equal(d.kind, PAP_CANCEL);
	assert_int_equal(d.naddr, 1);
	assert_int_equal(decode(&d, "<pap><ccq-message query-id=\"q1\" "
				"app-id=\"mms.ua\"><address address-value=\""
				"WAPPUSH=x/TYPE=USER@p\"/></ccq-message></pap>",
				&why), 0);
	assert_int_equal(d.kind, PAP_CCQ);
	assert_string_equal(d.query_id, "q1");
	assert_int_equal(decode(&d, "<pap><resultnotification-response "
				"push-id=\"p-3\"><response-result code=\"1000\""
				"/></resultnotification-response></pap>", &why),
			 0);
	assert_int_equal(d.kind, PAP_RN_RESPONSE);
	assert_string_equal(d.code, "1000");
}


static void test_bad_and_hostile(void **state)
{
	static const struct {
		const char *xml;
		int err;
	} t[] = {
		/* billion laughs: needs an internal subset */
		{"<?xml version=\"1.0\"?><!DOCTYPE pap [<!ENTITY a \"aaaa\">"
		 "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><pap>&b;</pap>",
		 EPERM},
		/* external entity by a SYSTEM DTD */
		{"<?xml version=\"1.0\"?><!DOCTYPE pap SYSTEM \"http://127.0.0"
		 ".1/x.dtd\"><pap><push-message push-id=\"&x;\"/></pap>",
		 ENOTSUP},
		/* an undeclared entity reference */
		{"<pap><push-message push-id=\"&xxe;\"/></pap>", EBADMSG},
		{DT21 "<pap><push-message push-id=\"x\"><a><b><c><d><e><f><g>"
		 "</g></f></e></d></c></b></a></push-message></pap>", EBADMSG},
		{"<!DOCTYPE pap PUBLIC \"-//WAPFORUM//DTD PAP 9.9//EN\" \"x\">"
		 "<pap/>", ENOTSUP},
		{"<pap><push-message/></pap>", EBADMSG},          /* no id   */
		{"<pap><push-message push-id=\"a\"/></pap>", EBADMSG},
		{"<notpap/>", EBADMSG},
		{"<pap><push-message push-id=\"a\" deliver-before-timestamp="
		 "\"yesterday\"><address address-value=\"x\"/></push-message>"
		 "</pap>", EBADMSG},
		{"<pap><frobnicate-message/></pap>", ENOTSUP},
		{"<pap><push-message push-id=\"a\"", EBADMSG},   /* cut off  */
	};
	struct pap_doc d;
	const char *why;
	char *big;
	size_t n;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(decode(&d, t[i].xml, &why), t[i].err);
		assert_non_null(why);
	}

	/* a huge attribute */
	big = malloc(PAP_DOC_MAX);
	n = (size_t)re_snprintf(big, PAP_DOC_MAX, "<pap><push-message "
				"push-id=\"");
	memset(big + n, 'x', 4000);
	n += 4000;
	n += (size_t)re_snprintf(big + n, PAP_DOC_MAX - n, "\"/></pap>");
	assert_int_equal(pap_decode(&d, big, n, big + n + 1, 128, &why),
			 EOVERFLOW);
	free(big);
}


static void test_fragment(void **state)
{
	static const char xml[] = "<pap><push-message push-id=\"a\">"
		"<address address-value=\"x\"></push-message></pap>";
	char frag[PAP_FRAG_MAX];
	struct pap_doc d;
	const char *why;
	(void)state;

	assert_int_equal(pap_decode(&d, xml, sizeof(xml) - 1, frag,
				    sizeof(frag), &why), EBADMSG);
	assert_non_null(strstr(frag, "</push-message>"));
}


static void test_addr_time(void **state)
{
	static const char *bad[] = {"sip:alice@x", "WAPPUSH=/TYPE=USER@p",
				    "WAPPUSH=%zz/TYPE=USER@p",
				    "WAPPUSH=a%0a/TYPE=USER@p",
				    "WAPPUSH=ab%2/TYPE=USER@p"};
	struct pap_addr a;
	char buf[40];
	int64_t t;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(pap_addr_decode(&a, bad[i]), EBADMSG);

	assert_int_equal(pap_time_decode(&t, "1970-01-01T00:00:10Z"), 0);
	assert_int_equal(t, 10);
	PRINT(buf, "%H", pap_time_print, &t);
	assert_string_equal(buf, "1970-01-01T00:00:10Z");
	assert_int_equal(pap_time_decode(&t, "2030-13-01T00:00:00Z"), EBADMSG);
	assert_int_equal(pap_time_decode(&t, "2030-01-01T00:00:00"), EBADMSG);
	assert_int_equal(pap_time_decode(&t, "2030-01-01T00:00:00Zx"),
			 EBADMSG);
	PRINT(buf, "%H", pap_escape_print, "a<b>&\"c'");
	assert_string_equal(buf, "a&lt;b&gt;&amp;&quot;c&apos;");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_message),
		cmocka_unit_test(test_other_requests),
		cmocka_unit_test(test_bad_and_hostile),
		cmocka_unit_test(test_fragment),
		cmocka_unit_test(test_addr_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
