/**
 * @file pap.h  OMA PAP (Push Access Protocol) documents: parse the four
 *              requests a push initiator sends, print the responses
 *
 * expat with no DTD processing: the DOCTYPE may only name a known PAP
 * public identifier (2.0, 2.1, 2.2) and may not carry an internal subset;
 * an entity declaration anywhere is refused; nothing is ever fetched.
 * Bounded: PAP_DOC_MAX bytes, PAP_DEPTH levels, PAP_ATTR_MAX per value,
 * PAP_ADDR_MAX addresses. A refusal names the offending fragment for the
 * badmessage-response.
 */

enum {
	PAP_DOC_MAX = 65536,
	PAP_DEPTH = 8,
	PAP_ATTR_MAX = 1024,
	PAP_ADDR_MAX = 16,
	PAP_FRAG_MAX = 128,
};

enum pap_kind {
	PAP_NONE = 0,
	PAP_PUSH,             /**< push-message                           */
	PAP_STATUSQUERY,      /**< statusquery-message                    */
	PAP_CANCEL,           /**< cancel-message                         */
	PAP_CCQ,              /**< ccq-message                            */
	PAP_RN_RESPONSE,      /**< resultnotification-response            */
};

struct pap_doc {
	enum pap_kind kind;
	char push_id[256];
	char query_id[256];
	char app_id[256];
	char source_ref[256];
	char notify_to[PAP_ATTR_MAX];   /**< ppg-notify-requested-to      */
	int64_t deliver_before;         /**< unix s; 0: none              */
	int64_t deliver_after;
	char priority[16];              /**< high, medium, low, or ""     */
	char delivery_method[24];       /**< confirmed, unconfirmed, ...  */
	char addr[PAP_ADDR_MAX][PAP_ATTR_MAX];  /**< address-value         */
	size_t naddr;
	char code[8];                   /**< resultnotification-response  */
};

/** An address-value: WAPPUSH=<value>/TYPE=<type>@<ppg> */
struct pap_addr {
	char value[512];                /**< %-decoded                    */
	char type[16];                  /**< USER, PLMN, ...              */
};

int  pap_decode(struct pap_doc *doc, const char *xml, size_t len,
		char *frag, size_t fragsz, const char **why);
int  pap_addr_decode(struct pap_addr *a, const char *address_value);
int  pap_time_decode(int64_t *t, const char *s);
int  pap_time_print(struct re_printf *pf, const int64_t *t);
int  pap_escape_print(struct re_printf *pf, const char *s);
