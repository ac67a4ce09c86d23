/**
 * @file src/receiver/dispatch.h  A request to the terminal, to its
 *                                method's handler
 */

struct sip;
struct sip_msg;

/** A method's handler: it answers the request */
typedef void (dispatch_h)(const struct sip_msg *msg, void *arg);

struct dispatch_method {
	const char *name;        /**< "MESSAGE"                          */
	dispatch_h *h;
	void *arg;
	bool pass;               /**< the request goes on to libre's
				      sipsess after h (an ACK both need) */
};

bool dispatch_request(struct sip *sip, const struct dispatch_method *mv,
		      size_t mn, const struct sip_msg *msg);
