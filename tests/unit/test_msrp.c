/**
 * @file test_msrp.c  MSRP framing: parser under every split, serializer
 *                    round trip, end-line in and near the body, bounds,
 *                    Byte-Range, report rules, reassembly
 */
#include "testutil.h"
#include <stdlib.h>
#include "msrp/msrp.h"

struct got {
	int msgs, ends;
	char tid[40], method[16], to[128], from[128], msgid[64], ctype[64];
	char sr[8], fr[8];
	uint16_t scode;
	struct msrp_range range;
	bool has_range;
	uint8_t body[8192];
	size_t blen;
	char flag;
	uint64_t endlen;
};


static int hh(const struct msrp_hdrs *h, void *arg)
{
	struct got *g = arg;

	++g->msgs;
	pl_strcpy(&h->tid, g->tid, sizeof(g->tid));
	pl_strcpy(&h->method, g->method, sizeof(g->method));
	pl_strcpy(&h->to_path, g->to, sizeof(g->to));
	pl_strcpy(&h->from_path, g->from, sizeof(g->from));
	pl_strcpy(&h->message_id, g->msgid, sizeof(g->msgid));
	pl_strcpy(&h->ctype, g->ctype, sizeof(g->ctype));
	pl_strcpy(&h->success_report, g->sr, sizeof(g->sr));
	pl_strcpy(&h->failure_report, g->fr, sizeof(g->fr));
	g->scode = h->scode;
	g->range = h->range;
	g->has_range = h->has_range;
	return 0;
}


static int dh(const uint8_t *p, size_t n, void *arg)
{
	struct got *g = arg;

	assert_true(g->blen + n <= sizeof(g->body));
	memcpy(g->body + g->blen, p, n);
	g->blen += n;
	return 0;
}


static int eh(const struct msrp_hdrs *h, char flag, uint64_t len, void *arg)
{
	struct got *g = arg;
	(void)h;

	++g->ends;
	g->flag = flag;
	g->endlen = len;
	return 0;
}


/* Feed msg in pieces of `step` bytes (0: random sizes) */
static int feed(struct got *g, const char *msg, size_t len, size_t step,
		uint64_t max_chunk)
{
	struct msrp_parser *p = NULL;
	int err = 0;

	memset(g, 0, sizeof(*g));
	assert_int_equal(msrp_parser_alloc(&p, max_chunk, hh, dh, eh, g), 0);
	for (size_t off = 0; off < len && !err; ) {
		size_t n = step ? step : 1 + (size_t)rand() % 97;

		if (n > len - off)
			n = len - off;
		err = msrp_parser_feed(p, (const uint8_t *)msg + off, n);
		off += n;
	}
	if (!err)
		assert_true(msrp_parser_idle(p));
	mem_deref(p);
	return err;
}


static const char send1[] =
	"MSRP a786hjs2 SEND\r\n"
	"To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
	"From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
	"Message-ID: 87652491\r\n"
	"Success-Report: yes\r\n"
	"Byte-Range: 1-25/25\r\n"
	"Content-Disposition: attachment\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Hey Bob, are you there?\r\n"
	"\r\n"
	"-------a786hjs2$\r\n";


static void test_send_any_split(void **state)
{
	struct got g;
	(void)state;

	for (size_t step = 0; step <= sizeof(send1); step++) {
		assert_int_equal(feed(&g, send1, sizeof(send1) - 1, step,
				      1 << 20), 0);
		assert_int_equal(g.msgs, 1);
		assert_int_equal(g.ends, 1);
		assert_string_equal(g.tid, "a786hjs2");
		assert_string_equal(g.method, "SEND");
		assert_string_equal(g.msgid, "87652491");
		assert_string_equal(g.ctype, "text/plain");
		assert_string_equal(g.sr, "yes");
		assert_true(g.has_range);
		assert_int_equal(g.range.start, 1);
		assert_int_equal(g.range.end, 25);
		assert_int_equal(g.range.total, 25);
		assert_int_equal(g.blen, 25);
		assert_memory_equal(g.body, "Hey Bob, are you there?\r\n", 25);
		assert_int_equal(g.flag, '$');
		assert_int_equal(g.endlen, 25);
	}
	/* random splits */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(feed(&g, send1, sizeof(send1) - 1, 0,
				      1 << 20), 0);
		assert_int_equal(g.blen, 25);
	}
}


/* Body bytes that look like the end-line but are not */
static void test_endline_lookalikes(void **state)
{
	static const char body[] =
		"a\r\n-------a786hjs\r\n"      /* shorter id            */
		"\r\n-------a786hjs2X\r\n"     /* not a flag            */
		"\r\n-------a786hjs2$x"        /* flag, no CRLF         */
		"\r\n-------a786hjs2$\r"       /* CR, no LF ...         */
		"\r\r\n------a786hjs2$\r\n"    /* six dashes            */
		"x-------a786hjs2$\r\n"        /* no CRLF before it     */
		"end";
	char msg[1024];
	struct got g;
	int n;
	(void)state;

	n = re_snprintf(msg, sizeof(msg),
			"MSRP a786hjs2 SEND\r\nTo-Path: msrp://b/1;tcp\r\n"
			"From-Path: msrp://a/2;tcp\r\nMessage-ID: m1\r\n"
			"Byte-Range: 1-*/*\r\nContent-Type: text/plain\r\n\r\n"
			"%s\r\n-------a786hjs2+\r\n", body);
	for (size_t step = 0; step < 40; step++) {
		assert_int_equal(feed(&g, msg, (size_t)n, step, 1 << 20), 0);
		assert_int_equal(g.ends, 1);
		assert_int_equal(g.flag, '+');
		assert_int_equal(g.blen, sizeof(body) - 1);
		assert_memory_equal(g.body, body, sizeof(body) - 1);
		assert_true(g.range.end_star && g.range.total_star);
	}
}


static void test_no_body_and_responses(void **state)
{
	static const char two[] =
		"MSRP d93kswow 200 OK\r\n"
		"To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
		"From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
		"-------d93kswow$\r\n"
		"MSRP dkei38sd REPORT\r\n"
		"To-Path: msrp://a/1;tcp\r\nFrom-Path: msrp://b/2;tcp\r\n"
		"Message-ID: 12339sdqwer\r\nByte-Range: 1-106/106\r\n"
		"Status: 000 200 OK\r\n"
		"-------dkei38sd$\r\n";
	struct got g;
	(void)state;

	for (size_t step = 1; step < 30; step++) {
		assert_int_equal(feed(&g, two, sizeof(two) - 1, step, 1024), 0);
		assert_int_equal(g.msgs, 2);
		assert_int_equal(g.ends, 2);
		assert_string_equal(g.method, "REPORT");
		assert_int_equal(g.blen, 0);
	}
	assert_int_equal(feed(&g, two, (size_t)(strstr(two, "MSRP dkei") - two),
			      0, 1024), 0);
	assert_int_equal(g.msgs, 1);
	assert_int_equal(g.scode, 200);
}


static void test_malformed(void **state)
{
	static const char *bad[] = {
		"MSRP a786hjs2 SEND\r\nFrom-Path: msrp://a/1;tcp\r\n"
		"Message-ID: 1\r\n-------a786hjs2$\r\n",        /* no To-Path */
		"MSRP ab SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\n-------ab$\r\n",              /* short tid  */
		"MSRQ a786hjs2 SEND\r\n",                       /* not MSRP   */
		"MSRP a786hjs2 SEND\nTo-Path: x\n",             /* bare LF    */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"-------a786hjs2$\r\n",                         /* no Msg-ID  */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\n\r\nbody\r\n-------a786hjs2$\r\n", /* no type */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\nByte-Range: 1-3/10\r\n"
		"Content-Type: text/plain\r\n\r\n12345\r\n"
		"-------a786hjs2$\r\n",                   /* range vs body    */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nTo-Path: x\r\n",  /* twice */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\nByte-Range: 0-3/10\r\n",      /* start 0    */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\nContent-Type: text/plain\r\n"
		"-------a786hjs2$\r\n",                         /* typed, empty */
		"MSRP a786hjs2 SE/ND\r\n",                      /* bad method */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\nByte-Range: 1-*/3\r\n"
		"Content-Type: text/plain\r\n\r\n12345\r\n"
		"-------a786hjs2$\r\n",          /* its end past its total */
		"MSRP a786hjs2 SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n"
		"Message-ID: 1\r\nByte-Range: 3-*/4\r\n"
		"Content-Type: text/plain\r\n\r\n123\r\n"
		"-------a786hjs2$\r\n",          /* bytes 3-5 of 4 */
	};
	struct got g;
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(feed(&g, bad[i], strlen(bad[i]), 0, 1 << 20),
				 EBADMSG);
}


static void test_bounds(void **state)
{
	char *big = malloc(MSRP_HDR_MAX + 200);
	struct got g;
	size_t n;
	(void)state;

	/* headers beyond MSRP_HDR_MAX */
	n = (size_t)re_snprintf(big, MSRP_HDR_MAX + 200, "MSRP a786hjs2 SEND"
				"\r\nX-Pad: ");
	memset(big + n, 'a', MSRP_HDR_MAX);
	n += MSRP_HDR_MAX;
	assert_int_equal(feed(&g, big, n, 0, 1 << 20), EOVERFLOW);
	free(big);

	/* a chunk larger than max_chunk: 25 body bytes, limit 10 */
	assert_int_equal(feed(&g, send1, sizeof(send1) - 1, 0, 10),
			 EOVERFLOW);
}


static void test_range(void **state)
{
	struct msrp_range r;
	struct pl pl;
	(void)state;

	pl_set_str(&pl, "1-*/*");
	assert_int_equal(msrp_range_decode(&r, &pl), 0);
	assert_true(r.end_star && r.total_star);
	pl_set_str(&pl, "2049-4096/8192");
	assert_int_equal(msrp_range_decode(&r, &pl), 0);
	assert_int_equal(r.start, 2049);
	assert_int_equal(r.end, 4096);
	assert_int_equal(r.total, 8192);
	pl_set_str(&pl, "1-18446744073709551615/18446744073709551615");
	assert_int_equal(msrp_range_decode(&r, &pl), 0);

	const char *bad[] = {"0-1/1", "5-3/10", "1-20/10", "x-1/1", "1-2",
			     "1-2/3 x", "1-18446744073709551616/*", "-1-2/3"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		pl_set_str(&pl, bad[i]);
		assert_int_equal(msrp_range_decode(&r, &pl), EBADMSG);
	}
}


static int pr(const char *p, size_t size, void *arg)
{
	struct mbuf *mb = arg;
	return mbuf_write_mem(mb, (const uint8_t *)p, size);
}


static void test_serialize_roundtrip(void **state)
{
	const struct msrp_range r = {.start = 1, .end = 5, .total = 5};
	struct msrp_req_spec s = {
		.method = "SEND", .tid = "0123456789abcdef",
		.to_path = "msrp://127.0.0.1:9/s1;tcp",
		.from_path = "msrp://127.0.0.1:8/s2;tcp",
		.message_id = "m-1", .success_report = "yes",
		.failure_report = "partial", .range = &r,
		.cdisp = "attachment; filename=\"a.txt\"",
		.ctype = "text/plain",
	};
	struct mbuf *mb = mbuf_alloc(512);
	struct re_printf pf = {pr, mb};
	struct got g;
	struct pl to;
	(void)state;

	assert_int_equal(msrp_req_print(&pf, &s), 0);
	mbuf_write_str(mb, "hello");
	assert_int_equal(msrp_end_print(&pf, s.tid, '$', true), 0);
	assert_int_equal(feed(&g, (const char *)mb->buf, mb->end, 3, 100), 0);
	assert_string_equal(g.msgid, "m-1");
	assert_string_equal(g.fr, "partial");
	assert_int_equal(g.blen, 5);
	assert_memory_equal(g.body, "hello", 5);

	/* Content-Type is the last header before the body */
	assert_non_null(strstr((const char *)mb->buf,
			       "Content-Type: text/plain\r\n\r\nhello\r\n"
			       "-------0123456789abcdef$\r\n"));

	mbuf_reset(mb);
	pl_set_str(&to, "msrp://127.0.0.1:8/s2;tcp");
	assert_int_equal(msrp_resp_print(&pf, s.tid, 200, "OK", &to,
					 "msrp://127.0.0.1:9/s1;tcp"), 0);
	assert_int_equal(feed(&g, (const char *)mb->buf, mb->end, 1, 100), 0);
	assert_int_equal(g.scode, 200);
	assert_string_equal(g.to, "msrp://127.0.0.1:8/s2;tcp");

	s.to_path = "x\r\nInjected: 1";
	assert_int_equal(msrp_req_print(&pf, &s), EINVAL);
	mem_deref(mb);
}


static void test_body_safe_and_tid(void **state)
{
	static const uint8_t ok[] = "data -------abc ------- ----";
	static const uint8_t bad[] = "x\r\n-------0123456789abcdef$\r\n";
	char tid[20];
	struct pl pl;
	(void)state;

	assert_true(msrp_body_safe(ok, sizeof(ok) - 1, "0123456789abcdef"));
	assert_false(msrp_body_safe(bad, sizeof(bad) - 1, "0123456789abcdef"));
	assert_int_equal(msrp_tid_make(tid, sizeof(tid)), 0);
	assert_int_equal(strlen(tid), 16);   /* 64 random bits */
	pl_set_str(&pl, tid);
	assert_true(msrp_tid_valid(&pl));
}


static void test_answer_rules(void **state)
{
	static const struct {
		const char *method, *sr, *fr;
		uint16_t scode;
		bool response, report;
	} t[] = {
		{"SEND", NULL, NULL, 200, true, false},   /* FR absent = yes */
		{"SEND", "yes", NULL, 200, true, true},
		{"SEND", "yes", "no", 200, false, true},
		{"SEND", NULL, "no", 413, false, false},  /* no response  */
		{"SEND", NULL, "partial", 200, false, false},
		{"SEND", NULL, "partial", 413, true, false},
		{"SEND", "yes", NULL, 413, true, false},
		{"REPORT", "yes", "yes", 200, false, false}, /* never    */
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct msrp_hdrs h = {.req = true};
		struct msrp_answer a;

		pl_set_str(&h.method, t[i].method);
		if (t[i].sr)
			pl_set_str(&h.success_report, t[i].sr);
		if (t[i].fr)
			pl_set_str(&h.failure_report, t[i].fr);
		msrp_answer_rules(&a, &h, t[i].scode);
		assert_int_equal(a.response, t[i].response);
		assert_int_equal(a.report, t[i].report);
	}
}


static void test_reasm(void **state)
{
	struct msrp_reasm r;
	(void)state;

	memset(&r, 0, sizeof(r));
	r.total = 100;
	assert_int_equal(msrp_reasm_add(&r, 51, 50), 0);   /* 51-100  */
	assert_false(msrp_reasm_complete(&r));
	assert_int_equal(msrp_reasm_add(&r, 1, 20), 0);    /* 1-20    */
	assert_int_equal(r.n, 2);
	assert_int_equal(msrp_reasm_add(&r, 15, 10), 0);   /* overlap */
	assert_int_equal(r.have, 74);
	assert_int_equal(msrp_reasm_add(&r, 25, 26), 0);   /* fills   */
	assert_int_equal(r.n, 1);
	assert_true(msrp_reasm_complete(&r));
	assert_int_equal(r.have, 100);

	/* holes are bounded */
	memset(&r, 0, sizeof(r));
	for (uint64_t i = 0; i < MSRP_REASM_MAX; i++)
		assert_int_equal(msrp_reasm_add(&r, 1 + i * 10, 5), 0);
	assert_int_equal(msrp_reasm_add(&r, 5000, 5), EOVERFLOW);
	/* but filling a hole still works */
	assert_int_equal(msrp_reasm_add(&r, 6, 5), 0);
	assert_int_equal(r.n, MSRP_REASM_MAX - 1);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_send_any_split),
		cmocka_unit_test(test_endline_lookalikes),
		cmocka_unit_test(test_no_body_and_responses),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_serialize_roundtrip),
		cmocka_unit_test(test_body_safe_and_tid),
		cmocka_unit_test(test_answer_rules),
		cmocka_unit_test(test_reasm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
