/**
 * @file test_appid.c  Application ids: normalising, comparing, OMNA table
 */
#include "testutil.h"
#include "core/appid.h"


static void test_normalize(void **state)
{
	static const char *forms[] = {
		"mms.ua", "MMS.UA", "x-wap-application:mms.ua",
		"X-WAP-Application:mms.ua", "\"mms.ua\"", "\"<mms.ua>\"",
		"\"<x-wap-application:mms.ua>\"", "<x-wap-application:mms.ua>",
		"  mms.ua ",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		struct pl in, id;

		pl_set_str(&in, forms[i]);
		assert_int_equal(appid_normalize(&id, &in), 0);
		if (pl_strcasecmp(&id, "mms.ua"))
			fail_msg("%s did not normalise to mms.ua", forms[i]);
	}
}


static void test_normalize_oma_nid(void **state)
{
	struct pl in = PL_STR("x-oma-application:ulp.ua"), id;
	(void)state;

	assert_int_equal(appid_normalize(&id, &in), 0);
	assert_pl_equal(id, "ulp.ua");

	in = (struct pl)PL_STR("x-oma-application:cpm:ua");
	assert_int_equal(appid_normalize(&id, &in), 0);
	assert_pl_equal(id, "cpm:ua");
}


static void test_normalize_malformed(void **state)
{
	static const char *bad[] = {
		"", "\"\"", "<>", "x-wap-application:", "mms ua", "mms.ua;x",
		"\"<>\"", "a,b", "m\xffs",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pl in, id;

		pl_set_str(&in, bad[i]);
		if (appid_normalize(&id, &in) != EBADMSG)
			fail_msg("accepted: '%s'", bad[i]);
	}
}


static void test_equal_and_lists(void **state)
{
	struct pl a = PL_STR("x-wap-application:syncml.dm");
	struct pl b = PL_STR("SyncML.DM");
	struct pl c = PL_STR("syncml.ds");
	struct pl list = PL_STR("mms.ua, \"x-wap-application:syncml.dm\",emn.ua");
	(void)state;

	assert_true(appid_equal(&a, &b));
	assert_false(appid_equal(&a, &c));
	assert_true(appid_list_has(&list, &b));
	assert_true(appid_list_has(&list, &PL_STR("EMN.UA")));
	assert_false(appid_list_has(&list, &c));
	assert_false(appid_list_has(&PL_STR("mms.ua,,x"), &c));

	/* an application in common (an initiator's scope vs a terminal's) */
	assert_true(appid_lists_meet(&PL_STR("app.b,SyncML.DM"), &list));
	assert_false(appid_lists_meet(&PL_STR("app.b,app.c"), &list));
	assert_false(appid_lists_meet(&PL_STR(""), &list));
	assert_false(appid_lists_meet(NULL, &list));
}


static void test_omna_table(void **state)
{
	const struct appid_info *ai;
	(void)state;

	assert_int_equal(appid_omna_count, 17);

	ai = appid_lookup(&PL_STR("mms.ua"));
	assert_non_null(ai);
	assert_int_equal(ai->code, 0x04);
	assert_string_equal(ai->urn, "x-wap-application:mms.ua");

	ai = appid_lookup(&PL_STR("x-oma-application:ulp.ua"));
	assert_non_null(ai);
	assert_int_equal(ai->code, 0x10);

	ai = appid_lookup(&PL_STR("0x07"));
	assert_non_null(ai);
	assert_string_equal(ai->urn, "x-wap-application:syncml.dm");

	ai = appid_lookup(&PL_STR("9"));
	assert_non_null(ai);
	assert_string_equal(ai->urn, "x-wap-application:emn.ua");

	assert_null(appid_lookup(&PL_STR("crbt.ua")));  /* operator-specific */
	assert_null(appid_lookup(&PL_STR("0x9999")));
	assert_null(appid_lookup(&PL_STR("0xZZ")));
	assert_null(appid_lookup(&PL_STR("")));
}


/* --icsi ICSI=ARI: an ICSI-named subscription and an ARI-addressed push
 * meet on the ARI */
static void test_alias(void **state)
{
	static const struct appid_alias tab[] = {
		{"urn:urn-7:3gpp-service.ims.icsi.oma.push", "mms.ua"},
		{"urn:urn-7:3gpp-service.ims.icsi.mmtel", "x.mmtel"},
	};
	struct pl name, ari;
	(void)state;

	assert_int_equal(appid_alias_decode(&name, &ari, &PL_STR(
		"urn:urn-7:3gpp-service.ims.icsi.oma.push=mms.ua")), 0);
	assert_int_equal(pl_strcmp(&name,
			 "urn:urn-7:3gpp-service.ims.icsi.oma.push"), 0);
	assert_int_equal(pl_strcmp(&ari, "mms.ua"), 0);
	assert_int_equal(appid_alias_decode(&name, &ari, &PL_STR(
		"urn:x=y=x-wap-application:syncml.dm")), EBADMSG);
	assert_int_equal(appid_alias_decode(&name, &ari, &PL_STR(
		"urn:a:b=x-wap-application:syncml.dm")), 0);
	assert_int_equal(pl_strcmp(&ari, "syncml.dm"), 0);
	static const char *const bad[] = {
		"", "=", "mms.ua", "urn:a:b=", "=mms.ua", "urn:a b=mms.ua",
		"urn:a:b=mms ua", "urn:a:b=a:b",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pl in;

		pl_set_str(&in, bad[i]);
		if (appid_alias_decode(&name, &ari, &in) != EBADMSG)
			fail_msg("accepted: '%s'", bad[i]);
	}

	assert_string_equal(appid_alias_ari(tab, ARRAY_SIZE(tab), &PL_STR(
		"URN:urn-7:3gpp-service.ims.icsi.OMA.push")), "mms.ua");
	assert_string_equal(appid_alias_ari(tab, ARRAY_SIZE(tab), &PL_STR(
		"\"<urn:urn-7:3gpp-service.ims.icsi.mmtel>\"")), "x.mmtel");
	assert_null(appid_alias_ari(tab, ARRAY_SIZE(tab), &PL_STR(
		"urn:urn-7:3gpp-service.ims.icsi.other")));
	assert_null(appid_alias_ari(tab, ARRAY_SIZE(tab), &PL_STR("mms.ua")));
	assert_null(appid_alias_ari(NULL, 0, &PL_STR("mms.ua")));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_normalize_oma_nid),
		cmocka_unit_test(test_normalize_malformed),
		cmocka_unit_test(test_equal_and_lists),
		cmocka_unit_test(test_omna_table),
		cmocka_unit_test(test_alias),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
