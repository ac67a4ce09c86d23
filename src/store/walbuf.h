/**
 * @file walbuf.h  A SQLite VFS that writes a commit's WAL frames at once
 *
 * SQLite writes each WAL frame with two write() calls (its 24-byte header,
 * then the page): some 3.6 syscalls per push at 1 KiB pages. Over this VFS
 * the writes to a WAL file are gathered while they follow one another and
 * written in one call before anything reads, syncs, sizes or truncates the
 * file. With synchronous=FULL SQLite syncs the WAL at every commit, so a
 * commit's frames are written (and made durable) before COMMIT returns;
 * use it only then (with NORMAL nothing would write them at a commit).
 *
 * Deferred (walbuf_defer), a sync of the WAL only writes what is gathered:
 * the caller makes the frames durable itself (walsync.h, fdatasync on
 * walbuf_fd()) before it tells anyone they are. Defer only the COMMIT's
 * own sync, never a checkpoint's: a checkpoint copies frames into the
 * database, which must not hold what the WAL may still lose.
 */
#include <stdbool.h>
#include <sqlite3.h>

/** The VFS's name, for sqlite3_open_v2() */
#define WALBUF_VFS "sippush-walbuf"

/**
 * Register WALBUF_VFS over the VFS named base (NULL: the default), once;
 * call after sqlite3_config(). Returns 0 or an errno.
 */
int walbuf_register(const char *base);

/**
 * While on, a sync of db's WAL writes what is gathered and returns; the
 * frames are not yet durable. Returns 0, or ENOENT when db has no WAL of
 * this VFS open.
 */
int walbuf_defer(sqlite3 *db, bool on);

/** A descriptor of db's WAL for fdatasync (valid while the WAL is open),
 *  or -1 */
int walbuf_fd(sqlite3 *db);
