/**
 * @file test_safefile.c  Files made through a directory descriptor: a
 *                        planted symlink is replaced, never written
 *                        through; a directory others may write is refused
 */
#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "rt/safefile.h"


static void test_safefile(void **state)
{
	char dir[] = "/tmp/sippush-safefile-XXXXXX", p[128], q[128], buf[32];
	struct stat st;
	int dfd, fd;
	ssize_t n;
	(void)state;

	assert_non_null(mkdtemp(dir));
	re_snprintf(p, sizeof(p), "%s/in", dir);
	assert_int_equal(safedir_open(&dfd, p, 0750), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);

	/* a victim, linked from the name the push will take */
	re_snprintf(q, sizeof(q), "%s/victim", dir);
	fd = open(q, O_WRONLY | O_CREAT, 0600);
	assert_true(write(fd, "precious", 8) == 8);
	(void)close(fd);
	assert_int_equal(symlinkat(q, dfd, "push"), 0);

	assert_int_equal(safefile_write(dfd, "push", "OWNED", 5, 0640), 0);
	fd = open(q, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	(void)close(fd);
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "precious", 8);
	assert_int_equal(fstatat(dfd, "push", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	(void)close(dfd);

	/* the directory itself a symlink: refused */
	re_snprintf(q, sizeof(q), "%s/link", dir);
	assert_int_equal(symlink(p, q), 0);
	assert_int_not_equal(safedir_open(&dfd, q, 0750), 0);

	/* world-writable: fine when ours, refused when another user's
	 * (only checkable as root: chown) */
	re_snprintf(q, sizeof(q), "%s/shared", dir);
	assert_int_equal(mkdir(q, 0700), 0);
	assert_int_equal(chmod(q, 0777), 0);
	assert_int_equal(safedir_open(&dfd, q, 0750), 0);
	(void)close(dfd);
	if (!geteuid()) {
		assert_int_equal(chown(q, 65534, 65534), 0);
		assert_int_equal(safedir_open(&dfd, q, 0750), EPERM);
		assert_int_equal(chmod(q, 0755), 0);
		assert_int_equal(safedir_open(&dfd, q, 0750), 0);
		(void)close(dfd);
	}

	re_snprintf(q, sizeof(q), "rm -rf %s", dir);
	assert_int_equal(system(q), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_safefile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
