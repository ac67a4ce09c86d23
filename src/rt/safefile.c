/**
 * @file safefile.c  Writing into a directory without following anyone's
 *                   symlinks
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "rt/safefile.h"


int safedir_open(int *dfdp, const char *dir, mode_t mode)
{
	struct stat st;
	int dfd, err;

	if (!dfdp || !dir || !*dir)
		return EINVAL;

	if (mkdir(dir, mode) && errno != EEXIST)
		return errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return errno == ELOOP ? ENOTDIR : errno;
	if (fstat(dfd, &st)) {
		err = errno;
		goto out;
	}
	err = st.st_uid != geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH))
		? EPERM : 0;

 out:
	if (err)
		(void)close(dfd);
	else
		*dfdp = dfd;
	return err;
}


int safefile_tmp(int *fdp, int dfd, const char *prefix, mode_t mode,
		 char *tmp, size_t sz)
{
	int fd;

	if (!fdp || dfd < 0 || !prefix || !tmp)
		return EINVAL;

	/* a name nobody can predict; taken already (planted?): another */
	for (int i = 0; i < 8; i++) {
		if (re_snprintf(tmp, sz, ".%s.%016llx.tmp", prefix,
				(unsigned long long)rand_u64()) < 0)
			return ENAMETOOLONG;
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			/* the umask may have taken bits: exactly mode */
			(void)fchmod(fd, mode);
			*fdp = fd;
			return 0;
		}
		if (errno != EEXIST)
			return errno;
	}
	return EEXIST;
}


int safefile_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return w < 0 && errno ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}


int safefile_commit(int dfd, int fd, const char *tmp, const char *name,
		    int err)
{
	if (!err && fsync(fd))
		err = errno;
	(void)close(fd);
	if (!err && renameat(dfd, tmp, dfd, name))
		err = errno;
	if (err)
		(void)unlinkat(dfd, tmp, 0);
	return err;
}


int safefile_write(int dfd, const char *name, const void *p, size_t n,
		   mode_t mode)
{
	char tmp[256];
	int fd, err;

	err = safefile_tmp(&fd, dfd, "w", mode, tmp, sizeof(tmp));
	if (err)
		return err;
	return safefile_commit(dfd, fd, tmp, name,
			       safefile_write_all(fd, p, n));
}
