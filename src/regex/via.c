/**
 * @file via.c  libre's sip_via_decode() without re_regex(): it replaces
 *              libre.a's via.o on the link line (CMakeLists.txt)
 *
 * Every SIP message's top Via is decoded, and a response's own Via again
 * by the transaction layer. libre's expression, walked by hand (scan.h),
 * the same results on malformed input too (tests/unit/test_sipdec.c).
 */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_uri.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_msg.h>
#include <re_sip.h>
#include "regex/scan.h"


/* "SIP[ \t\r\n]*\/[ \t\r\n]*2.0[ \t\r\n]*\/[ \t\r\n]*[A-Z]+[ \t\r\n]*"
 * "[^; \t\r\n]+[ \t\r\n]*[^]*": transport, sent-by, parameters */
static int via_match(const struct pl *pl, struct pl *transp,
		     struct pl *sentby, struct pl *params)
{
	static const char *const lits[] = {"sip", "/", "2.0", "/"};

	if (!pl->p)
		return EINVAL;

	for (size_t s = 0; s < pl->l; s++) {
		struct scan sc = {pl->p + s, pl->l - s};
		enum scan_lit lit = LIT_OK;
		struct pl v;

		/* each literal but the first is after optional space */
		for (size_t i = 0; i < ARRAY_SIZE(lits) && !lit; i++) {
			if (i)
				(void)scan_in(&sc, SC_WS);
			lit = scan_lit(&sc, lits[i]);
		}
		if (lit == LIT_END)
			return ENOENT;
		if (lit == LIT_DIFF)
			continue;

		(void)scan_in(&sc, SC_WS);
		v = scan_in(&sc, SC_ALPHA);
		if (!v.l)
			continue;
		*transp = v;

		(void)scan_in(&sc, SC_WS);
		v = scan_out(&sc, SC_SEMI | SC_WS);
		if (!v.l)
			continue;
		*sentby = v;

		(void)scan_in(&sc, SC_WS);
		*params = scan_rest(&sc);
		return 0;
	}

	return ENOENT;
}


int sip_via_decode(struct sip_via *via, const struct pl *pl)
{
	struct pl transp, host, port;
	int err;

	if (!via || !pl)
		return EINVAL;

	err = via_match(pl, &transp, &via->sentby, &via->params);
	if (err)
		return err;

	/* the transport's name as it is written: case-sensitive */
	if (!pl_strcmp(&transp, "UDP"))
		via->tp = SIP_TRANSP_UDP;
	else if (!pl_strcmp(&transp, "TCP"))
		via->tp = SIP_TRANSP_TCP;
	else if (!pl_strcmp(&transp, "TLS"))
		via->tp = SIP_TRANSP_TLS;
	else
		via->tp = SIP_TRANSP_NONE;

	/* libre's via.o has a hostport decoder of its own, uri.o's twin */
	err = uri_decode_hostport(&via->sentby, &host, &port);
	if (err)
		return err;

	sa_init(&via->addr, AF_INET);
	if (scan_maybe_ip(&host))
		(void)sa_set(&via->addr, &host, 0);
	if (pl_isset(&port))
		sa_set_port(&via->addr, pl_u32(&port));

	via->val = *pl;

	return msg_param_decode(&via->params, "branch", &via->branch);
}
