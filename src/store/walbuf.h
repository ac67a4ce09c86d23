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
 */

/** The VFS's name, for sqlite3_open_v2() */
#define WALBUF_VFS "sippush-walbuf"

/**
 * Register WALBUF_VFS over the VFS named base (NULL: the default), once;
 * call after sqlite3_config(). Returns 0 or an errno.
 */
int walbuf_register(const char *base);
