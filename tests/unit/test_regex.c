/**
 * @file test_regex.c  src/regex/ against libre 1.1.0's re_regex(),
 *                     msg_param_decode() and msg_param_exists()
 *
 * libre.a's own regex.o and param.o, their symbols renamed libre_*
 * (tests/CMakeLists.txt), run beside ours: the same result and the same
 * struct pl arguments, on the expressions libre and sippush use, on the
 * inputs they see, and on random expressions and inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>

int libre_re_regex(const char *ptr, size_t len, const char *expr, ...);
int libre_msg_param_decode(const struct pl *pl, const char *name,
			   struct pl *val);
int libre_msg_param_exists(const struct pl *pl, const char *name,
			   struct pl *val);

enum { NARG = 8 };

static const struct pl unset = {(const char *)1, 77};


/* Both on one expression and input; every argument compared */
static void same(const char *p, size_t l, const char *expr, uint32_t nulls)
{
	struct pl a[NARG], b[NARG];
	struct pl *pa[NARG], *pb[NARG];
	int ea, eb;

	for (int i = 0; i < NARG; i++) {
		a[i] = b[i] = unset;
		pa[i] = (nulls >> i) & 1 ? NULL : &a[i];
		pb[i] = (nulls >> i) & 1 ? NULL : &b[i];
	}
	ea = re_regex(p, l, expr, pa[0], pa[1], pa[2], pa[3], pa[4], pa[5],
		      pa[6], pa[7]);
	eb = libre_re_regex(p, l, expr, pb[0], pb[1], pb[2], pb[3], pb[4],
			    pb[5], pb[6], pb[7]);
	if (ea != eb)
		fail_msg("\"%s\" on \"%.*s\": %d, libre %d", expr, (int)l, p,
			 ea, eb);
	for (int i = 0; i < NARG; i++) {
		if (a[i].p != b[i].p || a[i].l != b[i].l)
			fail_msg("\"%s\" on \"%.*s\": argument %d differs",
				 expr, (int)l, p, i);
	}
}


static const char *const exprs[] = {
	/* libre 1.1.0 */
	" [^ ]+ [^ ]+", " [^ ]+", ";[^;=]+[=]*[^;]*",
	"HTTP/[0-9.]+ [0-9]+[ ]*[^]*", "IN IP[46]1 [^ ]+",
	"SIP[  \t\r\n]*/[ \t\r\n]*2.0[ \t\r\n]*/[ \t\r\n]*",
	"[ \t\r\n,]+[a-z]+[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n,]*",
	"[ \t\r\n]*Digest[ \t\r\n]+",
	"[ \t\r\n]*[^ \t\r\n;/]+[ \t\r\n]*/[ \t\r\n]*[^ \t\r\n;]+",
	"[ \t\r\n]*[~;]+[;]*", "[/]*[^./]+", "[0-9]+ IN IP[46]1 [^ ]+",
	"[0-9]+", "[0-9]+.[0-9]+[.\\-]1[0-9]+", "[0-9]+[ \t\r\n]+[^ \t\r\n]+",
	"[0-9]+[/]*[a-z]* [^ ]+[ ]*[^ ]*", "[?&]1[^=]+=[^&]+",
	"[A-Z]+[ \t\r\n]*[^; \t\r\n]+[ \t\r\n]*[^]*",
	"[\r\n]*[^\r\n]+[\r]*[\n]1",
	"[^ \t\r\n=]+[ \t\r\n]*[=]*[ \t\r\n]*[~ \t\r\n]*",
	"[^ \t\r\n]+ [^ \t\r\n]+ [^\r\n]*[\r]*[\n]1",
	"[^ ]+ [^/]+/[0-9]+[/]*[^]*", "[^ ]+ [^]*", "[^:]+:[0-9]+",
	"[^:]+:[^/;? ]+[^;? ]*[^?]*[^]*",
	"[^:]+:[^@:]*[:]*[^@]*@[^/;? ]+[^;? ]*[^?]*[^]*",
	"[^:]+:[^]+", "[^:]+[:]*[0-9]*", "[^; \t\r\n]+[ \t\r\n]*[^]*",
	"[^;]+[^]*", "[^]*", "[a-z]+ [^ ]+ [^ ]+[^]*",
	"[a-z]+://[^:/]+[:]*[0-9]*[^]+", "[a-z]+[ \t\r\n]*[^]*",
	"[~ \t\r\n<]*[ \t\r\n]*<[^>]+>[^]*", "\\[[0-9a-f:]+\\][:]*[0-9]*",
	";[ \t\r\n]*tag[ \t\r\n]*=[ \t\r\n]*[~ \t\r\n;]+",
	";[ \t\r\n]*lr[ \t\r\n;=]*", ";maddr[=]*[^;]*", "[?&]1Route=[^&]+",
	/* sippush */
	"<[^>]+>", "SIP/2.0 [0-9]+", "[0-9]+ [0-9]+", "[^ \t]+", "[^,]+",
	"[^/]+/[0-9]+", "[^/]+/[^;]+[^]*", "[^;]*;method=[^;]*[^]*",
	"[a-z]+://[^/]+/[^;]+;[a-z]+", "\\[[^\\]]+\\]:[0-9]+",
	"a=fingerprint:[^ ]+ [0-9A-Fa-f:]+", "a=setup:[^ ]*",
	"c=IN IP[0-9]+ [^ ]+", "m=[^ ]+ [0-9]+ [^ ]+", "multipart/[^;]+",
	"r.[0-9a-f]+.", "WAPPUSH=[^/]+/TYPE=[^@]+@[^]*",
	/* malformed, odd */
	"", "[", "[a", "[a]", "[a]x", "[a]\\+", "[a]\\\\", "[a-]+", "[-a]+",
	"[^^]+", "[~~]+", "[a-c-e]+", "[\\]]+", "\\", "a\\", "\\[a",
	"[a]0", "[a]9b", "x[^x]2y",
};

static const char *const inputs[] = {
	"SIP/2.0 200 OK\r\n",
	"MESSAGE sip:u1@example.com SIP/2.0\r\n",
	"SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport=5060",
	"\"Bob \\\"B\\\" Smith\" <sip:bob@example.com;lr>;tag=a6c85cf",
	"<sip:push@localhost>;tag=0123abcd",
	"sip:alice@example.com;gr=urn:uuid:f81d4fae-7dec-11d0;transport=udp",
	"sip:[2001:db8::1]:5061;maddr=10.0.0.1?Route=%3Csip:x%3E&a=b",
	"1 MESSAGE", "  42 INVITE", "text/plain;charset=utf-8",
	"multipart/mixed;boundary=x", "a=fingerprint:sha-256 AB:cd:01",
	"Digest realm=\"x\", nonce=\"y,z\", qop=auth",
	"HTTP/1.1 202 Accepted", "", ";", "\"", "\\", "\"a\"", "<>", "[::1]:0",
	"\xc3\xa9t\xe9;TAG=\xff", "x;lr", "x;LR=1;maddr=h",
};


static void test_known(void **state)
{
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(exprs); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(inputs); j++) {
			const size_t l = strlen(inputs[j]);

			/* every prefix: where an input ends matters */
			for (size_t k = 0; k <= l; k++) {
				same(inputs[j], k, exprs[i], 0);
				same(inputs[j] + (l - k), k, exprs[i], 0x55);
			}
		}
	}
}


static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}


static void test_random(void **state)
{
	static const char ealpha[] = "[[[]]]^~-\\*+19aAzZ\" ;<>:.";
	static const char ialpha[] = "aAzZ\" ;<>:.\\-^]\x80\xff" "019";
	char expr[48], in[40];
	(void)state;

	for (int r = 0; r < 300000; r++) {
		const size_t el = rnd(sizeof(expr) - 1);
		const size_t il = rnd(sizeof(in));
		int classes = 0;

		for (size_t i = 0; i < el; i++) {
			expr[i] = ealpha[rnd(sizeof(ealpha) - 1)];
			if (expr[i] == '[' && ++classes > NARG)
				expr[i] = 'a';
		}
		expr[el] = '\0';
		for (size_t i = 0; i < il; i++)
			in[i] = ialpha[rnd(sizeof(ialpha) - 1)];
		same(in, il, expr, rnd(4) ? 0 : rnd(256));
	}
}


/* random expressions of well-formed steps, now and then a broken one */
static void test_random_steps(void **state)
{
	static const char lit[] = "aAzZ;:<>. \"@";
	static const char body[] = "aAzZ;:<>. \"@09-^~\\]";
	static const char cnt[] = "**++1239x";
	static const char ialpha[] = "aAzZbB\" ;<>:.@\\-09\r\n";
	char expr[96], in[48];
	(void)state;

	for (int r = 0; r < 200000; r++) {
		const int steps = 1 + (int)rnd(6);
		const size_t il = rnd(sizeof(in));
		size_t n = 0;
		int classes = 0;

		for (int i = 0; i < steps && n < sizeof(expr) - 16; i++) {
			if (rnd(3) == 0 || classes == NARG) {
				if (rnd(8) == 0)
					expr[n++] = '\\';
				expr[n++] = lit[rnd(sizeof(lit) - 1)];
				continue;
			}
			++classes;
			expr[n++] = '[';
			if (rnd(3) == 0)
				expr[n++] = "^~"[rnd(2)];
			for (uint32_t k = rnd(5); k; k--) {
				expr[n] = body[rnd(sizeof(body) - 1)];
				if (expr[n] == ']' || expr[n] == '\\')
					expr[n++] = '\\';
				else
					n++;
				if (rnd(4) == 0) {
					expr[n++] = '-';
					expr[n++] = "z9Z"[rnd(3)];
				}
			}
			if (rnd(30))
				expr[n++] = ']';
			expr[n++] = cnt[rnd(sizeof(cnt) - 1)];
		}
		expr[n] = '\0';
		for (size_t i = 0; i < il; i++)
			in[i] = ialpha[rnd(sizeof(ialpha) - 1)];
		same(in, il, expr, rnd(4) ? 0 : rnd(256));
	}
}


/* more steps than one call keeps: the long path */
static void test_long(void **state)
{
	char expr[1200], in[700];
	size_t n = 0;
	(void)state;

	for (int i = 0; i < 150; i++)
		n += (size_t)re_snprintf(expr + n, sizeof(expr) - n, "a");
	n += (size_t)re_snprintf(expr + n, sizeof(expr) - n, "[b]+");
	for (int i = 0; i < 5; i++)
		n += (size_t)re_snprintf(expr + n, sizeof(expr) - n,
					 "[a-z0-9;,._ABC-]*[x]1");
	memset(in, 'a', sizeof(in));
	memcpy(in + 300, "bbbxyzx;x.x_x", 13);
	for (size_t k = 0; k < sizeof(in); k += 37)
		same(in + k, sizeof(in) - k, expr, 0);
	same(in, sizeof(in), expr, 0x3);

	/* a class of 64 ranges is libre's most; 65 is malformed */
	for (size_t m = 62; m <= 66; m++) {
		n = 0;
		expr[n++] = 'x';
		expr[n++] = '[';
		for (size_t i = 0; i < m; i++)
			expr[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&()"[i];
		expr[n++] = ']';
		expr[n++] = '+';
		expr[n] = '\0';
		same("x0!#abc", 7, expr, 0);
		same("yx", 2, expr, 0);
		same("y", 1, expr, 0);
	}

	/* many classes: the range pool overflows first */
	n = 0;
	for (int i = 0; i < 7; i++)
		n += (size_t)re_snprintf(expr + n, sizeof(expr) - n,
					 "[abcdefghijklmnopqrstuvwxyz0123456789"
					 "ABCDEFGHIJ]*");
	for (size_t k = 0; k < 40; k++)
		same(inputs[k % ARRAY_SIZE(inputs)], strlen(inputs[k %
			ARRAY_SIZE(inputs)]), expr, 0);
}


/* the parameters of SIP headers and URIs, by name */
static void test_param(void **state)
{
	static const char *const names[] = {
		"tag", "branch", "maddr", "transport", "lr", "gr", "rport",
		"received", "expires", "+sip.instance", "TAG", "t", "", "a b",
		"reg-id", "x\\y", "a.b*",
		/* long enough to be cut at libre's 128 bytes */
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	};
	static const char *const vals[] = {
		";tag=a6c85cf;lr", "; TAG = x ;lr=", ";lr", ";lr;maddr=1.2.3.4",
		";branch=z9hG4bK.1;rport;received=10.0.0.1",
		";gr=urn:uuid:f81d;+sip.instance=\"<urn:uuid:1>\"",
		";transport=udp", ";transport", ";transportx=1", ";expires=0",
		";tagx=1;tag=2", "tag=1", ";tag", ";tag=", ";tag=\"a;b\";x",
		";reg-id=1 ", ";\r\n tag\t=\t5", "", ";", ";;;",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(vals); j++) {
			const size_t l = strlen(vals[j]);

			for (size_t k = 0; k <= l; k++) {
				const bool long_name = strlen(names[i]) > 100;
				struct pl pl = {vals[j], k};
				struct pl a = unset, b = unset;
				int ea, eb;

				ea = msg_param_decode(&pl, names[i], &a);
				eb = libre_msg_param_decode(&pl, names[i], &b);
				assert_int_equal(ea, eb);
				/* a name cut off: libre leaves the value
				 * unset, whatever is on its stack */
				if (!ea && long_name)
					continue;
				assert_ptr_equal(a.p, b.p);
				assert_int_equal(a.l, b.l);

				a = b = unset;
				ea = msg_param_exists(&pl, names[i], &a);
				eb = libre_msg_param_exists(&pl, names[i], &b);
				assert_int_equal(ea, eb);
				assert_ptr_equal(a.p, b.p);
				assert_int_equal(a.l, b.l);
			}
		}
	}
	assert_int_equal(msg_param_decode(NULL, "tag", &(struct pl){0}),
			 EINVAL);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_random_steps),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
