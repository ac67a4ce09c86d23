/**
 * @file test_jsonw.c  The JSON writer prints what jansson's json_dumps
 *                     (JSON_COMPACT | JSON_PRESERVE_ORDER) prints for the
 *                     same members, escapes included, and refuses what
 *                     json_pack refuses (a string that is not UTF-8)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "core/jsonw.h"


static const char *strs[] = {
	"", "plain", "sip:alice@example.com;gr=urn:uuid:1234", "a/b",
	"quote \" and backslash \\", "\b\f\n\r\t", "\x01\x1f\x7f",
	"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "<urn:uuid:x>",
};


/* One object of every string, as jansson and as jsonw print it */
static void test_as_jansson(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		json_t *j = json_object();
		char buf[512], *want;
		struct jsonw w;

		json_object_set_new(j, "key", json_string(strs[i]));
		json_object_set_new(j, "n", json_integer(-1234567890123LL));
		json_object_set_new(j, "k2", json_string(strs[i]));
		json_object_set_new(j, "zero", json_integer(0));
		want = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		jsonw_begin(&w, buf, sizeof(buf));
		jsonw_str(&w, "key", strs[i]);
		jsonw_int(&w, "n", -1234567890123LL);
		jsonw_str(&w, "absent", NULL);
		jsonw_str(&w, "k2", strs[i]);
		jsonw_int(&w, "zero", 0);
		assert_int_equal(jsonw_end(&w), 0);
		assert_string_equal(buf, want);
		assert_int_equal(w.len, strlen(want));
		free(want);
		json_decref(j);
	}
}


/* Not UTF-8 (a lone continuation byte, an overlong form, a surrogate,
 * a cut sequence, above U+10FFFF): no line, as json_pack makes none */
static void test_not_utf8(void **state)
{
	static const char *bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80",
				    "ab\xe2\x82", "\xf4\x90\x80\x80"};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[64];
		struct jsonw w;

		assert_null(json_pack("{s:s}", "k", bad[i]));
		jsonw_begin(&w, buf, sizeof(buf));
		jsonw_str(&w, "k", bad[i]);
		assert_int_equal(jsonw_end(&w), EILSEQ);
	}
}


/* Too long for the buffer: an error, never a cut line */
static void test_too_long(void **state)
{
	char buf[16];
	struct jsonw w;
	(void)state;

	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "k", "0123456789");
	assert_int_equal(jsonw_end(&w), ENOSPC);

	/* exactly full: 15 characters and the NUL */
	jsonw_begin(&w, buf, sizeof(buf));
	jsonw_str(&w, "k", "0123456");
	assert_int_equal(jsonw_end(&w), 0);
	assert_string_equal(buf, "{\"k\":\"0123456\"}");

	jsonw_begin(&w, buf, sizeof(buf));
	assert_int_equal(jsonw_end(&w), 0);
	assert_string_equal(buf, "{}");
}


/* A record replayed is the line written directly; a string that is not
 * UTF-8 is refused at the replay; a damaged record is not read */
static void test_record(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		char rec[512], line[512], direct[512];
		struct jsonw w;
		size_t len;

		jsonw_begin_rec(&w, rec, sizeof(rec));
		jsonw_str(&w, "key", strs[i]);
		jsonw_int(&w, "n", INT64_MIN);
		jsonw_str(&w, "absent", NULL);
		jsonw_int(&w, "zero", 0);
		assert_int_equal(jsonw_end(&w), 0);
		len = w.len;

		jsonw_begin(&w, line, sizeof(line));
		assert_int_equal(jsonw_replay(&w, rec, len), 0);

		jsonw_begin(&w, direct, sizeof(direct));
		jsonw_str(&w, "key", strs[i]);
		jsonw_int(&w, "n", INT64_MIN);
		jsonw_int(&w, "zero", 0);
		assert_int_equal(jsonw_end(&w), 0);
		assert_string_equal(line, direct);
	}

	/* a long string (past the replay's stack copy), then not UTF-8 */
	{
		char big[1000], rec[1200], line[1200];
		struct jsonw w;
		size_t len;

		memset(big, 'y', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		jsonw_begin_rec(&w, rec, sizeof(rec));
		jsonw_str(&w, "big", big);
		assert_int_equal(jsonw_end(&w), 0);
		len = w.len;
		jsonw_begin(&w, line, sizeof(line));
		assert_int_equal(jsonw_replay(&w, rec, len), 0);
		assert_int_equal(strlen(line), sizeof(big) - 1 + 10);

		jsonw_begin_rec(&w, rec, sizeof(rec));
		jsonw_str(&w, "k", "ok");
		jsonw_str(&w, "bad", "\xed\xa0\x80");
		assert_int_equal(jsonw_end(&w), 0);
		len = w.len;
		jsonw_begin(&w, line, sizeof(line));
		assert_int_equal(jsonw_replay(&w, rec, len), EILSEQ);

		/* cut anywhere inside its last member: not a record */
		jsonw_begin_rec(&w, rec, sizeof(rec));
		jsonw_str(&w, "k", "ok");
		jsonw_int(&w, "n", 7);
		assert_int_equal(jsonw_end(&w), 0);
		len = w.len;
		for (size_t cut = len - 8 - sizeof(char *); cut < len;
		     cut++) {
			jsonw_begin(&w, line, sizeof(line));
			assert_int_equal(jsonw_replay(&w, rec, cut),
					 cut == len - 8 - sizeof(char *) - 1 ?
					 0 : EBADMSG);
		}
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_jansson),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
