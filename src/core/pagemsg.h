/**
 * @file pagemsg.h  The page-mode MESSAGE as sippushd sends it, and its size
 *
 * RFC 3428 caps a MESSAGE outside a session at 1300 bytes, counted over the
 * whole request. pagemsg_hdrs_print() formats the headers;
 * pagemsg_encode() writes what the sender hands to libre's sip_request()
 * (Max-Forwards, Route, the headers, the body); pagemsg_size() adds what
 * libre puts around them (request line, Via with a 23-character branch,
 * Max-Forwards, User-Agent) so the rule is applied to the exact bytes on
 * the wire. None of them parses a format string: each runs per MESSAGE.
 * No Contact: RFC 3428 forbids it in MESSAGE.
 */

struct ac_spec;
struct ims_hdrs;
struct mbuf;

enum { PAGEMSG_LIMIT = 1300 };

struct pagemsg_spec {
	const char *ruri;           /**< GRUU or AoR                         */
	const char *from;           /**< sender URI                          */
	const char *from_tag;
	const char *to;             /**< the user's AoR                      */
	const char *call_id;
	uint32_t cseq;
	const char *pai;            /**< P-Asserted-Identity, or NULL        */
	const struct ac_spec *ac;   /**< Accept-Contact, or NULL             */
	const char *ctype;
	size_t body_len;
	const char *software;       /**< libre's User-Agent, or NULL         */
	const struct sa *laddr;     /**< local address libre puts in Via     */
	const char *transport;      /**< "UDP", "TCP", "TLS"                 */
	const struct ims_hdrs *ims; /**< charging, service, privacy, or NULL */
};

int pagemsg_hdrs_print(struct re_printf *pf, const struct pagemsg_spec *ms);
int pagemsg_encode(struct mbuf *mb, const char *route,
		   const struct pagemsg_spec *ms, const uint8_t *body);
int pagemsg_size(size_t *sz, const struct pagemsg_spec *ms);
