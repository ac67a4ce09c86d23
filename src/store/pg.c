/**
 * @file pg.c  The PostgreSQL backend: libpq in pipeline mode on libre's loop
 *
 * One connection, non-blocking, its socket in fd_listen. A turn's writes
 * are sent pipelined, without waiting, as one implicit transaction that
 * the Sync ending the turn commits (or, after an error, rolls back whole);
 * the Sync's result fires the turn's waiters. Nothing on the write path
 * waits for the network. Reads are synchronous: the query goes into the
 * pipeline behind what was sent (so it sees the open transaction) and the
 * loop waits for its rows, at most timeout_ms (docs/design.md lists where
 * that happens).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <re.h>
#include "store/store.h"
#include "store/backend.h"

#include <sippush/log.h>

#define MOD "store"

/* A lost connection is tried again after 0.1 s, doubling up to this */
enum { BACKOFF_MAX_MS = 1000 };

/* Type OIDs of the result columns this schema uses (pg_type.h) */
enum { OID_BOOL = 16, OID_BYTEA = 17, OID_INT8 = 20, OID_INT2 = 21,
       OID_INT4 = 23 };

/* One process per database until shards are leased (issue 24) */
#define LOCK_KEY "7378707573680001"

/* pap_notify ids are taken from a sequence in blocks of this many */
#define NOTE_BLOCK 100

#define PUSH_COLS "id,seq,aor,app,ctype,body,url,method,target,topic,token," \
		  "state,priority,ttl,created_ms,expires_ms,final_ms,filename," \
		  "disposition,not_before_ms,identity,unasserted,relay,owner," \
		  "privacy"
#define DLV_COLS "push_id,tkey,terminal,ruri,route,method,state,last_error," \
		 "call_id,sip_status,pap_code,attempts,cseq,indirect,steps"
#define SUB_COLS "call_id,aor,tkey,app,ltag,rtag,local,remote,target," \
		 "route,accept,methods,lseq,rseq,expires_at"
#define CAPS_COLS "aor,tkey,vendor,model,version,dev_cap,push_accept," \
		  "push_appids,push_msgsize,updated_at"
#define FILE_COLS "push_id,idx,path,filename,ctype,disposition,size,sha1"
#define PAP_COLS "pap_id,addr,push_id,notify_to,created_ms"
#define TERM_COLS "aor,tkey,instance,contact,pub_gruu,temp_gruu,apps," \
		  "methods,path,source,expires_at,push,charging"

/* the server's clock in ms, read at each use (not the transaction's) */
#define NOW_MS "(extract(epoch FROM clock_timestamp())*1000)::bigint"
/* node $n holds shard $s's lease of epoch $e, unexpired */
#define HOLDS(n, s, e) "EXISTS(SELECT 1 FROM leases WHERE shard=" s \
	"::bigint AND owner=" n " AND epoch=" e "::bigint AND until_ms>" NOW_MS ")"

enum { S_PURGE_DLV = Q_COUNT, S_PURGE_FILES, S_PURGE_PAP, S_PURGE_PUSH,
       S_NOTE_ID, S_VERSION, S_PURGE_IDEM, S_COUNT };

static const char *stmt_sql[S_COUNT] = {
	[Q_USER_SET] = "INSERT INTO users(aor,realm,ha1) VALUES($1,$2,$3) "
		       "ON CONFLICT(aor) DO UPDATE SET realm=EXCLUDED.realm,"
		       "ha1=EXCLUDED.ha1",
	[Q_USER_GET] = "SELECT ha1 FROM users WHERE aor=$1",
	[Q_TERM_PUT] = "INSERT INTO terminals(" TERM_COLS ") VALUES($1,$2,$3,"
		       "$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT(aor,tkey)"
		       " DO UPDATE SET instance=EXCLUDED.instance,"
		       "contact=EXCLUDED.contact,pub_gruu=EXCLUDED.pub_gruu,"
		       "temp_gruu=EXCLUDED.temp_gruu,apps=EXCLUDED.apps,"
		       "methods=EXCLUDED.methods,path=EXCLUDED.path,"
		       "source=EXCLUDED.source,expires_at=EXCLUDED.expires_at,"
		       "push=EXCLUDED.push,charging=EXCLUDED.charging",
	[Q_TERM_DEL] = "DELETE FROM terminals WHERE aor=$1 AND tkey=$2",
	[Q_TERM_LOAD] = "SELECT " TERM_COLS " FROM terminals",
	[Q_PUSH_ADD] = "INSERT INTO pushes(id,seq,aor,app,ctype,body,url,"
		       "method,target,topic,token,state,priority,ttl,"
		       "created_ms,expires_ms,filename,disposition,"
		       "not_before_ms,identity,unasserted,relay,owner,privacy,"
		       "final_ms) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,"
		       "$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,0)",
	[Q_PUSH_FINAL] = "UPDATE pushes SET state=$1,final_ms=$2 WHERE id=$3",
	[Q_PUSH_PENDING] = "SELECT " PUSH_COLS " FROM pushes WHERE final_ms=0 "
			   "ORDER BY seq",
	[Q_PUSH_GET] = "SELECT " PUSH_COLS " FROM pushes WHERE id=$1",
	[Q_PUSH_RECENT] = "SELECT " PUSH_COLS " FROM pushes WHERE $1::text IS "
			  "NULL OR owner=$1 ORDER BY seq DESC LIMIT $2",
	[Q_PUSH_TOKEN] = "SELECT " PUSH_COLS " FROM pushes WHERE token=$1",
	[Q_DLV_BY_PUSH] = "SELECT " DLV_COLS " FROM deliveries WHERE "
			  "push_id=$1 ORDER BY n",
	[Q_DLV_PUT] = "INSERT INTO deliveries(" DLV_COLS ") VALUES($1,$2,$3,"
		      "$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)" DLV_UPSERT,
	[Q_TERM_OF] = "SELECT " TERM_COLS " FROM terminals WHERE aor=$1",
	[Q_NOTIFY] = "SELECT pg_notify('sippush', $1)",
	/* fenced: written only while the node holds the shard's lease of
	 * that epoch, unexpired by the server's clock (docs/design.md) */
	[Q_DLV_PUT_FENCED] = "INSERT INTO deliveries(" DLV_COLS ") SELECT $1,"
		      "$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15 WHERE "
		      HOLDS("$16", "$17", "$18") DLV_UPSERT,
	[Q_PUSH_FINAL_FENCED] = "UPDATE pushes SET state=$1,final_ms=$2 WHERE "
		      "id=$3 AND " HOLDS("$4", "$5", "$6"),
	[Q_MAX_SEQ] = "SELECT COALESCE(MAX(seq),0)::bigint FROM pushes",
	[Q_SUB_PUT] = "INSERT INTO subs(" SUB_COLS ") VALUES($1,$2,$3,$4,$5,"
		      "$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) ON CONFLICT(call_id)"
		      " DO UPDATE SET aor=EXCLUDED.aor,tkey=EXCLUDED.tkey,"
		      "app=EXCLUDED.app,ltag=EXCLUDED.ltag,rtag=EXCLUDED.rtag,"
		      "local=EXCLUDED.local,remote=EXCLUDED.remote,"
		      "target=EXCLUDED.target,route=EXCLUDED.route,"
		      "accept=EXCLUDED.accept,methods=EXCLUDED.methods,"
		      "lseq=EXCLUDED.lseq,rseq=EXCLUDED.rseq,"
		      "expires_at=EXCLUDED.expires_at",
	[Q_SUB_DEL] = "DELETE FROM subs WHERE call_id=$1",
	[Q_SUB_LOAD] = "SELECT " SUB_COLS " FROM subs",
	[Q_SUB_OF] = "SELECT " SUB_COLS " FROM subs WHERE aor=$1",
	[Q_SUB_GET] = "SELECT " SUB_COLS " FROM subs WHERE call_id=$1",
	[Q_CAPS_PUT] = "INSERT INTO caps(" CAPS_COLS ") VALUES($1,$2,$3,$4,$5,"
		       "$6,$7,$8,$9,$10) ON CONFLICT(aor,tkey) DO UPDATE SET "
		       "vendor=EXCLUDED.vendor,model=EXCLUDED.model,"
		       "version=EXCLUDED.version,dev_cap=EXCLUDED.dev_cap,"
		       "push_accept=EXCLUDED.push_accept,"
		       "push_appids=EXCLUDED.push_appids,"
		       "push_msgsize=EXCLUDED.push_msgsize,"
		       "updated_at=EXCLUDED.updated_at",
	[Q_CAPS_LOAD] = "SELECT " CAPS_COLS " FROM caps",
	[Q_FILE_ADD] = "INSERT INTO push_files(" FILE_COLS ") VALUES($1,$2,"
		       "$3,$4,$5,$6,$7,$8)",
	[Q_FILES_OF] = "SELECT " FILE_COLS " FROM push_files WHERE "
		       "push_id=$1 ORDER BY idx",
	[Q_FILES_FINAL] = "SELECT f.push_id,f.idx,f.path,f.filename,f.ctype,"
			  "f.disposition,f.size,f.sha1 FROM push_files f "
			  "JOIN pushes p ON p.id=f.push_id WHERE p.final_ms>0",
	[Q_PAP_ADD] = "INSERT INTO pap_pushes(" PAP_COLS ") VALUES($1,$2,$3,"
		      "$4,$5)",
	[Q_PAP_GET] = "SELECT " PAP_COLS " FROM pap_pushes WHERE pap_id=$1 "
		      "ORDER BY n",
	[Q_PAP_BY_PUSH] = "SELECT " PAP_COLS " FROM pap_pushes WHERE "
			  "push_id=$1",
	[Q_NOTE_ADD] = "INSERT INTO pap_notify(id,url,body,attempts,next_ms) "
		       "VALUES($1,$2,$3,0,$4)",
	[Q_NOTE_DEL] = "DELETE FROM pap_notify WHERE id=$1",
	[Q_NOTE_UPD] = "UPDATE pap_notify SET attempts=$1,next_ms=$2 WHERE "
		       "id=$3",
	[Q_NOTE_LOAD] = "SELECT id,url,body,attempts,next_ms FROM pap_notify "
			"ORDER BY id",
	[S_PURGE_DLV] = "DELETE FROM deliveries WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<$1)",
	[S_PURGE_FILES] = "DELETE FROM push_files WHERE push_id IN (SELECT id "
			  "FROM pushes WHERE final_ms>0 AND final_ms<$1)",
	[S_PURGE_PAP] = "DELETE FROM pap_pushes WHERE push_id IN (SELECT id "
			"FROM pushes WHERE final_ms>0 AND final_ms<$1)",
	[S_PURGE_PUSH] = "WITH d AS (DELETE FROM pushes WHERE final_ms>0 AND "
			 "final_ms<$1 RETURNING 1) SELECT count(*) FROM d",
	[S_NOTE_ID] = "SELECT nextval('pap_notify_ids')",
	[Q_IDEM_PUT] = "INSERT INTO idem(owner,key,status,answer,created_ms) "
		       "VALUES($1,$2,$3,$4,$5)",
	[Q_IDEM_GET] = "SELECT owner,key,status,answer,created_ms FROM idem "
		       "WHERE owner=$1 AND key=$2",
	[S_PURGE_IDEM] = "DELETE FROM idem WHERE created_ms<$1",
	[S_VERSION] = "SELECT COALESCE((SELECT v FROM sippush_meta WHERE "
		      "k='schema_version'),0)::bigint",
};

/*
 * Migrations: index i takes the schema from version i to i+1. This
 * backend's history starts at SQLite's schema 12; every integer is a
 * bigint (results are read in binary).
 */
static const char *migrations[] = {
	"CREATE TABLE users(aor text PRIMARY KEY, realm text NOT NULL,"
	" ha1 text NOT NULL);"
	"CREATE TABLE terminals(aor text NOT NULL, tkey text NOT NULL,"
	" instance text, contact text NOT NULL, pub_gruu text, temp_gruu text,"
	" apps text, methods text, path text, source text NOT NULL,"
	" expires_at bigint NOT NULL, push bigint NOT NULL, charging text,"
	" PRIMARY KEY(aor, tkey));"
	"CREATE TABLE pushes(id text PRIMARY KEY, seq bigint NOT NULL,"
	" aor text NOT NULL, app text NOT NULL, ctype text NOT NULL,"
	" body bytea, url text, method text NOT NULL, target text, topic text,"
	" token text UNIQUE, state text NOT NULL, priority bigint NOT NULL,"
	" ttl bigint NOT NULL, created_ms bigint NOT NULL,"
	" expires_ms bigint NOT NULL, final_ms bigint NOT NULL,"
	" filename text, disposition text,"
	" not_before_ms bigint NOT NULL DEFAULT 0, identity text,"
	" unasserted bigint NOT NULL DEFAULT 0,"
	" relay bigint NOT NULL DEFAULT 0, owner text, privacy text);"
	"CREATE INDEX pushes_final ON pushes(final_ms);"
	"CREATE INDEX pushes_seq ON pushes(seq);"
	"CREATE TABLE deliveries(n bigint GENERATED ALWAYS AS IDENTITY,"
	" push_id text NOT NULL, tkey text NOT NULL,"
	" terminal text, ruri text NOT NULL, route text, method text NOT NULL,"
	" state text NOT NULL, last_error text, call_id text NOT NULL,"
	" sip_status bigint NOT NULL, pap_code bigint NOT NULL,"
	" attempts bigint NOT NULL, cseq bigint NOT NULL,"
	" indirect bigint NOT NULL, steps text, PRIMARY KEY(push_id, tkey));"
	"CREATE TABLE subs(call_id text PRIMARY KEY, aor text NOT NULL,"
	" tkey text NOT NULL, app text NOT NULL, ltag text NOT NULL,"
	" rtag text NOT NULL, local text NOT NULL, remote text NOT NULL,"
	" target text NOT NULL, route text, accept text, methods text,"
	" lseq bigint NOT NULL, rseq bigint NOT NULL,"
	" expires_at bigint NOT NULL);"
	"CREATE TABLE caps(aor text NOT NULL, tkey text NOT NULL, vendor text,"
	" model text, version text, dev_cap text, push_accept text,"
	" push_appids text, push_msgsize bigint NOT NULL,"
	" updated_at bigint NOT NULL, PRIMARY KEY(aor, tkey));"
	"CREATE TABLE push_files(push_id text NOT NULL, idx bigint NOT NULL,"
	" path text NOT NULL, filename text, ctype text NOT NULL,"
	" disposition text, size bigint NOT NULL, sha1 bytea,"
	" PRIMARY KEY(push_id, idx));"
	"CREATE TABLE pap_pushes(n bigint GENERATED ALWAYS AS IDENTITY,"
	" pap_id text NOT NULL, addr text NOT NULL,"
	" push_id text NOT NULL, notify_to text, created_ms bigint NOT NULL,"
	" PRIMARY KEY(pap_id, addr));"
	"CREATE INDEX pap_by_push ON pap_pushes(push_id);"
	"CREATE TABLE pap_notify(id bigint PRIMARY KEY, url text NOT NULL,"
	" body text NOT NULL, attempts bigint NOT NULL,"
	" next_ms bigint NOT NULL);"
	"CREATE SEQUENCE pap_notify_ids INCREMENT BY 100;",

	/* 2 (SQLite's 13): the answers to requests with an Idempotency-Key */
	"CREATE TABLE idem(owner text NOT NULL, key text NOT NULL,"
	" status bigint NOT NULL, answer text NOT NULL,"
	" created_ms bigint NOT NULL, PRIMARY KEY(owner, key));"
	"CREATE INDEX idem_created ON idem(created_ms);",

	/* 3: several sippushd on one database (issue 24): the nodes'
	 * heartbeats and the shards' leases (src/core/lease.h) */
	"CREATE TABLE nodes(name text PRIMARY KEY, beat_ms bigint NOT NULL,"
	" tag bigint NOT NULL UNIQUE, watch_until_ms bigint NOT NULL DEFAULT 0);"
	"CREATE TABLE leases(shard bigint PRIMARY KEY, owner text,"
	" until_ms bigint NOT NULL DEFAULT 0, epoch bigint NOT NULL DEFAULT 0);"
	"INSERT INTO leases(shard) SELECT generate_series(0, 255);"
	/* the key of the nodes' news: any role that may connect may NOTIFY,
	 * none but sippush's may read this table */
	"CREATE TABLE cluster_secret(id bigint PRIMARY KEY, key text NOT NULL);",
};

enum op_kind { OP_CMD, OP_SYNC };

/* What was sent and awaits its results, in the order sent */
struct op {
	struct le le;
	enum op_kind kind;
	bool read;               /**< a caller waits for its rows          */
	bool done;
	int err;
	int64_t sent_ms;
	PGresult *res;           /**< a read's rows                        */
	store_done_h *h;         /**< a Sync's: the turn's outcome         */
	void *arg;
};

struct pg {
	PGconn *conn;
	int fd;
	bool broken;
	bool in_txn;             /**< writes sent since the last Sync      */
	uint32_t gen;            /**< connections so far                   */
	uint32_t txn_gen;        /**< the connection the open turn is on   */
	char *url;
	char *appname;           /**< application_name, or NULL           */
	bool sync_normal;        /**< --sync normal                        */
	bool cluster;            /**< shared by nodes: no exclusive lock   */
	uint32_t backoff_ms;     /**< before the next reconnection         */
	int old_pid;             /**< the server process of the lost one   */
	struct tmr tmr_conn;
	struct tmr tmr_watch;    /**< a silent server counts as gone       */
	bool want_write;         /**< output left to send                  */
	int seg_err;             /**< first error since the last Sync      */
	uint32_t timeout_ms;
	int64_t note_next, note_end;
	struct list ops;         /**< sent, results awaited                */
	struct list ready;       /**< Syncs done, handlers to call         */
	struct tmr tmr;          /**< results read while a caller waited   */
};


static void op_destructor(void *arg)
{
	struct op *op = arg;

	PQclear(op->res);
}


static void run_ready(struct pg *pg)
{
	while (pg->ready.head) {
		struct op *op = pg->ready.head->data;

		list_unlink(&op->le);
		if (op->h)
			op->h(op->err, op->arg);
		mem_deref(op);
	}
}


/* An op is over: a Sync's handler is called later (run_ready), a read's
 * caller sees done */
static void op_end(struct pg *pg, struct op *op, int err)
{
	list_unlink(&op->le);
	if (!op->err)
		op->err = err;
	op->done = true;
	if (op->kind == OP_SYNC)
		list_append(&pg->ready, &op->le, op);
	else
		mem_deref(op);
}


/* The connection is gone (or closed): every op awaiting results fails */
static void fail_all(struct pg *pg, int err)
{
	if (!pg->broken)
		++pg->gen;   /* a turn begun on it can no longer commit */
	pg->broken = true;
	if (pg->fd >= 0)
		fd_close(pg->fd);
	pg->fd = -1;
	while (pg->ops.head)
		op_end(pg, pg->ops.head->data, err);
}


static void reconnect(void *arg);
static void ready_tmr(void *arg);

/* Gone: what awaited results fails (its waiters answer 503), and a new
 * connection is tried after a backoff (0.1 s doubling up to 1 s: a
 * promoted standby or a restarted server is found within a second) */
static void broken(struct pg *pg, int err)
{
	if (!pg->broken)
		plog(SIPPUSH_LOG_ERROR, MOD, "postgresql: connection lost, "
		     "reconnecting: %s", pg->conn ? PQerrorMessage(pg->conn)
		     : "no connection");
	fail_all(pg, err);
	/* the failed turns' waiters, from the loop (not from a caller's
	 * write or read) */
	tmr_start(&pg->tmr, 0, ready_tmr, pg);
	if (!tmr_isrunning(&pg->tmr_conn)) {
		pg->backoff_ms = pg->backoff_ms ?
			min(pg->backoff_ms * 2, BACKOFF_MAX_MS) : 100;
		tmr_start(&pg->tmr_conn, pg->backoff_ms, reconnect, pg);
	}
}


static void destructor(void *arg)
{
	struct pg *pg = arg;

	tmr_cancel(&pg->tmr);
	tmr_cancel(&pg->tmr_conn);
	tmr_cancel(&pg->tmr_watch);
	fail_all(pg, ESHUTDOWN);
	mem_deref(pg->url);
	mem_deref(pg->appname);
	run_ready(pg);
	if (pg->conn)
		PQfinish(pg->conn);
}


static int res_err(const PGresult *r)
{
	const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	if (!code)
		return EIO;
	if (!strcmp(code, "23505"))
		return EEXIST;           /* unique_violation */
	if (!strcmp(code, "53100"))
		return ENOSPC;           /* disk_full */
	if (!strncmp(code, "53", 2))
		return ENOMEM;           /* insufficient resources */
	if (!strncmp(code, "08", 2) || !strncmp(code, "57P", 3))
		return ECONNRESET;       /* connection, shutdown */
	return EIO;
}


/* Every result that has arrived goes to its op */
static void process(struct pg *pg)
{
	while (pg->ops.head && !PQisBusy(pg->conn)) {
		struct op *op = pg->ops.head->data;
		PGresult *r = PQgetResult(pg->conn);

		if (!r) {
			/* a command's results are over */
			if (op->kind == OP_SYNC)
				break;
			op_end(pg, op, 0);
			continue;
		}

		switch (PQresultStatus(r)) {

		case PGRES_PIPELINE_SYNC:
			PQclear(r);
			if (op->kind != OP_SYNC)
				continue;
			op_end(pg, op, pg->seg_err);
			pg->seg_err = 0;
			continue;

		case PGRES_TUPLES_OK:
			if (op->read && !op->res) {
				op->res = r;
				continue;
			}
			break;

		case PGRES_COMMAND_OK:
			break;

		case PGRES_PIPELINE_ABORTED:
			op->err = pg->seg_err ? pg->seg_err : EIO;
			break;

		default:
			op->err = res_err(r);
			plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s",
			     PQresultErrorMessage(r));
			if (!pg->seg_err)
				pg->seg_err = op->err;
			break;
		}
		PQclear(r);
	}
}


static void sock_h(int flags, void *arg);

static void watch(struct pg *pg)
{
	int flags = FD_READ | (pg->want_write ? FD_WRITE : 0);

	if (pg->fd >= 0)
		(void)fd_listen(pg->fd, flags, sock_h, pg);
}


/* Send what libpq holds; what the socket does not take goes on FD_WRITE */
static int flush(struct pg *pg)
{
	int r = PQflush(pg->conn);

	if (r < 0) {
		broken(pg, ECONNRESET);
		return ECONNRESET;
	}
	if (pg->want_write != (r == 1)) {
		pg->want_write = r == 1;
		watch(pg);
	}
	return 0;
}


static void sock_h(int flags, void *arg)
{
	struct pg *pg = arg;

	if (flags & FD_WRITE)
		(void)flush(pg);
	if (!pg->broken && (flags & FD_READ) && !PQconsumeInput(pg->conn))
		broken(pg, ECONNRESET);
	if (!pg->broken)
		process(pg);
	run_ready(pg);
}


static void ready_tmr(void *arg)
{
	struct pg *pg = arg;

	if (!pg->broken && PQconsumeInput(pg->conn))
		process(pg);
	run_ready(pg);
}


static int64_t now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/*
 * Wait, blocking the loop, until op is done (NULL: until nothing is
 * awaited), at most timeout_ms; a connection silent that long is taken as
 * gone. Handlers of Syncs done meanwhile run later from the loop.
 */
static int pump(struct pg *pg, struct op *op)
{
	const int64_t end = now_ms() + pg->timeout_ms;

	for (;;) {
		struct pollfd pfd;
		int64_t left;
		int fr;

		if (pg->broken)
			return op && op->err ? op->err : ECONNRESET;
		fr = PQflush(pg->conn);
		if (fr < 0) {
			broken(pg, ECONNRESET);
			continue;
		}
		if (!PQconsumeInput(pg->conn)) {
			broken(pg, ECONNRESET);
			continue;
		}
		process(pg);
		if (op ? op->done : !pg->ops.head)
			return 0;

		left = end - now_ms();
		if (left <= 0) {
			plog(SIPPUSH_LOG_ERROR, MOD, "postgresql: no answer "
			     "within %u ms", pg->timeout_ms);
			broken(pg, ETIMEDOUT);
			continue;
		}
		pfd.fd = PQsocket(pg->conn);
		pfd.events = POLLIN | (fr == 1 ? POLLOUT : 0);
		pfd.revents = 0;
		(void)poll(&pfd, 1, (int)left);
	}
}


static struct op *op_new(struct pg *pg, enum op_kind kind)
{
	struct op *op = mem_zalloc(sizeof(*op), op_destructor);

	if (!op)
		return NULL;
	op->kind = kind;
	op->sent_ms = now_ms();
	list_append(&pg->ops, &op->le, op);
	return op;
}


/* Send a prepared statement: text parameters, bytea in binary; rows come
 * back in binary */
static int send_stmt(struct pg *pg, int id, const struct sval *v, size_t n,
		     struct op **opp, bool read)
{
	const char *vals[32];
	int lens[32], fmts[32];
	char ints[32][24], name[16];
	struct op *op;

	if (pg->broken)
		return ECONNRESET;
	if (n > ARRAY_SIZE(vals))
		return EINVAL;

	for (size_t i = 0; i < n; i++) {
		lens[i] = 0;
		fmts[i] = 0;
		switch (v[i].t) {
		case SV_TEXT:
			vals[i] = v[i].s;
			break;
		case SV_INT:
			(void)snprintf(ints[i], sizeof(ints[i]), "%lld",
				       (long long)v[i].i);
			vals[i] = ints[i];
			break;
		case SV_BLOB:
			vals[i] = (const char *)v[i].b;
			lens[i] = (int)v[i].len;
			fmts[i] = 1;
			break;
		default:
			vals[i] = NULL;
			break;
		}
	}

	(void)snprintf(name, sizeof(name), "s%d", id);
	if (!PQsendQueryPrepared(pg->conn, name, (int)n, vals, lens, fmts,
				 1)) {
		broken(pg, ECONNRESET);
		return ECONNRESET;
	}

	op = op_new(pg, OP_CMD);
	if (!op)
		return ENOMEM;
	op->read = read;
	if (read)
		mem_ref(op);     /* the caller's, until it read the rows */
	if (opp)
		*opp = op;
	return 0;
}


static void col_of(struct sval *c, const PGresult *r, int row, int col)
{
	const char *v = PQgetvalue(r, row, col);
	const uint8_t *b = (const uint8_t *)v;
	int len = PQgetlength(r, row, col);

	memset(c, 0, sizeof(*c));
	if (PQgetisnull(r, row, col))
		return;

	switch (PQftype(r, col)) {

	case OID_INT8:
	case OID_INT4:
	case OID_INT2:
	case OID_BOOL: {
		uint64_t u = 0;

		for (int i = 0; i < len; i++)
			u = (u << 8) | b[i];
		/* sign-extend the narrower ones */
		if (len < 8 && len > 0 && (b[0] & 0x80))
			u |= ~0ull << (8 * len);
		c->t = SV_INT;
		c->i = (int64_t)u;
		break;
	}

	case OID_BYTEA:
		c->t = SV_BLOB;
		c->b = b;
		c->len = (size_t)len;
		break;

	default:   /* text: libpq ends every value with a NUL */
		c->t = SV_TEXT;
		c->s = v;
		c->len = (size_t)len;
		break;
	}
}


static void id_h(const struct sval *col, size_t ncol, void *arg)
{
	if (ncol && col[0].t == SV_INT)
		*(int64_t *)arg = col[0].i;
}


static int pg_query_id(struct pg *pg, int id, const struct sval *v,
		       size_t n, store_row_h *h, void *arg)
{
	struct op *op = NULL;
	int err;

	err = send_stmt(pg, id, v, n, &op, true);
	if (err)
		return err;

	/* in a turn: its rows now, the turn goes on; else its own Sync */
	if (pg->in_txn) {
		if (!PQsendFlushRequest(pg->conn))
			broken(pg, ECONNRESET);
	}
	else if (!PQpipelineSync(pg->conn)) {
		broken(pg, ECONNRESET);
	}
	else if (!op_new(pg, OP_SYNC)) {
		err = ENOMEM;
	}

	err = err ? err : pump(pg, op);
	err = err ? err : op->err;
	if (!err && op->res && h) {
		int nrow = PQntuples(op->res), ncol = PQnfields(op->res);
		struct sval col[32];

		if (ncol > (int)ARRAY_SIZE(col))
			ncol = (int)ARRAY_SIZE(col);
		for (int i = 0; i < nrow; i++) {
			for (int c = 0; c < ncol; c++)
				col_of(&col[c], op->res, i, c);
			h(col, (size_t)ncol, arg);
		}
	}
	mem_deref(op);

	/* results read while waiting, handlers of Syncs: from the loop */
	if (pg->ready.head || pg->ops.head)
		tmr_start(&pg->tmr, 0, ready_tmr, pg);
	return err;
}


static int pg_query(void *be, enum store_q q, const struct sval *v,
		    size_t n, store_row_h *h, void *arg)
{
	return pg_query_id(be, (int)q, v, n, h, arg);
}


static int pg_write(void *be, enum store_q q, const struct sval *v,
		    size_t n)
{
	struct pg *pg = be;

	/* the turn's earlier writes went with a lost connection */
	if (pg->in_txn && pg->txn_gen != pg->gen)
		return ECONNRESET;
	return send_stmt(pg, (int)q, v, n, NULL, false);
}


static int pg_begin(void *be)
{
	struct pg *pg = be;

	if (pg->broken)
		return ECONNRESET;
	pg->in_txn = true;
	pg->txn_gen = pg->gen;
	return 0;
}


/* The Sync commits the turn's implicit transaction; its result (after the
 * server's commit, synchronous_commit) fires h. No turn: a Sync only when
 * results are awaited, so that h answers after what was sent before. */
/* A commit unanswered for timeout_ms (a network cut without an error):
 * the connection counts as gone, its waiters fail, a new one is tried */
static void watch_h(void *arg)
{
	struct pg *pg = arg;
	struct op *op = pg->ops.head ? pg->ops.head->data : NULL;

	if (!op)
		return;
	if (now_ms() - op->sent_ms > (int64_t)pg->timeout_ms) {
		plog(SIPPUSH_LOG_ERROR, MOD, "postgresql: no answer within %u "
		     "ms", pg->timeout_ms);
		broken(pg, ETIMEDOUT);
		return;
	}
	tmr_start(&pg->tmr_watch, 1000, watch_h, pg);
}


/* A turn's Sync was queued: h gets its outcome (err, when not 0, in
 * place of the server's), a silent server is watched for */
static int sync_sent(struct pg *pg, store_done_h *h, void *arg, int err)
{
	struct op *op = op_new(pg, OP_SYNC);

	if (!op)
		return ENOMEM;
	op->err = err;
	op->h = h;
	op->arg = arg;
	if (!tmr_isrunning(&pg->tmr_watch))
		tmr_start(&pg->tmr_watch, 1000, watch_h, pg);
	return flush(pg);
}


static int pg_commit(void *be, bool txn, store_done_h *h, void *arg)
{
	struct pg *pg = be;

	pg->in_txn = false;
	if (pg->broken || (txn && pg->txn_gen != pg->gen))
		return ECONNRESET;

	if (!txn && !pg->ops.head) {
		h(0, arg);
		return 0;
	}

	if (!PQpipelineSync(pg->conn)) {
		broken(pg, ECONNRESET);
		return ECONNRESET;
	}
	return sync_sent(pg, h, arg, 0);
}


/* An implicit transaction ends at its Sync: committed, unless something
 * in it failed. So a statement that fails is sent, then the Sync: what
 * the turn sent is rolled back, and only it. */
static int pg_abandon(void *be, store_done_h *h, void *arg)
{
	struct pg *pg = be;

	pg->in_txn = false;
	if (pg->broken || pg->txn_gen != pg->gen)
		return ECONNRESET;

	if (!PQsendQueryParams(pg->conn, "DO $$BEGIN RAISE EXCEPTION "
			       "'sippushd: turn abandoned'; END$$", 0, NULL,
			       NULL, NULL, NULL, 0) ||
	    !op_new(pg, OP_CMD) || !PQpipelineSync(pg->conn)) {
		broken(pg, ECONNRESET);
		return ECONNRESET;
	}
	return sync_sent(pg, h, arg, ECANCELED);
}


static int pg_wait(void *be)
{
	struct pg *pg = be;
	int err = 0;

	if (pg->ops.head)
		err = pump(pg, NULL);
	run_ready(pg);
	return err;
}


static int pg_purge(void *be, int64_t before_ms, uint32_t *n)
{
	struct pg *pg = be;
	const struct sval v = {.t = SV_INT, .i = before_ms};
	int64_t cnt = 0;
	int err;

	err = send_stmt(pg, S_PURGE_DLV, &v, 1, NULL, false);
	err = err ? err : send_stmt(pg, S_PURGE_FILES, &v, 1, NULL, false);
	err = err ? err : send_stmt(pg, S_PURGE_PAP, &v, 1, NULL, false);
	err = err ? err : send_stmt(pg, S_PURGE_IDEM, &v, 1, NULL, false);
	/* the count waits for the server (hourly, so harmless) */
	err = err ? err : pg_query_id(pg, S_PURGE_PUSH, &v, 1, id_h, &cnt);
	if (!err && n)
		*n = (uint32_t)cnt;
	return err;
}


/* From a block of the sequence, so that ids are unique among processes */
static int pg_note_id(void *be, int64_t *id)
{
	struct pg *pg = be;
	int64_t v = 0;
	int err;

	if (pg->note_next >= pg->note_end) {
		err = pg_query_id(pg, S_NOTE_ID, NULL, 0, id_h, &v);
		if (err)
			return err;
		pg->note_next = v;
		pg->note_end = v + NOTE_BLOCK;
	}
	*id = pg->note_next++;
	return 0;
}


static int pg_version(void *be, int *ver)
{
	int64_t v = 0;
	int err;

	err = pg_query_id(be, S_VERSION, NULL, 0, id_h, &v);
	if (!err)
		*ver = (int)v;
	return err;
}


/* Blocking, before pipeline mode (start-up only) */
static int exec_ok(struct pg *pg, const char *sql, char *out, size_t sz)
{
	PGresult *r = PQexec(pg->conn, sql);
	ExecStatusType s = PQresultStatus(r);
	int err = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s",
		     PQresultErrorMessage(r));
		err = r ? res_err(r) : ECONNRESET;
	}
	else if (out && sz) {
		str_ncpy(out, PQntuples(r) > 0 && PQnfields(r) > 0 ?
			 PQgetvalue(r, 0, 0) : "", sz);
	}
	PQclear(r);
	return err;
}


static int version_of(struct pg *pg, int *ver)
{
	char v[32];
	int err;

	err = exec_ok(pg, "SELECT COALESCE((SELECT v FROM sippush_meta WHERE "
		      "k='schema_version'),0)", v, sizeof(v));
	if (!err)
		*ver = atoi(v);
	return err;
}


static void notice_h(void *arg, const char *msg)
{
	(void)arg;
	plog(SIPPUSH_LOG_DEBUG, MOD, "postgresql: %s", msg);
}


static int migrate(struct pg *pg)
{
	int ver = 0, err;

	/* one migrator at a time, whoever else starts now */
	err = exec_ok(pg, "CREATE TABLE IF NOT EXISTS sippush_meta("
		      "k text PRIMARY KEY, v bigint NOT NULL)", NULL, 0);
	err = err ? err : exec_ok(pg, "BEGIN", NULL, 0);
	err = err ? err : exec_ok(pg, "SELECT pg_advisory_xact_lock("
				  LOCK_KEY "1)", NULL, 0);
	err = err ? err : version_of(pg, &ver);
	if (err)
		goto out;

	if (ver > (int)ARRAY_SIZE(migrations)) {
		plog(SIPPUSH_LOG_WARN, MOD, "database schema %d is newer than "
		     "this program (%d)", ver, (int)ARRAY_SIZE(migrations));
		err = ENOTSUP;
		goto out;
	}

	for (; ver < (int)ARRAY_SIZE(migrations); ver++) {
		char sql[128];

		err = exec_ok(pg, migrations[ver], NULL, 0);
		re_snprintf(sql, sizeof(sql), "INSERT INTO sippush_meta "
			    "VALUES('schema_version', %d) ON CONFLICT(k) DO "
			    "UPDATE SET v=EXCLUDED.v", ver + 1);
		err = err ? err : exec_ok(pg, sql, NULL, 0);
		if (err)
			goto out;
	}
	err = exec_ok(pg, "COMMIT", NULL, 0);

 out:
	if (err)
		(void)exec_ok(pg, "ROLLBACK", NULL, 0);
	return err;
}


/* Connection parameters: the URL or conninfo as given, a connect timeout
 * and an application name unless it names them (later keywords win) */
static PGconn *connect_to(const char *url, const char *appname, bool async)
{
	static const char *const kw[] = {"connect_timeout",
		"application_name", "dbname", NULL};
	const char *const val[] = {"3", appname ? appname : "sippushd", url,
				   NULL};

	return async ? PQconnectStartParams(kw, val, 1) :
		PQconnectdbParams(kw, val, 1);
}


/* A connection's session: settings, the lock, the statements, pipeline
 * mode on the loop. Blocking round trips: at start-up, or just after a
 * reconnection, before anything is sent on it. */
static int session(struct pg *pg, int lock_tries, bool first)
{
	char got[8];
	int err;

	(void)PQsetNoticeProcessor(pg->conn, notice_h, NULL);

	err = exec_ok(pg, pg->sync_normal ? "SET synchronous_commit=local" :
		      "SET synchronous_commit=on", NULL, 0);
	err = err ? err : exec_ok(pg, "SET client_min_messages=warning",
				  NULL, 0);
	if (err)
		return err;

	/* After a network cut our old session may live on, holding the
	 * lock, until the server's keepalive finds it: ended here (the same
	 * role may end its own sessions). Only a process holding an
	 * advisory lock: after a failover the number means nothing. */
	if (pg->old_pid) {
		char sql[160];

		re_snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(pid,"
			    " 1000) FROM pg_locks WHERE locktype='advisory' AND "
			    "granted AND pid=%d", pg->old_pid);
		(void)exec_ok(pg, sql, NULL, 0);
		pg->old_pid = 0;
	}

	/* One sippushd per database unless they share it as a cluster
	 * (their shard leases decide who delivers). The lock of one killed
	 * a moment ago goes when the server sees its connection close: asked
	 * again for a second at start-up. */
	for (int i = 0; !pg->cluster && i < lock_tries; i++) {
		err = exec_ok(pg, "SELECT pg_try_advisory_lock(" LOCK_KEY ")",
			      got, sizeof(got));
		if (!err && strcmp(got, "t"))
			err = EBUSY;
		if (err != EBUSY || i + 1 == lock_tries)
			break;
		(void)usleep(100000);
	}
	if (!err && first)
		err = migrate(pg);
	if (err)
		return err;

	for (int i = 0; i < S_COUNT; i++) {
		char name[16];
		PGresult *r;

		(void)snprintf(name, sizeof(name), "s%d", i);
		r = PQprepare(pg->conn, name, stmt_sql[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s: %s",
			     stmt_sql[i], PQresultErrorMessage(r));
			err = r ? EIO : ECONNRESET;
		}
		PQclear(r);
		if (err)
			return err;
	}

	if (!PQenterPipelineMode(pg->conn) ||
	    PQsetnonblocking(pg->conn, 1))
		return EIO;

	pg->fd = PQsocket(pg->conn);
	pg->want_write = false;
	pg->seg_err = 0;
	return fd_listen(pg->fd, FD_READ, sock_h, pg);
}


static void conn_h(int flags, void *arg);

/* Follow a non-blocking connection's progress (it may move to another
 * host's socket: libre lets go of the old one first) */
static void conn_step(struct pg *pg, PostgresPollingStatusType ps)
{
	int err;

	switch (ps) {

	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
		pg->fd = PQsocket(pg->conn);
		if (pg->fd >= 0 && !fd_listen(pg->fd, ps ==
					      PGRES_POLLING_READING ?
					      FD_READ : FD_WRITE, conn_h, pg))
			return;
		break;

	case PGRES_POLLING_OK:
		err = session(pg, 1, false);
		if (!err) {
			plog(SIPPUSH_LOG_INFO, MOD, "postgresql: connected "
			     "again");
			pg->broken = false;
			pg->backoff_ms = 0;
			return;
		}
		if (pg->fd >= 0)
			fd_close(pg->fd);
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: connected, but no "
		     "session (%m)%s", err, err == EBUSY ? ": the lock is "
		     "held (our old session, or another sippushd)" : "");
		break;

	default:
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s",
		     PQerrorMessage(pg->conn));
		break;
	}

	pg->fd = -1;
	pg->backoff_ms = min(pg->backoff_ms * 2, BACKOFF_MAX_MS);
	tmr_start(&pg->tmr_conn, pg->backoff_ms, reconnect, pg);
}


static void conn_h(int flags, void *arg)
{
	struct pg *pg = arg;
	(void)flags;

	fd_close(pg->fd);
	pg->fd = -1;
	conn_step(pg, PQconnectPoll(pg->conn));
}


static void reconnect(void *arg)
{
	struct pg *pg = arg;

	if (pg->fd >= 0)
		fd_close(pg->fd);
	pg->fd = -1;
	if (pg->conn && PQbackendPID(pg->conn))
		pg->old_pid = PQbackendPID(pg->conn);
	PQfinish(pg->conn);
	pg->conn = connect_to(pg->url, pg->appname, true);
	if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
		pg->backoff_ms = min(pg->backoff_ms * 2, BACKOFF_MAX_MS);
		tmr_start(&pg->tmr_conn, pg->backoff_ms, reconnect, pg);
		return;
	}
	conn_step(pg, PGRES_POLLING_WRITING);
}


static int pg_open(void **bep, const char *url, const struct store_opts *opts)
{
	struct pg *pg;
	int err;

	pg = mem_zalloc(sizeof(*pg), destructor);
	if (!pg)
		return ENOMEM;

	pg->fd = -1;
	tmr_init(&pg->tmr);
	tmr_init(&pg->tmr_conn);
	tmr_init(&pg->tmr_watch);
	pg->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : 5000;
	pg->sync_normal = opts && opts->sync == STORE_SYNC_NORMAL;
	pg->cluster = opts && opts->cluster;
	err = str_dup(&pg->url, url);
	if (!err && opts && opts->name)
		err = str_dup(&pg->appname, opts->name);
	if (err)
		goto out;

	/* start-up: blocking is harmless here */
	pg->conn = connect_to(url, pg->appname, false);
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		plog(SIPPUSH_LOG_WARN, MOD, "postgresql: %s", pg->conn ?
		     PQerrorMessage(pg->conn) : "out of memory");
		err = pg->conn ? ECONNREFUSED : ENOMEM;
		goto out;
	}

	err = session(pg, 10, true);

 out:
	if (err)
		mem_deref(pg);
	else
		*bep = pg;
	return err;
}


/* Another connection got through: this one tries now. A connection
 * being made already is left to finish; the backoff starts again small */
static void pg_retry(void *be)
{
	struct pg *pg = be;

	if (!pg->broken || !tmr_isrunning(&pg->tmr_conn))
		return;
	pg->backoff_ms = 100;
	tmr_start(&pg->tmr_conn, 0, reconnect, pg);
}


const struct store_be store_pg = {
	.name    = "postgresql",
	.open    = pg_open,
	.version = pg_version,
	.begin   = pg_begin,
	.write   = pg_write,
	.commit  = pg_commit,
	.abandon = pg_abandon,
	.wait    = pg_wait,
	.query   = pg_query,
	.purge   = pg_purge,
	.note_id = pg_note_id,
	.retry   = pg_retry,
};
