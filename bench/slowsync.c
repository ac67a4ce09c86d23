/**
 * @file slowsync.c  A slower disk, for benchmarks: preloaded
 *                   (LD_PRELOAD=build/bench/libslowsync.so), every
 *                   fdatasync() and fsync() of the process takes
 *                   SLOWSYNC_US microseconds (default 1000) more after the
 *                   real one returned, as a networked or busy disk would.
 *
 * bench/push_e2e.py runs sippushd under SIPPUSHD_WRAP, e.g.
 *   SIPPUSHD_WRAP="env LD_PRELOAD=$PWD/build/bench/libslowsync.so
 *   SLOWSYNC_US=1000" python3 bench/push_e2e.py 10 1000 32 1 "--sync full"
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int fdatasync(int fd);
int fsync(int fd);


static void slower(void)
{
	const char *v = getenv("SLOWSYNC_US");
	const long us = v ? atol(v) : 1000;
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	if (us > 0)
		(void)nanosleep(&ts, NULL);
}


int fdatasync(int fd)
{
	const int r = (int)syscall(SYS_fdatasync, fd);

	slower();
	return r;
}


int fsync(int fd)
{
	const int r = (int)syscall(SYS_fsync, fd);

	slower();
	return r;
}
