/**
 * @file test_msrpsdp.c  SDP for MSRP file pushes: offer and answer round
 *                       trip, two files, refused m-line, bad input; a=setup
 *                       (RFC 6135) printed, decoded, and who connects
 */
#include "testutil.h"
#include "core/msrpsetup.h"
#include "core/msrpsdp.h"


static void test_offer_roundtrip(void **state)
{
	uint8_t sha[20];
	const struct msrpsdp_file files[2] = {
		{.name = "report.pdf", .type = "application/pdf",
		 .size = 5242880, .sha1 = sha, .ftid = "ft1",
		 .disposition = "attachment",
		 .path = "msrp://127.0.0.1:9/abc;tcp", .port = 9},
		{.type = "text/plain", .size = 12, .ftid = "ft2",
		 .disposition = "render",
		 .path = "msrp://127.0.0.1:9/abd;tcp", .port = 9},
	};
	const struct msrpsdp_spec s = {.addr = "127.0.0.1", .sess_id = 7,
				       .sess_ver = 1, .filev = files,
				       .n = 2};
	char buf[2048];
	struct msrpsdp sd;
	struct pl body;
	(void)state;

	for (int i = 0; i < 20; i++)
		sha[i] = (uint8_t)(i * 13);
	PRINT(buf, "%H", msrpsdp_print, &s);
	assert_non_null(strstr(buf, "m=message 9 TCP/MSRP *\r\na=sendonly\r\n"
			       "a=accept-types:application/pdf\r\n"));
	assert_non_null(strstr(buf, "a=file-selector:name:\"report.pdf\" "
			       "type:application/pdf size:5242880 "
			       "hash:sha-1:00:0D:1A:"));

	pl_set_str(&body, buf);
	assert_int_equal(msrpsdp_decode(&sd, &body), 0);
	assert_int_equal(sd.n, 2);
	assert_pl_equal(sd.addr, "127.0.0.1");
	assert_true(sd.m[0].msrp);
	assert_int_equal(sd.m[0].port, 9);
	assert_pl_equal(sd.m[0].path, "msrp://127.0.0.1:9/abc;tcp");
	assert_pl_equal(sd.m[0].name, "report.pdf");
	assert_pl_equal(sd.m[0].type, "application/pdf");
	assert_int_equal(sd.m[0].size, 5242880);
	assert_true(sd.m[0].has_hash);
	assert_memory_equal(sd.m[0].sha1, sha, 20);
	assert_pl_equal(sd.m[0].ftid, "ft1");
	assert_pl_equal(sd.m[0].disposition, "attachment");
	assert_pl_equal(sd.m[0].dir, "sendonly");
	assert_pl_equal(sd.m[1].accept_types, "text/plain");
	assert_false(sd.m[1].has_hash);
}


static void test_answer(void **state)
{
	const struct msrpsdp_file files[2] = {
		{.type = "application/pdf", .size = 10, .ftid = "ft1",
		 .path = "msrp://127.0.0.1:4000/x1;tcp", .port = 4000},
		{.type = "image/png", .size = 10, .ftid = "ft2", .port = 0},
	};
	const struct msrpsdp_spec s = {.addr = "127.0.0.1", .answer = true,
				       .max_size = 1000, .filev = files,
				       .n = 2};
	char buf[2048];
	struct msrpsdp sd;
	struct pl body;
	(void)state;

	PRINT(buf, "%H", msrpsdp_print, &s);
	pl_set_str(&body, buf);
	assert_int_equal(msrpsdp_decode(&sd, &body), 0);
	assert_pl_equal(sd.m[0].dir, "recvonly");
	assert_int_equal(sd.m[0].max_size, 1000);
	assert_int_equal(sd.m[1].port, 0);          /* refused file */
	assert_false(pl_isset(&sd.m[1].path));
	assert_pl_equal(sd.m[1].ftid, "ft2");
}


static void test_bad(void **state)
{
	static const char *bad[] = {
		"v=0\r\nm=message x TCP/MSRP *\r\n",
		"v=0\r\nm=message 70000 TCP/MSRP *\r\n",
		"v=0\r\nbogus\r\n",
		"v=0\r\ns=-\r\n",                     /* no m-line */
		"v=0\r\nm=message 9 TCP/MSRP *\r\na=max-size:x\r\n",
		"v=0\r\nm=message 9 TCP/MSRP *\r\n"
		"a=file-selector:hash:sha-1:00:11\r\n",
		"v=0\r\nm=message 9 TCP/MSRP *\r\n"
		"a=file-selector:name:\"unterminated\r\n",
	};
	const struct msrpsdp_file f = {.type = "text/plain\r\nX: y",
				       .ftid = "1", .path = "p", .port = 1};
	const struct msrpsdp_spec s = {.addr = "127.0.0.1", .filev = &f,
				       .n = 1};
	struct msrpsdp sd;
	struct pl body;
	char buf[512];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		pl_set_str(&body, bad[i]);
		assert_int_not_equal(msrpsdp_decode(&sd, &body), 0);
	}
	/* audio m-lines are kept, flagged as not MSRP */
	pl_set_str(&body, "v=0\r\nm=audio 4000 RTP/AVP 0\r\n");
	assert_int_equal(msrpsdp_decode(&sd, &body), 0);
	assert_false(sd.m[0].msrp);

	assert_true(re_snprintf(buf, sizeof(buf), "%H", msrpsdp_print, &s)
		    < 0 || !strstr(buf, "X: y"));
}


/* a=accept-types is a list (RFC 4975 §8): each type, "*" and a star
 * subtype against the application's comma list */
static void test_accept_meet(void **state)
{
	static const struct {
		const char *offer, *app, *want;
	} cases[] = {
		{"text/plain image/png", "text/plain,image/png",
		 "text/plain image/png"},
		{"image/gif  text/plain", "text/plain,image/png", "text/plain"},
		{"*", "text/plain,image/png", "text/plain image/png"},
		{"image/*", "text/plain,image/png", "image/png"},
		{"image/*", "image/*", "image/*"},
		{"*", "*/*", "*"},
		{"TEXT/Plain", "text/plain;charset=utf-8", "TEXT/Plain"},
		{"text/plain text/plain *", "text/plain", "text/plain"},
		{"image/png", "image/*", "image/png"},
		{"*", NULL, "*"},
		{"a/b c/d", "", "a/b c/d"},
	};
	static const struct {
		const char *offer, *app;
	} none[] = {
		{"image/gif video/mp4", "text/plain,image/png"},
		{"video/*", "text/plain,image/png"},
		{"", "text/plain"},
		{"  ", "text/plain"},
		{"", NULL},
	};
	char buf[256];
	struct pl t;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		pl_set_str(&t, cases[i].offer);
		if (msrpsdp_accept_meet(buf, sizeof(buf), &t, cases[i].app))
			fail_msg("case %zu refused", i);
		assert_string_equal(buf, cases[i].want);
	}
	for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
		pl_set_str(&t, none[i].offer);
		assert_int_equal(msrpsdp_accept_meet(buf, sizeof(buf), &t,
						     none[i].app), ENOENT);
		assert_string_equal(buf, "");
	}

	/* what does not fit is an error, not a cut list */
	pl_set_str(&t, "text/plain image/png");
	assert_int_equal(msrpsdp_accept_meet(buf, 12, &t, NULL),
			 ENAMETOOLONG);
	assert_int_equal(msrpsdp_accept_meet(NULL, 0, &t, NULL), EINVAL);
}


/* RFC 6135: a=setup in the offer and the answer, session-level too */
static void test_setup(void **state)
{
	const struct msrpsdp_file files[2] = {
		{.type = "text/plain", .size = 1, .ftid = "ft1",
		 .path = "msrp://192.0.2.1:7000/a;tcp", .port = 7000,
		 .setup = MSRP_SETUP_ACTPASS},
		{.type = "text/plain", .size = 1, .ftid = "ft2",
		 .path = "msrp://192.0.2.1:7000/b;tcp", .port = 7000},
	};
	const struct msrpsdp_spec s = {.addr = "192.0.2.1", .filev = files,
				       .n = 2};
	char buf[2048];
	struct msrpsdp sd;
	struct pl body;
	(void)state;

	PRINT(buf, "%H", msrpsdp_print, &s);
	assert_non_null(strstr(buf, "a=path:msrp://192.0.2.1:7000/a;tcp\r\n"
			       "a=setup:actpass\r\n"));
	assert_null(strstr(strstr(buf, "ft1"), "a=setup"));   /* none */
	pl_set_str(&body, buf);
	assert_int_equal(msrpsdp_decode(&sd, &body), 0);
	assert_int_equal(sd.m[0].setup, MSRP_SETUP_ACTPASS);
	assert_int_equal(sd.m[1].setup, MSRP_SETUP_NONE);

	/* a session-level a=setup holds for media without their own */
	pl_set_str(&body, "v=0\r\na=setup:active\r\n"
		   "m=message 9 TCP/MSRP *\r\n"
		   "m=message 9 TCP/MSRP *\r\na=setup:passive\r\n");
	assert_int_equal(msrpsdp_decode(&sd, &body), 0);
	assert_int_equal(sd.m[0].setup, MSRP_SETUP_ACTIVE);
	assert_int_equal(sd.m[1].setup, MSRP_SETUP_PASSIVE);

	/* a value RFC 4145 does not define is refused */
	pl_set_str(&body, "v=0\r\nm=message 9 TCP/MSRP *\r\n"
		   "a=setup:sideways\r\n");
	assert_int_equal(msrpsdp_decode(&sd, &body), EBADMSG);
	pl_set_str(&body, "v=0\r\na=setup:\r\nm=message 9 TCP/MSRP *\r\n");
	assert_int_not_equal(msrpsdp_decode(&sd, &body), 0);
}


/* Who connects: the answer to each offer, and the offerer's reading */
static void test_setup_roles(void **state)
{
	enum msrp_setup a;
	bool c;
	(void)state;

	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_ACTPASS, true), 0);
	assert_int_equal(a, MSRP_SETUP_ACTIVE);
	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_ACTPASS, false), 0);
	assert_int_equal(a, MSRP_SETUP_PASSIVE);
	/* a fixed offer leaves no choice; none keeps RFC 4975 */
	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_ACTIVE, true), 0);
	assert_int_equal(a, MSRP_SETUP_PASSIVE);
	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_PASSIVE, false), 0);
	assert_int_equal(a, MSRP_SETUP_ACTIVE);
	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_NONE, true), 0);
	assert_int_equal(a, MSRP_SETUP_NONE);
	assert_int_equal(msrp_setup_answer(&a, MSRP_SETUP_HOLDCONN, true),
			 EPROTO);

	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_ACTPASS,
						     MSRP_SETUP_ACTIVE), 0);
	assert_false(c);
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_ACTPASS,
						     MSRP_SETUP_PASSIVE), 0);
	assert_true(c);
	/* an answer without a=setup is passive: the offerer connects */
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_ACTPASS,
						     MSRP_SETUP_NONE), 0);
	assert_true(c);
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_NONE,
						     MSRP_SETUP_NONE), 0);
	assert_true(c);
	/* answers that do not fit the offer */
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_ACTPASS,
						     MSRP_SETUP_ACTPASS),
			 EPROTO);
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_NONE,
						     MSRP_SETUP_ACTIVE),
			 EPROTO);
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_PASSIVE,
						     MSRP_SETUP_PASSIVE),
			 EPROTO);
	assert_int_equal(msrp_setup_offerer_connects(&c, MSRP_SETUP_ACTPASS,
						     MSRP_SETUP_HOLDCONN),
			 EPROTO);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_roundtrip),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_accept_meet),
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_setup_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
