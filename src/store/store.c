/**
 * @file store.c  What every backend shares: the turn's transaction, the
 *                waiters, the commit timer, the commit histogram, and
 *                records to and from values (no SQL here: backend.h)
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "store/store.h"
#include "store/backend.h"
#include "store/held.h"
#include "core/histo.h"

#include <sippush/log.h>

#define MOD "store"

static const double commit_le[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
				    0.05, 0.1, 0.25, 1};

/* Delivery progress a failed commit could not write (a database away,
 * a turn abandoned): kept, the newest per delivery or push, at most this
 * many, and written first in the next turn that begins */
#define UNSAVED_MAX 65536
#define UNSAVED_RETRY_MS 200
#define UNSAVED_RETRY_MAX_MS 5000

/* At most this many progress records held for their batch (beyond: the
 * batch is written at once) */
#define DEFER_MAX 16384

struct waiter {
	struct le le;
	store_sync_h *h;
	void *arg;
};

/* The waiters of one commit, until its outcome is known */
struct batch {
	struct store *st;
	struct list waiters;
	struct timespec t0;
	struct list prog;        /**< its progress records (struct held)   */
	bool txn;
};

struct store {
	const struct store_be *be;
	void *bed;               /**< the backend's own object             */
	uint32_t lazy_ms;
	bool in_txn;
	bool abandon;            /**< the open turn commits nothing        */
	uint64_t turns;          /**< turns ended (store_turn())           */
	int flush_err;           /**< the outcome store_flush() waited for */
	struct histo commit;     /**< commit latency, seconds              */
	struct list waiters;
	struct tmr tmr_commit;
	struct list prog;        /**< the open turn's progress records     */
	struct held_set unsaved; /**< progress a failed commit left        */
	struct held_set deferred;/**< progress held for its batch          */
	uint32_t defer_ms;       /**< 0: progress written at once          */
	struct tmr tmr_defer;
	uint32_t unsaved_drop;   /**< not kept: over the bound             */
	uint32_t unsaved_ms;     /**< the retry timer's delay              */
	struct tmr tmr_unsaved;
	bool shared;             /**< a cluster's (PostgreSQL, --cluster)  */
	const struct store_fence *fence;   /**< the next fenced writes'   */
};


static void destructor(void *arg)
{
	struct store *st = arg;

	/* the timers after the flush: it may start them again. Every commit
	 * answered before what its handlers use goes (a flush that failed
	 * for memory has not waited) */
	if (st->bed) {
		(void)store_flush(st);
		(void)st->be->wait(st->bed);
	}
	tmr_cancel(&st->tmr_commit);
	tmr_cancel(&st->tmr_unsaved);
	tmr_cancel(&st->tmr_defer);
	if (st->unsaved.n)
		plog(SIPPUSH_LOG_WARN, MOD, "%u delivery progress records "
		     "never written (the store is away): those deliveries "
		     "are repeated, with their identity, after a restart",
		     st->unsaved.n);
	list_flush(&st->waiters);
	hash_flush(st->unsaved.h);
	mem_deref(st->unsaved.h);
	hash_flush(st->deferred.h);
	mem_deref(st->deferred.h);
	list_flush(&st->prog);
	mem_deref(st->bed);
}


static void batch_destructor(void *arg)
{
	struct batch *b = arg;

	list_flush(&b->waiters);
	list_flush(&b->prog);
}


/* "sqlite:PATH" or a plain path; "postgresql://...", "postgres://..." or
 * a libpq conninfo ("host=... dbname=...") */
static const struct store_be *backend_of(const char *url)
{
	if (!strncmp(url, "postgresql://", 13) ||
	    !strncmp(url, "postgres://", 11) ||
	    (strchr(url, '=') && strncmp(url, "sqlite:", 7))) {
#ifdef SIPPUSH_HAVE_PG
		return &store_pg;
#else
		return NULL;
#endif
	}
	return &store_sqlite;
}


const char *store_backend(const char *url)
{
	const struct store_be *be;

	if (!url)
		return NULL;
	be = backend_of(url);
	return be ? be->name : NULL;
}


int store_open(struct store **stp, const char *url,
	       const struct store_opts *opts)
{
	const struct store_be *be;
	struct store *st;
	int err;

	if (!stp || !url)
		return EINVAL;

	be = backend_of(url);
	if (!be) {
		plog(SIPPUSH_LOG_WARN, MOD, "this build has no PostgreSQL "
		     "support (libpq was not found)");
		return ENOTSUP;
	}

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;

	st->be = be;
	tmr_init(&st->tmr_commit);
	tmr_init(&st->tmr_unsaved);
	tmr_init(&st->tmr_defer);
	err = hash_alloc(&st->unsaved.h, 256);
	err = err ? err : hash_alloc(&st->deferred.h, 4096);
	if (err) {
		mem_deref(st);
		return err;
	}
	histo_init(&st->commit, commit_le, ARRAY_SIZE(commit_le));
	st->lazy_ms = opts && opts->lazy_ms ? opts->lazy_ms : 50;
	st->defer_ms = !opts || !opts->progress_ms ? 25 :
		opts->progress_ms == UINT32_MAX ? 0 : opts->progress_ms;

	if (opts && opts->cluster && be == &store_sqlite) {
		plog(SIPPUSH_LOG_WARN, MOD, "a cluster shares a PostgreSQL "
		     "store (--store postgresql://...), not SQLite");
		mem_deref(st);
		return ENOTSUP;
	}
	st->shared = opts && opts->cluster;

	err = be->open(&st->bed, url, opts);
	if (err)
		mem_deref(st);
	else
		*stp = st;

	return err;
}


int store_schema_version(struct store *st, int *ver)
{
	if (!st || !ver)
		return EINVAL;
	return st->be->version(st->bed, ver);
}


/*
 * Delivery progress (a delivery's record, a push's final state) is
 * written by nobody who waits: when its commit fails (the database away,
 * the turn abandoned by a request failing half-way) it is kept here, the
 * newest record per delivery or push, and written at the head of the next
 * turn that begins (so before anything acknowledged in that turn); a
 * timer begins one while records wait. Other writes are not kept: their
 * writers were answered with the failure.
 */
static bool is_progress(enum store_q q)
{
	/* a cluster's are kept with their fence: still checked when written */
	return q == Q_DLV_PUT || q == Q_PUSH_FINAL ||
		q == Q_DLV_PUT_FENCED || q == Q_PUSH_FINAL_FENCED;
}


static int enc_rec(struct mbuf *mb, enum store_q q, const struct sval *v,
		   size_t n)
{
	int err;

	err  = mbuf_write_u8(mb, (uint8_t)q);
	err |= mbuf_write_u8(mb, (uint8_t)n);
	for (size_t i = 0; i < n && !err; i++) {
		err |= mbuf_write_u8(mb, (uint8_t)v[i].t);
		switch (v[i].t) {
		case SV_TEXT: {
			const size_t len = strlen(v[i].s);

			err |= mbuf_write_u32(mb, (uint32_t)len);
			err |= mbuf_write_mem(mb, (const uint8_t *)v[i].s,
					      len + 1);
			break;
		}
		case SV_INT:
			err |= mbuf_write_u64(mb, (uint64_t)v[i].i);
			break;
		case SV_BLOB:
			err |= mbuf_write_u32(mb, (uint32_t)v[i].len);
			err |= mbuf_write_mem(mb, v[i].b, v[i].len);
			break;
		default:
			break;
		}
	}
	return err ? ENOMEM : 0;
}


/* The next record of mb (views into it); false at its end */
/* One record back; false at the end or on a record that does not parse
 * (the encoding travels between nodes too: every length is checked) */
static bool dec_rec(struct mbuf *mb, enum store_q *q, struct sval *v,
		    size_t *n)
{
	size_t cnt;

	if (mbuf_get_left(mb) < 2)
		return false;
	*q = (enum store_q)mbuf_read_u8(mb);
	cnt = mbuf_read_u8(mb);
	if (cnt > 32)
		return false;
	for (size_t i = 0; i < cnt; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		if (mbuf_get_left(mb) < 1)
			return false;
		v[i].t = (enum sval_type)mbuf_read_u8(mb);
		switch (v[i].t) {
		case SV_TEXT:
			if (mbuf_get_left(mb) < 4)
				return false;
			v[i].len = mbuf_read_u32(mb);
			if (mbuf_get_left(mb) < v[i].len + 1 ||
			    mbuf_buf(mb)[v[i].len] != '\0')
				return false;
			v[i].s = (const char *)mbuf_buf(mb);
			mbuf_advance(mb, (ssize_t)v[i].len + 1);
			break;
		case SV_INT:
			if (mbuf_get_left(mb) < 8)
				return false;
			v[i].i = (int64_t)mbuf_read_u64(mb);
			break;
		case SV_BLOB:
			if (mbuf_get_left(mb) < 4)
				return false;
			v[i].len = mbuf_read_u32(mb);
			if (mbuf_get_left(mb) < v[i].len)
				return false;
			v[i].b = mbuf_buf(mb);
			mbuf_advance(mb, (ssize_t)v[i].len);
			break;
		case SV_NULL:
			break;
		default:
			return false;
		}
	}
	*n = cnt;
	return true;
}


static void unsaved_tmr(void *arg);

/* Keep a record a commit could not write (it replaces an older one of
 * the same delivery); h is the store's then */
static void keep(struct store *st, struct held *h)
{
	if (held_put(&st->unsaved, h, UNSAVED_MAX) == ENOSPC) {
		mem_deref(h);
		if (!st->unsaved_drop++)
			plog(SIPPUSH_LOG_WARN, MOD, "%u delivery progress "
			     "records wait for the store already: more are "
			     "not kept (repeated after a restart)",
			     UNSAVED_MAX);
		return;
	}
	if (!tmr_isrunning(&st->tmr_unsaved)) {
		st->unsaved_ms = UNSAVED_RETRY_MS;
		tmr_start(&st->tmr_unsaved, st->unsaved_ms, unsaved_tmr, st);
	}
}


/* A commit's progress records: kept when it failed for the database or
 * the turn (not for a record the database refuses: that would fail
 * every turn after it), and when it committed they are newer than what
 * an earlier failed commit left, which is dropped */
static void progress_done(struct store *st, struct list *prog, int err)
{
	if (err == EIO || err == EINVAL) {
		plog(SIPPUSH_LOG_WARN, MOD, "delivery progress not kept: the "
		     "store refused its turn (%m)", err);
		return;
	}
	if (!err && !st->unsaved.n)
		return;

	while (prog->head) {
		struct held *h = prog->head->data;

		list_unlink(&h->le);
		if (err) {
			keep(st, h);
			continue;
		}
		held_drop(&st->unsaved, h->key);
		mem_deref(h);
	}
}


/* Write what hs holds into the open turn and remember it with the turn:
 * the commit's outcome decides (progress_done). What is held for its
 * batch and cannot be written (no turn open, the database away) is kept
 * as a failed commit's would be. What a failed commit left goes with the
 * turn even if its write failed: the turn's commit fails too, and keeps
 * it, unless the database refused the turn (or committed it without the
 * record, which it refused: it would fail every turn after). hs empties */
static void write_kept(struct store *st, struct held_set *hs)
{
	while (hs->l.head) {
		struct held *h = hs->l.head->data;
		bool written;

		held_take(hs, h);
		written = st->in_txn &&
			!st->be->write(st->bed, h->q, h->v, h->n);
		if (written || (st->in_txn && hs == &st->unsaved))
			list_append(&st->prog, &h->le, h);
		else if (hs != &st->unsaved)
			keep(st, h);
		else
			mem_deref(h);
	}
}


/* A turn begins: the kept records go first in it */
static int turn_begin(struct store *st)
{
	int err;

	err = st->be->begin(st->bed);
	if (err)
		return err;
	st->in_txn = true;

	if (st->unsaved.n)
		plog(SIPPUSH_LOG_INFO, MOD, "writing %u delivery progress "
		     "records kept while the store was away", st->unsaved.n);
	write_kept(st, &st->unsaved);
	st->unsaved_drop = 0;
	return 0;
}


static void schedule(struct store *st);

/* The progress held for its batch goes into the open turn (one is begun;
 * if none can be, it is kept as a failed commit's would be) */
static int progress_flush(struct store *st)
{
	int err = 0;

	tmr_cancel(&st->tmr_defer);
	if (!st->deferred.n)
		return 0;
	if (!st->in_txn)
		err = turn_begin(st);
	write_kept(st, &st->deferred);
	if (!err)
		schedule(st);
	return err;
}

/* Records wait and no turn is open: begin one (the store may be back);
 * while they keep waiting, less often (a full disk fails every commit) */
static void unsaved_tmr(void *arg)
{
	struct store *st = arg;

	if (!st->unsaved.n)
		return;
	if (!st->in_txn && !turn_begin(st))
		schedule(st);
	st->unsaved_ms = min(st->unsaved_ms * 2, UNSAVED_RETRY_MAX_MS);
	tmr_start(&st->tmr_unsaved, st->unsaved_ms, unsaved_tmr, st);
}


static void commit_done(int err, void *arg)
{
	struct batch *b = arg;
	struct timespec t1;

	if (b->txn) {
		(void)clock_gettime(CLOCK_MONOTONIC, &t1);
		histo_add(&b->st->commit, (double)(t1.tv_sec - b->t0.tv_sec) +
			  (double)(t1.tv_nsec - b->t0.tv_nsec) / 1e9);
	}
	if (err == ECANCELED && b->txn)
		plog(SIPPUSH_LOG_WARN, MOD, "a turn abandoned (a request failed "
		     "half-way): nothing of it committed, its requests refused");
	else if (err && b->txn)
		plog(SIPPUSH_LOG_ERROR, MOD, "commit failed (%m): what it held "
		     "is refused (503), nothing acknowledged is lost", err);
	progress_done(b->st, &b->prog, err);

	while (b->waiters.head) {
		struct waiter *w = b->waiters.head->data;

		list_unlink(&w->le);
		w->h(err, w->arg);
		mem_deref(w);
	}
	mem_deref(b);
}


/*
 * End the turn: the waiters of this commit are those queued before it. A
 * handler may write and wait again (its connection's next request): that
 * write is in the next transaction and must wait for its commit.
 */
static int end_turn(struct store *st)
{
	struct batch *b;
	bool abandon;
	int err;

	if (!st->in_txn && !st->waiters.head)
		return 0;

	b = mem_zalloc(sizeof(*b), batch_destructor);
	if (!b)
		return ENOMEM;

	++st->turns;
	b->st = st;
	b->txn = st->in_txn;
	while (st->waiters.head) {
		struct le *le = st->waiters.head;

		list_unlink(le);
		list_append(&b->waiters, le, le->data);
	}

	(void)clock_gettime(CLOCK_MONOTONIC, &b->t0);
	while (st->prog.head) {
		struct le *le = st->prog.head;

		list_unlink(le);
		list_append(&b->prog, le, le->data);
	}
	st->in_txn = false;
	/* cleared first: a handler run from the call may abandon a new turn */
	abandon = st->abandon && b->txn;
	st->abandon = false;
	if (abandon)
		err = st->be->abandon(st->bed, commit_done, b);
	else
		err = st->be->commit(st->bed, b->txn, commit_done, b);
	if (err)
		commit_done(err, b);

	return err;
}


static void flush_h(int err, void *arg)
{
	struct store *st = arg;

	st->flush_err = err;
}


/** Commit the open transaction now, wait for it and tell every waiter */
int store_flush(struct store *st)
{
	struct waiter *w;
	int err;

	if (!st)
		return EINVAL;

	/* our own waiter, last: it tells this commit's outcome */
	w = mem_zalloc(sizeof(*w), NULL);
	if (!w)
		return ENOMEM;
	w->h = flush_h;
	w->arg = st;
	list_append(&st->waiters, &w->le, w);
	st->flush_err = 0;
	(void)progress_flush(st);

	err = end_turn(st);
	err = err ? err : st->be->wait(st->bed);
	return err ? err : st->flush_err;
}


static void commit_tmr(void *arg)
{
	struct store *st = arg;

	(void)end_turn(st);
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


/**
 * Nothing of the open turn will commit: a request failed half-way (a
 * batch whose third push could not be written) and none of it may stay.
 * Every waiter of the turn gets ECANCELED (their requests answer 503 and
 * are tried again): a rare error path, so the turn goes whole rather
 * than each request in a savepoint (docs/design.md, "The store").
 */
int store_abandon(struct store *st)
{
	if (!st)
		return EINVAL;
	if (st->in_txn) {
		st->abandon = true;
		schedule(st);
	}
	return 0;
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


static void defer_tmr(void *arg)
{
	(void)progress_flush(arg);
}


/* Progress held for its batch (the newest of each delivery or push);
 * false: it is written now */
static bool defer_rec(struct store *st, struct held *h)
{
	if (!st->defer_ms || held_put(&st->deferred, h, DEFER_MAX))
		return false;
	if (st->deferred.n >= DEFER_MAX)
		(void)progress_flush(st);
	else if (!tmr_isrunning(&st->tmr_defer))
		tmr_start(&st->tmr_defer, st->defer_ms, defer_tmr, st);
	return true;
}


/* Every write joins the turn's transaction and makes sure it commits;
 * progress is held for its batch, or remembered with the turn that
 * writes it (kept for the next turn if it cannot go in this one) */
static int put(struct store *st, enum store_q q, const struct sval *v,
		 size_t n)
{
	struct held *h = NULL;
	int err = 0;

	/* without memory for a copy it is written at once, not kept */
	if (is_progress(q) && !held_alloc(&h, q, v, n) && defer_rec(st, h))
		return 0;
	if (!st->in_txn)
		err = turn_begin(st);
	if (!err) {
		schedule(st);
		err = st->be->write(st->bed, q, v, n);
	}
	if (!h)
		return err;

	if (err)
		keep(st, h);
	else
		list_append(&st->prog, &h->le, h);
	return err;
}


/* A read sees the progress held for its batch: written first */
static int query(struct store *st, enum store_q q, const struct sval *v,
		 size_t n, store_row_h *rowh, void *arg)
{
	(void)progress_flush(st);
	return st->be->query(st->bed, q, v, n, rowh, arg);
}


/* values in */
#define T(x) {.t = (x) ? SV_TEXT : SV_NULL, .s = (x)}
#define I(x) {.t = SV_INT, .i = (int64_t)(x)}
#define B(p, n) {.t = (p) ? SV_BLOB : SV_NULL, .b = (p), .len = (n)}

/* values out */
static const char *S(const struct sval *c)
{
	return c->t == SV_TEXT ? c->s : NULL;
}

static int64_t N(const struct sval *c)
{
	return c->t == SV_INT ? c->i : 0;
}


int store_user_set(struct store *st, const char *aor, const char *realm,
		   const char *ha1hex)
{
	if (!st || !aor || !realm || !ha1hex)
		return EINVAL;

	const struct sval v[] = {T(aor), T(realm), T(ha1hex)};
	return put(st, Q_USER_SET, v, ARRAY_SIZE(v));
}


struct ha1 {
	char *buf;
	size_t sz;
	bool found;
};

static void ha1_h(const struct sval *col, size_t n, void *arg)
{
	struct ha1 *h = arg;

	if (n < 1 || !S(&col[0]))
		return;
	str_ncpy(h->buf, S(&col[0]), h->sz);
	h->found = true;
}


int store_user_ha1(struct store *st, const char *aor, char *ha1hex,
		   size_t sz)
{
	struct ha1 h = {ha1hex, sz, false};
	int err;

	if (!st || !aor || !ha1hex || !sz)
		return EINVAL;

	const struct sval v[] = {T(aor)};
	err = query(st, Q_USER_GET, v, 1, ha1_h, &h);
	return err ? err : h.found ? 0 : ENOENT;
}


int store_term_put(struct store *st, const struct term_rec *t)
{
	if (!st || !t || !t->aor || !t->tkey || !t->contact || !t->source)
		return EINVAL;

	const struct sval v[] = {
		T(t->aor), T(t->tkey), T(t->instance), T(t->contact),
		T(t->pub_gruu), T(t->temp_gruu), T(t->apps), T(t->methods),
		T(t->path), T(t->source), I(t->expires_at), I(t->push),
		T(t->charging),
	};
	return put(st, Q_TERM_PUT, v, ARRAY_SIZE(v));
}


int store_term_del(struct store *st, const char *aor, const char *tkey)
{
	if (!st || !aor || !tkey)
		return EINVAL;

	const struct sval v[] = {T(aor), T(tkey)};
	return put(st, Q_TERM_DEL, v, ARRAY_SIZE(v));
}


struct rows {
	store_push_want_h *want;
	void *h;
	store_dlv_h *dh;
	void *arg;
	struct store *st;
	bool found;
	int err;
};

static void term_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 13)
		return;
	const struct term_rec t = {
		.aor = S(&c[0]), .tkey = S(&c[1]), .instance = S(&c[2]),
		.contact = S(&c[3]), .pub_gruu = S(&c[4]),
		.temp_gruu = S(&c[5]), .apps = S(&c[6]), .methods = S(&c[7]),
		.path = S(&c[8]), .source = S(&c[9]),
		.expires_at = N(&c[10]), .push = N(&c[11]) != 0,
		.charging = S(&c[12]),
	};
	((store_term_h *)r->h)(&t, r->arg);
}


/* The rows of a read by one text key, each to h through rowh */
static int rows_of(struct store *st, enum store_q q, const char *key,
		   store_row_h *rowh, void *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !key || !h)
		return EINVAL;

	const struct sval v[] = {T(key)};
	return query(st, q, v, 1, rowh, &r);
}


/** One user's terminals (a cluster node's copy after another changed
 *  them) */
int store_term_of(struct store *st, const char *aor, store_term_h *h,
		  void *arg)
{
	return rows_of(st, Q_TERM_OF, aor, term_row, h, arg);
}


/** Tell the cluster's other nodes, when the turn commits (PostgreSQL's
 *  NOTIFY is transactional): ENOTSUP unless the store is shared */
int store_notify(struct store *st, const char *msg)
{
	if (!st || !msg)
		return EINVAL;
	if (!st->shared)
		return ENOTSUP;

	const struct sval v[] = {T(msg)};
	return put(st, Q_NOTIFY, v, 1);
}


/** The fence of the delivery writes that follow (NULL: none), until
 *  changed: ENOTSUP unless the store is shared */
int store_fence(struct store *st, const struct store_fence *f)
{
	if (!st)
		return EINVAL;
	if (f && !st->shared)
		return ENOTSUP;
	st->fence = f;
	return 0;
}


/** Shared by a cluster of sippushd (--cluster) */
bool store_shared(const struct store *st)
{
	return st && st->shared;
}


int store_term_load(struct store *st, store_term_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !h)
		return EINVAL;
	return query(st, Q_TERM_LOAD, NULL, 0, term_row, &r);
}


/* A push's values in a row's order (PUSH_COLS); final_ms at FINAL_AT */
enum { PUSH_NVALS = 25, FINAL_AT = 16 };

static void push_vals(struct sval *v, const struct push_rec *p)
{
	const struct sval w[PUSH_NVALS] = {
		T(p->id), I(p->seq), T(p->aor), T(p->app), T(p->ctype),
		B(p->body, p->body_len), T(p->url), T(p->method),
		T(p->target), T(p->topic), T(p->token), T(p->state),
		I(p->priority), I(p->ttl), I(p->created_ms),
		I(p->expires_ms), I(p->final_ms), T(p->filename),
		T(p->disposition), I(p->not_before_ms), T(p->identity),
		I(p->unasserted), I(p->relay), T(p->owner), T(p->privacy),
	};

	memcpy(v, w, sizeof(w));
}


int store_push_add(struct store *st, const struct push_rec *p)
{
	struct sval v[PUSH_NVALS];

	if (!st || !p || !p->id || !p->aor || !p->app || !p->ctype ||
	    !p->method || !p->state)
		return EINVAL;

	/* Q_PUSH_ADD writes final_ms (0) itself */
	push_vals(v, p);
	memmove(&v[FINAL_AT], &v[FINAL_AT + 1],
		(PUSH_NVALS - FINAL_AT - 1) * sizeof(*v));
	return put(st, Q_PUSH_ADD, v, PUSH_NVALS - 1);
}


int store_push_final(struct store *st, const char *id, const char *state,
		     int64_t final_ms)
{
	if (!st || !id || !state)
		return EINVAL;

	const struct store_fence *f = st->fence;
	const struct sval v[] = {
		T(state), I(final_ms), T(id),
		T(f ? f->node : NULL), I(f ? f->shard : 0),
		I(f ? f->epoch : 0),
	};
	return f ? put(st, Q_PUSH_FINAL_FENCED, v, ARRAY_SIZE(v)) :
		put(st, Q_PUSH_FINAL, v, 3);
}


int store_dlv_put(struct store *st, const struct dlv_rec *d)
{
	if (!st || !d || !d->push_id || !d->tkey || !d->ruri || !d->method ||
	    !d->state || !d->call_id)
		return EINVAL;

	const struct store_fence *f = st->fence;

	const struct sval v[] = {
		T(d->push_id), T(d->tkey), T(d->terminal), T(d->ruri),
		T(d->route), T(d->method), T(d->state), T(d->last_error),
		T(d->call_id), I(d->sip_status), I(d->pap_code),
		I(d->attempts), I(d->cseq), I(d->indirect), T(d->steps),
		T(f ? f->node : NULL), I(f ? f->shard : 0),
		I(f ? f->epoch : 0),
	};
	return f ? put(st, Q_DLV_PUT_FENCED, v, ARRAY_SIZE(v)) :
		put(st, Q_DLV_PUT, v, 15);
}


static void dlv_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 15)
		return;
	const struct dlv_rec d = {
		.push_id = S(&c[0]), .tkey = S(&c[1]), .terminal = S(&c[2]),
		.ruri = S(&c[3]), .route = S(&c[4]), .method = S(&c[5]),
		.state = S(&c[6]), .last_error = S(&c[7]),
		.call_id = S(&c[8]), .sip_status = (uint16_t)N(&c[9]),
		.pap_code = (uint16_t)N(&c[10]),
		.attempts = (uint32_t)N(&c[11]), .cseq = (uint32_t)N(&c[12]),
		.indirect = N(&c[13]) != 0, .steps = S(&c[14]),
	};
	r->dh(&d, r->arg);
}


/* each push's deliveries after it */
static void push_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 25 || r->err)
		return;
	const struct push_rec p = {
		.id = S(&c[0]), .seq = (uint64_t)N(&c[1]), .aor = S(&c[2]),
		.app = S(&c[3]), .ctype = S(&c[4]),
		.body = c[5].t == SV_BLOB ? c[5].b : NULL,
		.body_len = c[5].t == SV_BLOB ? c[5].len : 0,
		.url = S(&c[6]), .method = S(&c[7]), .target = S(&c[8]),
		.topic = S(&c[9]), .token = S(&c[10]), .state = S(&c[11]),
		.priority = (int)N(&c[12]), .ttl = (uint32_t)N(&c[13]),
		.created_ms = N(&c[14]), .expires_ms = N(&c[15]),
		.final_ms = N(&c[16]), .filename = S(&c[17]),
		.disposition = S(&c[18]), .not_before_ms = N(&c[19]),
		.identity = S(&c[20]), .unasserted = N(&c[21]) != 0,
		.relay = (int)N(&c[22]), .owner = S(&c[23]),
		.privacy = S(&c[24]),
	};

	/* a row its reader does not want: not read on (its deliveries) */
	if (r->want && !r->want(&p, r->arg))
		return;
	r->found = true;
	((store_push_h *)r->h)(&p, r->arg);
	if (r->dh) {
		const struct sval v[] = {T(p.id)};

		r->err = query(r->st, Q_DLV_BY_PUSH, v, 1,
					  dlv_row, r);
	}
}


/**
 * A push as one line of text, base64 of its values in its columns'
 * order: a cluster's announcement carries it, so that the owner need not
 * read it back. EOVERFLOW when the text would pass max bytes.
 */
int store_push_encode(char **txtp, const struct push_rec *p, size_t max)
{
	struct sval v[PUSH_NVALS];
	struct mbuf *mb;
	char *txt = NULL;
	size_t len;
	int err;

	if (!txtp || !p || !p->id)
		return EINVAL;

	push_vals(v, p);
	mb = mbuf_alloc(256 + p->body_len);
	if (!mb)
		return ENOMEM;
	err = enc_rec(mb, Q_PUSH_ADD, v, ARRAY_SIZE(v));
	len = mb->end * 4 / 3 + 5;
	if (!err && len > max)
		err = EOVERFLOW;
	if (!err) {
		txt = mem_zalloc(len + 1, NULL);
		err = txt ? base64_encode(mb->buf, mb->end, txt, &len) : ENOMEM;
	}
	mem_deref(mb);
	if (err) {
		mem_deref(txt);
		return err;
	}
	txt[len] = '\0';
	*txtp = txt;
	return 0;
}


/** The push a store_push_encode() text holds, to ph (EBADMSG: none) */
int store_push_decode(const char *txt, store_push_h *ph, void *arg)
{
	struct rows r = {.h = ph, .arg = arg};
	struct sval v[32];
	enum store_q q;
	struct mbuf *mb;
	size_t len, n = 0;
	int err;

	if (!txt || !ph)
		return EINVAL;

	len = strlen(txt);
	mb = mbuf_alloc(len);
	if (!mb)
		return ENOMEM;
	err = base64_decode(txt, len, mb->buf, &len);
	if (!err) {
		mb->end = len;
		mb->pos = 0;
		if (!dec_rec(mb, &q, v, &n) || q != Q_PUSH_ADD ||
		    n != PUSH_NVALS)
			err = EBADMSG;
	}
	if (!err)
		push_row(v, n, &r);
	mem_deref(mb);
	return err ? err : r.found ? 0 : EBADMSG;
}


static int push_rows(struct store *st, enum store_q q, const struct sval *v,
		     size_t n, store_push_h *ph, store_dlv_h *dh, void *arg,
		     bool *found)
{
	struct rows r = {.h = ph, .dh = dh, .arg = arg, .st = st};
	int err;

	err = query(st, q, v, n, push_row, &r);
	if (found)
		*found = r.found;
	return err ? err : r.err;
}


int store_push_load_pending(struct store *st, store_push_h *ph,
			    store_dlv_h *dh, void *arg)
{
	return store_push_load_pending_if(st, NULL, ph, dh, arg);
}


/** The pending pushes want says yes to (NULL: all), with their deliveries
 *  (a cluster's node reads only its shards' deliveries) */
int store_push_load_pending_if(struct store *st, store_push_want_h *want,
			       store_push_h *ph, store_dlv_h *dh, void *arg)
{
	struct rows r = {.want = want, .h = ph, .dh = dh, .arg = arg,
			 .st = st};
	int err;

	if (!st || !ph)
		return EINVAL;

	err = query(st, Q_PUSH_PENDING, NULL, 0, push_row, &r);
	return err ? err : r.err;
}


/* One push by a unique key (id or token); ENOENT when there is none */
static int push_by(struct store *st, enum store_q q, const char *key,
		   store_push_h *ph, store_dlv_h *dh, void *arg)
{
	bool found = false;
	int err;

	if (!st || !key || !ph)
		return EINVAL;

	const struct sval v[] = {T(key)};
	err = push_rows(st, q, v, 1, ph, dh, arg, &found);
	return err ? err : found ? 0 : ENOENT;
}


int store_push_get(struct store *st, const char *id, store_push_h *ph,
		   store_dlv_h *dh, void *arg)
{
	return push_by(st, Q_PUSH_GET, id, ph, dh, arg);
}


/** The newest pushes (for the status page), newest first; only owner's
 *  unless it is NULL */
int store_push_recent(struct store *st, uint32_t limit, const char *owner,
		      store_push_h *ph, store_dlv_h *dh, void *arg)
{
	if (!st || !ph)
		return EINVAL;

	const struct sval v[] = {T(owner), I(limit)};
	return push_rows(st, Q_PUSH_RECENT, v, 2, ph, dh, arg, NULL);
}


int store_push_content(struct store *st, const char *token,
		       store_push_h *ph, void *arg)
{
	return push_by(st, Q_PUSH_TOKEN, token, ph, NULL, arg);
}


static void int_h(const struct sval *c, size_t n, void *arg)
{
	if (n)
		*(int64_t *)arg = N(&c[0]);
}


uint64_t store_max_seq(struct store *st)
{
	int64_t v = 0;

	if (!st || query(st, Q_MAX_SEQ, NULL, 0, int_h, &v))
		return 0;
	return (uint64_t)v;
}


/** Remove final pushes (and their deliveries) that ended before a time */
int store_purge(struct store *st, int64_t before_ms, uint32_t *npurged)
{
	int err;

	if (!st)
		return EINVAL;

	(void)progress_flush(st);
	if (!st->in_txn) {
		err = turn_begin(st);
		if (err)
			return err;
	}
	schedule(st);
	return st->be->purge(st->bed, before_ms, npurged);
}


int store_sub_put(struct store *st, const struct sub_rec *r)
{
	if (!st || !r || !r->call_id || !r->aor || !r->tkey || !r->app ||
	    !r->ltag || !r->rtag || !r->local || !r->remote || !r->target)
		return EINVAL;

	const struct sval v[] = {
		T(r->call_id), T(r->aor), T(r->tkey), T(r->app), T(r->ltag),
		T(r->rtag), T(r->local), T(r->remote), T(r->target),
		T(r->route), T(r->accept), T(r->methods), I(r->lseq),
		I(r->rseq), I(r->expires_at),
	};
	return put(st, Q_SUB_PUT, v, ARRAY_SIZE(v));
}


int store_sub_del(struct store *st, const char *call_id)
{
	if (!st || !call_id)
		return EINVAL;

	const struct sval v[] = {T(call_id)};
	return put(st, Q_SUB_DEL, v, 1);
}


static void sub_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 15)
		return;
	const struct sub_rec s = {
		.call_id = S(&c[0]), .aor = S(&c[1]), .tkey = S(&c[2]),
		.app = S(&c[3]), .ltag = S(&c[4]), .rtag = S(&c[5]),
		.local = S(&c[6]), .remote = S(&c[7]), .target = S(&c[8]),
		.route = S(&c[9]), .accept = S(&c[10]), .methods = S(&c[11]),
		.lseq = (uint32_t)N(&c[12]), .rseq = (uint32_t)N(&c[13]),
		.expires_at = N(&c[14]),
	};
	((store_sub_h *)r->h)(&s, r->arg);
}


static void sub_found_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	r->found = true;
	sub_row(c, n, arg);
}


int store_sub_load(struct store *st, store_sub_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !h)
		return EINVAL;
	return query(st, Q_SUB_LOAD, NULL, 0, sub_row, &r);
}


/** One user's subscriptions (a cluster node's, after another changed
 *  them) */
int store_sub_of(struct store *st, const char *aor, store_sub_h *h,
		 void *arg)
{
	return rows_of(st, Q_SUB_OF, aor, sub_row, h, arg);
}


/** One subscription by its Call-ID (an in-dialog SUBSCRIBE at a cluster
 *  node that does not have it); ENOENT when there is none */
int store_sub_get(struct store *st, const char *call_id, store_sub_h *h,
		  void *arg)
{
	struct rows r = {.h = h, .arg = arg};
	int err;

	if (!st || !call_id || !h)
		return EINVAL;

	const struct sval v[] = {T(call_id)};
	r.st = st;
	err = query(st, Q_SUB_GET, v, 1, sub_found_row, &r);
	return err ? err : r.found ? 0 : ENOENT;
}


int store_caps_put(struct store *st, const struct caps_rec *r)
{
	if (!st || !r || !r->aor || !r->tkey)
		return EINVAL;

	const struct sval v[] = {
		T(r->aor), T(r->tkey), T(r->vendor), T(r->model),
		T(r->version), T(r->dev_cap), T(r->push_accept),
		T(r->push_appids), I(r->push_msgsize), I(r->updated_at),
	};
	return put(st, Q_CAPS_PUT, v, ARRAY_SIZE(v));
}


static void caps_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 10)
		return;
	const struct caps_rec k = {
		.aor = S(&c[0]), .tkey = S(&c[1]), .vendor = S(&c[2]),
		.model = S(&c[3]), .version = S(&c[4]), .dev_cap = S(&c[5]),
		.push_accept = S(&c[6]), .push_appids = S(&c[7]),
		.push_msgsize = (uint32_t)N(&c[8]), .updated_at = N(&c[9]),
	};
	((store_caps_h *)r->h)(&k, r->arg);
}


int store_caps_load(struct store *st, store_caps_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !h)
		return EINVAL;
	return query(st, Q_CAPS_LOAD, NULL, 0, caps_row, &r);
}


int store_file_add(struct store *st, const struct file_rec *f)
{
	if (!st || !f || !f->push_id || !f->path || !f->ctype)
		return EINVAL;

	const struct sval v[] = {
		T(f->push_id), I(f->idx), T(f->path), T(f->filename),
		T(f->ctype), T(f->disposition), I(f->size), B(f->sha1, 20),
	};
	return put(st, Q_FILE_ADD, v, ARRAY_SIZE(v));
}


static void file_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 8)
		return;
	const struct file_rec f = {
		.push_id = S(&c[0]), .idx = (uint32_t)N(&c[1]),
		.path = S(&c[2]), .filename = S(&c[3]), .ctype = S(&c[4]),
		.disposition = S(&c[5]), .size = (uint64_t)N(&c[6]),
		.sha1 = c[7].t == SV_BLOB && c[7].len == 20 ? c[7].b : NULL,
	};
	((store_file_h *)r->h)(&f, r->arg);
}


int store_files_of(struct store *st, const char *push_id, store_file_h *h,
		   void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !push_id || !h)
		return EINVAL;

	const struct sval v[] = {T(push_id)};
	return query(st, Q_FILES_OF, v, 1, file_row, &r);
}


/** The files of every final push (the caller removes them from disk) */
int store_files_final(struct store *st, store_file_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !h)
		return EINVAL;
	return query(st, Q_FILES_FINAL, NULL, 0, file_row, &r);
}


int store_pap_add(struct store *st, const struct pap_rec *r)
{
	if (!st || !r || !r->pap_id || !r->addr || !r->push_id)
		return EINVAL;

	const struct sval v[] = {
		T(r->pap_id), T(r->addr), T(r->push_id), T(r->notify_to),
		I(r->created_ms),
	};
	return put(st, Q_PAP_ADD, v, ARRAY_SIZE(v));
}


static void pap_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 5)
		return;
	const struct pap_rec p = {
		.pap_id = S(&c[0]), .addr = S(&c[1]), .push_id = S(&c[2]),
		.notify_to = S(&c[3]), .created_ms = N(&c[4]),
	};
	r->found = true;
	if (r->h)
		((store_pap_h *)r->h)(&p, r->arg);
}


/** The pushes of a PAP push-id; ENOENT when it has none */
int store_pap_get(struct store *st, const char *pap_id, store_pap_h *h,
		  void *arg)
{
	struct rows r = {.h = h, .arg = arg};
	int err;

	if (!st || !pap_id)
		return EINVAL;

	const struct sval v[] = {T(pap_id)};
	err = query(st, Q_PAP_GET, v, 1, pap_row, &r);
	return err ? err : r.found ? 0 : ENOENT;
}


int store_pap_by_push(struct store *st, const char *push_id, store_pap_h *h,
		      void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !push_id || !h)
		return EINVAL;

	const struct sval v[] = {T(push_id)};
	return query(st, Q_PAP_BY_PUSH, v, 1, pap_row, &r);
}


int store_note_add(struct store *st, const char *url, const char *body,
		   int64_t next_ms, int64_t *id)
{
	int64_t nid = 0;
	int err;

	if (!st || !url || !body || !id)
		return EINVAL;

	err = st->be->note_id(st->bed, &nid);
	if (err)
		return err;

	const struct sval v[] = {I(nid), T(url), T(body), I(next_ms)};
	err = put(st, Q_NOTE_ADD, v, ARRAY_SIZE(v));
	if (!err)
		*id = nid;
	return err;
}


int store_note_del(struct store *st, int64_t id)
{
	if (!st)
		return EINVAL;

	const struct sval v[] = {I(id)};
	return put(st, Q_NOTE_DEL, v, 1);
}


int store_note_update(struct store *st, int64_t id, uint32_t attempts,
		      int64_t next_ms)
{
	if (!st)
		return EINVAL;

	const struct sval v[] = {I(attempts), I(next_ms), I(id)};
	return put(st, Q_NOTE_UPD, v, ARRAY_SIZE(v));
}


static void note_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 5)
		return;
	((store_note_h *)r->h)(N(&c[0]), S(&c[1]), S(&c[2]),
			       (uint32_t)N(&c[3]), N(&c[4]), r->arg);
}


int store_note_load(struct store *st, store_note_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};

	if (!st || !h)
		return EINVAL;
	return query(st, Q_NOTE_LOAD, NULL, 0, note_row, &r);
}


/** Keep the answer to a request with an Idempotency-Key (in the turn
 *  that holds what it answers for); a key taken already: EEXIST */
int store_idem_put(struct store *st, const struct idem_rec *r)
{
	if (!st || !r || !r->owner || !r->key || !r->answer)
		return EINVAL;

	const struct sval v[] = {
		T(r->owner), T(r->key), I(r->status), T(r->answer),
		I(r->created_ms),
	};
	return put(st, Q_IDEM_PUT, v, ARRAY_SIZE(v));
}


static void idem_row(const struct sval *c, size_t n, void *arg)
{
	struct rows *r = arg;

	if (n < 5)
		return;
	const struct idem_rec k = {
		.owner = S(&c[0]), .key = S(&c[1]),
		.status = (uint16_t)N(&c[2]), .answer = S(&c[3]),
		.created_ms = N(&c[4]),
	};
	r->found = true;
	if (r->h)
		((store_idem_h *)r->h)(&k, r->arg);
}


/** The answer kept for an owner's key; ENOENT when there is none */
int store_idem_get(struct store *st, const char *owner, const char *key,
		   store_idem_h *h, void *arg)
{
	struct rows r = {.h = h, .arg = arg};
	int err;

	if (!st || !owner || !key)
		return EINVAL;

	const struct sval v[] = {T(owner), T(key)};
	err = query(st, Q_IDEM_GET, v, 2, idem_row, &r);
	return err ? err : r.found ? 0 : ENOENT;
}


/** Give back memory the backend keeps as a cache (a backlog drained) */
void store_release(struct store *st)
{
	if (st && st->be->release)
		st->be->release(st->bed);
}


/** The database answers again: a lost connection is tried at once */
void store_retry(struct store *st)
{
	if (st && st->be->retry)
		st->be->retry(st->bed);
}


/** Commit latencies so far (for /metrics) */
/** The turn a write or store_sync() joins now: it changes when the turn
 *  ends (its waiters then answer for that turn's commit alone) */
uint64_t store_turn(const struct store *st)
{
	return st ? st->turns : 0;
}


const struct histo *store_commit_histo(const struct store *st)
{
	return st ? &st->commit : NULL;
}
