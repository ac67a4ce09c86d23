/**
 * @file subdlg.h  The notifier side of a subscription dialog, as plain data
 *
 * libre's sipevent notifier loses a body sent while another NOTIFY is in
 * flight and ends the subscription on any non-2xx (docs/design.md, libre 1.1.0), and a libre
 * dialog cannot be rebuilt with its CSeq after a restart. So sippushd keeps
 * each dialog as these strings (persisted as they are) and prints the
 * in-dialog headers of every request itself.
 */

struct subdlg {
	const char *call_id;
	const char *ltag;        /**< our tag                                */
	const char *rtag;        /**< the peer's tag                         */
	const char *local;       /**< our name-addr, e.g. "<sip:psa@op>"     */
	const char *remote;      /**< the peer's name-addr                   */
	const char *route;       /**< route set "<u1>,<u2>", or NULL         */
	uint32_t cseq;
};

/** An in-dialog NOTIFY of an oma-app (or refer) subscription */
struct notify_spec {
	const struct subdlg *dlg;
	const char *event;       /**< "ua-profile", "refer"                  */
	const char *state;       /**< "active", "terminated"                 */
	const char *reason;      /**< terminated: reason, or NULL            */
	uint32_t expires;        /**< active: seconds left                   */
	const char *pai;         /**< P-Asserted-Identity URI, or NULL       */
	const char *content_id;  /**< the push's identity, or NULL           */
	const char *ctype;       /**< NULL: no body                          */
	size_t body_len;
};

int subdlg_hdrs_print(struct re_printf *pf, const struct subdlg *d,
		      const char *method);
int subdlg_first_hop(struct uri *hop, struct pl *buf, const char *route,
		     const char *target);
int notify_hdrs_print(struct re_printf *pf, const struct notify_spec *ns);
