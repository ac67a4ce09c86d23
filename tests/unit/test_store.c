/**
 * @file test_store.c  The store's conformance suite: schema, records,
 *                     group commit, what survives a crash, purge, a second
 *                     opener. On SQLite, or with SIPPUSH_TEST_PG=URL (a
 *                     server tests/pgserver.py started) on PostgreSQL.
 */
#include "testutil.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sqlite3.h>
#ifdef SIPPUSH_HAVE_PG
#include <libpq-fe.h>
#endif
#include "store/store.h"
#include "core/lease.h"
#ifdef SIPPUSH_HAVE_PG
#include "store/clusterdb.h"
#endif

struct fix {
	char dir[64];
	char path[1024];         /**< what store_open() is given          */
	bool pg;
};

/* the schema version each backend's history has reached */
#define SCHEMA_SQLITE 14
#define SCHEMA_PG 3

static const char *pg_url;


/* PostgreSQL: an empty database for every test */
static void pg_reset(const char *url)
{
#ifdef SIPPUSH_HAVE_PG
	PGconn *c = PQconnectdb(url);
	PGresult *r;

	assert_int_equal(PQstatus(c), CONNECTION_OK);
	r = PQexec(c, "SET client_min_messages=warning;"
		   "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(c);
#else
	(void)url;
	fail_msg("built without PostgreSQL");
#endif
}


static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	str_ncpy(f->dir, "/tmp/sippush-store-XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	if (pg_url) {
		f->pg = true;
		str_ncpy(f->path, pg_url, sizeof(f->path));
		pg_reset(pg_url);
	}
	else {
		re_snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	}
	*state = f;
	return 0;
}


/* A second opener fails while the first one lives; a dead one's lock
 * goes with its connection, which the server may see a moment later */
static int open_retry(struct store **stp, const char *path)
{
	int err = EBUSY;

	for (int i = 0; i < 50 && err == EBUSY; i++) {
		err = store_open(stp, path, NULL);
		if (err == EBUSY)
			usleep(100000);
	}
	return err;
}


static int teardown(void **state)
{
	struct fix *f = *state;
	char p[128];

	for (const char *ext = ""; ; ext = ext[0] ? NULL : "-wal") {
		if (!ext)
			break;
		re_snprintf(p, sizeof(p), "%s%s", f->path, ext);
		(void)unlink(p);
	}
	re_snprintf(p, sizeof(p), "%s-shm", f->path);
	(void)unlink(p);
	(void)rmdir(f->dir);
	free(f);
	return 0;
}


/* A first attempt's record of push id to terminal urn:uuid:1 */
static struct dlv_rec dlv(const char *id, const char *state,
			  uint16_t sip_status)
{
	return (struct dlv_rec){
		.push_id = id, .tkey = "urn:uuid:1", .terminal = "sip:g",
		.ruri = "sip:c", .method = "message", .state = state,
		.call_id = "c1@x", .sip_status = sip_status, .attempts = 1,
		.cseq = 1,
	};
}


static struct push_rec push(const char *id, uint64_t seq)
{
	static const uint8_t body[] = {'h', 'i', 0, 1};

	return (struct push_rec){
		.id = id, .seq = seq, .aor = "sip:a@example.com",
		.app = "mms.ua", .ctype = "text/plain", .body = body,
		.body_len = sizeof(body), .method = "auto",
		.token = id, .state = "pending", .ttl = 60,
		.created_ms = 1000, .expires_ms = 61000,
	};
}


struct seen {
	int pushes;
	int dlvs;
	char last_id[32];
	char dstate[32];
	char dorder[64];         /**< the deliveries' tkeys, as read       */
	size_t body_len;
	int relay;
	int64_t not_before_ms;
	bool unasserted;
};


static void push_h(const struct push_rec *p, void *arg)
{
	struct seen *s = arg;

	++s->pushes;
	str_ncpy(s->last_id, p->id, sizeof(s->last_id));
	s->body_len = p->body_len;
	s->relay = p->relay;
	s->not_before_ms = p->not_before_ms;
	s->unasserted = p->unasserted;
	if (p->body_len == 4)
		assert_memory_equal(p->body, "hi\0\1", 4);
}


static void dlv_h(const struct dlv_rec *d, void *arg)
{
	struct seen *s = arg;

	++s->dlvs;
	str_ncpy(s->dstate, d->state, sizeof(s->dstate));
	if (strlen(s->dorder) + strlen(d->tkey) + 2 < sizeof(s->dorder)) {
		strcat(s->dorder, d->tkey);
		strcat(s->dorder, ";");
	}
}


static void test_schema_and_records(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("p1", 1);
	struct dlv_rec d = dlv("p1", "pending", 0);
	int ver = 0;
	uint32_t n = 0;

	p.relay = 2;
	p.not_before_ms = 5000;
	p.unasserted = true;
	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_schema_version(st, &ver), 0);
	assert_int_equal(ver, f->pg ? SCHEMA_PG : SCHEMA_SQLITE);

	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);
	/* the same id: refused at once, or (pipelined) by its commit */
	{
		int err = store_push_add(st, &p);

		if (!err)
			err = store_flush(st);
		assert_int_equal(err, EEXIST);
	}
	assert_int_equal(store_dlv_put(st, &d), 0);
	d.tkey = "urn:uuid:2";
	assert_int_equal(store_dlv_put(st, &d), 0);
	d.tkey = "urn:uuid:1";
	d.state = "delivered";
	d.sip_status = 200;
	assert_int_equal(store_dlv_put(st, &d), 0);         /* updates */
	assert_int_equal(store_flush(st), 0);

	/* in the order they were made, whatever was written last (the
	 * status page and the API show them so, on every backend) */
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.pushes, 1);
	assert_int_equal(seen.dlvs, 2);
	assert_string_equal(seen.dorder, "urn:uuid:1;urn:uuid:2;");
	seen.dlvs = 0;
	seen.dorder[0] = '\0';
	d.tkey = "urn:uuid:2";
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.dlvs, 2);
	assert_string_equal(seen.dorder, "urn:uuid:1;urn:uuid:2;");
	assert_string_equal(seen.dstate, "delivered");
	assert_int_equal(seen.body_len, 4);
	assert_int_equal(seen.relay, 2);
	assert_int_equal(seen.not_before_ms, 5000);
	assert_true(seen.unasserted);
	assert_int_equal(store_push_get(st, "nope", push_h, dlv_h, &seen),
			 ENOENT);
	assert_int_equal(store_max_seq(st), 1);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_content(st, "p1", push_h, &seen), 0);
	assert_int_equal(seen.pushes, 1);

	/* pending ones load; final ones do not, and purge removes them */
	p = push("p2", 2);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_push_final(st, "p1", "delivered", 5000), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_load_pending(st, push_h, dlv_h, &seen),
			 0);
	assert_int_equal(seen.pushes, 1);
	assert_string_equal(seen.last_id, "p2");
	assert_int_equal(store_purge(st, 4000, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_purge(st, 6000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen),
			 ENOENT);
	mem_deref(st);

	/* reopening runs no migration again and keeps the data */
	assert_int_equal(open_retry(&st, f->path), 0);
	assert_int_equal(store_schema_version(st, &ver), 0);
	assert_int_equal(ver, f->pg ? SCHEMA_PG : SCHEMA_SQLITE);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_get(st, "p2", push_h, NULL, &seen), 0);
	mem_deref(st);
}


static void term_h(const struct term_rec *t, void *arg)
{
	int *n = arg;

	assert_string_equal(t->aor, "sip:a@example.com");
	assert_string_equal(t->apps, "mms.ua");
	assert_true(t->push);
	assert_null(t->temp_gruu);
	++*n;
}


static void test_terminals_users(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct term_rec t = {
		.aor = "sip:a@example.com", .tkey = "urn:uuid:1",
		.instance = "urn:uuid:1", .contact = "sip:a@127.0.0.1:1",
		.pub_gruu = "sip:a@example.com;gr=urn:uuid:1",
		.apps = "mms.ua", .methods = "MESSAGE", .source = "register",
		.expires_at = 99, .push = true,
	};
	char ha1[40];
	int n = 0;

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_term_put(st, &t), 0);
	assert_int_equal(store_term_put(st, &t), 0);   /* upsert */
	t.tkey = "urn:uuid:2";
	assert_int_equal(store_term_put(st, &t), 0);
	assert_int_equal(store_term_load(st, term_h, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_term_del(st, "sip:a@example.com", "urn:uuid:2"),
			 0);
	n = 0;
	assert_int_equal(store_term_load(st, term_h, &n), 0);
	assert_int_equal(n, 1);

	assert_int_equal(store_user_ha1(st, "sip:a@example.com", ha1,
					sizeof(ha1)), ENOENT);
	assert_int_equal(store_user_set(st, "sip:a@example.com", "r",
					"0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(store_user_ha1(st, "sip:a@example.com", ha1,
					sizeof(ha1)), 0);
	assert_string_equal(ha1, "0123456789abcdef0123456789abcdef");
	mem_deref(st);
}


static void aor_h(const struct term_rec *t, void *arg)
{
	char *out = arg;

	(void)re_snprintf(out + strlen(out), 256 - strlen(out), "%s|%s ",
			  t->aor, t->tkey);
}


/*
 * Migration 10: the rows of a store written before one spelling per AoR
 * take it (scheme and host in lower case, the user part kept); of two
 * spellings of one key the canonical row stays.
 */
static void test_aor_migration(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct term_rec t = {
		.tkey = "urn:uuid:1", .contact = "sip:x@127.0.0.1:1",
		.source = "register", .expires_at = 99, .push = true,
	};
	struct push_rec p = push("p1", 1);
	char ha1[40], got[256] = "";
	sqlite3 *db;
	int ver = 0;

	if (f->pg)
		skip();   /* PostgreSQL's history starts after migration 10 */
	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_user_set(st, "SIP:dave@EXAMPLE.com", "r",
					"11111111111111111111111111111111"), 0);
	assert_int_equal(store_user_set(st, "sip:DAVE@example.com", "r",
					"22222222222222222222222222222222"), 0);
	assert_int_equal(store_user_set(st, "sip:erin@Example.com", "r",
					"33333333333333333333333333333333"), 0);
	assert_int_equal(store_user_set(st, "sip:erin@example.com", "r",
					"44444444444444444444444444444444"), 0);
	t.aor = "sip:dave@EXAMPLE.COM";
	assert_int_equal(store_term_put(st, &t), 0);
	t.aor = "sip:DAVE@example.com";
	assert_int_equal(store_term_put(st, &t), 0);
	p.aor = "Sip:dave@Example.com";
	assert_int_equal(store_push_add(st, &p), 0);
	mem_deref(st);

	/* as a schema-9 file (without what later migrations add) */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET v=9 WHERE "
				      "k='schema_version';"
				      "ALTER TABLE pushes DROP COLUMN owner;"
				      "ALTER TABLE pushes DROP COLUMN privacy;"
				      "ALTER TABLE terminals DROP COLUMN "
				      "charging;"
				      "DROP TABLE idem",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_schema_version(st, &ver), 0);
	assert_int_equal(ver, SCHEMA_SQLITE);
	assert_int_equal(store_user_ha1(st, "sip:dave@example.com", ha1,
					sizeof(ha1)), 0);
	assert_string_equal(ha1, "11111111111111111111111111111111");
	assert_int_equal(store_user_ha1(st, "sip:DAVE@example.com", ha1,
					sizeof(ha1)), 0);
	assert_string_equal(ha1, "22222222222222222222222222222222");
	assert_int_equal(store_user_ha1(st, "sip:erin@example.com", ha1,
					sizeof(ha1)), 0);
	assert_string_equal(ha1, "44444444444444444444444444444444");
	assert_int_equal(store_user_ha1(st, "sip:erin@Example.com", ha1,
					sizeof(ha1)), ENOENT);
	assert_int_equal(store_term_load(st, aor_h, got), 0);
	assert_non_null(strstr(got, "sip:dave@example.com|urn:uuid:1 "));
	assert_non_null(strstr(got, "sip:DAVE@example.com|urn:uuid:1 "));
	mem_deref(st);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	{
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT aor FROM "
						    "pushes", -1, &q, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(q, 0),
				    "sip:dave@example.com");
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
}


static void sync_h(int err, void *arg)
{
	assert_int_equal(err, 0);
	++*(int *)arg;
}


/* Run child(path) in a child process that ends with _exit (a crash: no
 * destructor, no commit); it must exit 0. Then open the file it left. */
static struct store *after_child(const char *path,
				 void (*child)(const char *path))
{
	struct store *st = NULL;
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		child(path);   /* never returns */

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(open_retry(&st, path), 0);
	return st;
}


/*
 * A child writes two pushes: one it waits for (store_sync's handler ran:
 * it would have been acknowledged) and one it never syncs, then dies
 * without closing anything. The first must be in the file, the second not.
 */
static void crash_child(const char *path)
{
	struct push_rec p = push("acked", 1);
	struct store *st = NULL;
	int done = 0;

	if (store_open(&st, path, NULL))
		_exit(10);
	if (store_push_add(st, &p) || store_sync(st, sync_h, &done))
		_exit(11);
	/* the commit runs from a 0 ms timer, like in the daemon */
	for (int i = 0; i < 100 && !done; i++)
		run_loop_ms(10);
	if (done != 1)
		_exit(12);
	p = push("unacked", 2);
	if (store_push_add(st, &p))
		_exit(13);
	_exit(0);   /* a crash: no destructor, no commit */
}

static void test_crash_keeps_acknowledged(void **state)
{
	struct fix *f = *state;
	struct seen seen = {0};
	struct store *st = after_child(f->path, crash_child);

	assert_int_equal(store_push_get(st, "acked", push_h, NULL, &seen), 0);
	assert_int_equal(store_push_get(st, "unacked", push_h, NULL, &seen),
			 ENOENT);
	mem_deref(st);
}


/*
 * A commit's handlers answer only for what that commit held. The handler
 * of the first push writes a second one and waits for it from inside the
 * commit callback, as an HTTP connection's next request would; when that
 * second wait's handler runs, the child dies at once (it "acknowledged"
 * and crashed). Both pushes must then be in the file. A flush that went
 * on serving waiters queued during its own callbacks ran the second
 * handler before the second push's COMMIT.
 */
struct chain {
	struct store *st;
	int first, second;
};

static void second_h(int err, void *arg)
{
	struct chain *c = arg;

	++c->second;
	_exit(err ? 21 : 0);   /* acknowledged, then a crash */
}

static void first_h(int err, void *arg)
{
	struct chain *c = arg;
	struct push_rec p = push("second", 2);

	++c->first;
	if (err || store_push_add(c->st, &p) ||
	    store_sync(c->st, second_h, c))
		_exit(20);
}

static void chain_child(const char *path)
{
	struct push_rec p = push("first", 1);
	struct store *st = NULL;
	struct chain c = {0};

	if (store_open(&st, path, NULL))
		_exit(10);
	c.st = st;
	if (store_push_add(st, &p) || store_sync(st, first_h, &c))
		_exit(11);
	/* one flush: the first handler runs, the second must not */
	if (store_flush(st) || c.first != 1 || c.second != 0)
		_exit(12);
	for (int i = 0; i < 100; i++)
		run_loop_ms(10);
	_exit(13);   /* the second wait was never answered */
}

static void test_commit_answers_only_its_writes(void **state)
{
	struct fix *f = *state;
	struct seen seen = {0};
	struct store *st = after_child(f->path, chain_child);

	assert_int_equal(store_push_get(st, "first", push_h, NULL, &seen), 0);
	assert_int_equal(store_push_get(st, "second", push_h, NULL, &seen), 0);
	mem_deref(st);
}


/*
 * With --sync full, SQLite's WAL is synced on a thread of its own
 * (walsync.c). The test's sync waits until the test lets it go, then
 * copies the database and its WAL (what was written before the sync
 * began: what its return makes durable) and syncs. A waiter must not run
 * while the sync is held, and once it ran, what it waited for must be in
 * that copy, opened through SQLite's own VFS: a commit whose frames were
 * still gathered in memory when the sync began would be missing there.
 */
struct held_sync {
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	unsigned calls, permits;
	char db[1024];           /* the store's file */
	char img[1100];          /* its copy at the last sync */
};

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	const int in = open(from, O_RDONLY | O_CLOEXEC);
	const int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0600);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	(void)close(in);
	(void)close(out);
}

static int held_fsync(int fd, void *arg)
{
	struct held_sync *h = arg;
	char from[1200], to[1200];

	pthread_mutex_lock(&h->mtx);
	++h->calls;
	while (!h->permits)
		pthread_cond_wait(&h->cond, &h->mtx);
	--h->permits;
	copy_file(h->db, h->img);
	re_snprintf(from, sizeof(from), "%s-wal", h->db);
	re_snprintf(to, sizeof(to), "%s-wal", h->img);
	copy_file(from, to);
	pthread_mutex_unlock(&h->mtx);
	return fdatasync(fd) ? errno : 0;
}

static unsigned held_calls(struct held_sync *h)
{
	unsigned n;

	pthread_mutex_lock(&h->mtx);
	n = h->calls;
	pthread_mutex_unlock(&h->mtx);
	return n;
}

static void held_permit(struct held_sync *h, unsigned n)
{
	pthread_mutex_lock(&h->mtx);
	h->permits += n;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mtx);
}

static int64_t img_count(const char *img, const char *id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(img, &db, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
					    "pushes WHERE id=?", -1, &s,
					    NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void test_ack_after_fsync(void **state)
{
	struct fix *f = *state;
	struct held_sync h = {.calls = 0};
	struct store_opts so = {.fsync = held_fsync, .fsync_arg = &h};
	struct store *st = NULL;
	struct push_rec p = push("a", 1);
	int done = 0;
	char id[8];

	if (f->pg)
		skip();          /* SQLite's own */
	pthread_mutex_init(&h.mtx, NULL);
	pthread_cond_init(&h.cond, NULL);
	str_ncpy(h.db, f->path, sizeof(h.db));
	re_snprintf(h.img, sizeof(h.img), "%s.img", f->path);

	assert_int_equal(store_open(&st, f->path, &so), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_sync(st, sync_h, &done), 0);
	/* the commit runs from a 0 ms timer; its sync is held */
	for (int i = 0; i < 100 && !held_calls(&h); i++)
		run_loop_ms(10);
	assert_int_equal(held_calls(&h), 1);
	run_loop_ms(50);
	assert_int_equal(done, 0);

	/* pushes b..f, each its own turn, while the first sync is held:
	 * the next sync covers them all */
	for (int i = 0; i < 5; i++) {
		re_snprintf(id, sizeof(id), "%c", 'b' + i);
		p = push(id, 2 + (uint64_t)i);
		assert_int_equal(store_push_add(st, &p), 0);
		assert_int_equal(store_sync(st, sync_h, &done), 0);
		run_loop_ms(5);
	}
	assert_int_equal(done, 0);

	held_permit(&h, 1);
	for (int i = 0; i < 100 && done < 1; i++)
		run_loop_ms(10);
	assert_int_equal(done, 1);
	assert_int_equal(img_count(h.img, "a"), 1);

	held_permit(&h, 1);
	for (int i = 0; i < 100 && done < 6; i++)
		run_loop_ms(10);
	assert_int_equal(done, 6);
	assert_int_equal(held_calls(&h), 2);
	for (int i = 0; i < 5; i++) {
		re_snprintf(id, sizeof(id), "%c", 'b' + i);
		assert_int_equal(img_count(h.img, id), 1);
	}

	held_permit(&h, 100);    /* the close's own syncs */
	mem_deref(st);
	(void)unlink(h.img);
	re_snprintf(h.img, sizeof(h.img), "%s.img-wal", f->path);
	(void)unlink(h.img);
	/* img_count()'s reader made it (the copy is in WAL mode) */
	re_snprintf(h.img, sizeof(h.img), "%s.img-shm", f->path);
	(void)unlink(h.img);
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.mtx);
}


/* sippushd takes the database exclusively: a second one fails at once */
static void test_second_opener(void **state)
{
	struct fix *f = *state;
	struct store *a = NULL, *b = NULL;
	struct push_rec p = push("x", 1);
	int status = 0;
	pid_t pid;

	assert_int_equal(store_open(&a, f->path, NULL), 0);
	assert_int_equal(store_push_add(a, &p), 0);
	assert_int_equal(store_flush(a), 0);

	pid = fork();
	if (pid == 0)
		_exit(store_open(&b, f->path, NULL) == EBUSY ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);

	/* gone: the next one opens */
	mem_deref(a);
	pid = fork();
	if (pid == 0)
		_exit(open_retry(&b, f->path) ? 1 : 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}


struct subseen {
	int subs, caps;
	uint32_t lseq;
	char route[64], dev_cap[64], accept[64];
	uint32_t msgsize;
};


static void sub_h(const struct sub_rec *r, void *arg)
{
	struct subseen *ss = arg;

	++ss->subs;
	ss->lseq = r->lseq;
	str_ncpy(ss->route, r->route ? r->route : "", sizeof(ss->route));
}


static void caps_h(const struct caps_rec *r, void *arg)
{
	struct subseen *ss = arg;

	++ss->caps;
	ss->msgsize = r->push_msgsize;
	str_ncpy(ss->dev_cap, r->dev_cap ? r->dev_cap : "",
		 sizeof(ss->dev_cap));
	str_ncpy(ss->accept, r->push_accept ? r->push_accept : "",
		 sizeof(ss->accept));
}


/* Subscriptions and capabilities survive a reopen; deletes hold */
static void test_subs_caps(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct sub_rec r = {
		.call_id = "c1@t", .aor = "sip:a@example.com",
		.tkey = "urn:uuid:1", .app = "mms.ua", .ltag = "l1",
		.rtag = "r1", .local = "<sip:push@localhost>",
		.remote = "<sip:a@example.com>", .target = "sip:a@127.0.0.1",
		.route = "<sip:p1;lr>,<sip:p2;lr>", .accept = "text/plain",
		.methods = "NOTIFY", .lseq = 7, .rseq = 1, .expires_at = 99,
	};
	struct caps_rec c = {
		.aor = "sip:a@example.com", .tkey = "urn:uuid:1",
		.vendor = "v", .model = "m", .version = "1",
		.dev_cap = "http://x/p.rdf", .push_accept = "text/plain",
		.push_msgsize = 1400, .updated_at = 5,
	};
	struct subseen ss;

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_sub_put(st, &r), 0);
	r.lseq = 8;
	assert_int_equal(store_sub_put(st, &r), 0);   /* replaces */
	r.call_id = "c2@t";
	assert_int_equal(store_sub_put(st, &r), 0);
	assert_int_equal(store_sub_del(st, "c2@t"), 0);
	assert_int_equal(store_caps_put(st, &c), 0);
	r.target = NULL;
	assert_int_equal(store_sub_put(st, &r), EINVAL);
	mem_deref(st);

	assert_int_equal(open_retry(&st, f->path), 0);
	memset(&ss, 0, sizeof(ss));
	assert_int_equal(store_sub_load(st, sub_h, &ss), 0);
	assert_int_equal(store_caps_load(st, caps_h, &ss), 0);
	assert_int_equal(ss.subs, 1);
	assert_int_equal(ss.lseq, 8);
	assert_string_equal(ss.route, "<sip:p1;lr>,<sip:p2;lr>");
	assert_int_equal(ss.caps, 1);
	assert_int_equal(ss.msgsize, 1400);
	assert_string_equal(ss.dev_cap, "http://x/p.rdf");
	assert_string_equal(ss.accept, "text/plain");
	mem_deref(st);
}


/*
 * A read sees the turn's writes before their commit (PostgreSQL: the
 * query goes behind them in the pipeline).
 */
static void test_reads_see_open_turn(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("r1", 7);
	char ha1[40];

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_user_set(st, "sip:r@example.com", "r",
					"0123456789abcdef0123456789abcdef"), 0);
	assert_int_equal(store_push_get(st, "r1", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.pushes, 1);
	assert_int_equal(store_max_seq(st), 7);
	assert_int_equal(store_user_ha1(st, "sip:r@example.com", ha1,
					sizeof(ha1)), 0);
	mem_deref(st);
}


/* A write nobody waits for commits within lazy_ms: the loop alone
 * commits it (the child dies without a flush or a destructor) */
static void lazy_child(const char *path)
{
	struct push_rec p = push("lazy", 1);
	struct store *st = NULL;

	if (store_open(&st, path, NULL) || store_push_add(st, &p))
		_exit(10);
	run_loop_ms(300);   /* lazy_ms is 50: committed by now */
	_exit(0);
}


static void test_lazy_commit(void **state)
{
	struct fix *f = *state;
	struct seen seen = {0};
	struct store *st = after_child(f->path, lazy_child);

	assert_int_equal(store_push_get(st, "lazy", push_h, NULL, &seen), 0);
	mem_deref(st);
}


static void idem_h(const struct idem_rec *r, void *arg)
{
	char *out = arg;

	re_snprintf(out, 64, "%u %s", r->status, r->answer);
}


/*
 * Idempotency keys: per owner, seen in the turn that wrote them, a key
 * taken twice refused (at once or by its commit) with the first answer
 * kept, purged with the retention.
 */
static void test_idempotency(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct idem_rec r = {
		.owner = "", .key = "k1", .status = 202,
		.answer = "{\"id\":\"a\"}", .created_ms = 1000,
	};
	char got[64] = "";
	uint32_t n;
	int err;

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_idem_get(st, "", "k1", idem_h, got), ENOENT);
	assert_int_equal(store_idem_put(st, &r), 0);
	assert_int_equal(store_idem_get(st, "", "k1", idem_h, got), 0);
	assert_string_equal(got, "202 {\"id\":\"a\"}");
	assert_int_equal(store_idem_get(st, "mmsc", "k1", idem_h, got),
			 ENOENT);
	r.owner = "mmsc";
	r.created_ms = 9000;
	assert_int_equal(store_idem_put(st, &r), 0);
	assert_int_equal(store_flush(st), 0);

	r.answer = "{\"id\":\"b\"}";
	err = store_idem_put(st, &r);
	if (!err)
		err = store_flush(st);
	assert_int_equal(err, EEXIST);
	assert_int_equal(store_idem_get(st, "mmsc", "k1", idem_h, got), 0);
	assert_string_equal(got, "202 {\"id\":\"a\"}");

	assert_int_equal(store_purge(st, 5000, &n), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_idem_get(st, "", "k1", NULL, NULL), ENOENT);
	assert_int_equal(store_idem_get(st, "mmsc", "k1", NULL, NULL), 0);
	mem_deref(st);
}


static void err_h(int err, void *arg)
{
	*(int *)arg = err ? err : -1;
}


/*
 * A turn abandoned (a request failed half-way) commits nothing: its
 * waiters get ECANCELED, its writes are gone, the turn before it stays
 * and the next one commits.
 */
static void test_abandon(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("kept", 1);
	int got = 0;

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);

	p = push("half1", 2);
	assert_int_equal(store_push_add(st, &p), 0);
	p = push("half2", 3);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_sync(st, err_h, &got), 0);
	assert_int_equal(store_abandon(st), 0);
	assert_int_equal(store_flush(st), ECANCELED);
	assert_int_equal(got, ECANCELED);

	p = push("next", 4);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_push_get(st, "kept", push_h, NULL, &seen), 0);
	assert_int_equal(store_push_get(st, "next", push_h, NULL, &seen), 0);
	assert_int_equal(store_push_get(st, "half1", push_h, NULL, &seen),
			 ENOENT);
	assert_int_equal(store_push_get(st, "half2", push_h, NULL, &seen),
			 ENOENT);
	mem_deref(st);
}


/*
 * A commit's handler that writes and abandons the new turn (a request
 * read while answering fails half-way): the abandon holds for that turn,
 * even when the handler ran from inside the commit call (SQLite without
 * walsync answers at once). The turn's end cleared the flag after the
 * call, so the half-written turn committed.
 */
struct inner {
	struct store *st;
	int ran;
};

static void abandon_inner_h(int err, void *arg)
{
	struct inner *in = arg;
	struct push_rec p = push("inner", 9);

	++in->ran;
	assert_int_equal(err, 0);
	assert_int_equal(store_push_add(in->st, &p), 0);
	assert_int_equal(store_abandon(in->st), 0);
}

static void test_abandon_from_handler(void **state)
{
	struct fix *f = *state;
	const struct store_opts so = {.sync = STORE_SYNC_NORMAL};
	struct seen seen = {0};
	struct push_rec p = push("outer", 1);
	struct inner in = {0};

	assert_int_equal(store_open(&in.st, f->path, &so), 0);
	assert_int_equal(store_push_add(in.st, &p), 0);
	assert_int_equal(store_sync(in.st, abandon_inner_h, &in), 0);
	for (int i = 0; i < 100 && !in.ran; i++)
		run_loop_ms(10);
	assert_int_equal(in.ran, 1);
	run_loop_ms(100);           /* the inner turn ends */
	assert_int_equal(store_flush(in.st), 0);
	assert_int_equal(store_push_get(in.st, "outer", push_h, NULL, &seen),
			 0);
	assert_int_equal(store_push_get(in.st, "inner", push_h, NULL, &seen),
			 ENOENT);
	mem_deref(in.st);
}


/*
 * Delivery progress (a delivery's record, a push's final state) in a turn
 * that commits nothing is kept and written at the head of the next turn;
 * the acknowledged writes of that turn are not (their writers were told).
 */
static void test_progress_kept(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("pk", 1);
	struct dlv_rec d = dlv("pk", "pending", 0);
	int got = 0;

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_flush(st), 0);

	/* a turn abandoned: progress of pk and a push nobody was told of */
	d.state = "sending";
	assert_int_equal(store_dlv_put(st, &d), 0);
	d.state = "delivered";
	d.sip_status = 200;
	assert_int_equal(store_dlv_put(st, &d), 0);   /* the newest wins */
	assert_int_equal(store_push_final(st, "pk", "delivered", 7000), 0);
	p = push("refused", 2);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_sync(st, err_h, &got), 0);
	assert_int_equal(store_abandon(st), 0);
	assert_int_equal(store_flush(st), ECANCELED);
	assert_int_equal(got, ECANCELED);

	/* the next turn writes them first */
	p = push("next", 3);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_push_get(st, "pk", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.dlvs, 1);
	assert_string_equal(seen.dstate, "delivered");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_load_pending(st, push_h, NULL, &seen), 0);
	assert_int_equal(seen.pushes, 1);             /* "next" alone */
	assert_string_equal(seen.last_id, "next");
	assert_int_equal(store_push_get(st, "refused", push_h, NULL, &seen),
			 ENOENT);
	mem_deref(st);
}


#ifdef SIPPUSH_HAVE_PG
/* The server ends every other connection to the test's database */
static void kill_backends(const struct fix *f)
{
	PGconn *c = PQconnectdb(f->path);
	PGresult *r = PQexec(c, "SELECT pg_terminate_backend(pid) "
			     "FROM pg_stat_activity WHERE datname="
			     "current_database() AND "
			     "pid<>pg_backend_pid()");

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	PQclear(r);
	PQfinish(c);
}
#endif


/*
 * PostgreSQL: the server ends the connection under an open turn. Its
 * waiter is told the commit failed (it is never acknowledged), the write
 * is not in the database, and the store connects again by itself: the
 * next write commits.
 */
static void test_connection_lost(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("lost", 1);
	int got = 0;

	if (!f->pg)
		skip();
#ifdef SIPPUSH_HAVE_PG
	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_sync(st, err_h, &got), 0);
	kill_backends(f);
	for (int i = 0; i < 100 && !got; i++)
		run_loop_ms(10);
	assert_true(got > 0);    /* an error, not success (-1) */

	/* connected again within the backoff (0.1 s, then 0.2 s, ...) */
	p = push("after", 2);
	for (int i = 0; i < 30; i++) {
		run_loop_ms(100);
		if (!store_push_add(st, &p) && !store_flush(st))
			break;
	}
	assert_int_equal(store_push_get(st, "after", push_h, NULL, &seen), 0);
	assert_int_equal(store_push_get(st, "lost", push_h, NULL, &seen),
			 ENOENT);
	mem_deref(st);
#endif
}


/*
 * PostgreSQL: progress held for its batch meets a turn already open on a
 * connection the server has ended: its writes fail there, and it is kept
 * and written once the store is back, not dropped (a push delivered
 * then stayed pending in the store: CI's test_pg_failover).
 */
static void test_progress_kept_broken(void **state)
{
	const struct store_opts so = {.lazy_ms = 60000,
				      .progress_ms = 60000};
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("hk", 1);
	struct dlv_rec d = dlv("hk", "delivered", 200);
	int i, err = 0;

	if (!f->pg)
		skip();
#ifdef SIPPUSH_HAVE_PG
	assert_int_equal(store_open(&st, f->path, &so), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);

	/* a turn open (a write nobody is told of), the progress held */
	p = push("open", 2);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_push_final(st, "hk", "delivered", 7000), 0);

	/* the connection ends; the store sees it (a write fails) */
	kill_backends(f);
	for (i = 0; i < 100 && !err; i++) {
		run_loop_ms(10);
		err = store_user_set(st, "sip:x@y", "y", "00");
	}
	assert_int_not_equal(err, 0);

	/* a read writes the held batch first: into the broken turn */
	(void)store_push_get(st, "hk", push_h, dlv_h, &seen);

	/* back: what was held is written */
	for (i = 0; i < 30; i++) {
		run_loop_ms(100);
		memset(&seen, 0, sizeof(seen));
		if (!store_flush(st) &&
		    !store_push_get(st, "hk", push_h, dlv_h, &seen) &&
		    seen.dlvs)
			break;
	}
	assert_int_equal(seen.dlvs, 1);
	assert_string_equal(seen.dstate, "delivered");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_load_pending(st, push_h, NULL, &seen), 0);
	assert_int_equal(seen.pushes, 0);      /* hk is final */
	mem_deref(st);
#endif
}


/*
 * A store freed while progress is held: its last flush writes it, and no
 * timer of the freed store is left running (the flush started the commit
 * timer again after the destructor had stopped it: a use after free
 * under ASan when the loop ran next)
 */
static void test_free_with_held(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	struct seen seen = {0};
	struct push_rec p = push("fh", 1);
	struct dlv_rec d = dlv("fh", "delivered", 200);

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_add(st, &p), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);   /* held */
	mem_deref(st);
	run_loop_ms(100);

	assert_int_equal(store_open(&st, f->path, NULL), 0);
	assert_int_equal(store_push_get(st, "fh", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.dlvs, 1);
	assert_string_equal(seen.dstate, "delivered");
	mem_deref(st);
}


static void test_corrupt(void **state)
{
	struct fix *f = *state;
	struct store *st = NULL;
	FILE *fp;

	if (f->pg)
		skip();   /* a file's damage: SQLite's */
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	for (int i = 0; i < 64; i++)
		fputs("this is not a database file at all ", fp);
	fclose(fp);
	assert_int_equal(store_open(&st, f->path, NULL), EBADMSG);
	assert_null(st);
}


/* A cluster's fencing (PostgreSQL): a delivery write or a push's final
 * state goes in only while its node holds the shard's lease of that
 * epoch; a claim succeeds on a free or expired lease only, raising the
 * epoch; news is carried by NOTIFY to the other connections */
#ifdef SIPPUSH_HAVE_PG
struct news { int n; char last[128]; };

static void news_h(const char *payload, void *arg)
{
	struct news *nw = arg;

	++nw->n;
	str_ncpy(nw->last, payload, sizeof(nw->last));
}
#endif

static void test_fence(void **state)
{
#ifdef SIPPUSH_HAVE_PG
	struct fix *f = *state;
	struct store *st = NULL;
	struct clusterdb *a = NULL, *b = NULL;
	struct clusterdb_view view;
	struct store_opts so = {.cluster = true};
	struct push_rec p = push("p1", 1);
	struct dlv_rec d = {
		.push_id = "p1", .tkey = "urn:uuid:1", .ruri = "sip:c",
		.method = "message", .state = "delivered", .call_id = "c1@x",
	};
	uint64_t ea[LEASE_SHARDS] = {0}, eb[LEASE_SHARDS] = {0};
	const uint16_t sh[] = {7};
	struct seen seen = {0};
	struct news nw = {0};

	if (!f->pg)
		skip();
	assert_int_equal(store_open(&st, f->path, &so), 0);
	/* a second opener is no conflict in a cluster */
	{
		struct store *st2 = NULL;

		assert_int_equal(store_open(&st2, f->path, &so), 0);
		mem_deref(st2);
	}
	assert_int_equal(clusterdb_open(&a, f->path, "na", 4000, NULL, NULL), 0);
	assert_int_equal(clusterdb_open(&b, f->path, "nb", 4000, news_h, &nw), 0);
	assert_int_not_equal(clusterdb_tag(a), clusterdb_tag(b));

	assert_int_equal(clusterdb_round(a, 4000, &view), 0);
	assert_int_equal(view.nlive, 2);
	assert_null(view.v[7].owner);
	assert_int_equal(clusterdb_claim(a, 4000, sh, 1, ea), 0);
	assert_int_equal(ea[7], 1);
	assert_int_equal(clusterdb_claim(b, 4000, sh, 1, eb), 0);
	assert_int_equal(eb[7], 0);            /* held: b's claim fails */

	assert_int_equal(store_push_add(st, &p), 0);
	/* news signed by a node is heard; a forged one (any role that may
	 * connect may NOTIFY) is not */
	{
		char *msg = NULL;

		assert_int_equal(clusterdb_sign(a, &msg, "p na 7 p1"), 0);
		assert_int_equal(store_notify(st, msg), 0);
		assert_int_equal(store_notify(st, "p na 7 forged"), 0);
		msg[3] = msg[3] == '0' ? '1' : '0';
		assert_int_equal(store_notify(st, msg), 0);
		mem_deref(msg);
	}
	/* b's node is not a's: its write is dropped */
	const struct store_fence wrong = {.node = "nb", .shard = 7, .epoch = 1};
	assert_int_equal(store_fence(st, &wrong), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_push_final(st, "p1", "delivered", 5), 0);
	assert_int_equal(store_fence(st, NULL), 0);
	assert_int_equal(store_flush(st), 0);
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.dlvs, 0);

	/* the news reached b's connection (read with its next statement,
	 * handed over from the loop) */
	assert_int_equal(clusterdb_round(b, 4000, &view), 0);
	clusterdb_news(b);
	assert_int_equal(nw.n, 1);
	assert_string_equal(nw.last, "p na 7 p1");
	assert_int_equal(clusterdb_refused(b), 2);
	assert_string_equal(view.v[7].owner, "na");

	/* a's write of its epoch goes in */
	const struct store_fence ok = {.node = "na", .shard = 7, .epoch = 1};
	assert_int_equal(store_fence(st, &ok), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_fence(st, NULL), 0);
	assert_int_equal(store_flush(st), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen), 0);
	assert_int_equal(seen.dlvs, 1);

	/* released: b claims it with epoch 2, a's epoch-1 writes drop */
	assert_int_equal(clusterdb_release(a, 7, 1), 0);
	assert_int_equal(clusterdb_claim(b, 4000, sh, 1, eb), 0);
	assert_int_equal(eb[7], 2);
	memset(ea, 0, sizeof(ea));
	assert_int_equal(clusterdb_renew(a, 4000, sh, 1, ea), 0);
	assert_int_equal(ea[7], 0);            /* not a's to renew */
	d.state = "failed";
	assert_int_equal(store_fence(st, &ok), 0);
	assert_int_equal(store_dlv_put(st, &d), 0);
	assert_int_equal(store_fence(st, NULL), 0);
	assert_int_equal(store_flush(st), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_push_get(st, "p1", push_h, dlv_h, &seen), 0);
	assert_string_equal(seen.dstate, "delivered");

	assert_int_equal(clusterdb_leave(b), 0);
	assert_int_equal(clusterdb_round(a, 4000, &view), 0);
	assert_int_equal(view.nlive, 1);
	assert_null(view.v[7].owner);
	mem_deref(a);
	mem_deref(b);
	mem_deref(st);
#else
	(void)state;
	skip();
#endif
}


/* A push as text, as a cluster's announcement carries it: the same push
 * back; a cut or altered text is refused, never read past its end */
struct decoded { int n; struct push_rec p; char id[32], aor[64]; };

static void decoded_h(const struct push_rec *p, void *arg)
{
	struct decoded *d = arg;

	++d->n;
	d->p = *p;
	str_ncpy(d->id, p->id, sizeof(d->id));
	str_ncpy(d->aor, p->aor, sizeof(d->aor));
}


static void test_push_encode(void **state)
{
	struct push_rec p = push("p9", 9);
	struct decoded d = {0};
	char *txt = NULL;
	(void)state;

	p.unasserted = true;
	p.relay = 2;
	assert_int_equal(store_push_encode(&txt, &p, 8000), 0);
	assert_int_equal(store_push_decode(txt, decoded_h, &d), 0);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.id, "p9");
	assert_string_equal(d.aor, p.aor);
	assert_int_equal(d.p.seq, 9);
	assert_int_equal(d.p.relay, 2);
	assert_true(d.p.unasserted);
	assert_int_equal(d.p.body_len, p.body_len);

	/* every shorter prefix, and a flipped character: refused */
	for (size_t len = strlen(txt); len-- > 0; ) {
		char *cut = mem_zalloc(len + 1, NULL);

		memcpy(cut, txt, len);
		d.n = 0;
		(void)store_push_decode(cut, decoded_h, &d);
		assert_true(d.n == 0 || len >= strlen(txt) - 3);
		mem_deref(cut);
	}
	/* any one character changed: refused, or one push (under ASan: no
	 * read out of bounds either way) */
	for (size_t i = 0; txt[i]; i++) {
		const char was = txt[i];

		txt[i] = was == 'A' ? '/' : 'A';
		d.n = 0;
		if (store_push_decode(txt, decoded_h, &d))
			assert_int_equal(d.n, 0);
		else
			assert_int_equal(d.n, 1);
		txt[i] = was;
	}
	d.n = 0;
	assert_int_not_equal(store_push_decode("@@@", decoded_h, &d), 0);
	assert_int_equal(d.n, 0);
	mem_deref(txt);

	/* too large for the limit */
	assert_int_equal(store_push_encode(&txt, &p, 16), EOVERFLOW);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_and_records,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_aor_migration, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_terminals_users,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_acknowledged,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_commit_answers_only_its_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_after_fsync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_opener,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subs_caps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reads_see_open_turn,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connection_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idempotency, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abandon_from_handler,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_progress_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_free_with_held, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_progress_kept_broken,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence, setup, teardown),
		cmocka_unit_test(test_push_encode),
	};
	int r;

	pg_url = getenv("SIPPUSH_TEST_PG");
	if (pg_url && !*pg_url)
		pg_url = NULL;
	(void)libre_init();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libre_close();
	return r;
}
