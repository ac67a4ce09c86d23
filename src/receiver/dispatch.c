/**
 * @file dispatch.c  A request to the terminal, to its method's handler
 *
 * The checks every request gets (reqcheck.h: 400, 416, 420, 501) come
 * first; OPTIONS is answered here; BYE, and INVITE and ACK when the
 * caller gives no handler for them (or one that passes them on), are left
 * to libre's sipsess (session.c); any other method is 405. The methods'
 * handlers are given by the caller, so nothing here depends on them.
 */
#include <re.h>
#include "core/reqcheck.h"
#include "rt/sipconn.h"
#include "dispatch.h"

static const char allow[] = "Allow: MESSAGE, NOTIFY, REFER, INVITE, ACK, "
	"CANCEL, BYE, UPDATE, OPTIONS\r\n";


/** false: not handled here (an INVITE dialog's request, for sipsess) */
bool dispatch_request(struct sip *sip, const struct dispatch_method *mv,
		      size_t mn, const struct sip_msg *msg)
{
	struct reqcheck_ans ans;

	if (sipconn_is_shut(msg))
		return true;   /* behind a lost framing: not a request */

	if (reqcheck_refuse(msg, allow, &ans)) {
		(void)sip_replyf(sip, msg, ans.scode, ans.reason, "%H",
				 reqcheck_ans_print, &ans);
		if (ans.close)
			sipconn_shutdown(msg);
		return true;
	}

	for (size_t i = 0; i < mn; i++) {
		if (pl_strcmp(&msg->met, mv[i].name))
			continue;
		mv[i].h(msg, mv[i].arg);
		return !mv[i].pass;
	}

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_replyf(sip, msg, 200, "OK", "%s"
				 "Content-Length: 0\r\n\r\n", allow);
		return true;
	}

	/* INVITE dialogs are libre's sipsess (session.c) */
	if (!pl_strcmp(&msg->met, "INVITE") || !pl_strcmp(&msg->met, "BYE") ||
	    !pl_strcmp(&msg->met, "ACK"))
		return false;

	(void)sip_replyf(sip, msg, 405, "Method Not Allowed",
			 "%sContent-Length: 0\r\n\r\n", allow);
	return true;
}
