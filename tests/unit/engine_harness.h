/**
 * @file engine_harness.h  The sender engine in one process, on a fake clock
 *
 * A store on a temporary SQLite file, the engine on a libre SIP stack on
 * 127.0.0.1 (UDP, an ephemeral port) and scripted terminals, each its own
 * libre SIP stack on another loopback port. One fake clock drives every
 * libre timer (tmrset_clock_set) and the engine's wall clock
 * (sender_clock_set). The loop is stepped: I/O is handled while a datagram
 * is in flight (every SIP stack here is traced, so sent minus received is
 * exact); when all is quiet, the clock jumps to the next timer. Times are
 * fake ms since the harness started; every wait is bounded in fake time,
 * in steps and in real time.
 */

struct harness;
struct term;
struct sender;
struct sender_conf;
struct push_req;

typedef bool (h_cond_h)(void *arg);

/* The harness */
int  h_alloc(struct harness **hp);
struct sender_conf *h_conf(struct harness *h);
struct store_opts *h_store_opts(struct harness *h);
int  h_start(struct harness *h);
struct sender *h_sender(const struct harness *h);
const char *h_uri(const struct harness *h);
uint64_t h_now(const struct harness *h);
int  h_run_until(struct harness *h, h_cond_h *cond, void *arg,
		 uint64_t max_ms);
int  h_run_for(struct harness *h, uint64_t ms);
int  h_push(struct harness *h, const struct push_req *r, char *id,
	    size_t idsz);
int  h_push_text(struct harness *h, const char *aor, const char *body,
		 char *id, size_t idsz);
int  h_status(struct harness *h, const char *id, char **json);
int  h_terminals(struct harness *h, const char *aor, char **json);
int  h_wait_final(struct harness *h, const char *id, uint64_t max_ms);
bool h_is_final(struct harness *h, const char *id);
void h_free(struct harness *h);

/* One request a terminal received (retransmissions counted on it) */
struct rx {
	struct le le;
	char method[16];
	uint64_t at;             /**< fake ms of the first copy           */
	struct sip_msg *msg;     /**< the first copy                      */
	uint32_t retrans;        /**< copies after the first              */
	uint16_t answered;       /**< the status it got, 0: none (yet)    */
};

/* A terminal: registers, subscribes, answers what its script says */
int  term_alloc(struct term **tp, struct harness *h, const char *user,
		int idx);
const char *term_aor(const struct term *t);
const char *term_instance(const struct term *t);
const char *term_contact(const struct term *t);
void term_methods(struct term *t, const char *methods);
int  term_answer(struct term *t, const char *method, uint16_t scode,
		 const char *hdrs, uint64_t delay_ms);
int  term_register(struct term *t, const char *apps, uint32_t expires);
int  term_subscribe(struct term *t, const char *app, uint32_t expires);
int  term_unsubscribe(struct term *t);
uint16_t term_last_scode(const struct term *t);
bool term_request_done(const struct term *t);
int  term_answer_now(struct term *t, struct rx *r, uint16_t scode,
		     const char *hdrs);
size_t term_count(const struct term *t, const char *method);
struct rx *term_rx(const struct term *t, const char *method, size_t n);
const struct list *term_rxl(const struct term *t);
int  term_wait_rx(struct term *t, const char *method, size_t n,
		  uint64_t max_ms);
void term_subscribe_on_refer(struct term *t, const char *app,
			     uint64_t delay_ms);
int  rx_body(const struct rx *r, char *buf, size_t sz);
int  rx_hdr(const struct rx *r, const char *name, char *buf, size_t sz);
