/**
 * @file subcli.c  Subscriber-side dialog rules
 */
#include <re.h>
#include "core/reqcheck.h"
#include "core/subcli.h"


/** Is msg in this dialog? Before the 200 only Call-ID and our tag match */
bool subcli_match(struct sip_dialog *dlg, const struct sip_msg *msg)
{
	if (!dlg || !msg)
		return false;
	return sip_dialog_established(dlg) ? sip_dialog_cmp(dlg, msg) :
		sip_dialog_cmp_half(dlg, msg);
}


/**
 * A NOTIFY of the dialog: its Subscription-State decoded into ss, the
 * dialog created from it when it came before the 200 (RFC 6665
 * §4.1.2.4), else its CSeq checked and the target refreshed.
 *
 * @return 0, or the status to answer (400, 500) with *reason
 */
uint16_t subcli_notify(struct sip_dialog *dlg, const struct sip_msg *msg,
		       struct substate *ss, const char **reason)
{
	const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_SUBSCRIPTION_STATE);

	if (!h || substate_decode(ss, &h->val)) {
		*reason = "Bad Subscription-State";
		return 400;
	}
	if (!sip_dialog_established(dlg)) {
		if (sip_dialog_create(dlg, msg)) {
			*reason = "Bad Contact";
			return 400;
		}
		return 0;
	}
	if (!sip_dialog_rseq_valid(dlg, msg)) {
		*reason = "CSeq Out of Order";
		return 500;
	}
	(void)sip_dialog_update(dlg, msg);
	return 0;
}


/** When to refresh a subscription granted for expires seconds */
uint64_t subcli_refresh_ms(uint32_t expires)
{
	return expires > 120 ? (uint64_t)(expires - 60) * 1000 :
		(uint64_t)expires * 500 + 1;
}
