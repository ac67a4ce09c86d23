/**
 * @file subdlg.c  In-dialog request headers from a stored dialog
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/subdlg.h"


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
		err = re_hprintf(pf, "Route: %r\r\n", &item);
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

	err  = route_print(pf, d->route);
	err |= re_hprintf(pf, "To: %s;tag=%s\r\n", d->remote, d->rtag);
	err |= re_hprintf(pf, "From: %s;tag=%s\r\n", d->local, d->ltag);
	err |= re_hprintf(pf, "Call-ID: %s\r\n", d->call_id);
	err |= re_hprintf(pf, "CSeq: %u %s\r\n", d->cseq, method);

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
	err |= re_hprintf(pf, "Event: %s\r\n", ns->event);
	if (!strcmp(ns->state, "active") || !strcmp(ns->state, "pending"))
		err |= re_hprintf(pf, "Subscription-State: %s;expires=%u\r\n",
				  ns->state, ns->expires);
	else if (ns->reason)
		err |= re_hprintf(pf, "Subscription-State: %s;reason=%s\r\n",
				  ns->state, ns->reason);
	else
		err |= re_hprintf(pf, "Subscription-State: %s\r\n", ns->state);
	if (ns->pai)
		err |= re_hprintf(pf, "P-Asserted-Identity: <%s>\r\n", ns->pai);
	if (ns->ctype) {
		err |= re_hprintf(pf, "Content-Type: %s\r\n", ns->ctype);
		if (ns->content_id)
			err |= re_hprintf(pf, "Content-ID: <%s>\r\n",
					  ns->content_id);
	}
	err |= re_hprintf(pf, "Content-Length: %zu\r\n\r\n",
			  ns->ctype ? ns->body_len : 0);

	return err;
}
