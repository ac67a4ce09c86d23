/**
 * @file rand.c  libre's rand_* API on a ChaCha20 stream per thread
 *
 * libre 1.1.0's rand.o asks OpenSSL for every tag, branch and Call-ID
 * (RAND_bytes(), which also calls getpid()): several times per push. This
 * file provides the same public functions, linked as an object ahead of
 * libre.a so the archive's rand.o is never pulled in (CMakeLists.txt).
 *
 * Each thread has a buffer of ChaCha20 output (RFC 8439's block function,
 * all-zero nonce). A refill computes BLOCKS blocks under the current key;
 * the first 32 bytes become the next key, the rest is served once and wiped
 * as it goes, so the state never holds what was already handed out. The
 * key comes from getrandom() at the first draw, after a fork (the child
 * must not repeat its parent's stream) and every REKEY_BYTES.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <re_types.h>
#include <re_sys.h>
#include "rand/randstream.h"


enum {
	BLOCK = 64,
	BLOCKS = 16,
	BUF = BLOCK * BLOCKS,
	KEY = 32,
	REKEY_BYTES = 1 << 20,
};

struct stream {
	uint32_t key[8];
	uint8_t buf[BUF];
	size_t pos;         /* next unread byte of buf; BUF: empty         */
	uint64_t since_os;  /* bytes served since the last key from the OS */
	uint64_t served;    /* bytes served in all (a fork starts again)   */
	bool keyed;
};

static _Thread_local struct stream st;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;


static inline uint32_t rotl(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}


#define QR(a, b, c, d)                                            \
	do {                                                      \
		a += b; d ^= a; d = rotl(d, 16);                  \
		c += d; b ^= c; b = rotl(b, 12);                  \
		a += b; d ^= a; d = rotl(d, 8);                   \
		c += d; b ^= c; b = rotl(b, 7);                   \
	} while (0)


/** RFC 8439 §2.3: one 64-byte block of key, counter, all-zero nonce */
void randstream_chacha20(uint8_t out[BLOCK], const uint32_t key[8],
			   uint32_t counter)
{
	uint32_t in[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
	uint32_t x[16];

	memcpy(&in[4], key, KEY);
	in[12] = counter;
	memcpy(x, in, sizeof(x));
	for (int i = 0; i < 10; i++) {
		QR(x[0], x[4], x[8], x[12]);
		QR(x[1], x[5], x[9], x[13]);
		QR(x[2], x[6], x[10], x[14]);
		QR(x[3], x[7], x[11], x[15]);
		QR(x[0], x[5], x[10], x[15]);
		QR(x[1], x[6], x[11], x[12]);
		QR(x[2], x[7], x[8], x[13]);
		QR(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++) {
		uint32_t v = x[i] + in[i];

		out[4 * i] = (uint8_t)v;
		out[4 * i + 1] = (uint8_t)(v >> 8);
		out[4 * i + 2] = (uint8_t)(v >> 16);
		out[4 * i + 3] = (uint8_t)(v >> 24);
	}
}


/* The child of a fork draws from a key of its own */
static void atfork_child(void)
{
	memset(&st, 0, sizeof(st));
}


static void register_atfork(void)
{
	(void)pthread_atfork(NULL, NULL, atfork_child);
}


/* A key from the OS, or the process stops: a predictable token or tag is
 * worse than none */
static void os_key(uint8_t *key)
{
	size_t got = 0;

	while (got < KEY) {
		ssize_t n = getrandom(key + got, KEY - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			abort();
		got += (size_t)n;
	}
}


static void refill(void)
{
	uint8_t fresh[KEY];

	if (!st.keyed || st.since_os >= REKEY_BYTES) {
		(void)pthread_once(&atfork_once, register_atfork);
		os_key(fresh);
		/* a rekey mixes into the old key, a first key is the OS's */
		for (size_t i = 0; i < 8; i++) {
			uint32_t w;

			memcpy(&w, fresh + 4 * i, 4);
			st.key[i] = st.keyed ? st.key[i] ^ w : w;
		}
		memset(fresh, 0, sizeof(fresh));
		st.keyed = true;
		st.since_os = 0;
	}

	for (uint32_t i = 0; i < BLOCKS; i++)
		randstream_chacha20(st.buf + i * BLOCK, st.key, i);
	memcpy(st.key, st.buf, KEY);
	memset(st.buf, 0, KEY);
	st.pos = KEY;
}


static void draw(void *p, size_t n)
{
	uint8_t *out = p;

	while (n) {
		size_t take;

		if (st.pos >= BUF || !st.keyed)
			refill();
		take = BUF - st.pos < n ? BUF - st.pos : n;
		memcpy(out, st.buf + st.pos, take);
		memset(st.buf + st.pos, 0, take);
		st.pos += take;
		st.since_os += take;
		st.served += take;
		out += take;
		n -= take;
	}
}


/** libre_init() calls it: the first key now rather than at a first draw */
void rand_init(void)
{
	if (!st.keyed)
		refill();
}


uint16_t rand_u16(void)
{
	uint16_t v;

	draw(&v, sizeof(v));
	return v;
}


uint32_t rand_u32(void)
{
	uint32_t v;

	draw(&v, sizeof(v));
	return v;
}


uint64_t rand_u64(void)
{
	uint64_t v;

	draw(&v, sizeof(v));
	return v;
}


void rand_bytes(uint8_t *p, size_t size)
{
	if (p)
		draw(p, size);
}


/** size - 1 characters of [A-Za-z0-9] (as libre's), NUL-terminated;
 *  unbiased: a byte above the last multiple of 62 is drawn again */
void rand_str(char *str, size_t size)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789";

	if (!str || !size)
		return;
	for (size_t i = 0; i + 1 < size; ) {
		uint8_t b;

		draw(&b, 1);
		if (b >= 4 * (sizeof(alnum) - 1))
			continue;
		str[i++] = alnum[b % (sizeof(alnum) - 1)];
	}
	str[size - 1] = '\0';
}


char rand_char(void)
{
	char s[2];

	rand_str(s, sizeof(s));
	return s[0];
}


uint64_t randstream_served(void)
{
	return st.served;
}
