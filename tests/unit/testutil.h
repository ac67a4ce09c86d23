/**
 * @file testutil.h  Small helpers shared by the unit tests
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <re.h>

#define PL_STR(s) ((struct pl){(s), sizeof(s) - 1})

/* Compare a pl with a C string, with a readable failure. */
#define assert_pl_equal(pl, str) do {					\
		char _b[512];						\
		pl_strcpy(&(pl), _b, sizeof(_b));			\
		assert_string_equal(_b, (str));				\
	} while (0)

/* Print with a libre %H-style handler into a fixed buffer. */
#define PRINT(buf, ...) do {						\
		int _e = re_snprintf((buf), sizeof(buf), __VA_ARGS__);	\
		assert_true(_e > 0);					\
	} while (0)

static inline void testutil_loop_stop(void *arg)
{
	(void)arg;
	re_cancel();
}

/* Run the loop (timers and sockets, as in the daemon) for ms */
static inline void run_loop_ms(uint32_t ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, testutil_loop_stop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&t);
}
