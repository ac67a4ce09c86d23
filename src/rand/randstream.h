/**
 * @file randstream.h  The project's generator behind libre's rand_* API
 *
 * sippush links its own rand_u16/u32/u64, rand_bytes, rand_str, rand_char
 * and rand_init (re_sys.h) ahead of libre.a, whose rand.o calls OpenSSL's
 * RAND_bytes() (and getpid()) on every draw: a ChaCha20 stream per thread,
 * keyed from getrandom() at the first draw, again after a fork and after
 * every RANDSTREAM_REKEY_BYTES, with the key replaced by the stream's own
 * output at each refill (fast key erasure: past output cannot be rebuilt
 * from the state).
 */

/** Bytes this thread's stream has served (lets a test see that libre's
 *  own calls land here) */
uint64_t randstream_served(void);
void     randstream_chacha20(uint8_t out[64], const uint32_t key[8],
			     uint32_t counter);
