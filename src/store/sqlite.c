/**
 * @file sqlite.c  The embedded store: SQLite in WAL mode, group commit
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <re.h>
#include "core/aor.h"
#include "store/store.h"
#include "core/histo.h"
#include <time.h>

#include <sippush/log.h>

#define MOD "store"

enum stmt_id {
	S_BEGIN, S_COMMIT, S_USER_SET, S_USER_GET, S_TERM_PUT, S_TERM_DEL,
	S_TERM_LOAD, S_PUSH_ADD, S_PUSH_FINAL, S_PUSH_PENDING, S_DLV_BY_PUSH,
	S_PUSH_GET, S_PUSH_TOKEN, S_DLV_PUT, S_MAX_SEQ, S_PURGE_DLV,
	S_PURGE_PUSH, S_SUB_PUT, S_SUB_DEL, S_SUB_LOAD, S_CAPS_PUT,
	S_CAPS_LOAD, S_FILE_ADD, S_FILES_OF, S_FILES_FINAL, S_PURGE_FILES,
	S_PAP_ADD, S_PAP_GET, S_PURGE_PAP, S_PAP_BY_PUSH, S_NOTE_ADD,
	S_NOTE_DEL, S_NOTE_UPD, S_NOTE_LOAD, S_PUSH_RECENT, S_COUNT
};

static const char *stmt_sql[S_COUNT] = {
	[S_BEGIN]  = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_USER_SET] = "INSERT OR REPLACE INTO users(aor,realm,ha1) "
		       "VALUES(?,?,?)",
	[S_USER_GET] = "SELECT ha1 FROM users WHERE aor=?",
	[S_TERM_PUT] = "INSERT OR REPLACE INTO terminals(aor,tkey,instance,"
		       "contact,pub_gruu,temp_gruu,apps,methods,path,source,"
		       "expires_at,push,charging) "
		       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_TERM_DEL] = "DELETE FROM terminals WHERE aor=? AND tkey=?",
	[S_TERM_LOAD] = "SELECT aor,tkey,instance,contact,pub_gruu,temp_gruu,"
			"apps,methods,path,source,expires_at,push,charging "
			"FROM terminals",
	[S_PUSH_ADD] = "INSERT INTO pushes(id,seq,aor,app,ctype,body,url,"
		       "method,target,topic,token,state,priority,ttl,"
		       "created_ms,expires_ms,final_ms,filename,disposition,"
		       "not_before_ms,identity,unasserted,relay,owner,"
		       "privacy) "
		       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,"
		       "?)",
	[S_PUSH_FINAL] = "UPDATE pushes SET state=?,final_ms=? WHERE id=?",
#define PUSH_COLS "id,seq,aor,app,ctype,body,url,method,target,topic,token," \
		  "state,priority,ttl,created_ms,expires_ms,final_ms,filename," \
		  "disposition,not_before_ms,identity,unasserted,relay,owner," \
		  "privacy"
	[S_PUSH_PENDING] = "SELECT " PUSH_COLS " FROM pushes "
			   "WHERE final_ms=0 ORDER BY seq",
	[S_DLV_BY_PUSH] = "SELECT push_id,tkey,terminal,ruri,route,method,"
			  "state,last_error,call_id,sip_status,pap_code,"
			  "attempts,cseq,indirect,steps FROM deliveries "
			  "WHERE push_id=? ORDER BY rowid",
	[S_PUSH_GET] = "SELECT " PUSH_COLS " FROM pushes WHERE id=?",
	/* ?1 NULL: everyone's */
	[S_PUSH_RECENT] = "SELECT " PUSH_COLS " FROM pushes WHERE ?1 IS NULL "
			  "OR owner=?1 ORDER BY seq DESC LIMIT ?2",
	[S_PUSH_TOKEN] = "SELECT " PUSH_COLS " FROM pushes WHERE token=?",
	[S_DLV_PUT] = "INSERT OR REPLACE INTO deliveries(push_id,tkey,"
		      "terminal,ruri,route,method,state,last_error,call_id,"
		      "sip_status,pap_code,attempts,cseq,indirect,steps) "
		      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_MAX_SEQ] = "SELECT COALESCE(MAX(seq),0) FROM pushes",
	[S_PURGE_DLV] = "DELETE FROM deliveries WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[S_PURGE_FILES] = "DELETE FROM push_files WHERE push_id IN (SELECT id "
			  "FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[S_PURGE_PUSH] = "DELETE FROM pushes WHERE final_ms>0 AND final_ms<?",
#define SUB_COLS "call_id,aor,tkey,app,ltag,rtag,local,remote,target," \
		 "route,accept,methods,lseq,rseq,expires_at"
	[S_SUB_PUT] = "INSERT OR REPLACE INTO subs(" SUB_COLS ") "
		      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_SUB_DEL] = "DELETE FROM subs WHERE call_id=?",
	[S_SUB_LOAD] = "SELECT " SUB_COLS " FROM subs",
#define CAPS_COLS "aor,tkey,vendor,model,version,dev_cap,push_accept," \
		  "push_appids,push_msgsize,updated_at"
	[S_CAPS_PUT] = "INSERT OR REPLACE INTO caps(" CAPS_COLS ") "
		       "VALUES(?,?,?,?,?,?,?,?,?,?)",
	[S_CAPS_LOAD] = "SELECT " CAPS_COLS " FROM caps",
	[S_PAP_ADD] = "INSERT INTO pap_pushes(pap_id,addr,push_id,notify_to,"
		      "created_ms) VALUES(?,?,?,?,?)",
	[S_PAP_GET] = "SELECT pap_id,addr,push_id,notify_to,created_ms FROM "
		      "pap_pushes WHERE pap_id=? ORDER BY rowid",
	[S_PURGE_PAP] = "DELETE FROM pap_pushes WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[S_PAP_BY_PUSH] = "SELECT pap_id,addr,push_id,notify_to,created_ms "
			  "FROM pap_pushes WHERE push_id=?",
	[S_NOTE_ADD] = "INSERT INTO pap_notify(url,body,attempts,next_ms) "
		       "VALUES(?,?,0,?)",
	[S_NOTE_DEL] = "DELETE FROM pap_notify WHERE id=?",
	[S_NOTE_UPD] = "UPDATE pap_notify SET attempts=?,next_ms=? WHERE id=?",
	[S_NOTE_LOAD] = "SELECT id,url,body,attempts,next_ms FROM pap_notify "
			"ORDER BY id",
	[S_FILE_ADD] = "INSERT INTO push_files(push_id,idx,path,filename,ctype,"
		       "disposition,size,sha1) VALUES(?,?,?,?,?,?,?,?)",
	[S_FILES_OF] = "SELECT push_id,idx,path,filename,ctype,disposition,"
		       "size,sha1 FROM push_files WHERE push_id=? ORDER BY idx",
	/* files of final pushes, to remove from disk before the rows */
	[S_FILES_FINAL] = "SELECT f.push_id,f.idx,f.path,f.filename,f.ctype,"
			  "f.disposition,f.size,f.sha1 FROM push_files f "
			  "JOIN pushes p ON p.id=f.push_id WHERE p.final_ms>0",
};

/* Migrations: index i takes the schema from version i to i+1 */
static const char *migrations[] = {
	"CREATE TABLE users(aor TEXT PRIMARY KEY, realm TEXT NOT NULL,"
	" ha1 TEXT NOT NULL);"
	"CREATE TABLE terminals(aor TEXT NOT NULL, tkey TEXT NOT NULL,"
	" instance TEXT, contact TEXT NOT NULL, pub_gruu TEXT, temp_gruu TEXT,"
	" apps TEXT, methods TEXT, path TEXT, source TEXT NOT NULL,"
	" expires_at INTEGER NOT NULL, push INTEGER NOT NULL,"
	" PRIMARY KEY(aor, tkey));"
	"CREATE TABLE pushes(id TEXT PRIMARY KEY, seq INTEGER NOT NULL,"
	" aor TEXT NOT NULL, app TEXT NOT NULL, ctype TEXT NOT NULL,"
	" body BLOB, url TEXT, method TEXT NOT NULL, target TEXT, topic TEXT,"
	" token TEXT, state TEXT NOT NULL, priority INTEGER NOT NULL,"
	" ttl INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
	" expires_ms INTEGER NOT NULL, final_ms INTEGER NOT NULL);"
	"CREATE INDEX pushes_final ON pushes(final_ms);"
	"CREATE UNIQUE INDEX pushes_token ON pushes(token);"
	"CREATE TABLE deliveries(push_id TEXT NOT NULL, tkey TEXT NOT NULL,"
	" terminal TEXT, ruri TEXT NOT NULL, route TEXT, method TEXT NOT NULL,"
	" state TEXT NOT NULL, last_error TEXT, call_id TEXT NOT NULL,"
	" sip_status INTEGER NOT NULL, pap_code INTEGER NOT NULL,"
	" attempts INTEGER NOT NULL, cseq INTEGER NOT NULL,"
	" indirect INTEGER NOT NULL, PRIMARY KEY(push_id, tkey));",

	/* 2: subscription mode (oma-app subscriptions, capabilities) */
	"ALTER TABLE deliveries ADD COLUMN steps TEXT;"
	"CREATE TABLE subs(call_id TEXT PRIMARY KEY, aor TEXT NOT NULL,"
	" tkey TEXT NOT NULL, app TEXT NOT NULL, ltag TEXT NOT NULL,"
	" rtag TEXT NOT NULL, local TEXT NOT NULL, remote TEXT NOT NULL,"
	" target TEXT NOT NULL, route TEXT, accept TEXT, methods TEXT,"
	" lseq INTEGER NOT NULL, rseq INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL);"
	"CREATE TABLE caps(aor TEXT NOT NULL, tkey TEXT NOT NULL, vendor TEXT,"
	" model TEXT, version TEXT, dev_cap TEXT, push_accept TEXT,"
	" push_appids TEXT, push_msgsize INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL, PRIMARY KEY(aor, tkey));",

	/* 3: session mode (file name and disposition of a push) */
	("ALTER TABLE pushes ADD COLUMN filename TEXT;"
	 "ALTER TABLE pushes ADD COLUMN disposition TEXT;"),

	/* 4: file contents streamed to the spool directory */
	"CREATE TABLE push_files(push_id TEXT NOT NULL, idx INTEGER NOT NULL,"
	" path TEXT NOT NULL, filename TEXT, ctype TEXT NOT NULL,"
	" disposition TEXT, size INTEGER NOT NULL, sha1 BLOB,"
	" PRIMARY KEY(push_id, idx));",

	/* 5: OMA PAP push-ids and their pushes (one per address) */
	"CREATE TABLE pap_pushes(pap_id TEXT NOT NULL, addr TEXT NOT NULL,"
	" push_id TEXT NOT NULL, notify_to TEXT, created_ms INTEGER NOT NULL,"
	" PRIMARY KEY(pap_id, addr));"
	"CREATE INDEX pap_by_push ON pap_pushes(push_id);",

	/* 6: PAP result notifications waiting to be POSTed */
	"CREATE TABLE pap_notify(id INTEGER PRIMARY KEY, url TEXT NOT NULL,"
	" body TEXT NOT NULL, attempts INTEGER NOT NULL,"
	" next_ms INTEGER NOT NULL);",

	/* 7: deferred delivery (PAP deliver-after-timestamp) */
	"ALTER TABLE pushes ADD COLUMN not_before_ms INTEGER NOT NULL"
	" DEFAULT 0;",

	/* 8: the initiator's identity of a push, and whether it is asserted */
	("ALTER TABLE pushes ADD COLUMN identity TEXT;"
	 "ALTER TABLE pushes ADD COLUMN unasserted INTEGER NOT NULL DEFAULT 0;"),

	/* 9: what a relay's 202 means for a push (PAP delivery-method) */
	"ALTER TABLE pushes ADD COLUMN relay INTEGER NOT NULL DEFAULT 0;",

	/* 10: one spelling per AoR (aor.h). Of rows that now name the same
	 * key, the one already spelled so (else the first) stays: two
	 * spellings of one user were never two users' */
	("UPDATE OR IGNORE users SET aor=sippush_aor(aor);"
	 "DELETE FROM users WHERE aor<>sippush_aor(aor);"
	 "UPDATE OR IGNORE terminals SET aor=sippush_aor(aor);"
	 "DELETE FROM terminals WHERE aor<>sippush_aor(aor);"
	 "UPDATE OR IGNORE caps SET aor=sippush_aor(aor);"
	 "DELETE FROM caps WHERE aor<>sippush_aor(aor);"
	 "UPDATE pushes SET aor=sippush_aor(aor);"
	 "UPDATE subs SET aor=sippush_aor(aor);"),

	/* 11: the named initiator a push is scoped to (NULL: the admin's) */
	"ALTER TABLE pushes ADD COLUMN owner TEXT;",

	/* 12: a push's Privacy (RFC 3323), the core's P-Charging-Vector of
	 * a terminal's third-party REGISTER (for the audit log) */
	("ALTER TABLE pushes ADD COLUMN privacy TEXT;"
	 "ALTER TABLE terminals ADD COLUMN charging TEXT;"),
};

static const double commit_le[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
				    0.05, 0.1, 0.25, 1};

struct waiter {
	struct le le;
	store_sync_h *h;
	void *arg;
};

struct store {
	uint32_t lazy_ms;
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	bool in_txn;
	struct histo commit;     /**< commit latency, seconds              */
	struct list waiters;
	struct tmr tmr_commit;
};


static void destructor(void *arg)
{
	struct store *st = arg;

	tmr_cancel(&st->tmr_commit);
	(void)store_flush(st);
	list_flush(&st->waiters);

	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
}


static int db_err(struct store *st, int rc)
{
	plog(SIPPUSH_LOG_WARN, MOD, "sqlite: %s (%d)", sqlite3_errmsg(st->db), rc);
	switch (rc) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:    return EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:    return EBADMSG;
	case SQLITE_FULL:      return ENOSPC;
	case SQLITE_CONSTRAINT: return EEXIST;
	case SQLITE_NOMEM:     return ENOMEM;
	default:               return EIO;
	}
}


static int exec(struct store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return db_err(st, rc);
	}
	return 0;
}


/* Run a prepared statement that returns no rows, then reset it */
static int step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : db_err(st, rc);
}


static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}


static const char *col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}


/* sippush_aor(text): the canonical AoR (aor.h); text it cannot parse
 * stays as it is */
static void sql_aor(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *in = (const char *)sqlite3_value_text(argv[0]);
	char key[512];
	(void)argc;

	if (in && !aor_canon(key, sizeof(key), in))
		sqlite3_result_text(ctx, key, -1, SQLITE_TRANSIENT);
	else
		sqlite3_result_value(ctx, argv[0]);
}


static int migrate(struct store *st)
{
	int ver = 0, err;

	err = exec(st, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY,"
		   " v INTEGER NOT NULL)");
	if (err)
		return err;

	if (sqlite3_create_function(st->db, "sippush_aor", 1, SQLITE_UTF8 |
				    SQLITE_DETERMINISTIC, NULL, sql_aor,
				    NULL, NULL) != SQLITE_OK)
		return ENOMEM;

	err = store_schema_version(st, &ver);
	if (err)
		return err;

	if (ver > (int)ARRAY_SIZE(migrations)) {
		plog(SIPPUSH_LOG_WARN, MOD, "database schema %d is newer than this program "
			      "(%d)", ver, (int)ARRAY_SIZE(migrations));
		return ENOTSUP;
	}

	for (; ver < (int)ARRAY_SIZE(migrations); ver++) {
		char sql[96];

		err = exec(st, "BEGIN");
		err = err ? err : exec(st, migrations[ver]);
		re_snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta "
			    "VALUES('schema_version', %d)", ver + 1);
		err = err ? err : exec(st, sql);
		err = err ? err : exec(st, "COMMIT");
		if (err) {
			(void)exec(st, "ROLLBACK");
			return err;
		}
	}

	return 0;
}


int store_schema_version(struct store *st, int *ver)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !ver)
		return EINVAL;

	rc = sqlite3_prepare_v2(st->db, "SELECT v FROM meta WHERE "
				"k='schema_version'", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc);

	*ver = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return 0;
}


static int check_integrity(struct store *st)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(st, rc);

	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		err = db_err(st, rc);
	else if (strcmp(col_str(s, 0), "ok")) {
		plog(SIPPUSH_LOG_WARN, MOD, "integrity check: %s", col_str(s, 0));
		err = EBADMSG;
	}
	sqlite3_finalize(s);
	return err;
}


int store_open(struct store **stp, const char *path,
	       const struct store_opts *opts)
{
	struct store *st;
	int rc, err;

	if (!stp || !path)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;

	tmr_init(&st->tmr_commit);
	histo_init(&st->commit, commit_le, ARRAY_SIZE(commit_le));
	st->lazy_ms = opts && opts->lazy_ms ? opts->lazy_ms : 50;

	/* created 0600 (credentials, push content); SQLite gives its WAL
	 * and shm files the database file's mode */
	if (strcmp(path, ":memory:")) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			(void)close(fd);
	}

	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		err = st->db ? db_err(st, rc) : ENOMEM;
		goto out;
	}

	/* a second process on the same file fails at once, not later */
	sqlite3_busy_timeout(st->db, 200);

	err = exec(st, "PRAGMA locking_mode=EXCLUSIVE");
	err = err ? err : exec(st, "PRAGMA journal_mode=WAL");
	err = err ? err : exec(st, (opts && opts->sync == STORE_SYNC_NORMAL)
			      ? "PRAGMA synchronous=NORMAL"
			      : "PRAGMA synchronous=FULL");
	/* pages in memory and mapped, so reads of hot rows need no syscall */
	err = err ? err : exec(st, "PRAGMA cache_size=-65536");
	err = err ? err : exec(st, "PRAGMA mmap_size=268435456");
	err = err ? err : exec(st, "PRAGMA temp_store=MEMORY");
	err = err ? err : check_integrity(st);
	err = err ? err : migrate(st);
	if (err)
		goto out;

	for (size_t i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			err = db_err(st, rc);
			goto out;
		}
	}

 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


static int txn(struct store *st)
{
	int err;

	if (st->in_txn)
		return 0;

	err = step_done(st, st->stmt[S_BEGIN]);
	if (!err)
		st->in_txn = true;

	return err;
}


/** Commit the open transaction now and tell every waiter */
int store_flush(struct store *st)
{
	struct list done = LIST_INIT;
	int err = 0;

	if (!st)
		return EINVAL;

	/* The waiters of this commit are those queued before it. A handler
	 * may write and wait again (its connection's next request): that
	 * write is in the next transaction and must wait for its commit. */
	while (st->waiters.head) {
		struct le *le = st->waiters.head;

		list_unlink(le);
		list_append(&done, le, le->data);
	}

	if (st->in_txn) {
		struct timespec t0, t1;

		(void)clock_gettime(CLOCK_MONOTONIC, &t0);
		err = step_done(st, st->stmt[S_COMMIT]);
		(void)clock_gettime(CLOCK_MONOTONIC, &t1);
		histo_add(&st->commit, (double)(t1.tv_sec - t0.tv_sec) +
			  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		st->in_txn = false;
		/* SQLite rolls a failed COMMIT back itself when it can */
		if (err && !sqlite3_get_autocommit(st->db))
			(void)exec(st, "ROLLBACK");
		if (err)
			plog(SIPPUSH_LOG_ERROR, MOD, "commit failed (%m: disk full or "
			     "I/O error?): what it held is refused (503), "
			     "nothing acknowledged is lost", err);
	}

	while (done.head) {
		struct waiter *w = done.head->data;

		list_unlink(&w->le);
		w->h(err, w->arg);
		mem_deref(w);
	}

	return err;
}


static void commit_tmr(void *arg)
{
	(void)store_flush(arg);
}


/*
 * Someone waits (an acknowledgement): commit at the end of this loop turn.
 * Otherwise (delivery progress, registrations) within lazy_ms: losing
 * those to a crash only repeats a delivery, which carries the same
 * identity (docs/design.md "at least once on the wire").
 */
static void schedule(struct store *st)
{
	if (st->waiters.head) {
		if (!tmr_isrunning(&st->tmr_commit) ||
		    tmr_get_expire(&st->tmr_commit) > 0)
			tmr_start(&st->tmr_commit, 0, commit_tmr, st);
		return;
	}

	if (!tmr_isrunning(&st->tmr_commit))
		tmr_start(&st->tmr_commit, st->lazy_ms, commit_tmr, st);
}


/** Ask for a commit at the end of this loop turn; h runs after it */
int store_sync(struct store *st, store_sync_h *h, void *arg)
{
	struct waiter *w;

	if (!st || !h)
		return EINVAL;

	w = mem_zalloc(sizeof(*w), NULL);
	if (!w)
		return ENOMEM;

	w->h = h;
	w->arg = arg;
	list_append(&st->waiters, &w->le, w);
	schedule(st);
	return 0;
}


/* Every write joins the turn's transaction and makes sure it commits */
static sqlite3_stmt *wstmt(struct store *st, enum stmt_id id, int *err)
{
	*err = txn(st);
	if (*err)
		return NULL;
	schedule(st);
	return st->stmt[id];
}


int store_user_set(struct store *st, const char *aor, const char *realm,
		   const char *ha1hex)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !aor || !realm || !ha1hex)
		return EINVAL;

	s = wstmt(st, S_USER_SET, &err);
	if (!s)
		return err;
	bind_str(s, 1, aor);
	bind_str(s, 2, realm);
	bind_str(s, 3, ha1hex);
	return step_done(st, s);
}


int store_user_ha1(struct store *st, const char *aor, char *ha1hex,
		   size_t sz)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	if (!st || !aor || !ha1hex || !sz)
		return EINVAL;

	s = st->stmt[S_USER_GET];
	bind_str(s, 1, aor);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		str_ncpy(ha1hex, col_str(s, 0), sz);
	else if (rc == SQLITE_DONE)
		err = ENOENT;
	else
		err = db_err(st, rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}


int store_term_put(struct store *st, const struct term_rec *t)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !t || !t->aor || !t->tkey || !t->contact || !t->source)
		return EINVAL;

	s = wstmt(st, S_TERM_PUT, &err);
	if (!s)
		return err;
	bind_str(s, 1, t->aor);
	bind_str(s, 2, t->tkey);
	bind_str(s, 3, t->instance);
	bind_str(s, 4, t->contact);
	bind_str(s, 5, t->pub_gruu);
	bind_str(s, 6, t->temp_gruu);
	bind_str(s, 7, t->apps);
	bind_str(s, 8, t->methods);
	bind_str(s, 9, t->path);
	bind_str(s, 10, t->source);
	sqlite3_bind_int64(s, 11, t->expires_at);
	sqlite3_bind_int(s, 12, t->push);
	bind_str(s, 13, t->charging);
	return step_done(st, s);
}


int store_term_del(struct store *st, const char *aor, const char *tkey)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !aor || !tkey)
		return EINVAL;

	s = wstmt(st, S_TERM_DEL, &err);
	if (!s)
		return err;
	bind_str(s, 1, aor);
	bind_str(s, 2, tkey);
	return step_done(st, s);
}


int store_term_load(struct store *st, store_term_h *h, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	s = st->stmt[S_TERM_LOAD];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct term_rec t = {
			.aor = col_str(s, 0), .tkey = col_str(s, 1),
			.instance = col_str(s, 2), .contact = col_str(s, 3),
			.pub_gruu = col_str(s, 4), .temp_gruu = col_str(s, 5),
			.apps = col_str(s, 6), .methods = col_str(s, 7),
			.path = col_str(s, 8), .source = col_str(s, 9),
			.expires_at = sqlite3_column_int64(s, 10),
			.push = sqlite3_column_int(s, 11),
			.charging = col_str(s, 12),
		};
		h(&t, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


int store_push_add(struct store *st, const struct push_rec *p)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !p || !p->id || !p->aor || !p->app || !p->ctype ||
	    !p->method || !p->state)
		return EINVAL;

	s = wstmt(st, S_PUSH_ADD, &err);
	if (!s)
		return err;
	bind_str(s, 1, p->id);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)p->seq);
	bind_str(s, 3, p->aor);
	bind_str(s, 4, p->app);
	bind_str(s, 5, p->ctype);
	if (p->body)
		sqlite3_bind_blob64(s, 6, p->body, p->body_len,
				    SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 6);
	bind_str(s, 7, p->url);
	bind_str(s, 8, p->method);
	bind_str(s, 9, p->target);
	bind_str(s, 10, p->topic);
	bind_str(s, 11, p->token);
	bind_str(s, 12, p->state);
	sqlite3_bind_int(s, 13, p->priority);
	sqlite3_bind_int64(s, 14, p->ttl);
	sqlite3_bind_int64(s, 15, p->created_ms);
	sqlite3_bind_int64(s, 16, p->expires_ms);
	bind_str(s, 17, p->filename);
	bind_str(s, 18, p->disposition);
	sqlite3_bind_int64(s, 19, p->not_before_ms);
	bind_str(s, 20, p->identity);
	sqlite3_bind_int(s, 21, p->unasserted);
	sqlite3_bind_int(s, 22, p->relay);
	bind_str(s, 23, p->owner);
	bind_str(s, 24, p->privacy);
	return step_done(st, s);
}


int store_push_final(struct store *st, const char *id, const char *state,
		     int64_t final_ms)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !id || !state)
		return EINVAL;

	s = wstmt(st, S_PUSH_FINAL, &err);
	if (!s)
		return err;
	bind_str(s, 1, state);
	sqlite3_bind_int64(s, 2, final_ms);
	bind_str(s, 3, id);
	return step_done(st, s);
}


int store_dlv_put(struct store *st, const struct dlv_rec *d)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !d || !d->push_id || !d->tkey || !d->ruri || !d->method ||
	    !d->state || !d->call_id)
		return EINVAL;

	s = wstmt(st, S_DLV_PUT, &err);
	if (!s)
		return err;
	bind_str(s, 1, d->push_id);
	bind_str(s, 2, d->tkey);
	bind_str(s, 3, d->terminal);
	bind_str(s, 4, d->ruri);
	bind_str(s, 5, d->route);
	bind_str(s, 6, d->method);
	bind_str(s, 7, d->state);
	bind_str(s, 8, d->last_error);
	bind_str(s, 9, d->call_id);
	sqlite3_bind_int(s, 10, d->sip_status);
	sqlite3_bind_int(s, 11, d->pap_code);
	sqlite3_bind_int64(s, 12, d->attempts);
	sqlite3_bind_int64(s, 13, d->cseq);
	sqlite3_bind_int(s, 14, d->indirect);
	bind_str(s, 15, d->steps);
	return step_done(st, s);
}


static void push_row(struct push_rec *p, sqlite3_stmt *s)
{
	memset(p, 0, sizeof(*p));
	p->id = col_str(s, 0);
	p->seq = (uint64_t)sqlite3_column_int64(s, 1);
	p->aor = col_str(s, 2);
	p->app = col_str(s, 3);
	p->ctype = col_str(s, 4);
	p->body = sqlite3_column_blob(s, 5);
	p->body_len = (size_t)sqlite3_column_bytes(s, 5);
	p->url = col_str(s, 6);
	p->method = col_str(s, 7);
	p->target = col_str(s, 8);
	p->topic = col_str(s, 9);
	p->token = col_str(s, 10);
	p->state = col_str(s, 11);
	p->priority = sqlite3_column_int(s, 12);
	p->ttl = (uint32_t)sqlite3_column_int64(s, 13);
	p->created_ms = sqlite3_column_int64(s, 14);
	p->expires_ms = sqlite3_column_int64(s, 15);
	p->final_ms = sqlite3_column_int64(s, 16);
	p->filename = col_str(s, 17);
	p->disposition = col_str(s, 18);
	p->not_before_ms = sqlite3_column_int64(s, 19);
	p->identity = col_str(s, 20);
	p->unasserted = sqlite3_column_int(s, 21);
	p->relay = sqlite3_column_int(s, 22);
	p->owner = col_str(s, 23);
	p->privacy = col_str(s, 24);
}


static int dlv_of(struct store *st, const char *id, store_dlv_h *dh,
		  void *arg)
{
	sqlite3_stmt *s = st->stmt[S_DLV_BY_PUSH];
	int rc;

	bind_str(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct dlv_rec d = {
			.push_id = col_str(s, 0), .tkey = col_str(s, 1),
			.terminal = col_str(s, 2), .ruri = col_str(s, 3),
			.route = col_str(s, 4), .method = col_str(s, 5),
			.state = col_str(s, 6), .last_error = col_str(s, 7),
			.call_id = col_str(s, 8),
			.sip_status = (uint16_t)sqlite3_column_int(s, 9),
			.pap_code = (uint16_t)sqlite3_column_int(s, 10),
			.attempts = (uint32_t)sqlite3_column_int64(s, 11),
			.cseq = (uint32_t)sqlite3_column_int64(s, 12),
			.indirect = sqlite3_column_int(s, 13),
			.steps = col_str(s, 14),
		};
		dh(&d, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


/* Walk the rows of a push query, with each push's deliveries after it */
static int push_rows(struct store *st, sqlite3_stmt *s, store_push_h *ph,
		     store_dlv_h *dh, void *arg, bool *found)
{
	int rc, err = 0;

	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct push_rec p;

		push_row(&p, s);
		if (found)
			*found = true;
		ph(&p, arg);
		if (dh)
			err = dlv_of(st, p.id, dh, arg);
	}
	if (!err && rc != SQLITE_DONE)
		err = db_err(st, rc);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}


int store_push_load_pending(struct store *st, store_push_h *ph,
			    store_dlv_h *dh, void *arg)
{
	if (!st || !ph)
		return EINVAL;

	return push_rows(st, st->stmt[S_PUSH_PENDING], ph, dh, arg, NULL);
}


/* One push by a unique key (id or token); ENOENT when there is none */
static int push_by(struct store *st, enum stmt_id id, const char *key,
		   store_push_h *ph, store_dlv_h *dh, void *arg)
{
	bool found = false;
	int err;

	if (!st || !key || !ph)
		return EINVAL;

	bind_str(st->stmt[id], 1, key);
	err = push_rows(st, st->stmt[id], ph, dh, arg, &found);
	return err ? err : found ? 0 : ENOENT;
}


int store_push_get(struct store *st, const char *id, store_push_h *ph,
		   store_dlv_h *dh, void *arg)
{
	return push_by(st, S_PUSH_GET, id, ph, dh, arg);
}


/** The newest pushes (for the status page), newest first; only owner's
 *  unless it is NULL */
int store_push_recent(struct store *st, uint32_t limit, const char *owner,
		      store_push_h *ph, store_dlv_h *dh, void *arg)
{
	if (!st || !ph)
		return EINVAL;
	bind_str(st->stmt[S_PUSH_RECENT], 1, owner);
	sqlite3_bind_int64(st->stmt[S_PUSH_RECENT], 2, limit);
	return push_rows(st, st->stmt[S_PUSH_RECENT], ph, dh, arg, NULL);
}


int store_push_content(struct store *st, const char *token,
		       store_push_h *ph, void *arg)
{
	return push_by(st, S_PUSH_TOKEN, token, ph, NULL, arg);
}


uint64_t store_max_seq(struct store *st)
{
	sqlite3_stmt *s;
	uint64_t v = 0;

	if (!st)
		return 0;

	s = st->stmt[S_MAX_SEQ];
	if (sqlite3_step(s) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}


/** Remove final pushes (and their deliveries) that ended before a time */
int store_purge(struct store *st, int64_t before_ms, uint32_t *npurged)
{
	sqlite3_stmt *s;
	int err;

	if (!st)
		return EINVAL;

	s = wstmt(st, S_PURGE_DLV, &err);
	if (!s)
		return err;
	sqlite3_bind_int64(s, 1, before_ms);
	err = step_done(st, s);
	if (err)
		return err;

	s = st->stmt[S_PURGE_FILES];
	sqlite3_bind_int64(s, 1, before_ms);
	err = step_done(st, s);
	if (err)
		return err;

	s = st->stmt[S_PURGE_PAP];
	sqlite3_bind_int64(s, 1, before_ms);
	err = step_done(st, s);
	if (err)
		return err;

	s = st->stmt[S_PURGE_PUSH];
	sqlite3_bind_int64(s, 1, before_ms);
	err = step_done(st, s);
	if (!err && npurged)
		*npurged = (uint32_t)sqlite3_changes(st->db);

	return err;
}


int store_sub_put(struct store *st, const struct sub_rec *r)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !r || !r->call_id || !r->aor || !r->tkey || !r->app ||
	    !r->ltag || !r->rtag || !r->local || !r->remote || !r->target)
		return EINVAL;

	s = wstmt(st, S_SUB_PUT, &err);
	if (!s)
		return err;
	bind_str(s, 1, r->call_id);
	bind_str(s, 2, r->aor);
	bind_str(s, 3, r->tkey);
	bind_str(s, 4, r->app);
	bind_str(s, 5, r->ltag);
	bind_str(s, 6, r->rtag);
	bind_str(s, 7, r->local);
	bind_str(s, 8, r->remote);
	bind_str(s, 9, r->target);
	bind_str(s, 10, r->route);
	bind_str(s, 11, r->accept);
	bind_str(s, 12, r->methods);
	sqlite3_bind_int64(s, 13, r->lseq);
	sqlite3_bind_int64(s, 14, r->rseq);
	sqlite3_bind_int64(s, 15, r->expires_at);
	return step_done(st, s);
}


int store_sub_del(struct store *st, const char *call_id)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !call_id)
		return EINVAL;

	s = wstmt(st, S_SUB_DEL, &err);
	if (!s)
		return err;
	bind_str(s, 1, call_id);
	return step_done(st, s);
}


int store_sub_load(struct store *st, store_sub_h *h, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	s = st->stmt[S_SUB_LOAD];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct sub_rec r = {
			.call_id = col_str(s, 0), .aor = col_str(s, 1),
			.tkey = col_str(s, 2), .app = col_str(s, 3),
			.ltag = col_str(s, 4), .rtag = col_str(s, 5),
			.local = col_str(s, 6), .remote = col_str(s, 7),
			.target = col_str(s, 8), .route = col_str(s, 9),
			.accept = col_str(s, 10), .methods = col_str(s, 11),
			.lseq = (uint32_t)sqlite3_column_int64(s, 12),
			.rseq = (uint32_t)sqlite3_column_int64(s, 13),
			.expires_at = sqlite3_column_int64(s, 14),
		};
		h(&r, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


int store_caps_put(struct store *st, const struct caps_rec *r)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !r || !r->aor || !r->tkey)
		return EINVAL;

	s = wstmt(st, S_CAPS_PUT, &err);
	if (!s)
		return err;
	bind_str(s, 1, r->aor);
	bind_str(s, 2, r->tkey);
	bind_str(s, 3, r->vendor);
	bind_str(s, 4, r->model);
	bind_str(s, 5, r->version);
	bind_str(s, 6, r->dev_cap);
	bind_str(s, 7, r->push_accept);
	bind_str(s, 8, r->push_appids);
	sqlite3_bind_int64(s, 9, r->push_msgsize);
	sqlite3_bind_int64(s, 10, r->updated_at);
	return step_done(st, s);
}


int store_caps_load(struct store *st, store_caps_h *h, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	s = st->stmt[S_CAPS_LOAD];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct caps_rec r = {
			.aor = col_str(s, 0), .tkey = col_str(s, 1),
			.vendor = col_str(s, 2), .model = col_str(s, 3),
			.version = col_str(s, 4), .dev_cap = col_str(s, 5),
			.push_accept = col_str(s, 6),
			.push_appids = col_str(s, 7),
			.push_msgsize = (uint32_t)sqlite3_column_int64(s, 8),
			.updated_at = sqlite3_column_int64(s, 9),
		};
		h(&r, arg);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


int store_file_add(struct store *st, const struct file_rec *f)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !f || !f->push_id || !f->path || !f->ctype)
		return EINVAL;

	s = wstmt(st, S_FILE_ADD, &err);
	if (!s)
		return err;
	bind_str(s, 1, f->push_id);
	sqlite3_bind_int(s, 2, (int)f->idx);
	bind_str(s, 3, f->path);
	bind_str(s, 4, f->filename);
	bind_str(s, 5, f->ctype);
	bind_str(s, 6, f->disposition);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)f->size);
	if (f->sha1)
		sqlite3_bind_blob(s, 8, f->sha1, 20, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 8);
	return step_done(st, s);
}


static int file_rows(struct store *st, sqlite3_stmt *s, store_file_h *h,
		     void *arg)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct file_rec f = {
			.push_id = col_str(s, 0),
			.idx = (uint32_t)sqlite3_column_int(s, 1),
			.path = col_str(s, 2), .filename = col_str(s, 3),
			.ctype = col_str(s, 4), .disposition = col_str(s, 5),
			.size = (uint64_t)sqlite3_column_int64(s, 6),
			.sha1 = sqlite3_column_bytes(s, 7) == 20 ?
				sqlite3_column_blob(s, 7) : NULL,
		};
		h(&f, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


int store_files_of(struct store *st, const char *push_id, store_file_h *h,
		   void *arg)
{
	sqlite3_stmt *s;

	if (!st || !push_id || !h)
		return EINVAL;

	s = st->stmt[S_FILES_OF];
	bind_str(s, 1, push_id);
	return file_rows(st, s, h, arg);
}


/** The files of every final push (the caller removes them from disk) */
int store_files_final(struct store *st, store_file_h *h, void *arg)
{
	if (!st || !h)
		return EINVAL;
	return file_rows(st, st->stmt[S_FILES_FINAL], h, arg);
}


int store_pap_add(struct store *st, const struct pap_rec *r)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !r || !r->pap_id || !r->addr || !r->push_id)
		return EINVAL;

	s = wstmt(st, S_PAP_ADD, &err);
	if (!s)
		return err;
	bind_str(s, 1, r->pap_id);
	bind_str(s, 2, r->addr);
	bind_str(s, 3, r->push_id);
	bind_str(s, 4, r->notify_to);
	sqlite3_bind_int64(s, 5, r->created_ms);
	return step_done(st, s);
}


/** The pushes of a PAP push-id; ENOENT when it has none */
int store_pap_get(struct store *st, const char *pap_id, store_pap_h *h,
		  void *arg)
{
	sqlite3_stmt *s;
	int rc, n = 0;

	if (!st || !pap_id)
		return EINVAL;

	s = st->stmt[S_PAP_GET];
	bind_str(s, 1, pap_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct pap_rec r = {
			.pap_id = col_str(s, 0), .addr = col_str(s, 1),
			.push_id = col_str(s, 2), .notify_to = col_str(s, 3),
			.created_ms = sqlite3_column_int64(s, 4),
		};
		++n;
		if (h)
			h(&r, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return db_err(st, rc);
	return n ? 0 : ENOENT;
}


int store_pap_by_push(struct store *st, const char *push_id, store_pap_h *h,
		      void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !push_id || !h)
		return EINVAL;

	s = st->stmt[S_PAP_BY_PUSH];
	bind_str(s, 1, push_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct pap_rec r = {
			.pap_id = col_str(s, 0), .addr = col_str(s, 1),
			.push_id = col_str(s, 2), .notify_to = col_str(s, 3),
			.created_ms = sqlite3_column_int64(s, 4),
		};
		h(&r, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


int store_note_add(struct store *st, const char *url, const char *body,
		   int64_t next_ms, int64_t *id)
{
	sqlite3_stmt *s;
	int err;

	if (!st || !url || !body || !id)
		return EINVAL;

	s = wstmt(st, S_NOTE_ADD, &err);
	if (!s)
		return err;
	bind_str(s, 1, url);
	bind_str(s, 2, body);
	sqlite3_bind_int64(s, 3, next_ms);
	err = step_done(st, s);
	if (!err)
		*id = sqlite3_last_insert_rowid(st->db);
	return err;
}


int store_note_del(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	int err;

	s = st ? wstmt(st, S_NOTE_DEL, &err) : NULL;
	if (!s)
		return st ? err : EINVAL;
	sqlite3_bind_int64(s, 1, id);
	return step_done(st, s);
}


int store_note_update(struct store *st, int64_t id, uint32_t attempts,
		      int64_t next_ms)
{
	sqlite3_stmt *s;
	int err;

	s = st ? wstmt(st, S_NOTE_UPD, &err) : NULL;
	if (!s)
		return st ? err : EINVAL;
	sqlite3_bind_int64(s, 1, attempts);
	sqlite3_bind_int64(s, 2, next_ms);
	sqlite3_bind_int64(s, 3, id);
	return step_done(st, s);
}


int store_note_load(struct store *st, store_note_h *h, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !h)
		return EINVAL;

	s = st->stmt[S_NOTE_LOAD];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		h(sqlite3_column_int64(s, 0), col_str(s, 1), col_str(s, 2),
		  (uint32_t)sqlite3_column_int64(s, 3),
		  sqlite3_column_int64(s, 4), arg);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : db_err(st, rc);
}


/** Commit latencies so far (for /metrics) */
const struct histo *store_commit_histo(const struct store *st)
{
	return st ? &st->commit : NULL;
}
