/**
 * @file test_initiator.c  Named initiators: configuration lines, Bearer and
 *                         Basic credentials, applications, rate
 */
#include "testutil.h"
#include "core/initiator.h"


static void test_decode(void **state)
{
	struct initiator in;
	static const char *bad[] = {
		"", "token=x", "n", "n token=", "n user=u", "n pass=p token=t",
		"n token=t rate=x", "n token=t what=1", "n token=t identity=x y",
		"n token=\"q\"", "n=1 token=t",
	};
	(void)state;

	assert_int_equal(initiator_decode(&in, "mmsc token=tok1 apps=mms.ua,"
					  "syncml.dm rate=5 identity=sip:mmsc@"
					  "op.example trusted"), 0);
	assert_string_equal(in.name, "mmsc");
	assert_string_equal(in.token, "tok1");
	assert_string_equal(in.apps, "mms.ua,syncml.dm");
	assert_int_equal(in.rate, 5);
	assert_string_equal(in.identity, "sip:mmsc@op.example");
	assert_true(in.trusted);
	assert_false(in.admin);
	assert_int_equal(initiator_decode(&in, "dm user=dm pass=s3cret"), 0);
	assert_false(in.trusted);

	/* admin: may administer; secrets from files (read by the program) */
	assert_int_equal(initiator_decode(&in, "ops token-file=/etc/t admin"),
			 0);
	assert_true(in.admin);
	assert_true(in.token_file);
	assert_false(in.pass_file);
	assert_string_equal(in.token, "/etc/t");
	assert_int_equal(initiator_decode(&in, "pi user=pi pass-file=/p"), 0);
	assert_true(in.pass_file);
	assert_string_equal(in.pass, "/p");
	assert_int_equal(initiator_decode(&in, "pi user=pi pass-file="),
			 EINVAL);
	assert_int_equal(initiator_decode(&in, "pi token-env=PI_TOKEN "
					  "user=pi pass-env=PI_PASS"), 0);
	assert_true(in.token_env);
	assert_true(in.pass_env);
	assert_false(in.token_file);
	assert_string_equal(in.token, "PI_TOKEN");
	assert_string_equal(in.pass, "PI_PASS");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(initiator_decode(&in, bad[i]), EINVAL);
}


static void test_auth(void **state)
{
	struct initiator v[2];
	(void)state;

	assert_int_equal(initiator_decode(&v[0], "a token=tok1"), 0);
	assert_int_equal(initiator_decode(&v[1], "b user=dm pass=s3cret"), 0);
	assert_ptr_equal(initiator_auth(v, 2, "Bearer tok1"), &v[0]);
	assert_null(initiator_auth(v, 2, "Bearer tok"));
	assert_null(initiator_auth(v, 2, "Bearer tok12"));
	assert_null(initiator_auth(v, 2, "Bearer "));
	/* dm:s3cret */
	assert_ptr_equal(initiator_auth(v, 2, "Basic ZG06czNjcmV0"), &v[1]);
	/* dm:wrong */
	assert_null(initiator_auth(v, 2, "Basic ZG06d3Jvbmc="));
	assert_null(initiator_auth(v, 2, "Basic !!!"));
	assert_null(initiator_auth(v, 2, "Digest x"));
}


static void test_apps_rate(void **state)
{
	struct initiator in;
	(void)state;

	assert_int_equal(initiator_decode(&in, "a token=t apps=mms.ua "
					  "rate=2"), 0);
	assert_true(initiator_app_ok(&in, "mms.ua"));
	assert_true(initiator_app_ok(&in, "x-wap-application:mms.ua"));
	assert_false(initiator_app_ok(&in, "syncml.dm"));

	assert_true(initiator_take(&in, 1000, 1));
	assert_true(initiator_take(&in, 1000, 1));
	assert_false(initiator_take(&in, 1000, 1));   /* burst = rate */
	assert_true(initiator_take(&in, 1500, 1));    /* half a second */
	assert_false(initiator_take(&in, 1500, 1));
	assert_false(initiator_take(&in, 3000, 3));   /* never above 2 */
	assert_true(initiator_take(&in, 3000, 2));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_apps_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
