/**
 * @file pagemsg.c  The page-mode MESSAGE as sippushd sends it, and its size
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/featuretag.h"
#include "core/imshdr.h"
#include "core/pagemsg.h"


int pagemsg_hdrs_print(struct re_printf *pf, const struct pagemsg_spec *ms)
{
	int err;

	if (!pf || !ms || !ms->from || !ms->from_tag || !ms->to ||
	    !ms->call_id || !ms->ctype)
		return EINVAL;

	err  = re_hprintf(pf, "From: <%s>;tag=%s\r\n", ms->from, ms->from_tag);
	err |= re_hprintf(pf, "To: <%s>\r\n", ms->to);
	err |= re_hprintf(pf, "Call-ID: %s\r\n", ms->call_id);
	err |= re_hprintf(pf, "CSeq: %u MESSAGE\r\n", ms->cseq);
	if (ms->pai)
		err |= re_hprintf(pf, "P-Asserted-Identity: <%s>\r\n",
				  ms->pai);
	if (ms->ac)
		err |= re_hprintf(pf, "Accept-Contact: %H\r\n", ac_print,
				  ms->ac);
	if (ms->ims)
		err |= re_hprintf(pf, "%H", ims_hdrs_print, ms->ims);
	err |= re_hprintf(pf, "Content-Type: %s\r\n", ms->ctype);
	err |= re_hprintf(pf, "Content-Length: %zu\r\n\r\n", ms->body_len);

	return err;
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
	int err;

	if (!sz || !ms || !ms->ruri || !ms->laddr || !ms->transport)
		return EINVAL;

	/* what libre's sip_request()/sip_requestf() write around ours */
	err  = re_hprintf(&pf, "MESSAGE %s SIP/2.0\r\n", ms->ruri);
	err |= re_hprintf(&pf, "Via: SIP/2.0/%s %J;branch=z9hG4bK%016llx;"
			  "rport\r\n", ms->transport, ms->laddr, 0ull);
	err |= re_hprintf(&pf, "Max-Forwards: 70\r\n");
	if (ms->software)
		err |= re_hprintf(&pf, "User-Agent: %s\r\n", ms->software);
	if (err)
		return err;

	err = pagemsg_hdrs_print(&pf, ms);
	if (err)
		return err;

	*sz = n + ms->body_len;
	return 0;
}
