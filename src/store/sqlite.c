/**
 * @file sqlite.c  The embedded backend: SQLite in WAL mode, one file taken
 *                 exclusively by one process
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>
#include <re.h>
#include "core/aor.h"
#include "store/store.h"
#include "store/backend.h"
#include "store/walbuf.h"
#include "store/walsync.h"
#include "store/sqmem.h"

#include <sippush/log.h>

#define MOD "store"

/* the shared statements (backend.h), then this backend's own */
enum { S_BEGIN = Q_COUNT, S_COMMIT, S_NOTE_ID, S_PURGE_DLV, S_PURGE_FILES,
       S_PURGE_PAP, S_PURGE_PUSH, S_PURGE_IDEM, S_COUNT };

static const char *stmt_sql[S_COUNT] = {
	[S_BEGIN]  = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_NOTE_ID] = "SELECT COALESCE(MAX(id),0)+1 FROM pap_notify",
	[Q_IDEM_PUT] = "INSERT INTO idem(owner,key,status,answer,created_ms) "
		       "VALUES(?,?,?,?,?)",
	[Q_IDEM_GET] = "SELECT owner,key,status,answer,created_ms FROM idem "
		       "WHERE owner=? AND key=?",
	[S_PURGE_IDEM] = "DELETE FROM idem WHERE created_ms<?",
	[Q_USER_SET] = "INSERT OR REPLACE INTO users(aor,realm,ha1) "
		       "VALUES(?,?,?)",
	[Q_USER_GET] = "SELECT ha1 FROM users WHERE aor=?",
	[Q_TERM_PUT] = "INSERT OR REPLACE INTO terminals(aor,tkey,instance,"
		       "contact,pub_gruu,temp_gruu,apps,methods,path,source,"
		       "expires_at,push,charging) "
		       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[Q_TERM_DEL] = "DELETE FROM terminals WHERE aor=? AND tkey=?",
	[Q_TERM_OF] = "SELECT aor,tkey,instance,contact,pub_gruu,temp_gruu,"
		      "apps,methods,path,source,expires_at,push,charging "
		      "FROM terminals WHERE aor=?",
	/* a cluster needs PostgreSQL: store.c never sends these here */
	[Q_NOTIFY] = "SELECT ?",
	[Q_PUSH_FINAL_FENCED] = "SELECT ?,?,?,?,?,?",
	[Q_DLV_PUT_FENCED] = "SELECT ?",
	[Q_TERM_LOAD] = "SELECT aor,tkey,instance,contact,pub_gruu,temp_gruu,"
			"apps,methods,path,source,expires_at,push,charging "
			"FROM terminals",
	[Q_PUSH_ADD] = "INSERT INTO pushes(id,seq,aor,app,ctype,body,url,"
		       "method,target,topic,token,state,priority,ttl,"
		       "created_ms,expires_ms,final_ms,filename,disposition,"
		       "not_before_ms,identity,unasserted,relay,owner,"
		       "privacy) "
		       "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,"
		       "?)",
	[Q_PUSH_FINAL] = "UPDATE pushes SET state=?,final_ms=? WHERE id=?",
#define PUSH_COLS "id,seq,aor,app,ctype,body,url,method,target,topic,token," \
		  "state,priority,ttl,created_ms,expires_ms,final_ms,filename," \
		  "disposition,not_before_ms,identity,unasserted,relay,owner," \
		  "privacy"
	[Q_PUSH_PENDING] = "SELECT " PUSH_COLS " FROM pushes "
			   "WHERE final_ms=0 ORDER BY seq",
	[Q_DLV_BY_PUSH] = "SELECT push_id,tkey,terminal,ruri,route,method,"
			  "state,last_error,call_id,sip_status,pap_code,"
			  "attempts,cseq,indirect,steps FROM deliveries "
			  "WHERE push_id=? ORDER BY rowid",
	[Q_PUSH_GET] = "SELECT " PUSH_COLS " FROM pushes WHERE id=?",
	/* ?1 NULL: everyone's */
	[Q_PUSH_RECENT] = "SELECT " PUSH_COLS " FROM pushes WHERE ?1 IS NULL "
			  "OR owner=?1 ORDER BY seq DESC LIMIT ?2",
	/* a token of 48 is its push's id and 32 random digits (push.c):
	 * found by the id; older ones (32) by their own index (14) */
	[Q_PUSH_TOKEN] = "SELECT " PUSH_COLS " FROM pushes WHERE "
			 "length(?1)=48 AND id=substr(?1,1,16) AND token=?1 "
			 "UNION ALL SELECT " PUSH_COLS " FROM pushes WHERE "
			 "length(token)<>48 AND token=?1",
	[Q_DLV_PUT] = "INSERT INTO deliveries(push_id,tkey,"
		      "terminal,ruri,route,method,state,last_error,call_id,"
		      "sip_status,pap_code,attempts,cseq,indirect,steps) "
		      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" DLV_UPSERT,
	[Q_MAX_SEQ] = "SELECT COALESCE(MAX(seq),0) FROM pushes",
	[S_PURGE_DLV] = "DELETE FROM deliveries WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[S_PURGE_FILES] = "DELETE FROM push_files WHERE push_id IN (SELECT id "
			  "FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[S_PURGE_PUSH] = "DELETE FROM pushes WHERE final_ms>0 AND final_ms<?",
#define SUB_COLS "call_id,aor,tkey,app,ltag,rtag,local,remote,target," \
		 "route,accept,methods,lseq,rseq,expires_at"
	[Q_SUB_PUT] = "INSERT OR REPLACE INTO subs(" SUB_COLS ") "
		      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[Q_SUB_DEL] = "DELETE FROM subs WHERE call_id=?",
	[Q_SUB_LOAD] = "SELECT " SUB_COLS " FROM subs",
	[Q_SUB_OF] = "SELECT " SUB_COLS " FROM subs WHERE aor=?",
	[Q_SUB_GET] = "SELECT " SUB_COLS " FROM subs WHERE call_id=?",
#define CAPS_COLS "aor,tkey,vendor,model,version,dev_cap,push_accept," \
		  "push_appids,push_msgsize,updated_at"
	[Q_CAPS_PUT] = "INSERT OR REPLACE INTO caps(" CAPS_COLS ") "
		       "VALUES(?,?,?,?,?,?,?,?,?,?)",
	[Q_CAPS_LOAD] = "SELECT " CAPS_COLS " FROM caps",
	[Q_PAP_ADD] = "INSERT INTO pap_pushes(pap_id,addr,push_id,notify_to,"
		      "created_ms) VALUES(?,?,?,?,?)",
	[Q_PAP_GET] = "SELECT pap_id,addr,push_id,notify_to,created_ms FROM "
		      "pap_pushes WHERE pap_id=? ORDER BY rowid",
	[S_PURGE_PAP] = "DELETE FROM pap_pushes WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<?)",
	[Q_PAP_BY_PUSH] = "SELECT pap_id,addr,push_id,notify_to,created_ms "
			  "FROM pap_pushes WHERE push_id=?",
	[Q_NOTE_ADD] = "INSERT INTO pap_notify(id,url,body,attempts,next_ms) "
		       "VALUES(?,?,?,0,?)",
	[Q_NOTE_DEL] = "DELETE FROM pap_notify WHERE id=?",
	[Q_NOTE_UPD] = "UPDATE pap_notify SET attempts=?,next_ms=? WHERE id=?",
	[Q_NOTE_LOAD] = "SELECT id,url,body,attempts,next_ms FROM pap_notify "
			"ORDER BY id",
	[Q_FILE_ADD] = "INSERT INTO push_files(push_id,idx,path,filename,ctype,"
		       "disposition,size,sha1) VALUES(?,?,?,?,?,?,?,?)",
	[Q_FILES_OF] = "SELECT push_id,idx,path,filename,ctype,disposition,"
		       "size,sha1 FROM push_files WHERE push_id=? ORDER BY idx",
	/* files of final pushes, to remove from disk before the rows */
	[Q_FILES_FINAL] = "SELECT f.push_id,f.idx,f.path,f.filename,f.ctype,"
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

	/* 13: the answers to requests with an Idempotency-Key */
	"CREATE TABLE idem(owner TEXT NOT NULL, key TEXT NOT NULL,"
	" status INTEGER NOT NULL, answer TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL, PRIMARY KEY(owner, key));"
	"CREATE INDEX idem_created ON idem(created_ms);",

	/* 14: a token of 48 starts with its push's id, which finds it: only
	 * older tokens (32, some random) keep an index. One B-tree less to
	 * write at every push (a page a commit, some 4 kB of WAL) */
	("DROP INDEX IF EXISTS pushes_token;"
	 "CREATE UNIQUE INDEX IF NOT EXISTS pushes_token_old ON pushes(token)"
	 " WHERE length(token)<>48;"),
};


struct sq {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_COUNT];
	struct walsync *ws;      /* --sync full: commits made durable off
				    the loop; NULL: SQLite syncs in COMMIT */
	int ws_fd;               /* the WAL descriptor ws syncs */
	bool deferring;          /* the COMMIT's WAL sync is left to ws */
};


static void destructor(void *arg)
{
	struct sq *q = arg;

	/* every handler has run before the WAL's descriptor goes */
	(void)walsync_wait(q->ws);
	q->ws = mem_deref(q->ws);
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(q->stmt[i]);
	sqlite3_close(q->db);
}


static int db_err(struct sq *q, int rc)
{
	plog(SIPPUSH_LOG_WARN, MOD, "sqlite: %s (%d)", sqlite3_errmsg(q->db),
	     rc);
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


static int exec(struct sq *q, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "%s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return db_err(q, rc);
	}
	return 0;
}


static void bind_vals(sqlite3_stmt *s, const struct sval *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = (int)i + 1;

		switch (v[i].t) {
		case SV_TEXT:
			/* held records know their lengths (a strlen each
			 * was 1 % of an offline drain) */
			sqlite3_bind_text(s, k, v[i].s, v[i].len ?
					  (int)v[i].len : -1, SQLITE_STATIC);
			break;
		case SV_INT:
			sqlite3_bind_int64(s, k, v[i].i);
			break;
		case SV_BLOB:
			sqlite3_bind_blob64(s, k, v[i].b, v[i].len,
					    SQLITE_STATIC);
			break;
		default:
			sqlite3_bind_null(s, k);
			break;
		}
	}
}


/* Run a statement that returns no rows, then reset it */
static int step_done(struct sq *q, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : db_err(q, rc);
}


static int run(struct sq *q, int id, const struct sval *v, size_t n)
{
	bind_vals(q->stmt[id], v, n);
	return step_done(q, q->stmt[id]);
}


static int rows(struct sq *q, int id, const struct sval *v, size_t n,
		store_row_h *h, void *arg)
{
	sqlite3_stmt *s = q->stmt[id];
	struct sval col[32];
	int rc;

	bind_vals(s, v, n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		size_t nc = (size_t)sqlite3_column_count(s);

		if (nc > ARRAY_SIZE(col))
			nc = ARRAY_SIZE(col);
		for (size_t i = 0; i < nc; i++) {
			int c = (int)i;

			memset(&col[i], 0, sizeof(col[i]));
			switch (sqlite3_column_type(s, c)) {
			case SQLITE_INTEGER:
				col[i].t = SV_INT;
				col[i].i = sqlite3_column_int64(s, c);
				break;
			case SQLITE_TEXT:
				col[i].t = SV_TEXT;
				col[i].s = (const char *)
					sqlite3_column_text(s, c);
				col[i].len = (size_t)
					sqlite3_column_bytes(s, c);
				break;
			case SQLITE_BLOB:
				col[i].t = SV_BLOB;
				col[i].b = sqlite3_column_blob(s, c);
				col[i].len = (size_t)sqlite3_column_bytes(s, c);
				break;
			default:
				break;
			}
		}
		h(col, nc, arg);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_err(q, rc);
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


static int sq_version(void *be, int *ver)
{
	struct sq *q = be;
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(q->db, "SELECT v FROM meta WHERE "
				"k='schema_version'", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(q, rc);

	*ver = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	return 0;
}


static int migrate(struct sq *q)
{
	int ver = 0, err;

	err = exec(q, "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY,"
		   " v INTEGER NOT NULL)");
	if (err)
		return err;

	if (sqlite3_create_function(q->db, "sippush_aor", 1, SQLITE_UTF8 |
				    SQLITE_DETERMINISTIC, NULL, sql_aor,
				    NULL, NULL) != SQLITE_OK)
		return ENOMEM;

	err = sq_version(q, &ver);
	if (err)
		return err;

	if (ver > (int)ARRAY_SIZE(migrations)) {
		plog(SIPPUSH_LOG_WARN, MOD, "database schema %d is newer than "
		     "this program (%d)", ver, (int)ARRAY_SIZE(migrations));
		return ENOTSUP;
	}

	for (; ver < (int)ARRAY_SIZE(migrations); ver++) {
		char sql[96];

		err = exec(q, "BEGIN");
		err = err ? err : exec(q, migrations[ver]);
		re_snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta "
			    "VALUES('schema_version', %d)", ver + 1);
		err = err ? err : exec(q, sql);
		err = err ? err : exec(q, "COMMIT");
		if (err) {
			(void)exec(q, "ROLLBACK");
			return err;
		}
	}

	return 0;
}


static int check_integrity(struct sq *q)
{
	sqlite3_stmt *s;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(q->db, "PRAGMA quick_check", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return db_err(q, rc);

	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		err = db_err(q, rc);
	else if (strcmp((const char *)sqlite3_column_text(s, 0), "ok")) {
		plog(SIPPUSH_LOG_WARN, MOD, "integrity check: %s",
		     sqlite3_column_text(s, 0));
		err = EBADMSG;
	}
	sqlite3_finalize(s);
	return err;
}


/*
 * SQLite's global mutexes and memory statistics cost the hot path some
 * 100 mutex calls a push (a pthread lock at every allocation, for the
 * statistics). One thread uses SQLite here: the event loop's (the HTTP
 * API runs in it too, libmicrohttpd without a thread of its own). Set
 * before SQLite initialises, so at the first open; later it answers
 * SQLITE_MISUSE and stays as it was (only slower).
 */
static void sq_config(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	if (sqlite3_config(SQLITE_CONFIG_SINGLETHREAD) != SQLITE_OK)
		return;
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	/* single-threaded, so SQLite's allocations may come from our
	 * unlocked free lists (its lookaside is compiled out: sqmem.h) */
	(void)sqlite3_config(SQLITE_CONFIG_MALLOC, sqmem_methods());
}


/* A checkpoint every CKPT_FRAMES of WAL (SQLite's autocheckpoint, which
 * this hook replaces), with its syncs made here: it copies frames into
 * the database, so they must be durable first, deferred or not */
enum { CKPT_FRAMES = 8192 };

static int wal_h(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq *q = arg;

	if (frames < CKPT_FRAMES)
		return SQLITE_OK;
	(void)walbuf_defer(db, false);
	(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					NULL, NULL);
	(void)walbuf_defer(db, q->deferring);
	return SQLITE_OK;
}


/* --sync full over walbuf: the WAL's fdatasync on walsync's thread */
static int sync_off_loop(struct sq *q, const struct store_opts *opts)
{
	int err;

	q->ws_fd = walbuf_fd(q->db);
	if (q->ws_fd < 0)
		return 0;      /* no WAL of ours: SQLite syncs in COMMIT */
	err = walsync_alloc(&q->ws, q->ws_fd, opts ? opts->fsync : NULL,
			    opts ? opts->fsync_arg : NULL);
	if (err)
		return err;
	sqlite3_wal_hook(q->db, wal_h, q);
	return 0;
}


/* url: "sqlite:PATH" or a plain path */
static int sq_open(void **bep, const char *url, const struct store_opts *opts)
{
	const char *path = url;
	bool gather;
	struct sq *q;
	int rc, err;

	if (!strncmp(path, "sqlite:", 7))
		path += 7;
	if (!*path)
		return EINVAL;

	q = mem_zalloc(sizeof(*q), destructor);
	if (!q)
		return ENOMEM;

	/* created 0600 (credentials, push content); SQLite gives its WAL
	 * and shm files the database file's mode */
	if (strcmp(path, ":memory:")) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			(void)close(fd);
	}

	sq_config();
	/* with FULL a commit syncs the WAL: its frames are gathered until
	 * then and written in one call, not two per page (walbuf.h) */
	gather = !(opts && opts->sync == STORE_SYNC_NORMAL) &&
		!walbuf_register(NULL);
	q->ws_fd = -1;
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     gather ? WALBUF_VFS : NULL);
	if (rc != SQLITE_OK) {
		err = q->db ? db_err(q, rc) : ENOMEM;
		goto out;
	}

	/* a second process on the same file fails at once, not later */
	sqlite3_busy_timeout(q->db, 200);

	err = exec(q, "PRAGMA locking_mode=EXCLUSIVE");
	/* A commit writes each page it touched whole to the WAL, some six
	 * (B-tree ends) for a few pushes: small pages write less for the
	 * same rows (bytes per push 30k -> 14k at one push a commit). Only
	 * a new file takes it (before WAL mode); one made before keeps its
	 * own */
	err = err ? err : exec(q, "PRAGMA page_size=1024");
	err = err ? err : exec(q, "PRAGMA journal_mode=WAL");
	err = err ? err : exec(q, (opts && opts->sync == STORE_SYNC_NORMAL)
			      ? "PRAGMA synchronous=NORMAL"
			      : "PRAGMA synchronous=FULL");
	/* A small page cache; the file is mapped, so reads of rows not in
	 * it need no syscall either. Large, it cost every commit after a
	 * B-tree split a scan of its whole hash table: SQLite renumbers
	 * split pages through a temporary number past the end (the pending
	 * byte's page), and the commit then truncates the cache back to the
	 * file's size (13 % of the CPU of subscription mode at 64 MiB) */
	err = err ? err : exec(q, "PRAGMA cache_size=-2048");
	err = err ? err : exec(q, "PRAGMA mmap_size=268435456");
	err = err ? err : exec(q, "PRAGMA temp_store=MEMORY");
	/* a checkpoint copies each page once however often it was written
	 * since the last: every 8 MiB of WAL, not SQLite's 1,000 pages
	 * (1 MiB of our small pages), copies and fsyncs less often (notify
	 * 8.8k -> 9.5-9.9k/s; page mode 3.7 -> 3.5 kB written per push) */
	err = err ? err : exec(q, "PRAGMA wal_autocheckpoint=8192");
	err = err ? err : check_integrity(q);
	err = err ? err : migrate(q);
	/* after the pragma, which would replace the hook */
	if (!err && gather && !(opts && opts->sync == STORE_SYNC_FULL_INLINE))
		err = sync_off_loop(q, opts);
	if (err)
		goto out;

	for (size_t i = 0; i < S_COUNT; i++) {
		rc = sqlite3_prepare_v3(q->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT,
					&q->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			err = db_err(q, rc);
			goto out;
		}
	}

 out:
	if (err)
		mem_deref(q);
	else
		*bep = q;

	return err;
}


static int sq_begin(void *be)
{
	struct sq *q = be;

	return step_done(q, q->stmt[S_BEGIN]);
}


static int sq_write(void *be, enum store_q id, const struct sval *v,
		    size_t n)
{
	return run(be, id, v, n);
}


/*
 * SQLite commits here. Without walsync the outcome is known on return.
 * With it, COMMIT writes the frames (a failed write fails it here, as
 * before) and h runs once walsync's fdatasync has them on disk; a turn
 * without writes still waits for the commits before it, which it may
 * have read.
 */
static int sq_commit(void *be, bool txn, store_done_h *h, void *arg)
{
	struct sq *q = be;
	int err = 0;

	if (txn) {
		/* the WAL is the one walsync syncs (never reopened here) */
		q->deferring = q->ws && walbuf_fd(q->db) == q->ws_fd &&
			!walbuf_defer(q->db, true);
		err = step_done(q, q->stmt[S_COMMIT]);
		if (q->deferring)
			(void)walbuf_defer(q->db, false);
		/* SQLite rolls a failed COMMIT back itself when it can */
		if (err && !sqlite3_get_autocommit(q->db))
			(void)exec(q, "ROLLBACK");
	}
	if (!err && q->deferring)
		err = walsync_commit(q->ws, h, arg);
	else if (q->ws)   /* in order: a failure after earlier successes */
		err = walsync_after(q->ws, err, h, arg);
	q->deferring = false;
	/* no memory to queue it: what waits is answered first, in order */
	if (err && q->ws)
		(void)walsync_wait(q->ws);
	if (err || !q->ws)
		h(err, arg);
	return 0;
}


static int sq_abandon(void *be, store_done_h *h, void *arg)
{
	struct sq *q = be;
	int err = exec(q, "ROLLBACK");

	err = err ? err : ECANCELED;
	if (q->ws && !walsync_after(q->ws, err, h, arg))
		return 0;
	if (q->ws)   /* no memory to queue it: what waits goes first */
		(void)walsync_wait(q->ws);
	h(err, arg);
	return 0;
}


static int sq_wait(void *be)
{
	struct sq *q = be;

	return q->ws ? walsync_wait(q->ws) : 0;
}


static int sq_query(void *be, enum store_q id, const struct sval *v,
		    size_t n, store_row_h *h, void *arg)
{
	return rows(be, id, v, n, h, arg);
}


static int sq_purge(void *be, int64_t before_ms, uint32_t *n)
{
	struct sq *q = be;
	const struct sval v = {.t = SV_INT, .i = before_ms};
	int err;

	err = run(q, S_PURGE_DLV, &v, 1);
	err = err ? err : run(q, S_PURGE_FILES, &v, 1);
	err = err ? err : run(q, S_PURGE_PAP, &v, 1);
	err = err ? err : run(q, S_PURGE_PUSH, &v, 1);
	if (!err && n)
		*n = (uint32_t)sqlite3_changes(q->db);
	err = err ? err : run(q, S_PURGE_IDEM, &v, 1);
	return err;
}


static void id_h(const struct sval *col, size_t ncol, void *arg)
{
	if (ncol && col[0].t == SV_INT)
		*(int64_t *)arg = col[0].i;
}


/* the next row id (one process holds the file) */
static int sq_note_id(void *be, int64_t *id)
{
	*id = 0;
	return rows(be, S_NOTE_ID, NULL, 0, id_h, id);
}


/* The page cache (up to cache_size) stays allocated after a burst: some
 * 100 MB after 100k pushes; what is hot is read again soon enough */
static void sq_release(void *be)
{
	struct sq *q = be;

	(void)sqlite3_db_release_memory(q->db);
}


const struct store_be store_sqlite = {
	.name    = "sqlite",
	.open    = sq_open,
	.version = sq_version,
	.begin   = sq_begin,
	.write   = sq_write,
	.commit  = sq_commit,
	.abandon = sq_abandon,
	.wait    = sq_wait,
	.query   = sq_query,
	.purge   = sq_purge,
	.note_id = sq_note_id,
	.release = sq_release,
};
