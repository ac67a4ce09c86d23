/**
 * @file test_method.c  Method selection and the exact MESSAGE size
 */
#include "testutil.h"
#include "core/featuretag.h"
#include "core/pagemsg.h"
#include "core/outcome.h"
#include "core/method.h"


static struct term_caps term(const char *inst, const char *apps,
			     const char *methods, const char *accept,
			     bool sub)
{
	struct term_caps t;

	memset(&t, 0, sizeof(t));
	t.instance = inst;
	if (apps)
		pl_set_str(&t.apps, apps);
	if (methods)
		pl_set_str(&t.methods, methods);
	if (accept)
		pl_set_str(&t.accept, accept);
	t.sub_active = sub;

	return t;
}


struct mcase {
	enum push_method method;
	size_t size;
	bool require_sub;
	const char *apps, *methods, *accept;
	bool sub;
	enum plan_kind kind;
	bool indirect;
	enum plan_reason reason;
};

static const struct mcase mcases[] = {
	/* auto */
	{PM_AUTO, 600, false, "mms.ua", "MESSAGE", NULL, false,
	 PLAN_MESSAGE, false, PR_OK},
	{PM_AUTO, 600, false, "mms.ua", "MESSAGE,NOTIFY", NULL, true,
	 PLAN_NOTIFY, false, PR_OK},
	{PM_AUTO, 5000, false, "mms.ua", "MESSAGE,NOTIFY", NULL, true,
	 PLAN_NOTIFY, true, PR_OK},
	{PM_AUTO, 5000, false, "mms.ua", "MESSAGE,INVITE", NULL, false,
	 PLAN_SESSION, false, PR_OK},
	{PM_AUTO, 5000, false, "mms.ua", "MESSAGE", NULL, false,
	 PLAN_MESSAGE, true, PR_OK},
	{PM_AUTO, 5000, false, "mms.ua", "MESSAGE",
	 "application/vnd.wap.mms-message", false,
	 PLAN_NONE, false, PR_TOO_LARGE},
	{PM_AUTO, 5000, false, "mms.ua", "MESSAGE",
	 "application/vnd.wap.mms-message, message/external-body", false,
	 PLAN_MESSAGE, true, PR_OK},
	{PM_AUTO, 600, true, "mms.ua", "MESSAGE,REFER", NULL, false,
	 PLAN_REFER, false, PR_OK},
	/* subscription mode preferred, no REFER: MESSAGE all the same
	 * (issue 20; was none/PR_METHOD), unless MESSAGE is not listed */
	{PM_AUTO, 600, true, "mms.ua", "MESSAGE", NULL, false,
	 PLAN_MESSAGE, false, PR_NO_REFER},
	{PM_AUTO, 600, true, "mms.ua", "NOTIFY,OPTIONS", NULL, false,
	 PLAN_NONE, false, PR_METHOD},
	{PM_AUTO, 600, true, "mms.ua", "MESSAGE,NOTIFY", NULL, true,
	 PLAN_NOTIFY, false, PR_OK},
	{PM_AUTO, 600, false, "syncml.dm", "MESSAGE", NULL, false,
	 PLAN_NONE, false, PR_NO_APP},
	{PM_AUTO, 600, false, "x-wap-application:MMS.UA,emn.ua", NULL, NULL,
	 false, PLAN_MESSAGE, false, PR_OK},
	{PM_AUTO, 600, false, NULL, NULL, NULL, false,        /* AoR-level */
	 PLAN_MESSAGE, false, PR_OK},
	{PM_AUTO, 600, false, "mms.ua", "NOTIFY,OPTIONS", NULL, false,
	 PLAN_NONE, false, PR_METHOD},
	{PM_AUTO, 600, false, "mms.ua", "MESSAGE", "image/*", false,
	 PLAN_NONE, false, PR_TYPE},
	{PM_AUTO, 600, false, "mms.ua", "MESSAGE",
	 "application/*;q=0.5", false, PLAN_MESSAGE, false, PR_OK},
	/* explicit methods */
	{PM_MESSAGE, 600, false, "mms.ua", "MESSAGE,NOTIFY", NULL, true,
	 PLAN_MESSAGE, false, PR_OK},
	{PM_NOTIFY, 600, false, "mms.ua", "MESSAGE,NOTIFY", NULL, false,
	 PLAN_NONE, false, PR_NO_SUBSCRIPTION},
	{PM_REFER, 600, false, "mms.ua", "MESSAGE,REFER", NULL, false,
	 PLAN_REFER, false, PR_OK},
	{PM_SESSION, 600, false, "mms.ua", "MESSAGE", NULL, false,
	 PLAN_NONE, false, PR_METHOD},
	{PM_SESSION, 600, false, "mms.ua", NULL, NULL, false,
	 PLAN_NONE, false, PR_METHOD},     /* never guess a session */
	{PM_SESSION, 90000, false, "mms.ua", "INVITE,MESSAGE", NULL, false,
	 PLAN_SESSION, false, PR_OK},
};


static void test_plan_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < ARRAY_SIZE(mcases); i++) {
		const struct mcase *c = &mcases[i];
		const struct term_caps t = term("urn:uuid:1", c->apps,
						c->methods, c->accept,
						c->sub);
		const struct push_spec ps = {
			.app = "mms.ua",
			.ctype = "application/vnd.wap.mms-message",
			.method = c->method, .msg_size = c->size,
			.require_sub = c->require_sub,
		};
		struct plan p;
		size_t np;

		assert_int_equal(method_plan(&p, &np, &ps, &t, 1), 0);
		if (p.kind != c->kind || p.indirect != c->indirect ||
		    p.reason != c->reason)
			fail_msg("case %zu: %s/%d/%s, want %s/%d/%s", i,
				 plan_kind_name(p.kind), p.indirect,
				 plan_reason_name(p.reason),
				 plan_kind_name(c->kind), c->indirect,
				 plan_reason_name(c->reason));
		assert_int_equal(np, c->kind != PLAN_NONE);
	}
}


static void test_targets(void **state)
{
	struct term_caps tv[3];
	struct push_spec ps = {.app = "mms.ua", .ctype = "text/plain",
			       .msg_size = 500};
	struct plan pv[3];
	size_t np;
	(void)state;

	tv[0] = term("urn:uuid:a", "mms.ua", "MESSAGE", NULL, false);
	tv[1] = term("urn:uuid:b", "mms.ua", "MESSAGE", NULL, false);
	tv[2] = term("urn:uuid:c", "emn.ua", "MESSAGE", NULL, false);
	tv[1].gruu = "sip:alice@example.com;gr=urn:uuid:b";

	/* all: the two carrying the app */
	assert_int_equal(method_plan(pv, &np, &ps, tv, 3), 0);
	assert_int_equal(np, 2);
	assert_int_equal(pv[2].reason, PR_NO_APP);

	/* one by instance */
	ps.target = "urn:uuid:a";
	assert_int_equal(method_plan(pv, &np, &ps, tv, 3), 0);
	assert_int_equal(np, 1);
	assert_int_equal(pv[0].kind, PLAN_MESSAGE);
	assert_int_equal(pv[1].reason, PR_NOT_TARGETED);

	/* one by GRUU */
	ps.target = "sip:alice@example.com;gr=urn:uuid:b";
	assert_int_equal(method_plan(pv, &np, &ps, tv, 3), 0);
	assert_int_equal(np, 1);
	assert_int_equal(pv[1].kind, PLAN_MESSAGE);

	/* a name that matches nothing */
	ps.target = "urn:uuid:zzz";
	assert_int_equal(method_plan(pv, &np, &ps, tv, 3), ENOENT);

	/* the named one exists but cannot take the app */
	ps.target = "urn:uuid:c";
	assert_int_equal(method_plan(pv, &np, &ps, tv, 3), 0);
	assert_int_equal(np, 0);

	/* no terminals: nothing planned (the push stays pending) */
	ps.target = NULL;
	assert_int_equal(method_plan(pv, &np, &ps, NULL, 0), 0);
	assert_int_equal(np, 0);
}


static void test_method_names(void **state)
{
	enum push_method pm;
	(void)state;

	assert_int_equal(push_method_decode(&pm, &PL_STR("session")), 0);
	assert_int_equal(pm, PM_SESSION);
	assert_int_equal(push_method_decode(&pm, &PL_STR("page")), EBADMSG);
}


/* The size rule counts the real request: compare with what libre sends. */
static void test_pagemsg_size(void **state)
{
	const struct ac_spec ac = {"mms.ua", NULL, true, true};
	struct sa laddr;
	struct pagemsg_spec ms = {
		.ruri = "sip:alice@example.com;gr=urn:uuid:f81d4fae",
		.from = "sip:push@localhost", .from_tag = "t1",
		.to = "sip:alice@example.com", .call_id = "c-1", .cseq = 1,
		.pai = "sip:push@localhost", .ac = &ac,
		.ctype = "application/vnd.wap.mms-message",
		.software = NULL, .transport = "UDP",
	};
	char hdrs[1024], full[2048];
	size_t sz = 0;
	int n;
	(void)state;

	sa_set_str(&laddr, "127.0.0.1", 5060);
	ms.laddr = &laddr;
	ms.body_len = 100;

	PRINT(hdrs, "%H", pagemsg_hdrs_print, &ms);
	assert_non_null(strstr(hdrs, "Accept-Contact: *;+g.oma.pusheventapp="
			       "\"mms.ua\";require;explicit\r\n"));
	assert_non_null(strstr(hdrs, "P-Asserted-Identity: "
			       "<sip:push@localhost>\r\n"));
	assert_null(strstr(hdrs, "\r\nContact:"));

	/* the same bytes libre 1.1.0 writes (request.c) */
	n = re_snprintf(full, sizeof(full),
			"MESSAGE %s SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 127.0.0.1:5060;"
			"branch=z9hG4bK0123456789abcdef;rport\r\n"
			"Max-Forwards: 70\r\n%s", ms.ruri, hdrs);
	assert_true(n > 0);

	assert_int_equal(pagemsg_size(&sz, &ms), 0);
	assert_int_equal(sz, (size_t)n + 100);

	/* the 1300-byte boundary */
	ms.body_len = 1300 - (size_t)n;
	assert_int_equal(pagemsg_size(&sz, &ms), 0);
	assert_int_equal(sz, 1300);

	ms.software = "sippushd 0.1";
	assert_int_equal(pagemsg_size(&sz, &ms), 0);
	assert_int_equal(sz, 1300 + strlen("User-Agent: sippushd 0.1\r\n"));

	/* what message.c hands to sip_request(): the same headers */
	{
		static const uint8_t body[100] = {'x'};
		struct mbuf *mb = mbuf_alloc(64);   /* grows */
		char want[2048];

		assert_non_null(mb);
		n = re_snprintf(want, sizeof(want), "Max-Forwards: 70\r\n"
				"Route: <sip:pcscf.example.com;lr>\r\n%s",
				hdrs);
		assert_true(n > 0);
		ms.body_len = sizeof(body);
		assert_int_equal(pagemsg_encode(mb, "<sip:pcscf.example.com;"
						"lr>", &ms, body), 0);
		assert_int_equal(mb->pos, 0);
		assert_int_equal(mb->end, (size_t)n + sizeof(body));
		assert_memory_equal(mb->buf, want, (size_t)n);
		assert_memory_equal(mb->buf + n, body, sizeof(body));
		mbuf_reset(mb);
		assert_int_equal(pagemsg_encode(mb, NULL, &ms, NULL), EINVAL);
		mem_deref(mb);
	}

	/* the Via's address is counted, not printed: any address, as %J */
	ms.software = NULL;
	ms.body_len = 100;   /* as in hdrs */
	{
		static const char *const addrs[] = {
			"0.0.0.0", "9.10.99.100", "255.255.255.255",
			"::1", "2001:db8::5", "fe80::1:2:3:4",
		};
		static const uint16_t ports[] = {1, 9, 10, 5060, 65535};

		for (size_t i = 0; i < ARRAY_SIZE(addrs); i++) {
			for (size_t j = 0; j < ARRAY_SIZE(ports); j++) {
				assert_int_equal(sa_set_str(&laddr, addrs[i],
							    ports[j]), 0);
				n = re_snprintf(full, sizeof(full),
						"MESSAGE %s SIP/2.0\r\n"
						"Via: SIP/2.0/UDP %J;branch="
						"z9hG4bK0123456789abcdef;"
						"rport\r\nMax-Forwards: 70"
						"\r\n%s", ms.ruri, &laddr,
						hdrs);
				assert_true(n > 0);
				assert_int_equal(pagemsg_size(&sz, &ms), 0);
				assert_int_equal(sz, (size_t)n + 100);
			}
		}
	}

	ms.laddr = NULL;
	assert_int_equal(pagemsg_size(&sz, &ms), EINVAL);
}


/* The one rule for moving a delivery to another method */
static void test_fallback_rule(void **state)
{
	(void)state;

	/* NOTIFY: the subscription is gone, the push is not */
	assert_true(method_fallback(PLAN_NOTIFY, OE_SIP, 481, false));
	assert_true(method_fallback(PLAN_NOTIFY, OE_SIP, 408, false));
	assert_true(method_fallback(PLAN_NOTIFY, OE_TIMEOUT, 0, false));
	assert_false(method_fallback(PLAN_NOTIFY, OE_SIP, 200, false));
	assert_false(method_fallback(PLAN_NOTIFY, OE_SIP, 503, false));
	assert_false(method_fallback(PLAN_NOTIFY, OE_SIP, 415, false));

	/* REFER refused: MESSAGE may do, unless "refer" was asked for */
	assert_true(method_fallback(PLAN_REFER, OE_SIP, 404, false));
	assert_true(method_fallback(PLAN_REFER, OE_SIP, 405, false));
	assert_true(method_fallback(PLAN_REFER, OE_SIP, 603, false));
	assert_false(method_fallback(PLAN_REFER, OE_SIP, 404, true));
	assert_false(method_fallback(PLAN_REFER, OE_SIP, 202, false));
	assert_false(method_fallback(PLAN_REFER, OE_TIMEOUT, 0, false));
	for (uint16_t c = 0; c < 4; c++) {
		static const uint16_t retried[] = {408, 480, 500, 503};

		assert_false(method_fallback(PLAN_REFER, OE_SIP, retried[c],
					     false));
	}

	/* MESSAGE and sessions end with the terminal's word */
	assert_false(method_fallback(PLAN_MESSAGE, OE_SIP, 405, false));
	assert_false(method_fallback(PLAN_MESSAGE, OE_SIP, 481, false));
	assert_false(method_fallback(PLAN_SESSION, OE_SIP, 488, false));
	assert_false(method_fallback(PLAN_SESSION, OE_TIMEOUT, 0, false));
}


/* The 1300-byte rule per terminal: its own Request-URI and Route count */
static void test_size_per_terminal(void **state)
{
	struct term_caps tv[2];
	struct push_spec ps = {.app = "mms.ua", .ctype = "text/plain",
			       .msg_size = 1250};
	struct plan pv[2];
	size_t np;
	(void)state;

	tv[0] = term("urn:uuid:a", "mms.ua", "MESSAGE", NULL, false);
	tv[1] = term("urn:uuid:b", "mms.ua", "MESSAGE", NULL, false);
	tv[0].msg_size = 1300;   /* exactly the limit: inline */
	tv[1].msg_size = 1301;   /* a longer GRUU and a Route: by URL */
	assert_int_equal(method_plan(pv, &np, &ps, tv, 2), 0);
	assert_int_equal(np, 2);
	assert_int_equal(pv[0].kind, PLAN_MESSAGE);
	assert_false(pv[0].indirect);
	assert_int_equal(pv[1].kind, PLAN_MESSAGE);
	assert_true(pv[1].indirect);

	/* none given: the push's own size decides for both */
	tv[0].msg_size = tv[1].msg_size = 0;
	assert_int_equal(method_plan(pv, &np, &ps, tv, 2), 0);
	assert_false(pv[0].indirect);
	assert_false(pv[1].indirect);
}


/* A GRUU the core refuses: the public identity instead */
static void test_gruu_rule(void **state)
{
	static const uint16_t to_aor[] = {404, 410, 416, 480};
	static const uint16_t stay[] = {200, 202, 403, 408, 415, 486, 500,
					503, 603};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(to_aor); i++)
		assert_true(gruu_fallback(OE_SIP, to_aor[i]));
	for (size_t i = 0; i < ARRAY_SIZE(stay); i++)
		assert_false(gruu_fallback(OE_SIP, stay[i]));
	assert_false(gruu_fallback(OE_TIMEOUT, 0));
	assert_false(gruu_fallback(OE_MSRP, 404));
}


static void test_kind_names(void **state)
{
	enum plan_kind k;
	(void)state;

	for (int i = 0; i < PLAN_KINDS; i++) {
		struct pl pl;

		pl_set_str(&pl, plan_kind_name((enum plan_kind)i));
		assert_int_equal(plan_kind_decode(&k, &pl), 0);
		assert_int_equal(k, i);
	}
	assert_int_equal(plan_kind_decode(&k, &PL_STR("pager")), EBADMSG);
	assert_string_equal(plan_kind_name(PLAN_KINDS), "?");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback_rule),
		cmocka_unit_test(test_gruu_rule),
		cmocka_unit_test(test_size_per_terminal),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_pagemsg_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
