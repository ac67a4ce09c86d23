/**
 * @file test_meta.c  A push's .meta lines: all of them, however long the
 *                    sender made its fields (a fixed 1024-byte buffer
 *                    once came out empty)
 */
#include "testutil.h"
#include <sippush/receiver.h>


static void test_meta_long(void **state)
{
	char app[64], from[256], id[256], fname[256], ctype[160], old[1024];
	struct receiver_push p = {0};
	char *meta = NULL;
	int n;
	(void)state;

	memset(from, 'f', sizeof(from) - 1);
	from[sizeof(from) - 1] = '\0';
	memcpy(from, "sip:", 4);
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	memset(fname, 'n', sizeof(fname) - 1);
	fname[sizeof(fname) - 1] = '\0';
	memset(ctype, 't', sizeof(ctype) - 1);
	ctype[sizeof(ctype) - 1] = '\0';
	/* each at the most the receiver and agent let through */
	memset(app, 'a', sizeof(app) - 1);
	app[sizeof(app) - 1] = '\0';
	p.app = app;
	p.from = from;
	p.ctype = ctype;
	p.method = "INVITE";
	p.push_id = id;
	p.filename = fname;
	p.disposition = "attachment";

	assert_int_equal(re_sdprintf(&meta, "%H", receiver_meta_print, &p),
			 0);
	assert_true(strlen(meta) > 1024);

	/* what the old code did: one re_snprintf into 1024 bytes, -1 when
	 * a %s overflowed (then a 0-byte .meta was written) or cut short */
	n = re_snprintf(old, sizeof(old), "app: %s\nfrom: %s\n"
			"content-type: %s\nmethod: %s\npush-id: %s\n"
			"filename: %s\ndisposition: %s\n", p.app, p.from,
			p.ctype, p.method, p.push_id, p.filename,
			p.disposition);
	assert_true(n < 0 || (size_t)n < strlen(meta));
	assert_non_null(strstr(meta, app));
	assert_non_null(strstr(meta, "method: INVITE\n"));
	assert_non_null(strstr(meta, "disposition: attachment\n"));
	assert_non_null(strstr(meta, fname));
	assert_null(strstr(meta, "error:"));
	mem_deref(meta);

	p.error = "fetch failed";
	p.filename = NULL;
	assert_int_equal(re_sdprintf(&meta, "%H", receiver_meta_print, &p),
			 0);
	assert_non_null(strstr(meta, "\nerror: fetch failed\n"));
	assert_null(strstr(meta, "filename:"));
	mem_deref(meta);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
