/**
 * @file test_noncecount.c  Digest replay (RFC 7616 §3.4): counts must
 *                          grow per nonce; retransmissions pass; room
 */
#include "testutil.h"
#include "core/digest.h"
#include "core/noncecount.h"


static const char *authz(char *buf, size_t sz, const char *nonce,
			 uint32_t nc, const char *qop)
{
	re_snprintf(buf, sz, "Digest username=\"alice\", realm=\"sippush\", "
		    "nonce=\"%s\", uri=\"sip:example.com\", "
		    "response=\"0123456789abcdef0123456789abcdef\"%s%s"
		    ", nc=%08x, cnonce=\"abc\"", nonce, qop ? ", qop=" : "",
		    qop ? qop : "", nc);
	return buf;
}


static int use(struct noncecount *nc, const char *nonce, uint32_t n,
	       const uint8_t *md, uint64_t now)
{
	char buf[400];
	struct pl pl;

	pl_set_str(&pl, authz(buf, sizeof(buf), nonce, n, "auth"));
	return noncecount_use(nc, &pl, md, now);
}


static void test_counts_grow(void **state)
{
	char nonce[DIGEST_NONCE_LEN + 1], buf[400];
	struct noncecount *nc = NULL;
	uint8_t m1[16] = {1}, m2[16] = {2};
	struct pl pl;
	(void)state;

	assert_int_equal(noncecount_alloc(&nc, 16, 300), 0);
	assert_int_equal(digest_nonce(nonce, "k", 1000), 0);

	assert_int_equal(use(nc, nonce, 1, m1, 1001), 0);
	/* the same request again: a retransmission */
	assert_int_equal(use(nc, nonce, 1, m1, 1002), 0);
	/* the same count on another request: the replay */
	assert_int_equal(use(nc, nonce, 1, m2, 1002), EALREADY);
	assert_int_equal(use(nc, nonce, 1, NULL, 1002), EALREADY);
	/* a retransmission comes within a transaction's time only */
	assert_int_equal(use(nc, nonce, 1, m1, 1040), EALREADY);
	assert_int_equal(use(nc, nonce, 2, m2, 1003), 0);
	assert_int_equal(use(nc, nonce, 2, NULL, 1003), EALREADY);
	assert_int_equal(use(nc, nonce, 5, NULL, 1004), 0);
	assert_int_equal(use(nc, nonce, 3, NULL, 1004), EALREADY);
	assert_int_equal(noncecount_size(nc), 1);

	/* nothing to count: no qop, qop=auth-int, nc 0 */
	pl_set_str(&pl, authz(buf, sizeof(buf), nonce, 9, NULL));
	assert_int_equal(noncecount_use(nc, &pl, NULL, 1005), EPROTO);
	pl_set_str(&pl, authz(buf, sizeof(buf), nonce, 9, "auth-int"));
	assert_int_equal(noncecount_use(nc, &pl, NULL, 1005), EPROTO);
	assert_int_equal(use(nc, nonce, 0, NULL, 1005), EPROTO);
	mem_deref(nc);
}


static void test_room(void **state)
{
	char nonce[8][DIGEST_NONCE_LEN + 1];
	struct noncecount *nc = NULL;
	(void)state;

	assert_int_equal(noncecount_alloc(&nc, 4, 300), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(digest_nonce(nonce[i], "k", 1000 + i), 0);

	for (int i = 0; i < 4; i++)
		assert_int_equal(use(nc, nonce[i], 1, NULL, 1010), 0);
	assert_int_equal(noncecount_size(nc), 4);

	/* full: the oldest nonce's count goes, and that nonce is stale */
	assert_int_equal(use(nc, nonce[4], 1, NULL, 1010), 0);
	assert_int_equal(noncecount_size(nc), 4);
	assert_int_equal(use(nc, nonce[0], 2, NULL, 1010), ESTALE);
	assert_int_equal(use(nc, nonce[1], 2, NULL, 1010), 0);

	/* expired ones make room first, without making anyone stale */
	assert_int_equal(use(nc, nonce[7], 1, NULL, 1305), 0);
	assert_int_equal(noncecount_size(nc), 1);
	assert_int_equal(use(nc, nonce[5], 1, NULL, 1305), 0);
	assert_int_equal(noncecount_size(nc), 2);
	mem_deref(nc);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_grow),
		cmocka_unit_test(test_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
