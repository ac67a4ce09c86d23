/**
 * @file fuzz_msrp.c  libFuzzer target: the MSRP parser on arbitrary bytes,
 *                    fed whole and then split at a data-chosen point
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "msrp/msrp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static int hh(const struct msrp_hdrs *h, void *arg)
{
	(void)arg;
	/* touch what the handler would use */
	return h->tid.l > MSRP_TID_MAX ? EBADMSG : 0;
}


static int dh(const uint8_t *p, size_t n, void *arg)
{
	size_t *total = arg;

	if (n && (p[0] == 0 || p[n - 1] == 0))
		*total += 1;
	*total += n;
	return 0;
}


static int eh(const struct msrp_hdrs *h, char flag, uint64_t len, void *arg)
{
	(void)h;
	(void)arg;
	(void)len;
	return flag == '$' || flag == '+' || flag == '#' ? 0 : EPROTO;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msrp_parser *p = NULL;
	size_t total = 0, cut;

	if (msrp_parser_alloc(&p, 65536, hh, dh, eh, &total))
		return 0;
	(void)msrp_parser_feed(p, data, size);
	mem_deref(p);

	/* the same bytes in two pieces must not behave differently in
	 * memory safety; outcomes are not compared (state differs) */
	cut = size ? data[0] % (size + 1) : 0;
	if (msrp_parser_alloc(&p, 65536, hh, dh, eh, &total))
		return 0;
	if (!msrp_parser_feed(p, data, cut))
		(void)msrp_parser_feed(p, data + cut, size - cut);
	mem_deref(p);
	return 0;
}
