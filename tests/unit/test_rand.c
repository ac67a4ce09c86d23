/**
 * @file test_rand.c  The project's rand_* (src/rand/): ChaCha20 against
 *                    RFC 8439, draws unique and well-formed, libre's own
 *                    calls served by it, a fork's child and another thread
 *                    on streams of their own
 */
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/wait.h>
#include "testutil.h"
#include "rand/randstream.h"


static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}


static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		re_snprintf(out + 2 * i, 3, "%02x", p[i]);
}


/* RFC 8439 A.1 test vector #1 (zero key, block 0); then key 00..1f,
 * block 1 (computed with openssl enc -chacha20, zero input, zero nonce) */
static void test_chacha20_vectors(void **state)
{
	uint32_t key[8] = {0};
	uint8_t out[64], kb[32];
	char h[129];
	(void)state;

	randstream_chacha20(out, key, 0);
	hex(h, out, sizeof(out));
	assert_string_equal(h,
		"76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
		"da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");

	for (size_t i = 0; i < sizeof(kb); i++)
		kb[i] = (uint8_t)i;
	memcpy(key, kb, sizeof(kb));    /* little-endian words, as RFC 8439 */
	randstream_chacha20(out, key, 1);
	hex(h, out, sizeof(out));
	assert_string_equal(h,
		"18b84231ade6a6d113615c61af434e27f8b1f3f5e1ad5b5cecf8fc122a35755c"
		"7208086dd1ee3c5d9d815824640e003c9ba0f65ede5d59ce0d2a4a7f31955acd");
}


enum { N = 20000 };

/* Across many refills: no value twice, strings of [A-Za-z0-9] only and
 * all 62 of them used, NUL-terminated */
static void test_draws(void **state)
{
	static uint64_t v[N];
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789";
	bool seen[256] = {false};
	uint8_t big[3000], big2[3000];
	uint64_t before = randstream_served();
	(void)state;

	for (size_t i = 0; i < N; i++)
		v[i] = rand_u64();
	qsort(v, N, sizeof(v[0]), cmp_u64);
	for (size_t i = 1; i < N; i++)
		assert_true(v[i] != v[i - 1]);
	assert_true(randstream_served() - before >= N * sizeof(uint64_t));

	for (size_t i = 0; i < 2000; i++) {
		char s[17];

		memset(s, 'x', sizeof(s));
		rand_str(s, sizeof(s));
		assert_int_equal(strlen(s), 16);
		assert_int_equal(strspn(s, alnum), 16);
		for (size_t k = 0; k < 16; k++)
			seen[(uint8_t)s[k]] = true;
	}
	for (size_t k = 0; k + 1 < sizeof(alnum); k++)
		assert_true(seen[(uint8_t)alnum[k]]);
	assert_non_null(strchr(alnum, rand_char()));

	/* one draw larger than a buffer, then the next: not the same */
	rand_bytes(big, sizeof(big));
	rand_bytes(big2, sizeof(big2));
	assert_memory_not_equal(big, big2, sizeof(big));
	(void)rand_u16();
	(void)rand_u32();
}


/* libre's own calls (a dialog's Call-ID and local tag, dialog.o) are
 * served here: its rand.o and OpenSSL are not linked in */
static void test_libre_draws_here(void **state)
{
	enum { DLGS = 500 };
	char *cid[DLGS];
	struct sip_dialog *dlg[DLGS];
	uint64_t before = randstream_served();
	(void)state;

	for (size_t i = 0; i < DLGS; i++) {
		assert_int_equal(sip_dialog_alloc(&dlg[i], "sip:a@example.com",
						  "sip:a@example.com", NULL,
						  "sip:b@example.com", NULL,
						  0), 0);
		cid[i] = (char *)sip_dialog_callid(dlg[i]);
		assert_true(strlen(cid[i]) >= 8);
	}
	assert_true(randstream_served() - before >= DLGS * 8);
	qsort(cid, DLGS, sizeof(cid[0]), cmp_str);
	for (size_t i = 1; i < DLGS; i++)
		assert_string_not_equal(cid[i], cid[i - 1]);
	for (size_t i = 0; i < DLGS; i++)
		mem_deref(dlg[i]);
}


/* A fork's child keys a stream of its own: it does not repeat what its
 * parent draws next */
static void test_fork(void **state)
{
	uint8_t mine[32], child[32];
	int fds[2];
	pid_t pid;
	int st;
	(void)state;

	(void)rand_u64();    /* the parent's stream is keyed */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t b[32];
		uint64_t served;

		rand_bytes(b, sizeof(b));
		served = randstream_served();
		/* a fresh stream: it has served only these */
		if (served != sizeof(b))
			memset(b, 0, sizeof(b));
		_exit(write(fds[1], b, sizeof(b)) == sizeof(b) ? 0 : 1);
	}
	close(fds[1]);
	rand_bytes(mine, sizeof(mine));
	assert_int_equal(read(fds[0], child, sizeof(child)), sizeof(child));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_memory_not_equal(mine, child, sizeof(mine));
	assert_memory_not_equal(child, (uint8_t[32]){0}, sizeof(child));
}


static void *thread_draw(void *arg)
{
	rand_bytes(arg, 32);
	return NULL;
}


/* Another thread draws from its own stream */
static void test_thread(void **state)
{
	uint8_t mine[32], other[32];
	pthread_t th;
	(void)state;

	assert_int_equal(pthread_create(&th, NULL, thread_draw, other), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	rand_bytes(mine, sizeof(mine));
	assert_memory_not_equal(mine, other, sizeof(mine));
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chacha20_vectors),
		cmocka_unit_test(test_draws),
		cmocka_unit_test(test_libre_draws_here),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
