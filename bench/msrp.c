/**
 * @file bench/msrp.c  MSRP throughput over loopback, in one process on
 *                     libre's loop (the project's src/msrp, no SIP)
 *
 *   bench-msrp single SIZE_MIB [CHUNK_KIB]   one session, from a file
 *   bench-msrp many N SIZE_MIB [CHUNK_KIB]   N sessions at once, memory
 *
 * The sender side reads the file with pread per chunk, the receiver side
 * writes every chunk at its offset to a file (as sippush-agent does), so
 * both ends' work is in the figure. Prints MB/s, CPU seconds (user+sys,
 * both ends: they share this process), and the process's peak RSS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <re.h>
#include "msrp/msrp.h"
#include "msrp/msrpsess.h"

struct rx {
	int fd;
	uint64_t bytes;
};

static int pending;
static int failures;


static int begin_h(void **ctxp, const struct msrp_hdrs *h, uint64_t total,
		   void *arg)
{
	struct rx *rx = arg;
	(void)h;
	(void)total;

	*ctxp = rx;
	return 0;
}


static int chunk_h(void *ctx, uint64_t off, const uint8_t *p, size_t n,
		   void *arg)
{
	struct rx *rx = ctx;
	(void)arg;

	if (pwrite(rx->fd, p, n, (off_t)off) != (ssize_t)n)
		return EIO;
	rx->bytes += n;
	return 0;
}


static int done_h(void *ctx, int err, void *arg)
{
	(void)ctx;
	(void)arg;
	if (err)
		++failures;
	return 0;
}


static void sent_h(int err, uint16_t scode, void *arg)
{
	(void)arg;
	if (err) {
		++failures;
		fprintf(stderr, "send failed: %s (%u)\n", strerror(err), scode);
	}
	if (--pending == 0)
		re_cancel();
}


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}


static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static long peak_rss_kb(void)
{
	char line[256];
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}


static int tmpfile_fd(char *path, size_t sz)
{
	snprintf(path, sz, "/tmp/bench-msrp-XXXXXX");
	return mkstemp(path);
}


int main(int argc, char *argv[])
{
	const bool many = argc > 1 && !strcmp(argv[1], "many");
	const int n = many && argc > 2 ? atoi(argv[2]) : 1;
	const uint64_t mib = strtoull(argv[many ? 3 : 2] ? argv[many ? 3 : 2]
				      : "100", NULL, 10);
	const size_t chunk = (argc > (many ? 4 : 3) ?
			      strtoul(argv[many ? 4 : 3], NULL, 10) : 64) << 10;
	const uint64_t size = mib << 20;
	struct msrp_listener *l = NULL;
	struct msrp_sess **b, **a;
	struct rx *rx;
	uint8_t *mem = NULL;
	char src[64];
	int sfd = -1;
	double t0, c0, t, c;
	struct sa laddr;

	if (argc < 3 || (many && argc < 4) || !n || !mib) {
		fprintf(stderr, "usage: bench-msrp single SIZE_MIB [CHUNK_KIB]"
			"\n       bench-msrp many N SIZE_MIB [CHUNK_KIB]\n");
		return 2;
	}

	libre_init();
	sa_set_str(&laddr, "127.0.0.1", 0);
	if (msrp_listener_alloc(&l, &laddr, NULL))
		return 1;

	/* the content: a file for one session, memory for many */
	if (!many) {
		uint8_t *buf = malloc(1 << 20);

		sfd = tmpfile_fd(src, sizeof(src));
		for (size_t i = 0; i < (1u << 20); i++)
			buf[i] = (uint8_t)(i * 31);
		for (uint64_t i = 0; i < mib; i++)
			if (write(sfd, buf, 1 << 20) != 1 << 20)
				return 1;
		fsync(sfd);
		free(buf);
		unlink(src);
	}
	else {
		mem = malloc(size);
		for (uint64_t i = 0; i < size; i++)
			mem[i] = (uint8_t)(i * 31);
	}

	b = calloc((size_t)n, sizeof(*b));
	a = calloc((size_t)n, sizeof(*a));
	rx = calloc((size_t)n, sizeof(*rx));
	for (int i = 0; i < n; i++) {
		const struct msrp_sess_conf pc = {
			.beginh = begin_h, .chunkh = chunk_h,
			.doneh = done_h, .arg = &rx[i],
		};
		const struct msrp_sess_conf ac = {.chunk = chunk};
		struct msrp_out_spec o = {
			.data = mem, .fd = sfd, .size = size,
			.ctype = "application/octet-stream",
			.success_report = true,
		};
		char path[64];

		rx[i].fd = tmpfile_fd(path, sizeof(path));
		unlink(path);
		if (msrp_sess_alloc(&b[i], l, NULL, &pc) ||
		    msrp_sess_alloc(&a[i], NULL, &laddr, &ac) ||
		    msrp_sess_connect(a[i], msrp_sess_path(b[i])) ||
		    msrp_sess_send(a[i], &o, sent_h, NULL)) {
			fprintf(stderr, "session %d: setup failed\n", i);
			return 1;
		}
	}

	pending = n;
	t0 = now_s();
	c0 = cpu_s();
	re_main(NULL);
	t = now_s() - t0;
	c = cpu_s() - c0;

	printf("%s: %d session(s) x %llu MiB, chunk %zu KiB: %.2f s, "
	       "%.0f MB/s (%.0f MiB/s), CPU %.2f s (%.0f%% of one core, both "
	       "ends), peak RSS %ld KiB, failures %d\n",
	       many ? "many" : "single", n, (unsigned long long)mib,
	       chunk >> 10, t, n * size / t / 1e6, n * size / t / 1048576.,
	       c, 100 * c / t, peak_rss_kb(), failures);
	printf("command: %s", argv[0]);
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");

	for (int i = 0; i < n; i++) {
		if (rx[i].bytes != size)
			++failures;
		mem_deref(a[i]);
		mem_deref(b[i]);
		close(rx[i].fd);
	}
	mem_deref(l);
	free(a);
	free(b);
	free(rx);
	free(mem);
	if (sfd >= 0)
		close(sfd);
	libre_close();
	return failures ? 1 : 0;
}
