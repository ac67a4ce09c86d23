/**
 * @file test_extbody.c  Content indirection: message/external-body
 */
#include "testutil.h"
#include "core/extbody.h"
#include "core/outcome.h"


static const uint8_t sha[20] = {
	0x2f, 0xd4, 0xe1, 0xc6, 0x7a, 0x2d, 0x28, 0xfc, 0xed, 0x84,
	0x9e, 0xe1, 0xbb, 0x76, 0xe7, 0x39, 0x1b, 0x93, 0xeb, 0x12,
};

/* Mon, 24 Jun 2030 09:00:00 GMT */
#define T_2030 1908522000ull


static void test_httpdate(void **state)
{
	uint64_t t = T_2030, back = 0;
	char buf[64];
	struct pl pl;
	(void)state;

	PRINT(buf, "%H", httpdate_print, &t);
	assert_string_equal(buf, "Mon, 24 Jun 2030 09:00:00 GMT");
	pl_set_str(&pl, buf);
	assert_int_equal(httpdate_decode(&back, &pl), 0);
	assert_int_equal(back, T_2030);

	t = 0;
	PRINT(buf, "%H", httpdate_print, &t);
	assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");

	t = 951782400;  /* leap day */
	PRINT(buf, "%H", httpdate_print, &t);
	assert_string_equal(buf, "Tue, 29 Feb 2000 00:00:00 GMT");
	pl_set_str(&pl, buf);
	assert_int_equal(httpdate_decode(&back, &pl), 0);
	assert_int_equal(back, 951782400);

	pl = (struct pl)PL_STR("Sun, 06 Nov 1994 08:49:37 GMT");
	assert_int_equal(httpdate_decode(&back, &pl), 0);
	assert_int_equal(back, 784111777);
}


static void test_httpdate_malformed(void **state)
{
	static const char *bad[] = {
		"", "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37 1994", "Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
		"Sun, 0x Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1969 08:49:37 GMT",
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		uint64_t t;
		struct pl pl;

		pl_set_str(&pl, bad[i]);
		if (httpdate_decode(&t, &pl) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	}
}


static void test_build_and_decode(void **state)
{
	const struct extbody_spec es = {
		.url = "https://mmsc.operator.example/m/abc",
		.expiration = T_2030, .size = 48211, .sha1 = sha,
		.ctype = "application/vnd.wap.mms-message",
		.cid = "abc.20300624@mmsc.operator.example",
		.disposition = "render",
	};
	char ct[512], body[512];
	struct extbody eb;
	struct pl c, b;
	(void)state;

	PRINT(ct, "%H", extbody_ctype_print, &es);
	assert_string_equal(ct, "message/external-body; access-type=\"URL\"; "
		"expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; "
		"URL=\"https://mmsc.operator.example/m/abc\"; size=48211; "
		"hash=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");

	PRINT(body, "%H", extbody_entity_print, &es);
	assert_string_equal(body,
		"Content-Type: application/vnd.wap.mms-message\r\n"
		"Content-ID: <abc.20300624@mmsc.operator.example>\r\n"
		"Content-Disposition: render\r\n\r\n");

	pl_set_str(&c, ct);
	pl_set_str(&b, body);
	assert_int_equal(extbody_decode(&eb, &c, &b), 0);
	assert_pl_equal(eb.url, "https://mmsc.operator.example/m/abc");
	assert_int_equal(eb.expiration, T_2030);
	assert_true(eb.has_size);
	assert_int_equal(eb.size, 48211);
	assert_true(eb.has_hash);
	assert_memory_equal(eb.sha1, sha, 20);
	assert_pl_equal(eb.ctype, "application/vnd.wap.mms-message");
	assert_pl_equal(eb.cid, "abc.20300624@mmsc.operator.example");
	assert_pl_equal(eb.disposition, "render");
}


static void test_decode_rfc_example(void **state)
{
	struct pl c = PL_STR("message/external-body; ACCESS-TYPE=\"URL\";\r\n "
			     "expiration=\"Mon, 24 Jun 2002 09:00:00 GMT\";"
			     " URL=\"http://www.example.net/company_picnic/image1.png\"");
	struct pl b = PL_STR("Content-Type: image/png\r\n"
			     "Content-ID: <9535035333@example.net>\r\n"
			     "Content-Disposition: render;handling=optional\r\n"
			     "\r\n");
	struct extbody eb;
	(void)state;

	assert_int_equal(extbody_decode(&eb, &c, &b), 0);
	assert_false(eb.has_size);
	assert_false(eb.has_hash);
	assert_pl_equal(eb.disposition, "render");
}


static void test_decode_malformed(void **state)
{
	static const char *okc = "message/external-body; access-type=\"URL\"; "
		"expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; URL=\"http://x/y\"";
	static const char *okb = "Content-Type: a/b\r\nContent-ID: <1@x>\r\n"
		"Content-Disposition: render\r\n\r\n";
	static const struct {
		const char *c, *b;
	} bad[] = {
		{"text/plain", NULL},
		{"message/external-body", NULL},
		{"message/external-body; access-type=\"ftp\"; expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; URL=\"http://x/y\"", NULL},
		{"message/external-body; access-type=\"URL\"; URL=\"http://x/y\"", NULL},
		{"message/external-body; access-type=\"URL\"; expiration=\"tomorrow\"; URL=\"http://x/y\"", NULL},
		{"message/external-body; access-type=\"URL\"; expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"", NULL},
		{"message/external-body; access-type=\"URL\"; expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; URL=\"http://x/y\"; size=-1", NULL},
		{"message/external-body; access-type=\"URL\"; expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; URL=\"http://x/y\"; hash=abc", NULL},
		{"message/external-body; access-type=\"URL\"; expiration=\"Mon, 24 Jun 2030 09:00:00 GMT\"; URL=\"http://x/y", NULL},
		{NULL, "Content-Type: a/b\r\nContent-ID: <1@x>\r\n\r\n"},
		{NULL, "Content-Type: a/b\r\nContent-Disposition: render\r\n\r\n"},
		{NULL, "Content-ID: <1@x>\r\nContent-Disposition: render\r\n\r\n"},
		{NULL, "Content-Type: a/b\r\nContent-ID: 1@x\r\nContent-Disposition: render\r\n\r\n"},
		{NULL, "Content-Type a/b\r\n\r\n"},
		{NULL, "Content-Type: a/b"},
		{NULL, ": x\r\n\r\n"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct extbody eb;
		struct pl c, b;

		pl_set_str(&c, bad[i].c ? bad[i].c : okc);
		pl_set_str(&b, bad[i].b ? bad[i].b : okb);
		if (extbody_decode(&eb, &c, &b) == 0)
			fail_msg("case %zu accepted", i);
	}
}


static void test_multipart(void **state)
{
	const struct extbody_spec specs[2] = {
		{"http://a.example/1", T_2030, 10, NULL, "image/png",
		 "1@a.example", "render"},
		{"https://b.example/2", T_2030, -1, sha, "application/pdf",
		 "2@b.example", "attachment"},
	};
	const struct extbody_list el = {"sp-b0undary", specs, 2};
	struct mpart parts[MPART_MAX];
	char body[2048];
	struct pl c = PL_STR("multipart/mixed; boundary=\"sp-b0undary\""), b;
	size_t n = 0, i;
	(void)state;

	PRINT(body, "%H", extbody_multipart_print, &el);
	pl_set_str(&b, body);

	assert_int_equal(mpart_decode(parts, MPART_MAX, &n, &c, &b), 0);
	assert_int_equal(n, 2);

	for (i = 0; i < n; i++) {
		struct extbody eb;

		assert_true(extbody_is(&parts[i].ctype));
		assert_int_equal(extbody_decode(&eb, &parts[i].ctype,
						&parts[i].body), 0);
		assert_pl_equal(eb.url, specs[i].url);
		assert_pl_equal(eb.cid, specs[i].cid);
		assert_pl_equal(eb.disposition, specs[i].disposition);
	}

	/* too many parts for the caller's array */
	assert_int_equal(mpart_decode(parts, 1, &n, &c, &b), EOVERFLOW);
}


static void test_multipart_mixed_direct(void **state)
{
	struct pl c = PL_STR("multipart/mixed;boundary=xx");
	struct pl b = PL_STR("preamble\r\n--xx\r\nContent-Type: text/plain\r\n\r\n"
			     "hello\r\n--xx  \r\n\r\nno headers\r\n--xx--\r\nepilogue");
	struct mpart parts[4];
	size_t n = 0;
	(void)state;

	assert_int_equal(mpart_decode(parts, 4, &n, &c, &b), 0);
	assert_int_equal(n, 2);
	assert_pl_equal(parts[0].ctype, "text/plain");
	assert_pl_equal(parts[0].body, "hello");
	assert_int_equal(parts[1].ctype.l, 0);
	assert_pl_equal(parts[1].body, "no headers");
}


static void test_multipart_malformed(void **state)
{
	static const struct {
		const char *c, *b;
	} bad[] = {
		{"multipart/mixed", "--x\r\n\r\na\r\n--x--"},
		{"multipart/mixed; boundary=x", "no delimiter at all"},
		{"multipart/mixed; boundary=x", "--x\r\n\r\nnever closed"},
		{"multipart/mixed; boundary=x", "--x--\r\n"},
		{"multipart/mixed; boundary=x", "--xjunk\r\n\r\na\r\n--x--"},
		{"multipart/mixed; boundary=x", "--x\r\nbad header\r\n\r\na\r\n--x--"},
		{"multipart/mixed; boundary=\"\"", "--\r\n\r\na\r\n----"},
	};
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct mpart parts[4];
		struct pl c, b;
		size_t n;

		pl_set_str(&c, bad[i].c);
		pl_set_str(&b, bad[i].b);
		if (mpart_decode(parts, 4, &n, &c, &b) == 0)
			fail_msg("case %zu accepted", i);
	}
}


static void test_print_refuses(void **state)
{
	const struct extbody_spec es = {"http://x/\"y", T_2030, -1, NULL,
					"a/b", "1@x", "render"};
	const struct extbody_spec es2 = {"http://x/y", T_2030, -1, NULL,
					 "a/b", "<1@x>", "render"};
	char buf[512];
	(void)state;

	assert_true(re_snprintf(buf, sizeof(buf), "%H", extbody_ctype_print,
				&es) < 0);
	assert_true(re_snprintf(buf, sizeof(buf), "%H", extbody_entity_print,
				&es2) < 0);
}


/* A fetch that failed is answered by its cause, and the sender (whose
 * outcome_map() reads the answer) retries only what may pass; nothing of
 * it counts as delivered */
static void test_fail_answer(void **state)
{
	static const struct {
		int cause;
		uint16_t scode;
		bool final;
		const char *reason;
	} cases[] = {
		{ETIMEDOUT,       503, false, "Content fetch timed out"},
		{EIO,             503, false, "Content server unreachable"},
		{EAGAIN,          503, false, "Content server unavailable"},
		{ENOENT,          400, true,  "Content not found"},
		{EACCES,          400, true,  "Content refused by its server"},
		{EBADMSG,         400, true,  "Content does not match its hash"},
		{ETIME,           400, true,  "Content expired"},
		{ENAMETOOLONG,    400, true,  "Content URL too long"},
		{EFBIG,           413, true,  "Content too large"},
		{EPERM,           403, true,  "Content address not allowed"},
		{EPROTONOSUPPORT, 415, true,  "Content URL scheme not supported"},
		{ENOMEM,          500, false, "Content not fetched"},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct extbody_fail f;
		struct outcome o;

		memset(&f, 0xa5, sizeof(f));
		extbody_fail(&f, cases[i].cause);
		assert_int_equal(f.scode, cases[i].scode);
		assert_string_equal(f.reason, cases[i].reason);
		assert_int_equal(f.final, cases[i].final);
		/* a 503 says when (RFC 3261 §21.5.4), nothing else does */
		assert_int_equal(f.retry_after, f.scode == 503 ? 5 : 0);

		outcome_map(&o, OE_SIP, f.scode, true, NULL);
		assert_int_not_equal(o.state, DS_DELIVERED);
		assert_int_equal(o.retry, !f.final);
		outcome_map(&o, OE_SIP, f.scode, false, NULL);
		assert_int_equal(o.state, DS_UNDELIVERABLE);
	}
	/* the HTTP status belongs in the phrase where it is the cause */
	struct extbody_fail f;
	extbody_fail(&f, ENOENT);
	assert_true(f.detail);
	extbody_fail(&f, EBADMSG);
	assert_false(f.detail);
	extbody_fail(NULL, EIO);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_httpdate),
		cmocka_unit_test(test_httpdate_malformed),
		cmocka_unit_test(test_build_and_decode),
		cmocka_unit_test(test_decode_rfc_example),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_multipart_mixed_direct),
		cmocka_unit_test(test_multipart_malformed),
		cmocka_unit_test(test_print_refuses),
		cmocka_unit_test(test_fail_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
