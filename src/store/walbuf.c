/**
 * @file walbuf.c  A SQLite VFS that writes a commit's WAL frames at once
 *
 * Each file opened through it is the base VFS's file behind a thin one of
 * ours. For a WAL file, a write that continues the gathered bytes is only
 * copied; anything else (a write elsewhere, a read, a sync, a size, a
 * truncation, a file control, the close) first writes what is gathered in
 * one call to the base file. Writes reach the file in the order they were
 * made; a failed one is reported by the call that wrote it, which SQLite
 * takes as its own I/O error (the transaction fails). Other files only pass
 * through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store/walbuf.h"


/* one write() of the unix VFS takes at most 128 KiB - 1 (it masks the
 * count with 0x1ffff: a larger one wrote nothing and was SQLITE_FULL) */
enum { GATHER_MAX = 64 * 1024, OS_PAGE = 4096 };

struct wfile {
	sqlite3_file base;       /* its pMethods: io_v1 or io_v3 */
	sqlite3_file *real;      /* the base VFS's file, after this struct */
	uint8_t *buf;            /* gathered bytes, GATHER_MAX allocated */
	size_t len;
	sqlite3_int64 off;       /* where buf[0] goes in the file */
	bool gather;             /* a WAL file */
	bool defer;              /* a sync only flushes (walbuf_defer) */
	bool restart;            /* the header written since the last sync */
	int fd;                  /* a WAL's own descriptor, for walsync */
};

static sqlite3_vfs *base_vfs;
static sqlite3_vfs vfs;


/*
 * Written in pieces that each stay within one 4 KiB page of the file: the
 * kernel sizes a page-cache folio by the write, and a larger folio at the
 * WAL's end was dirtied (and counted written) whole at every commit
 * (ext4, Linux 6.18: 1,289 -> 1,392 B written per push with one write)
 */
static int flush(struct wfile *w)
{
	size_t done = 0;
	int rc = SQLITE_OK;

	while (done < w->len && rc == SQLITE_OK) {
		const sqlite3_int64 at = w->off + (sqlite3_int64)done;
		size_t n = OS_PAGE - (size_t)(at % OS_PAGE);

		if (n > w->len - done)
			n = w->len - done;
		rc = w->real->pMethods->xWrite(w->real, w->buf + done, (int)n,
					       at);
		done += n;
	}
	w->len = 0;
	return rc;
}


static int x_close(sqlite3_file *f)
{
	struct wfile *w = (struct wfile *)f;
	int rc = flush(w);
	const int rc2 = w->real->pMethods->xClose(w->real);

	if (w->fd >= 0)
		(void)close(w->fd);
	w->fd = -1;
	free(w->buf);
	w->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}


static int x_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 ofs)
{
	struct wfile *w = (struct wfile *)f;
	const int rc = flush(w);

	return rc != SQLITE_OK ? rc :
		w->real->pMethods->xRead(w->real, p, amt, ofs);
}


static int x_write(sqlite3_file *f, const void *p, int amt,
		   sqlite3_int64 ofs)
{
	struct wfile *w = (struct wfile *)f;
	int rc;

	if (!w->gather || amt <= 0)
		return w->real->pMethods->xWrite(w->real, p, amt, ofs);
	if (ofs == 0)
		w->restart = true;

	if (w->len && ofs == w->off + (sqlite3_int64)w->len &&
	    w->len + (size_t)amt <= GATHER_MAX) {
		memcpy(w->buf + w->len, p, (size_t)amt);
		w->len += (size_t)amt;
		return SQLITE_OK;
	}

	rc = flush(w);
	if (rc != SQLITE_OK)
		return rc;
	if ((size_t)amt > GATHER_MAX)
		return w->real->pMethods->xWrite(w->real, p, amt, ofs);
	if (!w->buf) {
		w->buf = malloc(GATHER_MAX);
		if (!w->buf)   /* no memory to gather: write as SQLite asked */
			return w->real->pMethods->xWrite(w->real, p, amt, ofs);
	}
	memcpy(w->buf, p, (size_t)amt);
	w->off = ofs;
	w->len = (size_t)amt;
	return SQLITE_OK;
}


static int x_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct wfile *w = (struct wfile *)f;
	const int rc = flush(w);

	return rc != SQLITE_OK ? rc :
		w->real->pMethods->xTruncate(w->real, size);
}


/*
 * Deferred, the frames are written and the caller makes them durable
 * (walsync) before it tells anyone they are. Never the sync after a new
 * header (the WAL restarted, or was made): until the header is on disk
 * the old one still validates the old frames, and a power loss that kept
 * some new frames but not the header would replay a prefix of old,
 * checkpointed commits over the database (SQLite syncs it even with
 * synchronous=NORMAL; wal.c, sqlite3WalFrames)
 */
static int x_sync(sqlite3_file *f, int flags)
{
	struct wfile *w = (struct wfile *)f;
	int rc = flush(w);

	if (rc != SQLITE_OK || (w->defer && !w->restart))
		return rc;
	rc = w->real->pMethods->xSync(w->real, flags);
	if (rc == SQLITE_OK)
		w->restart = false;
	return rc;
}


static int x_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	struct wfile *w = (struct wfile *)f;
	const int rc = flush(w);

	return rc != SQLITE_OK ? rc :
		w->real->pMethods->xFileSize(w->real, size);
}


static int x_lock(sqlite3_file *f, int lock)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xLock(w->real, lock);
}


static int x_unlock(sqlite3_file *f, int lock)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xUnlock(w->real, lock);
}


static int x_check_reserved(sqlite3_file *f, int *out)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xCheckReservedLock(w->real, out);
}


static int x_file_control(sqlite3_file *f, int op, void *arg)
{
	struct wfile *w = (struct wfile *)f;
	const int rc = flush(w);

	return rc != SQLITE_OK ? rc :
		w->real->pMethods->xFileControl(w->real, op, arg);
}


static int x_sector_size(sqlite3_file *f)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xSectorSize(w->real);
}


static int x_device_characteristics(sqlite3_file *f)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xDeviceCharacteristics(w->real);
}


static int x_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
		     void volatile **pp)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xShmMap(w->real, pg, pgsz, extend, pp);
}


static int x_shm_lock(sqlite3_file *f, int ofs, int n, int flags)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xShmLock(w->real, ofs, n, flags);
}


static void x_shm_barrier(sqlite3_file *f)
{
	struct wfile *w = (struct wfile *)f;
	w->real->pMethods->xShmBarrier(w->real);
}


static int x_shm_unmap(sqlite3_file *f, int del)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xShmUnmap(w->real, del);
}


static int x_fetch(sqlite3_file *f, sqlite3_int64 ofs, int amt, void **pp)
{
	struct wfile *w = (struct wfile *)f;
	const int rc = flush(w);

	return rc != SQLITE_OK ? rc :
		w->real->pMethods->xFetch(w->real, ofs, amt, pp);
}


static int x_unfetch(sqlite3_file *f, sqlite3_int64 ofs, void *p)
{
	struct wfile *w = (struct wfile *)f;
	return w->real->pMethods->xUnfetch(w->real, ofs, p);
}


static const sqlite3_io_methods io_v1 = {
	1, x_close, x_read, x_write, x_truncate, x_sync, x_file_size,
	x_lock, x_unlock, x_check_reserved, x_file_control, x_sector_size,
	x_device_characteristics,
	NULL, NULL, NULL, NULL, NULL, NULL
};

static const sqlite3_io_methods io_v3 = {
	3, x_close, x_read, x_write, x_truncate, x_sync, x_file_size,
	x_lock, x_unlock, x_check_reserved, x_file_control, x_sector_size,
	x_device_characteristics, x_shm_map, x_shm_lock, x_shm_barrier,
	x_shm_unmap, x_fetch, x_unfetch
};


static int v_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f,
		  int flags, int *out_flags)
{
	struct wfile *w = (struct wfile *)f;
	int rc;

	(void)v;
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->real = (sqlite3_file *)(w + 1);
	rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
	if (!w->real->pMethods) {
		w->base.pMethods = NULL;
		return rc;
	}
	/* the base file's methods exist: ours, which close it, even when
	 * its open failed (SQLite then calls xClose) */
	w->gather = (flags & SQLITE_OPEN_WAL) != 0;
	w->base.pMethods = w->real->pMethods->iVersion >= 3 ? &io_v3 :
		&io_v1;
	if (rc != SQLITE_OK || !w->gather || !name)
		return rc;

	/* A new WAL's name in its directory is made durable at its first
	 * sync (the unix VFS's dirsync): a deferred commit never gets
	 * there, so it is done now, on the empty file. The descriptor of
	 * our own is what walsync syncs: fdatasync acts on the file */
	rc = w->real->pMethods->xSync(w->real, SQLITE_SYNC_NORMAL);
	w->fd = open(name, O_RDONLY | O_CLOEXEC);
	return rc;
}


/* The rest is the base VFS's */
static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return base_vfs->xDelete(base_vfs, name, sync_dir);
}


static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return base_vfs->xAccess(base_vfs, name, flags, out);
}


static int v_full_pathname(sqlite3_vfs *v, const char *name, int n,
			   char *out)
{
	(void)v;
	return base_vfs->xFullPathname(base_vfs, name, n, out);
}


static void *v_dl_open(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return base_vfs->xDlOpen(base_vfs, name);
}


static void v_dl_error(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	base_vfs->xDlError(base_vfs, n, msg);
}


static void (*v_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return base_vfs->xDlSym(base_vfs, h, sym);
}


static void v_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	base_vfs->xDlClose(base_vfs, h);
}


static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return base_vfs->xRandomness(base_vfs, n, out);
}


static int v_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return base_vfs->xSleep(base_vfs, us);
}


static int v_current_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return base_vfs->xCurrentTime(base_vfs, t);
}


static int v_last_error(sqlite3_vfs *v, int n, char *msg)
{
	(void)v;
	return base_vfs->xGetLastError ?
		base_vfs->xGetLastError(base_vfs, n, msg) : 0;
}


static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return base_vfs->xCurrentTimeInt64(base_vfs, t);
}


/* The connection's WAL, if it is one of ours */
static struct wfile *wal_of(sqlite3 *db)
{
	sqlite3_file *f = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER,
				 &f) != SQLITE_OK || !f ||
	    (f->pMethods != &io_v1 && f->pMethods != &io_v3))
		return NULL;
	return ((struct wfile *)f)->gather ? (struct wfile *)f : NULL;
}


int walbuf_defer(sqlite3 *db, bool on)
{
	struct wfile *w = wal_of(db);

	if (!w)
		return ENOENT;
	w->defer = on;
	return 0;
}


int walbuf_fd(sqlite3 *db)
{
	const struct wfile *w = wal_of(db);

	return w ? w->fd : -1;
}


int walbuf_register(const char *base)
{
	if (sqlite3_vfs_find(WALBUF_VFS))
		return 0;

	base_vfs = sqlite3_vfs_find(base);
	if (!base_vfs)
		return ENOENT;

	vfs = (sqlite3_vfs){
		.iVersion = 2,
		/* wfile stays 8-byte aligned: it holds pointers */
		.szOsFile = (int)sizeof(struct wfile) + base_vfs->szOsFile,
		.mxPathname = base_vfs->mxPathname,
		.zName = WALBUF_VFS,
		.xOpen = v_open,
		.xDelete = v_delete,
		.xAccess = v_access,
		.xFullPathname = v_full_pathname,
		.xDlOpen = v_dl_open,
		.xDlError = v_dl_error,
		.xDlSym = v_dl_sym,
		.xDlClose = v_dl_close,
		.xRandomness = v_randomness,
		.xSleep = v_sleep,
		.xCurrentTime = v_current_time,
		.xGetLastError = v_last_error,
		.xCurrentTimeInt64 = base_vfs->iVersion >= 2 ?
			v_current_time64 : NULL,
	};
	if (!vfs.xCurrentTimeInt64)
		vfs.iVersion = 1;

	return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? 0 : ENOMEM;
}
