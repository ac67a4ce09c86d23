/**
 * @file walsync.h  Commits made durable off the loop: the WAL's fdatasync
 *                  on a thread of its own
 *
 * A commit whose WAL sync was deferred (walbuf_defer) has its frames
 * written but not yet durable. Its handler is given here and runs on the
 * loop once an fdatasync of the WAL that began after the commit returned.
 * One fdatasync runs at a time; the commits made meanwhile wait for the
 * next one, which covers them all: a group commit that never blocks the
 * loop. Handlers run in the order their commits were made.
 */

struct walsync;

typedef void (walsync_done_h)(int err, void *arg);
/** What syncs a descriptor (fdatasync; tests give their own): 0 or an
 *  errno. Runs on walsync's thread */
typedef int (walsync_fsync_h)(int fd, void *arg);

/**
 * A thread that syncs descriptors of fd. fsync NULL: fdatasync.
 */
int  walsync_alloc(struct walsync **wsp, int fd, walsync_fsync_h *fsync,
		   void *arg);

/**
 * A commit was written: h runs once it is durable (err 0) or once its
 * sync failed (err the errno; every later commit fails with it too: what
 * failed to sync may be lost whatever is synced after it, though SQLite
 * keeps it and later reads see it).
 */
int  walsync_commit(struct walsync *ws, walsync_done_h *h, void *arg);

/** Nothing written (err 0), or a commit that failed (err): h runs with
 *  err after every earlier commit's handler, at once when none waits. A
 *  failure never overtakes an earlier success: whoever keeps what failed
 *  must learn it after what succeeded before it */
int  walsync_after(struct walsync *ws, int err, walsync_done_h *h,
		   void *arg);

/** Block until every commit given has had its handler */
int  walsync_wait(struct walsync *ws);

/** Commits given whose handler has not run */
unsigned walsync_pending(const struct walsync *ws);
