/**
 * @file addr.c  libre's sip_addr_decode() without re_regex(): it replaces
 *               libre.a's SIP addr.o on the link line (CMakeLists.txt)
 *
 * The From and To of every SIP message (and Contact, Route) are decoded
 * with it. libre's two expressions, walked by hand (scan.h), the same
 * results on malformed input too (tests/unit/test_sipdec.c).
 */
#include <string.h>
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_uri.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_msg.h>
#include <re_sip.h>
#include "regex/scan.h"


/* name-addr: "[~ \t\r\n<]*[ \t\r\n]*<[^>]+>[^]*" */
static int addr_name(struct sip_addr *addr, const struct pl *pl)
{
	if (!pl->p)
		return EINVAL;

	for (size_t s = 0; s < pl->l; s++) {
		struct scan sc = {pl->p + s, pl->l - s};
		struct pl v;

		addr->dname = scan_quoted(&sc, SC_WS | SC_LT);
		(void)scan_in(&sc, SC_WS);

		if (!sc.l)
			return ENOENT;
		if (*sc.p != '<')
			continue;
		(void)scan_take(&sc, 1);

		v = scan_out(&sc, SC_GT);
		if (!v.l)
			continue;
		addr->auri = v;

		if (!sc.l)
			return ENOENT;
		(void)scan_take(&sc, 1);           /* the '>' */

		addr->params = scan_rest(&sc);
		return 0;
	}

	return ENOENT;
}


/* addr-spec: "[^;]+[^]*" */
static int addr_spec(struct sip_addr *addr, const struct pl *pl)
{
	if (!pl->p)
		return EINVAL;

	for (size_t s = 0; s < pl->l; s++) {
		struct scan sc = {pl->p + s, pl->l - s};

		if (*sc.p == ';')
			continue;

		addr->auri   = scan_out(&sc, SC_SEMI);
		addr->params = scan_rest(&sc);
		return 0;
	}

	return ENOENT;
}


int sip_addr_decode(struct sip_addr *addr, const struct pl *pl)
{
	int err;

	if (!addr || !pl)
		return EINVAL;

	memset(addr, 0, sizeof(*addr));

	if (!addr_name(addr, pl)) {
		if (!addr->dname.l)
			addr->dname.p = NULL;
		if (!addr->params.l)
			addr->params.p = NULL;
	}
	else {
		memset(addr, 0, sizeof(*addr));
		if (addr_spec(addr, pl))
			return EBADMSG;
	}

	err = uri_decode(&addr->uri, &addr->auri);
	if (err)
		memset(addr, 0, sizeof(*addr));

	return err;
}
