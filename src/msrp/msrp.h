/**
 * @file msrp.h  MSRP (RFC 4975) framing: an incremental parser, a serializer,
 *               byte-range reassembly and the report rules. No sockets.
 *
 * The parser takes the TCP byte stream in any split. Headers of one
 * message are bounded (MSRP_HDR_MAX), so is the body of one chunk
 * (max_chunk); body bytes are handed over as they come, never buffered
 * whole, so a 1 GiB message costs no more memory than a 1 KiB one. The
 * end-line "-------<tid>[$+#]" is found wherever it is split; the CRLF
 * before it is not body (docs/protocol.md, "Session mode").
 */

enum {
	MSRP_HDR_MAX = 8192,      /**< start line + headers of one message  */
	MSRP_TID_MIN = 4,
	MSRP_TID_MAX = 32,
	MSRP_SMALL_CHUNK = 2048,  /**< larger chunks are sent interruptible */
};

/** Byte-Range: start-end/total; end or total may be "*" */
struct msrp_range {
	uint64_t start;
	uint64_t end;             /**< valid unless end_star               */
	uint64_t total;           /**< valid unless total_star             */
	bool end_star;
	bool total_star;
};

/** One message's start line and headers, as views into the parser */
struct msrp_hdrs {
	bool req;
	struct pl tid;
	struct pl method;         /**< SEND, REPORT, ... (requests)        */
	uint16_t scode;           /**< responses                           */
	struct pl reason;
	struct pl to_path;
	struct pl from_path;
	struct pl message_id;
	struct pl success_report; /**< empty: absent (= no)                */
	struct pl failure_report; /**< empty: absent (= yes)               */
	struct pl status;         /**< REPORT: "000 200 OK"                */
	struct pl ctype;          /**< empty: no body                      */
	struct pl cdisp;          /**< Content-Disposition                 */
	struct pl cid;            /**< Content-ID                          */
	struct msrp_range range;
	bool has_range;
};

struct msrp_parser;

/** Headers complete; a non-zero return stops the parser with it */
typedef int (msrp_hdrs_h)(const struct msrp_hdrs *h, void *arg);
/** Body bytes of the current message, in order */
typedef int (msrp_data_h)(const uint8_t *p, size_t n, void *arg);
/** The end-line: flag is '$' (complete), '+' (more chunks), '#' (aborted);
 *  len is the number of body bytes this chunk carried */
typedef int (msrp_end_h)(const struct msrp_hdrs *h, char flag, uint64_t len,
			 void *arg);

int msrp_parser_alloc(struct msrp_parser **pp, uint64_t max_chunk,
		      msrp_hdrs_h *hh, msrp_data_h *dh, msrp_end_h *eh,
		      void *arg);
int msrp_parser_feed(struct msrp_parser *p, const uint8_t *buf, size_t len);
bool msrp_parser_idle(const struct msrp_parser *p);

int msrp_range_decode(struct msrp_range *r, const struct pl *pl);
int msrp_tid_make(char *buf, size_t sz);
bool msrp_tid_valid(const struct pl *tid);

/** A SEND or REPORT as the serializer writes it */
struct msrp_req_spec {
	const char *method;       /**< "SEND" or "REPORT"                 */
	const char *tid;
	const char *to_path;
	const char *from_path;
	const char *message_id;
	const char *success_report;   /**< "yes"/"no", or NULL (absent)   */
	const char *failure_report;   /**< "yes"/"no"/"partial", or NULL  */
	const struct msrp_range *range;  /**< NULL: none                  */
	const char *status;       /**< REPORT: "000 200 OK"               */
	const char *cdisp;        /**< Content-Disposition, or NULL       */
	const char *cdesc;        /**< Content-Description, or NULL       */
	const char *ctype;        /**< NULL: no body                      */
};

int msrp_req_print(struct re_printf *pf, const struct msrp_req_spec *s);
int msrp_end_print(struct re_printf *pf, const char *tid, char flag,
		   bool body);
int msrp_resp_print(struct re_printf *pf, const char *tid, uint16_t scode,
		    const char *reason, const struct pl *to_path,
		    const char *from_path);
bool msrp_body_safe(const uint8_t *p, size_t n, const char *tid);

/** Which answers a received SEND gets (RFC 4975 §7.1.2, §7.1.3) */
struct msrp_answer {
	bool response;            /**< send the transaction response       */
	bool report;              /**< send a success REPORT at the end    */
};

void msrp_answer_rules(struct msrp_answer *a, const struct msrp_hdrs *h,
		       uint16_t scode);

/** Which body octets of a message have arrived (chunks in any order) */
enum { MSRP_REASM_MAX = 64 };

struct msrp_reasm {
	uint64_t total;           /**< 0: not known yet                    */
	uint64_t have;            /**< octets covered                      */
	size_t n;
	struct { uint64_t a, b; } iv[MSRP_REASM_MAX];   /**< [a, b) sorted */
};

int  msrp_reasm_add(struct msrp_reasm *r, uint64_t start, uint64_t len);
bool msrp_reasm_complete(const struct msrp_reasm *r);
