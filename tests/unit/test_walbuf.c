/**
 * @file test_walbuf.c  The WAL-gathering VFS (src/store/walbuf.c)
 *
 * A database in a temporary directory, opened as the store opens it (WAL,
 * exclusive locking, 1 KiB pages, synchronous=FULL, the file mapped).
 * "What a crash leaves" is the database and WAL files copied byte for byte
 * while the connection is still open, then opened through the default VFS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "store/walbuf.h"


struct fx {
	char dir[64];
	char path[96];
	sqlite3 *db;
};


static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	const int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}


static int64_t one_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}


static void open_db(struct fx *f, const char *vfs, const char *sync)
{
	char sql[64];

	assert_int_equal(sqlite3_open_v2(f->path, &f->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), 0);
	exec(f->db, "PRAGMA locking_mode=EXCLUSIVE");
	exec(f->db, "PRAGMA page_size=1024");
	exec(f->db, "PRAGMA journal_mode=WAL");
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s", sync);
	exec(f->db, sql);
	exec(f->db, "PRAGMA cache_size=-64");     /* small: pages spill */
	exec(f->db, "PRAGMA mmap_size=268435456");
	exec(f->db, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY,"
		    " k TEXT UNIQUE, v BLOB)");
}


static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_walbuf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/db", f->dir);
	assert_int_equal(walbuf_register(NULL), 0);
	assert_int_equal(walbuf_register(NULL), 0);   /* once is enough */
	*state = f;
	return 0;
}


static void rm(const char *dir, const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	(void)unlink(p);
}


static int teardown(void **state)
{
	struct fx *f = *state;
	const char *names[] = {"db", "db-wal", "db-shm", "copy", "copy-wal",
			       "copy-shm"};

	if (f->db)
		sqlite3_close(f->db);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rm(f->dir, names[i]);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}


static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	(void)unlink(to);
	if (in < 0)
		return;   /* no WAL (yet) */
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	(void)close(in);
	(void)close(out);
}


/* Rows in table t of what a crash would leave now */
static int64_t rows_after_crash(struct fx *f)
{
	char from[128], to[128];
	sqlite3 *c;
	int64_t n;

	snprintf(from, sizeof(from), "%s/db", f->dir);
	snprintf(to, sizeof(to), "%s/copy", f->dir);
	copy_file(from, to);
	snprintf(from, sizeof(from), "%s/db-wal", f->dir);
	snprintf(to, sizeof(to), "%s/copy-wal", f->dir);
	copy_file(from, to);

	snprintf(to, sizeof(to), "%s/copy", f->dir);
	assert_int_equal(sqlite3_open_v2(to, &c, SQLITE_OPEN_READWRITE,
					 NULL), 0);
	n = one_int(c, "SELECT count(*) FROM t");
	assert_string_equal((const char *)sqlite3_errmsg(c), "not an error");
	sqlite3_close(c);
	return n;
}


/* write() calls of this process so far (/proc/self/io syscw) */
static long writes_so_far(void)
{
	char line[128];
	long v = -1;
	FILE *fp = fopen("/proc/self/io", "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "syscw: %ld", &v) == 1)
			break;
	fclose(fp);
	return v;
}


/* n rows of 300 bytes each, into the open transaction */
static void insert_rows(sqlite3 *db, int from, int n)
{
	char sql[160];

	for (int i = from; i < from + n; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO t(k,v) VALUES('k%d',"
			 "zeroblob(300))", i);
		exec(db, sql);
	}
}


/* n rows of 300 bytes each, in one transaction */
static void insert_txn(sqlite3 *db, int from, int n)
{
	exec(db, "BEGIN");
	insert_rows(db, from, n);
	exec(db, "COMMIT");
}


/* Every commit is in what a crash leaves, at once; the write() calls per
 * commit are about one, where SQLite alone makes two per page */
static void test_commit_reaches_file(void **state)
{
	struct fx *f = *state;
	long w0, gathered, plain;

	open_db(f, WALBUF_VFS, "FULL");
	w0 = writes_so_far();
	for (int i = 0; i < 20; i++) {
		insert_txn(f->db, i * 10, 10);
		assert_int_equal(rows_after_crash(f), (i + 1) * 10);
	}
	/* rows_after_crash() copies files: count the writes alone */
	w0 = writes_so_far();
	for (int i = 20; i < 40; i++)
		insert_txn(f->db, i * 10, 10);
	gathered = writes_so_far() - w0;
	sqlite3_close(f->db);
	f->db = NULL;

	open_db(f, NULL, "FULL");
	w0 = writes_so_far();
	for (int i = 40; i < 60; i++)
		insert_txn(f->db, i * 10, 10);
	plain = writes_so_far() - w0;
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM t"), 600);

	print_message("write() calls for 20 commits: %ld gathered, %ld "
		      "without\n", gathered, plain);
	/* 20 commits of 10 rows (some 4 frames of 1,048 bytes each, two
	 * or three 4 KiB pieces of the file): SQLite alone writes each
	 * frame's header and page apart (67 and 357 here) */
	assert_true(gathered <= 4 * 20);
	assert_true(plain >= 4 * gathered);
}


/* A transaction larger than the cache (pages spill to the WAL and are
 * read back) and than the gathering buffer; then a checkpoint */
static void test_large_and_checkpoint(void **state)
{
	struct fx *f = *state;

	open_db(f, WALBUF_VFS, "FULL");
	insert_txn(f->db, 0, 3000);     /* ~1 MB: beyond 64 KiB gathered */
	assert_int_equal(rows_after_crash(f), 3000);
	exec(f->db, "BEGIN");
	exec(f->db, "UPDATE t SET v=zeroblob(310) WHERE id%3=0");
	exec(f->db, "DELETE FROM t WHERE id%7=0");
	exec(f->db, "COMMIT");
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM t WHERE "
				 "length(v)=310"), 1000 - 1000 / 7);
	assert_int_equal(rows_after_crash(f), 3000 - 3000 / 7);
	/* a spilled transaction rolled back leaves nothing of itself */
	exec(f->db, "BEGIN");
	exec(f->db, "INSERT INTO t(k,v) SELECT 'r'||id, zeroblob(300) FROM t");
	exec(f->db, "ROLLBACK");
	assert_int_equal(rows_after_crash(f), 3000 - 3000 / 7);
	exec(f->db, "PRAGMA wal_checkpoint(TRUNCATE)");
	insert_txn(f->db, 5000, 5);
	assert_int_equal(rows_after_crash(f), 3000 - 3000 / 7 + 5);
	sqlite3_close(f->db);
	f->db = NULL;

	/* a clean close leaves it whole too */
	open_db(f, NULL, "FULL");
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM t"),
			 3000 - 3000 / 7 + 5);
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM "
				 "pragma_integrity_check WHERE "
				 "integrity_check<>'ok'"), 0);
}


/* Many small transactions over a growing file, as the store makes them
 * (the WAL checkpointed into the mapped file as it grows) */
static void test_many_commits(void **state)
{
	struct fx *f = *state;
	char sql[160];

	open_db(f, WALBUF_VFS, "FULL");
	exec(f->db, "PRAGMA wal_autocheckpoint=200");
	for (int i = 0; i < 2000; i++) {
		exec(f->db, "BEGIN");
		snprintf(sql, sizeof(sql), "INSERT INTO t(k,v) VALUES('m%d',"
			 "zeroblob(200))", i);
		exec(f->db, sql);
		if (i > 10) {
			snprintf(sql, sizeof(sql), "UPDATE t SET v=zeroblob("
				 "210) WHERE k='m%d'", i - 10);
			exec(f->db, sql);
		}
		exec(f->db, "COMMIT");
	}
	assert_int_equal(rows_after_crash(f), 2000);
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM t WHERE "
				 "length(v)=210"), 1989);
}


/*
 * What reaches the WAL's inode, in order: SQLite's unix VFS calls
 * pwrite64, fdatasync and fsync from libc, so the test binary's own
 * definitions take them while rec_ino is set ('w' a write at 0, 'f' one
 * further on, 's' a sync).
 */
static ino_t rec_ino;
static char rec[4096];
static size_t rec_n;

static void rec_add(int fd, char ev)
{
	struct stat st;

	if (rec_ino && !fstat(fd, &st) && st.st_ino == rec_ino &&
	    rec_n < sizeof(rec) - 1)
		rec[rec_n++] = ev;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t ofs)
{
	rec_add(fd, ofs == 0 ? 'w' : 'f');
	return syscall(SYS_pwrite64, fd, buf, n, ofs);
}

int fdatasync(int fd)
{
	rec_add(fd, 's');
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	rec_add(fd, 's');
	return (int)syscall(SYS_fsync, fd);
}


/* COMMIT with its WAL sync deferred, as sippushd's store makes it */
static void deferred_txn(sqlite3 *db, int from, int n)
{
	exec(db, "BEGIN");
	insert_rows(db, from, n);
	assert_int_equal(walbuf_defer(db, true), 0);
	exec(db, "COMMIT");
	assert_int_equal(walbuf_defer(db, false), 0);
}


/*
 * Deferred commits leave the commit's sync to the caller, but never the
 * sync of a new WAL header: after a checkpoint the next commit rewrites
 * the header and then overwrites the old frames, and until that header is
 * on disk the old one still validates a prefix of old frames, which a
 * power loss would replay over the newer database. So after every write
 * at offset 0 a sync comes before any frame is written.
 */
static void test_restart_header_synced(void **state)
{
	struct fx *f = *state;
	char wal[128];
	struct stat st;
	size_t headers = 0, syncs = 0;

	open_db(f, WALBUF_VFS, "FULL");
	exec(f->db, "PRAGMA wal_autocheckpoint=0");
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	rec_ino = st.st_ino;
	rec_n = 0;

	for (int round = 0; round < 3; round++) {
		deferred_txn(f->db, round * 100, 5);
		deferred_txn(f->db, round * 100 + 50, 5);
		exec(f->db, "PRAGMA wal_checkpoint(PASSIVE)");
	}
	deferred_txn(f->db, 1000, 5);
	rec_ino = 0;
	rec[rec_n] = 0;

	for (size_t i = 0; i < rec_n; i++) {
		if (rec[i] == 's')
			++syncs;
		if (rec[i] != 'w')
			continue;
		++headers;
		for (size_t j = i + 1; j < rec_n && rec[j] != 's'; j++)
			if (rec[j] == 'f')
				fail_msg("a frame written before the new "
					 "header was synced: %s", rec);
	}
	/* the restarts happened, and the calls were seen */
	assert_true(headers >= 3);
	assert_true(syncs >= headers);
	assert_int_equal(one_int(f->db, "SELECT count(*) FROM t"), 35);
	assert_int_equal(rows_after_crash(f), 35);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_reaches_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_and_checkpoint,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_commits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_header_synced,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
