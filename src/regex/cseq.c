/**
 * @file cseq.c  libre's sip_cseq_decode() without re_regex(): it replaces
 *               libre.a's cseq.o on the link line (CMakeLists.txt)
 *
 * libre's "[0-9]+[ \t\r\n]+[^ \t\r\n]+", walked by hand (scan.h), the
 * same results on malformed input too (tests/unit/test_sipdec.c).
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


int sip_cseq_decode(struct sip_cseq *cseq, const struct pl *pl)
{
	if (!cseq || !pl)
		return EINVAL;
	if (!pl->p)
		return EINVAL;

	for (size_t s = 0; s < pl->l; s++) {
		struct scan sc = {pl->p + s, pl->l - s};
		struct pl num, met;

		num = scan_in(&sc, SC_DIGIT);
		if (!num.l)
			continue;
		if (!scan_in(&sc, SC_WS).l)
			continue;
		met = scan_out(&sc, SC_WS);
		if (!met.l)
			continue;

		cseq->met = met;
		cseq->num = pl_u32(&num);
		return 0;
	}

	return ENOENT;
}
