/**
 * @file delivery.h  A delivery: one push to one terminal (owns struct delivery)
 */

struct delivery {
	struct le le;            /**< in push.dlvs                         */
	struct le qle;           /**< in target.q                          */
	struct le ale;           /**< in sender.awaiting (REFER accepted)  */
	struct tmr tmr;          /**< how long a REFER's SUBSCRIBE may take */
	struct push *p;
	struct target *t;
	char *tkey, *terminal, *ruri, *route, *call_id, *last_error;
	enum delivery_state state;
	uint16_t scode, pap;
	uint32_t attempts, cseq;
	uint64_t route_gen;      /**< sender.route_gen its route is of     */
	char *steps;             /**< methods tried, for the status        */
	char refer_ltag[17];     /**< our tag of the last REFER (random)   */
	char *refer_rtag;        /**< the terminal's, from its 2xx         */
	enum plan_kind kind;     /**< MESSAGE, NOTIFY or REFER             */
	bool indirect;
	bool cancelled;          /**< cancel asked while in flight          */
	bool awaiting_sub;       /**< REFER accepted: waits for SUBSCRIBE  */
	struct psess *ps;        /**< its INVITE session, while one runs   */
	bool relayed;            /**< 202: out of the queue, ends at the TTL */
	size_t strs_len;         /**< its first strings, after it          */
};

const char *dlv_dest_ruri(const struct terminal *t, const char *aor);
bool dlv_to_gruu(const struct delivery *d);
const char *dlv_instance(const struct delivery *d);
bool dlv_plain(const struct delivery *d);
int dlv_new(struct delivery **dp, struct push *p,
	    const struct terminal *t, const struct plan *pl);
int dlv_load(struct delivery **dp, struct push *p, const struct dlv_rec *r);
void dlv_step(struct delivery *d, const char *fmt, ...);
void dlv_set_str(struct delivery *d, char **field, char *str);
int dlv_save(struct delivery *d);
int dlv_content(const struct delivery *d, char **ctype, char **entity,
		const uint8_t **body, size_t *body_len, bool *indirect);
void dlv_route_refresh(struct delivery *d);
int dlv_first_hop(const struct delivery *d, struct uri *route);
void dlv_dequeue(struct delivery *d);
const char *push_from(const struct push *p);
const char *push_pai(const struct push *p);
struct ims_hdrs;

const char *dlv_icsi(const struct sender *s, const char *ari);
void dlv_hex8(char out[9], uint32_t v);
void dlv_call_id(char *cid, size_t sz, const struct push *p, const char *key);
void dlv_ims_of(struct ims_hdrs *h, char *icid, size_t sz,
		const struct push *p, const char *call_id, bool core);
void dlv_ims(const struct delivery *d, struct ims_hdrs *h, char *icid,
	     size_t sz);
