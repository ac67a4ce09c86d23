/**
 * @file test_lease.c  Shards, rendezvous owners, one node's lease round
 */
#include "testutil.h"
#include "core/lease.h"

enum { T = 1000000 };   /* the store's clock in the tests */


/* Every node runs its round on the same leases; claims are applied as the
 * store would (a free or expired lease only, epoch + 1), releases free
 * the shard. Returns how many shards changed hands. */
static uint32_t rounds(struct lease *v, const char *const *live, size_t n,
		       int64_t now, uint32_t max_release, int times)
{
	uint32_t moved = 0;

	for (int r = 0; r < times; r++) {
		for (size_t i = 0; i < n; i++) {
			struct lease_view lv = {
				.me = live[i], .live = live, .nlive = n, .v = v,
				.now_ms = now, .grace_ms = 3000,
				.max_release = max_release,
			};
			struct lease_plan p;

			assert_int_equal(lease_plan(&p, &lv), 0);
			for (uint32_t k = 0; k < p.nrelease; k++) {
				v[p.release[k]].owner = NULL;
				v[p.release[k]].until_ms = now;
			}
			for (uint32_t k = 0; k < p.nclaim; k++) {
				struct lease *l = &v[p.claim[k]];

				if (l->owner && l->until_ms > now)
					continue;   /* another won */
				l->owner = live[i];
				l->until_ms = now + 5000;
				++l->epoch;
				++moved;
			}
		}
	}
	return moved;
}


static uint32_t held_by(const struct lease *v, const char *node)
{
	uint32_t n = 0;

	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		n += v[s].owner && !strcmp(v[s].owner, node);
	return n;
}


static void test_shard_and_score(void **state)
{
	uint32_t count[LEASE_SHARDS] = {0};
	char aor[64];
	(void)state;

	/* stable, in range, and spread */
	assert_int_equal(lease_shard_of("sip:alice@example.com"),
			 lease_shard_of("sip:alice@example.com"));
	for (int i = 0; i < 25600; i++) {
		(void)re_snprintf(aor, sizeof(aor), "sip:u%d@example.com", i);
		++count[lease_shard_of(aor)];
	}
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		assert_in_range(count[s], 50, 150);
	assert_true(lease_score("a", 1) != lease_score("a", 2));
	assert_true(lease_score("a", 1) != lease_score("b", 1));
}


static void test_cold_start_and_join(void **state)
{
	static const char *const one[] = {"psa-1"};
	static const char *const three[] = {"psa-1", "psa-2", "psa-3"};
	static const char *const four[] = {"psa-1", "psa-2", "psa-3", "psa-4"};
	struct lease v[LEASE_SHARDS];
	const char *before[LEASE_SHARDS];
	uint32_t moved;
	(void)state;

	memset(v, 0, sizeof(v));
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		v[s].until_ms = T;   /* created free at T */

	/* alone: it heads every line, takes everything in one round */
	moved = rounds(v, one, 1, T, 16, 1);
	assert_int_equal(moved, LEASE_SHARDS);
	assert_int_equal(held_by(v, "psa-1"), LEASE_SHARDS);

	/* two join: psa-1 gives up at most 16 a round, they take them */
	moved = rounds(v, three, 3, T + 1000, 16, 20);
	for (size_t i = 0; i < 3; i++)
		assert_in_range(held_by(v, three[i]), 60, 110);
	assert_int_equal(held_by(v, "psa-1") + held_by(v, "psa-2") +
			 held_by(v, "psa-3"), LEASE_SHARDS);
	assert_int_equal(moved, LEASE_SHARDS - held_by(v, "psa-1"));

	/* a fourth joins: only shards it gains move, none between the rest */
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		before[s] = v[s].owner;
	moved = rounds(v, four, 4, T + 2000, 16, 20);
	assert_int_equal(moved, held_by(v, "psa-4"));
	assert_in_range(held_by(v, "psa-4"), 40, 90);
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		assert_true(!strcmp(v[s].owner, "psa-4") ||
			    !strcmp(v[s].owner, before[s]));
}


static void test_dead_node(void **state)
{
	static const char *const three[] = {"psa-1", "psa-2", "psa-3"};
	static const char *const two[] = {"psa-1", "psa-2"};
	struct lease v[LEASE_SHARDS];
	uint64_t epoch[LEASE_SHARDS];
	uint32_t had3;
	(void)state;

	memset(v, 0, sizeof(v));
	rounds(v, three, 3, T, 256, 3);
	had3 = held_by(v, "psa-3");
	assert_true(had3 > 0);
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		epoch[s] = v[s].epoch;

	/* psa-3 dies: its leases run until T + 5000; nobody claims before */
	rounds(v, two, 2, T + 4999, 256, 2);
	assert_int_equal(held_by(v, "psa-3"), had3);

	/* expired: the survivors take them, each shard once, epoch + 1 */
	rounds(v, two, 2, T + 5001, 256, 1);
	assert_int_equal(held_by(v, "psa-3"), 0);
	assert_int_equal(held_by(v, "psa-1") + held_by(v, "psa-2"),
			 LEASE_SHARDS);
	for (uint32_t s = 0; s < LEASE_SHARDS; s++)
		if (v[s].epoch != epoch[s])
			assert_int_equal(v[s].epoch, epoch[s] + 1);
}


static void test_head_that_does_not_claim(void **state)
{
	static const char *const two[] = {"psa-1", "psa-2"};
	struct lease v[LEASE_SHARDS];
	struct lease_plan p;
	struct lease_view lv = {
		.me = "psa-2", .live = two, .nlive = 2, .v = v,
		.grace_ms = 3000,
	};
	size_t rank;
	uint32_t theirs = 0;
	(void)state;

	memset(v, 0, sizeof(v));
	for (uint32_t s = 0; s < LEASE_SHARDS; s++) {
		v[s].until_ms = T;
		assert_int_equal(lease_rank(&lv, s, &rank), 0);
		theirs += rank == 1;
	}

	/* psa-1 heads some lines but claims nothing: psa-2 waits the grace
	 * (its place in line times grace_ms), then covers them */
	lv.now_ms = T + 2999;
	assert_int_equal(lease_plan(&p, &lv), 0);
	assert_int_equal(p.nclaim, LEASE_SHARDS - theirs);
	lv.now_ms = T + 3000;
	assert_int_equal(lease_plan(&p, &lv), 0);
	assert_int_equal(p.nclaim, LEASE_SHARDS);

	/* not among the live nodes: no plan */
	lv.me = "psa-9";
	assert_int_equal(lease_plan(&p, &lv), EINVAL);
}


static void test_stopped_node(void **state)
{
	static const char *const two[] = {"psa-1", "psa-2"};
	struct lease v[LEASE_SHARDS];
	struct lease_plan p;
	struct lease_view lv = {
		.me = "psa-1", .live = two, .nlive = 2, .v = v,
		.grace_ms = 3000, .max_release = 16,
	};
	(void)state;

	/* psa-1 renewed at its monotonic 100,000 for 5 s, margin 1 s: it
	 * sends until 104,000, before the store's lease ends */
	assert_int_equal(lease_send_deadline(100000, 5000, 1000), 104000);

	/* it was stopped; psa-2 claimed its shards meanwhile (epoch 8): when
	 * it runs again it renews nothing and claims nothing of them */
	memset(v, 0, sizeof(v));
	for (uint32_t s = 0; s < LEASE_SHARDS; s++) {
		v[s].owner = "psa-2";
		v[s].until_ms = T + 4000;
		v[s].epoch = 8;
	}
	lv.now_ms = T;
	assert_int_equal(lease_plan(&p, &lv), 0);
	assert_int_equal(p.nclaim, 0);
	assert_int_equal(p.nheld, 0);
	assert_int_equal(p.nrelease, 0);

	/* its own lease, expired while it slept, is claimed anew, not kept */
	v[7].owner = "psa-1";
	v[7].until_ms = T - 1;
	lv.now_ms = T;
	assert_int_equal(lease_plan(&p, &lv), 0);
	assert_int_equal(p.nheld, 0);
	{
		size_t rank;

		assert_int_equal(lease_rank(&lv, 7, &rank), 0);
		/* heading its line: claimed now; else after the grace */
		assert_int_equal(p.nclaim, rank == 0);
		assert_true(p.nclaim == 0 || p.claim[0] == 7);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard_and_score),
		cmocka_unit_test(test_cold_start_and_join),
		cmocka_unit_test(test_dead_node),
		cmocka_unit_test(test_head_that_does_not_claim),
		cmocka_unit_test(test_stopped_node),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
