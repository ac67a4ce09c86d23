/**
 * @file test_sqmem.c  SQLite's small allocations from our free lists
 *                     (src/store/sqmem.c)
 *
 * The methods called directly (reuse, sizes, realloc, the cache's
 * bound), then SQLite itself on them: rows of every size written, read
 * back byte for byte and checked by SQLite's integrity check.
 */
#include "testutil.h"
#include <stdlib.h>
#include <sqlite3.h>
#include "store/sqmem.h"

static const sqlite3_mem_methods *M;


static void test_reuse(void **state)
{
	struct sqmem_stats a, b;
	void *p, *q;

	(void)state;
	p = M->xMalloc(100);
	assert_non_null(p);
	assert_int_equal(M->xSize(p), 112);
	assert_int_equal((uintptr_t)p % 16, 0);
	memset(p, 0xab, 100);
	M->xFree(p);

	sqmem_stats(&a);
	q = M->xMalloc(97);                 /* the same class: 97..112 */
	sqmem_stats(&b);
	assert_ptr_equal(q, p);
	assert_int_equal(b.reused, a.reused + 1);
	assert_int_equal(b.fresh, a.fresh);
	assert_int_equal(b.cached, a.cached - 16 - 112);
	M->xFree(q);

	/* another class is not served from this one's list */
	q = M->xMalloc(200);
	assert_ptr_not_equal(q, p);
	M->xFree(q);
	assert_null(M->xMalloc(0));
	M->xFree(NULL);
}


static void test_resize(void **state)
{
	unsigned char *p, *q;

	(void)state;
	p = M->xMalloc(20);
	for (int i = 0; i < 20; i++)
		p[i] = (unsigned char)i;

	/* within its class it stays */
	assert_ptr_equal(M->xRealloc(p, 32), p);

	/* grown past it: moved, contents kept */
	q = M->xRealloc(p, 600);
	assert_non_null(q);
	assert_int_equal(M->xSize(q), 608);
	for (int i = 0; i < 20; i++)
		assert_int_equal(q[i], i);

	/* to the C library's and back */
	memset(q + 20, 0x5a, 580);
	p = M->xRealloc(q, 5000);
	assert_int_equal(M->xSize(p), 5000);
	assert_int_equal(p[19], 19);
	assert_int_equal(p[599], 0x5a);
	p[4999] = 7;
	q = M->xRealloc(p, 9000);
	assert_int_equal(M->xSize(q), 9000);
	assert_int_equal(q[4999], 7);
	assert_int_equal(q[0], 0);
	p = M->xRealloc(q, 50);
	assert_int_equal(M->xSize(p), 64);
	assert_int_equal(p[49], 0x5a);
	assert_int_equal(p[3], 3);
	M->xFree(p);

	assert_int_equal(M->xRoundup(1), 16);
	assert_int_equal(M->xRoundup(1024), 1024);
	assert_int_equal(M->xRoundup(1025), 1032);
}


/* freed beyond the bound, blocks go back to the C library */
static void test_bound(void **state)
{
	enum { N = 2 * SQMEM_CACHE_MAX / 1040 };
	struct sqmem_stats st;
	void **v = calloc(N, sizeof(*v));

	(void)state;
	assert_non_null(v);
	sqmem_trim();
	for (int i = 0; i < N; i++) {
		v[i] = M->xMalloc(1024);
		assert_non_null(v[i]);
	}
	for (int i = 0; i < N; i++)
		M->xFree(v[i]);
	free(v);

	sqmem_stats(&st);
	assert_true(st.cached <= SQMEM_CACHE_MAX);
	assert_true(st.cached > SQMEM_CACHE_MAX - 1040);

	sqmem_trim();
	sqmem_stats(&st);
	assert_int_equal(st.cached, 0);
}


static void fill(unsigned char *b, int n, int seed)
{
	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(seed * 31 + i * 7);
}


/* SQLite on these methods: rows of 1 byte to 6 KB (small blocks, the C
 * library's, and records that grow from one to the other), updated and
 * deleted, read back exactly */
static void test_sqlite(void **state)
{
	enum { ROWS = 2000 };
	struct sqmem_stats a, b;
	unsigned char buf[6000];
	sqlite3_stmt *ins, *upd, *sel;
	sqlite3 *db;
	int rows = 0;

	(void)state;
	sqmem_stats(&a);
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(k INTEGER PRIMARY "
				      "KEY, v BLOB, s TEXT)", 0, 0, 0),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?,?,?)",
					    -1, &ins, 0), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE t SET v=? WHERE k=?",
					    -1, &upd, 0), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT k, v, s FROM t "
					    "ORDER BY k", -1, &sel, 0),
			 SQLITE_OK);

	assert_int_equal(sqlite3_exec(db, "BEGIN", 0, 0, 0), SQLITE_OK);
	for (int k = 0; k < ROWS; k++) {
		int n = 1 + (k * 37) % 6000;

		fill(buf, n, k);
		sqlite3_bind_int(ins, 1, k);
		sqlite3_bind_blob(ins, 2, buf, n, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 3, "row", 3, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	/* every third row grows or shrinks; every fifth goes */
	for (int k = 0; k < ROWS; k += 3) {
		int n = 1 + (k * 53) % 6000;

		fill(buf, n, k + 1);
		sqlite3_bind_blob(upd, 1, buf, n, SQLITE_TRANSIENT);
		sqlite3_bind_int(upd, 2, k);
		assert_int_equal(sqlite3_step(upd), SQLITE_DONE);
		sqlite3_reset(upd);
	}
	assert_int_equal(sqlite3_exec(db, "DELETE FROM t WHERE k % 5 = 0; "
				      "COMMIT", 0, 0, 0), SQLITE_OK);

	while (sqlite3_step(sel) == SQLITE_ROW) {
		int k = sqlite3_column_int(sel, 0);
		int n = k % 3 ? 1 + (k * 37) % 6000 : 1 + (k * 53) % 6000;

		assert_true(k % 5 != 0);
		fill(buf, n, k % 3 ? k : k + 1);
		assert_int_equal(sqlite3_column_bytes(sel, 1), n);
		assert_memory_equal(sqlite3_column_blob(sel, 1), buf, n);
		assert_string_equal(sqlite3_column_text(sel, 2), "row");
		++rows;
	}
	assert_int_equal(rows, ROWS - ROWS / 5);

	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	{
		sqlite3_stmt *ic;

		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA "
						    "integrity_check", -1,
						    &ic, 0), SQLITE_OK);
		assert_int_equal(sqlite3_step(ic), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(ic, 0), "ok");
		sqlite3_finalize(ic);
	}
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	/* SQLite's small allocations came from the lists, over and over */
	sqmem_stats(&b);
	assert_true(b.reused - a.reused > ROWS);
	assert_true(b.fresh - a.fresh < (b.reused - a.reused) / 10);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_sqlite),
	};

	/* as sippushd's store does, before SQLite initialises */
	M = sqmem_methods();
	assert_int_equal(sqlite3_config(SQLITE_CONFIG_SINGLETHREAD),
			 SQLITE_OK);
	assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, M), SQLITE_OK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
