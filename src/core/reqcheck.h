/**
 * @file reqcheck.h  Is a received SIP request well-formed enough to act on?
 *
 * libre is lenient: it never answers 400 itself and passes on requests
 * without CSeq, Call-ID, From or To (docs/design.md, libre 1.1.0). Every request goes through
 * reqcheck_request() first; a failure names the reason for the 400.
 */

enum { REQCHECK_MAX_BODY = 1 << 20 };

/** A Subscription-State header value (RFC 6665) */
struct substate {
	struct pl state;        /**< active, pending, terminated, or other  */
	struct pl reason;       /**< reason parameter (terminated)          */
	uint32_t expires;
	uint32_t retry_after;
	bool has_expires;
	bool has_retry_after;
};

int reqcheck_request(const struct sip_msg *msg, const char **reason);
int reqcheck_support(const struct sip_msg *msg, const char *const *optv,
		     size_t optn, uint16_t *scode, const char **reason,
		     struct pl *unsupported);

/** What to answer a request refused before anyone acts on it */
struct reqcheck_ans {
	uint16_t scode;          /**< 400, 416, 420 or 501                 */
	const char *reason;
	struct pl unsupported;   /**< 420: the option tag                  */
	const char *allow;       /**< 501: the "Allow: ..." CRLF line      */
	bool close;              /**< a stream out of step: close it after */
};

bool reqcheck_refuse(const struct sip_msg *msg, const char *allow,
		     struct reqcheck_ans *ans);
bool reqcheck_unframed(const struct sip_msg *msg);
int  reqcheck_ans_print(struct re_printf *pf, const struct reqcheck_ans *ans);

/* The option tags both daemons take in a Require (RFC 3261 §8.2.2.3) */
extern const char *const reqcheck_options[];
extern const size_t reqcheck_noptions;
int substate_decode(struct substate *ss, const struct pl *hval);
bool substate_retryable(const struct pl *reason);
