/**
 * @file test_cidr_digest.c  --trust prefixes, digest nonces and responses,
 *                           option value parsing
 */
#include "testutil.h"
#include <sippush/cidr.h>
#include "core/digest.h"
#include "rt/opts.h"


static bool in(const char *net, const char *addr)
{
	struct cidr c;
	struct pl pl;
	struct sa sa;

	pl_set_str(&pl, net);
	assert_int_equal(cidr_decode(&c, &pl), 0);
	assert_int_equal(sa_set_str(&sa, addr, 5060), 0);
	return cidr_match(&c, &sa);
}


static void test_cidr(void **state)
{
	struct cidr c;
	(void)state;

	assert_true(in("127.0.0.0/8", "127.1.2.3"));
	assert_false(in("127.0.0.0/8", "128.0.0.1"));
	assert_true(in("10.1.0.0/16", "10.1.255.255"));
	assert_false(in("10.1.0.0/16", "10.2.0.0"));
	assert_true(in("192.168.1.0/25", "192.168.1.127"));
	assert_false(in("192.168.1.0/25", "192.168.1.128"));
	assert_true(in("0.0.0.0/0", "8.8.8.8"));
	assert_true(in("10.0.0.7", "10.0.0.7"));
	assert_false(in("10.0.0.7", "10.0.0.6"));
	assert_true(in("::1/128", "::1"));
	assert_true(in("fd00::/8", "fd12::1"));
	assert_false(in("fd00::/8", "fe80::1"));
	assert_false(in("::1/128", "127.0.0.1"));   /* family differs */

	assert_int_equal(cidr_decode(&c, &PL_STR("10.0.0.0/33")), EINVAL);
	assert_int_equal(cidr_decode(&c, &PL_STR("10.0.0.0/")), EINVAL);
	assert_int_equal(cidr_decode(&c, &PL_STR("10.0.0.0/x")), EINVAL);
	assert_int_equal(cidr_decode(&c, &PL_STR("nonsense")), EINVAL);
	assert_int_equal(cidr_decode(&c, &PL_STR("::/129")), EINVAL);
}


static void test_nonce(void **state)
{
	char nonce[DIGEST_NONCE_LEN + 1], other[DIGEST_NONCE_LEN + 1];
	struct pl pl;
	bool stale;
	(void)state;

	assert_int_equal(digest_nonce(nonce, "k", 1000), 0);
	assert_int_equal(strlen(nonce), DIGEST_NONCE_LEN);
	/* two challenges never share a nonce (nor its counts), even in
	 * the same second */
	assert_int_equal(digest_nonce(other, "k", 1000), 0);
	assert_string_not_equal(nonce, other);
	pl_set_str(&pl, nonce);

	assert_int_equal(digest_nonce_check(&pl, "k", 1100, 300, &stale), 0);
	assert_false(stale);
	assert_int_equal(digest_nonce_check(&pl, "k", 1301, 300, &stale), 0);
	assert_true(stale);
	/* another secret, or one changed character: forged */
	assert_int_equal(digest_nonce_check(&pl, "j", 1100, 300, &stale),
			 EAUTH);
	nonce[3] ^= 1;
	assert_int_equal(digest_nonce_check(&pl, "k", 1100, 300, &stale),
			 EAUTH);
	pl.l = 10;
	assert_int_equal(digest_nonce_check(&pl, "k", 1100, 300, &stale),
			 EAUTH);
}


/* RFC 2617 response computed here the long way, checked by the code */
static void test_verify(void **state)
{
	char ha1[DIGEST_HA1_HEX + 1], nonce[DIGEST_NONCE_LEN + 1];
	char authz[512], resp[33];
	uint8_t ha2[16], d[16], bha1[16];
	struct pl a, user, met = PL("REGISTER");
	bool stale;
	(void)state;

	assert_int_equal(digest_ha1_hex(ha1, "alice", "sippush", "pw"), 0);
	assert_int_equal(md5_printf(bha1, "alice:sippush:pw"), 0);
	for (int i = 0; i < 16; i++) {
		char h[3];
		re_snprintf(h, sizeof(h), "%02x", bha1[i]);
		assert_memory_equal(ha1 + 2 * i, h, 2);
	}

	assert_int_equal(digest_nonce(nonce, "sec", 5000), 0);
	assert_int_equal(md5_printf(ha2, "REGISTER:sip:example.com"), 0);
	assert_int_equal(md5_printf(d, "%w:%s:00000001:abc:auth:%w",
				    bha1, sizeof(bha1), nonce, ha2,
				    sizeof(ha2)), 0);
	for (int i = 0; i < 16; i++)
		re_snprintf(resp + 2 * i, 3, "%02x", d[i]);

	re_snprintf(authz, sizeof(authz), "Digest username=\"alice\", "
		    "realm=\"sippush\", nonce=\"%s\", uri=\"sip:example.com\", "
		    "response=\"%s\", qop=auth, nc=00000001, cnonce=\"abc\"",
		    nonce, resp);
	pl_set_str(&a, authz);

	assert_int_equal(digest_verify(&a, &met, "sippush", ha1, "sec", 5010,
				       300, &user, &stale), 0);
	assert_false(stale);
	assert_pl_equal(user, "alice");

	/* wrong realm, wrong HA1 (password), wrong method, stale nonce */
	assert_int_equal(digest_verify(&a, &met, "other", ha1, "sec", 5010,
				       300, &user, &stale), EAUTH);
	assert_int_equal(digest_ha1_hex(ha1, "alice", "sippush", "px"), 0);
	assert_int_equal(digest_verify(&a, &met, "sippush", ha1, "sec", 5010,
				       300, &user, &stale), EAUTH);
	assert_int_equal(digest_ha1_hex(ha1, "alice", "sippush", "pw"), 0);
	assert_int_equal(digest_verify(&a, &PL_STR("INVITE"), "sippush", ha1,
				       "sec", 5010, 300, &user, &stale),
			 EAUTH);
	assert_int_equal(digest_verify(&a, &met, "sippush", ha1, "sec", 9000,
				       300, &user, &stale), 0);
	assert_true(stale);
	/* garbage */
	assert_int_equal(digest_verify(&PL_STR("Basic abc"), &met, "sippush",
				       ha1, "sec", 5010, 300, &user, &stale),
			 EAUTH);
}


static void test_opts(void **state)
{
	uint64_t v;
	uint32_t u;
	(void)state;

	assert_int_equal(opts_duration(&v, "30"), 0);
	assert_int_equal(v, 30);
	assert_int_equal(opts_duration(&v, "7d"), 0);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(opts_duration(&v, "2h"), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(opts_duration(&v, "5m"), 0);
	assert_int_equal(v, 300);
	assert_int_equal(opts_duration(&v, "5x"), EINVAL);
	assert_int_equal(opts_duration(&v, "5mm"), EINVAL);
	assert_int_equal(opts_duration(&v, "-5"), EINVAL);
	assert_int_equal(opts_duration(&v, ""), EINVAL);
	assert_int_equal(opts_size(&v, "16M"), 0);
	assert_int_equal(v, 16u << 20);
	assert_int_equal(opts_size(&v, "1k"), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(opts_size(&v, "99999999999999999999"), EINVAL);
	assert_int_equal(opts_u32(&u, "10", 1, 10), 0);
	assert_int_equal(opts_u32(&u, "11", 1, 10), ERANGE);
	assert_int_equal(opts_u32(&u, "1x", 1, 10), EINVAL);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
