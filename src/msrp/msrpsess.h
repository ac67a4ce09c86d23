/**
 * @file msrpsess.h  MSRP sessions over libre TCP (RFC 4975 §5, §7)
 *
 * The active side (the offerer, sippushd) connects to the peer's path and
 * sends at once; the passive side (the terminal) listens and binds each
 * new connection to a session by the To-Path of its first request (481
 * for an unknown session, 506 when it is bound to another connection).
 * Outgoing messages are streamed from memory or a file in chunks, pulled
 * by the socket (one chunk in flight in the kernel at a time), so a 1 GiB
 * file costs one chunk of memory. Incoming chunks go to the application
 * as they arrive, at their byte offset, in any order.
 *
 * msrps (TLS): a listener with a certificate serves TLS, its sessions'
 * paths say msrps; the active side checks the peer certificate against
 * the SHA-256 fingerprint the SDP gave (RFC 4572), since libre accepts
 * any certificate (docs/design.md, libre 1.1.0).
 */

struct msrp_listener;
struct msrp_sess;
struct msrp_hdrs;
struct tls;

/** A new incoming message: return 0 and set *ctxp, or a status (413...) */
typedef int  (msrp_begin_h)(void **ctxp, const struct msrp_hdrs *h,
			    uint64_t total, void *arg);
/** Body bytes of it at offset (0-based) */
typedef int  (msrp_chunk_h)(void *ctx, uint64_t off, const uint8_t *p,
			    size_t n, void *arg);
/** It is complete (err 0) or failed/aborted; ctx is the app's to free.
 *  When complete, return 0 once the application has it, or an MSRP
 *  status (500: it could not take it) for a failure REPORT */
typedef int  (msrp_done_h)(void *ctx, int err, void *arg);
/** The session's connection failed or closed */
typedef void (msrp_close_h)(int err, void *arg);
/** An outgoing message's fate: err 0 when its REPORT/200 said so */
typedef void (msrp_sent_h)(int err, uint16_t scode, void *arg);

struct msrp_sess_conf {
	uint64_t max_size;        /**< largest incoming message (413)     */
	uint64_t max_chunk;       /**< largest incoming chunk body        */
	size_t chunk;             /**< outgoing chunk size (64 KiB)       */
	uint32_t timeout_ms;      /**< response timer (30 s)              */
	msrp_begin_h *beginh;
	msrp_chunk_h *chunkh;
	msrp_done_h *doneh;
	msrp_close_h *closeh;
	void *arg;
	struct tls *tls;          /**< active side: msrps client context  */
};

/** One outgoing message: from memory (data) or from a file (fd) */
struct msrp_out_spec {
	const uint8_t *data;      /**< kept by the caller until sent_h    */
	int fd;                   /**< used when data is NULL (pread)     */
	uint64_t size;
	const char *ctype;
	const char *cdisp;        /**< Content-Disposition, or NULL       */
	const char *cdesc;        /**< Content-Description, or NULL       */
	bool success_report;      /**< ask for a REPORT                   */
};

int msrp_listener_alloc(struct msrp_listener **lp, const struct sa *laddr,
			struct tls *tls);
int msrp_listener_laddr(const struct msrp_listener *l, struct sa *laddr);

int msrp_sess_alloc(struct msrp_sess **sp, struct msrp_listener *l,
		    const struct sa *laddr, const struct msrp_sess_conf *c);
const char *msrp_sess_path(const struct msrp_sess *s);
int msrp_sess_connect(struct msrp_sess *s, const char *remote_path);
int msrp_sess_send(struct msrp_sess *s, const struct msrp_out_spec *o,
		   msrp_sent_h *h, void *arg);
bool msrp_sess_bound(const struct msrp_sess *s);
struct msrp_sess *msrp_sess_detach(struct msrp_sess *s);
void msrp_sess_expect_fp(struct msrp_sess *s, const uint8_t fp[32]);
int msrp_path_addr(struct sa *sa, struct pl *id, const struct pl *path);
