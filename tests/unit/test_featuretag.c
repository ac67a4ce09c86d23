/**
 * @file test_featuretag.c  Feature tags, Contact parameters, Accept-Contact
 */
#include "testutil.h"
#include "core/param.h"
#include "core/featuretag.h"


static void test_param_tokenizer(void **state)
{
	struct pl rest = PL_STR(" ;a=1 ; b = \"x;y\\\"z\";flag;c=[::1]");
	struct pl n, v;
	bool q;
	(void)state;

	assert_int_equal(param_next(&rest, &n, &v, &q), 0);
	assert_pl_equal(n, "a");
	assert_pl_equal(v, "1");
	assert_false(q);
	assert_int_equal(param_next(&rest, &n, &v, &q), 0);
	assert_pl_equal(n, "b");
	assert_pl_equal(v, "x;y\\\"z");
	assert_true(q);
	assert_int_equal(param_next(&rest, &n, &v, &q), 0);
	assert_pl_equal(n, "flag");
	assert_int_equal(v.l, 0);
	assert_int_equal(param_next(&rest, &n, &v, &q), 0);
	assert_pl_equal(v, "[::1]");
	assert_int_equal(param_next(&rest, &n, &v, &q), ENOENT);
}


static void test_param_malformed(void **state)
{
	static const char *bad[] = {
		";a=\"unterminated", ";=1", ";a=", "junk", ";a=1 b",
		";a=\"x\"y", "; ;", ";a=<x>",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct pl rest, n, v;
		int err;

		pl_set_str(&rest, bad[i]);
		while (0 == (err = param_next(&rest, &n, &v, NULL)))
			;
		assert_int_equal(err, EBADMSG);
	}
}


static void test_list_next(void **state)
{
	struct pl rest = PL_STR("a, \"b,c\" ,<d,e>,f");
	struct pl it;
	(void)state;

	assert_int_equal(list_next(&rest, ',', &it), 0);
	assert_pl_equal(it, "a");
	assert_int_equal(list_next(&rest, ',', &it), 0);
	assert_pl_equal(it, "\"b,c\"");
	assert_int_equal(list_next(&rest, ',', &it), 0);
	assert_pl_equal(it, "<d,e>");
	assert_int_equal(list_next(&rest, ',', &it), 0);
	assert_pl_equal(it, "f");
	assert_int_equal(list_next(&rest, ',', &it), ENOENT);

	rest = PL_STR("a,,b");
	assert_int_equal(list_next(&rest, ',', &it), 0);
	assert_int_equal(list_next(&rest, ',', &it), EBADMSG);
	rest = PL_STR("a,");
	assert_int_equal(list_next(&rest, ',', &it), EBADMSG);
	rest = PL_STR("<a,b");
	assert_int_equal(list_next(&rest, ',', &it), EBADMSG);
}


static void test_u32_strict(void **state)
{
	uint32_t v;
	uint64_t w;
	(void)state;

	assert_int_equal(pl_u32_strict(&PL_STR("3600"), &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(pl_u32_strict(&PL_STR("4294967295"), &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(pl_u32_strict(&PL_STR("4294967296"), &v), ERANGE);
	assert_int_equal(pl_u64_strict(&PL_STR("18446744073709551616"), &w),
			 ERANGE);
	assert_int_equal(pl_u32_strict(&PL_STR("-1"), &v), EBADMSG);
	assert_int_equal(pl_u32_strict(&PL_STR("12a"), &v), EBADMSG);
	assert_int_equal(pl_u32_strict(&PL_STR(""), &v), EBADMSG);
}


static void test_contact_decode(void **state)
{
	struct pl h = PL_STR("<sip:alice@192.0.2.4:5062;transport=tcp>"
		";+g.oma.pusheventapp=\"mms.ua,syncml.dm\""
		";methods=\"MESSAGE,OPTIONS\""
		";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\""
		";reg-id=1;expires=3600"
		";pub-gruu=\"sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\""
		";temp-gruu=\"sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr\""
		";q=0.5");
	struct contact_feat cf;
	(void)state;

	assert_int_equal(contact_feat_decode(&cf, &h), 0);
	assert_pl_equal(cf.uri, "sip:alice@192.0.2.4:5062;transport=tcp");
	assert_pl_equal(cf.instance,
			"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
	assert_pl_equal(cf.apps, "mms.ua,syncml.dm");
	assert_pl_equal(cf.methods, "MESSAGE,OPTIONS");
	assert_true(cf.has_reg_id);
	assert_int_equal(cf.reg_id, 1);
	assert_true(cf.has_expires);
	assert_int_equal(cf.expires, 3600);
	assert_pl_equal(cf.pub_gruu, "sip:alice@example.com;gr=urn:uuid:"
			"f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
	assert_true(cf.temp_gruu.l > 0);
	assert_int_equal(cf.tags.n, 3);   /* apps, methods, instance */
	assert_true(ftag_value_has(&cf.apps, "SYNCML.DM"));
	assert_false(ftag_value_has(&cf.apps, "emn.ua"));
	assert_true(ftag_value_has(&cf.methods, "message"));
	assert_non_null(ftag_find(&cf.tags, "sip.instance"));
	assert_non_null(ftag_find(&cf.tags, "+g.oma.pusheventapp"));
	assert_null(ftag_find(&cf.tags, "+g.3gpp.icsi-ref"));
}


static void test_contact_plain(void **state)
{
	struct pl h = PL_STR("sip:bob@198.51.100.7");
	struct contact_feat cf;
	(void)state;

	assert_int_equal(contact_feat_decode(&cf, &h), 0);
	assert_pl_equal(cf.uri, "sip:bob@198.51.100.7");
	assert_false(cf.has_expires);
	assert_int_equal(cf.tags.n, 0);
	assert_int_equal(cf.instance.l, 0);
}


static void test_contact_malformed(void **state)
{
	static const char *bad[] = {
		"<sip:a@b>;expires=abc",
		"<sip:a@b>;expires=4294967296",
		"<sip:a@b>;expires=-5",
		"<sip:a@b>;reg-id=0",
		"<sip:a@b>;+sip.instance=urn:uuid:1",        /* not quoted */
		"<sip:a@b>;+sip.instance=\"urn:uuid:1\"",    /* no <> */
		"<sip:a@b>;+sip.instance=\"<>\"",
		"<sip:a@b>;+g.oma.pusheventapp=\"\"",
		"<sip:a@b>;+g.oma.pusheventapp=\"mms.ua",
		"<sip:a@b>;methods=\"\"",
		"<sip:a@b>;pub-gruu=\"\"",
		"<sip:a@b",
		"",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct contact_feat cf;
		struct pl h;

		pl_set_str(&h, bad[i]);
		if (contact_feat_decode(&cf, &h) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
}


static void test_contact_print_roundtrip(void **state)
{
	const struct contact_spec cs = {
		.uri = "sip:alice@127.0.0.1:5062",
		.instance = "urn:uuid:00000000-0000-4000-8000-000000000001",
		.apps = "mms.ua,syncml.dm",
		.methods = "MESSAGE,OPTIONS",
		.reg_id = 1,
		.expires = 600,
	};
	struct contact_feat cf;
	char buf[512];
	struct pl h;
	(void)state;

	PRINT(buf, "%H", contact_spec_print, &cs);
	assert_string_equal(buf, "<sip:alice@127.0.0.1:5062>"
		";+g.oma.pusheventapp=\"mms.ua,syncml.dm\""
		";methods=\"MESSAGE,OPTIONS\""
		";+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-000000000001>\""
		";reg-id=1;expires=600");

	pl_set_str(&h, buf);
	assert_int_equal(contact_feat_decode(&cf, &h), 0);
	assert_pl_equal(cf.instance, cs.instance);
	assert_pl_equal(cf.apps, cs.apps);
	assert_int_equal(cf.expires, 600);
}


static void test_ac_print(void **state)
{
	char buf[256];
	struct ac_pred p[2];
	size_t n = 0;
	struct pl h;
	const struct ac_spec a1 = {"mms.ua", NULL, true, true};
	const struct ac_spec a2 = {"x-wap-application:mms.ua", "NOTIFY",
				   false, false};
	(void)state;

	PRINT(buf, "%H", ac_print, &a1);
	assert_string_equal(buf,
			    "*;+g.oma.pusheventapp=\"mms.ua\";require;explicit");

	/* a URN is not a token: string form */
	PRINT(buf, "%H", ac_print, &a2);
	assert_string_equal(buf, "*;+g.oma.pusheventapp="
			    "\"<x-wap-application:mms.ua>\";methods=\"NOTIFY\"");

	pl_set_str(&h, buf);
	assert_int_equal(ac_decode(p, 2, &n, &h), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].tags.n, 2);
	assert_false(p[0].require);
}


/* One terminal of an AoR named as a caller preference (RFC 3841) */
static void test_ac_instance(void **state)
{
	char buf[256];
	struct ac_pred p[2];
	size_t n = 0;
	struct pl h;
	const struct ac_spec a = {.app = "mms.ua", .require = true,
		.explicit_ = true, .instance = "urn:uuid:0001"};
	(void)state;

	PRINT(buf, "%H", ac_print, &a);
	assert_string_equal(buf, "*;+g.oma.pusheventapp=\"mms.ua\";"
			    "+sip.instance=\"<urn:uuid:0001>\";require;explicit");

	/* both features in one predicate: the contact must have both */
	pl_set_str(&h, buf);
	assert_int_equal(ac_decode(p, 2, &n, &h), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].tags.n, 2);
	assert_true(p[0].require);
	assert_true(p[0].explicit_);
}


static void test_ac_decode(void **state)
{
	struct pl h1 = PL_STR("*;+g.oma.pusheventapp=\"mms.ua\";require;explicit,"
			      " *;audio;methods=\"INVITE\"");
	struct pl h2 = PL_STR("*;mobility=\"mobile\";q=0.3");
	struct ac_pred p[AC_MAX];
	size_t n = 0;
	(void)state;

	assert_int_equal(ac_decode(p, AC_MAX, &n, &h1), 0);
	assert_int_equal(ac_decode(p, AC_MAX, &n, &h2), 0);
	assert_int_equal(n, 3);
	assert_true(p[0].require);
	assert_true(p[0].explicit_);
	assert_int_equal(p[0].tags.n, 1);
	assert_false(p[1].require);
	assert_int_equal(p[1].tags.n, 2);
	assert_int_equal(p[2].tags.n, 1);   /* q is not a feature tag */
}


static void test_ac_malformed(void **state)
{
	static const char *bad[] = {
		"sip:a@b;audio",                      /* not "*" */
		"*;audio;audio",                      /* tag twice */
		"*;require;require",
		"*;require=yes",
		"*;methods=\"INVITE",
		"*;audio,",
		"*;+g.oma.pusheventapp=",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ac_pred p[AC_MAX];
		size_t n = 0;
		struct pl h;

		pl_set_str(&h, bad[i]);
		if (ac_decode(p, AC_MAX, &n, &h) == 0)
			fail_msg("accepted: %s", bad[i]);
	}

	{
		struct ac_pred p[1];
		size_t n = 0;
		struct pl h = PL_STR("*;audio,*;video");

		assert_int_equal(ac_decode(p, 1, &n, &h), EOVERFLOW);
	}
}


/* RFC 3841 matching table: Accept-Contact(s), contact params, expectation */
struct match_case {
	const char *ac;
	const char *contact;
	bool keep;
	double score;
};

static const struct match_case cases[] = {
	/* 1-4: require+explicit, the SIP Push default */
	{"*;+g.oma.pusheventapp=\"mms.ua\";require;explicit",
	 ";+g.oma.pusheventapp=\"mms.ua\"", true, 1.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require;explicit",
	 ";+g.oma.pusheventapp=\"syncml.dm\"", false, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require;explicit",
	 "", false, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require;explicit",
	 ";+g.oma.pusheventapp=\"syncml.dm,MMS.UA\"", true, 1.0},
	/* 5-7: require only: an undeclared tag matches implicitly */
	{"*;+g.oma.pusheventapp=\"mms.ua\";require", "", true, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require",
	 ";+g.oma.pusheventapp=\"emn.ua\"", false, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require",
	 ";+g.oma.pusheventapp=\"mms.ua\"", true, 1.0},
	/* 8-9: explicit only: kept, but scored 0 unless declared */
	{"*;+g.oma.pusheventapp=\"mms.ua\";explicit", "", true, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";explicit",
	 ";+g.oma.pusheventapp=\"mms.ua\"", true, 1.0},
	/* 10-11: neither */
	{"*;+g.oma.pusheventapp=\"mms.ua\"",
	 ";+g.oma.pusheventapp=\"emn.ua\"", true, 0.0},
	{"*;+g.oma.pusheventapp=\"mms.ua\";methods=\"MESSAGE\"",
	 ";+g.oma.pusheventapp=\"mms.ua\"", true, 0.5},
	/* 12-14: methods lists */
	{"*;methods=\"INVITE,MESSAGE\";require",
	 ";methods=\"MESSAGE,OPTIONS\"", true, 1.0},
	{"*;methods=\"NOTIFY\";require",
	 ";methods=\"MESSAGE,OPTIONS\"", false, 0.0},
	{"*;methods=\"NOTIFY\";require;explicit",
	 ";+g.oma.pusheventapp=\"mms.ua\"", false, 0.0},
	/* 15-17: negation */
	{"*;+g.oma.pusheventapp=\"!mms.ua\";require",
	 ";+g.oma.pusheventapp=\"emn.ua\"", true, 1.0},
	{"*;+g.oma.pusheventapp=\"!mms.ua\";require",
	 ";+g.oma.pusheventapp=\"mms.ua\"", false, 0.0},
	{"*;mobility=\"mobile\";require", ";mobility=\"!fixed\"", true, 1.0},
	/* 18-19: string values are exact and case-sensitive */
	{"*;+sip.instance=\"<urn:uuid:ABC>\";require;explicit",
	 ";+sip.instance=\"<urn:uuid:ABC>\"", true, 1.0},
	{"*;+sip.instance=\"<urn:uuid:ABC>\";require;explicit",
	 ";+sip.instance=\"<urn:uuid:abc>\"", false, 0.0},
	/* 20-21: boolean tags */
	{"*;audio;require", ";audio", true, 1.0},
	{"*;audio;require", ";audio=\"FALSE\"", false, 0.0},
	{"*;audio=\"FALSE\";require", ";audio=\"FALSE\"", true, 1.0},
	/* 23-24: numeric */
	{"*;+x.n=\"#>=3\";require", ";+x.n=\"#=5\"", true, 1.0},
	{"*;+x.n=\"#<=2\";require", ";+x.n=\"#3:9\"", false, 0.0},
	/* 25-26: several Accept-Contact values: mean of scores */
	{"*;+g.oma.pusheventapp=\"mms.ua\", *;methods=\"INVITE\"",
	 ";+g.oma.pusheventapp=\"mms.ua\";methods=\"MESSAGE\"", true, 0.5},
	{"*;+g.oma.pusheventapp=\"mms.ua\";require, *;methods=\"INVITE\";require",
	 ";+g.oma.pusheventapp=\"mms.ua\";methods=\"MESSAGE\"", false, 0.5},
	/* 27: the ARI as a string value "<urn>" is not the token mms.ua */
	{"*;+g.oma.pusheventapp=\"<x-wap-application:mms.ua>\";require",
	 ";+g.oma.pusheventapp=\"<x-wap-application:mms.ua>\"", true, 1.0},
	{"*;+g.oma.pusheventapp=\"<x-wap-application:mms.ua>\";require",
	 ";+g.oma.pusheventapp=\"mms.ua\"", false, 0.0},
	/* 29: no Accept-Contact: everything matches */
	{NULL, ";+g.oma.pusheventapp=\"mms.ua\"", true, 1.0},
};


static void test_ac_match_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct match_case *mc = &cases[i];
		struct ac_pred p[AC_MAX];
		struct contact_feat cf;
		struct ac_result res;
		char contact[256];
		size_t n = 0;
		struct pl h;

		if (mc->ac) {
			pl_set_str(&h, mc->ac);
			assert_int_equal(ac_decode(p, AC_MAX, &n, &h), 0);
		}

		re_snprintf(contact, sizeof(contact), "<sip:t@127.0.0.1>%s",
			    mc->contact);
		pl_set_str(&h, contact);
		assert_int_equal(contact_feat_decode(&cf, &h), 0);

		ac_match(&res, p, n, &cf.tags);
		if (res.keep != mc->keep)
			fail_msg("case %zu: keep %d, want %d", i + 1,
				 res.keep, mc->keep);
		if (mc->keep && (res.score < mc->score - 1e-9 ||
				 res.score > mc->score + 1e-9))
			fail_msg("case %zu: score %f, want %f", i + 1,
				 res.score, mc->score);
	}

	assert_true(ARRAY_SIZE(cases) >= 20);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_param_tokenizer),
		cmocka_unit_test(test_param_malformed),
		cmocka_unit_test(test_list_next),
		cmocka_unit_test(test_u32_strict),
		cmocka_unit_test(test_contact_decode),
		cmocka_unit_test(test_contact_plain),
		cmocka_unit_test(test_contact_malformed),
		cmocka_unit_test(test_contact_print_roundtrip),
		cmocka_unit_test(test_ac_print),
		cmocka_unit_test(test_ac_instance),
		cmocka_unit_test(test_ac_decode),
		cmocka_unit_test(test_ac_malformed),
		cmocka_unit_test(test_ac_match_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
