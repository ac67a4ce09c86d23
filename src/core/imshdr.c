/**
 * @file imshdr.c  IMS headers on what sippushd originates (RFC 7315
 *                 P-Charging-Vector and P-Asserted-Service, RFC 3323
 *                 Privacy), and the charging vector a core sends
 *
 * An IMS core charges a request by its P-Charging-Vector: the icid-value
 * ties the records of one request across nodes, orig-ioi names the
 * operator that originated it. sippushd makes one icid per delivery (its
 * retries are one charged event) and takes orig-ioi from its options.
 * What a core sends with a third-party REGISTER is kept as it came (a
 * printable line, bounded) for the audit log.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/param.h"
#include "core/imshdr.h"
#include "core/pfput.h"


/* RFC 3261 token characters: what a header parameter value may be bare */
static bool tokenc(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c);
}


/** A non-empty RFC 3261 token of at most 64 characters */
bool ims_token_valid(const char *v)
{
	size_t n = 0;

	if (!v || !*v)
		return false;
	for (; *v; v++, n++)
		if (!tokenc(*v) || n >= 64)
			return false;
	return true;
}


/** A header value kept for the log: printable ASCII, at most 255 */
bool ims_printable(const struct pl *v)
{
	if (!v || !v->l || v->l > 255)
		return false;
	for (size_t i = 0; i < v->l; i++)
		if (v->p[i] < 0x20 || v->p[i] > 0x7e)
			return false;
	return true;
}


/** A Privacy value (RFC 3323 §4.2, RFC 3325 §9.3): priv-values joined
 *  by ';', each header, session, user, none, critical or id */
bool ims_privacy_valid(const char *v)
{
	static const char *const known[] = {"header", "session", "user",
					    "none", "critical", "id"};
	struct pl list, item;

	if (!v || !*v || strlen(v) > 64)
		return false;
	pl_set_str(&list, v);
	while (list.l) {
		const char *semi = pl_strchr(&list, ';');
		bool ok = false;

		item.p = list.p;
		item.l = semi ? (size_t)(semi - list.p) : list.l;
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			ok |= !pl_strcmp(&item, known[i]);
		if (!ok)
			return false;
		pl_advance(&list, item.l);
		if (semi) {
			pl_advance(&list, 1);
			if (!list.l)
				return false;   /* "id;" */
		}
	}
	return true;
}


/** The header lines (each ending CRLF) the fields given ask for */
int ims_hdrs_print(struct re_printf *pf, const struct ims_hdrs *h)
{
	int err = 0;

	if (!pf || !h)
		return EINVAL;

	/* per request: written piece by piece, no format parsed */
	if (h->icid) {
		err |= PF_LIT(pf, "P-Charging-Vector: icid-value=");
		err |= pf_puts(pf, h->icid);
		if (h->orig_ioi) {
			err |= PF_LIT(pf, ";orig-ioi=");
			err |= pf_puts(pf, h->orig_ioi);
		}
		err |= PF_LIT(pf, "\r\n");
	}
	if (h->service) {
		err |= PF_LIT(pf, "P-Asserted-Service: ");
		err |= pf_puts(pf, h->service);
		err |= PF_LIT(pf, "\r\n");
	}
	if (h->privacy) {
		err |= PF_LIT(pf, "Privacy: ");
		err |= pf_puts(pf, h->privacy);
		err |= PF_LIT(pf, "\r\n");
	}

	return err;
}
