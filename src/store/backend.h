/**
 * @file backend.h  What a store backend provides (src/store/ only)
 *
 * store.c keeps what every backend shares (the turn's transaction, the
 * waiters, the commit timer, the histogram, records to and from values);
 * a backend runs the statements, each by its number, with values in and
 * rows out. Modelled on Kamailio's db_func_t: one table per backend,
 * chosen by the store's URL.
 */

/* The statements every backend provides. Parameters and result columns
 * are in the order store.c gives and reads them (see there). */
enum store_q {
	Q_USER_SET, Q_USER_GET,
	Q_TERM_PUT, Q_TERM_DEL, Q_TERM_LOAD,
	Q_PUSH_ADD, Q_PUSH_FINAL, Q_PUSH_PENDING, Q_PUSH_GET, Q_PUSH_RECENT,
	Q_PUSH_TOKEN, Q_DLV_BY_PUSH, Q_DLV_PUT, Q_MAX_SEQ,
	Q_SUB_PUT, Q_SUB_DEL, Q_SUB_LOAD,
	Q_CAPS_PUT, Q_CAPS_LOAD,
	Q_FILE_ADD, Q_FILES_OF, Q_FILES_FINAL,
	Q_PAP_ADD, Q_PAP_GET, Q_PAP_BY_PUSH,
	Q_NOTE_ADD, Q_NOTE_DEL, Q_NOTE_UPD, Q_NOTE_LOAD,
	Q_IDEM_PUT, Q_IDEM_GET,
	Q_TERM_OF,               /* one user's terminals                    */
	Q_NOTIFY,                /* tell the other nodes (PostgreSQL only)  */
	Q_DLV_PUT_FENCED,        /* Q_DLV_PUT + node, shard, epoch: dropped
				    unless the node holds the shard's lease
				    of that epoch (PostgreSQL only)         */
	Q_PUSH_FINAL_FENCED,     /* Q_PUSH_FINAL + node, shard, epoch       */
	Q_SUB_OF,                /* one user's subscriptions                */
	Q_SUB_GET,               /* one subscription by its Call-ID         */
	Q_COUNT
};

/* A delivery written again is updated where it is: its row keeps its
 * place (and its creation order), its key's index entry is left alone */
#define DLV_UPSERT " ON CONFLICT(push_id,tkey) DO UPDATE SET " \
	"terminal=EXCLUDED.terminal,ruri=EXCLUDED.ruri,route=EXCLUDED.route,"\
	"method=EXCLUDED.method,state=EXCLUDED.state," \
	"last_error=EXCLUDED.last_error,call_id=EXCLUDED.call_id," \
	"sip_status=EXCLUDED.sip_status,pap_code=EXCLUDED.pap_code," \
	"attempts=EXCLUDED.attempts,cseq=EXCLUDED.cseq," \
	"indirect=EXCLUDED.indirect,steps=EXCLUDED.steps"

enum sval_type { SV_NULL = 0, SV_TEXT, SV_INT, SV_BLOB };

/** A value in or out: a view, valid only during the call */
struct sval {
	enum sval_type t;
	const char *s;           /**< SV_TEXT                             */
	int64_t i;               /**< SV_INT                              */
	const uint8_t *b;        /**< SV_BLOB                             */
	size_t len;              /**< SV_BLOB; SV_TEXT's if known, else 0 */
};

typedef void (store_row_h)(const struct sval *col, size_t ncol, void *arg);
typedef void (store_done_h)(int err, void *arg);

struct store_be {
	const char *name;
	/** Open (and migrate) what url names; *bep is a mem object */
	int  (*open)(void **bep, const char *url,
		     const struct store_opts *opts);
	int  (*version)(void *be, int *ver);
	/** Begin the turn's transaction */
	int  (*begin)(void *be);
	/** A write into the open transaction; its error may come only with
	 *  the commit (PostgreSQL pipelines it) */
	int  (*write)(void *be, enum store_q q, const struct sval *v,
		      size_t n);
	/** End the turn: commit the open transaction (txn) or only pass
	 *  what was sent before; h gets the outcome, maybe at once */
	int  (*commit)(void *be, bool txn, store_done_h *h, void *arg);
	/** End the turn without committing anything of it; h gets
	 *  ECANCELED, maybe at once */
	int  (*abandon)(void *be, store_done_h *h, void *arg);
	/** Block until every commit sent has had its handler */
	int  (*wait)(void *be);
	/** Rows of a read, each to h; sees the open transaction */
	int  (*query)(void *be, enum store_q q, const struct sval *v,
		      size_t n, store_row_h *h, void *arg);
	/** Remove final pushes (deliveries, files, PAP rows) and
	 *  idempotency keys from before a time */
	int  (*purge)(void *be, int64_t before_ms, uint32_t *n);
	/** An id for a new PAP notification row, unique among processes */
	int  (*note_id)(void *be, int64_t *id);
	/** Give back what is cached in memory (a backlog has drained);
	 *  NULL: nothing to give */
	void (*release)(void *be);
	/** The database answers again (another connection of this process
	 *  says so): a lost connection is tried now, not at the end of its
	 *  backoff; NULL: nothing to try */
	void (*retry)(void *be);
};

extern const struct store_be store_sqlite;
#ifdef SIPPUSH_HAVE_PG
extern const struct store_be store_pg;
#endif
