/**
 * @file safefile.h  Writing into a directory without following anyone's
 *                   symlinks
 *
 * A directory is opened once (no symlink as its last component) and
 * every file made in it through its descriptor: a new file under a random
 * name with O_CREAT|O_EXCL|O_NOFOLLOW, synced, then renamed into place
 * (rename replaces a planted link, it never writes through one).
 */
#include <sys/types.h>

/**
 * Open dir (created with mode when missing) for writing into. Refused
 * (EPERM) when group- or world-writable and not owned by our user:
 * someone else could plant or swap names in it.
 */
int safedir_open(int *dfdp, const char *dir, mode_t mode);

/** A new file in dfd named ".<prefix>.<random>.tmp"; its name in tmp */
int safefile_tmp(int *fdp, int dfd, const char *prefix, mode_t mode,
		 char *tmp, size_t sz);

/** Sync and close fd, then rename tmp to name (both in dfd); tmp is
 *  removed instead when err (or the sync fails). Returns the error. */
int safefile_commit(int dfd, int fd, const char *tmp, const char *name,
		    int err);

/** name in dfd holds exactly p[0..n) (atomically, mode) */
int safefile_write(int dfd, const char *name, const void *p, size_t n,
		   mode_t mode);

/** All n bytes to fd, or errno (EIO for a write that made no progress) */
int safefile_write_all(int fd, const void *buf, size_t n);
