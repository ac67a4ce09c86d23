/**
 * @file pagemsg.c  The page-mode MESSAGE as sippushd sends it, and its size
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/featuretag.h"
#include "core/imshdr.h"
#include "core/pagemsg.h"
#include "core/pfput.h"


int pagemsg_hdrs_print(struct re_printf *pf, const struct pagemsg_spec *ms)
{
	int err;

	if (!pf || !ms || !ms->from || !ms->from_tag || !ms->to ||
	    !ms->call_id || !ms->ctype)
		return EINVAL;

	/* written piece by piece (pfput.h): no format parsed per MESSAGE */
	err  = PF_LIT(pf, "From: <");
	err |= pf_puts(pf, ms->from);
	err |= PF_LIT(pf, ">;tag=");
	err |= pf_puts(pf, ms->from_tag);
	err |= PF_LIT(pf, "\r\nTo: <");
	err |= pf_puts(pf, ms->to);
	err |= PF_LIT(pf, ">\r\nCall-ID: ");
	err |= pf_puts(pf, ms->call_id);
	err |= PF_LIT(pf, "\r\nCSeq: ");
	err |= pf_putu(pf, ms->cseq);
	err |= PF_LIT(pf, " MESSAGE\r\n");
	if (ms->pai) {
		err |= PF_LIT(pf, "P-Asserted-Identity: <");
		err |= pf_puts(pf, ms->pai);
		err |= PF_LIT(pf, ">\r\n");
	}
	if (ms->ac) {
		err |= PF_LIT(pf, "Accept-Contact: ");
		err |= ac_print(pf, ms->ac);
		err |= PF_LIT(pf, "\r\n");
	}
	if (ms->ims)
		err |= ims_hdrs_print(pf, ms->ims);
	err |= PF_LIT(pf, "Content-Type: ");
	err |= pf_puts(pf, ms->ctype);
	err |= PF_LIT(pf, "\r\nContent-Length: ");
	err |= pf_putu(pf, ms->body_len);
	err |= PF_LIT(pf, "\r\n\r\n");

	return err;
}


static int mb_put(const char *p, size_t size, void *arg)
{
	return mbuf_write_mem(arg, (const uint8_t *)p, size);
}


/**
 * What libre's sip_request() takes after its request line and Via:
 * Max-Forwards (as sip_requestf() writes it), the Route (route: a
 * "Route: " value, or NULL), the headers, the body. Written without a
 * format string; mb->pos is left at the start.
 */
int pagemsg_encode(struct mbuf *mb, const char *route,
		   const struct pagemsg_spec *ms, const uint8_t *body)
{
	struct re_printf pf = {mb_put, mb};
	int err;

	if (!mb || !ms || (ms->body_len && !body))
		return EINVAL;

	err = PF_LIT(&pf, "Max-Forwards: 70\r\n");
	if (route) {
		err |= PF_LIT(&pf, "Route: ");
		err |= pf_puts(&pf, route);
		err |= PF_LIT(&pf, "\r\n");
	}
	err |= pagemsg_hdrs_print(&pf, ms);
	if (ms->body_len)
		err |= mbuf_write_mem(mb, body, ms->body_len);
	if (err)
		return err;

	mb->pos = 0;
	return 0;
}


static int count_h(const char *p, size_t size, void *arg)
{
	(void)p;
	*(size_t *)arg += size;
	return 0;
}


/**
 * Bytes of the whole MESSAGE on the wire, body included.
 */
int pagemsg_size(size_t *sz, const struct pagemsg_spec *ms)
{
	size_t n = 0;
	struct re_printf pf = {count_h, &n};
	char addr[64];
	int err;

	if (!sz || !ms || !ms->ruri || !ms->laddr || !ms->transport)
		return EINVAL;

	/* what libre's sip_request()/sip_requestf() write around ours,
	 * counted (libre 1.1.0, request.c: "%s %s SIP/2.0\r\n", then
	 * "Via: SIP/2.0/%s %J;branch=z9hG4bK%016llx;rport\r\n", then
	 * "Max-Forwards: 70\r\n"; %J is "addr:port", IPv6 in brackets) */
	err  = PF_LIT(&pf, "MESSAGE ");
	err |= pf_puts(&pf, ms->ruri);
	err |= PF_LIT(&pf, " SIP/2.0\r\nVia: SIP/2.0/");
	err |= pf_puts(&pf, ms->transport);
	err |= PF_LIT(&pf, " ");
	if (sa_af(ms->laddr) == AF_INET) {
		/* inet_ntop() costs more than the rest: count the digits */
		const uint32_t a = sa_in(ms->laddr);

		for (int i = 0; i < 4; i++) {
			const uint8_t o = (uint8_t)(a >> (8 * i));

			n += (o >= 100 ? 3 : o >= 10 ? 2 : 1) + (i ? 1 : 0);
		}
		err |= PF_LIT(&pf, ":");
		err |= pf_putu(&pf, sa_port(ms->laddr));
	}
	else if (sa_ntop(ms->laddr, addr, sizeof(addr)))
		err |= PF_LIT(&pf, "?");
	else {
		const bool v6 = sa_af(ms->laddr) == AF_INET6;

		err |= v6 ? PF_LIT(&pf, "[") : 0;
		err |= pf_puts(&pf, addr);
		err |= v6 ? PF_LIT(&pf, "]") : 0;
		err |= PF_LIT(&pf, ":");
		err |= pf_putu(&pf, sa_port(ms->laddr));
	}
	err |= PF_LIT(&pf, ";branch=z9hG4bK0123456789abcdef;rport\r\n"
		      "Max-Forwards: 70\r\n");
	if (ms->software) {
		err |= PF_LIT(&pf, "User-Agent: ");
		err |= pf_puts(&pf, ms->software);
		err |= PF_LIT(&pf, "\r\n");
	}
	if (err)
		return err;

	err = pagemsg_hdrs_print(&pf, ms);
	if (err)
		return err;

	*sz = n + ms->body_len;
	return 0;
}
