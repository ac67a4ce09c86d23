/**
 * @file method.h  Push method and terminal selection (docs/design.md)
 *
 * A pure function from the push and what is known of each terminal to one
 * plan per terminal: MESSAGE, NOTIFY in an active oma-app subscription,
 * REFER first (to make the terminal subscribe), an INVITE + MSRP session,
 * each possibly with content indirection, or the reason none fits.
 * auto: active subscription -> NOTIFY; fits in the MESSAGE limit -> MESSAGE;
 * larger -> session if the terminal lists INVITE, else MESSAGE + indirection.
 * A per-application policy requiring subscription mode makes auto REFER.
 */

enum push_method {
	PM_AUTO = 0,
	PM_MESSAGE,
	PM_NOTIFY,
	PM_REFER,
	PM_SESSION,
};

enum plan_kind {
	PLAN_NONE = 0,
	PLAN_MESSAGE,
	PLAN_NOTIFY,
	PLAN_REFER,
	PLAN_SESSION,
	PLAN_KINDS            /**< how many: arrays by kind are sized so */
};

enum plan_reason {
	PR_OK = 0,
	PR_NOT_TARGETED,     /**< another terminal was named              */
	PR_NO_APP,           /**< the terminal does not carry the app     */
	PR_TYPE,             /**< content type not accepted               */
	PR_METHOD,           /**< the terminal lacks the needed method    */
	PR_NO_SUBSCRIPTION,  /**< NOTIFY asked, no active subscription    */
	PR_TOO_LARGE,        /**< too large and no indirection possible   */
	PR_NO_REFER,         /**< planned all the same: subscription mode
				  preferred, the terminal lists no REFER  */
};

/** What the sender knows of one terminal; empty lists mean "unknown" */
struct term_caps {
	const char *instance;    /**< +sip.instance, or NULL (AoR-level)   */
	const char *gruu;        /**< pub-gruu, or NULL                    */
	const char *contact;
	struct pl apps;          /**< +g.oma.pusheventapp list             */
	struct pl methods;       /**< methods list                         */
	struct pl accept;        /**< accepted content types (Accept)      */
	struct pl dev_accept;    /**< the device's (UAProf Push-Accept)    */
	size_t msg_max;          /**< UAProf Push-MsgSize; 0: unknown      */
	size_t msg_size;         /**< the MESSAGE to it with the content
				      inline; 0: push_spec's msg_size    */
	bool sub_active;         /**< active oma-app subscription for app  */
};

struct push_spec {
	const char *app;
	const char *ctype;
	enum push_method method;
	const char *target;      /**< instance or GRUU; NULL: all terminals */
	size_t msg_size;         /**< whole MESSAGE with the content inline */
	size_t msg_limit;        /**< 0: PAGEMSG_LIMIT (1300)               */
	bool require_sub;        /**< the app's policy: subscription mode   */
};

struct plan {
	enum plan_kind kind;
	bool indirect;           /**< content goes by URL (RFC 4483)        */
	enum plan_reason reason;
};

int method_plan(struct plan *planv, size_t *nplanned,
		const struct push_spec *ps, const struct term_caps *tv,
		size_t n);
bool ctype_accepted(const struct pl *accept, const char *ctype);
const char *plan_kind_name(enum plan_kind k);
int plan_kind_decode(enum plan_kind *k, const struct pl *name);
bool method_fallback(enum plan_kind kind, enum outcome_event ev,
		     uint16_t scode, bool named);
bool gruu_fallback(enum outcome_event ev, uint16_t scode);
const char *plan_reason_name(enum plan_reason r);
int push_method_decode(enum push_method *pm, const struct pl *name);
