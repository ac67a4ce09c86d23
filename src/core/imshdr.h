/**
 * @file imshdr.h  IMS headers on what sippushd originates (RFC 7315
 *                 P-Charging-Vector and P-Asserted-Service, RFC 3323
 *                 Privacy), and the charging vector a core sends
 */

struct ims_hdrs {
	const char *icid;       /**< icid-value (one per delivery), or NULL */
	const char *orig_ioi;   /**< orig-ioi (--orig-ioi), or NULL         */
	const char *service;    /**< P-Asserted-Service: an ICSI, or NULL   */
	const char *privacy;    /**< Privacy: "id", "header;id"..., or NULL */
};

int  ims_hdrs_print(struct re_printf *pf, const struct ims_hdrs *h);
bool ims_privacy_valid(const char *v);
bool ims_token_valid(const char *v);
bool ims_printable(const struct pl *v);
