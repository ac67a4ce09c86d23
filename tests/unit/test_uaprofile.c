/**
 * @file test_uaprofile.c  The ua-profile Event header
 */
#include "testutil.h"
#include "core/uaprofile.h"


static void test_decode_full(void **state)
{
	struct pl h = PL_STR("ua-profile;profile-type=oma-app;"
			     "event-app-id=\"mms.ua\";vendor=\"vendor.example\";"
			     "model=\"X100\";version=\"2.1\";"
			     "dev-cap=\"http://uaprof.vendor.example/X100.rdf\"");
	struct uaprof_event ev;
	(void)state;

	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_pl_equal(ev.package, "ua-profile");
	assert_pl_equal(ev.profile_type, "oma-app");
	assert_pl_equal(ev.app_ids, "mms.ua");
	assert_pl_equal(ev.vendor, "vendor.example");
	assert_pl_equal(ev.model, "X100");
	assert_pl_equal(ev.version, "2.1");
	assert_pl_equal(ev.dev_cap, "http://uaprof.vendor.example/X100.rdf");
	assert_true(uaprof_is_oma_app(&ev));
	assert_int_equal(uaprof_check_caps(&ev), 0);
}


static void test_decode_forms(void **state)
{
	struct uaprof_event ev;
	struct pl h;
	(void)state;

	/* quoted profile-type, token event-app-id, quoted list */
	h = (struct pl)PL_STR("ua-profile ; profile-type=\"oma-app\" ;"
			      "event-app-id=\"x-wap-application:mms.ua,syncml.dm\";"
			      "dev-cap=\"http://x/y.rdf\";id=7");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_true(uaprof_is_oma_app(&ev));
	assert_pl_equal(ev.app_ids, "x-wap-application:mms.ua,syncml.dm");
	assert_pl_equal(ev.id, "7");

	h = (struct pl)PL_STR("ua-profile;profile-type=oma-app;event-app-id=ulp.ua");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_pl_equal(ev.app_ids, "ulp.ua");
	assert_int_equal(uaprof_check_caps(&ev), EPROTO);

	/* NOTIFY form */
	h = (struct pl)PL_STR("ua-profile;effective-by=3600");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_true(ev.has_effective_by);
	assert_int_equal(ev.effective_by, 3600);
	assert_false(uaprof_is_oma_app(&ev));

	/* other packages decode too; the caller decides */
	h = (struct pl)PL_STR("presence");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_pl_equal(ev.package, "presence");
	assert_false(uaprof_is_oma_app(&ev));

	h = (struct pl)PL_STR("ua-profile;profile-type=device;vendor=\"v\";"
			      "model=\"m\";version=\"1\"");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_false(uaprof_is_oma_app(&ev));
	assert_int_equal(uaprof_check_caps(&ev), 0);
}


static void test_caps_rule(void **state)
{
	struct uaprof_event ev;
	struct pl h;
	(void)state;

	h = (struct pl)PL_STR("ua-profile;profile-type=oma-app;event-app-id=a.b;"
			      "vendor=\"v\";model=\"m\"");
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_int_equal(uaprof_check_caps(&ev), EPROTO);  /* no version */
}


static void test_decode_malformed(void **state)
{
	static const char *bad[] = {
		"",
		";profile-type=oma-app",
		"ua-profile;profile-type",
		"ua-profile;profile-type=oma-app;profile-type=device",
		"ua-profile;vendor=\"unterminated",
		"ua-profile;effective-by=soon",
		"ua-profile;effective-by=99999999999",
		"ua-profile;event-app-id=\"mms.ua,\"",
		"ua-profile;event-app-id=\"bad app\"",
		"ua-profile;event-app-id=\"\"",
		"ua-profile garbage",
		"ua-profile;;",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct uaprof_event ev;
		struct pl h;

		pl_set_str(&h, bad[i]);
		if (uaprof_event_decode(&ev, &h) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	}
}


static void test_print_roundtrip(void **state)
{
	const struct uaprof_spec us = {
		.app_id = "mms.ua", .vendor = "sippush.example",
		.model = "agent", .version = "0.1",
		.dev_cap = "http://uaprof.example/agent.rdf",
	};
	struct uaprof_event ev;
	char buf[512];
	struct pl h;
	(void)state;

	PRINT(buf, "%H", uaprof_event_print, &us);
	assert_string_equal(buf, "ua-profile;profile-type=oma-app;"
			    "event-app-id=\"mms.ua\";vendor=\"sippush.example\";"
			    "model=\"agent\";version=\"0.1\";"
			    "dev-cap=\"http://uaprof.example/agent.rdf\"");

	pl_set_str(&h, buf);
	assert_int_equal(uaprof_event_decode(&ev, &h), 0);
	assert_true(uaprof_is_oma_app(&ev));
	assert_pl_equal(ev.model, "agent");
	assert_int_equal(uaprof_check_caps(&ev), 0);
}


static void test_print_refuses(void **state)
{
	const struct uaprof_spec nocaps = {.app_id = "mms.ua", .vendor = "v"};
	const struct uaprof_spec quote = {.app_id = "mms.ua",
					  .dev_cap = "http://x/\"y"};
	char buf[256];
	(void)state;

	assert_true(re_snprintf(buf, sizeof(buf), "%H", uaprof_event_print,
				&nocaps) < 0);
	assert_true(re_snprintf(buf, sizeof(buf), "%H", uaprof_event_print,
				&quote) < 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_full),
		cmocka_unit_test(test_decode_forms),
		cmocka_unit_test(test_caps_rule),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_print_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
