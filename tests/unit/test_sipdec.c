/**
 * @file test_sipdec.c  src/regex/'s SIP decoders against libre 1.1.0's
 *
 * libre.a's own uri.o, via.o, SIP addr.o and cseq.o, with its param.o and
 * regex.o, their symbols renamed libre_* (tests/CMakeLists.txt), run
 * beside ours on the same input: the same return code and the same
 * result struct to the byte (every struct pl's pointer and length, the
 * fields a failure leaves set), on known URIs and headers, on every
 * line and piece of the RFC 4475 and RFC 5118 torture messages, and on
 * random and mutated strings (from a fixed seed, printed; SIPDEC_SEED=n
 * for another).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include "testutil.h"

int libre_uri_decode(struct uri *uri, const struct pl *pl);
int libre_uri_decode_hostport(const struct pl *hostport, struct pl *host,
			      struct pl *port);
int libre_uri_encode(struct re_printf *pf, const struct uri *uri);
int libre_uri_param_get(const struct pl *pl, const struct pl *pname,
			struct pl *pvalue);
int libre_uri_params_apply(const struct pl *pl, uri_apply_h *ah, void *arg);
int libre_uri_header_get(const struct pl *pl, const struct pl *hname,
			 struct pl *hvalue);
int libre_uri_headers_apply(const struct pl *pl, uri_apply_h *ah,
			    void *arg);
int libre_sip_via_decode(struct sip_via *via, const struct pl *pl);
int libre_sip_addr_decode(struct sip_addr *addr, const struct pl *pl);
int libre_sip_cseq_decode(struct sip_cseq *cseq, const struct pl *pl);
int libre_msg_param_decode(const struct pl *pl, const char *name,
			   struct pl *val);
int libre_msg_param_exists(const struct pl *pl, const char *name,
			   struct pl *val);

static unsigned long ncheck;


static void differ(const char *what, const struct pl *in, int ea, int eb)
{
	fail_msg("%s on \"%.*s\" (%zu bytes): %d, libre %d", what,
		 in->p ? (int)in->l : 0, in->p ? in->p : "", in->l, ea, eb);
}


/* Both return the same and leave the same bytes in what they fill,
 * from the same bytes before (a failure may leave fields set) */
#define SAME(what, in, fn, a, b) do {					\
		int _ea, _eb;						\
		memset(&(a), 0xa5, sizeof(a));				\
		memset(&(b), 0xa5, sizeof(b));				\
		_ea = fn(&(a), (in));					\
		_eb = libre_##fn(&(b), (in));				\
		if (_ea != _eb || memcmp(&(a), &(b), sizeof(a)))	\
			differ(what, (in), _ea, _eb);			\
	} while (0)


/* the pieces an apply handler is given, in order */
struct seen {
	struct pl v[16][2];
	int n;
	int stop;    /* the call that returns an error, 0 none */
};

static int seen_h(const struct pl *name, const struct pl *val, void *arg)
{
	struct seen *s = arg;

	if (s->n < (int)ARRAY_SIZE(s->v)) {
		s->v[s->n][0] = *name;
		s->v[s->n][1] = *val;
	}
	++s->n;
	return s->n == s->stop ? EPROTO : 0;
}


/* what libre's uri.o does beside decoding, on a URI both decoded */
static void same_uri_rest(const struct pl *in, const struct uri *u)
{
	static const char *const names[] = {
		"transport", "lr", "maddr", "user", "", "a", "Route", "x[",
		/* cut at libre's 128 bytes */
		("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"),
	};
	char ba[512], bb[512];
	int ea, eb;

	for (size_t cap = 4; cap <= sizeof(ba); cap = cap * 4) {
		memset(ba, 0, sizeof(ba));
		memset(bb, 0, sizeof(bb));
		ea = re_snprintf(ba, cap, "%H", uri_encode, u);
		eb = re_snprintf(bb, cap, "%H", libre_uri_encode, u);
		if (ea != eb || memcmp(ba, bb, sizeof(ba)))
			differ("uri_encode", in, ea, eb);
	}

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct pl name = {names[i], strlen(names[i])};
		struct pl a = PL_STR("unset"), b = PL_STR("unset");

		ea = uri_param_get(&u->params, &name, &a);
		eb = libre_uri_param_get(&u->params, &name, &b);
		if (ea != eb || a.p != b.p || a.l != b.l)
			differ("uri_param_get", in, ea, eb);

		a = b = PL_STR("unset");
		ea = uri_header_get(&u->headers, &name, &a);
		eb = libre_uri_header_get(&u->headers, &name, &b);
		if (ea != eb || a.p != b.p || a.l != b.l)
			differ("uri_header_get", in, ea, eb);
	}

	for (int stop = 0; stop < 3; stop++) {
		struct seen sa = {.stop = stop}, sb = {.stop = stop};

		ea = uri_params_apply(&u->params, seen_h, &sa);
		eb = libre_uri_params_apply(&u->params, seen_h, &sb);
		if (ea != eb || memcmp(&sa, &sb, sizeof(sa)))
			differ("uri_params_apply", in, ea, eb);

		memset(&sa, 0, sizeof(sa));
		memset(&sb, 0, sizeof(sb));
		sa.stop = sb.stop = stop;
		ea = uri_headers_apply(&u->headers, seen_h, &sa);
		eb = libre_uri_headers_apply(&u->headers, seen_h, &sb);
		if (ea != eb || memcmp(&sa, &sb, sizeof(sa)))
			differ("uri_headers_apply", in, ea, eb);
	}
}


/* the names of the parameters looked up with msg_param_*(): plain ones
 * (walked by hand) and one with an escape (libre's expression; one
 * with a class would take arguments neither passes) */
static const char *const pnames[] = {
	"branch", "tag", "lr", "", "2.0",
	"a\\b",
};


/* Every decoder, ours and libre's, on one input */
static void check(const char *p, size_t l)
{
	const struct pl in = {p, l};
	struct uri ua, ub;
	struct pl ha[2], hb[2];
	struct sip_via va, vb;
	struct sip_addr aa, ab;
	struct sip_cseq ca, cb;
	int ea, eb;

	SAME("uri_decode", &in, uri_decode, ua, ub);
	if (!libre_uri_decode(&ub, &in))
		same_uri_rest(&in, &ub);

	memset(ha, 0xa5, sizeof(ha));
	memset(hb, 0xa5, sizeof(hb));
	ea = uri_decode_hostport(&in, &ha[0], &ha[1]);
	eb = libre_uri_decode_hostport(&in, &hb[0], &hb[1]);
	if (ea != eb || memcmp(ha, hb, sizeof(ha)))
		differ("uri_decode_hostport", &in, ea, eb);

	SAME("sip_via_decode", &in, sip_via_decode, va, vb);
	SAME("sip_addr_decode", &in, sip_addr_decode, aa, ab);
	SAME("sip_cseq_decode", &in, sip_cseq_decode, ca, cb);

	for (size_t i = 0; i < ARRAY_SIZE(pnames); i++) {
		struct pl a = PL_STR("unset"), b = PL_STR("unset");

		ea = msg_param_decode(&in, pnames[i], &a);
		eb = libre_msg_param_decode(&in, pnames[i], &b);
		if (ea != eb || a.p != b.p || a.l != b.l)
			differ(pnames[i], &in, ea, eb);

		a = b = PL_STR("unset");
		ea = msg_param_exists(&in, pnames[i], &a);
		eb = libre_msg_param_exists(&in, pnames[i], &b);
		if (ea != eb || a.p != b.p || a.l != b.l)
			differ(pnames[i], &in, ea, eb);
	}
	++ncheck;
}


/* an input, every prefix and every suffix of it: where it ends matters */
static void check_ends(const char *p, size_t l)
{
	check(p, l);
	if (l > 160)
		return;
	for (size_t k = 0; k < l; k++) {
		check(p, k);
		check(p + l - k, k);
	}
}


static const char *const known[] = {
	/* URIs */
	"sip:alice@example.com", "sip:alice:secret@example.com:5061",
	"sips:bob@[2001:db8::1]:5060;transport=tls",
	"sip:[2001:db8::1]:5060", "sip:[2001:DB8::1]", "sip:[::1]",
	"sip:[fe80::1%eth0]:5060", "sip:[2001:db8::g]:1", "sip:[]:5060",
	"sip:[2001:db8::1", "sip:2001:db8::1", "sip:127.0.0.1:5060;lr",
	"sip:u1@example.com;user=phone?Subject=x&Priority=urgent",
	"sip:%61lice@example.com", "sip:al%20ice:p%40ss@host",
	"sip:user;par=u%40example.net@example.com",
	"sip:host;maddr=10.0.0.1;lr;transport", "sip:host?", "sip:host;",
	"sip:host:", "sip:host::5060", "sip:host:50x60", "sip:host:99999",
	"sip:@host", "sip:user@", "sip:user@;lr", "sip::@host", "sip:a@b@c",
	"sip:a:b:c@d", "sip:a@b:c:d", "sip:/path", "sip:host/path;x?y",
	"http://example.com:8080/a/b?c=d", "tel:+1-201-555-0123",
	"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "mailto:a@b",
	"alice@example.com", "example.com", ":", "::", "@", ":@", "a:",
	"a:b", ";", "?", " ", "", "sip: host", "sip:host name",
	"sip:user@host name", "SIP:USER@HOST", "sip:\"a b\"@host",
	"sip:push@localhost;transport=udp",
	/* Via */
	"SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK776asdhds;rport",
	"SIP/2.0/TCP host.example.com;branch=z9hG4bK1;received=1.2.3.4",
	"SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bKx",
	"sip / 2.0 / udp host:5060 ; branch = z9hG4bK\r\n ;rport",
	"SIP/2.0/SCTP h;branch=1", "SIP/2.0/WS h", "SIP/2.0/UDP",
	"SIP/2.0/UDP ;branch=x", "SIP/2.0/ h", "SIP/2.1/UDP h",
	"SIP/2.0/UDP h:1:2", "SIP/2.0/UDP :5060", "SIP/2.0/UDP [::1]",
	"x SIP/2.0/UDP h", "SIP SIP/2.0/UDP h", "SIP/2x0/UDP h",
	"SIP/2.0/UDP h;branch", "SIP/2.0/UDP h;branch=\"a;b\"",
	/* From, To, Contact */
	"\"Bob \\\"B\\\" Smith\" <sip:bob@example.com;lr>;tag=a6c85cf",
	"<sip:push@localhost>;tag=0123abcd", "Alice <sip:alice@a.com>",
	"sip:carol@chicago.com;tag=1", "\"\" <sip:x@y>", "\"a <sip:b>",
	"<sip:a@b", "<>", "< sip:a@b >", "<sip:a@b>>", "a b c <sip:x@y>",
	"\"quoted\\\\\" <sip:q@h>", "<tel:123>;tag=x",
	"<sip:a@[2001:db8::1]:5060;transport=tcp>;expires=3600",
	"\"x\"<sip:a@b>", "x\\\"y <sip:a@b>", ";tag=1", "<;>",
	/* CSeq */
	"1 MESSAGE", "  42 INVITE", "4711\tREGISTER", "1", "1 ", "x 1 A",
	"4294967296 MESSAGE", "99999999999999999999 X", "1 2 3", "a1 B",
};


static void test_known(void **state)
{
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		check_ends(known[i], strlen(known[i]));

	/* no input at all */
	check(NULL, 0);
	check(NULL, 5);
	assert_int_equal(uri_decode(NULL, &PL_STR("sip:a")), EINVAL);
	assert_int_equal(uri_decode_hostport(NULL, &(struct pl){0},
					     &(struct pl){0}), EINVAL);
	assert_int_equal(sip_via_decode(NULL, &PL_STR("x")), EINVAL);
	assert_int_equal(sip_addr_decode(NULL, &PL_STR("x")), EINVAL);
	assert_int_equal(sip_cseq_decode(NULL, &PL_STR("x")), EINVAL);
	assert_int_equal(uri_encode(NULL, NULL), 0);

	/* very long */
	{
		static char big[5000];
		memset(big, 'a', sizeof(big));
		memcpy(big, "sip:", 4);
		big[2000] = '@';
		big[3000] = ';';
		big[4000] = '?';
		check(big, sizeof(big));
		memset(big, ':', sizeof(big));
		check(big, sizeof(big));
	}
}


/* the torture messages' pieces, collected for test_torture and for
 * test_random's mutations */
static char *pool[20000];
static size_t npool;

static void pool_add(const char *p, size_t l)
{
	if (npool < ARRAY_SIZE(pool))
		pool[npool++] = strndup(p, l);
}


/* the pieces between sep bytes */
static void pool_split(const char *a, const char *e, char sep)
{
	while (a < e) {
		const char *b = memchr(a, sep, (size_t)(e - a));

		if (!b)
			b = e;
		pool_add(a, (size_t)(b - a));
		a = b + 1;
	}
}


/* a line: whole, its value after ':', the value's pieces between commas,
 * between '<' and '>', and between spaces */
static void pool_line(const char *p, size_t l)
{
	const char *v = memchr(p, ':', l), *e = p + l;

	pool_add(p, l);
	if (!v)
		v = p;
	else
		++v;
	pool_add(v, (size_t)(e - v));
	pool_split(v, e, ',');
	pool_split(p, e, ' ');

	for (const char *a = v; (a = memchr(a, '<', (size_t)(e - a))); ) {
		const char *b = memchr(a, '>', (size_t)(e - a));

		++a;
		if (!b)
			break;
		pool_add(a, (size_t)(b - a));
	}
}


static void pool_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512], buf[16384];
		size_t n;
		FILE *f;

		if (de->d_name[0] == '.' || !strstr(de->d_name, ".dat"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);

		/* lines, and each header with its folded lines */
		for (size_t a = 0; a < n; ) {
			size_t b = a, c;

			while (b < n && buf[b] != '\n')
				++b;
			c = b;
			while (c + 1 < n && (buf[c + 1] == ' ' ||
					     buf[c + 1] == '\t')) {
				++c;
				while (c < n && buf[c] != '\n')
					++c;
			}
			pool_line(buf + a, b - a);
			if (b > a && buf[b - 1] == '\r')
				pool_line(buf + a, b - a - 1);
			if (c > b)
				pool_line(buf + a, c - a);
			a = b + 1;
		}
	}
	closedir(d);
}


static void test_torture(void **state)
{
	(void)state;

	pool_dir(TORTURE_DIR "/rfc4475");
	pool_dir(TORTURE_DIR "/rfc5118");
	print_message("%zu pieces of torture messages\n", npool);
	assert_true(npool > 1000);

	for (size_t i = 0; i < npool; i++)
		check_ends(pool[i], strlen(pool[i]));
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		pool_add(known[i], strlen(known[i]));
}


static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}


/* bytes the expressions care about, more often than others */
static const char alpha[] = "sipSIP:@;?/ <>\"\\[]&=.0123456789abfABFgz"
	"\t\r\n,-%2.0/UDPtcp\x80\xff";

static void test_random(void **state)
{
	const char *env = getenv("SIPDEC_SEED");
	const unsigned long t0 = ncheck;
	char in[96];
	(void)state;

	rng = env ? strtoull(env, NULL, 0) : 20261206;
	print_message("SIPDEC_SEED=%llu\n", (unsigned long long)rng);
	rng |= 1;

	/* random strings */
	for (int r = 0; r < 200000; r++) {
		const size_t l = rnd(sizeof(in));

		for (size_t i = 0; i < l; i++)
			in[i] = alpha[rnd(sizeof(alpha) - 1)];
		check(in, l);
	}

	/* known strings and torture pieces, a few bytes changed */
	for (int r = 0; r < 200000; r++) {
		const char *src = pool[rnd((uint32_t)npool)];
		size_t l = strlen(src);

		if (l > sizeof(in) - 8)
			l = sizeof(in) - 8;
		memcpy(in, src, l);
		for (uint32_t k = 1 + rnd(4); k; k--) {
			const size_t at = l ? rnd((uint32_t)l) : 0;
			const char c = alpha[rnd(sizeof(alpha) - 1)];

			switch (rnd(3)) {

			case 0:   /* replace */
				if (l)
					in[at] = c;
				break;

			case 1:   /* insert */
				memmove(in + at + 1, in + at, l - at);
				in[at] = c;
				++l;
				break;

			default:  /* delete */
				if (!l)
					break;
				memmove(in + at, in + at + 1, l - at - 1);
				--l;
				break;
			}
		}
		check(in, l);
	}

	print_message("%lu random and mutated inputs\n", ncheck - t0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_torture),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
