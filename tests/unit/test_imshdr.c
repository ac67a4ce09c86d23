/**
 * @file test_imshdr.c  IMS headers sippushd originates (imshdr.c)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>
#include "core/imshdr.h"
#include "testutil.h"


static void test_print(void **state)
{
	char buf[512];
	struct ims_hdrs h = {0};
	(void)state;

	assert_int_equal(re_snprintf(buf, sizeof(buf), "%H", ims_hdrs_print,
				     &h), 0);
	assert_string_equal(buf, "");

	h.icid = "0123456789abcdef.00c0ffee";
	PRINT(buf, "%H", ims_hdrs_print, &h);
	assert_string_equal(buf, "P-Charging-Vector: "
			    "icid-value=0123456789abcdef.00c0ffee\r\n");

	h.orig_ioi = "op.example";
	h.service = "urn:urn-7:3gpp-service.ims.icsi.oma.push";
	h.privacy = "id";
	PRINT(buf, "%H", ims_hdrs_print, &h);
	assert_string_equal(buf, "P-Charging-Vector: icid-value="
			    "0123456789abcdef.00c0ffee;orig-ioi=op.example\r\n"
			    "P-Asserted-Service: urn:urn-7:3gpp-service.ims."
			    "icsi.oma.push\r\nPrivacy: id\r\n");

	/* orig-ioi belongs to the vector: none without an icid */
	h.icid = NULL;
	PRINT(buf, "%H", ims_hdrs_print, &h);
	assert_string_equal(buf, "P-Asserted-Service: urn:urn-7:3gpp-"
			    "service.ims.icsi.oma.push\r\nPrivacy: id\r\n");
}


static void test_privacy(void **state)
{
	(void)state;

	assert_true(ims_privacy_valid("id"));
	assert_true(ims_privacy_valid("none"));
	assert_true(ims_privacy_valid("header;id"));
	assert_true(ims_privacy_valid("user;session;critical"));
	assert_false(ims_privacy_valid(NULL));
	assert_false(ims_privacy_valid(""));
	assert_false(ims_privacy_valid("ID"));          /* case matters */
	assert_false(ims_privacy_valid("id;"));
	assert_false(ims_privacy_valid(";id"));
	assert_false(ims_privacy_valid("id;;user"));
	assert_false(ims_privacy_valid("id\r\nX-Evil: 1"));
	assert_false(ims_privacy_valid("secret"));
}


static void test_tokens(void **state)
{
	struct pl v;
	char big[300];
	(void)state;

	assert_true(ims_token_valid("op.example"));
	assert_true(ims_token_valid("ioi-1_x"));
	assert_false(ims_token_valid(""));
	assert_false(ims_token_valid(NULL));
	assert_false(ims_token_valid("a b"));
	assert_false(ims_token_valid("a;b"));
	assert_false(ims_token_valid("a\"b"));
	memset(big, 'a', 65);
	big[65] = '\0';
	assert_false(ims_token_valid(big));
	big[64] = '\0';
	assert_true(ims_token_valid(big));

	pl_set_str(&v, "icid-value=\"AyretyU0dm+6O2IrT5tAFrbHLso=\";"
		   "orig-ioi=home1.net");
	assert_true(ims_printable(&v));
	pl_set_str(&v, "icid-value=1\r\nX: y");
	assert_false(ims_printable(&v));
	memset(big, 'a', 256);
	v.p = big;
	v.l = 256;
	assert_false(ims_printable(&v));
	v.l = 255;
	assert_true(ims_printable(&v));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_privacy),
		cmocka_unit_test(test_tokens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
