/**
 * @file referto.h  Refer-To for a REFER-triggered oma-app subscription
 *
 * Refer-To: <sip:psa@op.example;method=SUBSCRIBE?Event=ua-profile%3B
 *   profile-type%3Doma-app%3Bevent-app-id%3D%22mms.ua%22&Accept-Contact=
 *   *%3B%2Bg.oma.pusheventapp%3D%22mms.ua%22>
 *
 * method is a URI parameter; Event and Accept-Contact are embedded headers,
 * percent-escaped (docs/protocol.md, "Subscription mode").
 */

enum { REFERTO_HDR_MAX = 512 };

struct referto_spec {
	const char *uri;        /**< where to SUBSCRIBE: the PSA or the AoR */
	const char *app;        /**< ARI, e.g. "mms.ua"                     */
	const char *methods;    /**< methods for Accept-Contact, or NULL    */
};

struct referto {
	struct pl uri;          /**< the referred URI, without headers      */
	struct pl method;       /**< method URI parameter (empty: absent)   */
	char event[REFERTO_HDR_MAX];          /**< unescaped; "" absent     */
	char accept_contact[REFERTO_HDR_MAX]; /**< unescaped; "" absent     */
};

int      referto_print(struct re_printf *pf, const struct referto_spec *rs);
int      referto_decode(struct referto *rt, const struct pl *hval);
uint16_t referto_push_check(const struct referto *rt);
int      pct_decode(char *dst, size_t size, const struct pl *src);
