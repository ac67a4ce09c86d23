/**
 * @file subdlg.c  In-dialog request headers from a stored dialog
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/subdlg.h"
#include "core/pfput.h"


static int route_print(struct re_printf *pf, const char *route)
{
	struct pl rest, item;
	int err = 0;

	if (!route)
		return 0;

	/* "<u1>,<u2>": URIs in angle brackets hold no bare comma */
	pl_set_str(&rest, route);
	while (!err && rest.l) {
		if (re_regex(rest.p, rest.l, "[^,]+", &item))
			break;
		err  = PF_LIT(pf, "Route: ");
		err |= pf_putb(pf, item.p, item.l);
		err |= PF_LIT(pf, "\r\n");
		pl_advance(&rest, (ssize_t)(item.p + item.l - rest.p));
		if (rest.l && rest.p[0] == ',')
			pl_advance(&rest, 1);
	}

	return err;
}


/**
 * Print Route (the route set), To, From, Call-ID and CSeq of an in-dialog
 * request; libre's sip_requestf() adds the request line and Via.
 */
int subdlg_hdrs_print(struct re_printf *pf, const struct subdlg *d,
		      const char *method)
{
	int err;

	if (!pf || !d || !d->call_id || !d->ltag || !d->rtag || !d->local ||
	    !d->remote || !method)
		return EINVAL;

	/* per NOTIFY: written piece by piece (pfput.h), no format parsed */
	err  = route_print(pf, d->route);
	err |= PF_LIT(pf, "To: ");
	err |= pf_puts(pf, d->remote);
	err |= PF_LIT(pf, ";tag=");
	err |= pf_puts(pf, d->rtag);
	err |= PF_LIT(pf, "\r\nFrom: ");
	err |= pf_puts(pf, d->local);
	err |= PF_LIT(pf, ";tag=");
	err |= pf_puts(pf, d->ltag);
	err |= PF_LIT(pf, "\r\nCall-ID: ");
	err |= pf_puts(pf, d->call_id);
	err |= PF_LIT(pf, "\r\nCSeq: ");
	err |= pf_putu(pf, d->cseq);
	err |= PF_LIT(pf, " ");
	err |= pf_puts(pf, method);
	err |= PF_LIT(pf, "\r\n");

	return err;
}


/**
 * Where an in-dialog request goes first: the first route, or the target.
 * buf keeps the view the URI points into.
 */
int subdlg_first_hop(struct uri *hop, struct pl *buf, const char *route,
		     const char *target)
{
	struct sip_addr addr;
	struct pl pl;

	if (!hop || !buf || !target)
		return EINVAL;

	if (route && *route) {
		pl_set_str(&pl, route);
		if (re_regex(pl.p, pl.l, "[^,]+", buf))
			return EBADMSG;
		if (sip_addr_decode(&addr, buf))
			return EBADMSG;
		*hop = addr.uri;
		return 0;
	}

	pl_set_str(buf, target);
	return uri_decode(hop, buf) ? EBADMSG : 0;
}


int notify_hdrs_print(struct re_printf *pf, const struct notify_spec *ns)
{
	int err;

	if (!pf || !ns || !ns->dlg || !ns->event || !ns->state)
		return EINVAL;

	err  = subdlg_hdrs_print(pf, ns->dlg, "NOTIFY");
	err |= PF_LIT(pf, "Event: ");
	err |= pf_puts(pf, ns->event);
	err |= PF_LIT(pf, "\r\nSubscription-State: ");
	err |= pf_puts(pf, ns->state);
	if (!strcmp(ns->state, "active") || !strcmp(ns->state, "pending")) {
		err |= PF_LIT(pf, ";expires=");
		err |= pf_putu(pf, ns->expires);
	}
	else if (ns->reason) {
		err |= PF_LIT(pf, ";reason=");
		err |= pf_puts(pf, ns->reason);
	}
	err |= PF_LIT(pf, "\r\n");
	if (ns->pai) {
		err |= PF_LIT(pf, "P-Asserted-Identity: <");
		err |= pf_puts(pf, ns->pai);
		err |= PF_LIT(pf, ">\r\n");
	}
	if (ns->ctype) {
		err |= PF_LIT(pf, "Content-Type: ");
		err |= pf_puts(pf, ns->ctype);
		err |= PF_LIT(pf, "\r\n");
		if (ns->content_id) {
			err |= PF_LIT(pf, "Content-ID: <");
			err |= pf_puts(pf, ns->content_id);
			err |= PF_LIT(pf, ">\r\n");
		}
	}
	err |= PF_LIT(pf, "Content-Length: ");
	err |= pf_putu(pf, ns->ctype ? ns->body_len : 0);
	err |= PF_LIT(pf, "\r\n\r\n");

	return err;
}
