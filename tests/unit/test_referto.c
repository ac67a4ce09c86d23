/**
 * @file test_referto.c  Refer-To for a REFER-triggered subscription
 */
#include "testutil.h"
#include "core/featuretag.h"
#include "core/uaprofile.h"
#include "core/referto.h"


static void test_print(void **state)
{
	const struct referto_spec rs = {"sip:push@operator.example", "mms.ua",
					NULL};
	char buf[512];
	(void)state;

	PRINT(buf, "%H", referto_print, &rs);
	assert_string_equal(buf,
		"<sip:push@operator.example;method=SUBSCRIBE?"
		"Event=ua-profile%3Bprofile-type%3Doma-app%3B"
		"event-app-id%3D%22mms.ua%22&"
		"Accept-Contact=*%3B%2Bg.oma.pusheventapp%3D%22mms.ua%22>");
}


static void test_roundtrip(void **state)
{
	const struct referto_spec rs = {"sip:alice@ims.example.net",
					"syncml.dm", "NOTIFY"};
	struct uaprof_event ev;
	struct ac_pred p[AC_MAX];
	struct referto rt;
	size_t n = 0;
	char buf[512];
	struct pl h;
	(void)state;

	PRINT(buf, "%H", referto_print, &rs);
	pl_set_str(&h, buf);

	assert_int_equal(referto_decode(&rt, &h), 0);
	assert_pl_equal(rt.uri, "sip:alice@ims.example.net;method=SUBSCRIBE");
	assert_pl_equal(rt.method, "SUBSCRIBE");
	assert_string_equal(rt.event, "ua-profile;profile-type=oma-app;"
			    "event-app-id=\"syncml.dm\"");
	assert_string_equal(rt.accept_contact, "*;+g.oma.pusheventapp="
			    "\"syncml.dm\";methods=\"NOTIFY\"");
	assert_int_equal(referto_push_check(&rt), 0);

	pl_set_str(&h, rt.event);
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_pl_equal(ev.app_ids, "syncml.dm");

	pl_set_str(&h, rt.accept_contact);
	assert_int_equal(ac_decode(p, AC_MAX, &n, &h), 0);
	assert_int_equal(p[0].tags.n, 2);
}


static void test_decode_variants(void **state)
{
	struct referto rt;
	struct pl h;
	(void)state;

	/* compact header names, lower-case escapes, display name */
	h = (struct pl)PL_STR("\"PSA\" <sip:psa@op.example;method=SUBSCRIBE?"
			      "o=ua-profile%3bprofile-type%3doma-app&"
			      "a=*%3b%2bg.oma.pusheventapp%3d%22emn.ua%22>");
	assert_int_equal(referto_decode(&rt, &h), 0);
	assert_string_equal(rt.event, "ua-profile;profile-type=oma-app");
	assert_int_equal(referto_push_check(&rt), 0);

	/* plain URI: no method means INVITE, not a push trigger */
	h = (struct pl)PL_STR("sip:psa@op.example");
	assert_int_equal(referto_decode(&rt, &h), 0);
	assert_int_equal(rt.method.l, 0);
	assert_int_equal(referto_push_check(&rt), 603);
}


static void test_push_check_codes(void **state)
{
	static const struct {
		const char *h;
		uint16_t scode;
	} cases[] = {
		{"<sip:p@x;method=INVITE>", 603},
		{"<sip:p@x;method=subscribe?Event=ua-profile%3Bprofile-type%3Doma-app>", 603},
		{"<sip:p@x;method=SUBSCRIBE>", 489},
		{"<sip:p@x;method=SUBSCRIBE?Event=presence>", 489},
		{"<sip:p@x;method=SUBSCRIBE?Event=ua-profile%3Bprofile-type%3Ddevice>", 489},
		{"<sip:p@x;method=SUBSCRIBE?Event=ua-profile%3Bprofile-type>", 400},
		{"<sip:p@x;method=SUBSCRIBE?Event=ua-profile%3Bprofile-type%3Doma-app&Accept-Contact=bad>", 400},
		{"<sip:p@x;method=SUBSCRIBE?Event=ua-profile%3Bprofile-type%3Doma-app>", 0},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct referto rt;
		struct pl h;

		pl_set_str(&h, cases[i].h);
		assert_int_equal(referto_decode(&rt, &h), 0);
		if (referto_push_check(&rt) != cases[i].scode)
			fail_msg("%s: %u, want %u", cases[i].h,
				 referto_push_check(&rt), cases[i].scode);
	}
}


static void test_decode_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"<sip:p@x;method=SUBSCRIBE?Event=ua-profile%3",      /* no > */
		"<sip:p@x;method=SUBSCRIBE?Event=ua%2",
		"<sip:p@x;method=SUBSCRIBE?Event=ua%zzx>",
		"<sip:p@x;method=SUBSCRIBE?Event=a%0D%0AVia:%20x>",  /* CRLF */
		"<sip:p@x;method=SUBSCRIBE?Event=a%00>",
		"<sip:p@x;method=SUBSCRIBE?Event=a&Event=b>",
		"<sip:p@x;method=SUBSCRIBE?Event>",
		"<sip:p@x;method=SUBSCRIBE?&&>",
		"<sip:p@x;method=\"x>",
		"<:::>",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct referto rt;
		struct pl h;

		pl_set_str(&h, bad[i]);
		if (referto_decode(&rt, &h) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	}
}


static void test_pct_decode_bounds(void **state)
{
	char small[4];
	struct pl src = PL_STR("abcd");
	(void)state;

	assert_int_equal(pct_decode(small, sizeof(small), &src), EOVERFLOW);
	src = (struct pl)PL_STR("a%41c");
	assert_int_equal(pct_decode(small, sizeof(small), &src), 0);
	assert_string_equal(small, "aAc");
	src = (struct pl)PL_STR("%4");
	assert_int_equal(pct_decode(small, sizeof(small), &src), EBADMSG);
}


static void test_print_refuses(void **state)
{
	const struct referto_spec bad = {"sip:a@b?x=y", "mms.ua", NULL};
	char buf[128];
	(void)state;

	assert_true(re_snprintf(buf, sizeof(buf), "%H", referto_print,
				&bad) < 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_variants),
		cmocka_unit_test(test_push_check_codes),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_pct_decode_bounds),
		cmocka_unit_test(test_print_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
